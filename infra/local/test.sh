#!/usr/bin/env bash
# The test command (`make test` runs it): every Rust test of the workspace against the local
# stack, then the Python-side checks. Runs every step even when one fails, prints one line per
# step and a final summary line, and exits non-zero when anything failed.
#
# The emulator: if none of ours runs on $LOCAL_AWS_PORT, this starts one and stops it at the end;
# one that was already running (yours, from `make stack-up` or `make dev`) is used and left
# running. TEST_STEPS=none runs no step (the stack-ownership check uses it).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
cd "$ROOT"

export LOCAL_AWS_PORT="${LOCAL_AWS_PORT:-4566}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$LOCAL_AWS_PORT}"
# DynamoDB is dynoxide's (infra/dynamo-local), started by `stack.sh up` on LOCAL_AWS_PORT + 1000.
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:$((LOCAL_AWS_PORT + 1000))}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export CAMPAIGNS_PYTHON="${CAMPAIGNS_PYTHON:-$VENV/bin/python}"

# Start the stack unless it already runs; stop at exit only what this run started.
before="$("$HERE/stack.sh" pid)"
"$HERE/stack.sh" up || exit 1
after="$("$HERE/stack.sh" pid)"
if [[ -z "$before" && -n "$after" ]]; then
    trap '"$HERE/stack.sh" down' EXIT
fi

declare -a RESULTS=()
PASSED=0
FAILED=0
SKIPPED=0

step() { # step NAME COMMAND...: run one check, record its outcome and time
    local name="$1"; shift
    local t0=$SECONDS
    printf '\n==> %s\n' "$name"
    local rc=0
    "$@" || rc=$?
    if [[ $rc -eq 0 ]]; then
        PASSED=$((PASSED + 1)); RESULTS+=("ok    $name ($((SECONDS - t0)) s)")
    elif [[ $rc -eq 77 ]]; then # 77: the step says it did not run (automake's convention)
        SKIPPED=$((SKIPPED + 1)); RESULTS+=("skip  $name")
    else
        FAILED=$((FAILED + 1)); RESULTS+=("FAIL  $name ($((SECONDS - t0)) s)")
    fi
}

rust_tests() {
    if cargo nextest --version >/dev/null 2>&1; then
        cargo nextest run --workspace --no-fail-fast
    else
        echo "(cargo-nextest not installed: falling back to cargo test)"
        cargo test --workspace --no-fail-fast
    fi
}

cfn_lint() {
    "$VENV/bin/cfn-lint" template.yaml && echo "cfn-lint: template.yaml clean"
}

# --- HOOK: schemathesis (owned by the API engineer) ------------------------------------------
# Start the dev server (`cargo run -p campaigns -- dev`), wait for /health, run
#   "$VENV/bin/schemathesis" run http://127.0.0.1:<port>/openapi.json ...
# then stop the server. Return 0 on success, non-zero on failure. Until it is filled in it
# returns 77 (a skip, not a pass) so nobody mistakes it for a run.
schemathesis_check() {
    "$ROOT/tests/schemathesis.sh"
}
# --- end of HOOK -----------------------------------------------------------------------------

# The dashboard: API types in sync, build, bundle budget, browser tests (web/scripts/test.sh).
web_checks() {
    "$ROOT/web/scripts/test.sh"
}

if [[ "${TEST_STEPS:-all}" == none ]]; then
    echo "TEST_STEPS=none: no step run"
    exit 0
fi

step "rust tests (workspace)" rust_tests
step "cfn-lint template.yaml" cfn_lint
step "schemathesis /openapi.json" schemathesis_check
step "make test stops only the emulator it started" "$ROOT/tests/stack_ownership.sh"
step "dashboard (web/): types, build, browser tests" web_checks
step "newcomer run (the README's and docs/api.md's commands as written)" "$ROOT/tests/newcomer.sh"

printf '\n==> summary\n'
printf '  %s\n' "${RESULTS[@]}"
echo "checks: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[[ $FAILED -eq 0 ]]
