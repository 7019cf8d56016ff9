// Sign-in. The page reads /config.json (written by whoever serves it) and either
//  - "local": asks the dev server's /dev/token for a token (only `campaigns dev` has that route;
//    `?user=bob` picks another local user), or
//  - "oidc": authorization code with PKCE against an OpenID Connect provider's endpoints: on AWS
//    the Cognito hosted UI of the stack's user pool (infra/deploy-web.sh writes config.json from
//    the stack's outputs). The app client is public (no secret): nothing secret is in the bundle
//    or in config.json.
// The access token lives in memory and sessionStorage (this tab only), never in localStorage.

export type LocalAuth = { mode: "local"; token_url: string; default_user: string };
export type OidcAuth = {
  mode: "oidc";
  authorize_url: string;
  token_url: string;
  /** Where "Sign out" goes (Cognito: <domain>/logout); optional. */
  logout_url?: string;
  client_id: string;
  redirect_uri: string;
  scopes?: string;
};
export type AppConfig = {
  api_base: string;
  auth: LocalAuth | OidcAuth;
  max_inline_file_bytes?: number;
};

const TOKEN_KEY = "campaigns.token";
const USER_KEY = "campaigns.user";
const PKCE_KEY = "campaigns.pkce";
const DISPLAY_KEY = "campaigns.display";

let config: AppConfig | null = null;
let token: string | null = null;
let expiresAt = 0;
let user = "";

export async function loadConfig(): Promise<AppConfig> {
  const res = await fetch("/config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: HTTP ${res.status}`);
  config = (await res.json()) as AppConfig;
  return config;
}

export function getConfig(): AppConfig {
  if (!config) throw new Error("config not loaded");
  return config;
}

export function currentUser(): string {
  return user;
}

function b64url(bytes: Uint8Array): string {
  let s = "";
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function jwtClaims(t: string): Record<string, unknown> {
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

function remember(t: string) {
  token = t;
  const c = jwtClaims(t);
  expiresAt = typeof c.exp === "number" ? c.exp * 1000 : Date.now() + 3_000_000;
  user = sessionStorage.getItem(DISPLAY_KEY) ?? String(c.email ?? c.username ?? c.sub ?? "");
  sessionStorage.setItem(TOKEN_KEY, t);
}

async function localToken(auth: LocalAuth): Promise<string> {
  const params = new URLSearchParams(location.search);
  const wanted = params.get("user") ?? sessionStorage.getItem(USER_KEY) ?? auth.default_user;
  sessionStorage.setItem(USER_KEY, wanted);
  const res = await fetch(`${auth.token_url}?user=${encodeURIComponent(wanted)}`, { cache: "no-store" });
  if (!res.ok) throw new Error(`sign-in failed: HTTP ${res.status}`);
  const body = (await res.json()) as { token: string };
  return body.token;
}

async function oidcRedirect(auth: OidcAuth): Promise<never> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(48)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, hash: location.hash }));
  const q = new URLSearchParams({
    response_type: "code",
    client_id: auth.client_id,
    redirect_uri: auth.redirect_uri,
    scope: auth.scopes ?? "openid email",
    code_challenge_method: "S256",
    code_challenge: b64url(digest),
    state,
  });
  location.assign(`${auth.authorize_url}?${q}`);
  return new Promise<never>(() => {});
}

async function oidcExchange(auth: OidcAuth, code: string, state: string): Promise<string> {
  const saved = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "{}") as { verifier?: string; state?: string; hash?: string };
  sessionStorage.removeItem(PKCE_KEY);
  if (!saved.verifier || saved.state !== state) throw new Error("sign-in failed: the login response does not match this tab");
  const res = await fetch(auth.token_url, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: auth.client_id,
      code,
      redirect_uri: auth.redirect_uri,
      code_verifier: saved.verifier,
    }),
  });
  if (!res.ok) throw new Error(`sign-in failed: HTTP ${res.status}`);
  const body = (await res.json()) as { access_token: string; id_token?: string };
  history.replaceState(null, "", location.pathname + (saved.hash ?? ""));
  // The access token names no person (Cognito's carries a user id); the ID token's email is
  // what the header shows. Display only: the API reads the access token's `sub`.
  if (body.id_token) {
    const email = jwtClaims(body.id_token).email;
    if (typeof email === "string") sessionStorage.setItem(DISPLAY_KEY, email);
  }
  return body.access_token;
}

/** Sign in (or restore the session); resolves once a token is at hand. */
export async function signIn(): Promise<void> {
  const cfg = getConfig();
  if (cfg.auth.mode === "local") {
    const params = new URLSearchParams(location.search);
    const stored = sessionStorage.getItem(TOKEN_KEY);
    if (stored && !params.has("user")) {
      remember(stored);
      if (expiresAt - Date.now() > 60_000) return;
    }
    remember(await localToken(cfg.auth));
    return;
  }
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  if (code) {
    remember(await oidcExchange(cfg.auth, code, params.get("state") ?? ""));
    return;
  }
  const stored = sessionStorage.getItem(TOKEN_KEY);
  if (stored) {
    remember(stored);
    if (expiresAt - Date.now() > 60_000) return;
  }
  await oidcRedirect(cfg.auth);
}

/** The bearer token for the next request; signs in again when it is about to expire. */
export async function bearer(): Promise<string> {
  if (!token || expiresAt - Date.now() < 60_000) {
    sessionStorage.removeItem(TOKEN_KEY);
    await signIn();
  }
  return token ?? "";
}

export function signOut() {
  const cfg = getConfig();
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  sessionStorage.removeItem(DISPLAY_KEY);
  token = null;
  if (cfg.auth.mode === "oidc") {
    const q = new URLSearchParams({ client_id: cfg.auth.client_id, logout_uri: cfg.auth.redirect_uri });
    location.assign(cfg.auth.logout_url ? `${cfg.auth.logout_url}?${q}` : cfg.auth.redirect_uri);
  } else {
    location.assign("/");
  }
}
