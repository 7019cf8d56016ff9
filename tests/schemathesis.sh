#!/usr/bin/env bash
# Schemathesis against the API's own /openapi.json, served by the dev server on the local
# stack: no 500s, and every response (status, content type, body) matches the document.
#
#   tests/schemathesis.sh            (needs the local stack: make stack-up)
#
# Env: CAMPAIGNS_PYTHON (the venv's python; schemathesis is installed beside it),
# AWS_ENDPOINT_URL (default http://127.0.0.1:4566), SCHEMATHESIS_PORT (default 3100),
# SCHEMATHESIS_MAX_EXAMPLES (default 30). Uses its own table, bucket and queue names.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${CAMPAIGNS_PYTHON:-$ROOT/infra/local/.venv/bin/python}"
ST="$(dirname "$PY")/schemathesis"
PORT="${SCHEMATHESIS_PORT:-3100}"
BASE="http://127.0.0.1:$PORT"
RUN="$(mktemp -d)"

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
# The stack's DynamoDB (dynoxide), which `campaigns dev` uses instead of embedding its own.
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:5566}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
suffix="st-$(date +%s)-$$"
export TABLE_NAME="campaigns-$suffix" BUCKET_NAME="campaigns-$suffix" DIAL_QUEUE_NAME="campaigns-$suffix"
export LOCAL_JWT_SECRET="${LOCAL_JWT_SECRET:-local-dev-secret}"
export RUST_LOG="${RUST_LOG:-warn}"

[[ -x "$ST" ]] || { echo "schemathesis: $ST not found (make venv)" >&2; exit 1; }

cargo build -q -p campaigns
CLI="$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/campaigns"

# The dev server: the same Router as the api Lambda, local HS256 tokens. A long tick keeps the
# dialer quiet; nothing here is started.
"$CLI" dev --port "$PORT" --tick-seconds 3600 >"$RUN/dev.log" 2>&1 &
DEV=$!
cleanup() { cd "$ROOT"; kill "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT

for _ in $(seq 1 120); do
    curl -fsS "$BASE/health" >/dev/null 2>&1 && break
    kill -0 "$DEV" 2>/dev/null || { echo "schemathesis: the dev server exited:" >&2; cat "$RUN/dev.log" >&2; exit 1; }
    sleep 0.5
done
curl -fsS "$BASE/health" >/dev/null || { echo "schemathesis: the dev server did not answer" >&2; cat "$RUN/dev.log" >&2; exit 1; }

TOKEN="$("$CLI" token --user schemathesis)"
# One agent, so generated creates can also take the success path when they name it.
curl -fsS -X POST "$BASE/agents" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"name":"Schemathesis","prompt_text":"hi"}' >/dev/null

# Checks: no 5xx; documented status codes, content types and body schemas. The checks that
# expect a generated "valid" request to succeed are left out: a schema-valid settings object
# can still name an agent that does not exist, which is a correct 422.
# From the temporary directory: schemathesis leaves a .schemathesis/ cache where it runs.
cd "$RUN"
"$ST" run "$BASE/openapi.json" \
    --url "$BASE" \
    -H "Authorization: Bearer $TOKEN" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-30}" \
    --workers 1 \
    --request-timeout 30 \
    --generation-deterministic \
    --suppress-health-check all
