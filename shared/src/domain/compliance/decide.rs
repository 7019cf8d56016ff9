//! May this contact be called at this instant? Every rule gives a verdict as a value; the
//! verdicts together give the decision (dial, wait until an instant, or skip with a reason),
//! and they are the attempt's audit trail (invariant 12). Pure: the dialer and the dry run
//! call the same function.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::location::{Location, Source, SourcedState};
use super::policy::UnknownTimezone;
use super::rules::{FEDERAL, state_rule};
use crate::domain::hours::{ALL_DAYS, Window, business_window, daily_window, resolve};
use crate::domain::settings::Settings;

/// The rules a dial is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    BlockedDates,
    BusinessHours,
    UnknownTimezone,
    RecipientWindow,
    StateRule,
    DoNotCall,
    FrequencyCap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Wait,
    Skip,
}

/// One rule's verdict at the instant checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuleCheck {
    pub rule: Rule,
    pub verdict: Verdict,
    /// What was checked, in words (limits, zones, counts).
    pub detail: String,
    /// For `wait`: the earliest instant this rule allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    /// For the frequency cap: the calls to this number counted before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<CapCount>,
}

/// The frequency cap's count at the instant checked: calls to the number across the owner's
/// campaigns before this one, and the limits they were held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CapCount {
    pub in_24h: u32,
    pub max_24h: u32,
    pub in_7_days: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_7_days: Option<u32>,
}

/// A zone the contact may be in, with its local time at the instant checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ZoneAtCheck {
    pub zone: String,
    pub sources: Vec<Source>,
    /// RFC 3339 local time in that zone.
    pub local_time: String,
}

/// Why a call was (or was not) placed when it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Audit {
    /// The instant the dialer used.
    pub checked_at: DateTime<Utc>,
    pub zones: Vec<ZoneAtCheck>,
    pub states: Vec<SourcedState>,
    pub rules: Vec<RuleCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Dial,
    Wait(DateTime<Utc>),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub decision: Decision,
    pub audit: Audit,
}

/// What is known about the number's call history across the owner's campaigns.
#[derive(Debug, Clone, Copy)]
pub enum CapFacts<'a> {
    /// Past call instants (epoch ms, any order).
    History(&'a [i64]),
    /// Not read here: the claim transaction holds the cap as its condition.
    InClaim,
}

/// What is known about the owner's do-not-call list for the number.
#[derive(Debug, Clone, Copy)]
pub enum DncFacts {
    Listed(bool),
    /// Not read here: the claim transaction requires the list item to be absent.
    InClaim,
}

/// The effective 24-hour cap for a contact: the campaign's, or a state's if stricter.
pub fn cap_per_24h(settings: &Settings, location: &Location) -> u32 {
    location
        .states
        .iter()
        .filter_map(|s| state_rule(&s.state).and_then(|r| r.max_calls_per_24h))
        .fold(settings.frequency_cap.per_24h, u32::min)
}

/// Cap check over a call history: `Ok((calls in 24 h, calls in 7 days))` or the instant the
/// oldest counted call leaves the window. A call is counted while `t > now - window`.
pub fn cap_check(
    history_ms: &[i64],
    now: DateTime<Utc>,
    per_24h: u32,
    per_7_days: Option<u32>,
) -> Result<(u32, u32), DateTime<Utc>> {
    let now_ms = now.timestamp_millis();
    let mut recent: Vec<i64> = history_ms
        .iter()
        .copied()
        .filter(|t| *t > now_ms - 7 * 86_400_000)
        .collect();
    recent.sort_unstable_by(|a, b| b.cmp(a));
    let in_day = recent.iter().filter(|t| **t > now_ms - 86_400_000).count() as u32;
    let mut until: Option<i64> = None;
    if in_day >= per_24h
        && let Some(t) = recent.get(per_24h.saturating_sub(1) as usize)
    {
        until = Some(t + 86_400_000);
    }
    if let Some(m) = per_7_days
        && recent.len() as u32 >= m
        && let Some(t) = recent.get(m.saturating_sub(1) as usize)
    {
        until = Some(until.map_or(t + 7 * 86_400_000, |u| u.max(t + 7 * 86_400_000)));
    }
    match until {
        Some(ms) => Err(DateTime::from_timestamp_millis(ms).unwrap_or(now)),
        None => Ok((in_day, recent.len() as u32)),
    }
}

