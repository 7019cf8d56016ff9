//! Campaign settings: what the user chose, validated once, then snapshotted on the campaign.
//!
//! `SettingsInput` is what a request carries (every field optional, so a missing field gets a
//! specific error instead of a serde message); `Settings` is the validated value the rest of
//! the system uses. Parse, don't validate: nothing downstream re-checks these rules.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::call::Outcome;
use super::compliance::policy::{
    FrequencyCap, FrequencyCapInput, RecipientHours, RecipientHoursInput, UnknownTimezone, validate_blocked_dates, validate_frequency_cap,
    validate_recipient_hours, validate_unknown_timezone,
};
use super::error::FieldError;

/// The most retries a campaign may ask for.
pub const MAX_RETRIES_CAP: u32 = 10;
/// The longest pacing delay: one hour between calls.
pub const MAX_PACING_SECONDS: u32 = 3600;
/// The most calls a campaign may have in flight at once.
pub const MAX_CONCURRENT_CAP: u32 = 50;
/// The longest single backoff: thirty days.
pub const MAX_BACKOFF_HOURS: f64 = 24.0 * 30.0;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// Campaign name shown in lists; defaults to "Campaign <start date>".
    pub name: Option<String>,
    /// The id of one of your agents (`POST /agents`).
    #[schema(value_type = String, required = true, min_length = 1)]
    pub agent_id: Option<String>,
    /// IANA timezone, e.g. "America/New_York".
    pub timezone: Option<String>,
    /// RFC 3339 instant. Missing means "as soon as started".
    pub scheduled_start_time: Option<DateTime<Utc>>,
    pub pacing: Option<PacingInput>,
    pub business_hours: Option<BusinessHoursInput>,
    pub retry_policy: Option<RetryPolicyInput>,
    pub max_concurrent_calls: Option<u32>,
    /// ISO 3166 region used for numbers written without a country code.
    pub default_region: Option<String>,
    /// Ask Twilio for answering-machine detection.
    pub machine_detection: Option<bool>,
    /// Explicit phone column header (otherwise detected).
    pub phone_column: Option<String>,
    /// Explicit name column header (otherwise detected).
    pub name_column: Option<String>,
    /// A number no source places in a time zone: "campaign" (use the campaign's zone, the
    /// default) or "skip".
    pub unknown_timezone: Option<String>,
    /// The recipient's window in their own time; only stricter than 08:00-21:00.
    pub recipient_hours: Option<RecipientHoursInput>,
    /// Calls per number across the owner's campaigns (default 3 per 24 hours).
    pub frequency_cap: Option<FrequencyCapInput>,
    /// "YYYY-MM-DD" dates, in the campaign's time zone, on which nothing is dialed.
    pub blocked_dates: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PacingInput {
    pub delay_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHoursInput {
    pub enabled: Option<bool>,
    /// ISO weekdays, 1 = Monday .. 7 = Sunday.
    pub days: Option<Vec<i64>>,
    /// "HH:MM", local to the campaign's timezone.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicyInput {
    pub max_retries: Option<i64>,
    pub backoff_hours: Option<Vec<f64>>,
    pub retryable_outcomes: Option<Vec<String>>,
}

/// Validated settings, stored on the campaign as its snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    pub name: String,
    pub agent_id: String,
    #[schema(value_type = String)]
    pub timezone: Tz,
    pub scheduled_start_time: Option<DateTime<Utc>>,
    pub pacing: Pacing,
    pub business_hours: BusinessHours,
    pub retry_policy: RetryPolicy,
    pub max_concurrent_calls: u32,
    pub default_region: String,
    pub machine_detection: bool,
    pub phone_column: Option<String>,
    pub name_column: Option<String>,
    #[serde(default)]
    pub unknown_timezone: UnknownTimezone,
    #[serde(default)]
    pub recipient_hours: RecipientHours,
    #[serde(default)]
    pub frequency_cap: FrequencyCap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>, example = json!(["2026-12-25"]))]
    pub blocked_dates: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pacing {
    pub delay_seconds: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BusinessHours {
    pub enabled: bool,
    pub days: Vec<u8>,
    #[schema(value_type = String, example = "09:00")]
    #[serde(with = "hhmm")]
    pub start_time: NaiveTime,
    #[schema(value_type = String, example = "17:00")]
    #[serde(with = "hhmm")]
    pub end_time: NaiveTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub backoff_hours: Vec<f64>,
    pub retryable_outcomes: Vec<Outcome>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        Self {
            enabled: false,
            days: vec![1, 2, 3, 4, 5],
            start_time: NaiveTime::from_hms_opt(9, 0, 0).expect("constant time"),
            end_time: NaiveTime::from_hms_opt(17, 0, 0).expect("constant time"),
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            backoff_hours: vec![1.0, 4.0, 24.0],
            retryable_outcomes: vec![Outcome::NoAnswer, Outcome::Busy, Outcome::Failed],
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based); the last entry repeats.
    pub fn backoff(&self, retry: u32) -> chrono::Duration {
        let hours = self
            .backoff_hours
            .get(retry.saturating_sub(1) as usize)
            .or(self.backoff_hours.last())
            .copied()
            .unwrap_or(1.0);
        chrono::Duration::milliseconds((hours * 3_600_000.0).round() as i64)
    }
}

pub(crate) mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &NaiveTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.format("%H:%M").to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveTime, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_hhmm(&s).ok_or_else(|| serde::de::Error::custom("expected HH:MM"))
    }
}

