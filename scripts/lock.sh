#!/usr/bin/env bash
# Re-resolve the lock files from pyproject.toml with uv (pinned below), reinstall from
# them and run the whole suite, so that an upgraded lock is only committed once it has
# passed. `scripts/lock.sh` keeps every pin that still satisfies pyproject.toml;
# `scripts/lock.sh --upgrade` moves every package to its newest allowed release.
#
#   requirements/dev.lock      what setup.sh, run.sh, test.sh and CI install
#   requirements/runtime.lock  what the Docker image installs (no test tools)
#   requirements/build.lock    the build backend the image builds the project's wheel with
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9
scripts/setup.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==${UV_VERSION}"

compile() {
    .venv/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
        --no-header "$@"
}
compile "$@" pyproject.toml requirements/build.in --extra dev -o requirements/dev.lock
compile "$@" pyproject.toml -o requirements/runtime.lock
compile "$@" requirements/build.in -o requirements/build.lock

scripts/test.sh
