//! The contact: its state machine and the decision after each call.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::call::Outcome;
use super::settings::RetryPolicy;

/// ```text
/// pending ──lease──► calling ──completed──────────────► completed
///    ▲                 │ ├──retryable, retries left──► retrying ──lease──► calling
///    └──released───────┘ └──otherwise / exhausted────► failed
/// pending/retrying ──do-not-call──► skipped
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactState {
    Pending,
    Calling,
    Retrying,
    Completed,
    Failed,
    Skipped,
}

impl ContactState {
    pub const ALL: [Self; 6] = [Self::Pending, Self::Calling, Self::Retrying, Self::Completed, Self::Failed, Self::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Calling => "calling",
            Self::Retrying => "retrying",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Skipped)
    }

    /// May be leased for a call (when its time has come).
    pub fn is_dialable(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying)
    }
}

/// A contact as the domain sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub campaign_id: String,
    /// E.164.
    pub phone: String,
    /// The phone as written in the uploaded file (null for contacts imported before it was kept).
    #[serde(default)]
    pub phone_text: Option<String>,
    /// The first and last name cells a joined name came from, as written (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_parts: Vec<String>,
    /// Upload order (0-based), used to dial in file order.
    pub seq: u64,
    /// Spreadsheet row number in the uploaded file.
    pub row: u64,
    pub name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// IANA timezone of the contact, when it could be resolved.
    pub timezone: Option<String>,
    /// Every plausible zone and US state, each with its sources (number, timezone, ZIP or state
    /// column). The recipient window must hold in all of the zones.
    pub location: super::compliance::Location,
    pub state: ContactState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub failure_reason: Option<String>,
    pub last_call_at: Option<DateTime<Utc>>,
    pub last_duration_seconds: Option<u32>,
    /// Why the latest dial was allowed, in one line (`compliance::Audit::compact`).
    pub last_audit: Option<String>,
}

/// What happens to a contact after an attempt ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterCall {
    Completed,
    Retry { at: DateTime<Utc> },
    Failed { exhausted: bool },
}

impl AfterCall {
    pub fn state(&self) -> ContactState {
        match self {
            Self::Completed => ContactState::Completed,
            Self::Retry { .. } => ContactState::Retrying,
            Self::Failed { .. } => ContactState::Failed,
        }
    }
}

/// Decide the contact's next state after attempt number `attempt` (1-based) ended with
/// `outcome`. `jitter` in 0..=1 spreads retries over up to 5% of the backoff (at most 5 min).
pub fn after_call(attempt: u32, outcome: Outcome, policy: &RetryPolicy, now: DateTime<Utc>, jitter: f64) -> AfterCall {
    if outcome.is_success() {
        return AfterCall::Completed;
    }
    if !policy.retryable_outcomes.contains(&outcome) {
        return AfterCall::Failed { exhausted: false };
    }
    // attempt 1 is the first call; retries are attempts 2..=max_retries+1.
    if attempt > policy.max_retries {
        return AfterCall::Failed { exhausted: true };
    }
    let backoff = policy.backoff(attempt);
    let spread_ms = (backoff.num_milliseconds() as f64 * 0.05).min(300_000.0);
    let extra = chrono::Duration::milliseconds((spread_ms * jitter.clamp(0.0, 1.0)) as i64);
    AfterCall::Retry { at: now + backoff + extra }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// States are stored by name; which are terminal and which may be leased decides dialing.
    #[test]
    fn states_by_name_and_what_each_allows() {
        use ContactState::*;
        let names: Vec<&str> = ContactState::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names, ["pending", "calling", "retrying", "completed", "failed", "skipped"]);
        for c in ContactState::ALL {
            assert_eq!(ContactState::parse(c.as_str()), Some(c));
        }
        assert_eq!(ContactState::parse("done"), None);
        let terminal: Vec<_> = ContactState::ALL.into_iter().filter(|c| c.is_terminal()).collect();
        assert_eq!(terminal, [Completed, Failed, Skipped]);
        let dialable: Vec<_> = ContactState::ALL.into_iter().filter(|c| c.is_dialable()).collect();
        assert_eq!(dialable, [Pending, Retrying], "a calling contact is never leased again");
    }

    #[test]
    fn retry_until_exhausted() {
        let p = RetryPolicy::default();
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        assert_eq!(after_call(1, Outcome::NoAnswer, &p, now, 0.0), AfterCall::Retry { at: now + chrono::Duration::hours(1) });
        assert_eq!(after_call(3, Outcome::Busy, &p, now, 0.0), AfterCall::Retry { at: now + chrono::Duration::hours(24) });
        assert_eq!(after_call(4, Outcome::Busy, &p, now, 0.0), AfterCall::Failed { exhausted: true });
        assert_eq!(after_call(1, Outcome::Completed, &p, now, 0.0), AfterCall::Completed);
        assert_eq!(after_call(1, Outcome::Machine, &p, now, 0.0), AfterCall::Failed { exhausted: false });
        match after_call(1, Outcome::NoAnswer, &p, now, 1.0) {
            AfterCall::Retry { at } => assert_eq!(at, now + chrono::Duration::hours(1) + chrono::Duration::minutes(3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_retries_policy_fails_at_once() {
        let p = RetryPolicy { max_retries: 0, ..RetryPolicy::default() };
        let now = Utc::now();
        assert_eq!(after_call(1, Outcome::NoAnswer, &p, now, 0.5), AfterCall::Failed { exhausted: true });
    }
}