pub(crate) fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if h == 24 && m == 0 {
        // "24:00" means end of day; the closest NaiveTime is 23:59:59.
        return NaiveTime::from_hms_opt(23, 59, 59);
    }
    NaiveTime::from_hms_opt(h, m, 0)
}

fn err(field: &str, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

impl SettingsInput {
    /// Validate against the clock. `require_future_start` is true on create: a start time in the
    /// past is a mistake there, while a stored campaign's start time naturally passes.
    pub fn validate(self, now: DateTime<Utc>, require_future_start: bool) -> Result<Settings, FieldError> {
        let agent_id = self
            .agent_id
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| err("agent_id", "agent_id is required"))?;
        if agent_id.len() > 128 {
            return Err(err("agent_id", "agent_id is too long"));
        }
        let tz_name = self.timezone.unwrap_or_else(|| "UTC".to_string());
        let timezone: Tz = tz_name
            .trim()
            .parse()
            .map_err(|_| err("timezone", format!("unknown timezone {tz_name:?}; use an IANA name such as America/New_York")))?;
        if let Some(start) = self.scheduled_start_time {
            // A minute of grace absorbs the client's clock skew and the request's own latency.
            if require_future_start && start < now - chrono::Duration::minutes(1) {
                return Err(err("scheduled_start_time", "scheduled_start_time is in the past"));
            }
        }
        let delay = self.pacing.and_then(|p| p.delay_seconds).unwrap_or(10);
        if delay < 0 {
            return Err(err("pacing.delay_seconds", "delay_seconds cannot be negative"));
        }
        if delay > i64::from(MAX_PACING_SECONDS) {
            return Err(err("pacing.delay_seconds", format!("delay_seconds is at most {MAX_PACING_SECONDS}")));
        }
        let business_hours = validate_hours(self.business_hours.unwrap_or_default())?;
        let retry_policy = validate_retry(self.retry_policy.unwrap_or_default())?;
        let max_concurrent_calls = self.max_concurrent_calls.unwrap_or(1);
        if max_concurrent_calls == 0 || max_concurrent_calls > MAX_CONCURRENT_CAP {
            return Err(err("max_concurrent_calls", format!("max_concurrent_calls must be between 1 and {MAX_CONCURRENT_CAP}")));
        }
        let default_region = self.default_region.unwrap_or_else(|| "US".to_string()).trim().to_ascii_uppercase();
        if default_region.len() != 2 || !default_region.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err("default_region", "default_region must be a two-letter ISO 3166 region code such as US"));
        }
        if !contacts_parser::phone::is_supported_region(&default_region) {
            return Err(err("default_region", format!("default_region {default_region:?} is not a region libphonenumber knows")));
        }
        let name = match self.name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty()) {
            Some(n) if n.chars().count() > 200 => return Err(err("name", "name is at most 200 characters")),
            Some(n) => n,
            None => {
                let when = self.scheduled_start_time.unwrap_or(now).with_timezone(&timezone);
                format!("Campaign {}", when.format("%b %-d, %Y %-I:%M %p"))
            }
        };
        Ok(Settings {
            name,
            agent_id,
            timezone,
            scheduled_start_time: self.scheduled_start_time,
            pacing: Pacing { delay_seconds: delay as u32 },
            business_hours,
            retry_policy,
            max_concurrent_calls,
            default_region,
            machine_detection: self.machine_detection.unwrap_or(false),
            phone_column: self.phone_column.filter(|s| !s.trim().is_empty()),
            name_column: self.name_column.filter(|s| !s.trim().is_empty()),
            unknown_timezone: validate_unknown_timezone(self.unknown_timezone)?,
            recipient_hours: validate_recipient_hours(self.recipient_hours)?,
            frequency_cap: validate_frequency_cap(self.frequency_cap)?,
            blocked_dates: validate_blocked_dates(self.blocked_dates)?,
        })
    }
}

