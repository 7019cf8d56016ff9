#!/usr/bin/env bash
# SAM CLI in its own virtualenv (infra/local/.sam-venv: moto's boto3 conflicts with SAM's pin),
# with cargo-lambda and zig from PyPI, so `sam build` works here without Docker.
#
#   infra/local/sam.sh venv     create/refresh the virtualenv (only when the pins below change)
#   infra/local/sam.sh build    sam validate --lint, sam build, then print time and zip sizes
#   infra/local/sam.sh -- ARGS  any sam command with the right PATH (e.g. -- deploy --guided)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.sam-venv"
PINS="aws-sam-cli==1.170.0 cargo-lambda==1.9.2 ziglang==0.17.0"

export SAM_CLI_TELEMETRY=0
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
# The venv's bin first: sam, cargo-lambda, and a python3 that has ziglang (cargo-lambda finds
# zig through `python3 -m ziglang` when there is no zig binary).
export PATH="$VENV/bin:$PATH"

cmd_venv() {
    local stamp="$VENV/.pins"
    if [[ -x "$VENV/bin/sam" && -f "$stamp" && "$(cat "$stamp")" == "$PINS" ]]; then return 0; fi
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    echo "sam: installing $PINS into $VENV" >&2
    # shellcheck disable=SC2086
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $PINS
    echo "$PINS" >"$stamp"
}

cmd_build() {
    cmd_venv
    cd "$ROOT"
    # sam build must not run against the local emulator.
    unset AWS_ENDPOINT_URL
    local t0=$SECONDS
    sam validate --lint
    sam build "$@"
    local took=$((SECONDS - t0))
    echo
    echo "sam build: ${took} s (validate + build)"
    local f
    for f in .aws-sam/build/*Function; do
        [[ -f "$f/bootstrap" ]] || continue
        local zip
        zip="$(mktemp --suffix .zip)"
        rm -f "$zip"
        (cd "$f" && python3 -m zipfile -c "$zip" bootstrap >/dev/null)
        printf '  %-16s bootstrap %6d KiB   zip %6d KiB\n' "$(basename "$f")" \
            "$(($(stat -c %s "$f/bootstrap") / 1024))" "$(($(stat -c %s "$zip") / 1024))"
        rm -f "$zip"
    done
}

case "${1:-}" in
    venv) cmd_venv ;;
    build) shift; cmd_build "$@" ;;
    --) shift; cmd_venv; cd "$ROOT"; sam "$@" ;;
    *) echo "usage: $0 venv|build|-- SAM-ARGS" >&2; exit 2 ;;
esac
