//! Twilio configuration and credentials.
//!
//! Locally the auth token comes from `TWILIO_AUTH_TOKEN`. On AWS it comes from a Secrets
//! Manager secret (`TWILIO_SECRET_ARN`) read through the AWS Parameters and Secrets Lambda
//! Extension over `http://localhost:2773`, on first use and once per execution environment,
//! so a cold start does no I/O for it. The token is never logged: [`Credentials`] prints it
//! redacted.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::config::{self, ConfigError};

pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// The extension's default port (`PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` changes it).
pub const DEFAULT_EXTENSION_PORT: u16 = 2773;

/// The account's credentials and caller id.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub account_sid: String,
    pub auth_token: String,
    /// E.164 caller id used when a `CreateCall` leaves `from` empty.
    pub from_number: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field(
                "from_number",
                &crate::domain::masking::mask_phone(&self.from_number),
            )
            .finish()
    }
}

/// Where the credentials come from.
#[derive(Clone)]
pub enum CredentialSource {
    /// Known up front (local runs, tests, the simulator).
    Static(Credentials),
    /// A Secrets Manager secret read through the Lambda extension. The secret's string is
    /// JSON `{"account_sid","auth_token","from_number"}`; `account_sid` and `from_number`
    /// set in the environment take precedence over the secret's.
    SecretsExtension {
        secret_id: String,
        /// `http://localhost:2773` unless the extension's port was changed.
        endpoint: String,
        account_sid: Option<String>,
        from_number: Option<String>,
        /// `AWS_SESSION_TOKEN`, sent as `X-Aws-Parameters-Secrets-Token`; read from the
        /// environment at fetch time when `None`.
        session_token: Option<String>,
    },
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Static(c) => f.debug_tuple("Static").field(c).finish(),
            Self::SecretsExtension {
                secret_id,
                endpoint,
                ..
            } => f
                .debug_struct("SecretsExtension")
                .field("secret_id", secret_id)
                .field("endpoint", endpoint)
                .finish(),
        }
    }
}

/// Everything the Twilio client needs, read once from the environment.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com`, or the simulator's base URL. No trailing slash.
    pub api_base: String,
    pub credentials: CredentialSource,
    /// Per-request timeout (connect + response).
    pub timeout: Duration,
}

impl TwilioConfig {
    /// A configuration with known credentials (tests, the dev server, the simulator).
    pub fn with_credentials(api_base: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            api_base: trim_base(api_base.into()),
            credentials: CredentialSource::Static(credentials),
            timeout: Duration::from_secs(10),
        }
    }

    /// Reads `TWILIO_API_BASE` (default `https://api.twilio.com`), `TWILIO_ACCOUNT_SID`,
    /// `TWILIO_FROM_NUMBER`, and either `TWILIO_SECRET_ARN` (the token is then fetched
    /// lazily from Secrets Manager through the Lambda extension) or `TWILIO_AUTH_TOKEN`.
    /// `TWILIO_TIMEOUT_MS` (default 10000) bounds every request. Does no I/O.
    pub fn from_env() -> Result<Self, ConfigError> {
        let api_base = trim_base(
            config::optional("TWILIO_API_BASE").unwrap_or_else(|| DEFAULT_API_BASE.to_string()),
        );
        if !(api_base.starts_with("https://") || api_base.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "TWILIO_API_BASE",
                reason: "must be an http(s) URL".into(),
            });
        }
        let timeout = Duration::from_millis(config::parsed_or("TWILIO_TIMEOUT_MS", 10_000u64)?);
        let credentials = match config::optional("TWILIO_SECRET_ARN") {
            Some(secret_id) => {
                let port: u16 = config::parsed_or(
                    "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
                    DEFAULT_EXTENSION_PORT,
                )?;
                CredentialSource::SecretsExtension {
                    secret_id,
                    endpoint: format!("http://localhost:{port}"),
                    account_sid: config::optional("TWILIO_ACCOUNT_SID"),
                    from_number: config::optional("TWILIO_FROM_NUMBER"),
                    session_token: config::optional("AWS_SESSION_TOKEN"),
                }
            }
            None => CredentialSource::Static(Credentials {
                account_sid: config::required("TWILIO_ACCOUNT_SID")?,
                auth_token: config::required("TWILIO_AUTH_TOKEN")?,
                from_number: config::required("TWILIO_FROM_NUMBER")?,
            }),
        };
        Ok(Self {
            api_base,
            credentials,
            timeout,
        })
    }
}

