// The create form in Chromium: the preview's error display, the column override, an API field
// error next to its field, and a file bigger than the inline cap going through the presigned
// upload with its progress.
import { after, before, test } from "node:test";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, startDev, tempFiles, until, withPage } from "./harness.mjs";
import { openCreate } from "./helpers.mjs";
import { xlsx } from "./xlsx.mjs";

const INLINE_CAP = 16 * 1024;
let dev, chrome, files;
before(async () => {
  dev = await startDev({ maxInline: INLINE_CAP });
  chrome = await launchBrowser();
  files = tempFiles();
});
after(async () => {
  await chrome?.close();
  await dev?.stop();
  files?.cleanup();
});

test("the preview shows invalid rows with their numbers and reasons, duplicates, and a file it cannot read", async () => {
  await withPage(chrome, dev, "preview", async ({ page, errors }) => {
    const day = daytime();
    await openCreate(page);
    // Dropped on the drop zone, as a user drags a file from their desktop.
    const text = `phone,name\n${day.number(1)},Ann\nnot a number,Bob\n${day.number(2)},Cy\n${day.number(1)},Ann again\n12,Dee\n`;
    const dt = await page.evaluateHandle((t) => {
      const d = new DataTransfer();
      d.items.add(new File([t], "mixed.csv", { type: "text/csv" }));
      return d;
    }, text);
    await page.locator(".dropzone").dispatchEvent("dragover", { dataTransfer: dt });
    await page.locator(".dropzone").dispatchEvent("drop", { dataTransfer: dt });
    await page.getByText(/mixed\.csv \(\d+ B\)/).waitFor();
    await until("the preview", async () => (await page.getByTestId("pv-imported").textContent()) === "2");
    assert.equal(await page.getByTestId("pv-duplicates").textContent(), "1");
    assert.equal(await page.getByTestId("pv-invalid").textContent(), "2");
    const rejected = await page.getByRole("table", { name: "Rows that will not be imported" }).locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    assert.deepEqual(rejected.map((r) => r[0]), ["3", "5", "6"], JSON.stringify(rejected));
    assert.ok(rejected.every((r) => r[2].length > 3), JSON.stringify(rejected));
    // A file without a phone column: the API's message, shown where the preview would be.
    const noPhone = files.write("nophone.csv", "first,last\nAnn,Lee\nBob,Stone\n");
    await page.locator("#f-file").setInputFiles(noPhone);
    const err = page.getByTestId("preview-error");
    await err.waitFor();
    assert.match(await err.textContent(), /phone/i);
    assert.deepEqual(errors, []);
  });
});

test("the column override: picking another phone and name column changes the preview and what is imported", async () => {
  await withPage(chrome, dev, "columns", async ({ page, user, errors }) => {
    const day = daytime();
    const [a1, a2, b1, b2] = [60, 61, 62, 63].map(day.number);
    await openCreate(page);
    const csv = files.write("two.csv", `phone,backup,name,nickname\n${a1},${b1},Ann Lee,Annie\n${a2},${b2},Bob Stone,Bobby\n`);
    await page.locator("#f-file").setInputFiles(csv);
    await until("the preview", async () => (await page.getByTestId("pv-imported").textContent()) === "2");
    const firstPhones = async () => page.getByRole("table", { name: "First rows" }).locator("tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual(await firstPhones(), [a1, a2]);
    await page.getByLabel("Phone column").selectOption("backup");
    await page.getByLabel("Name column").selectOption("nickname");
    await until("the preview to use the backup column", async () => JSON.stringify(await firstPhones()) === JSON.stringify([b1, b2]));
    assert.match(await page.getByTestId("preview").textContent(), /Phone column: backup/);
    await page.getByLabel("Time zone").fill(day.zone);
    await page.getByLabel("Name (optional)").fill("Override");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { level: 1, name: "Override" }).waitFor();
    const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
    const contacts = (await (await apiAs(dev, user)).get(`/campaigns/${id}/contacts`)).contacts;
    assert.deepEqual(contacts.map((c) => [c.phone, c.name]).sort(), [[b1, "Annie"], [b2, "Bobby"]].sort());
    assert.deepEqual(errors, []);
  });
});

