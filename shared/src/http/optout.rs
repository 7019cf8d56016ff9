//! `POST /dnc/opt-out`: the voice gateway reports that the person on a call asked not to be
//! called again. No user token: the request carries an HMAC-SHA256 signature made with a
//! shared secret (Secrets Manager on AWS, like the Twilio auth token), over
//! `"<X-Optout-Timestamp>.<raw body>"`, sent as `X-Optout-Signature: v1=<hex>`. Requests more
//! than five minutes old or in the future are refused, so a captured request cannot be replayed
//! later; a replay inside the window only adds the same number again (idempotent).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::OnceCell;
use tracing::warn;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, parse_json};
use super::AppState;
use crate::adapters::dynamodb::dnc::DncEntry;
use crate::config::{self, ConfigError};
use crate::service::dnc;
use crate::twilio::credentials::{CredentialError, DEFAULT_EXTENSION_PORT, extension_get};

pub const TIMESTAMP_HEADER: &str = "x-optout-timestamp";
pub const SIGNATURE_HEADER: &str = "x-optout-signature";
/// How far a request's timestamp may be from our clock.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Where the signing secret comes from.
#[derive(Clone)]
pub enum OptOutSecretSource {
    /// Known up front (local runs and tests): `OPTOUT_SECRET`.
    Static(String),
    /// `OPTOUT_SECRET_ARN`, read once through the Secrets Lambda extension. The secret string is
    /// the key itself, or JSON `{"secret": "..."}`.
    SecretsExtension { secret_id: String, endpoint: String },
}

impl std::fmt::Debug for OptOutSecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Static(_) => f.write_str("Static(<redacted>)"),
            Self::SecretsExtension { secret_id, .. } => f.debug_struct("SecretsExtension").field("secret_id", secret_id).finish(),
        }
    }
}

/// The secret, loaded at most once (successfully) per process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OptOutSecret {
    source: OptOutSecretSource,
    cell: Arc<OnceCell<String>>,
    http: reqwest::Client,
}

impl OptOutSecret {
    pub fn new(source: OptOutSecretSource, http: reqwest::Client) -> Self {
        let cell = match &source {
            OptOutSecretSource::Static(s) => OnceCell::new_with(Some(s.clone())),
            OptOutSecretSource::SecretsExtension { .. } => OnceCell::new(),
        };
        Self { source, cell: Arc::new(cell), http }
    }

    /// A key known up front (the dev server, tests).
    pub fn fixed(key: impl Into<String>) -> Self {
        Self::new(OptOutSecretSource::Static(key.into()), reqwest::Client::new())
    }

    /// `OPTOUT_SECRET_ARN` or `OPTOUT_SECRET`; `None` when neither is set (the route then
    /// answers 503). Does no I/O.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let http = reqwest::Client::new();
        if let Some(secret_id) = config::optional("OPTOUT_SECRET_ARN") {
            let port: u16 = config::parsed_or("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", DEFAULT_EXTENSION_PORT)?;
            let endpoint = format!("http://localhost:{port}");
            return Ok(Some(Self::new(OptOutSecretSource::SecretsExtension { secret_id, endpoint }, http)));
        }
        Ok(config::optional("OPTOUT_SECRET").map(|s| Self::new(OptOutSecretSource::Static(s), http)))
    }

    async fn get(&self) -> Result<&str, CredentialError> {
        self.cell
            .get_or_try_init(|| async {
                match &self.source {
                    OptOutSecretSource::Static(s) => Ok(s.clone()),
                    OptOutSecretSource::SecretsExtension { secret_id, endpoint } => {
                        let body = extension_get(secret_id, endpoint, None, &self.http).await?;
                        parse_secret(&body)
                    }
                }
            })
            .await
            .map(String::as_str)
    }
}

fn parse_secret(body: &str) -> Result<String, CredentialError> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "SecretString")]
        secret_string: Option<String>,
    }
    #[derive(Deserialize)]
    struct Json {
        secret: String,
    }
    let env: Envelope = serde_json::from_str(body).map_err(|_| CredentialError::Malformed("extension response is not JSON".into()))?;
    let s = env.secret_string.ok_or_else(|| CredentialError::Malformed("no SecretString".into()))?;
    let key = serde_json::from_str::<Json>(&s).map(|j| j.secret).unwrap_or(s);
    if key.trim().len() < 16 {
        return Err(CredentialError::Malformed("the opt-out secret is shorter than 16 characters".into()));
    }
    Ok(key)
}

