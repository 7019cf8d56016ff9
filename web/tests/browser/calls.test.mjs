// Recent Calls in Chromium: the dashboard home's "Recent Calls" | "Campaigns" tabs; the user's
// calls across campaigns, placed by the system through the Twilio simulator, newest first, 20 a
// page, each linking to its campaign; another user's calls never shown; the empty state; the
// outcome filter; the list refreshing itself while the system places calls.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, seriousA11yViolations, sim, startDev, uniqueUser, until, withPage } from "./harness.mjs";
import { createThroughApi } from "./helpers.mjs";

let dev, chrome, user, api, alpha, bulk, theirs;
const day = daytime();
const [answered, busy] = [1, 2].map((i) => day.number(i));
const bulkNumbers = Array.from({ length: 19 }, (_, i) => day.number(10 + i));
const outsiderNumber = day.number(50);

async function runToCompletion(api, id, name) {
  await api.post(`/campaigns/${id}/start`);
  await until(`${name} to complete`, async () => (await api.get(`/campaigns/${id}`)).state === "completed", 120_000);
}

before(async () => {
  dev = await startDev();
  chrome = await launchBrowser();
  user = uniqueUser("caller");
  api = await apiAs(dev, user);
  await sim.script(dev, { default: { outcome: "completed", duration: 2 }, [answered]: { outcome: "completed", duration: 20 }, [busy]: { outcome: "busy" } });
  // Alpha first (its two calls are the oldest): one answered for 20 s, then one busy, not retried.
  alpha = await createThroughApi(dev, api, { name: "Alpha", numbers: [answered, busy], zone: day.zone, settings: { retry_policy: { max_retries: 0, backoff_hours: [1] } } });
  await runToCompletion(api, alpha, "Alpha");
  // Then 19 calls, ten at a time: 21 calls in all, one more than a page.
  bulk = await createThroughApi(dev, api, { name: "Bulk", numbers: bulkNumbers, zone: day.zone, settings: { max_concurrent_calls: 10 } });
  await runToCompletion(api, bulk, "Bulk");
  // Another user's campaign and call.
  const outsider = await apiAs(dev, uniqueUser("outsider"));
  theirs = await createThroughApi(dev, outsider, { name: "Theirs", numbers: [outsiderNumber], zone: day.zone });
  await runToCompletion(outsider, theirs, "Theirs");
});
after(async () => {
  await chrome?.close();
  await dev?.stop();
});

const rows = (page) => page.locator("table.calls tbody tr");
const rowKeys = (page) => rows(page).evaluateAll((trs) => trs.map((tr) => `${tr.dataset.campaignId} ${tr.dataset.phone}`));

