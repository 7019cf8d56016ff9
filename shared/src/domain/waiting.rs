//! What a campaign is waiting for: "why isn't it dialing?" answered from values. The campaign
//! (state, settings, counters, pacing instant) and the head of its work queue (the contacts
//! due first, with their due instant and zone) go in; out comes which gate holds the next
//! call, how many contacts wait for their own calling window or a retry and until when, and
//! the next instant anything can happen. Pure: the same rules as the dialer
//! (`compliance::next_allowed`, the recipient's window in every plausible zone), evaluated at
//! a given instant.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::campaign::{Campaign, CampaignState, ImportState};
use super::compliance::{Location, blocked_window, next_allowed, recipient_open_at};
use super::contact::ContactState;
use super::hours::{Window, business_window};

/// One contact at the head of the work queue, as far as waiting is concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedContact {
    pub state: ContactState,
    /// When it is due (none: due since it was imported).
    pub due: Option<DateTime<Utc>>,
    /// Its plausible zones and states: its own window must hold in every zone.
    pub location: Location,
}

/// The head of the work queue: the first contacts by due time, and whether that is all of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueHead {
    pub contacts: Vec<QueuedContact>,
    /// True when `contacts` is the whole queue (the read was not cut at its limit).
    pub complete: bool,
}

/// What holds the campaign's next call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// A draft: nothing happens until it is started.
    NotStarted,
    /// The import has not finished.
    Import,
    /// Pending until its scheduled start time.
    ScheduledStart,
    /// Started; the dialer picks it up at its next wake-up.
    Starting,
    Paused,
    /// Today is one of the campaign's blocked dates (in its zone).
    BlockedDate,
    /// Outside the campaign's business hours.
    BusinessHours,
    /// The pacing delay since the last call.
    Pacing,
    /// Every call slot is in a call.
    SlotsFull,
    /// Contacts are due now: the next call starts at the dialer's next wake-up.
    Dialing,
    /// Every waiting contact is outside its own calling window (08:00-21:00 or stricter, in
    /// every zone it may be in).
    ContactWindows,
    /// Every waiting contact waits for a retry.
    Retries,
    /// Nothing is queued; the calls in flight are the last ones.
    CallsInFlight,
    /// Nothing left: completed or failed, or completing at the next wake-up.
    Finished,
}

/// A group of waiting contacts and when the first of them can be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct WaitGroup {
    /// How many of the examined contacts (see `examined`) are in this group.
    pub contacts: u64,
    /// The earliest instant one of them can be called.
    pub first_at: DateTime<Utc>,
    /// The latest of those instants among the examined contacts.
    pub last_at: DateTime<Utc>,
}

impl WaitGroup {
    fn add(group: &mut Option<WaitGroup>, at: DateTime<Utc>) {
        match group {
            None => *group = Some(WaitGroup { contacts: 1, first_at: at, last_at: at }),
            Some(g) => {
                g.contacts += 1;
                g.first_at = g.first_at.min(at);
                g.last_at = g.last_at.max(at);
            }
        }
    }
}

/// The campaign's call slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Slots {
    pub in_calls: u64,
    pub max: u32,
    pub full: bool,
}

