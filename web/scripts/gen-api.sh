#!/usr/bin/env bash
# The dashboard's API types come from the API's own OpenAPI document, so UI and API cannot drift:
#   1. `campaigns openapi` prints the document the Rust code generates (what GET /openapi.json serves);
#   2. it is kept as src/api/openapi.json, and openapi-typescript turns it into src/api/schema.d.ts;
#   3. `tsc` (part of `npm run build`) type-checks every API call of the UI against schema.d.ts.
# `--check` regenerates both into a temporary directory and fails when the committed ones differ
# (make test runs it): a changed API without regenerated types fails the tests, and so does a UI
# that uses a field the API no longer has (through tsc).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
check=false
[[ "${1:-}" == "--check" ]] && check=true

out=src/api
if $check; then
    out="$(mktemp -d)"
    trap 'rm -rf "$out"' EXIT
fi
"$(bash scripts/campaigns-bin.sh)" openapi >"$out/openapi.json"
npx --no-install openapi-typescript "$out/openapi.json" -o "$out/schema.d.ts" >/dev/null 2>&1 || {
    npx --no-install openapi-typescript "$out/openapi.json" -o "$out/schema.d.ts"
    exit 1
}
if $check; then
    rc=0
    for f in openapi.json schema.d.ts; do
        if ! diff -q "src/api/$f" "$out/$f" >/dev/null; then
            echo "web/src/api/$f is out of date with the API: run 'npm run gen:api' in web/ (then fix what tsc reports)" >&2
            diff -u "src/api/$f" "$out/$f" | head -40 >&2
            rc=1
        fi
    done
    [[ $rc -eq 0 ]] && echo "web/src/api: openapi.json and schema.d.ts match the API"
    exit $rc
fi
echo "generated src/api/openapi.json and src/api/schema.d.ts"
