// The compliance features in the dashboard (issue 10), in Chromium against `campaigns dev` and
// the Twilio simulator: each attempt's audit (why the call was allowed) in the contact's
// attempts dialog.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, seriousA11yViolations, sim, startDev, tempFiles, until, withPage } from "./harness.mjs";
import { badge, createThroughUi } from "./helpers.mjs";

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
      extra: async (p) => {
        await p.getByLabel("Retries per contact").fill("1");
        await p.getByLabel("Wait before each retry (hours)").fill("0.0003");
      },
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
