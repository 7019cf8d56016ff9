#!/usr/bin/env bash
# The local AWS stack: a moto server on 127.0.0.1 standing in for DynamoDB, S3, SQS,
# EventBridge Scheduler and Secrets Manager, with the dev resources created from template.yaml.
#
#   infra/local/stack.sh venv     create/refresh infra/local/.venv from requirements.txt
#   infra/local/stack.sh up       start moto (if not running) and create the dev resources
#   infra/local/stack.sh down     stop it
#   infra/local/stack.sh status   say whether it runs, and where
#   infra/local/stack.sh pid      print the pid of the moto this script started on the port, if any
#
# Port: $LOCAL_AWS_PORT (default 4566). Needs only python3 (with the venv module) and curl or python.
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

# The pid of our moto server, if it is alive.
running_pid() {
    [[ -f "$PIDFILE" ]] || return 1
    local pid
    pid="$(cat "$PIDFILE")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
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
        setsid "$VENV/bin/python" "$HERE/moto_server.py" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 </dev/null &
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
    AWS_ENDPOINT_URL="$ENDPOINT" "$VENV/bin/python" "$HERE/bootstrap.py" --template "$ROOT/template.yaml" --env-file "$RUN/dev.env"
}

cmd_down() {
    local pid
    if pid="$(running_pid)"; then
        say "stopping moto (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "moto did not stop on TERM; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    else
        say "moto is not running (by this script)"
    fi
    rm -f "$PIDFILE"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        if answers; then say "running: pid $pid, $ENDPOINT"; else say "pid $pid alive but not answering on $ENDPOINT"; return 1; fi
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
