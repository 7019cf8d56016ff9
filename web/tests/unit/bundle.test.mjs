// Checks on the built dashboard (run after `npm run build`): the first load's JavaScript stays
// under 200 KB compressed, and nothing secret is in any file that is served.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const DIST = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "dist");
const BUDGET = 200 * 1024;

test("first load: under 200 KB of compressed JavaScript", () => {
  const html = readFileSync(join(DIST, "index.html"), "utf8");
  const scripts = [...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="\/?([^"]+\.js)"/g)].map((m) => m[1]);
  assert.ok(scripts.length > 0, "index.html loads a script");
  let total = 0;
  for (const s of scripts) total += gzipSync(readFileSync(join(DIST, s)), { level: 9 }).length;
  console.log(`first-load JavaScript: ${scripts.length} file(s), ${(total / 1024).toFixed(1)} KB gzip -9`);
  assert.ok(total < BUDGET, `${total} bytes > ${BUDGET}`);
});

test("no secret in the served files", () => {
  const files = [join(DIST, "index.html"), ...readdirSync(join(DIST, "assets")).map((f) => join(DIST, "assets", f))];
  const forbidden = [
    /local-dev-secret/, // the dev server's JWT secret
    /sim-auth-token/, // the simulator's auth token
    /AKIA[0-9A-Z]{16}/, // AWS access key ids
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
    /\bAC[0-9a-f]{32}\b/, // Twilio account SIDs
    /client_secret/,
    /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/, // a JWT
  ];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const re of forbidden) assert.ok(!re.test(text), `${f} matches ${re}`);
  }
});
