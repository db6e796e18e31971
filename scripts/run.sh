#!/usr/bin/env bash
# Set up and run the marketplace on http://127.0.0.1:8000 with its own embedded
# PostgreSQL (data in ./var/pgdata) unless DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
echo "API docs: http://${HOST:-127.0.0.1}:${PORT:-8000}/api/docs"
exec .venv/bin/marketplace serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
