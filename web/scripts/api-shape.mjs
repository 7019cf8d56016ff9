// node scripts/api-shape.mjs A.json B.json: exit 0 when two OpenAPI documents say the same thing
// apart from prose (description, summary, example(s), title of the info block), else print the
// first differences and exit 1. Used by gen-api.sh --check.
import { readFileSync } from "node:fs";

const PROSE = new Set(["description", "summary", "example", "examples"]);
function shape(v) {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === "object") {
    const out = {};
    for (const k of Object.keys(v).sort()) if (!PROSE.has(k)) out[k] = shape(v[k]);
    return out;
  }
  return v;
}

const [a, b] = process.argv.slice(2).map((f) => shape(JSON.parse(readFileSync(f, "utf8"))));
const diffs = [];
function walk(x, y, path) {
  if (diffs.length >= 10) return;
  if (JSON.stringify(x) === JSON.stringify(y)) return;
  if (x && y && typeof x === "object" && typeof y === "object" && Array.isArray(x) === Array.isArray(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[k], y[k], `${path}/${k}`);
    return;
  }
  diffs.push(`${path}: ${JSON.stringify(x)?.slice(0, 120)} -> ${JSON.stringify(y)?.slice(0, 120)}`);
}
walk(a, b, "");
if (diffs.length) {
  console.error("the API's shape differs from web/src/api/openapi.json:\n  " + diffs.join("\n  "));
  process.exit(1);
}
