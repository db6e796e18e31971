#!/usr/bin/env bash
# Set up everything and run the whole test suite, with the linters and type checker.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/services.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --durations=10 "$@"
