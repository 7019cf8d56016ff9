#!/usr/bin/env python3
"""Start-up to ready of each Lambda binary, measured under a minimal Lambda Runtime API emulator.

For each run: spawn the function's `bootstrap` with AWS_LAMBDA_RUNTIME_API pointing here, serve
one event, and record
  init  = process start -> its first GET /runtime/invocation/next (runtime ready),
  first = process start -> the response (or error) for that first event (first event handled),
then stop the process. Repeats --runs times per function and prints min / median / p90.

The binaries are the ones `make sam-build` leaves in .aws-sam/build/<Function>/bootstrap (the
exact artifacts that are deployed). AWS calls go to the local emulator ($AWS_ENDPOINT_URL), so
"first" includes one round of local DynamoDB/S3 requests, not the network latency of AWS.

  infra/local/startup.py [--runs 20] [--only api,ingest,dialer]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

API_EVENT = {
    "version": "2.0",
    "routeKey": "GET /health",
    "rawPath": "/health",
    "rawQueryString": "",
    "headers": {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "startup-probe"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "domainPrefix": "abc123",
        "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "startup-probe"},
        "requestId": "startup-probe",
        "routeKey": "GET /health",
        "stage": "$default",
        "time": "25/Nov/2026:04:00:00 +0000",
        "timeEpoch": 1795000000000,
    },
    "isBase64Encoded": False,
}


def s3_event(bucket):
    # An object for a campaign that does not exist: ingest must refuse it (one DynamoDB read).
    key = f"uploads/startup-probe/{uuid.uuid4().hex}/contacts.csv"
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-11-25T04:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "EXAMPLE123456789", "x-amz-id-2": "EXAMPLE/abcdefghijklmn"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "startup-probe",
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": 0, "eTag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0A1B2C3D4E5F678901"},
                },
            }
        ]
    }


TICK_EVENT = {"kind": "tick"}


class Emulator:
    """One event per process: /next hands it out, /response or /error completes it."""

    def __init__(self):
        self.lock = threading.Condition()
        self.reset(None)

    def reset(self, event):
        with self.lock:
            self.event = event
            self.given = False
            self.t_next = None
            self.t_done = None
            self.outcome = None
            self.body = None

    def wait_done(self, timeout):
        with self.lock:
            self.lock.wait_for(lambda: self.t_done is not None, timeout)
            return self.t_done is not None


EMU = Emulator()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if not self.path.endswith("/runtime/invocation/next"):
            return self._reply(404)
        now = time.perf_counter()
        with EMU.lock:
            if EMU.t_next is None:
                EMU.t_next = now
            if EMU.given or EMU.event is None:
                # The one event was handed out: hold this poll (the process is killed after it).
                EMU.lock.wait(timeout=30)
                return self._reply(204)
            EMU.given = True
            event = EMU.event
        body = json.dumps(event).encode()
        self._reply(
            200,
            body,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": "req-" + uuid.uuid4().hex,
                "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30_000),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:probe",
                "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
            },
        )

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        now = time.perf_counter()
        outcome = "response" if self.path.endswith("/response") else "error"
        with EMU.lock:
            if EMU.t_done is None:
                EMU.t_done = now
                EMU.outcome = outcome
                EMU.body = body[:400]
            EMU.lock.notify_all()
        self._reply(202, b"{}", {"Content-Type": "application/json"})


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A killed function drops its long poll: expected, not worth a traceback.
        pass


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--only", default="api,ingest,dialer")
    ap.add_argument("--build-dir", default=str(ROOT / ".aws-sam" / "build"))
    ap.add_argument("--bin-dir", help="take <dir>/<name> instead (e.g. target/debug, target/lambda/<name> layout not needed)")
    ap.add_argument("--show", action="store_true", help="print each first response body")
    args = ap.parse_args()

    server = QuietServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    endpoint = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:" + os.environ.get("LOCAL_AWS_PORT", "4566"))
    env_file = ROOT / "infra" / "local" / "run" / "dev.env"
    dev = {}
    if env_file.exists():
        for line in env_file.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                k, v = line[len("export "):].split("=", 1)
                dev[k] = v
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "probe",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": endpoint,
        "RUST_LOG": "warn",
        "TABLE_NAME": dev.get("TABLE_NAME", "campaigns-dev"),
        "BUCKET_NAME": dev.get("BUCKET_NAME", "campaigns-uploads-dev"),
        "DIAL_QUEUE_URL": dev.get("DIAL_QUEUE_URL", f"{endpoint}/123456789012/campaigns-dial-dev"),
        "SCHEDULE_GROUP": dev.get("SCHEDULE_GROUP", "campaigns-dev"),
        "SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler",
        "DIALER_FUNCTION_ARN": "arn:aws:lambda:us-east-1:123456789012:function:dialer",
        "PUBLIC_BASE_URL": "https://abc123.execute-api.us-east-1.amazonaws.com",
        "VOICE_GATEWAY_URL": "wss://voice.example.com/stream",
        # Local credentials instead of the secret (the extension layer does not exist here).
        "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
        "TWILIO_AUTH_TOKEN": "startup-probe",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE": "http://127.0.0.1:9",
    }
    events = {"api": lambda: API_EVENT, "ingest": lambda: s3_event(base_env["BUCKET_NAME"]), "dialer": lambda: TICK_EVENT}
    dirs = {"api": "ApiFunction", "ingest": "IngestFunction", "dialer": "DialerFunction"}

    print(f"{'function':8} {'runs':>4}  {'init min/med/p90 (ms)':>24}  {'first event min/med/p90 (ms)':>30}  outcome")
    failed = False
    for name in [n.strip() for n in args.only.split(",") if n.strip()]:
        binary = Path(args.bin_dir) / name if args.bin_dir else Path(args.build_dir) / dirs[name] / "bootstrap"
        if not binary.exists():
            print(f"{name:8} missing {binary} (run `make sam-build` first)")
            failed = True
            continue
        inits, firsts, outcomes = [], [], {}
        for i in range(args.runs):
            EMU.reset(events[name]())
            t0 = time.perf_counter()
            proc = subprocess.Popen([str(binary)], env=base_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            done = EMU.wait_done(timeout=30)
            t_next, t_done, outcome, body = EMU.t_next, EMU.t_done, EMU.outcome, EMU.body
            proc.kill()
            _, err = proc.communicate()
            with EMU.lock:
                EMU.event = None
                EMU.lock.notify_all()
            if not done:
                outcome = f"no answer (exit {proc.returncode}): {err.decode(errors='replace')[-300:]}"
            else:
                inits.append((t_next - t0) * 1000 if t_next else float("nan"))
                firsts.append((t_done - t0) * 1000)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if args.show and i == 0:
                print(f"  {name} first body: {body!r}")
        if firsts:
            fmt = lambda xs: f"{min(xs):6.1f} /{statistics.median(xs):6.1f} /{pct(xs, 90):6.1f}"
            print(f"{name:8} {len(firsts):>4}  {fmt(inits):>24}  {fmt(firsts):>30}  {outcomes}")
        else:
            print(f"{name:8} {0:>4}  {'-':>24}  {'-':>30}  {outcomes}")
            failed = True
    server.shutdown()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
