//! Item shapes, kept in the adapter and converted to domain types. Times are epoch
//! milliseconds (numbers) so conditions can compare them; counters are flat attributes so an
//! update expression can add to them atomically.

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::error::RepoError;
use crate::domain::compliance::Location;
use crate::domain::{
    AgentSnapshot, CallTotals, Campaign, CampaignState, Contact, ContactState, Counters, ImportState, Outcome, Settings,
};

/// Attribute names used in expressions.
pub mod attr {
    pub const STATE: &str = "state";
    pub const OWNER: &str = "owner";
    pub const C_TOTAL: &str = "c_total";
    pub const C_PENDING: &str = "c_pending";
    pub const C_CALLING: &str = "c_calling";
    pub const C_RETRYING: &str = "c_retrying";
    pub const C_COMPLETED: &str = "c_completed";
    pub const C_FAILED: &str = "c_failed";
    pub const C_SKIPPED: &str = "c_skipped";
    pub const CALLS_PLACED: &str = "calls_placed";
    pub const CALLS_ANSWERED: &str = "calls_answered";
    pub const ANSWERED_SECONDS: &str = "answered_seconds";
    pub const LAST_CALLED_MS: &str = "last_called_ms";
    pub const NEXT_DIAL_MS: &str = "next_dial_ms";
    pub const MAX_CONCURRENT: &str = "max_concurrent";
    pub const IMPORT_STATE: &str = "import_state";
    pub const IMPORT_REPORT: &str = "import_report";
    pub const IMPORT_ERROR: &str = "import_error";
    pub const IMPORT_ETAG: &str = "import_etag";
    /// Contacts of `import_etag`'s file stored so far, in file order: where a resumed import starts.
    pub const IMPORT_ROWS: &str = "import_rows";
    /// When the import holding the lease last showed it is alive.
    pub const IMPORT_BEAT_MS: &str = "import_beat_ms";
    pub const FAILURE_REASON: &str = "failure_reason";
    pub const UPDATED_MS: &str = "updated_ms";
    pub const STARTED_MS: &str = "started_ms";
    pub const COMPLETED_MS: &str = "completed_ms";
    pub const UPLOAD_KEY: &str = "upload_key";
    // contact
    pub const ATTEMPTS: &str = "attempts";
    pub const NEXT_ATTEMPT_MS: &str = "next_attempt_ms";
    pub const LEASE_UNTIL_MS: &str = "lease_until_ms";
    pub const OUTCOME: &str = "outcome";
    pub const LAST_CALL_MS: &str = "last_call_ms";
    /// The contact's latest dial's audit in one line (`Audit::compact`).
    pub const LAST_AUDIT: &str = "last_audit";
    pub const LAST_DURATION: &str = "last_duration";
    pub const SEQ: &str = "seq";
    pub const PHONE: &str = "phone";
    pub const LOCATION: &str = "location";
    /// The identity of the contact's latest claim: 1, 2, 3... never reused (a release keeps it).
    pub const CLAIM: &str = "claim";
    // attempt
    pub const CALL_SID: &str = "call_sid";
    pub const CALL_STATUS: &str = "call_status";
    pub const SEQ_NO: &str = "seq_no";
    pub const TERMINAL: &str = "terminal";
    pub const DURATION: &str = "duration";
    pub const ANSWERED_BY: &str = "answered_by";
    pub const ENDED_MS: &str = "ended_ms";
    pub const CHARGED: &str = "charged";
    pub const RELEASED: &str = "released";
    /// Twilio's refusal of the create, on the attempt that ended on it.
    pub const TWILIO_ERROR: &str = "twilio_error";
    /// Callbacks that named an attempt that was superseded (released, or another CallSid).
    pub const SUPERSEDED_CALLBACKS: &str = "superseded_callbacks";
    /// The circuit breaker: call creates in a row that failed abnormally (5xx, unknown 4xx,
    /// transport), reset by every successful create; and when that run began.
    pub const CB_FAILURES: &str = "cb_failures";
    pub const CB_SINCE_MS: &str = "cb_since_ms";
}

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub owner: String,
    pub state: CampaignState,
    pub settings: Settings,
    pub agent: AgentSnapshot,
    pub max_concurrent: u32,
    #[serde(default)]
    pub c_total: u64,
    #[serde(default)]
    pub c_pending: u64,
    #[serde(default)]
    pub c_calling: u64,
    #[serde(default)]
    pub c_retrying: u64,
    #[serde(default)]
    pub c_completed: u64,
    #[serde(default)]
    pub c_failed: u64,
    #[serde(default)]
    pub c_skipped: u64,
    #[serde(default)]
    pub calls_placed: u64,
    #[serde(default)]
    pub calls_answered: u64,
    #[serde(default)]
    pub answered_seconds: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_called_ms: Option<i64>,
    pub import_state: ImportState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_report: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_etag: Option<String>,
    #[serde(default)]
    pub import_rows: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_beat_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default)]
    pub next_dial_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_key: Option<String>,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
}

impl From<CampaignRecord> for Campaign {
    fn from(r: CampaignRecord) -> Self {
        Campaign {
            id: r.id,
            owner: r.owner,
            state: r.state,
            settings: r.settings,
            agent: r.agent,
            counters: Counters {
                total: r.c_total,
                pending: r.c_pending,
                calling: r.c_calling,
                retrying: r.c_retrying,
                completed: r.c_completed,
                failed: r.c_failed,
                skipped: r.c_skipped,
            },
            totals: CallTotals {
                calls_placed: r.calls_placed,
                calls_answered: r.calls_answered,
                answered_seconds: r.answered_seconds,
                last_called_at: r.last_called_ms.map(from_ms),
            },
            import_state: r.import_state,
            import_report: r.import_report,
            import_error: r.import_error,
            failure_reason: r.failure_reason,
            next_dial_at: (r.next_dial_ms > 0).then(|| from_ms(r.next_dial_ms)),
            created_at: from_ms(r.created_ms),
            updated_at: from_ms(r.updated_ms),
            started_at: r.started_ms.map(from_ms),
            completed_at: r.completed_ms.map(from_ms),
            upload_key: r.upload_key,
        }
    }
}

