//! Read-only use cases for the dashboard: a campaign's call attempts (one contact's history, or
//! all of them for the calls-over-time chart), the owner's recent calls across campaigns, and
//! a contact search by phone digits or name.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::campaigns::{ContactPage, ContactView, Deps, ServiceError, owned};
use crate::adapters::dynamodb::RepoError;
use crate::adapters::dynamodb::records::{AttemptRecord, from_ms};
use crate::domain::Outcome;
use crate::domain::compliance::Audit;

/// Longest search text accepted.
pub const MAX_SEARCH_CHARS: usize = 100;

/// One call attempt as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    /// The contact's number (E.164).
    pub phone: String,
    /// 1 for the first call, 2 for the first retry, ...
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Twilio's call SID, once the call was created.
    pub call_sid: Option<String>,
    /// The last call status Twilio reported (queued, ringing, in-progress, completed, busy, ...).
    pub call_status: Option<String>,
    /// Set when the attempt ended.
    pub outcome: Option<Outcome>,
    pub duration_seconds: Option<u32>,
    /// Answering machine detection's verdict, when it ran.
    pub answered_by: Option<String>,
    /// Whether the attempt has ended.
    pub finished: bool,
    /// Why the dialer placed this call when it did (invariant 12): the instant it used, the
    /// recipient's local time in each plausible zone with the zone's sources, the states, and
    /// every rule checked with its verdict (the frequency cap with its count). Absent on
    /// attempts recorded before the audit existed.
    pub audit: Option<Audit>,
}

impl From<AttemptRecord> for AttemptView {
    fn from(r: AttemptRecord) -> Self {
        AttemptView {
            phone: r.phone,
            // The charged attempt number; a claim given back without a call keeps its charge's number.
            attempt: if r.charged > 0 { r.charged } else { r.n },
            started_at: from_ms(r.started_ms),
            ended_at: r.ended_ms.map(from_ms),
            call_sid: r.call_sid,
            call_status: r.call_status,
            outcome: r.outcome,
            duration_seconds: r.duration,
            answered_by: r.answered_by,
            finished: r.terminal,
            audit: r.audit.and_then(|v| serde_json::from_value(v).ok()),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptPage {
    pub attempts: Vec<AttemptView>,
    pub next_cursor: Option<String>,
}

/// One call in the owner's recent calls, across campaigns (`GET /calls`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    pub campaign_id: String,
    pub campaign_name: String,
    /// The number called (E.164), as the contacts and attempts lists show it.
    pub phone: String,
    /// The contact's name from the file, when it had one.
    pub contact_name: Option<String>,
    /// 1 for the first call to the contact, 2 for the first retry, ...
    pub attempt: u32,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// Twilio's call SID, once the call was created.
    pub call_sid: Option<String>,
    /// The last call status Twilio reported (queued, ringing, in-progress, completed, busy, ...).
    pub call_status: Option<String>,
    /// Set when the call ended.
    pub outcome: Option<Outcome>,
    pub duration_seconds: Option<u32>,
    /// Answering machine detection's verdict, when it ran.
    pub answered_by: Option<String>,
    /// Whether the call has ended.
    pub finished: bool,
    /// Given back without a call reaching anyone (Twilio was busy, or the campaign was paused
    /// before the call connected): not charged, the contact is called again.
    pub released: bool,
    /// Twilio's refusal of the call, with its error code and message, when it ended on one.
    pub twilio_error: Option<String>,
}

impl From<AttemptRecord> for CallView {
    fn from(r: AttemptRecord) -> Self {
        CallView {
            campaign_id: r.campaign_id,
            campaign_name: r.campaign_name.unwrap_or_default(),
            phone: r.phone,
            contact_name: r.contact_name,
            attempt: if r.charged > 0 { r.charged } else { r.n },
            started_at: from_ms(r.started_ms),
            ended_at: r.ended_ms.map(from_ms),
            call_sid: r.call_sid,
            call_status: r.call_status,
            outcome: r.outcome,
            duration_seconds: r.duration,
            answered_by: r.answered_by,
            finished: r.terminal,
            released: r.released,
            twilio_error: r.twilio_error,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallPage {
    /// Newest first.
    pub calls: Vec<CallView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// The owner's calls across campaigns, newest first; only those that ended with `outcome`
/// when given.
pub async fn list_calls(
    deps: &Deps,
    owner: &str,
    outcome: Option<Outcome>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<CallPage, ServiceError> {
    let (items, next_cursor) = deps
        .repo
        .list_calls(owner, outcome, limit, cursor)
        .await
        .map_err(bad_cursor)?;
    Ok(CallPage {
        calls: items.into_iter().map(CallView::from).collect(),
        next_cursor,
    })
}

fn bad_cursor(e: RepoError) -> ServiceError {
    match e {
        RepoError::NotFound => ServiceError::BadRequest {
            code: "invalid_cursor",
            message: "cursor is not one this API returned".into(),
            field: Some("cursor".into()),
        },
        other => other.into(),
    }
}

/// A number as the contacts show it: `+` and 6 to 15 digits.
fn plausible_e164(p: &str) -> bool {
    let digits = p.strip_prefix('+').unwrap_or("");
    (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

pub async fn list_attempts(
    deps: &Deps,
    owner: &str,
    id: &str,
    phone: Option<&str>,
    limit: u32,
    cursor: Option<String>,
) -> Result<AttemptPage, ServiceError> {
    if let Some(p) = phone
        && !plausible_e164(p)
    {
        return Err(ServiceError::BadRequest {
            code: "invalid_query",
            message: "phone must be a contact's number in E.164 (+ and 6 to 15 digits)".into(),
            field: Some("phone".into()),
        });
    }
    owned(deps, owner, id).await?;
    let (items, next_cursor) = deps
        .repo
        .list_attempts(id, phone, limit, cursor)
        .await
        .map_err(bad_cursor)?;
    Ok(AttemptPage {
        attempts: items.into_iter().map(AttemptView::from).collect(),
        next_cursor,
    })
}

pub async fn search_contacts(
    deps: &Deps,
    owner: &str,
    id: &str,
    text: &str,
    limit: u32,
    cursor: Option<String>,
) -> Result<ContactPage, ServiceError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_SEARCH_CHARS {
        return Err(ServiceError::BadRequest {
            code: "invalid_query",
            message: format!("q must be 1 to {MAX_SEARCH_CHARS} characters"),
            field: Some("q".into()),
        });
    }
    owned(deps, owner, id).await?;
    let (contacts, next_cursor) = deps
        .repo
        .search_contacts(id, text, limit, cursor)
        .await
        .map_err(bad_cursor)?;
    Ok(ContactPage {
        contacts: contacts.into_iter().map(ContactView::from).collect(),
        next_cursor,
    })
}
