//! The campaign: its state machine, its counters and the stats derived from them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::settings::Settings;

/// ```text
/// draft ──start──► pending ──(start time reached)──► running ──(no work left)──► completed
///                    │  ▲                              │  ▲
///                  pause│ resume (start in future)    pause│ resume
///                    ▼  │                              ▼  │
///                   paused ◄───────────────────────────┘  │
///                      └───────────resume─────────────────┘
/// running ──(Twilio refuses the account or credentials, circuit breaker)──► paused (with a reason)
/// draft ──(import fails)──► failed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    Pending,
    Running,
    Paused,
    Completed,
    Failed,
}

impl CampaignState {
    pub const ALL: [Self; 6] = [Self::Draft, Self::Pending, Self::Running, Self::Paused, Self::Completed, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Pending => "pending",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed)
    }

    /// Campaigns the scheduler tick must look at: they may start, dial, or have calls in flight.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Pending | Self::Running | Self::Paused)
    }
}

/// A user action on a campaign's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Pause,
    Resume,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Delete => "delete",
        }
    }

    /// The states the action may be taken from.
    pub fn allowed_from(self) -> &'static [CampaignState] {
        use CampaignState::*;
        match self {
            Self::Start => &[Draft],
            Self::Pause => &[Pending, Running],
            Self::Resume => &[Paused],
            Self::Delete => &[Draft, Pending, Paused, Completed, Failed],
        }
    }

    /// The state after the action. `start_due` says whether the scheduled start has come.
    pub fn target(self, start_due: bool) -> Option<CampaignState> {
        use CampaignState::*;
        match self {
            Self::Start => Some(Pending),
            Self::Pause => Some(Paused),
            Self::Resume => Some(if start_due { Running } else { Pending }),
            Self::Delete => None,
        }
    }
}

/// Where the contact import stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    AwaitingUpload,
    Importing,
    Imported,
    Failed,
}

impl ImportState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingUpload => "awaiting_upload",
            Self::Importing => "importing",
            Self::Imported => "imported",
            Self::Failed => "failed",
        }
    }
}

/// Contact counts by state, kept on the campaign item and changed in the same transaction as
/// the contact (invariant 7: they always equal a recount).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counters {
    pub total: u64,
    pub pending: u64,
    pub calling: u64,
    pub retrying: u64,
    pub completed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counters {
    /// Contacts that still have work: completion waits for this to be zero.
    pub fn open(&self) -> u64 {
        self.pending + self.calling + self.retrying
    }
}

/// Aggregates over finished calls, for the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallTotals {
    /// Calls placed (attempts).
    pub calls_placed: u64,
    /// Calls that reached the completed outcome.
    pub calls_answered: u64,
    /// Sum of durations of answered calls, seconds.
    pub answered_seconds: u64,
    pub last_called_at: Option<DateTime<Utc>>,
}

/// The figures the dashboard shows.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Stats {
    pub total: u64,
    pub pending: u64,
    pub calling: u64,
    pub retrying: u64,
    pub completed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub calls_placed: u64,
    /// Completed contacts over finished contacts, 0..=1; null before any finished.
    pub success_rate: Option<f64>,
    /// Mean duration of answered calls, seconds.
    pub average_duration_seconds: Option<f64>,
    pub last_called_at: Option<DateTime<Utc>>,
    /// Finished contacts over all contacts, 0..=100.
    pub progress_percent: f64,
    /// What the campaign is waiting for now (`domain::waiting`): in `GET /campaigns/{id}` with
    /// the head of the work queue, in lists and action responses from the campaign alone.
    pub waiting: Option<super::waiting::Waiting>,
}

impl Stats {
    pub fn from_parts(c: &Counters, t: &CallTotals) -> Self {
        let finished = c.completed + c.failed + c.skipped;
        let done = c.completed + c.failed;
        Self {
            total: c.total,
            pending: c.pending,
            calling: c.calling,
            retrying: c.retrying,
            completed: c.completed,
            failed: c.failed,
            skipped: c.skipped,
            calls_placed: t.calls_placed,
            success_rate: (done > 0).then(|| c.completed as f64 / done as f64),
            average_duration_seconds: (t.calls_answered > 0).then(|| t.answered_seconds as f64 / t.calls_answered as f64),
            last_called_at: t.last_called_at,
            progress_percent: if c.total == 0 { 0.0 } else { (finished as f64 * 1000.0 / c.total as f64).round() / 10.0 },
            waiting: None,
        }
    }
}

/// The agent as it was when the campaign was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AgentSnapshot {
    pub id: String,
    pub name: String,
    pub prompt_text: String,
}

