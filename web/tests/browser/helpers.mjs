// Steps the browser tests share: creating through the UI, and API-side set-up and checks.
import assert from "node:assert/strict";
import { until } from "./harness.mjs";

/** Create an agent through the inline form of the create page (a new user has none). */
export async function createAgentInline(page, name) {
  await page.getByRole("group", { name: "New agent" }).waitFor();
  await page.getByLabel("Agent name").fill(name);
  await page.getByLabel("Prompt").fill(`You are ${name}. Be brief.`);
  await page.getByRole("button", { name: "Create agent" }).click();
  await until("the new agent to be selected", async () => (await page.locator("#f-agent option:checked").textContent()) === name);
}

/** Open the create page, with an agent ready (created inline when the user has none). */
export async function openCreate(page, agentName = "Agent") {
  await page.goto(page.url().replace(/#.*$/, "#/campaigns/new"));
  await page.getByRole("heading", { name: "New campaign" }).waitFor();
  await page.locator("#f-agent[data-loaded]").waitFor({ state: "attached" });
  if (await page.getByRole("group", { name: "New agent" }).isVisible()) await createAgentInline(page, agentName);
}

/** Fill the create form (file, name, zone, pacing, then `extra`), check the preview's count,
 * create, and wait for the detail page; returns the campaign id. */
export async function createThroughUi(page, { file, name, zone, pacing = "1", expectFound, extra }) {
  await openCreate(page, `Agent ${name}`);
  await page.locator("#f-file").setInputFiles(file);
  await until(`the preview to find ${expectFound} contacts`, async () => (await page.getByTestId("pv-imported").textContent()) === String(expectFound));
  await page.getByLabel("Name (optional)").fill(name);
  await page.getByLabel("Time zone", { exact: true }).fill(zone);
  await page.locator("#f-pacing").fill(pacing);
  if (extra) await extra(page);
  await page.getByRole("button", { name: "Create campaign" }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
  const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
  assert.match(id, /^[0-9a-f]{32}$/);
  return id;
}

/** The create form's retry fields for a test: one retry, about a second after the first call
 * (0.0003 h), so a no-answer is retried while the test waits. An `extra` for createThroughUi. */
export async function oneQuickRetry(page) {
  await page.getByLabel("Retries per contact").fill("1");
  await page.getByLabel("Wait before each retry (hours)").fill("0.0003");
}

export async function badge(page) {
  return (await page.locator(".detail-head .badge").textContent())?.trim();
}

/** A campaign created through the API (multipart POST /campaigns/create) from a file of
 * `numbers` (or the file's text `csv`), with an agent of its own unless `agentId` is given;
 * `settings` are added to the defaults (pacing 0). Returns the campaign id. */
export async function createThroughApi(dev, api, { name, numbers, csv, zone, agentId, settings = {} }) {
  const agent = agentId ?? (await api.post("/agents", { name: `${name} agent`, prompt_text: "p" })).id;
  const fd = new FormData();
  fd.append("file", new Blob([csv ?? `phone\n${numbers.join("\n")}\n`]), `${name}.csv`);
  fd.append("settings", JSON.stringify({ name, agent_id: agent, timezone: zone, pacing: { delay_seconds: 0 }, ...settings }));
  const res = await fetch(`${dev.url}/campaigns/create`, { method: "POST", headers: { Authorization: `Bearer ${api.token}` }, body: fd });
  assert.equal(res.status, 201, await res.clone().text());
  return (await res.json()).campaign_id;
}

/** A campaign created and run through the API (a control: it proves the dialer kept running). */
export async function runThroughApi(dev, api, { numbers, zone, name = "control" }) {
  const id = await createThroughApi(dev, api, { name, numbers, zone, settings: { max_concurrent_calls: 2 } });
  await api.post(`/campaigns/${id}/start`);
  await until(`the control campaign ${name} to complete`, async () => (await api.get(`/campaigns/${id}`)).state === "completed", 120_000);
  return id;
}

export function callsTo(calls, numbers) {
  return calls.filter((c) => numbers.includes(c.to));
}