/// The recipient's effective daily window: the federal one, the campaign's (only stricter),
/// and every stricter state rule of every plausible state.
fn recipient_bounds(settings: &Settings, location: &Location) -> (NaiveTime, NaiveTime) {
    let hour = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    let mut start = hour(FEDERAL.start_hour).max(settings.recipient_hours.start_time);
    let mut end = hour(FEDERAL.end_hour).min(settings.recipient_hours.end_time);
    for s in &location.states {
        if let Some(r) = state_rule(&s.state) {
            start = start.max(hour(r.start_hour));
            end = end.min(hour(r.end_hour));
        }
    }
    (start, end)
}

/// The campaign's blocked dates (in its zone): open, or the start of the next date not blocked.
pub fn blocked_window(now: DateTime<Utc>, tz: Tz, blocked: &[NaiveDate]) -> Window {
    let mut date = now.with_timezone(&tz).date_naive();
    if blocked.binary_search(&date).is_err() {
        return Window::Open;
    }
    while blocked.binary_search(&date).is_ok() {
        match date.succ_opt() {
            Some(d) => date = d,
            None => break,
        }
    }
    Window::OpensAt(resolve(tz, date, NaiveTime::MIN))
}

/// The campaign's own rules (blocked dates and business hours in its zone), before any contact:
/// when closed, the dialer does not look at contacts until the window opens.
pub fn campaign_window(now: DateTime<Utc>, s: &Settings) -> Window {
    match (blocked_window(now, s.timezone, &s.blocked_dates), business_window(now, &s.business_hours, s.timezone)) {
        (Window::Open, Window::Open) => Window::Open,
        (Window::OpensAt(t), Window::Open) | (Window::Open, Window::OpensAt(t)) => Window::OpensAt(t),
        (Window::OpensAt(a), Window::OpensAt(b)) => Window::OpensAt(a.max(b)),
    }
}

