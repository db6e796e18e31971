#!/usr/bin/env bash
# The real API for the end-to-end tests, on its own fresh database with the demo data,
# serving the exported web build at / (frontend-mobile/dist). Started by Playwright.
#   E2E_PORT        where to listen (default 8765)
# Uses the machine's PostgreSQL at 127.0.0.1:5432 when it answers, else an embedded one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
port="${E2E_PORT:-8765}"
python=.venv/bin/python

export ENVIRONMENT=development
export AUTH_OTP_BYPASS_CODE=000000
export WEB_APP_DIR="$root/frontend-mobile/dist"
export LOG_LEVEL=WARNING
export TRUSTED_ORIGINS="http://127.0.0.1:${port}"
# Bearer access tokens live the shortest the API allows, so rfq.spec.ts sees one expire
# and the client refresh it (the web's own cookie sessions are not affected).
export ACCESS_TOKEN_TTL_SECONDS=60
# Every page, bundle and API call of every test comes from one address (127.0.0.1): the
# per-address limit for visitors is for the open internet, not for this one test client.
export RATE_LIMIT_ANONYMOUS="100000/minute"
export RATE_LIMIT_USER="100000/minute"
unset REDIS_URL AMQP_URL

if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    # Named by port, so that runs on other ports (another checkout's suite) keep theirs.
    database="mp_e2e_${port}_$(date +%s)_$$"
    "$python" - "$database" "mp_e2e_${port}_%" <<'PY'
import asyncio, sys
import asyncpg

async def main(name: str, earlier: str) -> None:
    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        # Databases of earlier runs on this port that were not cleaned up (a killed run) go first.
        for row in await connection.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", earlier):
            await connection.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
PY
    export DATABASE_URL="postgresql://postgres@127.0.0.1:5432/${database}"
else
    export EMBEDDED_POSTGRES_DATA_DIR="$root/var/e2e-pgdata"
    rm -rf "$EMBEDDED_POSTGRES_DATA_DIR"
fi

.venv/bin/marketplace demo >/dev/null
exec .venv/bin/marketplace serve --host 127.0.0.1 --port "$port"