fn validate_hours(input: BusinessHoursInput) -> Result<BusinessHours, FieldError> {
    let d = BusinessHours::default();
    let enabled = input.enabled.unwrap_or(false);
    let mut days = match input.days {
        None => d.days,
        Some(days) => {
            let mut out = Vec::with_capacity(days.len());
            for (i, day) in days.into_iter().enumerate() {
                if !(1..=7).contains(&day) {
                    return Err(err(
                        &format!("business_hours.days[{i}]"),
                        format!("day {day} is outside 1 (Monday) to 7 (Sunday)"),
                    ));
                }
                out.push(day as u8);
            }
            out
        }
    };
    days.sort_unstable();
    days.dedup();
    if enabled && days.is_empty() {
        return Err(err("business_hours.days", "business hours are enabled but no day is allowed"));
    }
    let start_time = match input.start_time {
        None => d.start_time,
        Some(s) => parse_hhmm(&s).ok_or_else(|| err("business_hours.start_time", format!("{s:?} is not a HH:MM time")))?,
    };
    let end_time = match input.end_time {
        None => d.end_time,
        Some(s) => parse_hhmm(&s).ok_or_else(|| err("business_hours.end_time", format!("{s:?} is not a HH:MM time")))?,
    };
    if end_time <= start_time {
        return Err(err("business_hours.end_time", "end_time must be after start_time"));
    }
    Ok(BusinessHours { enabled, days, start_time, end_time })
}