/// The zones the recipient window is checked in (the campaign's when none is known and the
/// setting says so), or `None` when the contact must be skipped.
fn window_zones(settings: &Settings, location: &Location) -> Option<Vec<(Tz, Vec<Source>)>> {
    let zones: Vec<(Tz, Vec<Source>)> = location
        .zones
        .iter()
        .filter_map(|z| z.zone.parse::<Tz>().ok().map(|tz| (tz, z.sources.clone())))
        .collect();
    if !zones.is_empty() {
        return Some(zones);
    }
    match settings.unknown_timezone {
        UnknownTimezone::Campaign => Some(vec![(settings.timezone, vec![Source::Campaign])]),
        UnknownTimezone::Skip => None,
    }
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

fn check(rule: Rule, w: Window, detail: String) -> RuleCheck {
    match w {
        Window::Open => RuleCheck {
            rule,
            verdict: Verdict::Allowed,
            detail,
            until: None,
            calls: None,
        },
        Window::OpensAt(t) => RuleCheck {
            rule,
            verdict: Verdict::Wait,
            detail,
            until: Some(t),
            calls: None,
        },
    }
}

/// The zones alone (what the time rules need), without their sources.
pub(crate) fn tz_list(settings: &Settings, location: &Location) -> Option<Vec<Tz>> {
    let zones: Vec<Tz> = location
        .zones
        .iter()
        .filter_map(|z| z.zone.parse::<Tz>().ok())
        .collect();
    if !zones.is_empty() {
        return Some(zones);
    }
    match settings.unknown_timezone {
        UnknownTimezone::Campaign => Some(vec![settings.timezone]),
        UnknownTimezone::Skip => None,
    }
}

/// All zones at once: open only when every zone is open; else the latest of their openings.
fn all_zones(now: DateTime<Utc>, zones: &[Tz], start: NaiveTime, end: NaiveTime) -> Window {
    let mut at: Option<DateTime<Utc>> = None;
    for tz in zones {
        if let Window::OpensAt(t) = daily_window(now, *tz, &ALL_DAYS, start, end) {
            at = Some(at.map_or(t, |a| a.max(t)));
        }
    }
    at.map_or(Window::Open, Window::OpensAt)
}

/// The time rules together at an instant (business hours, blocked dates, the recipient window
/// in every zone, the cap's earliest instant).
fn time_window(
    now: DateTime<Utc>,
    s: &Settings,
    zones: &[Tz],
    bounds: (NaiveTime, NaiveTime),
    not_before: Option<DateTime<Utc>>,
) -> Window {
    let mut at: Option<DateTime<Utc>> = not_before.filter(|t| *t > now);
    for w in [
        blocked_window(now, s.timezone, &s.blocked_dates),
        business_window(now, &s.business_hours, s.timezone),
        all_zones(now, zones, bounds.0, bounds.1),
    ] {
        if let Window::OpensAt(t) = w {
            at = Some(at.map_or(t, |a| a.max(t)));
        }
    }
    at.map_or(Window::Open, Window::OpensAt)
}

/// Steps to look for an instant where every time rule holds before calling the rules
/// irreconcilable (zones too far apart for any common hour).
const MAX_STEPS: usize = 64;

/// What the rules need to know about a contact, computed once from the campaign's settings
/// and the contact's location: the zones its window is checked in (`None`: no zone is known and
/// the setting says skip), its daily window (federal, the campaign's, every state's), the
/// federal-and-campaign window alone, and its 24-hour cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub zones: Option<Vec<Tz>>,
    pub bounds: (NaiveTime, NaiveTime),
    pub federal: (NaiveTime, NaiveTime),
    pub per_24h: u32,
    /// Zones the sources named (for the skip reason).
    pub named_zones: usize,
}

pub fn prepare(s: &Settings, location: &Location) -> Prepared {
    let hour = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    Prepared {
        zones: tz_list(s, location),
        bounds: recipient_bounds(s, location),
        federal: (
            hour(FEDERAL.start_hour).max(s.recipient_hours.start_time),
            hour(FEDERAL.end_hour).min(s.recipient_hours.end_time),
        ),
        per_24h: cap_per_24h(s, location),
        named_zones: location.zones.len(),
    }
}

/// The earliest instant at or after `now` when every time rule holds, if there is one.
pub fn next_allowed(
    now: DateTime<Utc>,
    s: &Settings,
    location: &Location,
    not_before: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    next_allowed_prepared(now, s, &prepare(s, location), not_before)
}

/// [`next_allowed`] for a prepared contact.
pub fn next_allowed_prepared(
    now: DateTime<Utc>,
    s: &Settings,
    p: &Prepared,
    not_before: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let zones = p.zones.as_deref()?;
    if p.bounds.1 <= p.bounds.0 {
        return None;
    }
    let mut at = now;
    for _ in 0..MAX_STEPS {
        match time_window(at, s, zones, p.bounds, not_before) {
            Window::Open => return Some(at),
            Window::OpensAt(t) if t > at => at = t,
            Window::OpensAt(_) => at += Duration::minutes(1),
        }
    }
    None
}

