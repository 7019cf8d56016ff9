//! Twilio webhooks: `POST /twilio/status` (call status callbacks) and `POST /twilio/voice`
//! (the TwiML answer URL).
//!
//! These routes take no `User`: each request must carry a valid X-Twilio-Signature, an
//! HMAC-SHA1 with the account's auth token over the exact public URL Twilio called
//! (`PUBLIC_BASE_URL` + path + query) and the sorted POST parameters (invariant 6, 9).


use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracing::{info, warn};

use super::AppState;
use crate::domain::CallStatus;
use crate::domain::masking::mask_phone;
use crate::service::dial::{CALLBACK_OVERRIDES, Dialer, StatusCallback};
use crate::twilio::credentials::CredentialStore;
use crate::twilio::signature;

/// What the webhooks need.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub dialer: Dialer,
    /// Where the auth token comes from (environment locally, the secret on AWS).
    pub credentials: CredentialStore,
    /// The API's public base URL as Twilio sees it, without a trailing slash.
    pub public_base_url: String,
    /// The voice gateway's WebSocket URL for `<Connect><Stream>`.
    pub voice_gateway_url: String,
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/twilio/status", post(status)).route("/twilio/voice", post(voice))
}

fn plain(status: StatusCode, msg: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], msg).into_response()
}

/// Check the signature; on success return the form parameters and our query parameters.
async fn verified(wh: &Webhooks, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Result<(Vec<(String, String)>, Vec<(String, String)>), Response> {
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| plain(StatusCode::BAD_REQUEST, "malformed form body"))?;
    let path_query = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let url = format!("{}{}", wh.public_base_url, path_query);
    let sig = headers.get("x-twilio-signature").and_then(|v| v.to_str().ok());
    let unavailable = |e: crate::twilio::credentials::CredentialError| {
        warn!(error = %e, "webhook: auth token unavailable");
        plain(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
    };
    // The current token, then the one it replaced (a rotation in progress); if neither
    // matches, the secret may have been rotated without this process knowing: reload once.
    // The status callback URL carries Twilio's connection overrides as a fragment, which is
    // never sent; whether Twilio signs the URL with it is not documented, so both are accepted.
    let with_fragment = format!("{url}{CALLBACK_OVERRIDES}");
    let urls = [url.as_str(), with_fragment.as_str()];
    let tokens = wh.credentials.signing_tokens().await.map_err(unavailable)?;
    let mut valid = tokens.iter().any(|t| urls.iter().any(|u| signature::verify(t, u, &form, sig)));
    if !valid && sig.is_some() && wh.credentials.reload_for_signature().await.map_err(unavailable)? {
        let token = wh.credentials.auth_token().await.map_err(unavailable)?;
        valid = urls.iter().any(|u| signature::verify(&token, u, &form, sig));
    }
    if !valid {
        warn!(path = uri.path(), "webhook: signature missing or invalid");
        return Err(plain(StatusCode::FORBIDDEN, "invalid signature"));
    }
    let query: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or_default())
        .map_err(|_| plain(StatusCode::BAD_REQUEST, "malformed query"))?;
    Ok((form, query))
}

fn get<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Parse a status callback (after its signature was verified).
pub fn parse_callback(form: &[(String, String)], query: &[(String, String)]) -> Result<StatusCallback, &'static str> {
    let campaign_id = get(query, "campaign").filter(|s| !s.is_empty()).ok_or("missing campaign")?;
    let phone = get(query, "phone").filter(|s| s.starts_with('+')).ok_or("missing phone")?;
    let attempt = get(query, "attempt").and_then(|s| s.parse::<u32>().ok()).filter(|n| *n >= 1).ok_or("bad attempt")?;
    let seq = get(query, "seq").and_then(|s| s.parse::<u64>().ok()).ok_or("bad seq")?;
    let call_sid = get(form, "CallSid").filter(|s| !s.is_empty()).ok_or("missing CallSid")?;
    let call_status = get(form, "CallStatus").and_then(CallStatus::parse).ok_or("unknown CallStatus")?;
    Ok(StatusCallback {
        campaign_id: campaign_id.to_string(),
        phone: phone.to_string(),
        attempt,
        charge: get(query, "charge").and_then(|s| s.parse::<u32>().ok()).filter(|n| *n >= 1),
        seq,
        call_sid: call_sid.to_string(),
        call_status,
        sequence_number: get(form, "SequenceNumber").and_then(|s| s.parse().ok()),
        duration: get(form, "CallDuration").and_then(|s| s.parse().ok()),
        answered_by: get(form, "AnsweredBy").filter(|s| !s.is_empty()).map(str::to_string),
    })
}

