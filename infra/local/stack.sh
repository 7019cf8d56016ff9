#!/usr/bin/env bash
# The local AWS stack on 127.0.0.1: DynamoDB from dynoxide (infra/dynamo-local: SQLite, every
# request atomic, requests truly concurrent), and a moto server for S3, SQS, EventBridge
# Scheduler and Secrets Manager; the dev resources are created from template.yaml.
#
#   infra/local/stack.sh venv     create/refresh infra/local/.venv from requirements.txt
#   infra/local/stack.sh up       start moto (if not running) and create the dev resources
#   infra/local/stack.sh down     stop it
#   infra/local/stack.sh status   say whether it runs, and where
#   infra/local/stack.sh pid      print the pid of the moto this script started on the port, if any
#
# Ports: $LOCAL_AWS_PORT for moto (default 4566), $LOCAL_DYNAMODB_PORT for DynamoDB (default
# LOCAL_AWS_PORT + 1000, the rule shared::config::local_dynamodb_endpoint follows too).
# Needs python3 (with the venv module) and cargo (dynamo-local is a workspace binary).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
RUN="$HERE/run"
PORT="${LOCAL_AWS_PORT:-4566}"
# One pid file and log per port: stacks on different ports (tests, the newcomer run) do not
# mistake each other's server for their own.
PIDFILE="$RUN/moto-$PORT.pid"
LOG="$RUN/moto-$PORT.log"
ENDPOINT="http://127.0.0.1:$PORT"
DDB_PORT="${LOCAL_DYNAMODB_PORT:-$((PORT + 1000))}"
DDB_ENDPOINT="http://127.0.0.1:$DDB_PORT"
DDB_PIDFILE="$RUN/dynamo-$DDB_PORT.pid"
DDB_LOG="$RUN/dynamo-$DDB_PORT.log"

say() { printf 'stack: %s\n' "$*" >&2; }

hash_of() { python3 - "$1" <<'PY'
import hashlib, sys
print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())
PY
}

cmd_venv() {
    local stamp="$VENV/.requirements.sha256" want
    want="$(hash_of "$HERE/requirements.txt")"
    if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        return 0
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        say "creating $VENV"
        python3 -m venv "$VENV" || {
            say "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)"
            exit 1
        }
    fi
    say "installing $HERE/requirements.txt (changed or new)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
    echo "$want" >"$stamp"
}

# The pid in pidfile $1 (default: moto's), if that process is alive.
running_pid() {
    local file="${1:-$PIDFILE}"
    [[ -f "$file" ]] || return 1
    local pid
    pid="$(cat "$file")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Any HTTP answer from the DynamoDB endpoint means it is up.
ddb_answers() {
    "$VENV/bin/python" - "$DDB_ENDPOINT" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

ddb_up() {
    if running_pid "$DDB_PIDFILE" >/dev/null; then
        say "dynamo-local already running (pid $(running_pid "$DDB_PIDFILE")) on $DDB_ENDPOINT"
        return 0
    fi
    if ddb_answers; then
        say "something already answers on $DDB_ENDPOINT (not started by this script): using it"
        return 0
    fi
    say "building dynamo-local (cargo build -p dynamo-local)"
    (cd "$ROOT" && cargo build -q -p dynamo-local) || { say "cargo build -p dynamo-local failed"; exit 1; }
    local target
    target="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    say "starting dynamo-local on $DDB_ENDPOINT (in memory; log: $DDB_LOG)"
    setsid "$target/debug/dynamo-local" --port "$DDB_PORT" >"$DDB_LOG" 2>&1 </dev/null &
    echo $! >"$DDB_PIDFILE"
    local i
    for i in $(seq 1 100); do
        ddb_answers && return 0
        if ! running_pid "$DDB_PIDFILE" >/dev/null; then
            say "dynamo-local exited during start-up; last lines of $DDB_LOG:"
            tail -n 20 "$DDB_LOG" >&2
            rm -f "$DDB_PIDFILE"
            exit 1
        fi
        sleep 0.1
    done
    say "dynamo-local did not answer on $DDB_ENDPOINT within 10 s"
    exit 1
}

stop_pid() { # stop_pid PIDFILE NAME
    local pid
    if pid="$(running_pid "$1")"; then
        say "stopping $2 (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "$2 did not stop on TERM; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        say "$2 is not running (by this script)"
    fi
    rm -f "$1"
}

answers() {
    # moto's own health endpoint; any HTTP answer means it is up.
    "$VENV/bin/python" - "$ENDPOINT" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
except urllib.error.HTTPError:
    pass
PY
}

cmd_up() {
    cmd_venv
    mkdir -p "$RUN"
    if running_pid >/dev/null; then
        say "moto already running (pid $(running_pid)) on $ENDPOINT"
    elif answers; then
        say "something already answers on $ENDPOINT (not started by this script): using it"
    else
        say "starting moto on $ENDPOINT (log: $LOG)"
        # setsid: its own session, so Ctrl-C in the shell that ran `make dev` does not take it down.
        setsid "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 </dev/null &
        echo $! >"$PIDFILE"
        local i
        for i in $(seq 1 150); do
            answers && break
            if ! running_pid >/dev/null; then
                say "moto exited during start-up; last lines of $LOG:"
                tail -n 20 "$LOG" >&2
                rm -f "$PIDFILE"
                exit 1
            fi
            sleep 0.2
        done
        answers || { say "moto did not answer on $ENDPOINT within 30 s"; exit 1; }
    fi
    ddb_up
    AWS_ENDPOINT_URL="$ENDPOINT" AWS_ENDPOINT_URL_DYNAMODB="$DDB_ENDPOINT" "$VENV/bin/python" "$HERE/bootstrap.py" --template "$ROOT/template.yaml" --env-file "$RUN/dev.env"
}

cmd_down() {
    stop_pid "$DDB_PIDFILE" dynamo-local
    stop_pid "$PIDFILE" moto
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        if answers; then say "moto running: pid $pid, $ENDPOINT"; else say "moto pid $pid alive but not answering on $ENDPOINT"; return 1; fi
        if pid="$(running_pid "$DDB_PIDFILE")"; then say "dynamo-local running: pid $pid, $DDB_ENDPOINT"; else say "dynamo-local not running"; return 1; fi
    else
        say "not running"
        return 3
    fi
}

case "${1:-}" in
    venv) cmd_venv ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    pid) running_pid || true ;;
    *) echo "usage: $0 venv|up|down|status|pid" >&2; exit 2 ;;
esac
