//! What a dry run is asked: the assumptions and the page, as sent (every field optional),
//! validated with the field named.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Assumptions, DEFAULT_ANSWER_RATE, DEFAULT_CALL_SECONDS, DEFAULT_RING_SECONDS, SimFilter,
    SimPage,
};
use crate::domain::error::FieldError;

/// Contacts listed per page by default, and at most.
pub const DEFAULT_PAGE: u64 = 50;
pub const MAX_PAGE: u64 = 500;

/// The body of `POST /campaigns/{id}/simulate` (and the CLI's options).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateInput {
    /// When the campaign would start (RFC 3339). Default: now, or its scheduled start if later.
    pub start_at: Option<DateTime<Utc>>,
    /// Assumed length of an answered call, 1..3600 seconds (default 60).
    pub call_seconds: Option<i64>,
    /// Assumed length of an unanswered call, 1..600 seconds (default 30).
    pub ring_seconds: Option<i64>,
    /// Assumed share of attempts answered, 0..1 (default 0.35).
    pub answer_rate: Option<f64>,
    /// Which contacts the page lists: all (default), called, skipped or waited.
    pub filter: Option<SimFilter>,
    /// Contacts to pass over in the listed order (default 0).
    pub offset: Option<u64>,
    /// Contacts listed, 1..500 (default 50).
    pub limit: Option<u64>,
}

fn bad(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

impl SimulateInput {
    /// The assumptions and the page; `default_start` when `start_at` is not given.
    pub fn validate(
        &self,
        default_start: DateTime<Utc>,
    ) -> Result<(Assumptions, SimPage), FieldError> {
        let secs = |field: &str, v: Option<i64>, default: u32, max: i64| match v {
            None => Ok(default),
            Some(n) if (1..=max).contains(&n) => Ok(n as u32),
            Some(n) => Err(bad(
                field,
                format!("{field} must be a whole number of seconds from 1 to {max}, not {n}"),
            )),
        };
        let call_seconds = secs(
            "call_seconds",
            self.call_seconds,
            DEFAULT_CALL_SECONDS,
            3600,
        )?;
        let ring_seconds = secs("ring_seconds", self.ring_seconds, DEFAULT_RING_SECONDS, 600)?;
        let answer_rate = match self.answer_rate {
            None => DEFAULT_ANSWER_RATE,
            Some(r) if (0.0..=1.0).contains(&r) => r,
            Some(r) => {
                return Err(bad(
                    "answer_rate",
                    format!("answer_rate must be from 0 to 1, not {r}"),
                ));
            }
        };
        let limit = match self.limit {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE).contains(&n) => n,
            Some(n) => {
                return Err(bad(
                    "limit",
                    format!("limit must be from 1 to {MAX_PAGE}, not {n}"),
                ));
            }
        };
        Ok((
            Assumptions {
                start: self.start_at.unwrap_or(default_start),
                call_seconds,
                ring_seconds,
                answer_rate,
            },
            SimPage {
                filter: self.filter.unwrap_or_default(),
                offset: usize::try_from(self.offset.unwrap_or(0)).unwrap_or(usize::MAX),
                limit: limit as usize,
            },
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 14, 15, 0, 0).unwrap()
    }

    /// The field an input is refused on, or `None` when it is accepted.
    fn refused_on(input: SimulateInput) -> Option<String> {
        input.validate(now()).err().and_then(|e| e.field)
    }

    #[test]
    fn defaults_when_nothing_is_asked() {
        let (a, page) = SimulateInput::default().validate(now()).unwrap();
        assert_eq!(a, Assumptions::new(now()));
        assert_eq!(
            page,
            SimPage {
                filter: SimFilter::All,
                offset: 0,
                limit: 50
            }
        );
    }

    #[test]
    fn each_limit_holds_at_the_limit_and_refuses_one_past_it() {
        let call = |n| SimulateInput {
            call_seconds: Some(n),
            ..Default::default()
        };
        let ring = |n| SimulateInput {
            ring_seconds: Some(n),
            ..Default::default()
        };
        let rate = |r| SimulateInput {
            answer_rate: Some(r),
            ..Default::default()
        };
        let limit = |n| SimulateInput {
            limit: Some(n),
            ..Default::default()
        };
        for ok in [call(1), call(3600), ring(1), ring(600), rate(0.0), rate(1.0), limit(1), limit(500)] {
            assert_eq!(refused_on(ok), None);
        }
        let (a, page) = SimulateInput {
            call_seconds: Some(3600),
            ring_seconds: Some(600),
            answer_rate: Some(1.0),
            limit: Some(500),
            offset: Some(20),
            ..Default::default()
        }
        .validate(now())
        .unwrap();
        assert_eq!((a.call_seconds, a.ring_seconds, a.answer_rate), (3600, 600, 1.0));
        assert_eq!((page.limit, page.offset), (500, 20));
        for (bad, field) in [
            (call(0), "call_seconds"),
            (call(3601), "call_seconds"),
            (ring(0), "ring_seconds"),
            (ring(601), "ring_seconds"),
            (rate(-0.01), "answer_rate"),
            (rate(1.01), "answer_rate"),
            (rate(f64::NAN), "answer_rate"),
            (limit(0), "limit"),
            (limit(501), "limit"),
        ] {
            assert_eq!(refused_on(bad).as_deref(), Some(field));
        }
    }
}
