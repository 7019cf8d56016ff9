//! A campaign's compliance settings: values on `Settings`, validated with the rest of them.
//! Every one can only make the rules stricter: the recipient window stays inside
//! 08:00-21:00, the state rules always apply, caps are at least as strict as the states'.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::error::FieldError;

/// The most calls a cap may allow, per 24 hours and per 7 days: the claim keeps this many
/// past call instants per number.
pub const MAX_CAP_HISTORY: u32 = 20;
/// Blocked dates a campaign may list.
pub const MAX_BLOCKED_DATES: usize = 366;

/// What to do with a number no source places in any time zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnknownTimezone {
    /// Use the campaign's time zone for the recipient window.
    #[default]
    Campaign,
    /// Skip the contact with a reason.
    Skip,
}

/// The recipient's own window, in their local time, inside 08:00-21:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecipientHours {
    #[schema(value_type = String, example = "08:00")]
    #[serde(with = "crate::domain::settings::hhmm")]
    pub start_time: NaiveTime,
    #[schema(value_type = String, example = "21:00")]
    #[serde(with = "crate::domain::settings::hhmm")]
    pub end_time: NaiveTime,
}

impl Default for RecipientHours {
    fn default() -> Self {
        Self {
            start_time: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            end_time: NaiveTime::from_hms_opt(21, 0, 0).unwrap_or_default(),
        }
    }
}

/// Calls to one number across all of an owner's campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FrequencyCap {
    /// At most this many calls in a rolling 24 hours (default 3).
    pub per_24h: u32,
    /// Optionally at most this many in a rolling 7 days.
    pub per_7_days: Option<u32>,
}

impl Default for FrequencyCap {
    fn default() -> Self {
        Self {
            per_24h: 3,
            per_7_days: None,
        }
    }
}

