// The campaigns list in Chromium (cards newest first, paged, filtered, with progress, stats, a
// coloured badge and Start / Pause / Resume / View), and how the pages refresh themselves
// without hammering the API (one request at a time, every 5 s while something is live, none
// while the tab is hidden or nothing moves, slower after errors).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, sim, startDev, uniqueUser, until, withPage } from "./harness.mjs";
import { createThroughApi } from "./helpers.mjs";

let dev, chrome, user, api, done, held;
const drafts = [];

before(async () => {
  dev = await startDev();
  chrome = await launchBrowser();
  user = uniqueUser("lister");
  api = await apiAs(dev, user);
  const day = daytime();
  const agentId = (await api.post("/agents", { name: "List agent", prompt_text: "p" })).id;
  // "Done": three contacts, two answered (20 s and 40 s), one busy and not retried.
  const [a, b, c] = [1, 2, 3].map(day.number);
  await sim.script(dev, { default: { outcome: "completed" }, [a]: { outcome: "completed", duration: 20 }, [b]: { outcome: "completed", duration: 40 }, [c]: { outcome: "busy" } });
  done = await createThroughApi(dev, api, { name: "Done", numbers: [a, b, c], zone: day.zone, agentId, settings: { retry_policy: { max_retries: 0, backoff_hours: [1] } } });
  await api.post(`/campaigns/${done}/start`);
  await until("Done to complete", async () => (await api.get(`/campaigns/${done}`)).state === "completed", 120_000);
  await sim.script(dev, { default: { outcome: "completed" } });
  // "Held": business hours that exclude now (a one-hour window three or five hours ahead, in
  // UTC), so once started it runs and places no call: a campaign that stays live.
  const h = new Date().getUTCHours();
  const from = (h + 3) % 24 <= 22 ? (h + 3) % 24 : (h + 5) % 24;
  const pad = (n) => String(n).padStart(2, "0");
  held = await createThroughApi(dev, api, {
    name: "Held",
    numbers: [day.number(4)],
    zone: "UTC",
    agentId,
    settings: { business_hours: { enabled: true, days: [1, 2, 3, 4, 5, 6, 7], start_time: `${pad(from)}:00`, end_time: `${pad(from + 1)}:00` } },
  });
  // Eleven drafts, created last: the newest.
  for (let i = 1; i <= 11; i++) drafts.push(await createThroughApi(dev, api, { name: `Draft ${pad(i)}`, numbers: [day.number(10 + i)], zone: day.zone, agentId }));
});
after(async () => {
  await chrome?.close();
  await dev?.stop();
});

const cardNames = (page) => page.locator(".campaign-card h3").allTextContents();
const card = (page, name) => page.locator(".campaign-card").filter({ has: page.getByRole("link", { name, exact: true }) });
const cardBadge = async (page, name) => (await card(page, name).locator(".badge").textContent()).trim();