test("Recent Calls: a tab beside Campaigns; the calls the system placed, newest first, 20 a page, each linking to its campaign; no other user's call", async () => {
  await withPage(
    chrome,
    dev,
    "caller",
    async ({ page, errors }) => {
      const tabs = page.getByRole("navigation", { name: "Dashboard views" });
      assert.deepEqual((await tabs.getByRole("link").allTextContents()).map((t) => t.trim()), ["Recent Calls", "Campaigns"]);
      assert.equal(await tabs.getByRole("link", { name: "Campaigns" }).getAttribute("aria-current"), "page");
      await tabs.getByRole("link", { name: "Recent Calls" }).click();
      await page.getByRole("heading", { name: "Recent calls", level: 1 }).waitFor();
      assert.equal(new URL(page.url()).hash, "#/calls");
      assert.equal(await tabs.getByRole("link", { name: "Recent Calls" }).getAttribute("aria-current"), "page");

      // The API's list is the simulator's record of what the dialer placed: every call once.
      const calls = (await api.get("/calls?limit=100")).calls;
      assert.equal(calls.length, 21);
      const placed = (await sim.calls(dev)).filter((c) => [answered, busy, ...bulkNumbers].includes(c.to));
      assert.deepEqual(calls.map((c) => c.call_sid).sort(), placed.map((c) => c.sid).sort());
      for (let i = 1; i < calls.length; i++) assert.ok(calls[i - 1].started_at >= calls[i].started_at, "newest first");

      // Page 1: the 20 newest in the API's order: Bulk's 19, then Alpha's busy call.
      await until("the first page of calls", async () => (await rows(page).count()) === 20);
      assert.deepEqual(await rowKeys(page), calls.slice(0, 20).map((c) => `${c.campaign_id} ${c.phone}`));
      const busyRow = rows(page).nth(19);
      assert.equal(await busyRow.getAttribute("data-phone"), busy);
      assert.equal((await busyRow.locator(".chip").textContent()).trim(), "busy");
      assert.equal(await busyRow.getByRole("link").textContent(), "Alpha");
      assert.equal(await rows(page).first().getByRole("link").textContent(), "Bulk");
      const pager = page.getByRole("navigation", { name: "Call pages" });
      assert.ok(await pager.getByRole("button", { name: "Previous" }).isDisabled());

      // Page 2: the oldest call, Alpha's answered one: attempt 1, completed, 20 s.
      await pager.getByRole("button", { name: "Next" }).click();
      await pager.getByText("Page 2").waitFor();
      await until("the second page", async () => (await rows(page).count()) === 1);
      const last = rows(page).first();
      assert.equal(await last.getAttribute("data-phone"), answered);
      const cells = (await last.locator("td").allTextContents()).map((t) => t.trim());
      assert.deepEqual(cells.slice(1, 7), ["Alpha", "—", answered, "1", "completed", "20 s"]);
      assert.ok(await pager.getByRole("button", { name: "Next" }).isDisabled());

      // Nobody else's calls, on either page.
      const text = await page.locator("main").innerText();
      assert.ok(!text.includes(outsiderNumber) && !text.includes("Theirs"), text);
      await pager.getByRole("button", { name: "Previous" }).click();
      await until("page 1 again", async () => (await rows(page).count()) === 20);
      const first = await page.locator("main").innerText();
      assert.ok(!first.includes(outsiderNumber) && !first.includes("Theirs"), first);
      assert.deepEqual(await seriousA11yViolations(page), []);

      // A row's campaign link opens the campaign; the Campaigns tab is the campaigns list.
      await rows(page).nth(19).getByRole("link", { name: "Alpha" }).click();
      await page.getByRole("heading", { name: "Alpha", level: 1 }).waitFor();
      assert.equal(new URL(page.url()).hash, `#/campaigns/${alpha}`);
      await page.goBack();
      await page.getByRole("heading", { name: "Recent calls", level: 1 }).waitFor();
      await page.getByRole("navigation", { name: "Dashboard views" }).getByRole("link", { name: "Campaigns" }).click();
      await page.getByRole("heading", { name: "Campaigns", level: 1 }).waitFor();
      await until("the campaign cards", async () => (await page.locator(".campaign-card").count()) === 2);
      assert.deepEqual(errors, []);
    },
    undefined,
    user,
  );
});

test("Recent Calls: the empty state, then the calls of a campaign started meanwhile appear by themselves; the outcome filter", async () => {
  await withPage(chrome, dev, "newcomer", async ({ page, user: newcomer, errors }) => {
    const mine = await apiAs(dev, newcomer);
    await page.goto(`${dev.url}/?user=${encodeURIComponent(newcomer)}#/calls`);
    await page.getByRole("heading", { name: "Recent calls", level: 1 }).waitFor();
    await page.getByText("No calls yet.").waitFor();
    await page.getByText("Refreshing every 5 s").waitFor();
    assert.deepEqual(await seriousA11yViolations(page), []);

    // Started through the API while the tab is open: its calls show up with no reload.
    const numbers = [day.number(60), day.number(61)];
    const id = await createThroughApi(dev, mine, { name: "Meanwhile", numbers, zone: day.zone });
    await runToCompletion(mine, id, "Meanwhile");
    await until("both calls listed, completed", async () => (await page.locator("table.calls .chip-completed").count()) === 2, 20_000);
    assert.deepEqual((await rowKeys(page)).sort(), numbers.map((n) => `${id} ${n}`).sort());

    // The outcome filter: none busy, both completed.
    await page.getByLabel("Outcome").selectOption("busy");
    await page.getByText("No calls ended busy.").waitFor();
    await page.getByLabel("Outcome").selectOption("completed");
    await until("the completed calls", async () => (await rows(page).count()) === 2);
    assert.deepEqual(errors, []);
  });
});
