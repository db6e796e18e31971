#!/usr/bin/env bash
# Set up everything and run the whole test suite: the linters and type checker, the app's
# tests (jest, Playwright in Debian's Chromium, performance budgets), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/services.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
if [ -d frontend-mobile ]; then
    echo "== app (frontend-mobile)"
    scripts/app.sh test
fi
echo "== pytest"
.venv/bin/pytest -n "${PYTEST_WORKERS:-2}" --durations=10 "$@"
