// The do-not-call page (the API's /dnc routes) in Chromium, and its effect: a listed number in
// a campaign's file is imported as skipped and never called.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { daytime, launchBrowser, sim, startDev, tempFiles, until, withPage } from "./harness.mjs";
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

test("do not call: add (with a field error for a bad number), upload a file, remove; a listed contact is skipped, never called", async () => {
  await withPage(chrome, dev, "dnc", async ({ page, errors }) => {
    const day = daytime();
    const [listed, other, fromFile1, fromFile2] = [85, 86, 87, 88].map(day.number);
    await page.getByRole("link", { name: "Do not call" }).click();
    await page.getByRole("heading", { level: 1, name: "Do not call" }).waitFor();
    await page.getByText("The list is empty.").waitFor();
    const rows = () => page.locator("table[aria-label='Do-not-call numbers'] tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-phone")));

    await page.getByLabel("Phone number").fill("12");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator("#dnc-phone-error").waitFor();
    assert.equal(await page.getByLabel("Phone number").getAttribute("aria-invalid"), "true");

    await page.getByLabel("Phone number").fill(listed);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await until("the number to be listed", async () => JSON.stringify(await rows()) === JSON.stringify([listed]));

    await page.locator("#dnc-file").setInputFiles(files.write("dnc.csv", `phone\n${fromFile1}\n${fromFile2}\nnot a number\n`));
    await page.getByTestId("dnc-upload-result").waitFor();
    assert.match(await page.getByTestId("dnc-upload-result").textContent(), /Added 2 numbers/);
    await until("three numbers listed", async () => (await rows()).length === 3);

    await page.getByRole("button", { name: `Remove ${fromFile2}` }).click();
    await page.getByRole("dialog", { name: "Remove from the list?" }).getByRole("button", { name: "Remove" }).click();
    await until("the removed number to be gone", async () => !(await rows()).includes(fromFile2));

    // A campaign with a listed number: imported as skipped, and the simulator never dials it.
    const csv = files.write("c.csv", `phone,name\n${listed},Listed\n${other},Other\n`);
    await createThroughUi(page, { file: csv, name: "With a listed number", zone: day.zone, expectFound: 2, pacing: "0" });
    await page.getByRole("button", { name: "Start" }).click();
    await until("the campaign to complete", async () => (await badge(page)) === "completed", 120_000);
    await until("the listed contact's row to say skipped", async () => (await page.locator(`tr[data-phone="${listed}"] .chip`).textContent()) === "skipped");
    const called = (await sim.calls(dev)).map((c) => c.to);
    assert.ok(!called.includes(listed), "a listed number was called");
    assert.ok(called.includes(other));
    assert.deepEqual(errors, []);
  });
});
