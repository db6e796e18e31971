#!/usr/bin/env bash
# The app in frontend-mobile/: install its locked npm packages, build its web version, or
# run its tests. Used by run.sh (build) and test.sh (test).
#   scripts/app.sh install   npm ci, skipped while package-lock.json is unchanged
#   scripts/app.sh build     install, then export the web build to frontend-mobile/dist
#   scripts/app.sh test      install, type-check, jest, build, Playwright e2e, performance
set -euo pipefail
cd "$(dirname "$0")/../frontend-mobile"

# Playwright drives Debian's Chromium; it must never download a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export EXPO_NO_TELEMETRY=1

have_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
        && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'
}

install() {
    local stamp="node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        echo "Installing the app's locked npm packages (a few minutes the first time)"
        npm ci --no-audit --no-fund --loglevel=error
        touch "$stamp"
    fi
}

case "${1:-}" in
    install)
        install
        ;;
    build)
        if ! have_node; then
            echo "Node.js 20+ is not installed: the API runs without the app (see frontend-mobile/README.md)." >&2
            exit 0
        fi
        install
        echo "Building the app's web version"
        node scripts/build-web.mjs
        ;;
    test)
        if ! have_node; then
            echo "Node.js 20+ is required for the app's tests" >&2
            exit 1
        fi
        install
        echo "== app: tsc"
        npx tsc --noEmit
        echo "== app: jest"
        npx jest --ci
        echo "== app: e2e (Playwright, Debian's Chromium)"
        node scripts/e2e.mjs
        echo "== app: performance"
        node scripts/performance.mjs
        ;;
    *)
        echo "usage: scripts/app.sh install|build|test" >&2
        exit 2
        ;;
esac
