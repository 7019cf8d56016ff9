//! Twilio call statuses and the outcomes the product records, and the pure decisions over them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Twilio's `CallStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CallStatus {
    Queued,
    Initiated,
    Ringing,
    InProgress,
    Completed,
    Busy,
    Failed,
    NoAnswer,
    Canceled,
}

impl CallStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "initiated" => Self::Initiated,
            "ringing" => Self::Ringing,
            "in-progress" => Self::InProgress,
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "failed" => Self::Failed,
            "no-answer" => Self::NoAnswer,
            "canceled" => Self::Canceled,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Initiated => "initiated",
            Self::Ringing => "ringing",
            Self::InProgress => "in-progress",
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::Failed => "failed",
            Self::NoAnswer => "no-answer",
            Self::Canceled => "canceled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Busy | Self::Failed | Self::NoAnswer | Self::Canceled)
    }

    /// Order of progress; a callback never moves a call to a lower rank.
    pub fn rank(self) -> u8 {
        match self {
            Self::Queued => 0,
            Self::Initiated => 1,
            Self::Ringing => 2,
            Self::InProgress => 3,
            _ => 4,
        }
    }
}

/// What a finished attempt amounted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Answered by a person (or AMD off) and completed.
    Completed,
    Busy,
    NoAnswer,
    Failed,
    Canceled,
    /// Answered by a machine (AMD on).
    Machine,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Busy => "busy",
            Self::NoAnswer => "no-answer",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Machine => "machine",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "completed" => Self::Completed,
            "busy" => Self::Busy,
            "no-answer" | "no_answer" | "noanswer" => Self::NoAnswer,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            "machine" => Self::Machine,
            _ => return None,
        })
    }

    /// Names accepted in `retry_policy.retryable_outcomes` (completed is never retried).
    pub fn parse_retryable(s: &str) -> Option<Self> {
        Self::parse(&s.trim().to_ascii_lowercase()).filter(|o| *o != Self::Completed)
    }

    /// The outcome of a terminal status. `answered_by` comes from machine detection.
    pub fn of(status: CallStatus, answered_by: Option<&str>, machine_detection: bool) -> Option<Self> {
        Some(match status {
            CallStatus::Completed => {
                let machine = answered_by.is_some_and(|a| a.starts_with("machine") || a == "fax");
                if machine_detection && machine { Self::Machine } else { Self::Completed }
            }
            CallStatus::Busy => Self::Busy,
            CallStatus::NoAnswer => Self::NoAnswer,
            CallStatus::Failed => Self::Failed,
            CallStatus::Canceled => Self::Canceled,
            _ => return None,
        })
    }

    /// Whether the outcome counts as a success in the campaign's stats.
    pub fn is_success(self) -> bool {
        self == Self::Completed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_rank() {
        for s in ["queued", "initiated", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"] {
            assert_eq!(CallStatus::parse(s).unwrap().as_str(), s);
        }
        assert!(CallStatus::Ringing.rank() < CallStatus::InProgress.rank());
        assert!(CallStatus::InProgress.rank() < CallStatus::Completed.rank());
        assert!(CallStatus::parse("answered").is_none());
    }

    /// Every status's terminal verdict and its rank, so a callback can never move a call back
    /// (queued < initiated < ringing < in-progress < any end) nor end it early.
    #[test]
    fn terminal_statuses_and_strict_progress_order() {
        use CallStatus::*;
        let ongoing = [Queued, Initiated, Ringing, InProgress];
        let ended = [Completed, Busy, Failed, NoAnswer, Canceled];
        for s in ongoing {
            assert!(!s.is_terminal(), "{s:?} is not terminal");
        }
        for s in ended {
            assert!(s.is_terminal(), "{s:?} is terminal");
            assert!(InProgress.rank() < s.rank(), "{s:?} ranks above every ongoing status");
        }
        for w in ongoing.windows(2) {
            assert!(w[0].rank() < w[1].rank(), "{:?} ranks below {:?}", w[0], w[1]);
        }
    }

    /// Outcomes are stored and exported by name and read back by `parse`: each round-trips,
    /// with the spellings users type in `retryable_outcomes`.
    #[test]
    fn outcomes_round_trip_by_name() {
        use Outcome::*;
        let all = [Completed, Busy, NoAnswer, Failed, Canceled, Machine];
        let names: Vec<&str> = all.iter().map(|o| o.as_str()).collect();
        assert_eq!(names, ["completed", "busy", "no-answer", "failed", "canceled", "machine"]);
        for o in all {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        assert_eq!(Outcome::parse("cancelled"), Some(Canceled));
        assert_eq!(Outcome::parse("no_answer"), Some(NoAnswer));
        assert_eq!(Outcome::parse("answered"), None);
    }

    #[test]
    fn machine_only_counts_with_detection_on() {
        assert_eq!(Outcome::of(CallStatus::Completed, Some("machine_start"), true), Some(Outcome::Machine));
        assert_eq!(Outcome::of(CallStatus::Completed, Some("machine_start"), false), Some(Outcome::Completed));
        assert_eq!(Outcome::of(CallStatus::Completed, Some("human"), true), Some(Outcome::Completed));
        assert_eq!(Outcome::of(CallStatus::Ringing, None, true), None);
        for (status, outcome) in [
            (CallStatus::Busy, Outcome::Busy),
            (CallStatus::NoAnswer, Outcome::NoAnswer),
            (CallStatus::Failed, Outcome::Failed),
            (CallStatus::Canceled, Outcome::Canceled),
        ] {
            assert_eq!(Outcome::of(status, None, true), Some(outcome), "{status:?}");
        }
        for status in [CallStatus::Queued, CallStatus::Initiated, CallStatus::InProgress] {
            assert_eq!(Outcome::of(status, None, false), None, "{status:?} is not an end");
        }
        assert_eq!(Outcome::parse_retryable("completed"), None);
        assert_eq!(Outcome::parse_retryable("No-Answer"), Some(Outcome::NoAnswer));
    }
}
