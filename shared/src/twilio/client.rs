//! The Twilio REST client for calls: create, fetch, list by number, cancel, and a call's
//! events (the URLs Twilio requested for it). Implements
//! [`Telephony`](crate::ports::Telephony).
//!
//! Built once per process (one `reqwest::Client`, one credential store). Every request has a
//! timeout. Errors are classified for the dialer: 429/5xx `Retryable` (nothing was created),
//! 401/403 `Unauthorized`, other 4xx `Rejected` with Twilio's code and message, network
//! trouble `Transport` (ambiguous: the call may exist, so the watchdog looks it up later).
//! Logs carry the call sid and a masked number, never the token or a whole number.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};
use futures::future::BoxFuture;
use serde::Deserialize;

use super::credentials::{CredentialError, CredentialStore, Credentials, TwilioConfig};
use super::{CallInfo, CreateCall, TelephonyError};
use crate::domain::CallStatus;
use crate::domain::masking::mask_phone;
use crate::ports::Telephony;

const API_VERSION: &str = "2010-04-01";
/// Bounds a listing that keeps returning `next_page_uri` (a Twilio bug or a loop).
const MAX_PAGES: usize = 50;
const PAGE_SIZE: &str = "100";

#[derive(Clone)]
pub struct TwilioClient {
    http: reqwest::Client,
    api_base: String,
    credentials: CredentialStore,
}

