// Regenerates the screenshots in docs/screenshots/ (linked from the README and docs/dashboard.md):
// starts `campaigns dev`, fills it through the UI and the API with a few campaigns, and takes
// one picture per page, on a desktop and on a phone's width.
//   cd web && npm run build && node scripts/screenshots.mjs     (the local stack must be up)
import { mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { apiAs, daytime, launchBrowser, openAs, startDev, tempFiles, until } from "../tests/browser/harness.mjs";
import { createThroughApi } from "../tests/browser/helpers.mjs";

const OUT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "screenshots");
mkdirSync(OUT, { recursive: true });

const dev = await startDev();
const chrome = await launchBrowser();
const files = tempFiles();
try {
  const user = "demo";
  const api = await apiAs(dev, user);
  const agent = await api.post("/agents", { name: "Sales Bot", prompt_text: "You are calling on behalf of Acme to confirm next week's delivery window. Be brief and polite." });
  await api.post("/agents", { name: "Survey Bot", prompt_text: "Ask three short questions about the last order." });
  const day = daytime();
  const make = async (name, n, { start = false, pause = false } = {}) => {
    const base = name.length * 20;
    const rows = Array.from({ length: n }, (_, i) => `${day.number(base + i)},Contact ${i + 1},Acme ${i % 3}`).join("\n");
    const id = await createThroughApi(dev, api, {
      name,
      csv: `phone,name,company\n${rows}\n`,
      zone: day.zone,
      agentId: agent.id,
      settings: { pacing: { delay_seconds: 1 }, retry_policy: { max_retries: 1, backoff_hours: [0.0003] } },
    });
    if (start) await api.post(`/campaigns/${id}/start`);
    if (pause) await api.post(`/campaigns/${id}/pause`);
    return id;
  };
  await fetch(`${dev.sim}/sim/script`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ default: { outcome: "completed", duration: 40 }, [day.number("March renewals".length * 20 + 1)]: { outcome: "busy" }, [day.number("March renewals".length * 20 + 2)]: [{ outcome: "no-answer" }, { outcome: "completed", duration: 25 }] }) });
  const done = await make("March renewals", 6, { start: true });
  await make("Spring survey", 4);
  for (const n of [day.number(500), day.number(501)]) await api.post("/dnc", { phone: n });
  await make("Paused follow-ups", 5, { start: true, pause: true });
  await until("March renewals to complete", async () => (await api.get(`/campaigns/${done}`)).state === "completed", 120_000);

  for (const [label, viewport] of [
    ["desktop", { width: 1280, height: 900 }],
    ["phone", { width: 390, height: 844 }],
  ]) {
    const { page, context } = await openAs(chrome.browser, dev, user, viewport);
    const shot = async (name, fullPage = label === "desktop") => page.screenshot({ path: join(OUT, `${name}-${label}.png`), fullPage });
    await page.locator(".campaign-card").first().waitFor();
    await shot("campaigns");
    await page.goto(`${dev.url}/#/calls`);
    await page.locator("table.calls tbody tr").first().waitFor();
    await shot("calls");
    await page.goto(`${dev.url}/#/campaigns/${done}`);
    await page.getByRole("heading", { level: 1, name: "March renewals" }).waitFor();
    await page.locator("tr[data-phone]").first().waitFor();
    await shot("campaign");
    await page.locator("tr[data-phone]").nth(2).getByRole("button").click();
    await page.getByRole("table", { name: "Attempts" }).waitFor();
    await shot("attempts", false);
    await page.getByRole("button", { name: "Close" }).click();
    await page.goto(`${dev.url}/#/campaigns/new`);
    await page.locator("#f-agent[data-loaded]").waitFor({ state: "attached" });
    const bad = files.write("contacts.csv", `phone,name,email\n${day.number(700)},Ann,ann@example.com\n${day.number(701)},Bob,bob@example.com\nnot a number,Cy,cy@example.com\n${day.number(700)},Ann again,ann@example.com\n12,Dee,dee@example.com\n`);
    await page.locator("#f-file").setInputFiles(bad);
    await page.getByTestId("pv-imported").waitFor();
    await shot("create");
    await page.goto(`${dev.url}/#/dnc`);
    await page.locator("table[aria-label='Do-not-call numbers'] tbody tr").first().waitFor();
    await shot("dnc");
    await page.goto(`${dev.url}/#/agents`);
    await page.locator(".agent-list li").first().waitFor();
    await shot("agents");
    await context.close();
  }
  console.log(`screenshots written to ${OUT}`);
} finally {
  await chrome.close();
  await dev.stop();
  files.cleanup();
}
