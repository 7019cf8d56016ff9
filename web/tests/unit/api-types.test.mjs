// The check that keeps the dashboard's API types from drifting (scripts/gen-api.sh --check,
// a step of `make test`): run for real, in a copy of web/ whose committed document is changed,
// against the document the API serves (`campaigns openapi`, the same as GET /openapi.json).
// Needs CAMPAIGNS_BIN (scripts/test.sh sets it to the binary it built); skipped without it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const bin = process.env.CAMPAIGNS_BIN;

/** A copy of web/'s scripts and API files (node_modules linked); `change` edits its openapi.json,
 * then schema.d.ts is regenerated from it, as `npm run gen:api` would have left them. */
function copyWith(change) {
  const dir = mkdtempSync(join(tmpdir(), "campaigns-api-check-"));
  cpSync(join(WEB, "scripts"), join(dir, "scripts"), { recursive: true });
  cpSync(join(WEB, "src", "api"), join(dir, "src", "api"), { recursive: true });
  symlinkSync(join(WEB, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), "{}");
  const doc = JSON.parse(readFileSync(join(dir, "src/api/openapi.json"), "utf8"));
  if (change) {
    change(doc);
    writeFileSync(join(dir, "src/api/openapi.json"), JSON.stringify(doc, null, 2) + "\n");
    const gen = spawnSync("npx", ["--no-install", "openapi-typescript", "src/api/openapi.json", "-o", "src/api/schema.d.ts"], { cwd: dir, encoding: "utf8" });
    assert.equal(gen.status, 0, gen.stderr);
  }
  return dir;
}

function check(dir) {
  const r = spawnSync("bash", [join(dir, "scripts", "gen-api.sh"), "--check"], { cwd: dir, encoding: "utf8", env: { ...process.env, CAMPAIGNS_BIN: bin } });
  rmSync(dir, { recursive: true, force: true });
  return { status: r.status, out: r.stdout + r.stderr };
}

test("the committed API types match the API", { skip: !bin && "CAMPAIGNS_BIN not set" }, () => {
  const r = check(copyWith(null));
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /match the API/);
});

test("a field the API does not have (or no longer has) fails the check", { skip: !bin && "CAMPAIGNS_BIN not set" }, () => {
  const r = check(copyWith((doc) => delete doc.components.schemas.CampaignView.properties.failure_reason));
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /out of date with the API.*npm run gen:api/s);
});

test("a path the API does not have fails the check", { skip: !bin && "CAMPAIGNS_BIN not set" }, () => {
  const r = check(
    copyWith((doc) => {
      doc.paths["/campaigns/{id}/archive"] = doc.paths["/campaigns/{id}/pause"];
    }),
  );
  assert.equal(r.status, 1, r.out);
});

test("a hand edit of the generated types alone fails the check", { skip: !bin && "CAMPAIGNS_BIN not set" }, () => {
  const dir = copyWith(null);
  const p = join(dir, "src/api/schema.d.ts");
  writeFileSync(p, readFileSync(p, "utf8").replace("failure_reason", "failure_text"));
  const r = check(dir);
  assert.equal(r.status, 1, r.out);
});

test("a change of prose only (a description) is reported and passes", { skip: !bin && "CAMPAIGNS_BIN not set" }, () => {
  const r = check(
    copyWith((doc) => {
      doc.components.schemas.CampaignView.description = "Reworded.";
    }),
  );
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /only its descriptions changed/);
});
