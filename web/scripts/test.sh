#!/usr/bin/env bash
# The dashboard's checks (infra/local/test.sh runs this as one step of `make test`):
#   1. the API types match the API (scripts/gen-api.sh --check),
#   2. the build (tsc + vite) and its budget and no-secret checks (tests/unit),
#   3. the browser tests: Debian's Chromium driven by playwright-core against `campaigns dev`
#      and the Twilio simulator (tests/browser). Needs the local emulator up (make stack-up).
# Installs the npm packages from package-lock.json when they are missing or stale. Without
# Chromium it fails under CI and reports a skip (77) elsewhere (apt-get install chromium).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v node >/dev/null || { echo "web: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "web: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi

export CAMPAIGNS_BIN="${CAMPAIGNS_BIN:-$(bash scripts/campaigns-bin.sh)}"
echo "web: API types"
bash scripts/gen-api.sh --check
echo "web: build"
npm run -s build
node --test tests/unit/

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
    echo "web: no Chromium at $chromium (apt-get install chromium): browser tests not run" >&2
    [[ "${CI:-}" == "true" ]] && exit 1
    exit 77
fi
echo "web: browser tests"
node --test --test-concurrency=1 --test-timeout=900000 tests/browser/
