#!/usr/bin/env bash
# Start PostgreSQL, Redis and RabbitMQ on their default local ports when they are
# installed but not running. On CI (CI=true) a missing server is installed first (and
# the fonts the invoice tests need).
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for_port() {
    local name=$1 port=$2 seconds=$3
    for _ in $(seq "$seconds"); do
        if port_open "$port"; then return 0; fi
        sleep 1
    done
    echo "$name did not open port $port within ${seconds}s" >&2
    return 1
}

ensure_installed() {
    local command=$1 package=$2
    if command -v "$command" >/dev/null 2>&1; then return 0; fi
    if [ "${CI:-}" = "true" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        echo "Installing $package"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
    fi
    command -v "$command" >/dev/null 2>&1
}

if ! port_open 5432; then
    if ensure_installed pg_ctlcluster postgresql; then
        echo "Starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
        wait_for_port PostgreSQL 5432 30
    else
        echo "PostgreSQL is not installed: tests use an embedded server" >&2
    fi
fi

if ! port_open 6379; then
    if ensure_installed redis-server redis-server; then
        echo "Starting Redis"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
        wait_for_port Redis 6379 20
    else
        echo "Redis is not installed: tests that need it are skipped" >&2
    fi
fi

if ! port_open 5672; then
    if ensure_installed rabbitmq-server rabbitmq-server; then
        echo "Starting RabbitMQ"
        rabbitmq-server -detached
        wait_for_port RabbitMQ 5672 90
    else
        echo "RabbitMQ is not installed: tests that need it are skipped" >&2
    fi
fi

# Not a service, but a test needs it: invoice PDFs print non-Latin-1 names with DejaVu
# Sans when the system has it (tests/trade/test_invoices.py).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ "${CI:-}" = "true" ] \
    && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "Installing fonts-dejavu-core"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null
fi

# Not a service either: the app's browser tests drive Debian's Chromium (Playwright never
# downloads a browser of its own here).
if [ -d frontend-mobile ] && ! command -v chromium >/dev/null 2>&1; then
    if ensure_installed chromium chromium; then
        echo "Installed Debian's Chromium for the app's browser tests"
    else
        echo "Chromium is not installed: apt-get install chromium (the app's e2e tests need it)" >&2
    fi
fi

# Not a service either: `promtool` checks and unit-tests the alerting rules in
# deploy/prometheus (scripts/test.sh); Debian ships it in the `prometheus` package.
if ! command -v promtool >/dev/null 2>&1; then
    if ensure_installed promtool prometheus; then
        echo "Installed Debian's prometheus package for promtool"
    else
        echo "promtool is not installed: apt-get install prometheus (the alert rule checks need it)" >&2
    fi
fi

# Not a service either: tests/operations/test_scale_out.py runs Debian's nginx, in a process
# of its own on a free port, in front of two API processes (deploy/nginx/marketplace.conf).
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    if ensure_installed nginx nginx; then
        echo "Installed Debian's nginx for the scale-out test"
    else
        echo "nginx is not installed: apt-get install nginx (the scale-out test needs it)" >&2
    fi
fi