/// Until when the campaign's own window (blocked dates, business hours) stays open from
/// `now`: `None` when it is closed now. It can only close at the end of today's business hours
/// or at the next midnight (a blocked date), both in the campaign's zone.
pub fn campaign_open_until(now: DateTime<Utc>, s: &Settings) -> Option<DateTime<Utc>> {
    if campaign_window(now, s) != Window::Open {
        return None;
    }
    let tz = s.timezone;
    let today = now.with_timezone(&tz).date_naive();
    let mut until = DateTime::<Utc>::MAX_UTC;
    if !s.blocked_dates.is_empty()
        && let Some(next) = today.succ_opt()
    {
        until = until.min(resolve(tz, next, NaiveTime::MIN));
    }
    if s.business_hours.enabled {
        until = until.min(resolve(tz, today, s.business_hours.end_time));
    }
    Some(until.max(now + Duration::milliseconds(1)))
}

/// The decision alone (no audit): what [`evaluate`] decides, without describing each rule.
/// The dialer's decision comes from here through `evaluate`; the dry run calls it directly for
/// every contact, and builds audits only for the contacts it shows.
pub fn decide(
    now: DateTime<Utc>,
    s: &Settings,
    location: &Location,
    caps: CapFacts<'_>,
    dnc: DncFacts,
) -> Decision {
    decide_prepared(now, s, &prepare(s, location), caps, dnc)
}

/// [`decide`] for a prepared contact (the dry run prepares each contact once).
pub fn decide_prepared(
    now: DateTime<Utc>,
    s: &Settings,
    p: &Prepared,
    caps: CapFacts<'_>,
    dnc: DncFacts,
) -> Decision {
    if p.zones.is_none() {
        return Decision::Skip(UNKNOWN_ZONE_SKIP.to_string());
    }
    if let DncFacts::Listed(true) = dnc {
        return Decision::Skip(DNC_SKIP.to_string());
    }
    let (start, end) = p.bounds;
    if end <= start {
        return Decision::Skip(format!(
            "the rules that apply leave no calling hours (window {}-{})",
            hhmm(start),
            hhmm(end)
        ));
    }
    let cap_until = match caps {
        CapFacts::History(h) if !h.is_empty() => {
            cap_check(h, now, p.per_24h, s.frequency_cap.per_7_days).err()
        }
        _ => None,
    };
    match next_allowed_prepared(now, s, p, cap_until) {
        Some(t) if t > now => Decision::Wait(t),
        Some(_) => Decision::Dial,
        None => Decision::Skip(format!(
            "no hour is inside {}-{} local time in all of its {} possible zones at once",
            hhmm(start),
            hhmm(end),
            p.named_zones
        )),
    }
}

/// Which of the contact's own rules holds it when `decide_prepared` says wait while the
/// campaign's window is open: the cap, a state rule, or the recipient window.
pub fn contact_waiting_for(
    now: DateTime<Utc>,
    s: &Settings,
    p: &Prepared,
    caps: CapFacts<'_>,
) -> Rule {
    if let CapFacts::History(h) = caps
        && !h.is_empty()
        && cap_check(h, now, p.per_24h, s.frequency_cap.per_7_days).is_err()
    {
        return Rule::FrequencyCap;
    }
    if p.bounds != p.federal
        && let Some(zones) = &p.zones
        && all_zones(now, zones, p.federal.0, p.federal.1).is_open()
    {
        return Rule::StateRule;
    }
    Rule::RecipientWindow
}

