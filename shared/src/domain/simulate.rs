//! The dry run: what the dialer would do with a campaign's contacts, without dialing or
//! writing anything. Pure and deterministic: the same settings, contacts, do-not-call set and
//! assumptions give the same schedule.
//!
//! Every decision comes from the functions the dialer uses: the campaign's own window
//! (blocked dates, business hours: `compliance::campaign_window`) before any contact, then
//! `compliance::decide` per contact (recipient windows in every zone, state rules, the cap over
//! the number's calls, the do-not-call list), pacing and `max_concurrent_calls` as the claim
//! holds them, and `contact::after_call` for retries. What is assumed: how long a call lasts,
//! how long an unanswered one rings, and which attempts are answered (a fraction `answer_rate`,
//! chosen by a hash of the number and the attempt, so the run is deterministic). Not modelled:
//! the dialer's tick (a live call starts within a minute of the instant given here), the retry
//! jitter (at most 5% of the backoff), calls to the same numbers from the owner's other
//! campaigns (their cap history), busy or failed calls (an attempt is answered or not).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::compliance::decide::tz_list;
use super::compliance::{self, CapFacts, Decision, DncFacts, Location, Rule};
use super::contact::{AfterCall, ContactState, after_call};
use super::hours::Window;
use super::{Outcome, Settings};

/// Assumed length of an answered call, seconds.
pub const DEFAULT_CALL_SECONDS: u32 = 60;
/// Assumed length of an unanswered call (ringing until the timeout), seconds.
pub const DEFAULT_RING_SECONDS: u32 = 30;
/// Assumed share of attempts answered.
pub const DEFAULT_ANSWER_RATE: f64 = 0.35;
/// Decisions per contact before the dry run gives up on it (a safety net; the rules settle in
/// a few).
const MAX_DECISIONS: u16 = 200;

/// What the dry run assumes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Assumptions {
    /// When the campaign would start (now, or its scheduled start if later).
    pub start: DateTime<Utc>,
    /// Length of an answered call, seconds.
    pub call_seconds: u32,
    /// Length of an unanswered call, seconds.
    pub ring_seconds: u32,
    /// Share of attempts answered, 0..1.
    pub answer_rate: f64,
}

impl Assumptions {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            start,
            call_seconds: DEFAULT_CALL_SECONDS,
            ring_seconds: DEFAULT_RING_SECONDS,
            answer_rate: DEFAULT_ANSWER_RATE,
        }
    }
}

/// A contact as the dry run takes it.
#[derive(Debug, Clone)]
pub struct SimContact {
    pub phone: String,
    pub location: Location,
    pub state: ContactState,
    /// Charged attempts so far.
    pub attempts: u32,
    /// When it is due (`None`: at once).
    pub due: Option<DateTime<Utc>>,
}

/// How a contact ends in the dry run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimResult {
    /// Answered.
    Completed,
    /// Not answered on any attempt the retry policy allows.
    Failed,
    /// Skipped by a rule (the reason says which).
    Skipped,
    /// Already completed, failed or skipped before the dry run.
    AlreadyFinished,
    /// In a call now (a running campaign); not simulated.
    InCall,
}

/// Which contacts a page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SimFilter {
    #[default]
    All,
    /// Contacts with at least one call.
    Called,
    /// Contacts a rule skips.
    Skipped,
    /// Contacts that wait at least once for a rule.
    Waited,
}

/// A page of the per-contact schedule, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimPage {
    pub filter: SimFilter,
    pub offset: usize,
    pub limit: usize,
}

/// The recipient's local time in one of the zones the window was checked in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LocalTime {
    pub zone: String,
    /// RFC 3339 with the zone's offset.
    pub local_time: String,
}

/// One call the dialer would place.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PlannedCall {
    pub at: DateTime<Utc>,
    /// The recipient's local time at `at`, in every zone checked.
    pub local: Vec<LocalTime>,
    /// Assumed.
    pub answered: bool,
    pub ends_at: DateTime<Utc>,
}

