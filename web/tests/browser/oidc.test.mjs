// The deployed sign-in path (config.json mode "oidc", as infra/deploy-web.sh writes it for
// Cognito's hosted UI), against a stand-in OpenID provider run by this test: the page must
// redirect with an S256 code challenge and a state, come back with the code, exchange it with
// the matching verifier, and call the API with the access token it got.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { apiAs, launchBrowser, startDev } from "./harness.mjs";

// The dev server verifies HS256 tokens with its local secret; the stand-in provider signs with
// it, so the API accepts what the provider issues (on AWS the JWT authorizer does this part).
const LOCAL_SECRET = process.env.LOCAL_JWT_SECRET ?? "local-dev-secret";
const b64url = (b) => Buffer.from(b).toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
function jwt(claims) {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600, ...claims }));
  return `${head}.${body}.${b64url(createHmac("sha256", LOCAL_SECRET).update(`${head}.${body}`).digest())}`;
}

let dev, chrome, provider, providerUrl;
const seen = { authorize: [], token: [] };
const codes = new Map();
const SUB = `oidc-${Date.now().toString(36)}`;
/** Send the browser back with another state than it sent (a forged or crossed login response). */
let tamperState = false;

before(async () => {
  dev = await startDev();
  chrome = await launchBrowser();
  provider = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const cors = { "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "content-type" };
    if (req.method === "OPTIONS") return res.writeHead(204, cors).end();
    if (url.pathname === "/authorize") {
      const q = Object.fromEntries(url.searchParams);
      seen.authorize.push(q);
      const code = b64url(randomBytes(16));
      codes.set(code, q);
      const state = tamperState ? `${q.state}x` : q.state;
      res.writeHead(302, { Location: `${q.redirect_uri}?code=${code}&state=${encodeURIComponent(state)}` }).end();
      return;
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        const f = Object.fromEntries(new URLSearchParams(body));
        seen.token.push(f);
        const asked = codes.get(f.code);
        codes.delete(f.code);
        const ok = asked && f.grant_type === "authorization_code" && f.client_id === asked.client_id && f.redirect_uri === asked.redirect_uri && b64url(createHash("sha256").update(f.code_verifier ?? "").digest()) === asked.code_challenge;
        if (!ok) return res.writeHead(400, { ...cors, "Content-Type": "application/json" }).end('{"error":"invalid_grant"}');
        res.writeHead(200, { ...cors, "Content-Type": "application/json" }).end(JSON.stringify({ access_token: jwt({ sub: SUB, client_id: f.client_id }), id_token: jwt({ sub: SUB, email: "ops@example.com" }), token_type: "Bearer", expires_in: 3600 }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => provider.listen(0, "127.0.0.1", r));
  providerUrl = `http://127.0.0.1:${provider.address().port}`;
});
after(async () => {
  await chrome?.close();
  await dev?.stop();
  provider?.close();
});

test("sign-in with authorization code + PKCE: redirect, code exchange with the verifier, API calls with the token", async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  const config = {
    api_base: "",
    auth: { mode: "oidc", authorize_url: `${providerUrl}/authorize`, token_url: `${providerUrl}/token`, logout_url: `${providerUrl}/logout`, client_id: "dashboard-client", redirect_uri: `${dev.url}/`, scopes: "openid email" },
  };
  await page.route("**/config.json", (route) => route.fulfill({ json: config }));
  await page.goto(`${dev.url}/#/agents`);
  await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
  // The provider saw one authorization request with S256 PKCE and one valid exchange.
  assert.equal(seen.authorize.length, 1);
  const a = seen.authorize[0];
  assert.equal(a.response_type, "code");
  assert.equal(a.code_challenge_method, "S256");
  assert.match(a.code_challenge, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(a.state.length >= 16);
  assert.equal(seen.token.length, 1);
  assert.equal(seen.token[0].code_verifier.length >= 43, true);
  // The code is gone from the address bar; the route the user asked for is kept.
  assert.equal(new URL(page.url()).search, "");
  assert.equal(new URL(page.url()).hash, "#/agents");
  assert.equal(await page.getByTestId("user").textContent(), "ops@example.com");
  // The API took the provider's token: an agent created here belongs to its subject.
  await page.getByLabel("Agent name").fill("From OIDC");
  await page.getByLabel("Prompt").fill("p");
  await page.getByRole("button", { name: "Create agent" }).click();
  await page.getByRole("heading", { name: "From OIDC" }).waitFor();
  const mine = await (await apiAs(dev, SUB)).get("/agents");
  assert.deepEqual(mine.agents.map((x) => x.name), ["From OIDC"]);
  // A reload keeps the session (sessionStorage): no second trip to the provider.
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
  assert.equal(seen.authorize.length, 1);
  await context.close();
});

test("a login response whose state is not the one this tab sent is refused: no code exchange, no token", async () => {
  const context = await chrome.browser.newContext();
  const page = await context.newPage();
  const config = {
    api_base: "",
    auth: { mode: "oidc", authorize_url: `${providerUrl}/authorize`, token_url: `${providerUrl}/token`, client_id: "dashboard-client", redirect_uri: `${dev.url}/` },
  };
  await page.route("**/config.json", (route) => route.fulfill({ json: config }));
  const exchanges = seen.token.length;
  tamperState = true;
  try {
    await page.goto(`${dev.url}/#/`);
    await page.getByRole("alert").filter({ hasText: "sign-in failed: the login response does not match this tab" }).waitFor();
  } finally {
    tamperState = false;
  }
  assert.equal(seen.token.length, exchanges, "the code was not exchanged");
  assert.equal(await page.evaluate(() => sessionStorage.getItem("campaigns.token")), null);
  await context.close();
});
