#!/usr/bin/env bash
# Mutation testing (cargo-mutants) over the code that decides: which conditions no test guards.
# Not part of `make test` (hours on 2 cores). `make mutants` runs it; results under mutants.out/.
#
#   infra/local/mutants.sh domain    the pure domain and the webhook signature, against the shared
#                                    crate's unit tests (no AWS, no local stack)
#   infra/local/mutants.sh dial      the dial adapter and use case, against the dialing and
#                                    concurrency suites (needs the local stack: make stack-up)
#   infra/local/mutants.sh           both
#
# Its own target directory (target/mutants), so it never holds the lock of your normal builds.
# Every surviving mutant is either killed by a new test or explained in docs/testing.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
command -v cargo-mutants >/dev/null || cargo install --locked cargo-mutants
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$ROOT/target/mutants}"
LOCAL_AWS_PORT="${LOCAL_AWS_PORT:-4566}"
export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$LOCAL_AWS_PORT}"
export AWS_ENDPOINT_URL_DYNAMODB="${AWS_ENDPOINT_URL_DYNAMODB:-http://127.0.0.1:$((LOCAL_AWS_PORT + 1000))}"
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"

# The pure domain and the webhook signature build without the aws feature and are tested by the
# shared crate's own unit tests: building only that (--no-default-features, -C --lib) costs
# about 3 s a mutant instead of about 25 s with the AWS SDK in the tree.
domain() {
    cargo mutants --no-shuffle -j 1 --timeout 60 --package shared --no-default-features -C --lib \
        --file 'shared/src/domain/*.rs' --file 'shared/src/domain/**/*.rs' \
        --file shared/src/twilio/signature.rs \
        --output mutants.out/domain
}

# The code that decides whether and when a contact is dialled, against the integration suites'
# fast tests (ten at a time: they wait on the emulator, not the CPU). cargo-mutants 27.1's
# baseline runs the mutated package's tests whatever --test-package says, so it is skipped (run
# the suites once by hand first); -C --test=... keeps the build to these test binaries.
# MUTANTS_SHARD=k/n runs one shard (round-robin), for several worktrees at once (docs/testing.md).
dial() {
    local shard=()
    [[ -n "${MUTANTS_SHARD:-}" ]] && shard=(--shard "$MUTANTS_SHARD" --sharding round-robin)
    cargo mutants --no-shuffle -j 1 --baseline skip --timeout 240 --build-timeout 900 "${shard[@]}" \
        --test-tool nextest --test-package integration-tests \
        --file shared/src/adapters/dynamodb/dial.rs --file shared/src/service/dial.rs \
        --file shared/src/service/watchdog.rs \
        -C --test=dialing -C --test=concurrency -C --test=dialing_faults -C --test=compliance \
        -C --test=tick -C --test=waiting -C --test=rate \
        --output mutants.out/dial -- --test-threads 10 \
        -E 'not test(/twenty_concurrent|ten_campaigns|summary_flow|webhooks_watchdog_and_dialers_race|the_account_rate_holds/)'
}

case "${1:-all}" in
    domain) domain ;;
    dial) dial ;;
    all) domain; dial ;;
    *) echo "usage: $0 [domain|dial|all]" >&2; exit 2 ;;
esac