/// Which rule holds a contact that must wait at `now` (the first in the order the dialer
/// checks them: blocked dates, business hours, the recipient window, a state rule, the cap).
pub fn waiting_for(
    now: DateTime<Utc>,
    s: &Settings,
    location: &Location,
    caps: CapFacts<'_>,
) -> Option<Rule> {
    if !blocked_window(now, s.timezone, &s.blocked_dates).is_open() {
        return Some(Rule::BlockedDates);
    }
    if !business_window(now, &s.business_hours, s.timezone).is_open() {
        return Some(Rule::BusinessHours);
    }
    let zones = tz_list(s, location)?;
    let hour = |h: u32| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
    let fed = (
        hour(FEDERAL.start_hour).max(s.recipient_hours.start_time),
        hour(FEDERAL.end_hour).min(s.recipient_hours.end_time),
    );
    if !all_zones(now, &zones, fed.0, fed.1).is_open() {
        return Some(Rule::RecipientWindow);
    }
    let bounds = recipient_bounds(s, location);
    if !all_zones(now, &zones, bounds.0, bounds.1).is_open() {
        return Some(Rule::StateRule);
    }
    if let CapFacts::History(h) = caps
        && cap_check(h, now, cap_per_24h(s, location), s.frequency_cap.per_7_days).is_err()
    {
        return Some(Rule::FrequencyCap);
    }
    None
}

/// The earliest instant at or after `now` when the recipient's own window holds (the federal,
/// campaign and state hours, in every plausible zone), leaving out the campaign's own gates
/// (business hours, blocked dates, caps). `None` when the contact can never be called: its zone
/// is unknown and the campaign skips such contacts, or its zones share no common hour.
pub fn recipient_open_at(now: DateTime<Utc>, s: &Settings, location: &Location) -> Option<DateTime<Utc>> {
    let zones = tz_list(s, location)?;
    let (start, end) = recipient_bounds(s, location);
    if end <= start {
        return None;
    }
    let mut at = now;
    for _ in 0..MAX_STEPS {
        match all_zones(at, &zones, start, end) {
            Window::Open => return Some(at),
            Window::OpensAt(t) if t > at => at = t,
            Window::OpensAt(_) => at += Duration::minutes(1),
        }
    }
    None
}

const UNKNOWN_ZONE_SKIP: &str =
    "no time zone is known for this number (setting unknown_timezone: skip)";
const DNC_SKIP: &str = "on the owner's do-not-call list";