test("the pacing slider (5-60 s) and its number field (0-3600); an API field error appears next to its field (pacing over 3600 s), and the form can be fixed", async () => {
  await withPage(chrome, dev, "fielderr", async ({ page, errors }) => {
    const day = daytime();
    await openCreate(page);
    await page.locator("#f-file").setInputFiles(files.write("one.csv", `phone\n${day.number(70)}\n`));
    await until("the preview", async () => (await page.getByTestId("pv-imported").textContent()) === "1");
    await page.getByLabel("Time zone").fill(day.zone);
    await page.locator("#f-pacing").fill("5000");
    await page.getByRole("button", { name: "Create campaign" }).click();
    const fieldError = page.locator("#f-pacing-error");
    await fieldError.waitFor();
    assert.match(await fieldError.textContent(), /3600|delay/i);
    assert.equal(await page.locator("#f-pacing").getAttribute("aria-invalid"), "true");
    assert.match(await page.locator("#f-pacing").getAttribute("aria-describedby"), /f-pacing-error/);
    // The slider covers 5-60 s and moves the number; a typed number outside it pins the slider
    // to its end; a typed value the slider does not reach is fine.
    const slider = page.getByRole("slider", { name: /Seconds between calls/ });
    assert.deepEqual([await slider.getAttribute("min"), await slider.getAttribute("max")], ["5", "60"]);
    await slider.fill("42");
    assert.equal(await page.locator("#f-pacing").inputValue(), "42");
    await slider.focus();
    await page.keyboard.press("ArrowRight");
    assert.equal(await page.locator("#f-pacing").inputValue(), "43");
    await page.locator("#f-pacing").fill("0");
    assert.equal(await slider.inputValue(), "5");
    await page.locator("#f-pacing").fill("90");
    assert.equal(await slider.inputValue(), "60");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.locator("section[data-campaign-id]").waitFor();
    await page.getByText("90 s between calls").waitFor();
    // No name given: the campaign is named after its creation date, as in the summary's cards.
    await page.getByRole("heading", { level: 1, name: /^Campaign [A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2} [AP]M$/ }).waitFor();
    assert.deepEqual(errors, []);
  });
});