impl fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioClient")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl TwilioClient {
    /// Builds the HTTP client (no I/O). Fails only if TLS cannot be initialised.
    pub fn new(config: TwilioConfig) -> Result<Self, TelephonyError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(5)))
            .user_agent(concat!("bulk-campaigns/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TelephonyError::Transport(format!("building the http client: {e}")))?;
        let credentials = CredentialStore::new(config.credentials, http.clone());
        Ok(Self {
            http,
            api_base: config.api_base,
            credentials,
        })
    }

    /// `TwilioConfig::from_env()` then `new`.
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        let cfg = TwilioConfig::from_env()?;
        Self::new(cfg).map_err(|e| crate::config::ConfigError::Invalid {
            name: "TWILIO_API_BASE",
            reason: e.to_string(),
        })
    }

    /// The credential store this client uses; the webhook checks signatures with the same
    /// token (`store.auth_token().await`).
    pub fn credentials(&self) -> &CredentialStore {
        &self.credentials
    }

    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    async fn creds(&self) -> Result<Arc<Credentials>, TelephonyError> {
        self.credentials.get().await.map_err(credential_error)
    }

    /// Run a request; if Twilio refuses the credentials (401), reload them once (a rotation)
    /// and run it again with the new ones. A 401 proves the request did nothing, so the retry
    /// cannot duplicate a call.
    async fn with_reload<T, F, Fut>(&self, request: F) -> Result<T, TelephonyError>
    where
        F: Fn(Arc<Credentials>) -> Fut,
        Fut: std::future::Future<Output = Result<T, TelephonyError>>,
    {
        let creds = self.creds().await?;
        match request(creds.clone()).await {
            Err(TelephonyError::Unauthorized { status: 401, message }) => {
                let fresh = self
                    .credentials
                    .reload(&creds)
                    .await
                    .map_err(credential_error)?;
                if *fresh == *creds {
                    return Err(TelephonyError::Unauthorized { status: 401, message });
                }
                tracing::info!("twilio refused the credentials; retrying once with the reloaded ones");
                request(fresh).await
            }
            other => other,
        }
    }

    fn calls_url(&self, sid: &str) -> String {
        format!("{}/{API_VERSION}/Accounts/{sid}/Calls.json", self.api_base)
    }

    pub async fn create(&self, req: &CreateCall) -> Result<CallInfo, TelephonyError> {
        self.with_reload(|creds| self.create_with(creds, req)).await
    }

    async fn create_with(
        &self,
        creds: Arc<Credentials>,
        req: &CreateCall,
    ) -> Result<CallInfo, TelephonyError> {
        let from = if req.from.trim().is_empty() {
            creds.from_number.as_str()
        } else {
            req.from.as_str()
        };
        let timeout = req.timeout_seconds.to_string();
        let mut form: Vec<(&str, &str)> = vec![
            ("To", req.to.as_str()),
            ("From", from),
            ("Url", req.url.as_str()),
            ("StatusCallback", req.status_callback.as_str()),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
        ];
        // 0 means "Twilio's default" (60 s) rather than an invalid Timeout.
        if req.timeout_seconds > 0 {
            form.push(("Timeout", timeout.as_str()));
        }
        if req.machine_detection {
            form.push(("MachineDetection", "Enable"));
        }
        let sent = self
            .http
            .post(self.calls_url(&creds.account_sid))
            .basic_auth(&creds.account_sid, Some(&creds.auth_token))
            .form(&form)
            .send()
            .await;
        let resp = sent.map_err(|e| transport("create", e))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| transport("create (reading the answer)", e))?;
        if !(200..300).contains(&status) {
            let err = classify(status, &body);
            // Twilio's message can quote the number, so only the code is logged here.
            let code = match &err {
                TelephonyError::Rejected { code, .. } => *code,
                _ => None,
            };
            tracing::warn!(to = %mask_phone(&req.to), status, code, "twilio refused the call");
            return Err(err);
        }
        let call: ApiCall = serde_json::from_str(&body)
            .map_err(|e| TelephonyError::Protocol(format!("create answer: {e}")))?;
        let info = call.into_info()?;
        tracing::info!(call_sid = %info.sid, to = %mask_phone(&req.to), status = info.status.as_str(), "twilio call created");
        Ok(info)
    }

    pub async fn fetch(&self, call_sid: &str) -> Result<Option<CallInfo>, TelephonyError> {
        self.with_reload(|creds| self.fetch_with(creds, call_sid))
            .await
    }

    async fn fetch_with(
        &self,
        creds: Arc<Credentials>,
        call_sid: &str,
    ) -> Result<Option<CallInfo>, TelephonyError> {
        // A sid is CA + hex; anything else could change the path.
        if call_sid.is_empty() || !call_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let url = format!(
            "{}/{API_VERSION}/Accounts/{}/Calls/{call_sid}.json",
            self.api_base, creds.account_sid
        );
        let resp = self
            .http
            .get(url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token))
            .send()
            .await
            .map_err(|e| transport("fetch", e))?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| transport("fetch (reading the answer)", e))?;
        if status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(classify(status, &body));
        }
        let call: ApiCall = serde_json::from_str(&body)
            .map_err(|e| TelephonyError::Protocol(format!("fetch answer: {e}")))?;
        call.into_info().map(Some)
    }

    /// `POST /Calls/{sid}.json` with `Status=<status>` (`canceled` or `completed`).
    async fn update_status(
        &self,
        call_sid: &str,
        status: &str,
    ) -> Result<Option<CallInfo>, TelephonyError> {
        let creds = self.creds().await?;
        if call_sid.is_empty() || !call_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(None);
        }
        let url = format!(
            "{}/{API_VERSION}/Accounts/{}/Calls/{call_sid}.json",
            self.api_base, creds.account_sid
        );
        let resp = self
            .http
            .post(url)
            .basic_auth(&creds.account_sid, Some(&creds.auth_token))
            .form(&[("Status", status)])
            .send()
            .await
            .map_err(|e| transport("cancel", e))?;
        let code = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|e| transport("cancel (reading the answer)", e))?;
        if code == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&code) {
            return Err(classify(code, &body));
        }
        let call: ApiCall = serde_json::from_str(&body)
            .map_err(|e| TelephonyError::Protocol(format!("cancel answer: {e}")))?;
        call.into_info().map(Some)
    }

    /// Cancel a queued or ringing call; hang it up if it was answered meanwhile.
    pub async fn cancel(&self, call_sid: &str) -> Result<Option<CallInfo>, TelephonyError> {
        let after = self.update_status(call_sid, "canceled").await?;
        match after {
            Some(info) if info.status == CallStatus::InProgress => {
                self.update_status(call_sid, "completed").await
            }
            other => Ok(other),
        }
    }

    /// Calls to `to` whose `date_created` is at or after `since` (second precision, as
    /// Twilio's dates are), newest first. Twilio filters `StartTime` on the call's start, so a
    /// call still waiting in the account's queue has none and would be missed: the listing is
    /// the union of `To` + `StartTime>` the UTC date of `since` and `To` + `Status=queued`,
    /// filtered precisely here; follows `next_page_uri`.
    pub async fn list_to(
        &self,
        to: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallInfo>, TelephonyError> {
        self.with_reload(|creds| self.list_to_with(creds, to, since))
            .await
    }

    async fn list_to_with(
        &self,
        creds: Arc<Credentials>,
        to: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<CallInfo>, TelephonyError> {
        let since = since.trunc_subsecs(0);
        let day = since.date_naive().format("%Y-%m-%d").to_string();
        let mut out: Vec<CallInfo> = Vec::new();
        for filter in [("StartTime>", day.as_str()), ("Status", "queued")] {
            let first = self.http.get(self.calls_url(&creds.account_sid)).query(&[
                ("To", to),
                filter,
                ("PageSize", PAGE_SIZE),
            ]);
            for body in self.pages(&creds, first, "list").await? {
                let page: ApiPage = serde_json::from_str(&body)
                    .map_err(|e| TelephonyError::Protocol(format!("list answer: {e}")))?;
                for call in page.calls {
                    let info = call.into_info()?;
                    let new = !out.iter().any(|c| c.sid == info.sid);
                    if new && info.to == to && info.date_created.is_none_or(|d| d >= since) {
                        out.push(info);
                    }
                }
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.date_created));
        tracing::debug!(to = %mask_phone(to), found = out.len(), "twilio calls listed");
        Ok(out)
    }

    /// The bodies of a listing's pages, following `next_page_uri` (at most `MAX_PAGES`).
    async fn pages(
        &self,
        creds: &Credentials,
        first: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Vec<String>, TelephonyError> {
        let mut next = Some(first);
        let mut bodies = Vec::new();
        while let Some(builder) = next.take() {
            let resp = builder
                .basic_auth(&creds.account_sid, Some(&creds.auth_token))
                .send()
                .await
                .map_err(|e| transport(what, e))?;
            let status = resp.status().as_u16();
            let body = resp.text().await.map_err(|e| transport(what, e))?;
            if !(200..300).contains(&status) {
                return Err(classify(status, &body));
            }
            let uri = serde_json::from_str::<PageLinks>(&body)
                .map_err(|e| TelephonyError::Protocol(format!("{what} answer: {e}")))?
                .next_page_uri
                .filter(|u| !u.is_empty());
            bodies.push(body);
            if let Some(uri) = uri {
                if bodies.len() >= MAX_PAGES {
                    tracing::warn!(op = what, pages = bodies.len(), "twilio listing truncated");
                    break;
                }
                // next_page_uri is a path on the same host; never follow it elsewhere.
                if !uri.starts_with('/') {
                    return Err(TelephonyError::Protocol(
                        "next_page_uri is not a path".into(),
                    ));
                }
                next = Some(self.http.get(format!("{}{uri}", self.api_base)));
            }
        }
        Ok(bodies)
    }

    /// The URLs in a call's events (`GET /Calls/{sid}/Events.json`): the requests Twilio made
    /// for the call (status callbacks, the TwiML fetch) and the `url`/`status_callback`
    /// parameters of the API request that created it. This is the evidence of which attempt a
    /// call belongs to, since the Call resource itself carries neither URL. Twilio shows a
    /// call's events from 15 minutes after it ends; before that the list is empty. An unknown
    /// sid is an empty list.
    pub async fn event_urls(&self, call_sid: &str) -> Result<Vec<String>, TelephonyError> {
        self.with_reload(|creds| self.event_urls_with(creds, call_sid))
            .await
    }

    async fn event_urls_with(
        &self,
        creds: Arc<Credentials>,
        call_sid: &str,
    ) -> Result<Vec<String>, TelephonyError> {
        if call_sid.is_empty() || !call_sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(Vec::new());
        }
        let url = format!(
            "{}/{API_VERSION}/Accounts/{}/Calls/{call_sid}/Events.json",
            self.api_base, creds.account_sid
        );
        let first = self.http.get(url).query(&[("PageSize", PAGE_SIZE)]);
        let bodies = match self.pages(&creds, first, "call events").await {
            Err(TelephonyError::Rejected { status: 404, .. }) => return Ok(Vec::new()),
            other => other?,
        };
        let mut urls = Vec::new();
        for body in bodies {
            let page: EventPage = serde_json::from_str(&body)
                .map_err(|e| TelephonyError::Protocol(format!("call events answer: {e}")))?;
            for request in page.events.into_iter().filter_map(|e| e.request) {
                urls.extend(request.url);
                if let Some(params) = request.parameters {
                    for key in ["url", "status_callback"] {
                        if let Some(serde_json::Value::String(u)) = params.get(key) {
                            urls.push(u.clone());
                        }
                    }
                }
            }
        }
        Ok(urls)
    }
}

impl Telephony for TwilioClient {
    fn create_call<'a>(
        &'a self,
        req: &'a CreateCall,
    ) -> BoxFuture<'a, Result<CallInfo, TelephonyError>> {
        Box::pin(self.create(req))
    }

    fn fetch_call<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>> {
        Box::pin(self.fetch(sid))
    }

    fn calls_to<'a>(
        &'a self,
        to: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<Vec<CallInfo>, TelephonyError>> {
        Box::pin(self.list_to(to, since))
    }

    fn cancel_call<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>> {
        Box::pin(self.cancel(sid))
    }

    fn call_event_urls<'a>(
        &'a self,
        sid: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, TelephonyError>> {
        Box::pin(self.event_urls(sid))
    }
}