fn trim_base(s: String) -> String {
    s.trim().trim_end_matches('/').to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("could not read the twilio secret through the secrets extension: {0}")]
    Unavailable(String),
    #[error("the twilio secret is malformed: {0}")]
    Malformed(String),
}

/// Credentials loaded on first use and kept, shared by the REST client and the webhook
/// signature check. Reloaded on demand when Twilio refuses them (a rotation): the token they
/// replace is kept as `previous`, so callbacks signed with it during the rotation still verify.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    source: CredentialSource,
    http: reqwest::Client,
    loaded: Mutex<Loaded>,
}

#[derive(Debug, Default)]
struct Loaded {
    current: Option<Arc<Credentials>>,
    previous: Option<Arc<Credentials>>,
    reloaded_at: Option<std::time::Instant>,
}

/// The webhook reloads at most this often when a signature matches neither token.
const RELOAD_FOR_SIGNATURE_EVERY: Duration = Duration::from_secs(30);

impl CredentialStore {
    /// Builds the store; reads nothing yet.
    pub fn new(source: CredentialSource, http: reqwest::Client) -> Self {
        let current = match &source {
            CredentialSource::Static(c) => Some(Arc::new(c.clone())),
            CredentialSource::SecretsExtension { .. } => None,
        };
        Self {
            inner: Arc::new(StoreInner {
                source,
                http,
                loaded: Mutex::new(Loaded {
                    current,
                    ..Loaded::default()
                }),
            }),
        }
    }

    /// The credentials; the first call on AWS fetches the secret. A failure is not cached:
    /// the next call tries again.
    pub async fn get(&self) -> Result<Arc<Credentials>, CredentialError> {
        let mut loaded = self.inner.loaded.lock().await;
        if let Some(c) = &loaded.current {
            return Ok(c.clone());
        }
        let fresh = Arc::new(fetch(&self.inner.source, &self.inner.http).await?);
        loaded.current = Some(fresh.clone());
        Ok(fresh)
    }

    /// Twilio refused `stale`: read the credentials again, unless another request already
    /// did (then its result is returned). The replaced credentials become `previous`. A static
    /// source has nothing new to read and returns the same credentials.
    pub async fn reload(&self, stale: &Credentials) -> Result<Arc<Credentials>, CredentialError> {
        let mut loaded = self.inner.loaded.lock().await;
        if let Some(c) = &loaded.current
            && **c != *stale
        {
            return Ok(c.clone());
        }
        let fresh = match &self.inner.source {
            CredentialSource::Static(c) => Arc::new(c.clone()),
            CredentialSource::SecretsExtension { .. } => {
                Arc::new(fetch(&self.inner.source, &self.inner.http).await?)
            }
        };
        loaded.reloaded_at = Some(std::time::Instant::now());
        if *fresh != *stale {
            tracing::info!("twilio credentials reloaded: a new auth token is in use");
            loaded.previous = loaded.current.take();
        }
        loaded.current = Some(fresh.clone());
        Ok(fresh)
    }

    /// The auth token, for the webhook's signature check.
    pub async fn auth_token(&self) -> Result<String, CredentialError> {
        Ok(self.get().await?.auth_token.clone())
    }

    /// The tokens a webhook signature may be made with: the current one, then the one it
    /// replaced (a rotation in progress).
    pub async fn signing_tokens(&self) -> Result<Vec<String>, CredentialError> {
        let current = self.get().await?;
        let loaded = self.inner.loaded.lock().await;
        let mut tokens = vec![current.auth_token.clone()];
        if let Some(p) = &loaded.previous
            && p.auth_token != current.auth_token
        {
            tokens.push(p.auth_token.clone());
        }
        Ok(tokens)
    }

    /// A signature matched no known token: maybe the secret was rotated and this process has
    /// not seen it yet. Reloads (at most every 30 s) and answers whether the token changed.
    pub async fn reload_for_signature(&self) -> Result<bool, CredentialError> {
        let current = self.get().await?;
        {
            let loaded = self.inner.loaded.lock().await;
            if loaded
                .reloaded_at
                .is_some_and(|t| t.elapsed() < RELOAD_FOR_SIGNATURE_EVERY)
            {
                return Ok(false);
            }
        }
        let fresh = self.reload(&current).await?;
        Ok(fresh.auth_token != current.auth_token)
    }
}

#[derive(Deserialize)]
struct ExtensionResponse {
    #[serde(rename = "SecretString")]
    secret_string: Option<String>,
}

#[derive(Deserialize)]
struct SecretJson {
    account_sid: Option<String>,
    auth_token: Option<String>,
    from_number: Option<String>,
}

