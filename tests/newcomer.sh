#!/usr/bin/env bash
# A newcomer's first hour, scripted: the README's `make dev ARGS=...` line in one "terminal", then
# the README's first-campaign block and docs/api.md's curl tour exactly as written (the blocks
# marked `<!-- newcomer ... -->`), and checks of what they print. Runs on free ports (the
# emulators and the dev server), keeps every file in temporary directories, and stops what it
# started.
#
#   tests/newcomer.sh          (needs python3, curl, jq, cargo; no stack needs to be running)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TMP="$(mktemp -d)"
say() { printf 'newcomer: %s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

for tool in curl jq python3 cargo make; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (the README's commands need it)"
done

# Free ports: the API's, and moto's P with P + 1000 (where the stack puts DynamoDB) free too.
read -r API_PORT AWS_PORT < <(python3 - <<'PY'
import socket
def free(p=0):
    s = socket.socket(); s.bind(("127.0.0.1", p)); port = s.getsockname()[1]; s.close(); return port
api = free()
while True:
    p = free()
    try:
        if p + 1000 < 65536 and free(p + 1000) and p != api:
            break
    except OSError:
        pass
print(api, p)
PY
)
# A newcomer's shell: none of the test stack's endpoints.
unset AWS_ENDPOINT_URL_DYNAMODB LOCAL_DYNAMODB_PORT TABLE_NAME BUCKET_NAME DIAL_QUEUE_NAME
export LOCAL_AWS_PORT="$AWS_PORT" AWS_ENDPOINT_URL="http://127.0.0.1:$AWS_PORT"

DEV_PID=""
cleanup() {
    local rc=$?
    if [[ -n "$DEV_PID" ]] && kill -0 "$DEV_PID" 2>/dev/null; then
        kill -TERM -- "-$DEV_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$DEV_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$DEV_PID" 2>/dev/null || true
    fi
    infra/local/stack.sh down >/dev/null 2>&1 || true
    # The blocks' own temporary directories (WORK=$(mktemp -d)), reported by the wrappers below.
    for w in $(cat "$TMP"/*.work 2>/dev/null); do [[ "$w" == /tmp/* ]] && rm -rf "$w"; done
    if [[ $rc -ne 0 ]]; then
        say "dev server log (last 40 lines):"
        tail -n 40 "$TMP/dev.log" >&2 || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT

# The marked ```sh blocks of a Markdown file, and the README's `make dev ARGS=...` line.
python3 - "$ROOT" "$TMP" <<'PY'
import pathlib, re, sys
root, tmp = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def blocks(md):
    text = (root / md).read_text()
    return re.findall(r"<!-- newcomer[^>]*-->\s*```sh\n(.*?)```", text, re.S)
readme, api = blocks("README.md"), blocks("docs/api.md")
assert len(readme) == 1 and len(api) == 1, (len(readme), len(api))
(tmp / "readme.sh").write_text(readme[0])
(tmp / "api.sh").write_text(api[0])
text = (root / "README.md").read_text()
dev = [l for l in text.splitlines() if l.startswith("make dev ARGS=")]
assert dev, "the README has no `make dev ARGS=...` line"
(tmp / "dev.cmd").write_text(dev[0])
PY

# Terminal 1: `make dev` as the README writes it, on our ports and with its data in $TMP.
DEV_CMD="$(cat "$TMP/dev.cmd")"
DEV_CMD="${DEV_CMD/ARGS=\"/ARGS=\"--port $API_PORT --data-dir $TMP/data }"
mkdir -p "$TMP/data"
say "terminal 1: $DEV_CMD  (LOCAL_AWS_PORT=$AWS_PORT)"
setsid bash -c "$DEV_CMD" >"$TMP/dev.log" 2>&1 </dev/null &
DEV_PID=$!
for _ in $(seq 1 1200); do
    grep -q '^Ctrl-C stops' "$TMP/dev.log" 2>/dev/null && break
    kill -0 "$DEV_PID" 2>/dev/null || fail "make dev exited before serving"
    sleep 0.5
done
grep -q '^Ctrl-C stops' "$TMP/dev.log" || fail "make dev did not come up within 10 minutes"
API="http://127.0.0.1:$API_PORT"

# What `make dev` printed: the API on the port asked for, a token with its lifetime, no colour codes.
grep -q "^API: *$API\$" "$TMP/dev.log" || fail "make dev did not print 'API: $API'"
TOKEN="$(sed -n 's/^Token for alice: *//p' "$TMP/dev.log")"
[[ -n "$TOKEN" ]] || fail "make dev printed no token"
grep -q "(valid 24 h, until " "$TMP/dev.log" || fail "make dev did not print the token's lifetime"
EXP="$(cut -d. -f2 <<<"$TOKEN" | tr '_-' '/+' | python3 -c 'import base64,json,sys; s=sys.stdin.read().strip(); print(json.loads(base64.b64decode(s + "=" * (-len(s) % 4)))["exp"])')"
LEFT=$((EXP - $(date +%s)))
((LEFT > 24 * 3600 - 600 && LEFT <= 24 * 3600)) || fail "the printed token lasts $LEFT s, not 24 h"
curl -fsS "$API/campaigns" -H "Authorization: Bearer $TOKEN" >/dev/null || fail "the printed token is refused"

# Terminal 2: the README's block, as written but for the port.
run_block() { # run_block NAME FILE: run a Markdown block in a fresh bash, from the repository
    local name="$1" file="$2"
    sed -i "s#127\.0\.0\.1:3000#127.0.0.1:$API_PORT#g" "$file"
    # Report the block's temporary directory so cleanup removes it.
    printf '\necho "$WORK" > %q\n' "$TMP/$name.work" >>"$file"
    say "terminal 2: $name"
    (cd "$ROOT" && bash -eo pipefail "$file") >"$TMP/$name.out" 2>"$TMP/$name.err" || {
        cat "$TMP/$name.out" "$TMP/$name.err" >&2
        fail "$name: a command failed"
    }
    cat "$TMP/$name.out"
}
before="$(git -C "$ROOT" status --porcelain)"
run_block readme "$TMP/readme.sh"
out="$TMP/readme.out"
WORK="$(cat "$TMP/readme.work")"
grep -q '"imported": 4' "$out" || fail "README: the parse check did not report 4 contacts"
grep -q '^"pending"$' "$out" || fail "README: start did not print \"pending\""
grep -Eq '^"[0-9]+ (contact|contacts) |^"(started|pacing|all |outside|nothing)' "$out" \
    || fail "README: stats.waiting.summary did not say what the campaign waits for"
grep -q '"calls_placed":' "$out" || fail "README: the stats line printed no calls_placed"
[[ -s "$WORK/results.csv" ]] || fail "README: the export was not written to \$WORK/results.csv"
head -n 1 "$WORK/results.csv" | grep -q 'state' || fail "README: the export has no state column"
[[ "$(git -C "$ROOT" status --porcelain)" == "$before" ]] || fail "README: the example wrote files into the repository"

# At any hour, a contact is in its window (New York, Tokyo, London): a call is placed.
CAMPAIGN="$(curl -fsS "$API/campaigns?limit=1" -H "Authorization: Bearer $TOKEN" | jq -r '.campaigns[0].id')"
placed=0
for _ in $(seq 1 60); do
    placed="$(curl -fsS "$API/campaigns/$CAMPAIGN" -H "Authorization: Bearer $TOKEN" | jq '.stats.calls_placed')"
    ((placed >= 1)) && break
    sleep 2
done
((placed >= 1)) || fail "README: no call placed within 2 minutes; waiting: $(curl -fsS "$API/campaigns/$CAMPAIGN" -H "Authorization: Bearer $TOKEN" | jq -c .stats.waiting)"
say "README: $placed call(s) placed; waiting: $(curl -fsS "$API/campaigns/$CAMPAIGN" -H "Authorization: Bearer $TOKEN" | jq -r .stats.waiting.summary)"

# docs/api.md's tour.
run_block api "$TMP/api.sh"
out="$TMP/api.out"
grep -q '^"imported"$' "$out" || fail "api.md: the presigned upload was not imported"
for s in pending paused running; do
    grep -q "^\"$s\"\$" "$out" || fail "api.md: no \"$s\" printed"
done
[[ -s "$(cat "$TMP/api.work")/results.csv" ]] || fail "api.md: no export written"
[[ "$(git -C "$ROOT" status --porcelain)" == "$before" ]] || fail "api.md: the tour wrote files into the repository"

# Logs redirected to a file carry no colour codes.
if grep -q $'\e\[' "$TMP/dev.log"; then fail "the dev server's log, redirected to a file, has ANSI colour codes"; fi
say "ok: the README and docs/api.md commands ran as written and printed what they say"
