#!/usr/bin/env bash
# The dashboard's API types come from the API's own OpenAPI document, so UI and API cannot drift:
#   1. `campaigns openapi` prints the document the Rust code generates (what GET /openapi.json serves);
#   2. it is kept as src/api/openapi.json, and openapi-typescript turns it into src/api/schema.d.ts;
#   3. `tsc` (part of `npm run build`) type-checks every API call of the UI against schema.d.ts.
# `--check` regenerates both into a temporary directory and fails when the committed ones differ
# in shape (make test runs it): a changed API without regenerated types fails the tests, and so
# does a UI that uses a field the API no longer has (through tsc). A change of prose only
# (descriptions, examples) is reported and passes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
check=false
[[ "${1:-}" == "--check" ]] && check=true

out=src/api
if $check; then
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
fi
# CAMPAIGNS_BIN: a `campaigns` binary already built (scripts/test.sh passes the one it built).
"${CAMPAIGNS_BIN:-$(bash scripts/campaigns-bin.sh)}" openapi >"$out/openapi.json"
npx --no-install openapi-typescript "$out/openapi.json" -o "$out/schema.d.ts" >/dev/null 2>&1 || {
    npx --no-install openapi-typescript "$out/openapi.json" -o "$out/schema.d.ts"
    exit 1
}
if $check; then
    if diff -q src/api/openapi.json "$out/openapi.json" >/dev/null && diff -q src/api/schema.d.ts "$out/schema.d.ts" >/dev/null; then
        echo "web/src/api: openapi.json and schema.d.ts match the API"
        exit 0
    fi
    # What fails is a difference in what the types say: paths, parameters, fields, their types
    # and enums. Prose (descriptions, examples) may differ: the check says so and passes.
    # (schema.d.ts must still be what openapi-typescript makes of the committed openapi.json.)
    npx --no-install openapi-typescript src/api/openapi.json -o "$out/committed.d.ts" >/dev/null 2>&1
    if diff -q src/api/schema.d.ts "$out/committed.d.ts" >/dev/null && node scripts/api-shape.mjs src/api/openapi.json "$out/openapi.json"; then
        echo "web/src/api: the API's types match; only its descriptions changed (refresh them with 'npm run gen:api' in web/)"
        exit 0
    fi
    echo "web/src/api is out of date with the API: run 'npm run gen:api' in web/ (then fix what tsc reports)" >&2
    diff -u src/api/openapi.json "$out/openapi.json" | head -60 >&2
    exit 1
fi
echo "generated src/api/openapi.json and src/api/schema.d.ts"
