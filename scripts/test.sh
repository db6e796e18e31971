#!/usr/bin/env bash
# Set up everything and run the whole test suite: the linters, the type checker and the
# import layers, the app's tests (jest, Playwright in Debian's Chromium, performance
# budgets), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/services.sh

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== import layers (lint-imports, [tool.importlinter] in pyproject.toml)"
.venv/bin/lint-imports
echo "== alerting rules (promtool)"
if command -v promtool >/dev/null 2>&1; then
    promtool check rules deploy/prometheus/alerts.yml
    promtool test rules deploy/prometheus/alerts.test.yml
    promtool check config --syntax-only deploy/prometheus/prometheus.yml
elif [ "${CI:-}" = "true" ]; then
    echo "promtool is missing (scripts/services.sh installs it on CI)" >&2
    exit 1
else
    echo "promtool is not installed (apt-get install prometheus): rules not checked" >&2
fi
if [ -d frontend-mobile ]; then
    echo "== app (frontend-mobile)"
    scripts/app.sh test
fi
echo "== pytest"
# One worker per core (xdist's `auto`), so that the suite speeds up with the machine; each
# worker has its own database and its own shared application. PYTEST_WORKERS overrides.
.venv/bin/pytest -n "${PYTEST_WORKERS:-auto}" --durations=10 "$@"
