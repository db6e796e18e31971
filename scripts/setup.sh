#!/usr/bin/env bash
# Create .venv and install exactly the locked versions (requirements/dev.lock, with
# hashes), then the project itself in editable mode. Re-running is cheap: the install
# is skipped while the lock and pyproject.toml are unchanged. To upgrade the lock and
# prove it, run scripts/lock.sh --upgrade.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is required (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv"
    "$PYTHON" -m venv .venv
fi

stamp=".venv/.installed-$(cat requirements/dev.lock pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "Installing the locked Python packages into .venv (about a minute the first time)"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --progress-bar off \
        --require-hashes --only-binary :all: -r requirements/dev.lock
    .venv/bin/python -m pip install --quiet --disable-pip-version-check \
        --no-deps --no-build-isolation -e .
    rm -f .venv/.installed-*
    touch "$stamp"
fi