async fn fetch(
    source: &CredentialSource,
    http: &reqwest::Client,
) -> Result<Credentials, CredentialError> {
    let CredentialSource::SecretsExtension {
        secret_id,
        endpoint,
        account_sid,
        from_number,
        session_token,
    } = source
    else {
        // Static sources are set at construction; reaching here means a bug, reported, not panicked.
        return Err(CredentialError::Unavailable(
            "static credentials were not initialised".into(),
        ));
    };
    let body = extension_get(secret_id, endpoint, session_token.as_deref(), http).await?;
    parse_secret(&body, account_sid.as_deref(), from_number.as_deref())
}

/// GetSecretValue through the Parameters and Secrets Lambda Extension: the response body
/// (JSON with `SecretString`). Also used for the opt-out route's signing secret.
pub(crate) async fn extension_get(
    secret_id: &str,
    endpoint: &str,
    session_token: Option<&str>,
    http: &reqwest::Client,
) -> Result<String, CredentialError> {
    // The extension needs the function's session token, and may answer "not ready" for a
    // moment after a cold start, so a few short retries.
    let token = session_token
        .map(str::to_string)
        .or_else(|| config::optional("AWS_SESSION_TOKEN"))
        .ok_or_else(|| {
            CredentialError::Unavailable("AWS_SESSION_TOKEN is not set (not on Lambda?)".into())
        })?;
    let url = format!("{endpoint}/secretsmanager/get");
    let mut last = String::new();
    for attempt in 0..4u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        let sent = http
            .get(&url)
            .query(&[("secretId", secret_id)])
            .header("X-Aws-Parameters-Secrets-Token", &token)
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                last = format!("request failed: {e}");
                continue;
            }
        };
        let status = resp.status();
        let body = resp
            .text()
            .await
            .map_err(|e| CredentialError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            // The body may describe the error; it never holds the secret on a failure.
            last = format!(
                "extension answered {status}: {}",
                body.chars().take(200).collect::<String>()
            );
            if status.is_client_error() && status.as_u16() != 400 {
                break;
            }
            continue;
        }
        return Ok(body);
    }
    Err(CredentialError::Unavailable(last))
}