/// The request's shape (every field optional; errors name the field).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientHoursInput {
    /// "HH:MM", not before 08:00.
    pub start_time: Option<String>,
    /// "HH:MM", not after 21:00.
    pub end_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCapInput {
    pub per_24h: Option<i64>,
    pub per_7_days: Option<i64>,
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

pub fn validate_unknown_timezone(v: Option<String>) -> Result<UnknownTimezone, FieldError> {
    match v.as_deref().map(str::trim) {
        None | Some("campaign") => Ok(UnknownTimezone::Campaign),
        Some("skip") => Ok(UnknownTimezone::Skip),
        Some(other) => Err(err(
            "unknown_timezone",
            format!("unknown_timezone {other:?} must be \"campaign\" or \"skip\""),
        )),
    }
}

pub fn validate_recipient_hours(
    v: Option<RecipientHoursInput>,
) -> Result<RecipientHours, FieldError> {
    let d = RecipientHours::default();
    let Some(v) = v else { return Ok(d) };
    let parse = |field: &str, s: Option<String>, default: NaiveTime| match s {
        None => Ok(default),
        Some(s) => crate::domain::settings::parse_hhmm(&s)
            .ok_or_else(|| err(field, format!("{s:?} is not a HH:MM time"))),
    };
    let start_time = parse("recipient_hours.start_time", v.start_time, d.start_time)?;
    let end_time = parse("recipient_hours.end_time", v.end_time, d.end_time)?;
    if start_time < d.start_time {
        return Err(err(
            "recipient_hours.start_time",
            "recipient_hours can only be stricter than 08:00-21:00: start_time is before 08:00",
        ));
    }
    if end_time > d.end_time {
        return Err(err(
            "recipient_hours.end_time",
            "recipient_hours can only be stricter than 08:00-21:00: end_time is after 21:00",
        ));
    }
    if end_time <= start_time {
        return Err(err(
            "recipient_hours.end_time",
            "end_time must be after start_time",
        ));
    }
    Ok(RecipientHours {
        start_time,
        end_time,
    })
}

pub fn validate_frequency_cap(v: Option<FrequencyCapInput>) -> Result<FrequencyCap, FieldError> {
    let d = FrequencyCap::default();
    let Some(v) = v else { return Ok(d) };
    let per_24h = v.per_24h.unwrap_or(i64::from(d.per_24h));
    if !(1..=i64::from(MAX_CAP_HISTORY)).contains(&per_24h) {
        return Err(err(
            "frequency_cap.per_24h",
            format!("per_24h must be between 1 and {MAX_CAP_HISTORY}"),
        ));
    }
    let per_7_days = match v.per_7_days {
        None => None,
        Some(n) if (1..=i64::from(MAX_CAP_HISTORY)).contains(&n) => Some(n as u32),
        Some(_) => {
            return Err(err(
                "frequency_cap.per_7_days",
                format!("per_7_days must be between 1 and {MAX_CAP_HISTORY}"),
            ));
        }
    };
    Ok(FrequencyCap {
        per_24h: per_24h as u32,
        per_7_days,
    })
}

pub fn validate_blocked_dates(v: Option<Vec<String>>) -> Result<Vec<NaiveDate>, FieldError> {
    let v = v.unwrap_or_default();
    if v.len() > MAX_BLOCKED_DATES {
        return Err(err(
            "blocked_dates",
            format!("at most {MAX_BLOCKED_DATES} blocked dates"),
        ));
    }
    let mut out = Vec::with_capacity(v.len());
    for s in v {
        let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| err("blocked_dates", format!("{s:?} is not a YYYY-MM-DD date")))?;
        out.push(d);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_stricter_settings_are_accepted() {
        assert_eq!(
            validate_unknown_timezone(None).unwrap(),
            UnknownTimezone::Campaign
        );
        assert_eq!(
            validate_unknown_timezone(Some("skip".into())).unwrap(),
            UnknownTimezone::Skip
        );
        assert_eq!(
            validate_unknown_timezone(Some("ignore".into()))
                .unwrap_err()
                .field
                .as_deref(),
            Some("unknown_timezone")
        );
        let h = |s: &str, e: &str| RecipientHoursInput {
            start_time: Some(s.into()),
            end_time: Some(e.into()),
        };
        assert!(validate_recipient_hours(Some(h("09:00", "20:00"))).is_ok());
        assert_eq!(
            validate_recipient_hours(Some(h("07:00", "20:00")))
                .unwrap_err()
                .field
                .as_deref(),
            Some("recipient_hours.start_time")
        );
        assert_eq!(
            validate_recipient_hours(Some(h("09:00", "22:00")))
                .unwrap_err()
                .field
                .as_deref(),
            Some("recipient_hours.end_time")
        );
        let c = |a: Option<i64>, b: Option<i64>| FrequencyCapInput {
            per_24h: a,
            per_7_days: b,
        };
        assert_eq!(
            validate_frequency_cap(None).unwrap(),
            FrequencyCap {
                per_24h: 3,
                per_7_days: None
            }
        );
        assert_eq!(
            validate_frequency_cap(Some(c(Some(0), None)))
                .unwrap_err()
                .field
                .as_deref(),
            Some("frequency_cap.per_24h")
        );
        assert_eq!(
            validate_frequency_cap(Some(c(None, Some(21))))
                .unwrap_err()
                .field
                .as_deref(),
            Some("frequency_cap.per_7_days")
        );
        let d = validate_blocked_dates(Some(vec![
            "2026-12-25".into(),
            "2026-01-01".into(),
            "2026-12-25".into(),
        ]))
        .unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(
            validate_blocked_dates(Some(vec!["25/12".into()]))
                .unwrap_err()
                .field
                .as_deref(),
            Some("blocked_dates")
        );
    }

    #[test]
    fn each_limit_holds_at_the_limit_and_refuses_one_past_it() {
        let field = |e: FieldError| e.field.unwrap_or_default();
        let h = |s: &str, e: &str| {
            validate_recipient_hours(Some(RecipientHoursInput {
                start_time: Some(s.into()),
                end_time: Some(e.into()),
            }))
            .map_err(field)
        };
        assert_eq!(h("08:00", "21:00"), Ok(RecipientHours::default()));
        assert_eq!(h("07:59", "21:00").unwrap_err(), "recipient_hours.start_time");
        assert_eq!(h("08:00", "21:01").unwrap_err(), "recipient_hours.end_time");
        assert!(h("12:00", "12:01").is_ok());
        assert_eq!(h("12:00", "12:00").unwrap_err(), "recipient_hours.end_time");

        let cap = |a: i64, b: Option<i64>| {
            validate_frequency_cap(Some(FrequencyCapInput {
                per_24h: Some(a),
                per_7_days: b,
            }))
            .map_err(field)
        };
        assert_eq!(cap(1, Some(1)), Ok(FrequencyCap { per_24h: 1, per_7_days: Some(1) }));
        assert_eq!(cap(20, Some(20)), Ok(FrequencyCap { per_24h: 20, per_7_days: Some(20) }));
        assert_eq!(cap(21, None).unwrap_err(), "frequency_cap.per_24h");
        assert_eq!(cap(3, Some(0)).unwrap_err(), "frequency_cap.per_7_days");

        let dates = |n: usize| {
            let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
            let v: Vec<String> = first.iter_days().take(n).map(|d| d.to_string()).collect();
            validate_blocked_dates(Some(v)).map(|d| d.len()).map_err(field)
        };
        assert_eq!(dates(366), Ok(366));
        assert_eq!(dates(367).unwrap_err(), "blocked_dates");
    }
}