impl CampaignRecord {
    /// A new draft campaign's item.
    pub fn new_draft(c: &Campaign) -> Self {
        use super::keys::*;
        let created_ms = to_ms(c.created_at);
        CampaignRecord {
            pk: campaign_pk(&c.id),
            sk: META.to_string(),
            entity: "campaign".into(),
            id: c.id.clone(),
            owner: c.owner.clone(),
            state: c.state,
            settings: c.settings.clone(),
            agent: c.agent.clone(),
            max_concurrent: c.settings.max_concurrent_calls,
            c_total: c.counters.total,
            c_pending: c.counters.pending,
            c_calling: c.counters.calling,
            c_retrying: c.counters.retrying,
            c_completed: c.counters.completed,
            c_failed: c.counters.failed,
            c_skipped: c.counters.skipped,
            calls_placed: 0,
            calls_answered: 0,
            answered_seconds: 0,
            last_called_ms: None,
            import_state: c.import_state,
            import_report: c.import_report.clone(),
            import_error: c.import_error.clone(),
            import_etag: None,
            import_rows: 0,
            import_beat_ms: None,
            failure_reason: None,
            next_dial_ms: 0,
            created_ms,
            updated_ms: to_ms(c.updated_at),
            started_ms: None,
            completed_ms: None,
            upload_key: c.upload_key.clone(),
            gsi1pk: user_pk(&c.owner),
            gsi1sk: owner_sort(created_ms, &c.id),
            gsi2pk: c.state.is_active().then(|| active_pk(&c.id)),
            gsi2sk: c.state.is_active().then(|| c.id.clone()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactRecord {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub campaign_id: String,
    pub phone: String,
    /// The phone cell as written in the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_text: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_parts: Vec<String>,
    pub seq: u64,
    pub row: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// Plausible zones and states with their sources, computed at import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    pub state: ContactState,
    /// Charged attempts (what the retry policy counts); a released claim gives its charge back.
    #[serde(default)]
    pub attempts: u32,
    /// The identity of the latest claim (the attempt item's number); never decreases.
    #[serde(default)]
    pub claim: u32,
    #[serde(default)]
    pub next_attempt_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_call_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_duration: Option<u32>,
    /// Why the latest dial was allowed, in one line (written by the claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_audit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi3sk: Option<String>,
}

impl From<ContactRecord> for Contact {
    fn from(r: ContactRecord) -> Self {
        let location = r.location.unwrap_or_else(|| crate::domain::compliance::locate(&r.phone, &r.metadata));
        Contact {
            campaign_id: r.campaign_id,
            phone: r.phone,
            phone_text: r.phone_text,
            name_parts: r.name_parts,
            seq: r.seq,
            row: r.row,
            name: r.name,
            metadata: r.metadata,
            timezone: r.tz,
            location,
            state: r.state,
            attempts: r.attempts,
            next_attempt_at: (r.next_attempt_ms > 0).then(|| from_ms(r.next_attempt_ms)),
            lease_until: r.lease_until_ms.map(from_ms),
            outcome: r.outcome,
            failure_reason: r.failure_reason,
            last_call_at: r.last_call_ms.map(from_ms),
            last_duration_seconds: r.last_duration,
            last_audit: r.last_audit.filter(|a| !a.is_empty()),
        }
    }
}

/// One claim of a contact: written before the call is created (invariant 1). `n` is the
/// claim's identity (never reused); `charged` the attempt number the retry policy sees.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub campaign_id: String,
    pub phone: String,
    pub n: u32,
    #[serde(default)]
    pub charged: u32,
    /// Given back without a call (Twilio proved none exists, or it was canceled before it
    /// connected): terminal, uncharged.
    #[serde(default)]
    pub released: bool,
    pub started_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_status: Option<String>,
    #[serde(default)]
    pub seq_no: i64,
    #[serde(default)]
    pub terminal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_ms: Option<i64>,
    /// Why the dial was allowed: the compliance audit (`domain::compliance::Audit` as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<serde_json::Value>,
    /// The campaign's owner and name and the contact's name, copied by the claim so the
    /// owner's recent calls (gsi1, `K#<owner>`) read as one Query. Absent on attempts claimed
    /// before that index existed (they are not in it either).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_name: Option<String>,
    /// Twilio's refusal of the call's create (its error code and message), when the attempt
    /// ended on one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twilio_error: Option<String>,
    /// `K#<owner>` / `<started ms>#<campaign id>#<e164>#<nn>` (keys::owner_calls_pk, call_sort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi1sk: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AgentRecord {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub owner: String,
    pub name: String,
    pub prompt_text: String,
    pub created_ms: i64,
}

impl From<AgentRecord> for AgentSnapshot {
    fn from(r: AgentRecord) -> Self {
        AgentSnapshot { id: r.id, name: r.name, prompt_text: r.prompt_text }
    }
}

pub fn parse_item<T: serde::de::DeserializeOwned>(
    item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> Result<T, RepoError> {
    Ok(serde_dynamo::from_item(item)?)
}