async fn status(State(st): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Some(wh) = st.twilio.as_deref() else { return plain(StatusCode::SERVICE_UNAVAILABLE, "webhooks are not configured") };
    let (form, query) = match verified(wh, &uri, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let cb = match parse_callback(&form, &query) {
        Ok(cb) => cb,
        Err(msg) => return plain(StatusCode::BAD_REQUEST, msg),
    };
    match wh.dialer.apply_status_retrying(&cb).await {
        Ok(outcome) => {
            info!(campaign_id = %cb.campaign_id, phone = %mask_phone(&cb.phone), attempt = cb.attempt, status = cb.call_status.as_str(), ?outcome, "status callback");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            // Still failing after the in-request retries: the claim's lease was shortened so the
            // watchdog reconciles it with Twilio at its next tick; 503 also lets Twilio retry
            // (once, on its defaults).
            warn!(campaign_id = %cb.campaign_id, error = %e, "status callback not applied");
            plain(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}

async fn voice(State(st): State<AppState>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let Some(wh) = st.twilio.as_deref() else { return plain(StatusCode::SERVICE_UNAVAILABLE, "webhooks are not configured") };
    let (form, query) = match verified(wh, &uri, &headers, &body).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let (Some(campaign_id), Some(phone)) = (get(&query, "campaign"), get(&query, "phone")) else {
        return plain(StatusCode::BAD_REQUEST, "missing campaign or phone");
    };
    let repo = &wh.dialer.repo;
    // Only the claim the URL names, with the call it recorded, is connected (invariant 1).
    if let Some(claim) = get(&query, "attempt").and_then(|a| a.parse::<u32>().ok()) {
        let call_sid = get(&form, "CallSid").unwrap_or_default();
        let current = match repo.get_attempt(campaign_id, phone, claim).await {
            Ok(a) => a.is_some_and(|a| !a.released && !a.terminal && a.call_sid.as_deref().is_none_or(|s| s == call_sid)),
            Err(_) => return plain(StatusCode::SERVICE_UNAVAILABLE, "try again"),
        };
        if !current {
            warn!(campaign_id, phone = %mask_phone(phone), claim, "twiml requested for a superseded attempt: hanging up");
            return (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], crate::twilio::twiml::hangup()).into_response();
        }
    }
    let campaign = match repo.get_campaign(campaign_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return plain(StatusCode::NOT_FOUND, "unknown campaign"),
        Err(_) => return plain(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    };
    let contact = match repo.get_contact(campaign_id, phone).await {
        Ok(c) => c,
        Err(_) => return plain(StatusCode::SERVICE_UNAVAILABLE, "try again"),
    };
    let mut params = vec![
        ("agent_id".to_string(), campaign.agent.id.clone()),
        ("agent_name".to_string(), campaign.agent.name.clone()),
        ("campaign_id".to_string(), campaign.id.clone()),
    ];
    if let Some(c) = contact {
        if let Some(name) = c.name {
            params.push(("contact_name".to_string(), name));
        }
        for (k, v) in c.metadata {
            params.push((format!("meta_{k}"), v));
        }
    }
    let xml = crate::twilio::twiml::connect_stream(&wh.voice_gateway_url, &params);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/xml")], xml).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn callbacks_parse_and_reject_bad_fields() {
        let q = p(&[("campaign", "c1"), ("phone", "+12025550123"), ("attempt", "2"), ("seq", "7")]);
        let f = p(&[("CallSid", "CA1"), ("CallStatus", "completed"), ("SequenceNumber", "3"), ("CallDuration", "42"), ("AnsweredBy", "human")]);
        let cb = parse_callback(&f, &q).unwrap();
        assert_eq!((cb.attempt, cb.seq, cb.duration, cb.sequence_number), (2, 7, Some(42), Some(3)));
        assert_eq!(cb.call_status, CallStatus::Completed);
        assert!(parse_callback(&p(&[("CallSid", "CA1"), ("CallStatus", "answered")]), &q).is_err());
        assert!(parse_callback(&f, &p(&[("campaign", "c1"), ("phone", "+1"), ("attempt", "0"), ("seq", "1")])).is_err());
        assert!(parse_callback(&f, &p(&[("phone", "+1"), ("attempt", "1"), ("seq", "1")])).is_err());
    }
}