test("a file over the inline cap goes to storage through the presigned upload, with upload and import progress; the contacts table pages", async () => {
  await withPage(chrome, dev, "bigfile", async ({ page, user, errors }) => {
    const day = daytime();
    const n = 800;
    const rows = Array.from({ length: n }, (_, i) => `${day.number(i)},Person number ${i},Some company with a long name ${i % 17},notes for row ${i}`);
    const csv = files.write("big.csv", `phone,name,company,notes\n${rows.join("\n")}\n`);
    await openCreate(page);
    await page.locator("#f-file").setInputFiles(csv);
    // The preview reads the first part of the file (under the cap).
    await page.getByRole("heading", { name: "Preview (first part of the file)" }).waitFor();
    await page.getByLabel("Time zone").fill(day.zone);
    await page.getByLabel("Name (optional)").fill("Big file");
    // The upload throttled to 32 KB/s (Chromium's network emulation), so that its progress has
    // time to show; every value the two progress bars take is recorded as the page draws it.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 32 * 1024 });
    await page.evaluate(() => {
      const seen = (window.__progress = { upload: [], import: [] });
      new MutationObserver(() => {
        const up = document.getElementById("upload-progress");
        if (up && seen.upload.at(-1) !== up.value) seen.upload.push(up.value);
        const im = document.getElementById("import-progress");
        if (im) seen.import.push(im.closest("[role=status]")?.textContent ?? "");
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    });
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { level: 1, name: "Big file" }).waitFor({ timeout: 120_000 });
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
    const api = await apiAs(dev, user);
    // The create page followed the import to its end before opening the campaign.
    const c = await api.get(`/campaigns/${id}`);
    assert.equal(c.import.state, "imported");
    assert.equal(c.stats.total, n);
    const seen = await page.evaluate(() => window.__progress);
    assert.ok(seen.upload.some((v) => v > 0 && v < 100), `the upload bar moved through intermediate values: ${JSON.stringify(seen.upload)}`);
    assert.equal(seen.upload.at(-1), 100, JSON.stringify(seen.upload));
    assert.ok(seen.import.some((t) => /Importing contacts/.test(t)), `the import's progress showed: ${JSON.stringify(seen.import.slice(-3))}`);
    await until("the page to show every contact", async () => /\/800 \(0%\)/.test(await page.locator(".detail-head .progress-text").textContent()), 60_000);
    // The contacts table pages through them, 25 at a time.
    const phones = () => page.locator("table.contacts tbody tr[data-phone]").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-phone")));
    const pager = page.getByRole("navigation", { name: "Contact pages" });
    await until("the first page of contacts", async () => (await phones()).length === 25);
    const first = await phones();
    await pager.getByRole("button", { name: "Next" }).click();
    await pager.getByText("Page 2").waitFor();
    await until("the second page", async () => (await phones()).length === 25 && !(await phones()).includes(first[0]));
    assert.equal(new Set([...first, ...(await phones())]).size, 50, "two pages, fifty different contacts");
    await pager.getByRole("button", { name: "Previous" }).click();
    await until("the first page again", async () => JSON.stringify(await phones()) === JSON.stringify(first));
    assert.ok(await pager.getByRole("button", { name: "Previous" }).isDisabled());
    assert.deepEqual(errors, []);
    // Deleting the campaign removes its file from the (shared) upload bucket too.
    await api.del(`/campaigns/${id}`);
  });
});

test("a start time is read in the campaign's time zone, and a campaign started before it shows as scheduled", async () => {
  await withPage(chrome, dev, "sched", async ({ page, user, errors }) => {
    const day = daytime();
    await openCreate(page);
    await page.locator("#f-file").setInputFiles(files.write("s.csv", `phone\n${day.number(75)}\n`));
    await until("the preview", async () => (await page.getByTestId("pv-imported").textContent()) === "1");
    await page.getByLabel("Name (optional)").fill("Later");
    // The zone is searchable: typing part of a name offers the IANA names that contain it.
    await page.getByLabel("Time zone").fill("New_Y");
    assert.ok((await page.locator("#f-timezone-list option").evaluateAll((os) => os.map((o) => o.value))).includes("America/New_York"));
    await page.getByLabel("Time zone").fill("America/New_York");
    const year = new Date().getUTCFullYear() + 1;
    await page.getByLabel(/Start time/).fill(`${year}-01-15T09:30`);
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { level: 1, name: "Later" }).waitFor();
    const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
    const api = await apiAs(dev, user);
    // 09:30 in New York in January (EST, UTC-5) is 14:30 UTC.
    assert.equal((await api.get(`/campaigns/${id}`)).settings.scheduled_start_time, `${year}-01-15T14:30:00Z`);
    await page.getByRole("button", { name: "Start" }).click();
    await until("the badge to say scheduled", async () => (await page.locator(".detail-head .badge").textContent()) === "scheduled");
    await page.getByText(/Scheduled: calls start at/).waitFor();
    assert.deepEqual(errors, []);
  });
});

