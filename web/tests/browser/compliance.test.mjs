// The compliance features in the dashboard (issue 10), in Chromium against `campaigns dev` and
// the Twilio simulator: each attempt's audit (why the call was allowed) in the contact's
// attempts dialog; the dry run (the simulated schedule) beside Start.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, night, seriousA11yViolations, sim, startDev, tempFiles, until, withPage } from "./harness.mjs";
import { badge, callsTo, createThroughUi, oneQuickRetry } from "./helpers.mjs";

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

const LABELS = {
  blocked_dates: "Blocked dates",
  business_hours: "Business hours",
  unknown_timezone: "Unknown time zone",
  recipient_window: "Recipient's hours",
  state_rule: "State rule",
  do_not_call: "Do not call",
  frequency_cap: "Frequency cap",
};

test("the attempts dialog shows why each call was allowed: local time per zone with its sources, each rule's verdict, the cap's count", async () => {
  await withPage(chrome, dev, "audit", async ({ page, user, errors }) => {
    const day = daytime();
    const [flaky, fine] = [60, 61].map(day.number);
    // Flaky: no answer, then answered on its retry: two dials, the second one counted against the
    // cap with the first. Its file names its zone too (a second source for the same zone).
    await sim.script(dev, { default: { outcome: "completed" }, [flaky]: [{ outcome: "no-answer", ring: 2 }, { outcome: "completed", duration: 12 }] });
    const csv = files.write("audit.csv", `phone,name,timezone\n${flaky},Flaky,${day.zone}\n${fine},Fine,\n`);
    const id = await createThroughUi(page, {
      file: csv,
      name: "Audited",
      zone: day.zone,
      expectFound: 2,
      pacing: "0",
      extra: oneQuickRetry,
    });
    await page.getByRole("button", { name: "Start" }).click();
    await until("the campaign to complete", async () => (await badge(page)) === "completed", 180_000);
    const row = page.locator(`tr[data-phone="${flaky}"]`);
    await until("Flaky's row to show two attempts", async () => (await row.locator("td").nth(4).textContent()) === "2");

    // What the API recorded for each dial (the UI must show it, readably).
    const api = await apiAs(dev, user);
    const { attempts } = await api.get(`/campaigns/${id}/attempts?phone=${encodeURIComponent(flaky)}`);
    assert.equal(attempts.length, 2);
    assert.ok(attempts.every((a) => a.audit), "every dial carries its audit");

    await row.getByRole("button").click();
    const dialog = page.getByRole("dialog", { name: "Flaky: call attempts" });
    for (const a of attempts) {
      const section = dialog.getByRole("region", { name: `Why call ${a.attempt} was allowed` });
      await section.waitFor();
      const text = await section.innerText();
      assert.doesNotMatch(text, /[{}"]/, "readable, not raw JSON");
      // The recipient's local time in each plausible zone, with its sources.
      assert.ok(a.audit.zones.length >= 1);
      for (const z of a.audit.zones) {
        const li = section.locator(`li[data-zone="${z.zone}"]`);
        const t = await li.innerText();
        assert.ok(t.includes(z.local_time.slice(0, 10)) && t.includes(z.local_time.slice(11, 16)), `${z.zone}: ${t} shows ${z.local_time}`);
        assert.ok(t.includes(z.zone), t);
      }
      const named = a.audit.zones.find((z) => z.zone === day.zone);
      assert.ok(named, `${day.zone} among ${a.audit.zones.map((z) => z.zone)}`);
      assert.match(await section.locator(`li[data-zone="${day.zone}"]`).innerText(), /time zone column/);
      // Each rule with its verdict: every one allowed this dial.
      const rules = section.getByRole("table", { name: `Rules checked for call ${a.attempt}` });
      const shown = await rules.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [tr.getAttribute("data-rule"), tr.querySelector("th").textContent, tr.querySelector(".chip").textContent]));
      assert.deepEqual(
        shown,
        a.audit.rules.map((r) => [r.rule, LABELS[r.rule], r.verdict]),
      );
      assert.ok(shown.every(([, , v]) => v === "allowed"), JSON.stringify(shown));
      for (const rule of ["recipient_window", "business_hours", "blocked_dates", "do_not_call", "frequency_cap"]) assert.ok(shown.some(([r]) => r === rule), `${rule} checked`);
      // The cap's count: the calls to this number before this one.
      const cap = a.audit.rules.find((r) => r.rule === "frequency_cap").calls;
      assert.equal(cap.in_24h, a.attempt - 1, `call ${a.attempt}: the earlier dials counted`);
      assert.match(await section.getByTestId(`cap-${a.attempt}`).innerText(), new RegExp(`^${cap.in_24h} of ${cap.max_24h} in 24 h`));
    }
    assert.deepEqual(await seriousA11yViolations(page), []);
    await dialog.getByRole("button", { name: "Close" }).click();
    assert.deepEqual(errors, []);
  });
});