/// The signature the gateway sends: `v1=` and the hex HMAC-SHA256 of `"<timestamp>.<body>"`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable_mac());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("v1={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

// HMAC takes keys of any length; this cannot happen, and is still not a panic.
fn unreachable_mac() -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(b"k").unwrap_or_else(|_| unreachable_mac())
}

/// Verify a request: the timestamp is within the tolerance of `now` and the signature matches,
/// compared in constant time.
pub fn verify(secret: &str, now_secs: i64, timestamp: Option<&str>, signature: Option<&str>, body: &[u8]) -> Result<(), &'static str> {
    let ts: i64 = timestamp.and_then(|t| t.trim().parse().ok()).ok_or("missing or malformed timestamp")?;
    if (now_secs - ts).abs() > TOLERANCE_SECONDS {
        return Err("timestamp outside the accepted window");
    }
    let given = signature.ok_or("missing signature")?.trim();
    let expected = sign(secret, ts, body);
    if given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err("signature does not match")
    }
}

/// The opt-out's body.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutRequest {
    /// The campaign of the call (its owner's list gets the number).
    pub campaign_id: String,
    /// The number called, E.164.
    pub phone: String,
}

/// The voice gateway's opt-out: the number joins the campaign owner's do-not-call list at once.
#[utoipa::path(
    post, path = "/dnc/opt-out", tag = "do-not-call", security(()),
    request_body(content = OptOutRequest, content_type = "application/json"),
    params(
        ("X-Optout-Timestamp" = String, Header, description = "Unix seconds when the request was signed"),
        ("X-Optout-Signature" = String, Header, description = "v1=<hex HMAC-SHA256(secret, timestamp + \".\" + body)>"),
    ),
    responses(
        (status = 200, description = "The number is on the list", body = DncEntry),
        (status = 400, description = "Signed, but the body is not JSON", body = ErrorBody),
        (status = 401, description = "Missing, stale or wrong signature", body = ErrorBody),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 422, description = "Invalid phone", body = ErrorBody),
        (status = 503, description = "Secret not configured or unavailable", body = ErrorBody),
    )
)]
pub async fn opt_out(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Json<DncEntry>, ApiError> {
    let unavailable = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "opt-out is not available; try again");
    let Some(secret) = st.optout.as_deref() else { return Err(unavailable()) };
    let key = secret.get().await.map_err(|e| {
        warn!(error = %e, "opt-out: secret unavailable");
        unavailable()
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = st.deps.clock.now().timestamp();
    if let Err(why) = verify(key, now, header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER), &body) {
        warn!(reason = why, "opt-out: refused");
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", why));
    }
    let req: OptOutRequest = parse_json(&body)?;
    Ok(Json(dnc::opt_out(&st.deps, &req.campaign_id, &req.phone).await?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123";

    #[test]
    fn a_signed_request_verifies_and_any_change_does_not() {
        let body = br#"{"campaign_id":"c1","phone":"+12025550123"}"#;
        let sig = sign(KEY, 1_700_000_000, body);
        assert_eq!(verify(KEY, 1_700_000_010, Some("1700000000"), Some(&sig), body), Ok(()));
        assert!(verify(KEY, 1_700_000_010, Some("1700000001"), Some(&sig), body).is_err());
        assert!(verify(KEY, 1_700_000_010, Some("1700000000"), Some(&sig), br#"{"campaign_id":"c1","phone":"+12025550124"}"#).is_err());
        assert!(verify("another-secret-of-length", 1_700_000_010, Some("1700000000"), Some(&sig), body).is_err());
        assert!(verify(KEY, 1_700_000_010, Some("1700000000"), None, body).is_err());
        assert!(verify(KEY, 1_700_000_010, None, Some(&sig), body).is_err());
        // Replayed later than the tolerance.
        assert_eq!(verify(KEY, 1_700_000_000 + 301, Some("1700000000"), Some(&sig), body), Err("timestamp outside the accepted window"));
    }

    #[test]
    fn the_secret_may_be_raw_or_json_and_must_be_long_enough() {
        assert_eq!(parse_secret(r#"{"SecretString":"0123456789abcdefXYZ"}"#).unwrap(), "0123456789abcdefXYZ");
        assert_eq!(parse_secret(r#"{"SecretString":"{\"secret\":\"0123456789abcdefXYZ\"}"}"#).unwrap(), "0123456789abcdefXYZ");
        assert!(parse_secret(r#"{"SecretString":"short"}"#).is_err());
        assert!(parse_secret("not json").is_err());
    }
}
