#!/usr/bin/env bash
# Set up, load the demo data and run the marketplace on http://127.0.0.1:8000, with its
# own embedded PostgreSQL (data in ./var/pgdata) unless DATABASE_URL is set.
#
# Development sign-in: every one-time code is AUTH_OTP_BYPASS_CODE (000000 unless set).
# The service refuses to start with it in production. Extra arguments go to `serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
export AUTH_OTP_BYPASS_CODE="${AUTH_OTP_BYPASS_CODE:-000000}"
host="${HOST:-127.0.0.1}"
port="${PORT:-8000}"

# Idempotent: a second start finds the data in place and adds nothing.
.venv/bin/marketplace demo
cat <<EOF

Marketplace: http://${host}:${port}
API docs:    http://${host}:${port}/api/docs  (ReDoc: /api/redoc, OpenAPI: /api/openapi.json)
Health:      http://${host}:${port}/health
Sign in:     curl -X POST http://${host}:${port}/api/v1/auth/otp/request \\
               -H 'Content-Type: application/json' -d '{"email": "owner@nordbolt.example"}'
             then POST /api/v1/auth/otp/verify with its challenge_id and code ${AUTH_OTP_BYPASS_CODE}.

EOF
exec .venv/bin/marketplace serve --host "$host" --port "$port" "$@"