test("campaigns list: newest first, 12 a page, filtered by state; each card's progress, stats and coloured badge; Start, Pause, Resume and View on the card", async () => {
  await withPage(
    chrome,
    dev,
    "lister",
    async ({ page, errors }) => {
      // Newest first: the API's order (by creation time), and the UI's.
      const all = (await api.get("/campaigns?limit=100")).campaigns;
      assert.deepEqual(all.map((c) => c.name), [...drafts.map((_, i) => `Draft ${String(11 - i).padStart(2, "0")}`), "Held", "Done"]);
      for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].created_at >= all[i].created_at, `${all[i - 1].created_at} before ${all[i].created_at}`);
      await until("the first page of cards", async () => (await page.locator(".campaign-card").count()) === 12);
      assert.deepEqual(await cardNames(page), all.slice(0, 12).map((c) => c.name));
      const pager = page.getByRole("navigation", { name: "Pages" });
      assert.ok(await pager.getByRole("button", { name: "Previous" }).isDisabled());
      // Each card: its name and date, a badge naming its state, a progress bar, Start on a draft.
      const draft = card(page, "Draft 11");
      assert.match(await draft.innerText(), new RegExp(`Created .*${new Date(all[0].created_at).getFullYear()}`));
      assert.equal(await cardBadge(page, "Draft 11"), "draft");
      assert.equal(await draft.getByRole("progressbar").getAttribute("aria-valuenow"), "0");
      assert.equal(await draft.locator(".progress-text").textContent(), "0/1 (0%)");
      await draft.getByRole("button", { name: "Start Draft 11" }).waitFor();

      // Page 2: the oldest, "Done": 3/3, success rate, average duration, last called.
      await pager.getByRole("button", { name: "Next" }).click();
      await pager.getByText("Page 2").waitFor();
      await until("the second page", async () => JSON.stringify(await cardNames(page)) === JSON.stringify(["Done"]));
      assert.ok(await pager.getByRole("button", { name: "Next" }).isDisabled());
      const d = await api.get(`/campaigns/${done}`);
      assert.deepEqual([d.stats.completed, d.stats.failed], [2, 1]);
      const doneCard = card(page, "Done");
      assert.equal(await cardBadge(page, "Done"), "completed");
      assert.equal(await doneCard.locator(".progress-text").textContent(), "3/3 (100%)");
      const stats = Object.fromEntries(await doneCard.locator(".mini-stats > div").evaluateAll((ds) => ds.map((x) => [x.querySelector("dt").textContent, x.querySelector("dd").textContent])));
      assert.equal(stats["Success rate"], `${Math.round(d.stats.success_rate * 1000) / 10}%`);
      assert.equal(stats["Success rate"], "66.7%");
      assert.equal(stats["Avg duration"], `${Math.round(d.stats.average_duration_seconds)} s`);
      assert.match(stats["Last called"], /^(\d+ s|\d+ min) ago$|^just now$/);
      assert.equal(await doneCard.getByRole("button").count(), 0, "a completed campaign has no Start/Pause/Resume");
      await pager.getByRole("button", { name: "Previous" }).click();
      await until("the first page again", async () => (await page.locator(".campaign-card").count()) === 12);

      // Start, Pause, Resume on Held's card (business hours keep it from calling).
      await card(page, "Held").getByRole("button", { name: "Start Held" }).click();
      await until("Held to be live", async () => ["pending", "running"].includes(await cardBadge(page, "Held")));
      await until("the list to show Held running (it refreshes itself)", async () => (await cardBadge(page, "Held")) === "running", 60_000);
      await card(page, "Held").getByRole("button", { name: "Pause Held" }).click();
      await until("Held paused", async () => (await cardBadge(page, "Held")) === "paused");
      assert.equal((await api.get(`/campaigns/${held}`)).state, "paused");
      await card(page, "Held").getByRole("button", { name: "Resume Held" }).click();
      await until("Held running again", async () => (await cardBadge(page, "Held")) === "running");
      assert.equal((await api.get(`/campaigns/${held}`)).state, "running");

      // The state filter: one state at a time, still newest first.
      const status = page.getByLabel("Status");
      await status.selectOption("running");
      await until("only Held", async () => JSON.stringify(await cardNames(page)) === JSON.stringify(["Held"]));
      await status.selectOption("completed");
      await until("only Done", async () => JSON.stringify(await cardNames(page)) === JSON.stringify(["Done"]));
      await status.selectOption("draft");
      await until("the drafts", async () => (await cardNames(page)).length === 11);
      assert.deepEqual(await cardNames(page), all.filter((c) => c.name.startsWith("Draft")).map((c) => c.name));
      await status.selectOption("paused");
      await page.getByText("No paused campaigns.").waitFor();

      // The badges' colours: draft gray, pending/scheduled violet, running blue, paused yellow,
      // completed green, failed red (the hue of each badge's background as drawn).
      const hues = await page.evaluate(() => {
        const out = {};
        for (const s of ["draft", "pending", "scheduled", "running", "paused", "completed", "failed"]) {
          const el = document.createElement("span");
          el.className = `badge badge-${s}`;
          document.body.appendChild(el);
          const [r, g, b] = getComputedStyle(el).backgroundColor.match(/\d+/g).map(Number);
          el.remove();
          const max = Math.max(r, g, b);
          const min = Math.min(r, g, b);
          let hue = 0;
          if (max - min < 12) hue = -1;
          else if (max === r) hue = (60 * ((g - b) / (max - min)) + 360) % 360;
          else if (max === g) hue = 60 * ((b - r) / (max - min)) + 120;
          else hue = 60 * ((r - g) / (max - min)) + 240;
          out[s] = Math.round(hue);
        }
        return out;
      });
      const family = (h) => (h < 0 ? "gray" : h < 20 || h >= 330 ? "red" : h < 70 ? "yellow" : h < 170 ? "green" : h < 245 ? "blue" : "violet");
      assert.deepEqual(Object.fromEntries(Object.entries(hues).map(([k, h]) => [k, family(h)])), {
        draft: "gray",
        pending: "violet",
        scheduled: "violet",
        running: "blue",
        paused: "yellow",
        completed: "green",
        failed: "red",
      });

      // View opens the campaign.
      await status.selectOption("");
      await card(page, "Draft 05").getByRole("link", { name: "View Draft 05" }).click();
      await page.getByRole("heading", { level: 1, name: "Draft 05" }).waitFor();
      assert.deepEqual(errors, []);
    },
    undefined,
    user,
  );
});

/** Count the page's API requests by kind while `during` runs. */
async function countRequests(page, during) {
  const seen = [];
  const on = (req) => {
    const u = new URL(req.url());
    if (u.origin !== dev.url || req.method() !== "GET") return;
    const kind = /^\/campaigns\/[0-9a-f]{32}$/.test(u.pathname)
      ? "campaign"
      : /\/contacts$/.test(u.pathname)
        ? "contacts"
        : /\/attempts$/.test(u.pathname)
          ? "attempts"
          : u.pathname === "/campaigns"
            ? "list"
            : null;
    if (kind) seen.push({ kind, at: Date.now() });
  };
  page.on("request", on);
  try {
    await during();
  } finally {
    page.off("request", on);
  }
  const n = (k) => seen.filter((s) => s.kind === k).length;
  return { campaign: n("campaign"), contacts: n("contacts"), attempts: n("attempts"), list: n("list"), seen };
}
const wait = (ms) => new Promise((r) => setTimeout(r, ms));

