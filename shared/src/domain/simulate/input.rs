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
