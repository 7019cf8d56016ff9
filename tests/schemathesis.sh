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
# The opt-out route's signing secret in `campaigns dev` (DEFAULT_OPTOUT_SECRET, infra/cli/src/local.rs).
OPTOUT_SECRET="local-optout-secret-not-for-production"
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
AUTH="Authorization: Bearer $TOKEN"
api() { curl -fsS "$@" -H "$AUTH"; }
field() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Real data for every {id} and {phone} route (tests/schemathesis_hooks.py picks from it): an
# agent; campaigns that stay a draft, run, and are paused, each with contacts in zones that
# cover every hour (so the running one places calls at any time of day, on the simulator);
# numbers on the do-not-call list.
AGENT="$(api -X POST "$BASE/agents" -H 'Content-Type: application/json' \
    -d '{"name":"Schemathesis","prompt_text":"hi"}' | field id)"
printf 'phone,name\n+12025550101,Ann\n+81312345678,Chika\n+442079460958,Dev\n+61255501234,Eve\n' >"$RUN/contacts.csv"
campaign() {
    api -X POST "$BASE/campaigns/create" -F "file=@$RUN/contacts.csv" \
        -F "settings={\"agent_id\": \"$AGENT\", \"name\": \"$1\", \"timezone\": \"America/New_York\"}" | field campaign_id
}
DRAFT="$(campaign draft)"
DELETABLE=("$(campaign delete-1)" "$(campaign delete-2)" "$(campaign delete-3)")
RUNNING="$(campaign running)"
PAUSED="$(campaign paused)"
api -X POST "$BASE/campaigns/$RUNNING/start" >/dev/null
api -X POST "$BASE/campaigns/$PAUSED/start" >/dev/null
api -X POST "$BASE/campaigns/$PAUSED/pause" >/dev/null
for n in +12025550199 +12025550198; do
    api -X POST "$BASE/dnc" -H 'Content-Type: application/json' -d "{\"phone\": \"$n\"}" >/dev/null
done
cat >"$RUN/seed.json" <<JSON
{"base_url": "$BASE", "authorization": "$AUTH", "optout_secret": "$OPTOUT_SECRET",
 "agent_ids": ["$AGENT"], "campaign_ids": ["$DRAFT", "$RUNNING", "$PAUSED"],
 "deletable_campaign_ids": ["${DELETABLE[0]}", "${DELETABLE[1]}", "${DELETABLE[2]}"],
 "contact_phones": ["+12025550101", "+81312345678", "+442079460958", "+61255501234"],
 "dnc_phones": ["+12025550199", "+12025550198"]}
JSON
export SCHEMATHESIS_SEED="$RUN/seed.json" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$ROOT/tests${PYTHONPATH:+:$PYTHONPATH}"

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
    --suppress-health-check all \
    ${SCHEMATHESIS_REPORT_DIR:+--report har --report-dir "$SCHEMATHESIS_REPORT_DIR"}