test("spreadsheets: an XLSX, an ODS and an XLS file are previewed and imported like a CSV", async () => {
  await withPage(chrome, dev, "sheets", async ({ page, user, errors }) => {
    const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "tests", "fixtures");
    // The XLSX is made here, shaped like the ODS and XLS fixtures: two good rows, one bad.
    const day = daytime();
    const book = files.write("contacts.xlsx", xlsx([["Name", "Mobile", "Company"], ["Ann Lee", day.number(78), "Acme"], ["Bob Stone", "not a number", "Initech"], ["Cy Twombly", day.number(79), "Globex"]]));
    for (const [name, path] of [["contacts.xlsx", book], ["contacts.ods", join(fixtures, "contacts.ods")], ["contacts.xls", join(fixtures, "contacts.xls")]]) {
      await openCreate(page);
      await page.locator("#f-file").setInputFiles(path);
      await until(`the preview of ${name}`, async () => (await page.getByTestId("pv-imported").textContent()) === "2", 60_000);
      assert.equal(await page.getByTestId("pv-invalid").textContent(), "1");
      assert.match(await page.getByTestId("preview").textContent(), /Phone column: Mobile; name column: Name/);
      await page.getByLabel("Name (optional)").fill(name);
      await page.getByLabel("Time zone").fill("UTC");
      await page.getByRole("button", { name: "Create campaign" }).click();
      await page.getByRole("heading", { level: 1, name }).waitFor();
      const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
      const c = await (await apiAs(dev, user)).get(`/campaigns/${id}`);
      assert.equal(c.stats.total, 2, name);
      if (path === book) {
        const contacts = (await (await apiAs(dev, user)).get(`/campaigns/${id}/contacts`)).contacts;
        assert.deepEqual(contacts.map((x) => [x.phone, x.name, x.metadata.company]).sort(), [[day.number(78), "Ann Lee", "Acme"], [day.number(79), "Cy Twombly", "Globex"]].sort());
      }
    }
    assert.deepEqual(errors, []);
  });
});

test("per-contact rules: the contacts' hours (an early start is refused beside its field), blocked dates, frequency cap; retry policy and calls at once", async () => {
  await withPage(chrome, dev, "rules", async ({ page, user, errors }) => {
    const day = daytime();
    await openCreate(page);
    await page.locator("#f-file").setInputFiles(files.write("r.csv", `phone\n${day.number(77)}\n`));
    await until("the preview", async () => (await page.getByTestId("pv-imported").textContent()) === "1");
    await page.getByLabel("Name (optional)").fill("Rules");
    await page.getByLabel("Time zone", { exact: true }).fill(day.zone);
    await page.locator("#f-recipient").fill("07:00");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.locator("#f-recipient-error").waitFor();
    await page.locator("#f-recipient").fill("09:00");
    await page.locator("#f-recipient-to").fill("18:00");
    await page.locator("#f-blocked").fill("2030-12-25, 2031-01-01");
    await page.locator("#f-cap").fill("2");
    await page.locator("#f-cap7").fill("5");
    await page.locator("#f-unknowntz").selectOption("skip");
    // The retry policy and the calls at once.
    await page.getByLabel("Retries per contact").fill("2");
    await page.getByLabel("Wait before each retry (hours)").fill("0.5, 2");
    await page.getByLabel("failed", { exact: true }).uncheck();
    await page.getByLabel("canceled", { exact: true }).check();
    await page.getByLabel("Calls at once").fill("3");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { level: 1, name: "Rules" }).waitFor();
    const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
    const s = (await (await apiAs(dev, user)).get(`/campaigns/${id}`)).settings;
    assert.deepEqual(s.recipient_hours, { start_time: "09:00", end_time: "18:00" });
    assert.deepEqual(s.blocked_dates, ["2030-12-25", "2031-01-01"]);
    assert.equal(s.frequency_cap.per_24h, 2);
    assert.equal(s.frequency_cap.per_7_days, 5);
    assert.equal(s.unknown_timezone, "skip");
    assert.deepEqual(s.retry_policy, { max_retries: 2, backoff_hours: [0.5, 2], retryable_outcomes: ["no-answer", "busy", "canceled"] });
    assert.equal(s.max_concurrent_calls, 3);
    await page.getByText("09:00–18:00 their time").waitFor();
    await page.getByText("2 after 0.5, 2 h, on no-answer, busy, canceled").waitFor();
    assert.deepEqual(errors, []);
  });
});
