//! The dashboard on the dev server: `web/dist` (built by `npm run build` in `web/`) at `/`,
//! `/config.json` (how the page signs in and where the API is), and `GET /dev/token`, which
//! hands the page a token for a local user. `/dev/token` exists only here, in the dev server:
//! the Lambda's router (`shared::http::router`) has no such route, and on AWS the page signs in
//! through Cognito's hosted UI instead (docs/dashboard.md).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// Where `campaigns dev` looks for the built dashboard by default: the repository's `web/dist`.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
}

/// The page's Content-Security-Policy on the dev server: the same as the one CloudFront sends on
/// AWS (template.yaml, `WebResponseHeadersPolicy`) except that the API is this origin and the
/// presigned uploads and a test's sign-in provider are on other 127.0.0.1 ports. The browser
/// tests run under it, so a page that needs more (an inline script, another origin) fails them.
pub const DEV_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self' http://127.0.0.1:* http://localhost:*; frame-ancestors 'none'; base-uri 'self'; \
     form-action 'self'; object-src 'none'";

#[derive(Clone)]
struct WebState {
    dir: PathBuf,
    jwt_secret: String,
    max_inline_file_bytes: u64,
}

/// The routes the dashboard adds to the API's router. They do not overlap the API's paths.
pub fn routes(dir: PathBuf, jwt_secret: String, max_inline_file_bytes: u64) -> Router {
    let state = Arc::new(WebState {
        dir,
        jwt_secret,
        max_inline_file_bytes,
    });
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/{*path}", get(asset))
        .route("/config.json", get(config))
        .route("/dev/token", get(dev_token))
        .with_state(state)
}

async fn index(State(st): State<Arc<WebState>>) -> Response {
    match tokio::fs::read(st.dir.join("index.html")).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, DEV_CSP),
            ],
            body,
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            format!(
                "<!doctype html><title>Dashboard not built</title><p>The dashboard is not built: no <code>{}</code>. \
                 Run <code>make web</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload.</p>",
                st.dir.join("index.html").display()
            ),
        )
            .into_response(),
    }
}

/// A file under `dist/assets/`. Only plain relative names: no `..`, no absolute paths.
async fn asset(
    State(st): State<Arc<WebState>>,
    axum::extract::Path(path): axum::extract::Path<String>,
) -> Response {
    let rel = Path::new(&path);
    if path.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(st.dir.join("assets").join(rel)).await {
        // Vite puts a content hash in every asset's name, so they never change under a name.
        Ok(body) => (
            [
                (header::CONTENT_TYPE, content_type(&path)),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "json" | "map" => "application/json",
        _ => "application/octet-stream",
    }
}

/// The page's configuration: sign in through `/dev/token`, the API on the same origin.
async fn config(State(st): State<Arc<WebState>>) -> Response {
    let body = serde_json::json!({
        "api_base": "",
        "auth": {"mode": "local", "token_url": "/dev/token", "default_user": "alice"},
        "max_inline_file_bytes": st.max_inline_file_bytes,
    });
    ([(header::CACHE_CONTROL, "no-cache")], Json(body)).into_response()
}

#[derive(Deserialize)]
struct TokenQuery {
    user: Option<String>,
}

/// A one-hour token for a local user (default `alice`), signed with the dev server's secret.
async fn dev_token(State(st): State<Arc<WebState>>, Query(q): Query<TokenQuery>) -> Response {
    let user = q.user.unwrap_or_else(|| "alice".into());
    let valid = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !valid {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": {"code": "invalid_query", "message": "user: 1-64 letters, digits, '-', '_' or '.'", "field": "user"}})),
        )
            .into_response();
    }
    match shared::http::auth::issue_local_token(
        st.jwt_secret.as_bytes(),
        &user,
        Duration::from_secs(3600),
    ) {
        Ok(token) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(serde_json::json!({"token": token, "user": user, "expires_in": 3600})),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
