"""Schemathesis hooks: every `{id}` and `{phone}` route sees real data.

Loaded by tests/schemathesis.sh through SCHEMATHESIS_HOOKS. The script seeds the dev server
before the run (an agent; campaigns that are a draft, running and paused, each with contacts;
numbers on the do-not-call list) and writes what it made to the JSON file named by
SCHEMATHESIS_SEED. These hooks then:

- give most positive `{id}` / `{phone}` path parameters a real value (a seeded campaign or
  agent, a listed number), keeping the rest random so the 404 answers stay tested too;
- give most generated `phone` query parameters of the attempts route a real contact's number;
- give most generated settings bodies the real agent's id, so creates can succeed;
- add OpenAPI links from the create operations to every campaign `{id}` operation in the
  document schemathesis loads (not in the served document), so the stateful phase chains
  create -> get/contacts/attempts/start/pause/resume/export/delete on campaigns it made itself.
"""

import hashlib
import hmac
import json
import os
import random
import time

import requests
import schemathesis

REAL = 0.85  # share of generated values replaced with a real one

with open(os.environ["SCHEMATHESIS_SEED"], encoding="utf-8") as f:
    SEED = json.load(f)

# One generator for the whole run, seeded so a run can be repeated.
RNG = random.Random(int(os.environ.get("SCHEMATHESIS_HOOK_SEED", "7")))


def _real(choices):
    return bool(choices) and RNG.random() < REAL


def _path(context):
    operation = getattr(context, "operation", None)
    return getattr(operation, "path", "") or ""


@schemathesis.hook
def after_call(context, case, response):
    """A number deleted from the do-not-call list goes back on it, for the next cases."""
    if case.method.upper() == "DELETE" and case.path == "/dnc/{phone}" and response.status_code == 204:
        requests.post(
            SEED["base_url"] + "/dnc",
            json={"phone": case.path_parameters["phone"]},
            headers={"Authorization": SEED["authorization"]},
            timeout=10,
        )


CSV = b"phone,name\n+12025550101,Ann\n+81312345678,Chika\n"


def _number():
    """A valid number not yet on any list: +1 202 555 01xx is reserved for fiction."""
    return "+1202555%04d" % RNG.randint(100, 199)


def _positive(case):
    """Positive cases only: a negative case keeps the invalid value it was made to send."""
    mode = getattr(getattr(getattr(case, "meta", None), "generation", None), "mode", None)
    return mode is None or getattr(mode, "value", mode) == "positive"


def _path_parameters(path, method, params):
    if "id" in params:
        if path.startswith("/agents/"):
            pool = SEED["agent_ids"]
        elif method == "DELETE":
            # Deletes take campaigns of their own, so the others keep their data.
            pool = SEED["deletable_campaign_ids"]
        else:
            pool = SEED["campaign_ids"]
        if _real(pool):
            params["id"] = RNG.choice(pool)
    if "phone" in params and _real(SEED["dnc_phones"]):
        params["phone"] = RNG.choice(SEED["dnc_phones"])


def _query(path, query):
    if "phone" in query and path.endswith("/attempts") and _real(SEED["contact_phones"]):
        query["phone"] = RNG.choice(SEED["contact_phones"])
    # A cursor is an opaque token from a previous page: a generated one is never valid.
    if "cursor" in query and RNG.random() < REAL:
        del query["cursor"]


def _body(path, body):
    if not RNG.random() < REAL:
        return
    # The JSON draft create takes the settings object itself.
    if path == "/campaigns":
        body["agent_id"] = RNG.choice(SEED["agent_ids"])
    # Multipart: a contact file (its bytes are opaque to a schema) and settings as JSON text.
    if "file" in body and path in ("/campaigns/create", "/campaigns/preview", "/dnc/upload"):
        body["file"] = CSV
        if path == "/campaigns/create":
            body["settings"] = json.dumps({"agent_id": RNG.choice(SEED["agent_ids"]), "name": "generated"})
        elif "settings" in body:
            body["settings"] = "{}"
        for column in ("phone_column", "name_column"):
            body.pop(column, None)
    if path == "/dnc" and "phone" in body:
        body["phone"] = _number()
    if path == "/dnc/opt-out":
        body["campaign_id"] = RNG.choice(SEED["campaign_ids"])
        body["phone"] = RNG.choice(SEED["contact_phones"])


@schemathesis.hook
def map_case(context, case):
    """Every phase (the coverage phase applies only case-level hooks): real ids and numbers
    in paths and queries, real agents and parsable files in bodies, for positive cases."""
    if not _positive(case):
        return case
    path, method = case.path, case.method.upper()
    if case.path_parameters:
        _path_parameters(path, method, case.path_parameters)
    if case.query:
        _query(path, case.query)
    if isinstance(case.body, dict):
        _body(path, case.body)
    return case


@schemathesis.hook
def before_call(context, case, kwargs):
    """The opt-out route is signed by the voice gateway, not authorised by a user's token:
    sign it with the local secret, as the gateway would (docs/api.md, POST /dnc/opt-out)."""
    if case.path != "/dnc/opt-out" or not RNG.random() < REAL:
        return
    # What the transport will send: a JSON body is serialised with json.dumps' defaults
    # (schemathesis.transport.requests); no body is an empty one.
    body = case.body
    if isinstance(body, (dict, list, str, int, float, bool)) or body is None:
        raw = json.dumps(body).encode()
    elif isinstance(body, bytes):
        raw = body
    else:
        raw = b""
    stamp = str(int(time.time()))
    mac = hmac.new(SEED["optout_secret"].encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    case.headers = dict(case.headers or {})
    case.headers.update({"X-Optout-Timestamp": stamp, "X-Optout-Signature": "v1=" + mac})


CAMPAIGN_OPS = [
    ("get", "/campaigns/{id}"),
    ("delete", "/campaigns/{id}"),
    ("get", "/campaigns/{id}/contacts"),
    ("get", "/campaigns/{id}/attempts"),
    ("get", "/campaigns/{id}/export.csv"),
    ("post", "/campaigns/{id}/start"),
    ("post", "/campaigns/{id}/pause"),
    ("post", "/campaigns/{id}/resume"),
]


@schemathesis.hook
def before_load_schema(context, raw_schema):
    """Links from each create's 201 answer to the campaign routes, by operationRef."""
    paths = raw_schema.get("paths", {})
    links = {}
    for method, path in CAMPAIGN_OPS:
        if method in paths.get(path, {}):
            ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method
            name = (method + path).replace("/", "_").replace("{", "").replace("}", "").replace(".", "_")
            links[name] = {"operationRef": ref, "parameters": {"path.id": "$response.body#/campaign_id"}}
    for path in ("/campaigns", "/campaigns/create"):
        created = paths.get(path, {}).get("post", {}).get("responses", {}).get("201")
        if created is not None:
            created.setdefault("links", {}).update(links)