/// Every rule's verdict at `now`, and the decision they make together.
pub fn evaluate(
    now: DateTime<Utc>,
    s: &Settings,
    location: &Location,
    caps: CapFacts<'_>,
    dnc: DncFacts,
) -> Evaluation {
    let mut rules = Vec::with_capacity(7);
    let tz = s.timezone;
    rules.push(check(
        Rule::BlockedDates,
        blocked_window(now, tz, &s.blocked_dates),
        format!(
            "{} blocked date(s) in {}; today there is {}",
            s.blocked_dates.len(),
            tz.name(),
            now.with_timezone(&tz).date_naive()
        ),
    ));
    let bh = &s.business_hours;
    rules.push(check(
        Rule::BusinessHours,
        business_window(now, bh, tz),
        if bh.enabled {
            format!(
                "{}-{} on days {:?} in {}",
                hhmm(bh.start_time),
                hhmm(bh.end_time),
                bh.days,
                tz.name()
            )
        } else {
            "no business hours set".to_string()
        },
    ));
    let zones = window_zones(s, location);
    let audit_zones: Vec<ZoneAtCheck> = zones
        .iter()
        .flatten()
        .map(|(z, sources)| ZoneAtCheck {
            zone: z.name().to_string(),
            sources: sources.clone(),
            local_time: now
                .with_timezone(z)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
        })
        .collect();
    match &zones {
        None => {
            rules.push(RuleCheck {
                rule: Rule::UnknownTimezone,
                verdict: Verdict::Skip,
                detail: UNKNOWN_ZONE_SKIP.to_string(),
                until: None,
                calls: None,
            });
        }
        Some(zs) => {
            let z: Vec<Tz> = zs.iter().map(|(tz, _)| *tz).collect();
            let z = z.as_slice();
            if location.zones.is_empty() {
                rules.push(RuleCheck {
                    rule: Rule::UnknownTimezone,
                    verdict: Verdict::Allowed,
                    detail: format!("no source named a zone: the campaign's zone {} is used (setting unknown_timezone: campaign)", tz.name()),
                    until: None,
                    calls: None,
                });
            }
            let fed_start = NaiveTime::from_hms_opt(FEDERAL.start_hour, 0, 0)
                .unwrap_or_default()
                .max(s.recipient_hours.start_time);
            let fed_end = NaiveTime::from_hms_opt(FEDERAL.end_hour, 0, 0)
                .unwrap_or_default()
                .min(s.recipient_hours.end_time);
            rules.push(check(
                Rule::RecipientWindow,
                all_zones(now, z, fed_start, fed_end),
                format!(
                    "{}-{} local time in all {} zone(s)",
                    hhmm(fed_start),
                    hhmm(fed_end),
                    z.len()
                ),
            ));
            for st in &location.states {
                if let Some(r) = state_rule(&st.state) {
                    let (a, b) = (
                        NaiveTime::from_hms_opt(r.start_hour, 0, 0).unwrap_or_default(),
                        NaiveTime::from_hms_opt(r.end_hour, 0, 0).unwrap_or_default(),
                    );
                    rules.push(check(
                        Rule::StateRule,
                        all_zones(now, z, a, b),
                        format!(
                            "{}: {}-{} local time in all {} zone(s) ({})",
                            r.jurisdiction,
                            hhmm(a),
                            hhmm(b),
                            z.len(),
                            r.source
                        ),
                    ));
                }
            }
        }
    }
    let per_24h = cap_per_24h(s, location);
    let cap_rule = match s.frequency_cap.per_7_days {
        Some(m) => format!(
            "at most {per_24h} call(s) per 24 h and {m} per 7 days to this number across the owner's campaigns"
        ),
        None => format!(
            "at most {per_24h} call(s) per 24 h to this number across the owner's campaigns"
        ),
    };
    rules.push(match caps {
        CapFacts::InClaim => RuleCheck {
            rule: Rule::FrequencyCap,
            verdict: Verdict::Allowed,
            detail: format!("{cap_rule}: held as a condition of the claim transaction"),
            until: None,
            calls: None,
        },
        CapFacts::History(h) => match cap_check(h, now, per_24h, s.frequency_cap.per_7_days) {
            Ok((day, week)) => RuleCheck {
                rule: Rule::FrequencyCap,
                verdict: Verdict::Allowed,
                detail: format!("{cap_rule}: {day} in the last 24 h, {week} in the last 7 days"),
                until: None,
                calls: Some(CapCount {
                    in_24h: day,
                    max_24h: per_24h,
                    in_7_days: week,
                    max_7_days: s.frequency_cap.per_7_days,
                }),
            },
            Err(t) => {
                RuleCheck {
                    rule: Rule::FrequencyCap,
                    verdict: Verdict::Wait,
                    detail: format!("{cap_rule}: reached"),
                    until: Some(t),
                    calls: None,
                }
            }
        },
    });
    rules.push(match dnc {
        DncFacts::InClaim => RuleCheck {
            rule: Rule::DoNotCall,
            verdict: Verdict::Allowed,
            detail:
                "not on the owner's do-not-call list: held as a condition of the claim transaction"
                    .to_string(),
            until: None,
            calls: None,
        },
        DncFacts::Listed(false) => RuleCheck {
            rule: Rule::DoNotCall,
            verdict: Verdict::Allowed,
            detail: "not on the owner's do-not-call list".to_string(),
            until: None,
            calls: None,
        },
        DncFacts::Listed(true) => RuleCheck {
            rule: Rule::DoNotCall,
            verdict: Verdict::Skip,
            detail: DNC_SKIP.to_string(),
            until: None,
            calls: None,
        },
    });
    // The rules above describe; the decision is `decide`'s, the one the dry run makes too.
    let decision = decide(now, s, location, caps, dnc);
    Evaluation {
        decision,
        audit: Audit {
            checked_at: now,
            zones: audit_zones,
            states: location.states.clone(),
            rules,
        },
    }
}