test("pages refresh themselves without hammering the API: every 5 s while live, one request at a time, none when hidden or finished, slower after errors", async () => {
  await withPage(
    chrome,
    dev,
    "lister",
    async ({ page }) => {
      // Held runs (the first test started it; start it here when this test runs alone).
      const h = await api.get(`/campaigns/${held}`);
      if (h.state === "draft") await api.post(`/campaigns/${held}/start`);
      if (h.state === "paused") await api.post(`/campaigns/${held}/resume`);
      await until("Held to run", async () => (await api.get(`/campaigns/${held}`)).state === "running", 60_000);

      // Its page, while it runs: one campaign read and one contacts read every 5 s; the
      // attempts (the calls-over-time chart) once, since no call was placed.
      await page.goto(`${dev.url}/#/campaigns/${held}`);
      await page.getByRole("heading", { level: 1, name: "Held" }).waitFor();
      await page.locator("tr[data-phone]").first().waitFor();
      let c = await countRequests(page, () => wait(16_000));
      assert.ok(c.campaign >= 2 && c.campaign <= 4, `campaign reads in 16 s: ${c.campaign}`);
      assert.ok(c.contacts >= 2 && c.contacts <= 4, `contacts reads in 16 s: ${c.contacts}`);
      assert.equal(c.attempts, 0, "the attempts are not read again while no call is placed");
      const times = c.seen.filter((s) => s.kind === "campaign").map((s) => s.at);
      for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 4_500, `reads ${times[i] - times[i - 1]} ms apart`);

      // A hidden tab reads nothing; shown again, it reads at once.
      const setVisibility = (state) =>
        page.evaluate((s) => {
          Object.defineProperty(document, "visibilityState", { configurable: true, get: () => s });
          document.dispatchEvent(new Event("visibilitychange"));
        }, state);
      await setVisibility("hidden");
      c = await countRequests(page, () => wait(11_000));
      assert.equal(c.campaign + c.contacts + c.attempts, 0, `requests while hidden: ${JSON.stringify(c)}`);
      c = await countRequests(page, async () => {
        await setVisibility("visible");
        await wait(1_500);
      });
      assert.equal(c.campaign, 1, "shown again: one read at once");

      // Errors: the API answers 500; the next read waits 10 s, then 20 s (2x, then the 4x cap),
      // and the page says what failed; once the API answers again, back to every 5 s.
      const failed = [];
      await page.route(`${dev.url}/campaigns/${held}`, (route) => {
        if (route.request().method() !== "GET") return route.continue();
        failed.push(Date.now());
        return route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ error: { code: "internal", message: "test: the API is down" } }) });
      });
      await until("three failed reads", async () => failed.length >= 3, 60_000, 200);
      await page.getByText("test: the API is down").waitFor();
      const g1 = failed[1] - failed[0];
      const g2 = failed[2] - failed[1];
      assert.ok(g1 >= 9_500 && g1 < 14_000, `after one failure the next read came ${g1} ms later (10 s)`);
      assert.ok(g2 >= 19_500 && g2 < 24_000, `after two failures the next read came ${g2} ms later (20 s)`);
      await page.unroute(`${dev.url}/campaigns/${held}`);
      const ok = [];
      const onOk = (res) => res.url() === `${dev.url}/campaigns/${held}` && res.status() === 200 && ok.push(Date.now());
      page.on("response", onOk);
      await until("two good reads", async () => ok.length >= 2, 60_000, 200);
      page.off("response", onOk);
      assert.ok(ok[1] - ok[0] < 8_000, `after a success the reads are 5 s apart again (${ok[1] - ok[0]} ms)`);

      // A finished campaign's page reads nothing more once it has loaded.
      await page.goto(`${dev.url}/#/campaigns/${done}`);
      await page.getByRole("heading", { level: 1, name: "Done" }).waitFor();
      await page.locator("tr[data-phone]").first().waitFor();
      await wait(1_000);
      c = await countRequests(page, () => wait(11_000));
      assert.equal(c.campaign + c.contacts + c.attempts, 0, `requests on a finished campaign's page: ${JSON.stringify(c)}`);

      // The list: every 5 s while a campaign on it is live; nothing when none is.
      await page.goto(`${dev.url}/#/`);
      await page.locator(".campaign-card").first().waitFor();
      c = await countRequests(page, () => wait(11_000));
      assert.ok(c.list >= 1 && c.list <= 3, `list reads in 11 s with a live campaign: ${c.list}`);
      await page.getByLabel("Status").selectOption("completed");
      await until("only Done", async () => JSON.stringify(await cardNames(page)) === JSON.stringify(["Done"]));
      c = await countRequests(page, () => wait(11_000));
      assert.equal(c.list, 0, "no live campaign shown: no refresh");
    },
    undefined,
    user,
  );
});
