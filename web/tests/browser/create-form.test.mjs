// The create form in Chromium: the preview's error display, the column override, an API field
// error next to its field, and a file bigger than the inline cap going through the presigned
// upload with its progress.
import { after, before, test } from "node:test";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, startDev, tempFiles, until, withPage } from "./harness.mjs";
import { openCreate } from "./helpers.mjs";

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

test("an API field error appears next to its field (pacing over 3600 s), and the form can be fixed", async () => {
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
    // A typed value the slider does not reach is fine.
    await page.locator("#f-pacing").fill("90");
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.locator("section[data-campaign-id]").waitFor();
    await page.getByText("90 s between calls").waitFor();
    assert.deepEqual(errors, []);
  });
});

test("a file over the inline cap goes to storage through the presigned upload, with upload and import progress", async () => {
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
    const sawProgress = page.locator("#upload-progress, #import-progress").first().waitFor({ timeout: 60_000 }).then(() => true);
    await page.getByRole("button", { name: "Create campaign" }).click();
    assert.ok(await sawProgress, "an upload or import progress bar was shown");
    await page.getByRole("heading", { level: 1, name: "Big file" }).waitFor({ timeout: 120_000 });
    const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
    const api = await apiAs(dev, user);
    await until("the import to finish", async () => (await api.get(`/campaigns/${id}`)).import.state === "imported", 120_000);
    const c = await api.get(`/campaigns/${id}`);
    assert.equal(c.stats.total, n);
    await until("the page to show every contact", async () => /\/800 \(0%\)/.test(await page.locator(".detail-head .progress-text").textContent()), 60_000);
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

test("spreadsheets: an ODS and an XLS file are previewed and imported like a CSV", async () => {
  await withPage(chrome, dev, "sheets", async ({ page, user, errors }) => {
    const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "tests", "fixtures");
    for (const name of ["contacts.ods", "contacts.xls"]) {
      await openCreate(page);
      await page.locator("#f-file").setInputFiles(join(fixtures, name));
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
    }
    assert.deepEqual(errors, []);
  });
});

test("per-contact rules: the contacts' hours (an early start is refused beside its field), blocked dates, frequency cap", async () => {
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
    await page.getByRole("button", { name: "Create campaign" }).click();
    await page.getByRole("heading", { level: 1, name: "Rules" }).waitFor();
    const id = await page.locator("section[data-campaign-id]").getAttribute("data-campaign-id");
    const s = (await (await apiAs(dev, user)).get(`/campaigns/${id}`)).settings;
    assert.deepEqual(s.recipient_hours, { start_time: "09:00", end_time: "18:00" });
    assert.deepEqual(s.blocked_dates, ["2030-12-25", "2031-01-01"]);
    assert.equal(s.frequency_cap.per_24h, 2);
    assert.equal(s.frequency_cap.per_7_days, 5);
    assert.equal(s.unknown_timezone, "skip");
    await page.getByText("09:00–18:00 their time").waitFor();
    assert.deepEqual(errors, []);
  });
});