/// The extension answers with GetSecretValue's shape; the secret itself is the JSON in
/// `SecretString`. Never echoes the body in an error (it holds the token).
fn parse_secret(
    body: &str,
    account_sid: Option<&str>,
    from_number: Option<&str>,
) -> Result<Credentials, CredentialError> {
    let envelope: ExtensionResponse = serde_json::from_str(body)
        .map_err(|e| CredentialError::Malformed(format!("extension response is not JSON ({e})")))?;
    let secret = envelope
        .secret_string
        .ok_or_else(|| CredentialError::Malformed("no SecretString".into()))?;
    let json: SecretJson = serde_json::from_str(&secret).map_err(|_| {
        CredentialError::Malformed(
            "SecretString is not JSON with account_sid, auth_token, from_number".into(),
        )
    })?;
    let pick = |env: Option<&str>, secret: Option<String>, name: &str| {
        env.map(str::to_string)
            .or(secret)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| CredentialError::Malformed(format!("{name} is missing")))
    };
    Ok(Credentials {
        account_sid: pick(account_sid, json.account_sid, "account_sid")?,
        auth_token: pick(None, json.auth_token, "auth_token")?,
        from_number: pick(from_number, json.from_number, "from_number")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let c = Credentials {
            account_sid: "AC1".into(),
            auth_token: "s3cr3t-token".into(),
            from_number: "+12025550123".into(),
        };
        let shown = format!("{c:?} {:?}", CredentialSource::Static(c.clone()));
        assert!(!shown.contains("s3cr3t"));
        assert!(!shown.contains("5550123"));
    }

    #[test]
    fn secret_envelope_is_parsed_and_env_wins() {
        let body = r#"{"ARN":"arn:x","Name":"twilio","SecretString":"{\"account_sid\":\"ACsecret\",\"auth_token\":\"tok\",\"from_number\":\"+12025550100\"}","VersionId":"v1"}"#;
        let c = parse_secret(body, None, None).expect("parses");
        assert_eq!(
            (
                c.account_sid.as_str(),
                c.auth_token.as_str(),
                c.from_number.as_str()
            ),
            ("ACsecret", "tok", "+12025550100")
        );
        let c = parse_secret(body, Some("ACenv"), Some("+12025550199")).expect("parses");
        assert_eq!(
            (c.account_sid.as_str(), c.from_number.as_str()),
            ("ACenv", "+12025550199")
        );
    }

    #[test]
    fn malformed_secret_names_the_problem_without_echoing_it() {
        let body = r#"{"SecretString":"{\"account_sid\":\"AC\",\"from_number\":\"+1\"}"}"#;
        let e = parse_secret(body, None, None).expect_err("no token");
        assert!(e.to_string().contains("auth_token is missing"));
        let e = parse_secret(r#"{"SecretString":"plain-token-value"}"#, None, None)
            .expect_err("not json");
        assert!(!e.to_string().contains("plain-token-value"));
    }

    /// A stand-in for the Parameters and Secrets extension: answers "not ready" `not_ready`
    /// times, then the secret (or 500 forever when `broken`).
    async fn fake_extension(
        not_ready: usize,
        broken: bool,
    ) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use axum::extract::{Query, State};
        use axum::http::{HeaderMap, StatusCode};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route(
                "/secretsmanager/get",
                axum::routing::get(
                    move |State(hits): State<Arc<AtomicUsize>>,
                          Query(q): Query<std::collections::HashMap<String, String>>,
                          headers: HeaderMap| async move {
                        let n = hits.fetch_add(1, Ordering::SeqCst);
                        let token = headers.get("X-Aws-Parameters-Secrets-Token").and_then(|v| v.to_str().ok());
                        if token != Some("session-tok") || q.get("secretId").map(String::as_str) != Some("arn:aws:secretsmanager:x:1:secret:twilio") {
                            return (StatusCode::FORBIDDEN, String::new());
                        }
                        if broken {
                            return (StatusCode::INTERNAL_SERVER_ERROR, "boom".to_string());
                        }
                        if n < not_ready {
                            return (StatusCode::BAD_REQUEST, "not ready to serve traffic".to_string());
                        }
                        let secret = r#"{"account_sid":"ACx","auth_token":"from-secret","from_number":"+12025550100"}"#;
                        (StatusCode::OK, serde_json::json!({"Name": "twilio", "SecretString": secret}).to_string())
                    },
                ),
            )
            .with_state(hits.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (endpoint, hits)
    }

    fn extension_source(endpoint: String) -> CredentialSource {
        CredentialSource::SecretsExtension {
            secret_id: "arn:aws:secretsmanager:x:1:secret:twilio".into(),
            endpoint,
            account_sid: None,
            from_number: None,
            session_token: Some("session-tok".into()),
        }
    }

    #[tokio::test]
    async fn secret_is_fetched_once_through_the_extension() {
        use std::sync::atomic::Ordering;
        let (endpoint, hits) = fake_extension(1, false).await;
        let store = CredentialStore::new(extension_source(endpoint), reqwest::Client::new());
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "nothing is read before first use"
        );
        let c = store
            .get()
            .await
            .expect("fetched after one not-ready answer");
        assert_eq!(
            (c.account_sid.as_str(), c.auth_token.as_str()),
            ("ACx", "from-secret")
        );
        assert_eq!(
            store.clone().auth_token().await.expect("cached").as_str(),
            "from-secret"
        );
        assert_eq!(
            hits.load(Ordering::SeqCst),
            2,
            "one retry, then cached for the process"
        );
        let stale = store.get().await.expect("cached");
        let again = store.reload(&stale).await.expect("reloaded");
        assert_eq!(again.auth_token, "from-secret");
        assert_eq!(hits.load(Ordering::SeqCst), 3, "a reload reads the secret again");
        assert_eq!(store.signing_tokens().await.expect("tokens"), ["from-secret"], "same token: no previous");
    }

    #[tokio::test]
    async fn a_failed_fetch_is_not_cached() {
        use std::sync::atomic::Ordering;
        let (endpoint, hits) = fake_extension(0, true).await;
        let store = CredentialStore::new(extension_source(endpoint), reqwest::Client::new());
        assert!(matches!(
            store.get().await,
            Err(CredentialError::Unavailable(_))
        ));
        let first = hits.load(Ordering::SeqCst);
        assert!(first >= 2, "retried");
        assert!(store.get().await.is_err());
        assert!(
            hits.load(Ordering::SeqCst) > first,
            "tried again on the next use"
        );
    }

    #[tokio::test]
    async fn static_store_needs_no_io() {
        let c = Credentials {
            account_sid: "AC1".into(),
            auth_token: "t".into(),
            from_number: "+1".into(),
        };
        let store =
            CredentialStore::new(CredentialSource::Static(c.clone()), reqwest::Client::new());
        assert_eq!(*store.get().await.expect("static"), c);
        assert_eq!(store.auth_token().await.expect("static"), "t");
    }
}
