#!/usr/bin/env bash
# `make test` (infra/local/test.sh) stops the emulator it started, and only that one: on a free
# port with nothing running it starts moto and stops it at the end; with moto already running
# there it uses it and leaves it running.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK="$ROOT/infra/local/stack.sh"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export LOCAL_AWS_PORT="$PORT" AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
trap '"$STACK" down >/dev/null 2>&1 || true' EXIT
fail() { echo "stack ownership: $*" >&2; exit 1; }
answers() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/moto-api/"; }

TEST_STEPS=none "$ROOT/infra/local/test.sh" >/dev/null 2>&1 || fail "test.sh failed on port $PORT"
[[ -z "$("$STACK" pid)" ]] || fail "test.sh left the emulator it started running (pid $("$STACK" pid))"
! answers || fail "something still answers on port $PORT after test.sh"
echo "ok: test.sh started moto on port $PORT and stopped it"

"$STACK" up >/dev/null 2>&1 || fail "stack.sh up failed"
pid="$("$STACK" pid)"
TEST_STEPS=none "$ROOT/infra/local/test.sh" >/dev/null 2>&1 || fail "test.sh failed with a running stack"
[[ "$("$STACK" pid)" == "$pid" ]] || fail "test.sh stopped an emulator it had not started (pid $pid)"
answers || fail "the emulator that was running before no longer answers"
echo "ok: test.sh left the already running moto (pid $pid) running"