/// One contact's schedule.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ContactPlan {
    pub phone: String,
    /// Position in the campaign's contacts (file order), from 0.
    pub index: usize,
    pub result: SimResult,
    /// Why it is skipped.
    pub reason: Option<String>,
    /// Rules it waits for at least once before a call (business hours, its window, ...).
    pub waited_for: Vec<Rule>,
    pub calls: Vec<PlannedCall>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ReasonCount {
    pub reason: String,
    pub contacts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RuleCount {
    pub rule: Rule,
    pub contacts: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DayCount {
    /// A date in the campaign's zone.
    #[schema(value_type = String, example = "2026-12-01")]
    pub date: NaiveDate,
    pub calls: u64,
}

/// The whole run in figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SimSummary {
    pub contacts: u64,
    /// Contacts with at least one call.
    pub called: u64,
    pub calls: u64,
    pub completed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub already_finished: u64,
    pub in_call: u64,
    /// Skip reasons, most frequent first.
    pub skip_reasons: Vec<ReasonCount>,
    /// Contacts that wait at least once, per rule.
    pub waited: Vec<RuleCount>,
    pub first_call_at: Option<DateTime<Utc>>,
    pub last_call_at: Option<DateTime<Utc>>,
}

/// What the dialer would do.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Simulation {
    pub assumptions: Assumptions,
    /// When the last call would end: the campaign completes then. `None` when nothing would
    /// be called.
    pub completes_at: Option<DateTime<Utc>>,
    pub summary: SimSummary,
    /// Calls per day, in the campaign's zone.
    pub calls_per_day: Vec<DayCount>,
    /// The requested page of contacts (file order).
    pub contacts: Vec<ContactPlan>,
    /// The offset of the next page, if any.
    pub next_offset: Option<usize>,
}

/// A contact's run.
#[derive(Debug, Clone, Default)]
struct Run {
    /// (start ms, answered, end ms) of each call.
    calls: Vec<(i64, bool, i64)>,
    /// Rules waited for, as bits of `rule_bit`.
    waited: u8,
    result: Option<SimResult>,
    reason: Option<String>,
    attempts: u32,
    decisions: u16,
}

const WAIT_RULES: [Rule; 6] = [
    Rule::BlockedDates,
    Rule::BusinessHours,
    Rule::RecipientWindow,
    Rule::StateRule,
    Rule::FrequencyCap,
    Rule::UnknownTimezone,
];

fn rule_bit(r: Rule) -> u8 {
    WAIT_RULES
        .iter()
        .position(|x| *x == r)
        .map_or(0, |i| 1 << i)
}

/// The work queue: the contacts sorted once, and a heap of those that come back.
struct Queue {
    initial: std::iter::Peekable<std::vec::IntoIter<(i64, usize)>>,
    heap: BinaryHeap<Reverse<(i64, usize)>>,
}

impl Queue {
    /// The next contact by (due, file order).
    fn pop(&mut self) -> Option<(i64, usize)> {
        match (self.initial.peek(), self.heap.peek()) {
            (Some(a), Some(Reverse(b))) if b < a => self.heap.pop().map(|Reverse(x)| x),
            (Some(_), _) => self.initial.next(),
            (None, _) => self.heap.pop().map(|Reverse(x)| x),
        }
    }
}