fn credential_error(e: CredentialError) -> TelephonyError {
    match e {
        // The secret could not be read right now: nothing was sent; try later.
        CredentialError::Unavailable(m) => TelephonyError::Retryable {
            status: 0,
            message: m,
        },
        CredentialError::Malformed(m) => TelephonyError::Unauthorized {
            status: 0,
            message: m,
        },
    }
}

fn transport(what: &str, e: reqwest::Error) -> TelephonyError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // Without the URL: a listing's query string holds the number being looked up.
    let e = e.without_url();
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::warn!(op = what, kind, error = %detail, "twilio request failed");
    TelephonyError::Transport(format!("{what} {kind}: {detail}"))
}

/// Twilio's error body: `{"code": 21211, "message": "...", "more_info": "...", "status": 400}`.
#[derive(Debug, Default, Deserialize)]
struct ApiError {
    code: Option<i64>,
    message: Option<String>,
}

/// Maps a non-2xx answer to the error the dialer acts on.
pub fn classify(status: u16, body: &str) -> TelephonyError {
    let parsed: ApiError = serde_json::from_str(body).unwrap_or_default();
    let message = parsed.message.filter(|m| !m.is_empty()).unwrap_or_else(|| {
        format!(
            "HTTP {status}: {}",
            body.chars().take(200).collect::<String>()
        )
    });
    match status {
        429 | 500..=599 => TelephonyError::Retryable { status, message },
        401 | 403 => TelephonyError::Unauthorized { status, message },
        400..=499 => TelephonyError::Rejected {
            status,
            code: parsed.code,
            message,
        },
        _ => TelephonyError::Protocol(format!("unexpected HTTP {status}: {message}")),
    }
}