/// What the campaign is waiting for, at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Waiting {
    /// The instant this was computed for.
    pub at: DateTime<Utc>,
    /// What holds the next call now.
    pub reason: WaitReason,
    /// The same in a sentence.
    pub summary: String,
    /// The next instant anything can happen: a call can start, a window opens, a retry falls
    /// due. Null when that waits on an event (a call ending, a start, a resume) or nothing is left.
    pub next_event_at: Option<DateTime<Utc>>,
    /// Pending campaigns: the scheduled start, when it is ahead.
    pub starts_at: Option<DateTime<Utc>>,
    /// On a blocked date: the start of the next date that is not blocked.
    pub blocked_until: Option<DateTime<Utc>>,
    /// Outside business hours: when they open.
    pub business_hours_open_at: Option<DateTime<Utc>>,
    /// Pacing: when the next call may start.
    pub paced_until: Option<DateTime<Utc>>,
    pub slots: Slots,
    /// Contacts due now whose own window is open.
    pub due_now: u64,
    /// Contacts outside their own calling window (08:00-21:00 or stricter, in every zone they
    /// may be in).
    pub contact_window: Option<WaitGroup>,
    /// Contacts waiting for a retry (or for a moment after Twilio was busy).
    pub retries: Option<WaitGroup>,
    /// How many queued contacts the counts above cover: the head of the queue, by due time.
    pub examined: u64,
    /// Contacts still to call (pending + retrying): equal to `examined` when the counts are exact.
    pub queued: u64,
}