/// Whether the `attempt`-th call to `phone` is answered: a hash of both against the rate
/// (FNV-1a, so the same inputs give the same answer everywhere).
pub fn answered(phone: &str, attempt: u32, rate: f64) -> bool {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in phone.bytes().chain(attempt.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Mix the low bits up (FNV's are weak), then a fraction in [0, 1).
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    ((h >> 11) as f64 / (1u64 << 53) as f64) < rate
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// Run the campaign's contacts through the dialer's rules from `a.start`.
pub fn simulate(
    s: &Settings,
    contacts: &[SimContact],
    dnc: &HashSet<String>,
    a: &Assumptions,
    page: SimPage,
) -> Simulation {
    let start = ms(a.start);
    let mut runs: Vec<Run> = vec![Run::default(); contacts.len()];
    // The work queue in (due, file order), as the dialer reads it: the contacts as they are
    // now, sorted once, merged with a heap of the contacts that come back (a wait, a retry).
    let mut initial: Vec<(i64, usize)> = Vec::with_capacity(contacts.len());
    for (i, (c, run)) in contacts.iter().zip(runs.iter_mut()).enumerate() {
        run.attempts = c.attempts;
        match c.state {
            ContactState::Pending | ContactState::Retrying => {
                initial.push((c.due.map_or(start, ms).max(start), i));
            }
            ContactState::Calling => run.result = Some(SimResult::InCall),
            ContactState::Completed | ContactState::Failed | ContactState::Skipped => {
                run.result = Some(SimResult::AlreadyFinished);
            }
        }
    }
    initial.sort_unstable();
    let mut queue = Queue {
        initial: initial.into_iter().peekable(),
        heap: BinaryHeap::new(),
    };
    // Each contact prepared once (its zones, window and cap), and looked up on the list once.
    let prepared: Vec<compliance::Prepared> = contacts
        .iter()
        .map(|c| compliance::prepare(s, &c.location))
        .collect();
    let listed: Vec<bool> = contacts.iter().map(|c| dnc.contains(&c.phone)).collect();
    let max = s.max_concurrent_calls.max(1) as usize;
    let sequential = max <= 1;
    let delay = i64::from(s.pacing.delay_seconds) * 1000;
    // When each call slot is next free.
    let mut slots: BinaryHeap<Reverse<i64>> = (0..max).map(|_| Reverse(start)).collect();
    let mut next_start = start;
    let mut history: Vec<i64> = Vec::new();
    // When the campaign's window (blocked dates, business hours) reopened after each closure,
    // and which rule closed it; in time order.
    let mut closures: Vec<(i64, Rule)> = Vec::new();
    // The campaign's window is open before this instant (`campaign_open_until`).
    let mut open_until = i64::MIN;
    while let Some((due, i)) = queue.pop() {
        let (Some(c), Some(p), Some(run)) = (contacts.get(i), prepared.get(i), runs.get_mut(i))
        else {
            continue;
        };
        let free = slots.peek().map_or(start, |r| r.0);
        let now_ms = due.max(free).max(next_start);
        let now = at(now_ms);
        // The campaign's own window first: while it is closed the dialer reads no contact, and
        // every contact waits for it to open (the time moves, not each contact).
        if now_ms >= open_until {
            match compliance::campaign_open_until(now, s) {
                Some(t) => open_until = ms(t),
                None => {
                    let opens = match compliance::campaign_window(now, s) {
                        Window::OpensAt(t) => ms(t),
                        Window::Open => now_ms + 1,
                    };
                    let rule = compliance::waiting_for(now, s, &c.location, CapFacts::InClaim)
                        .unwrap_or(Rule::BusinessHours);
                    closures.push((opens.max(now_ms + 1), rule));
                    next_start = next_start.max(opens.max(now_ms + 1));
                    queue.heap.push(Reverse((due, i)));
                    continue;
                }
            }
        }
        // Closures that opened after the contact was due held it too.
        let from = closures.partition_point(|(to, _)| *to <= due);
        for (_, rule) in closures.get(from..).unwrap_or(&[]) {
            run.waited |= rule_bit(*rule);
        }
        run.decisions += 1;
        if run.decisions > MAX_DECISIONS {
            run.result = Some(SimResult::Skipped);
            run.reason = Some("the dry run found no instant the rules agree on".into());
            continue;
        }
        history.clear();
        history.extend(run.calls.iter().map(|(t, _, _)| *t));
        let dnc_facts = DncFacts::Listed(listed.get(i).copied().unwrap_or(false));
        match compliance::decide_prepared(now, s, p, CapFacts::History(&history), dnc_facts) {
            Decision::Dial => {
                run.attempts += 1;
                let answer = answered(&c.phone, run.attempts, a.answer_rate);
                let secs = if answer {
                    a.call_seconds
                } else {
                    a.ring_seconds
                };
                let end = now_ms + i64::from(secs) * 1000;
                slots.pop();
                slots.push(Reverse(end));
                next_start = if sequential {
                    end + delay
                } else {
                    now_ms + delay
                };
                run.calls.push((now_ms, answer, end));
                let outcome = if answer {
                    Outcome::Completed
                } else {
                    Outcome::NoAnswer
                };
                match after_call(run.attempts, outcome, &s.retry_policy, at(end), 0.0) {
                    AfterCall::Completed => run.result = Some(SimResult::Completed),
                    AfterCall::Failed { .. } => run.result = Some(SimResult::Failed),
                    AfterCall::Retry { at: t } => queue.heap.push(Reverse((ms(t).max(end), i))),
                }
            }
            Decision::Wait(t) => {
                let rule = compliance::contact_waiting_for(now, s, p, CapFacts::History(&history));
                run.waited |= rule_bit(rule);
                queue.heap.push(Reverse((ms(t).max(now_ms + 1), i)));
            }
            Decision::Skip(reason) => {
                run.result = Some(SimResult::Skipped);
                run.reason = Some(reason);
            }
        }
    }
    report(s, contacts, runs, a, page)
}

fn report(
    s: &Settings,
    contacts: &[SimContact],
    runs: Vec<Run>,
    a: &Assumptions,
    page: SimPage,
) -> Simulation {
    let mut sum = SimSummary {
        contacts: contacts.len() as u64,
        called: 0,
        calls: 0,
        completed: 0,
        failed: 0,
        skipped: 0,
        already_finished: 0,
        in_call: 0,
        skip_reasons: Vec::new(),
        waited: Vec::new(),
        first_call_at: None,
        last_call_at: None,
    };
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    let mut waited = [0u64; WAIT_RULES.len()];
    let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    let (mut first, mut last, mut end) = (i64::MAX, i64::MIN, i64::MIN);
    for run in &runs {
        match run.result {
            Some(SimResult::Completed) => sum.completed += 1,
            Some(SimResult::Failed) => sum.failed += 1,
            Some(SimResult::Skipped) => {
                sum.skipped += 1;
                *reasons
                    .entry(run.reason.as_deref().unwrap_or(""))
                    .or_default() += 1;
            }
            Some(SimResult::AlreadyFinished) => sum.already_finished += 1,
            Some(SimResult::InCall) => sum.in_call += 1,
            None => {}
        }
        for (k, n) in waited.iter_mut().enumerate() {
            if run.waited & (1 << k) != 0 {
                *n += 1;
            }
        }
        if !run.calls.is_empty() {
            sum.called += 1;
        }
        for (t, _, e) in &run.calls {
            sum.calls += 1;
            first = first.min(*t);
            last = last.max(*t);
            end = end.max(*e);
            *days
                .entry(at(*t).with_timezone(&s.timezone).date_naive())
                .or_default() += 1;
        }
    }
    let mut skip_reasons: Vec<ReasonCount> = reasons
        .into_iter()
        .map(|(r, n)| ReasonCount {
            reason: r.to_string(),
            contacts: n,
        })
        .collect();
    skip_reasons.sort_by(|x, y| y.contacts.cmp(&x.contacts).then(x.reason.cmp(&y.reason)));
    sum.skip_reasons = skip_reasons;
    sum.waited = WAIT_RULES
        .iter()
        .zip(waited)
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| RuleCount {
            rule: *r,
            contacts: n,
        })
        .collect();
    if sum.calls > 0 {
        sum.first_call_at = Some(at(first));
        sum.last_call_at = Some(at(last));
    }
    let keep = |r: &Run| match page.filter {
        SimFilter::All => true,
        SimFilter::Called => !r.calls.is_empty(),
        SimFilter::Skipped => r.result == Some(SimResult::Skipped),
        SimFilter::Waited => r.waited != 0,
    };
    let mut selected = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| keep(r))
        .skip(page.offset);
    let mut shown = Vec::with_capacity(page.limit.min(contacts.len()));
    for (i, run) in selected.by_ref().take(page.limit) {
        if let Some(c) = contacts.get(i) {
            shown.push(plan(s, i, c, run));
        }
    }
    let next_offset = selected.next().map(|_| page.offset + shown.len());
    Simulation {
        assumptions: *a,
        completes_at: (sum.calls > 0).then(|| at(end)),
        summary: sum,
        calls_per_day: days
            .into_iter()
            .map(|(date, calls)| DayCount { date, calls })
            .collect(),
        contacts: shown,
        next_offset,
    }
}

fn plan(s: &Settings, index: usize, c: &SimContact, run: &Run) -> ContactPlan {
    let zones = tz_list(s, &c.location).unwrap_or_default();
    ContactPlan {
        phone: c.phone.clone(),
        index,
        result: run.result.unwrap_or(SimResult::Skipped),
        reason: run.reason.clone(),
        waited_for: WAIT_RULES
            .iter()
            .enumerate()
            .filter(|(k, _)| run.waited & (1 << k) != 0)
            .map(|(_, r)| *r)
            .collect(),
        calls: run
            .calls
            .iter()
            .map(|(t, answered, e)| PlannedCall {
                at: at(*t),
                local: zones
                    .iter()
                    .map(|z| LocalTime {
                        zone: z.name().to_string(),
                        local_time: at(*t)
                            .with_timezone(z)
                            .format("%Y-%m-%dT%H:%M:%S%:z")
                            .to_string(),
                    })
                    .collect(),
                answered: *answered,
                ends_at: at(*e),
            })
            .collect(),
    }
}

/// How long after `start` the run would end (for summaries).
pub fn duration_of(sim: &Simulation) -> Option<Duration> {
    sim.completes_at.map(|t| t - sim.assumptions.start)
}

mod input;
pub use input::{DEFAULT_PAGE, MAX_PAGE, SimulateInput};

#[cfg(test)]
mod tests;