/// The fields of Twilio's Call resource the project reads.
#[derive(Debug, Deserialize)]
struct ApiCall {
    sid: String,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    from: Option<String>,
    status: String,
    #[serde(default)]
    duration: Option<serde_json::Value>,
    #[serde(default)]
    answered_by: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    date_created: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ApiPage {
    #[serde(default)]
    calls: Vec<ApiCall>,
}

/// The paging link every Twilio list answer carries.
#[derive(Debug, Deserialize)]
struct PageLinks {
    #[serde(default)]
    next_page_uri: Option<String>,
}

/// `GET /Calls/{sid}/Events.json`: the requests Twilio made for a call.
#[derive(Debug, Deserialize)]
struct EventPage {
    #[serde(default)]
    events: Vec<ApiEvent>,
}

#[derive(Debug, Deserialize)]
struct ApiEvent {
    #[serde(default)]
    request: Option<ApiEventRequest>,
}

#[derive(Debug, Deserialize)]
struct ApiEventRequest {
    #[serde(default)]
    url: Option<String>,
    /// Snake-case parameter names (`status_callback`, `url`, ...).
    #[serde(default)]
    parameters: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiCall {
    fn into_info(self) -> Result<CallInfo, TelephonyError> {
        let status = CallStatus::parse(&self.status).ok_or_else(|| {
            TelephonyError::Protocol(format!("unknown call status {:?}", self.status))
        })?;
        Ok(CallInfo {
            sid: self.sid,
            to: self.to.unwrap_or_default(),
            from: self.from.unwrap_or_default(),
            status,
            duration_seconds: self.duration.as_ref().and_then(parse_duration),
            answered_by: self.answered_by.filter(|a| !a.is_empty()),
            start_time: self.start_time.as_deref().and_then(parse_date),
            date_created: self.date_created.as_deref().and_then(parse_date),
        })
    }
}

/// Twilio sends `"duration": "30"` (a string), `null` while the call lasts.
fn parse_duration(v: &serde_json::Value) -> Option<u32> {
    match v {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    }
}

/// Twilio's dates are RFC 2822: `Tue, 31 Aug 2010 20:36:28 +0000`.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc2822(s)
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The inverse of [`parse_date`], in Twilio's form.
pub fn format_date(d: DateTime<Utc>) -> String {
    d.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn classifies_like_the_dialer_needs() {
        let body = r#"{"code": 21211, "message": "The 'To' number +1 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
        match classify(400, body) {
            TelephonyError::Rejected {
                status: 400,
                code: Some(21211),
                message,
            } => assert!(message.contains("not a valid")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(429, "{}"),
            TelephonyError::Retryable { status: 429, .. }
        ));
        assert!(matches!(
            classify(503, "<html>down</html>"),
            TelephonyError::Retryable { status: 503, .. }
        ));
        assert!(matches!(
            classify(401, r#"{"code":20003,"message":"Authenticate"}"#),
            TelephonyError::Unauthorized { status: 401, .. }
        ));
        assert!(matches!(
            classify(403, ""),
            TelephonyError::Unauthorized { status: 403, .. }
        ));
        assert!(matches!(
            classify(404, "not json"),
            TelephonyError::Rejected { code: None, .. }
        ));
        assert!(matches!(classify(302, ""), TelephonyError::Protocol(_)));
    }

    #[test]
    fn parses_twilios_call_json() {
        let json = r#"{"sid":"CAe1644a7eed5088b159577c5802d8be38","account_sid":"AC1","to":"+14155551212","from":"+15017122661",
            "status":"completed","duration":"15","answered_by":"machine_start","start_time":"Tue, 31 Aug 2010 20:36:28 +0000",
            "end_time":"Tue, 31 Aug 2010 20:36:44 +0000","date_created":"Tue, 31 Aug 2010 20:36:28 +0000","price":"-0.03000"}"#;
        let info = serde_json::from_str::<ApiCall>(json)
            .expect("json")
            .into_info()
            .expect("info");
        assert_eq!(info.status, CallStatus::Completed);
        assert_eq!(info.duration_seconds, Some(15));
        assert_eq!(info.answered_by.as_deref(), Some("machine_start"));
        assert_eq!(
            info.date_created,
            Utc.with_ymd_and_hms(2010, 8, 31, 20, 36, 28).single()
        );

        let live = r#"{"sid":"CA1","to":"+1","status":"in-progress","duration":null,"answered_by":null,"start_time":null,"date_created":null}"#;
        let info = serde_json::from_str::<ApiCall>(live)
            .expect("json")
            .into_info()
            .expect("info");
        assert_eq!(
            (info.status, info.duration_seconds, info.start_time),
            (CallStatus::InProgress, None, None)
        );

        let bad = r#"{"sid":"CA1","status":"answered"}"#;
        assert!(
            serde_json::from_str::<ApiCall>(bad)
                .expect("json")
                .into_info()
                .is_err()
        );
    }

    #[test]
    fn dates_round_trip() {
        let d = Utc
            .with_ymd_and_hms(2026, 3, 8, 7, 5, 9)
            .single()
            .expect("date");
        assert_eq!(format_date(d), "Sun, 08 Mar 2026 07:05:09 +0000");
        assert_eq!(parse_date(&format_date(d)), Some(d));
        assert_eq!(parse_date("garbage"), None);
    }
}
