// The browser tests' harness: starts `campaigns dev` (the API, the dashboard, the ingest
// watcher, the dialer loops and the Twilio simulator in one process) against the local AWS
// emulator, and Debian's Chromium through playwright-core. Nothing is downloaded at test time.
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Poll `fn` until it returns a truthy value; fail with `what` after `timeoutMs`. */
export async function until(what, fn, timeoutMs = 60_000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The `campaigns` binary: CAMPAIGNS_BIN, else built now by cargo. */
function campaignsBin() {
  if (process.env.CAMPAIGNS_BIN) return process.env.CAMPAIGNS_BIN;
  return execFileSync("bash", [join(WEB, "scripts", "campaigns-bin.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

/** Start `campaigns dev` on a free port with fast ticks and a fast simulator. */
export async function startDev({ maxInline = 64 * 1024 } = {}) {
  const bin = campaignsBin();
  // Its own database (embedded DynamoDB in a temporary directory) and dial queue, so that another
  // dev server on the same emulator (a `make dev` left running) neither dials these campaigns nor
  // has its own dialed here. The upload bucket
  // is the stack's (stack.sh gives it the CORS rules a browser's presigned PUT needs).
  const run = `web-${process.pid}-${Date.now().toString(36)}`;
  // The embedded DynamoDB keeps its file here: a fresh database per run.
  const dataDir = mkdtempSync(join(tmpdir(), "campaigns-web-db-"));
  const args = ["dev", "--port", "0", "--tick-seconds", "1", "--sim-time-scale", "0.05", "--max-inline-file-bytes", String(maxInline), "--web-dir", join(WEB, "dist"), "--table", `campaigns-${run}`, "--queue", `campaigns-dial-${run}`, "--dynamodb", "embedded", "--data-dir", dataDir];
  const child = spawn(bin, args, { env: { ...process.env, NO_COLOR: "1", RUST_LOG: process.env.RUST_LOG ?? "warn" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const logs = [];
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => {
    logs.push(String(d));
    if (logs.length > 400) logs.shift();
  });
  const exited = new Promise((r) => child.on("exit", (code) => r(code)));
  let code = null;
  exited.then((c) => (code = c));
  const base = await until(
    "campaigns dev to print its URLs",
    () => {
      if (code !== null) throw new Error(`campaigns dev exited (${code}): ${logs.join("").slice(-2000)}`);
      const m = /Dashboard:\s+(http:\/\/\S+?)\/\s/.exec(out);
      const s = /Twilio simulator:\s+(http:\/\/\S+)/.exec(out);
      return m && s ? { url: m[1], sim: s[1] } : null;
    },
    120_000,
  );
  return {
    ...base,
    logs,
    async stop() {
      child.kill("SIGINT");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Chromium with a fresh profile: playwright-core's launch() gives it a new temporary
 * --user-data-dir each time (it refuses one passed by hand) and removes it on close. */
export async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  return {
    browser,
    async close() {
      await browser.close();
    },
  };
}

/** A page signed in as `user` (the dev server's /dev/token), with downloads accepted. */
export async function openAs(browser, dev, user, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The dev server sends the deployed Content-Security-Policy (infra/cli/src/web.rs): anything it
  // refuses fails the test that caused it.
  page.on("console", (m) => m.type() === "error" && /Content Security Policy|Refused to/.test(m.text()) && errors.push(m.text()));
  await page.goto(`${dev.url}/?user=${encodeURIComponent(user)}#/`);
  await page.getByRole("heading", { name: "Campaigns", level: 1 }).waitFor();
  return { page, context, errors };
}

/** The API directly, as `user` (for setting up and checking; the tests act through the UI). */
export async function apiAs(dev, user) {
  const { token } = await (await fetch(`${dev.url}/dev/token?user=${encodeURIComponent(user)}`)).json();
  const call = async (method, path, body) => {
    const res = await fetch(dev.url + path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  return { get: (p) => call("GET", p), post: (p, b) => call("POST", p, b), del: (p) => call("DELETE", p), token };
}

/** The simulator: its record of calls, and the per-number script. */
export const sim = {
  async calls(dev) {
    const body = await (await fetch(`${dev.sim}/sim/calls`)).json();
    return Array.isArray(body) ? body : (body.calls ?? []);
  },
  async script(dev, script) {
    const res = await fetch(`${dev.sim}/sim/script`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(script) });
    if (!res.ok) throw new Error(`sim script: ${res.status} ${await res.text()}`);
  },
};

/** axe-core in the page: the violations of impact serious or critical. */
export async function seriousA11yViolations(page) {
  const src = readFileSync(join(WEB, "node_modules", "axe-core", "axe.min.js"), "utf8");
  // Evaluated through the DevTools protocol, which the page's Content-Security-Policy does not
  // govern (an inline <script> would be refused by it, as it should be).
  await page.evaluate(src);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Test files: a temporary directory. */
export function tempFiles() {
  const dir = mkdtempSync(join(tmpdir(), "campaigns-web-"));
  return {
    dir,
    write(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Numbers whose own time zone the importer derives from the number itself, by zone. Contacts
// are called only between 08:00 and 21:00 in their zone, so the tests use the zone where it is
// daytime now (as tests/tests/common/mod.rs daytime_zone does) and calls happen at any hour.
const BY_ZONE = [
  ["Pacific/Honolulu", (i) => `+1808555${String(100 + i).padStart(4, "0")}`],
  ["America/Los_Angeles", (i) => `+1213555${String(100 + i).padStart(4, "0")}`],
  ["America/New_York", (i) => `+1212555${String(100 + i).padStart(4, "0")}`],
  ["Europe/London", (i) => `+44207946${String(100 + i).padStart(4, "0")}`],
  ["Europe/Berlin", (i) => `+4930901820${String(100 + i).padStart(3, "0")}`],
  ["Asia/Tokyo", (i) => `+81312345${String(100 + i).padStart(3, "0")}`],
  ["Pacific/Auckland", (i) => `+649303${String(1000 + i).padStart(4, "0")}`],
];

function localHour(zone) {
  return Number(new Intl.DateTimeFormat("en-US", { timeZone: zone, hour: "2-digit", hourCycle: "h23" }).format(new Date()));
}

/** A zone where it is between 09:00 and 18:59 now, and a maker of numbers that live there. */
export function daytime() {
  for (const [zone, make] of BY_ZONE) {
    const h = localHour(zone);
    if (h >= 9 && h <= 18) return { zone, number: make };
  }
  throw new Error("no daytime zone in the table (cannot happen: the zones cover the day)");
}

/** A zone where it is night now (before 07:00 or from 21:00): its contacts wait for their
 * morning, at least an hour away. */
export function night() {
  for (const [zone, make] of BY_ZONE) {
    const h = localHour(zone);
    if (h < 7 || h >= 21) return { zone, number: make };
  }
  throw new Error("no night zone in the table (cannot happen: the zones cover the day)");
}

export function uniqueUser(prefix) {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** Run `body` with a page signed in as a new user (or as `user`); on failure keep a screenshot
 * and the page's text in web/test-results/ (and say where). */
export async function withPage(chrome, dev, userPrefix, body, viewport, user = uniqueUser(userPrefix)) {
  const { page, context, errors } = await openAs(chrome.browser, dev, user, viewport);
  try {
    await body({ page, user, errors });
  } catch (e) {
    const dir = join(WEB, "test-results");
    mkdirSync(dir, { recursive: true });
    const name = `${userPrefix}-${Date.now()}`;
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true }).catch(() => {});
    const text = await page.locator("body").innerText().catch(() => "");
    writeFileSync(join(dir, `${name}.txt`), `${page.url()}\n\n${text}\n\nserver log tail:\n${dev.logs.join("").slice(-4000)}`);
    e.message += ` (screenshot and page text: web/test-results/${name}.*)`;
    throw e;
  } finally {
    await context.close();
  }
}