/// A campaign as the domain sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Campaign {
    pub id: String,
    pub owner: String,
    pub state: CampaignState,
    pub settings: Settings,
    pub agent: AgentSnapshot,
    pub counters: Counters,
    pub totals: CallTotals,
    pub import_state: ImportState,
    pub import_report: Option<serde_json::Value>,
    pub import_error: Option<String>,
    pub failure_reason: Option<String>,
    /// When the next call may start (pacing).
    pub next_dial_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub upload_key: Option<String>,
}

impl Campaign {
    /// A new draft: no contacts, no calls yet.
    pub fn new_draft(
        id: &str,
        owner: &str,
        settings: Settings,
        agent: AgentSnapshot,
        import_state: ImportState,
        now: DateTime<Utc>,
    ) -> Self {
        Campaign {
            id: id.to_string(),
            owner: owner.to_string(),
            state: CampaignState::Draft,
            settings,
            agent,
            counters: Counters::default(),
            totals: CallTotals::default(),
            import_state,
            import_report: None,
            import_error: None,
            failure_reason: None,
            next_dial_at: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            completed_at: None,
            upload_key: None,
        }
    }

    pub fn stats(&self) -> Stats {
        Stats::from_parts(&self.counters, &self.totals)
    }

    pub fn start_due(&self, now: DateTime<Utc>) -> bool {
        self.settings.scheduled_start_time.is_none_or(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use CampaignState::*;
        assert!(Action::Start.allowed_from().contains(&Draft));
        assert!(!Action::Start.allowed_from().contains(&Running));
        assert!(!Action::Delete.allowed_from().contains(&Running));
        assert_eq!(Action::Resume.target(true), Some(Running));
        assert_eq!(Action::Resume.target(false), Some(Pending));
        for s in CampaignState::ALL {
            assert_eq!(CampaignState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn stats_from_counters() {
        let c = Counters { total: 10, pending: 2, calling: 1, retrying: 1, completed: 4, failed: 1, skipped: 1 };
        let t = CallTotals { calls_placed: 8, calls_answered: 4, answered_seconds: 400, last_called_at: None };
        let s = Stats::from_parts(&c, &t);
        assert_eq!(s.success_rate, Some(0.8));
        assert_eq!(s.average_duration_seconds, Some(100.0));
        assert_eq!(s.progress_percent, 60.0);
        assert_eq!(c.open(), 4);
    }

    #[test]
    fn no_rate_or_mean_before_anything_finished() {
        // Only skipped contacts and no answered call: nothing to divide by.
        let c = Counters { total: 3, pending: 2, skipped: 1, ..Counters::default() };
        let t = CallTotals { calls_placed: 2, ..CallTotals::default() };
        let s = Stats::from_parts(&c, &t);
        assert_eq!(s.success_rate, None);
        assert_eq!(s.average_duration_seconds, None);
        let empty = Stats::from_parts(&Counters::default(), &CallTotals::default());
        assert_eq!((empty.success_rate, empty.average_duration_seconds, empty.progress_percent), (None, None, 0.0));
    }

    #[test]
    fn the_tick_watches_pending_running_and_paused_and_nothing_leaves_completed_or_failed() {
        use CampaignState::*;
        let active: Vec<_> = CampaignState::ALL.into_iter().filter(|s| s.is_active()).collect();
        assert_eq!(active, vec![Pending, Running, Paused]);
        let terminal: Vec<_> = CampaignState::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, vec![Completed, Failed]);
        for s in terminal {
            for a in [Action::Start, Action::Pause, Action::Resume] {
                assert!(!a.allowed_from().contains(&s), "{} from {}", a.as_str(), s.as_str());
            }
        }
    }

    #[test]
    fn stored_names_are_the_serde_names() {
        // Conditions written with `as_str` must match what the record stores through serde.
        for s in CampaignState::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        use ImportState::*;
        for s in [AwaitingUpload, Importing, Imported, Failed] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        // Actions are named in errors the way the API's routes name them.
        let names: Vec<_> = [Action::Start, Action::Pause, Action::Resume, Action::Delete].map(Action::as_str).into();
        assert_eq!(names, vec!["start", "pause", "resume", "delete"]);
    }

    #[test]
    fn a_campaign_is_due_at_its_start_time_and_not_a_moment_before() {
        use chrono::TimeZone;
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let input = crate::domain::settings::SettingsInput {
            agent_id: Some("a".into()),
            scheduled_start_time: Some(start),
            ..Default::default()
        };
        let settings = input.validate(start, false).unwrap();
        let agent = AgentSnapshot { id: "a".into(), name: "A".into(), prompt_text: "p".into() };
        let mut c = Campaign::new_draft("c1", "alice", settings, agent, ImportState::Imported, start);
        assert!(!c.start_due(start - chrono::Duration::seconds(1)));
        assert!(c.start_due(start));
        assert!(c.start_due(start + chrono::Duration::hours(1)));
        // No start time: due as soon as started.
        c.settings.scheduled_start_time = None;
        assert!(c.start_due(start - chrono::Duration::days(1)));
    }
}
