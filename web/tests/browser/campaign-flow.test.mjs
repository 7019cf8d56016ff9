// Through the UI, in Chromium, against `campaigns dev` and the Twilio simulator: the summary's
// checklist. Every wait is on a condition (generous timeouts for a loaded 2-core machine).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, sim, startDev, tempFiles, until, withPage } from "./harness.mjs";

let dev, chrome, files;
before(async () => {
  dev = await startDev();
  chrome = await launchBrowser();
  files = tempFiles();
});
after(async () => {
  await chrome?.close();
  await dev?.stop();
  files?.cleanup();
});

/** Create an agent through the inline form of the create page (a new user has none). */
async function createAgentInline(page, name) {
  await page.getByRole("group", { name: "New agent" }).waitFor();
  await page.getByLabel("Agent name").fill(name);
  await page.getByLabel("Prompt").fill(`You are ${name}. Be brief.`);
  await page.getByRole("button", { name: "Create agent" }).click();
  await until("the new agent to be selected", async () => (await page.locator("#f-agent option:checked").textContent()) === name);
}

/** Fill the create form's file, zone and pacing, check the preview, create; returns the id. */
async function createThroughUi(page, { file, name, zone, pacing = "1", expectFound, extra }) {
  await page.goto(page.url().replace(/#.*$/, "#/campaigns/new"));
  await page.getByRole("heading", { name: "New campaign" }).waitFor();
  await page.locator("#f-agent[data-loaded]").waitFor({ state: "attached" });
  if (await page.getByRole("group", { name: "New agent" }).isVisible()) await createAgentInline(page, `Agent ${name}`);
  await page.locator("#f-file").setInputFiles(file);
  await until(`the preview to find ${expectFound} contacts`, async () => (await page.getByTestId("pv-imported").textContent()) === String(expectFound));
  await page.getByLabel("Name (optional)").fill(name);
  await page.getByLabel("Time zone").fill(zone);
  await page.locator("#f-pacing").fill(pacing);
  if (extra) await extra(page);
  await page.getByRole("button", { name: "Create campaign" }).click();
  await page.getByRole("heading", { level: 1, name }).waitFor();
  const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
  assert.match(id, /^[0-9a-f]{32}$/);
  return id;
}

test("phone + name + extra columns: preview, create, start, calls complete, every column stored", async () => {
  await withPage(chrome, dev, "columns", async ({ page, user, errors }) => {
  const day = daytime();
  const nums = [0, 1, 2].map(day.number);
  const csv = files.write("team.csv", `phone,name,company,notes\n${nums[0]},Ann Lee,Acme,VIP\n${nums[1]},Bob Stone,Initech,call after lunch\n${nums[2]},Cy Twombly,Globex,\n`);
  const id = await createThroughUi(page, { file: csv, name: "Extra columns", zone: day.zone, expectFound: 3 });

  // The preview named the columns; the detail page shows draft and 0/3.
  await page.getByRole("button", { name: "Start" }).click();
  await until("the campaign to complete", async () => (await page.locator(".detail-head .badge").textContent()) === "completed", 120_000);
  assert.equal(await page.locator(".detail-head .progress-text").textContent(), "3/3 (100%)");
  // The contacts table shows the extra columns, as stored.
  const row = page.locator(`tr[data-phone="${nums[1]}"]`);
  await until("Bob's row to show completed", async () => (await row.locator(".chip").textContent()) === "completed");
  assert.match(await row.textContent(), /Initech/);
  assert.match(await row.textContent(), /call after lunch/);
  const api = await apiAs(dev, user);
  const contacts = (await api.get(`/campaigns/${id}/contacts`)).contacts;
  assert.deepEqual(
    contacts.map((c) => [c.phone, c.name, c.metadata]).sort(),
    [
      [nums[0], "Ann Lee", { company: "Acme", notes: "VIP" }],
      [nums[1], "Bob Stone", { company: "Initech", notes: "call after lunch" }],
      [nums[2], "Cy Twombly", { company: "Globex" }],
    ].sort(),
  );
  const called = (await sim.calls(dev)).filter((c) => nums.includes(c.to)).map((c) => c.to);
  assert.deepEqual(called.sort(), [...nums].sort(), "each contact called exactly once");
  assert.deepEqual(errors, []);
  });
});
