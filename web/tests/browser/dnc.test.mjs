// The do-not-call page (the API's /dnc routes) in Chromium, and its effect: a listed number in
// a campaign's file is imported as skipped and never called.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, sim, startDev, tempFiles, until, withPage } from "./harness.mjs";
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

test("the agents and do-not-call lists page (20 and 50 a page); an agent created on a later page starts again at the first", async () => {
  await withPage(chrome, dev, "pages", async ({ page, user, errors }) => {
    const api = await apiAs(dev, user);
    for (let i = 1; i <= 21; i++) await api.post("/agents", { name: `Agent ${String(i).padStart(2, "0")}`, prompt_text: "p" });
    const day = daytime();
    const fd = new FormData();
    fd.append("file", new Blob([`phone\n${Array.from({ length: 51 }, (_, i) => day.number(200 + i)).join("\n")}\n`]), "dnc.csv");
    const res = await fetch(`${dev.url}/dnc/upload`, { method: "POST", headers: { Authorization: `Bearer ${api.token}` }, body: fd });
    assert.equal(res.status, 200, await res.text());

    await page.getByRole("link", { name: "Agents" }).click();
    const agents = () => page.locator(".agent-list li h2").allTextContents();
    await until("the first 20 agents", async () => (await agents()).length === 20);
    const first = await agents();
    const pager = page.getByRole("navigation", { name: "Pages" });
    await pager.getByRole("button", { name: "Next" }).click();
    await until("the 21st agent", async () => (await agents()).length === 1);
    assert.ok(!first.includes((await agents())[0]));
    assert.ok(await pager.getByRole("button", { name: "Next" }).isDisabled());
    // Creating an agent from page 2 starts again at page 1 (agents are listed oldest first: the
    // new one is on page 2, after Agent 21).
    await page.getByLabel("Agent name").fill("Agent 22");
    await page.getByLabel("Prompt").fill("p");
    await page.getByRole("button", { name: "Create agent" }).click();
    await pager.getByText("Page 1").waitFor();
    await until("page 1 again", async () => JSON.stringify(await agents()) === JSON.stringify(first));
    await pager.getByRole("button", { name: "Next" }).click();
    await until("both later agents on page 2", async () => JSON.stringify((await agents()).sort()) === JSON.stringify(["Agent 21", "Agent 22"]));

    await page.getByRole("link", { name: "Do not call" }).click();
    const numbers = () => page.locator("table[aria-label='Do-not-call numbers'] tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-phone")));
    await until("the first 50 numbers", async () => (await numbers()).length === 50);
    const firstNumbers = await numbers();
    await pager.getByRole("button", { name: "Next" }).click();
    await until("the 51st number", async () => (await numbers()).length === 1);
    assert.ok(!firstNumbers.includes((await numbers())[0]));
    await pager.getByRole("button", { name: "Previous" }).click();
    await until("page 1 again", async () => JSON.stringify(await numbers()) === JSON.stringify(firstNumbers));
    assert.deepEqual(errors, []);
  });
});
