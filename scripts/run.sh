#!/usr/bin/env bash
# Set up, load the demo data and run the marketplace on http://127.0.0.1:8000, with its
# own embedded PostgreSQL (data in ./var/pgdata) unless DATABASE_URL is set.
# Another address: HOST and PORT, or --host/--port (which win), e.g. `run.sh --port 8201`.
#
# Development sign-in: every one-time code is AUTH_OTP_BYPASS_CODE (000000 unless set).
# The service refuses to start with it in production. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# The app's web version, served at / (skipped, with a word, when Node.js is missing).
scripts/app.sh build
export AUTH_OTP_BYPASS_CODE="${AUTH_OTP_BYPASS_CODE:-000000}"
host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"
# The banner shows where `serve` will listen: its own --host/--port, when given, win
# (they follow ours on its command line, and the last one counts).
arguments=("$@")
for ((i = 0; i < ${#arguments[@]}; i++)); do
    case "${arguments[i]}" in
        --host) host="${arguments[i + 1]:-$host}" ;;
        --host=*) host="${arguments[i]#--host=}" ;;
        --port) port="${arguments[i + 1]:-$port}" ;;
        --port=*) port="${arguments[i]#--port=}" ;;
    esac
done

# Idempotent: a second start finds the data in place and adds nothing. It prints every
# demo account with its role.
.venv/bin/marketplace demo
cat <<EOF

Marketplace: http://${host}:${port}
API docs:    http://${host}:${port}/api/docs  (ReDoc: /api/redoc, OpenAPI: /api/openapi.json)
Health:      http://${host}:${port}/health
Sign in:     as any account listed above, e.g.
             curl -X POST http://${host}:${port}/api/v1/auth/otp/request \\
               -H 'Content-Type: application/json' -d '{"email": "owner@nordbolt.example"}'
             then POST /api/v1/auth/otp/verify with its challenge_id and code ${AUTH_OTP_BYPASS_CODE}.

EOF
exec .venv/bin/marketplace serve --host "$host" --port "$port" "$@"