fn fmt(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What the campaign waits for at `now`, given the head of its work queue.
pub fn waiting(c: &Campaign, queue: &QueueHead, now: DateTime<Utc>) -> Waiting {
    let settings = &c.settings;
    let max = settings.max_concurrent_calls;
    let slots = Slots { in_calls: c.counters.calling, max, full: c.counters.calling >= u64::from(max) };
    let starts_at = settings.scheduled_start_time.filter(|t| *t > now && c.state == CampaignState::Pending);
    let blocked_until = match blocked_window(now, settings.timezone, &settings.blocked_dates) {
        Window::Open => None,
        Window::OpensAt(t) => Some(t),
    };
    let business_hours_open_at = match business_window(now, &settings.business_hours, settings.timezone) {
        Window::Open => None,
        Window::OpensAt(t) => Some(t),
    };
    let paced_until = c.next_dial_at.filter(|t| *t > now);
    // The earliest instant the campaign's own gates allow a call.
    let gate = [Some(now), starts_at, paced_until].into_iter().flatten().max().unwrap_or(now);

    let mut due_now = 0;
    let mut window_group = None;
    let mut retry_group = None;
    let mut next_call: Option<DateTime<Utc>> = None;
    let mut examined = 0;
    for q in queue.contacts.iter().filter(|q| q.state.is_dialable()) {
        examined += 1;
        let due = q.due.unwrap_or(now).max(now);
        // When its own window (every plausible zone) lets it be called, from its due instant
        // on. Never (an unknown zone the campaign skips, zones with no common hour): the dialer
        // skips it at its next wake-up, so it counts as due.
        let ready = recipient_open_at(due, settings, &q.location).unwrap_or(due);
        // Classified by what holds it now: a contact the dialer deferred to its morning is due
        // exactly when its window opens, and waits for the window, not for a retry.
        let closed_now = recipient_open_at(now, settings, &q.location).is_some_and(|t| t > now);
        if closed_now {
            WaitGroup::add(&mut window_group, ready);
        } else if ready > now {
            WaitGroup::add(&mut retry_group, ready);
        } else {
            due_now += 1;
        }
        // Every time rule the dialer checks: business hours, blocked dates, every zone.
        let earliest = next_allowed(gate.max(due), settings, &q.location, None).unwrap_or(gate.max(due));
        next_call = Some(next_call.map_or(earliest, |n| n.min(earliest)));
    }
    let queued = c.counters.pending + c.counters.retrying;

    let (reason, summary, next_event_at) = match c.state {
        CampaignState::Draft if c.import_state != ImportState::Imported => (
            WaitReason::Import,
            "the contact import has not finished; start the campaign once it is imported".to_string(),
            None,
        ),
        CampaignState::Draft => {
            (WaitReason::NotStarted, "a draft: nothing is called until POST /campaigns/{id}/start".to_string(), None)
        }
        CampaignState::Completed | CampaignState::Failed => {
            (WaitReason::Finished, format!("{}: nothing is left to call", c.state.as_str()), None)
        }
        CampaignState::Paused => {
            let tail = if slots.in_calls > 0 {
                format!("; {} in flight will finish", plural(slots.in_calls, "call", "calls"))
            } else {
                String::new()
            };
            (WaitReason::Paused, format!("paused: no call starts until POST /campaigns/{{id}}/resume{tail}"), None)
        }
        CampaignState::Pending => match starts_at {
            Some(t) => (WaitReason::ScheduledStart, format!("scheduled to start at {}", fmt(t)), Some(t)),
            None => (
                WaitReason::Starting,
                "started: the dialer picks the campaign up at its next wake-up (within a minute)".to_string(),
                Some(now),
            ),
        },
        CampaignState::Running => running_reason(RunningFacts {
            now,
            slots,
            blocked_until,
            business_hours_open_at,
            paced_until,
            due_now,
            window_group,
            retry_group,
            next_call,
            queued,
            examined,
        }),
    };
    Waiting {
        at: now,
        reason,
        summary,
        next_event_at,
        starts_at,
        blocked_until,
        business_hours_open_at,
        paced_until,
        slots,
        due_now,
        contact_window: window_group,
        retries: retry_group,
        examined,
        queued,
    }
}

struct RunningFacts {
    now: DateTime<Utc>,
    slots: Slots,
    blocked_until: Option<DateTime<Utc>>,
    business_hours_open_at: Option<DateTime<Utc>>,
    paced_until: Option<DateTime<Utc>>,
    due_now: u64,
    window_group: Option<WaitGroup>,
    retry_group: Option<WaitGroup>,
    next_call: Option<DateTime<Utc>>,
    queued: u64,
    examined: u64,
}

fn running_reason(f: RunningFacts) -> (WaitReason, String, Option<DateTime<Utc>>) {
    let of_examined = if f.examined < f.queued { format!(" (of the first {} queued)", f.examined) } else { String::new() };
    if f.examined == 0 {
        return if f.slots.in_calls > 0 {
            (
                WaitReason::CallsInFlight,
                format!("nothing left to dial; waiting for {} to end", plural(f.slots.in_calls, "call", "calls")),
                None,
            )
        } else {
            (WaitReason::Finished, "nothing left to call: the campaign completes at the dialer's next wake-up".into(), Some(f.now))
        };
    }
    if f.slots.full {
        return (
            WaitReason::SlotsFull,
            format!(
                "all {} in use; the next call starts when one ends",
                plural(u64::from(f.slots.max), "call slot is", "call slots are")
            ),
            None,
        );
    }
    if let Some(t) = f.blocked_until {
        return (WaitReason::BlockedDate, format!("today is a blocked date; calls resume at {}", fmt(t)), f.next_call);
    }
    if let Some(t) = f.business_hours_open_at {
        return (WaitReason::BusinessHours, format!("outside the campaign's business hours until {}", fmt(t)), f.next_call);
    }
    if let Some(t) = f.paced_until {
        return (WaitReason::Pacing, format!("pacing: the next call may start at {}", fmt(t)), f.next_call);
    }
    if f.due_now > 0 {
        return (
            WaitReason::Dialing,
            format!(
                "{} due now{of_examined}; the dialer places the next call at its next wake-up",
                plural(f.due_now, "contact is", "contacts are")
            ),
            Some(f.now),
        );
    }
    let window_first = f.window_group.map(|g| g.first_at);
    let retry_first = f.retry_group.map(|g| g.first_at);
    let window_next = match (window_first, retry_first) {
        (Some(w), Some(r)) => w <= r,
        (Some(_), None) => true,
        _ => false,
    };
    match (window_next, f.window_group, f.retry_group) {
        (true, Some(g), _) => (
            WaitReason::ContactWindows,
            format!(
                "{} outside {} own calling window (08:00-21:00 or stricter, in every zone {} may be in){of_examined}; the first opens at {}",
                plural(g.contacts, "contact is", "contacts are"),
                if g.contacts == 1 { "its" } else { "their" },
                if g.contacts == 1 { "it" } else { "they" },
                fmt(g.first_at)
            ),
            f.next_call,
        ),
        (_, _, Some(g)) => (
            WaitReason::Retries,
            format!(
                "{} a retry{of_examined}; the first is due at {}",
                plural(g.contacts, "contact waits for", "contacts wait for"),
                fmt(g.first_at)
            ),
            f.next_call,
        ),
        _ => (WaitReason::Dialing, "contacts are due; the dialer places the next call at its next wake-up".into(), Some(f.now)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaign::{AgentSnapshot, Counters};
    use crate::domain::settings::SettingsInput;
    use chrono::{Duration, TimeZone};

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // Wednesday 2026-01-14.
        Utc.with_ymd_and_hms(2026, 1, 14, h, m, 0).single().expect("valid instant")
    }

    fn campaign(state: CampaignState, settings: serde_json::Value) -> Campaign {
        let input: SettingsInput = serde_json::from_value(settings).expect("settings");
        let settings = input.validate(at(0, 0), false).expect("valid");
        let agent = AgentSnapshot { id: "a".into(), name: "A".into(), prompt_text: "p".into() };
        let mut c = Campaign::new_draft("c1", "alice", settings, agent, ImportState::Imported, at(0, 0));
        c.state = state;
        c.counters = Counters { total: 2, pending: 2, ..Counters::default() };
        c
    }

    /// A number's location, as the importer stores it (no metadata columns).
    fn number(e164: &str) -> Location {
        crate::domain::compliance::locate(e164, &std::collections::BTreeMap::new())
    }

    /// A Washington DC number: America/New_York only.
    fn ny() -> Location {
        number("+12025550123")
    }

    fn fresh(location: Location) -> QueuedContact {
        QueuedContact { state: ContactState::Pending, due: None, location }
    }

    fn head(contacts: Vec<QueuedContact>) -> QueueHead {
        QueueHead { contacts, complete: true }
    }

    #[test]
    fn the_readmes_campaign_at_night_waits_for_the_contacts_window() {
        // 04:08 UTC = 23:08 in New York: both 202 numbers wait until 08:00 their time.
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        let w = waiting(&c, &head(vec![fresh(ny()), fresh(ny())]), at(4, 8));
        let opens = at(13, 0); // 08:00 EST
        assert_eq!(w.reason, WaitReason::ContactWindows);
        assert_eq!(w.contact_window, Some(WaitGroup { contacts: 2, first_at: opens, last_at: opens }));
        assert_eq!(w.next_event_at, Some(opens));
        assert_eq!(w.due_now, 0);
        assert_eq!(
            w.summary,
            "2 contacts are outside their own calling window (08:00-21:00 or stricter, in every zone they may be in); the first opens at 2026-01-14 13:00 UTC"
        );
        // A contact where it is day is due now: the next event is now.
        let tokyo = number("+81312345678");
        let w = waiting(&c, &head(vec![fresh(ny()), fresh(tokyo)]), at(4, 8));
        assert_eq!(w.reason, WaitReason::Dialing);
        assert_eq!(w.due_now, 1);
        assert_eq!(w.next_event_at, Some(at(4, 8)));
        assert_eq!(w.contact_window.map(|g| g.contacts), Some(1));
    }

    #[test]
    fn a_number_in_two_zones_waits_until_both_are_open() {
        // Area code 208 (Idaho) spans America/Boise (Mountain) and America/Los_Angeles (Pacific).
        let idaho = number("+12085550123");
        assert!(idaho.zones.len() >= 2, "{idaho:?}");
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        // 15:30 UTC = 08:30 in Boise but 07:30 in Los Angeles: it waits for 08:00 Pacific.
        let w = waiting(&c, &head(vec![fresh(idaho.clone())]), at(15, 30));
        assert_eq!(w.reason, WaitReason::ContactWindows, "{}", w.summary);
        assert_eq!(w.contact_window.map(|g| g.first_at), Some(at(16, 0)));
        assert_eq!(w.next_event_at, Some(at(16, 0)));
        assert_eq!(w.due_now, 0);
        let w = waiting(&c, &head(vec![fresh(idaho)]), at(16, 0));
        assert_eq!((w.reason, w.due_now), (WaitReason::Dialing, 1));
    }

    #[test]
    fn a_state_rule_closes_the_window_early() {
        // Florida (305) allows 08:00-20:00: at 20:30 Eastern a Florida number waits for the
        // morning, a DC number does not.
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        let evening = at(1, 30) + Duration::days(1); // 20:30 EST on the 14th
        let w = waiting(&c, &head(vec![fresh(number("+13055550123"))]), evening);
        assert_eq!(w.reason, WaitReason::ContactWindows, "{}", w.summary);
        assert_eq!(w.contact_window.map(|g| g.first_at), Some(at(13, 0) + Duration::days(1)));
        let w = waiting(&c, &head(vec![fresh(ny())]), evening);
        assert_eq!((w.reason, w.due_now), (WaitReason::Dialing, 1));
    }

    #[test]
    fn a_blocked_date_says_when_calls_resume() {
        let c = campaign(
            CampaignState::Running,
            serde_json::json!({"agent_id": "a", "timezone": "America/New_York", "blocked_dates": ["2026-01-14"]}),
        );
        // 15:00 UTC on Wednesday the 14th, a blocked date in New York: calls resume at the
        // start of the 15th there (05:00 UTC), and the contact's window then opens at 08:00.
        let w = waiting(&c, &head(vec![fresh(ny())]), at(15, 0));
        assert_eq!(w.reason, WaitReason::BlockedDate, "{}", w.summary);
        assert_eq!(w.blocked_until, Some(at(5, 0) + Duration::days(1)));
        assert_eq!(w.next_event_at, Some(at(13, 0) + Duration::days(1)));
        assert_eq!(w.summary, "today is a blocked date; calls resume at 2026-01-15 05:00 UTC");
    }

    #[test]
    fn an_unknown_zone_follows_the_campaign_setting() {
        // No zone known: the campaign's zone by default (23:08 in New York: wait) ...
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        let w = waiting(&c, &head(vec![fresh(Location::default())]), at(4, 8));
        assert_eq!(w.reason, WaitReason::ContactWindows, "{}", w.summary);
        // ... or skipped at the next wake-up, which is no wait.
        let skip = campaign(
            CampaignState::Running,
            serde_json::json!({"agent_id": "a", "timezone": "America/New_York", "unknown_timezone": "skip"}),
        );
        let w = waiting(&skip, &head(vec![fresh(Location::default())]), at(4, 8));
        assert_eq!((w.reason, w.due_now), (WaitReason::Dialing, 1));
    }

    #[test]
    fn business_hours_then_pacing_then_slots() {
        let settings = serde_json::json!({"agent_id": "a", "timezone": "America/New_York",
            "business_hours": {"enabled": true, "days": [1, 2, 3, 4, 5], "start_time": "09:00", "end_time": "17:00"}});
        let c = campaign(CampaignState::Running, settings);
        // 13:30 UTC = 08:30 EST: the contact's window is open, the business hours open at 14:00 UTC.
        let w = waiting(&c, &head(vec![fresh(ny())]), at(13, 30));
        assert_eq!(w.reason, WaitReason::BusinessHours);
        assert_eq!(w.business_hours_open_at, Some(at(14, 0)));
        assert_eq!(w.next_event_at, Some(at(14, 0)));
        // Inside hours but paced for 10 s.
        let mut paced = c.clone();
        paced.next_dial_at = Some(at(15, 0) + Duration::seconds(10));
        let w = waiting(&paced, &head(vec![fresh(ny())]), at(15, 0));
        assert_eq!(w.reason, WaitReason::Pacing);
        assert_eq!(w.paced_until, Some(at(15, 0) + Duration::seconds(10)));
        assert_eq!(w.next_event_at, w.paced_until);
        // Every slot in a call: the next event is a call ending, not an instant.
        let mut full = c.clone();
        full.counters.calling = 1;
        let w = waiting(&full, &head(vec![fresh(ny())]), at(15, 0));
        assert_eq!(w.reason, WaitReason::SlotsFull);
        assert!(w.slots.full);
        assert_eq!(w.next_event_at, None);
        assert_eq!(w.summary, "all 1 call slot is in use; the next call starts when one ends");
    }

    #[test]
    fn retries_due_later_and_the_next_instant_respects_every_gate() {
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        let retry = |h| QueuedContact { state: ContactState::Retrying, due: Some(at(h, 0)), location: ny() };
        // 15:00 UTC = 10:00 EST; retries due at 16:00 and 18:00 UTC.
        let w = waiting(&c, &head(vec![retry(16), retry(18)]), at(15, 0));
        assert_eq!(w.reason, WaitReason::Retries);
        assert_eq!(w.retries, Some(WaitGroup { contacts: 2, first_at: at(16, 0), last_at: at(18, 0) }));
        assert_eq!(w.next_event_at, Some(at(16, 0)));
        // A retry due at 03:00 UTC (22:00 EST) can only be called at 08:00 EST the next day.
        let late = QueuedContact { state: ContactState::Retrying, due: Some(at(3, 0) + Duration::days(1)), location: ny() };
        let w = waiting(&c, &head(vec![late]), at(15, 0));
        assert_eq!(w.reason, WaitReason::Retries);
        assert_eq!(w.retries.map(|g| g.first_at), Some(at(13, 0) + Duration::days(1)));
        assert_eq!(w.next_event_at, Some(at(13, 0) + Duration::days(1)));
    }

    #[test]
    fn a_contact_deferred_to_its_morning_waits_for_its_window_not_a_retry() {
        // The dialer deferred it at 23:08 New York time: due exactly when its window opens.
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        let deferred = QueuedContact { state: ContactState::Pending, due: Some(at(13, 0)), location: ny() };
        let w = waiting(&c, &head(vec![deferred]), at(4, 8));
        assert_eq!(w.reason, WaitReason::ContactWindows);
        assert_eq!(w.contact_window.map(|g| (g.contacts, g.first_at)), Some((1, at(13, 0))));
        assert_eq!(w.retries, None);
    }

    #[test]
    fn states_other_than_running() {
        let mut c = campaign(CampaignState::Draft, serde_json::json!({"agent_id": "a"}));
        assert_eq!(waiting(&c, &QueueHead::default(), at(12, 0)).reason, WaitReason::NotStarted);
        c.import_state = ImportState::Importing;
        assert_eq!(waiting(&c, &QueueHead::default(), at(12, 0)).reason, WaitReason::Import);
        let start = at(20, 0);
        let mut p = campaign(CampaignState::Pending, serde_json::json!({"agent_id": "a", "scheduled_start_time": start}));
        let w = waiting(&p, &head(vec![fresh(Location::default())]), at(12, 0));
        assert_eq!((w.reason, w.starts_at, w.next_event_at), (WaitReason::ScheduledStart, Some(start), Some(start)));
        p.settings.scheduled_start_time = None;
        assert_eq!(waiting(&p, &head(vec![fresh(Location::default())]), at(12, 0)).reason, WaitReason::Starting);
        let mut paused = campaign(CampaignState::Paused, serde_json::json!({"agent_id": "a"}));
        paused.counters.calling = 1;
        let w = waiting(&paused, &QueueHead::default(), at(12, 0));
        assert_eq!(w.reason, WaitReason::Paused);
        assert!(w.summary.ends_with("1 call in flight will finish"), "{}", w.summary);
        let mut last = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a"}));
        last.counters = Counters { total: 1, calling: 1, ..Counters::default() };
        assert_eq!(waiting(&last, &QueueHead::default(), at(12, 0)).reason, WaitReason::CallsInFlight);
    }

    /// A gate ends at its instant: at the scheduled start the campaign is starting, at the
    /// pacing instant it is dialing. Only a pending campaign waits for its start.
    #[test]
    fn a_start_and_a_pacing_delay_are_over_at_their_instant() {
        let start = at(15, 0);
        let mut p = campaign(CampaignState::Pending, serde_json::json!({"agent_id": "a", "timezone": "America/New_York", "scheduled_start_time": start}));
        let w = waiting(&p, &head(vec![fresh(ny())]), start);
        assert_eq!((w.reason, w.starts_at, w.next_event_at), (WaitReason::Starting, None, Some(start)));
        // Paused (or still a draft) before its start: the start is not what it waits for.
        for state in [CampaignState::Paused, CampaignState::Draft] {
            p.state = state;
            assert_eq!(waiting(&p, &head(vec![fresh(ny())]), at(12, 0)).starts_at, None, "{state:?}");
        }
        let mut c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        c.next_dial_at = Some(start);
        let w = waiting(&c, &head(vec![fresh(ny())]), start);
        assert_eq!((w.reason, w.paced_until, w.next_event_at), (WaitReason::Dialing, None, Some(start)));
    }

    /// Contacts outside their window and contacts waiting for a retry: the reason is whichever
    /// can be called first.
    #[test]
    fn the_group_that_can_be_called_first_is_the_reason() {
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        // 04:08 UTC: 23:08 in New York (its window opens at 13:00 UTC), 13:08 in Tokyo.
        let tokyo_retry = |due| QueuedContact { state: ContactState::Retrying, due: Some(due), location: number("+81312345678") };
        // A retry due at 05:00 UTC (14:00 in Tokyo) comes before New York's morning.
        let w = waiting(&c, &head(vec![fresh(ny()), tokyo_retry(at(5, 0))]), at(4, 8));
        assert_eq!(w.reason, WaitReason::Retries);
        assert!(w.summary.ends_with("the first is due at 2026-01-14 05:00 UTC"), "{}", w.summary);
        // One due at 12:00 UTC is 21:00 in Tokyo, too late: it waits for 08:00 there (23:00 UTC).
        let w = waiting(&c, &head(vec![fresh(ny()), tokyo_retry(at(12, 0))]), at(4, 8));
        assert_eq!(w.reason, WaitReason::ContactWindows);
        assert_eq!(w.retries.map(|g| g.first_at), Some(at(23, 0)));
    }

    #[test]
    fn nothing_queued_and_nothing_in_flight_is_finished() {
        let c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a"}));
        let w = waiting(&c, &QueueHead { contacts: vec![], complete: true }, at(12, 0));
        assert_eq!((w.reason, w.next_event_at), (WaitReason::Finished, Some(at(12, 0))));
        let paused = campaign(CampaignState::Paused, serde_json::json!({"agent_id": "a"}));
        let w = waiting(&paused, &QueueHead::default(), at(12, 0));
        assert_eq!(w.summary, "paused: no call starts until POST /campaigns/{id}/resume");
    }

    #[test]
    fn counts_say_when_they_cover_only_the_head_of_the_queue() {
        let mut c = campaign(CampaignState::Running, serde_json::json!({"agent_id": "a", "timezone": "America/New_York"}));
        // Still to call: the pending and the retrying.
        c.counters.pending = 3000;
        c.counters.retrying = 2000;
        let w = waiting(&c, &QueueHead { contacts: vec![fresh(ny()); 100], complete: false }, at(4, 8));
        assert_eq!((w.examined, w.queued), (100, 5000));
        assert!(w.summary.contains("(of the first 100 queued)"), "{}", w.summary);
    }
}