fn validate_retry(input: RetryPolicyInput) -> Result<RetryPolicy, FieldError> {
    let d = RetryPolicy::default();
    let max_retries = input.max_retries.unwrap_or(i64::from(d.max_retries));
    if max_retries < 0 {
        return Err(err("retry_policy.max_retries", "max_retries cannot be negative"));
    }
    if max_retries > i64::from(MAX_RETRIES_CAP) {
        return Err(err("retry_policy.max_retries", format!("max_retries is at most {MAX_RETRIES_CAP}")));
    }
    let backoff_hours = input.backoff_hours.unwrap_or(d.backoff_hours);
    if max_retries > 0 && backoff_hours.is_empty() {
        return Err(err("retry_policy.backoff_hours", "backoff_hours needs at least one entry when retries are allowed"));
    }
    for (i, h) in backoff_hours.iter().enumerate() {
        if !h.is_finite() || *h < 0.0 || *h > MAX_BACKOFF_HOURS {
            return Err(err(
                &format!("retry_policy.backoff_hours[{i}]"),
                format!("backoff {h} must be between 0 and {MAX_BACKOFF_HOURS} hours"),
            ));
        }
    }
    let retryable_outcomes = match input.retryable_outcomes {
        None => d.retryable_outcomes,
        Some(names) => {
            let mut out = Vec::with_capacity(names.len());
            for (i, n) in names.into_iter().enumerate() {
                let o = Outcome::parse_retryable(&n).ok_or_else(|| {
                    err(
                        &format!("retry_policy.retryable_outcomes[{i}]"),
                        format!("unknown outcome {n:?}; retryable outcomes are no-answer, busy, failed, canceled, machine"),
                    )
                })?;
                if !out.contains(&o) {
                    out.push(o);
                }
            }
            out
        }
    };
    Ok(RetryPolicy { max_retries: max_retries as u32, backoff_hours, retryable_outcomes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
    }

    fn base() -> SettingsInput {
        SettingsInput { agent_id: Some("a1".into()), timezone: Some("America/New_York".into()), ..Default::default() }
    }

    #[test]
    fn defaults_are_the_sequential_behaviour() {
        let s = base().validate(now(), true).unwrap();
        assert_eq!(s.max_concurrent_calls, 1);
        assert_eq!(s.pacing.delay_seconds, 10);
        assert_eq!(s.default_region, "US");
        assert_eq!(s.retry_policy.max_retries, 3);
        assert!(!s.business_hours.enabled);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases: Vec<(SettingsInput, &str)> = vec![
            (SettingsInput { agent_id: None, ..base() }, "agent_id"),
            (SettingsInput { timezone: Some("Mars/Olympus".into()), ..base() }, "timezone"),
            (SettingsInput { scheduled_start_time: Some(now() - chrono::Duration::hours(1)), ..base() }, "scheduled_start_time"),
            (SettingsInput { pacing: Some(PacingInput { delay_seconds: Some(-1) }), ..base() }, "pacing.delay_seconds"),
            (SettingsInput { pacing: Some(PacingInput { delay_seconds: Some(100_000) }), ..base() }, "pacing.delay_seconds"),
            (
                SettingsInput {
                    business_hours: Some(BusinessHoursInput { days: Some(vec![1, 0]), ..Default::default() }),
                    ..base()
                },
                "business_hours.days[1]",
            ),
            (
                SettingsInput {
                    business_hours: Some(BusinessHoursInput {
                        start_time: Some("17:00".into()),
                        end_time: Some("09:00".into()),
                        ..Default::default()
                    }),
                    ..base()
                },
                "business_hours.end_time",
            ),
            (
                SettingsInput {
                    business_hours: Some(BusinessHoursInput { start_time: Some("9am".into()), ..Default::default() }),
                    ..base()
                },
                "business_hours.start_time",
            ),
            (
                SettingsInput { retry_policy: Some(RetryPolicyInput { max_retries: Some(99), ..Default::default() }), ..base() },
                "retry_policy.max_retries",
            ),
            (
                SettingsInput {
                    retry_policy: Some(RetryPolicyInput { retryable_outcomes: Some(vec!["voicemail".into()]), ..Default::default() }),
                    ..base()
                },
                "retry_policy.retryable_outcomes[0]",
            ),
            (
                SettingsInput {
                    retry_policy: Some(RetryPolicyInput { backoff_hours: Some(vec![1.0, f64::NAN]), ..Default::default() }),
                    ..base()
                },
                "retry_policy.backoff_hours[1]",
            ),
            (SettingsInput { max_concurrent_calls: Some(0), ..base() }, "max_concurrent_calls"),
            (SettingsInput { default_region: Some("USA".into()), ..base() }, "default_region"),
        ];
        for (input, field) in cases {
            let e = input.validate(now(), true).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{e:?}");
        }
    }

    /// The field an input is refused on, or `None` when it is accepted.
    fn refused_on(input: SettingsInput) -> Option<String> {
        input.validate(now(), true).err().map(|e| e.field.unwrap_or_default())
    }

    fn retry(max_retries: Option<i64>, backoff_hours: Option<Vec<f64>>) -> SettingsInput {
        SettingsInput { retry_policy: Some(RetryPolicyInput { max_retries, backoff_hours, ..Default::default() }), ..base() }
    }

    #[test]
    fn each_limit_holds_at_the_limit_and_refuses_one_past_it() {
        let delay = |d: i64| SettingsInput { pacing: Some(PacingInput { delay_seconds: Some(d) }), ..base() };
        assert_eq!(refused_on(delay(0)), None);
        assert_eq!(refused_on(delay(3600)), None);
        assert_eq!(refused_on(delay(3601)).as_deref(), Some("pacing.delay_seconds"));
        assert_eq!(refused_on(delay(-1)).as_deref(), Some("pacing.delay_seconds"));

        let concurrent = |n: u32| SettingsInput { max_concurrent_calls: Some(n), ..base() };
        assert_eq!(refused_on(concurrent(1)), None);
        assert_eq!(refused_on(concurrent(50)), None);
        assert_eq!(refused_on(concurrent(51)).as_deref(), Some("max_concurrent_calls"));
        assert_eq!(refused_on(concurrent(0)).as_deref(), Some("max_concurrent_calls"));

        let agent = |n: usize| SettingsInput { agent_id: Some("a".repeat(n)), ..base() };
        assert_eq!(refused_on(agent(128)), None);
        assert_eq!(refused_on(agent(129)).as_deref(), Some("agent_id"));
        assert_eq!(refused_on(agent(0)).as_deref(), Some("agent_id"));

        assert_eq!(refused_on(retry(Some(0), None)), None);
        assert_eq!(refused_on(retry(Some(10), None)), None);
        assert_eq!(refused_on(retry(Some(11), None)).as_deref(), Some("retry_policy.max_retries"));
        assert_eq!(refused_on(retry(Some(-1), None)).as_deref(), Some("retry_policy.max_retries"));
    }

    #[test]
    fn a_name_is_kept_up_to_200_characters_and_a_blank_one_gets_the_default() {
        let named = |n: &str| SettingsInput { name: Some(n.to_string()), ..base() };
        assert_eq!(named("  Spring renewals  ").validate(now(), true).unwrap().name, "Spring renewals");
        // Characters, not bytes: 200 accented letters are 400 bytes.
        let long = "é".repeat(200);
        assert_eq!(named(&long).validate(now(), true).unwrap().name, long);
        assert_eq!(refused_on(named(&"é".repeat(201))).as_deref(), Some("name"));
        // 12:00 UTC is 07:00 in New York.
        assert_eq!(named("   ").validate(now(), true).unwrap().name, "Campaign Mar 1, 2026 7:00 AM");
    }

    #[test]
    fn column_overrides_are_kept_and_blank_ones_mean_detect() {
        let input = SettingsInput { phone_column: Some("Mobile".into()), name_column: Some("Full name".into()), ..base() };
        let s = input.validate(now(), true).unwrap();
        assert_eq!(s.phone_column.as_deref(), Some("Mobile"));
        assert_eq!(s.name_column.as_deref(), Some("Full name"));
        let blank = SettingsInput { phone_column: Some(" ".into()), name_column: Some("".into()), ..base() };
        let s = blank.validate(now(), true).unwrap();
        assert_eq!((s.phone_column, s.name_column), (None, None));
    }

    #[test]
    fn a_start_time_may_be_a_minute_old_on_create_and_any_age_once_stored() {
        let at = |t: DateTime<Utc>| SettingsInput { scheduled_start_time: Some(t), ..base() };
        assert_eq!(refused_on(at(now())), None);
        assert_eq!(refused_on(at(now() - chrono::Duration::minutes(1))), None);
        assert_eq!(
            refused_on(at(now() - chrono::Duration::minutes(1) - chrono::Duration::seconds(1))).as_deref(),
            Some("scheduled_start_time")
        );
        // A stored campaign re-validated after its start passed.
        assert!(at(now() - chrono::Duration::days(3)).validate(now(), false).is_ok());
    }

    #[test]
    fn a_region_that_is_not_two_letters_is_refused_as_such() {
        let region = |r: &str| SettingsInput { default_region: Some(r.into()), ..base() };
        assert_eq!(region(" gb ").validate(now(), true).unwrap().default_region, "GB");
        for bad in ["USA", "U", "U1"] {
            let e = region(bad).validate(now(), true).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("default_region"));
            assert!(e.message.contains("two-letter"), "{bad}: {}", e.message);
        }
        let e = region("ZZ").validate(now(), true).unwrap_err();
        assert!(e.message.contains("not a region"), "{}", e.message);
    }

    #[test]
    fn retries_need_a_backoff_and_each_backoff_is_between_0_and_720_hours() {
        assert_eq!(refused_on(retry(Some(0), Some(vec![]))), None);
        assert_eq!(refused_on(retry(Some(1), Some(vec![]))).as_deref(), Some("retry_policy.backoff_hours"));
        assert_eq!(refused_on(retry(Some(1), Some(vec![0.0, 720.0]))), None);
        assert_eq!(refused_on(retry(Some(1), Some(vec![1.0, 720.5]))).as_deref(), Some("retry_policy.backoff_hours[1]"));
        assert_eq!(refused_on(retry(Some(1), Some(vec![-0.5]))).as_deref(), Some("retry_policy.backoff_hours[0]"));
        assert_eq!(refused_on(retry(Some(1), Some(vec![f64::INFINITY]))).as_deref(), Some("retry_policy.backoff_hours[0]"));
        assert_eq!(MAX_BACKOFF_HOURS, 720.0);
    }

    #[test]
    fn retryable_outcomes_are_kept_once_each_in_the_order_given() {
        let input = SettingsInput {
            retry_policy: Some(RetryPolicyInput {
                retryable_outcomes: Some(vec!["busy".into(), "No-Answer".into(), "busy".into()]),
                ..Default::default()
            }),
            ..base()
        };
        let s = input.validate(now(), true).unwrap();
        assert_eq!(s.retry_policy.retryable_outcomes, vec![Outcome::Busy, Outcome::NoAnswer]);
    }

    #[test]
    fn hh_mm_times_with_one_or_two_hour_digits_and_24_00_as_end_of_day() {
        let t = |h, m, s| NaiveTime::from_hms_opt(h, m, s);
        assert_eq!(parse_hhmm("09:30"), t(9, 30, 0));
        assert_eq!(parse_hhmm("7:05"), t(7, 5, 0));
        assert_eq!(parse_hhmm(" 23:59 "), t(23, 59, 0));
        assert_eq!(parse_hhmm("24:00"), t(23, 59, 59));
        assert_eq!(parse_hhmm("00:00"), t(0, 0, 0));
        for bad in ["7:5", "07:5", "07:005", "123:00", "009:00", ":30", "24:01", "25:00", "12:60", "12", "", "9am"] {
            assert_eq!(parse_hhmm(bad), None, "{bad:?}");
        }
        // Through the settings: business hours may end at midnight.
        let input = SettingsInput {
            business_hours: Some(BusinessHoursInput { end_time: Some("24:00".into()), ..Default::default() }),
            ..base()
        };
        assert_eq!(input.validate(now(), true).unwrap().business_hours.end_time, t(23, 59, 59).unwrap());
    }

    #[test]
    fn fractional_backoff_and_last_entry_repeats() {
        let p = RetryPolicy { max_retries: 5, backoff_hours: vec![0.5, 2.0], retryable_outcomes: vec![] };
        assert_eq!(p.backoff(1), chrono::Duration::minutes(30));
        assert_eq!(p.backoff(2), chrono::Duration::hours(2));
        assert_eq!(p.backoff(5), chrono::Duration::hours(2));
    }

    #[test]
    fn settings_round_trip_through_json() {
        let s = base().validate(now(), true).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let back: Settings = serde_json::from_str(&json).unwrap();
        assert_eq!(s, back);
        assert!(json.contains("\"start_time\":\"09:00\""));
    }
}
