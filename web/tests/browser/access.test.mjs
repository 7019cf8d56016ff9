// Who sees what, accessibility (axe-core: no serious or critical violation on any page), the
// keyboard, and a phone's width.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { apiAs, daytime, launchBrowser, seriousA11yViolations, startDev, tempFiles, uniqueUser, until, withPage } from "./harness.mjs";
import { createThroughApi, openCreate } from "./helpers.mjs";

let dev, chrome, files, owner, ownerCampaign;
before(async () => {
  dev = await startDev();
  chrome = await launchBrowser();
  files = tempFiles();
  // A campaign of another user, with contacts that were called.
  owner = uniqueUser("owner");
  const api = await apiAs(dev, owner);
  const day = daytime();
  ownerCampaign = await createThroughApi(dev, api, { name: "Owner's campaign", csv: `phone,name,company\n${day.number(80)},Ann,Acme\n${day.number(81)},Bob,Initech\n`, zone: day.zone });
  await api.post(`/campaigns/${ownerCampaign}/start`);
  await until("the owner's campaign to complete", async () => (await api.get(`/campaigns/${ownerCampaign}`)).state === "completed", 120_000);
});
after(async () => {
  await chrome?.close();
  await dev?.stop();
  files?.cleanup();
});

test("another user's campaign is invisible: not listed, and its page says not found", async () => {
  await withPage(chrome, dev, "intruder", async ({ page, errors }) => {
    await page.getByText("No campaigns yet.").waitFor();
    assert.equal(await page.locator(".campaign-card").count(), 0);
    await page.goto(`${dev.url}/#/campaigns/${ownerCampaign}`);
    await page.getByRole("heading", { level: 1, name: "Campaign not found" }).waitFor();
    assert.doesNotMatch(await page.locator("body").innerText(), /Owner's campaign|Ann|Initech/);
    // Nor its calls on Recent Calls.
    await page.goto(page.url().replace(/#.*$/, "#/calls"));
    await page.getByText("No calls yet.").waitFor();
    assert.doesNotMatch(await page.locator("main").innerText(), new RegExp(`Owner's campaign|Ann|${daytime().number(80).replace("+", "\\+")}`));
    assert.deepEqual(errors, []);
  });
  // The owner does see it.
  const page = await chrome.browser.newPage();
  await page.goto(`${dev.url}/?user=${owner}#/`);
  await page.getByRole("link", { name: "Owner's campaign", exact: true }).waitFor();
  await page.close();
});

async function assertAccessible(page, where) {
  const v = await seriousA11yViolations(page);
  assert.deepEqual(v, [], `${where}: ${JSON.stringify(v, null, 1)}`);
}

test("axe-core finds no serious or critical violation on any page, dialogs included", async () => {
  const page = await chrome.browser.newPage();
  await page.goto(`${dev.url}/?user=${owner}#/`);
  await page.locator(".campaign-card").first().waitFor();
  await assertAccessible(page, "campaigns");
  await page.goto(`${dev.url}/?user=${owner}#/calls`);
  await page.locator("table.calls tbody tr").first().waitFor();
  await assertAccessible(page, "recent calls");
  await page.goto(`${dev.url}/?user=${owner}#/campaigns/${ownerCampaign}`);
  await page.locator("tr[data-phone]").first().waitFor();
  await assertAccessible(page, "campaign detail");
  await page.locator("tr[data-phone]").first().getByRole("button").click();
  await page.getByRole("table", { name: "Attempts" }).waitFor();
  await assertAccessible(page, "attempts dialog");
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("dialog", { name: "Delete this campaign?" }).waitFor();
  await assertAccessible(page, "delete dialog");
  await page.getByRole("button", { name: "Keep it" }).click();
  await page.goto(`${dev.url}/?user=${owner}#/agents`);
  await page.locator(".agent-list li").first().waitFor();
  await assertAccessible(page, "agents");
  await openCreate(page);
  const day = daytime();
  await page.locator("#f-file").setInputFiles(files.write("a.csv", `phone,name\n${day.number(90)},Ann\nbad,Bob\n`));
  await page.getByTestId("preview").waitFor();
  await page.getByLabel("Only call during business hours").check();
  await page.locator("#f-pacing").fill("99999");
  await page.getByRole("button", { name: "Create campaign" }).click();
  await page.locator("#f-pacing-error").waitFor();
  await assertAccessible(page, "create form with preview and a field error");
  await (await apiAs(dev, owner)).post("/dnc", { phone: day.number(91) });
  await page.goto(`${dev.url}/?user=${owner}#/dnc`);
  await page.getByRole("heading", { level: 1, name: "Do not call" }).waitFor();
  await page.locator("table[aria-label='Do-not-call numbers'] tbody tr").first().waitFor();
  await assertAccessible(page, "do not call");
  await page.getByRole("button", { name: `Remove ${day.number(91)}` }).click();
  await page.getByRole("dialog", { name: "Remove from the list?" }).waitFor();
  await assertAccessible(page, "do not call: remove dialog");
  await page.getByRole("button", { name: "Keep it" }).click();
  await page.goto(`${dev.url}/?user=${owner}#/nowhere`);
  await page.getByRole("heading", { level: 1, name: "Page not found" }).waitFor();
  await assertAccessible(page, "page not found");
  await page.goto(`${dev.url}/?user=${uniqueUser("empty")}#/`);
  await page.getByText("No campaigns yet.").waitFor();
  await assertAccessible(page, "campaigns, empty");
  await page.close();
});

test("the keyboard: skip link, navigation, and the delete dialog (Escape closes it, focus stays on the page)", async () => {
  const page = await chrome.browser.newPage();
  await page.goto(`${dev.url}/?user=${owner}#/`);
  await page.locator(".campaign-card").first().waitFor();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Skip to content");
  // Tab to the card's View link and open it with Enter.
  const view = page.getByRole("link", { name: "View Owner's campaign" });
  for (let i = 0; i < 30 && !(await view.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Owner's campaign" }).waitFor();
  await page.getByRole("button", { name: "Delete" }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Delete this campaign?" });
  await dialog.waitFor();
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  await page.close();
});

test("a phone's width (390 px): no page is wider than the screen, with and without content; the create form is usable", async () => {
  // Nothing may stick out past the screen's right edge: neither the document (sideways scroll)
  // nor any element of the page (a box cut off where the page hides its overflow). What scrolls
  // inside its own box (a wide table's .table-wrap, the top bar's links) is not counted, but
  // that box must itself fit.
  const sticksOut = (p) =>
    p.evaluate(() => {
      const bad = [];
      if (document.documentElement.scrollWidth > window.innerWidth + 1) bad.push(`the document is ${document.documentElement.scrollWidth} px wide`);
      for (const el of document.querySelectorAll("body *")) {
        let scroller = false;
        for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) if (["auto", "scroll"].includes(getComputedStyle(a).overflowX)) scroller = true;
        if (scroller) continue;
        if (el.closest("dialog:not([open])")) continue;
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > window.innerWidth + 1) bad.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.className ? "." + String(el.className).split(" ").join(".") : ""} ends at ${Math.round(r.right)} px`);
      }
      return bad.slice(0, 5);
    });
  await withPage(
    chrome,
    dev,
    "phone",
    async ({ page }) => {
      // A new user: the empty pages.
      for (const hash of ["#/", "#/calls", "#/agents", "#/campaigns/new", "#/dnc"]) {
        await page.goto(page.url().replace(/#.*$/, hash));
        await page.locator("main h1").waitFor();
        assert.deepEqual(await sticksOut(page), [], `${hash} (empty)`);
      }
    },
    { width: 390, height: 844 },
  );
  // The owner: every page with content (cards, a campaign with its contacts, agents, a
  // do-not-call list, a preview).
  const day = daytime();
  await (await apiAs(dev, owner)).post("/dnc", { phone: day.number(96) }).catch(() => {});
  const p = await chrome.browser.newPage({ viewport: { width: 390, height: 844 } });
  const pages = [
    ["#/", ".campaign-card"],
    ["#/calls", "table.calls tbody tr"],
    [`#/campaigns/${ownerCampaign}`, "tr[data-phone]"],
    ["#/agents", ".agent-list li"],
    ["#/dnc", "table[aria-label='Do-not-call numbers'] tbody tr"],
  ];
  for (const [hash, ready] of pages) {
    await p.goto(`${dev.url}/?user=${owner}${hash}`);
    await p.locator(ready).first().waitFor();
    assert.deepEqual(await sticksOut(p), [], hash);
  }
  await openCreate(p);
  await p.locator("#f-file").setInputFiles(files.write("phone.csv", `phone,name,company\n${day.number(97)},Ann,Acme\nbad,Bob,Initech\n`));
  await p.getByTestId("preview").waitFor();
  assert.deepEqual(await sticksOut(p), [], "the create form with its preview");
  await p.close();
});

test("the page runs under a Content-Security-Policy that refuses inline scripts and other origins", async () => {
  const page = await chrome.browser.newPage();
  const refused = [];
  page.on("console", (m) => /Content Security Policy/.test(m.text()) && refused.push(m.text()));
  const res = await page.goto(`${dev.url}/?user=${owner}#/`);
  assert.match(res.headers()["content-security-policy"] ?? "", /script-src 'self'/);
  await page.locator(".campaign-card").first().waitFor();
  const ran = await page.evaluate(async () => {
    const s = document.createElement("script");
    s.textContent = "window.__inline = 1";
    document.body.appendChild(s);
    let fetched = true;
    try {
      await fetch("https://example.invalid/x");
    } catch {
      fetched = false;
    }
    return { inline: window.__inline === 1, fetched };
  });
  assert.deepEqual(ran, { inline: false, fetched: false });
  await until("the refusals to be reported", async () => refused.length >= 2, 10_000);
  await page.close();
});

test("the README's URL as printed (no ?user): signed in as the local user alice, ready to create", async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${dev.url}/`);
  await page.getByRole("heading", { level: 1, name: "Campaigns" }).waitFor();
  assert.equal(await page.getByTestId("user").textContent(), "alice (local)");
  await page.getByRole("link", { name: "New campaign" }).first().click();
  await page.getByRole("heading", { level: 1, name: "New campaign" }).waitFor();
  await context.close();
});
