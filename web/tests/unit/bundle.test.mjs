// Checks on the built dashboard (run after `npm run build`): the first load's JavaScript stays
// under 200 KB compressed, and nothing secret is in any file that is served.
import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
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

const FORBIDDEN = [
  /local-dev-secret/, // the dev server's JWT secret
  /sim-auth-token/, // the simulator's auth token
  /AKIA[0-9A-Z]{16}/, // AWS access key ids
  /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
  /\bAC[0-9a-f]{32}\b/, // Twilio account SIDs
  /client_secret/,
  /eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}/, // a JWT
];

/** Every served file of a built dashboard in `dist` that matches a secret's pattern. */
function secretsIn(dist) {
  const files = [join(dist, "index.html"), ...readdirSync(join(dist, "assets")).map((f) => join(dist, "assets", f))];
  const found = [];
  for (const f of files) {
    const text = readFileSync(f, "utf8");
    for (const re of FORBIDDEN) if (re.test(text)) found.push(`${f} matches ${re}`);
  }
  return found;
}

test("no secret in the served files", () => {
  assert.deepEqual(secretsIn(DIST), []);
});

test("the secret check finds each kind of secret planted in a copy of the bundle", () => {
  const planted = {
    "the dev JWT secret": "local-dev-secret",
    "an AWS key id": "AKIAIOSFODNN7EXAMPLE",
    "a Twilio account SID": `AC${"0123456789abcdef".repeat(2)}`,
    "a client secret": 'client_secret: "x"',
    "a JWT": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.sig",
  };
  for (const [what, text] of Object.entries(planted)) {
    const dir = mkdtempSync(join(tmpdir(), "campaigns-bundle-"));
    try {
      cpSync(DIST, dir, { recursive: true });
      const js = readdirSync(join(dir, "assets")).find((f) => f.endsWith(".js"));
      appendFileSync(join(dir, "assets", js), `\n// ${text}\n`);
      assert.equal(secretsIn(dir).length, 1, `${what} was not found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