test("preview the schedule before Start: completion estimate, who would be called (their local time), wait and be skipped and why; nothing dialed", async () => {
  await withPage(chrome, dev, "simulate", async ({ page, user, errors }) => {
    const day = daytime();
    const late = night();
    const [ann, bob, dee] = [70, 71, 72].map(day.number);
    const lee = late.number(73);
    const csv = files.write("simulate.csv", `phone,name\n${ann},Ann\n${bob},Bob\n${dee},Dee\n${lee},Lee\n`);
    const id = await createThroughUi(page, { file: csv, name: "Dry run", zone: day.zone, expectFound: 4, pacing: "5" });
    // Dee joins the do-not-call list after the import: the dry run checks the list as the dialer does.
    const api = await apiAs(dev, user);
    await api.post("/dnc", { phone: dee });

    await page.getByRole("button", { name: "Preview the schedule" }).click();
    const dialog = page.getByRole("dialog", { name: "Simulated schedule" });
    const table = dialog.getByRole("table", { name: "Simulated schedule" });
    await table.waitFor();
    const text = async (testId) => (await dialog.getByTestId(testId).innerText()).trim();
    // The same question through the API, for the figures (its start is a moment later: now).
    const dry = await api.post(`/campaigns/${id}/simulate`, { limit: 20 });
    assert.equal(dry.summary.called, 3);
    assert.equal(dry.summary.skipped, 1);

    // The completion estimate: after Lee's window opens (08:00 in Lee's zone), as the API says.
    const completes = await dialog.getByTestId("sim-completes").locator("time").getAttribute("datetime");
    assert.ok(Math.abs(Date.parse(completes) - Date.parse(dry.completes_at)) < 120_000, `${completes} vs ${dry.completes_at}`);
    assert.ok(Date.parse(completes) > Date.now() + 60_000, "the night contact waits for its morning");
    // The counts, with their reasons.
    assert.match(await text("sim-called"), /^3 of 4 contacts, \d+ calls/);
    assert.match(await text("sim-waited"), /1 for recipient's hours/);
    assert.match(await text("sim-skipped"), /1: .*do-not-call/);
    // The schedule's rows: each contact's first call in the recipient's local time.
    const rows = await table.locator("tbody tr").evaluateAll((trs) =>
      trs.map((tr) => ({ phone: tr.getAttribute("data-phone"), cells: [...tr.querySelectorAll("td")].map((td) => td.innerText.trim()) })),
    );
    assert.deepEqual(rows.map((r) => r.phone), [ann, bob, dee, lee]);
    const byPhone = Object.fromEntries(dry.contacts.map((c) => [c.phone, c]));
    for (const r of rows) {
      const plan = byPhone[r.phone];
      if (plan.calls.length === 0) continue;
      for (const l of plan.calls[0].local) assert.ok(r.cells[2].includes(l.zone), `${r.phone}: ${r.cells[2]} names ${l.zone}`);
    }
    const hhmm = (cell) => cell.match(/\d{4}-\d{2}-\d{2} (\d{2}):(\d{2})/).slice(1).map(Number);
    const [h] = hhmm(rows[3].cells[2]);
    assert.ok(h >= 8 && h < 21, `Lee's first call at ${rows[3].cells[2]}: inside 08:00-21:00 in Lee's zone`);
    assert.match(rows[3].cells[5], /waits for recipient's hours/);
    assert.equal(rows[2].cells[4], "skipped");
    assert.match(rows[2].cells[5], /do-not-call/);
    assert.equal(rows[2].cells[2], "—");
    assert.match(rows[0].cells[4], /^called/);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await dialog.getByRole("button", { name: "Close" }).click();

    // A dry run: nothing dialed, nothing changed; Start is still there.
    assert.equal(callsTo(await sim.calls(dev), [ann, bob, dee, lee]).length, 0);
    const c = await api.get(`/campaigns/${id}`);
    assert.equal(c.state, "draft");
    assert.equal(c.stats.calls_placed, 0);
    await page.getByRole("button", { name: "Start" }).waitFor();
    assert.deepEqual(errors, []);
  });
});
