#!/usr/bin/env bash
# Build the `campaigns` CLI and print the path of the executable cargo just built for this
# checkout. (With a CARGO_TARGET_DIR shared between several checkouts, target/debug/campaigns is
# whichever checkout built last; the path cargo reports is this checkout's own.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build -q -p campaigns --bin campaigns --message-format=json-render-diagnostics \
    | node -e '
let exe = "";
require("readline").createInterface({ input: process.stdin }).on("line", (l) => {
  try { const m = JSON.parse(l); if (m.reason === "compiler-artifact" && m.executable && m.target.name === "campaigns") exe = m.executable; } catch {}
}).on("close", () => { if (!exe) { console.error("campaigns-bin: cargo reported no campaigns executable"); process.exit(1); } console.log(exe); });'
