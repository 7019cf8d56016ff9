//! The dialing use cases: dial the next contact of a campaign, apply a call's status, the
//! watchdog, and the scheduler tick. One `Dialer` value serves the dialer function (tick,
//! wake-ups, queue messages) and the API function (status webhooks).
//!
//! Order of a dial (invariant 1): read the campaign, find due candidates, take slot + lease +
//! attempt in one transaction, and only then ask Twilio for the call. Whatever happens after
//! the transaction, the attempt is on record: a Twilio refusal releases it, a crash leaves a
//! lease the watchdog reconciles against Twilio before releasing anything.
//!
//! Every claim has an identity (`claim`, the attempt item's number) that is never reused; the
//! callback and TwiML URLs carry it, so a callback can only ever act on its own claim, and once
//! a CallSid is recorded only with that CallSid (invariants 1 and 13).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tracing::{debug, info, warn};

use crate::adapters::dynamodb::dial::{Claim, ClaimError, Finish, SidRecorded};
use crate::adapters::dynamodb::records::{ContactRecord, to_ms};
use crate::adapters::dynamodb::{Repo, RepoError};
use crate::adapters::sqs::DialQueue;
use crate::domain::contact::after_call;
use crate::domain::compliance::{self, CapFacts, Decision, DncFacts};
use crate::domain::hours::Window;
use crate::domain::masking::mask_phone;
use crate::domain::twilio_errors::{self, Refusal};
use crate::domain::{AfterCall, CallStatus, Campaign, CampaignState, ContactState, Outcome};
use crate::ports::{Clock, Telephony};
use crate::twilio::{CreateCall, TelephonyError};

/// Why a contact found on the owner's do-not-call list at dial time is skipped.
pub const DNC_REASON: &str = "on the owner's do-not-call list";

/// Settings of the dialer that are not per campaign.
#[derive(Debug, Clone)]
pub struct DialerConfig {
    /// The API's public base URL (webhooks and TwiML), without a trailing slash.
    pub public_base_url: String,
    /// Caller id.
    pub from_number: String,
    /// How long a lease lasts before the watchdog looks at it (longer than most calls; a live
    /// call's lease is extended).
    pub lease: Duration,
    /// Seconds Twilio lets a call ring.
    pub ring_timeout_seconds: u32,
    /// Wait after Twilio says 429/5xx before the contact is due again.
    pub busy_backoff: Duration,
    /// A leased attempt with no call found at Twilio is released only after this long, so a
    /// call Twilio is still creating is not mistaken for a call that never existed.
    pub no_call_grace: Duration,
    /// Candidates read per dial.
    pub candidates: i32,
    /// A lease Twilio could not be asked about (errors every time) for this long ends as a
    /// failed attempt with an "outcome unknown" reason, so no lease is held forever.
    pub reconcile_give_up: Duration,
    /// The tick's time budget when no deadline is given (the Lambda gives the time left before
    /// its own deadline, less a margin, if that is shorter).
    pub tick_budget: Duration,
    /// Campaigns the tick's dial stage handles at once.
    pub tick_concurrency: usize,
    /// Campaigns the tick's watchdog stage reconciles at once (each asks Twilio).
    pub watchdog_concurrency: usize,
    /// The longest one Twilio lookup of the watchdog may take; a slower one counts as "could
    /// not ask" and is tried again at the next tick.
    pub twilio_lookup_timeout: Duration,
    /// The account's call starts per second, shared by every campaign of the deployment
    /// (Twilio's per-account limit; 1 by default on Twilio). `None`: no account limit.
    pub calls_per_second: Option<u32>,
    /// Added to the rate's one-second window, so that the jitter between the instant a start is
    /// recorded and the instant Twilio receives the create cannot put one start too many into a
    /// second as Twilio sees it.
    pub rate_margin: Duration,
    /// When set, a call's create is sent this long after the instant the account's window
    /// recorded its start (0: at once). A fixed delay instead of the claim's varying latency,
    /// for when that latency varies by more than `rate_margin`.
    pub rate_send_offset: Duration,
}

impl Default for DialerConfig {
    fn default() -> Self {
        Self {
            public_base_url: "http://127.0.0.1:3000".into(),
            from_number: "+15005550006".into(),
            lease: Duration::from_secs(300),
            ring_timeout_seconds: 30,
            busy_backoff: Duration::from_secs(30),
            no_call_grace: Duration::from_secs(120),
            candidates: 10,
            reconcile_give_up: Duration::from_secs(3600),
            tick_budget: Duration::from_secs(20),
            tick_concurrency: 32,
            watchdog_concurrency: 8,
            twilio_lookup_timeout: Duration::from_secs(4),
            calls_per_second: None,
            rate_margin: Duration::from_millis(100),
            rate_send_offset: Duration::ZERO,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Dialer {
    pub repo: Repo,
    pub telephony: Arc<dyn Telephony>,
    pub clock: Arc<dyn Clock>,
    pub queue: Option<DialQueue>,
    pub config: DialerConfig,
}

/// What one `dial_next` did.
#[derive(Debug, Clone, PartialEq)]
pub enum DialOutcome {
    /// A call was created. `attempt` is the charged attempt number, `claim` the claim's identity.
    Dialed { phone: String, attempt: u32, claim: u32, call_sid: String },
    /// The call was created while the campaign was being paused or deleted: it was canceled
    /// before it connected and the contact given back uncharged.
    Canceled { phone: String, call_sid: String },
    NotFound,
    NotRunning(CampaignState),
    /// Every slot is taken.
    NoSlot,
    /// Pacing: the next call may start at this instant (a delayed message was queued).
    Paced(DateTime<Utc>),
    /// Outside business hours until this instant.
    Closed(DateTime<Utc>),
    /// Nothing is due now (contacts are waiting for retries or their own hours).
    NothingDue,
    /// The campaign had no open contacts and is now completed.
    Completed,
    /// Twilio was busy (429): the lease was released, no attempt charged.
    TwilioBusy,
    /// Twilio refused the number: the contact failed with Twilio's reason.
    Rejected { phone: String },
    /// Twilio refused the account (credentials, caller id, permissions, trial, suspended) or
    /// the circuit breaker tripped: the campaign was paused with this reason; no contact charged.
    CampaignPaused(String),
    /// The account's call rate was used up: the campaign took a turn in the account's queue
    /// and a dial message waits for it (SQS DelaySeconds).
    RateLimited(DateTime<Utc>),
    /// Twilio answered 5xx or could not be reached: it is unknown whether the call exists; the
    /// lease stays (shortened to `no_call_grace`) and the watchdog reconciles it with Twilio.
    Uncertain,
}

#[derive(Debug, thiserror::Error)]
pub enum DialError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("dial queue: {0}")]
    Queue(String),
}

/// The fields of a Twilio status callback the product uses, plus our own query parameters.
#[derive(Debug, Clone)]
pub struct StatusCallback {
    pub campaign_id: String,
    pub phone: String,
    /// The claim's identity (the URL's `attempt`).
    pub attempt: u32,
    /// The charged attempt number (the URL's `charge`; older URLs lack it: then `attempt`).
    pub charge: Option<u32>,
    pub seq: u64,
    pub call_sid: String,
    pub call_status: CallStatus,
    pub sequence_number: Option<i64>,
    pub duration: Option<u32>,
    pub answered_by: Option<String>,
}

/// What a status callback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    /// Progress recorded (ringing, in-progress...).
    Progress,
    /// The attempt ended and the contact moved on.
    Finished(ContactState),
    /// A duplicate, late or stale callback: nothing changed.
    Ignored,
    /// A callback for a superseded claim (released, or another call's sid): nothing changed;
    /// logged and counted on the campaign (`superseded_callbacks`).
    Superseded,
}

/// Twilio's connection overrides on the status callback URL: up to 3 retries, also when we
/// answer 5xx (by default Twilio retries once and only when the connection failed). A fragment
/// is never sent; the webhook accepts a signature over the URL with or without it
/// (`http::twilio`), since Twilio's documentation does not say which one it signs.
pub const CALLBACK_OVERRIDES: &str = "#rc=3&rp=5xx,ct,rt";
/// Tries of a status callback against storage conflicts and throttles, inside the request.
pub const CALLBACK_TRIES: u32 = 4;
/// A terminal callback that could not be applied: the watchdog looks at its claim after this.
pub const CALLBACK_RECOVERY: Duration = Duration::from_secs(20);
/// Process-wide counts (the figures of issue 14 item 6): callbacks that met a storage conflict
/// or throttle, and retries made.
pub static CALLBACK_CONFLICTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
pub static CALLBACK_RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Tries of one candidate's claim while other dials change the number's cap history.
const CAP_TRIES: u32 = 3;

/// What trying one candidate did.
enum Tried {
    /// Claimed: (claim identity, charged attempt, the start's instant).
    Leased(u32, u32, i64),
    /// The account's call rate has no start free: the campaign waits for its turn (queued).
    RateLimited(DateTime<Utc>),
    /// The campaign has no slot (or pacing holds it).
    NoSlot,
    /// Deferred, skipped, taken by another dialer, or left due: try the next candidate.
    Moved,
}

/// Short waits (under a second) for the account's call rate inside one dial, before the dial
/// takes a turn in the queue instead.
pub const RATE_SLEEPS: u32 = 3;

/// Abnormal create failures in a row (5xx, unreachable, unknown 4xx) that pause a campaign.
pub const BREAKER_RUN: u64 = 5;

fn refused_reason(code: Option<i64>, message: &str) -> String {
    match code {
        Some(code) => format!("Twilio refused the number (error {code}): {message}"),
        None => format!("Twilio refused the number: {message}"),
    }
}

/// Query parameters our callback and TwiML URLs carry: the claim's identity (`attempt`) and
/// its charged attempt number (`charge`). Covered by Twilio's signature.
pub fn callback_query(campaign_id: &str, phone: &str, claim: u32, charge: u32, seq: u64) -> String {
    serde_urlencoded::to_string([
        ("campaign", campaign_id.to_string()),
        ("phone", phone.to_string()),
        ("attempt", claim.to_string()),
        ("charge", charge.to_string()),
        ("seq", seq.to_string()),
    ])
    .unwrap_or_default()
}



/// The claim one of our webhook URLs names: `(campaign, phone, claim)` from the query of a
/// `/twilio/status` or `/twilio/voice` URL (a `#` fragment ignored); `None` for any other URL.
/// What the watchdog reads in a call's events to tell whose call it is.
pub fn claim_named_by(url: &str) -> Option<(String, String, u32)> {
    let url = url.split('#').next().unwrap_or_default();
    let (path, query) = url.split_once('?')?;
    if !(path.ends_with("/twilio/status") || path.ends_with("/twilio/voice")) {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let claim = get("attempt")?.parse::<u32>().ok()?;
    Some((get("campaign")?, get("phone")?, claim))
}

pub(crate) fn secs_until(now: DateTime<Utc>, at: DateTime<Utc>) -> u32 {
    let ms = (at - now).num_milliseconds().max(0);
    (ms as u64).div_ceil(1000) as u32
}

impl Dialer {
    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    async fn enqueue(&self, campaign_id: &str, delay_seconds: u32) -> Result<(), DialError> {
        if let Some(q) = &self.queue {
            q.send(campaign_id, delay_seconds).await.map_err(|e| DialError::Queue(e.to_string()))?;
        }
        Ok(())
    }

    /// Ask for a dial of `campaign_id` now.
    pub(crate) async fn enqueue_now(&self, campaign_id: &str) -> Result<(), DialError> {
        self.enqueue(campaign_id, 0).await
    }

    /// Dial the next due contact of one campaign, if everything allows it now.
    pub async fn dial_next(&self, campaign_id: &str) -> Result<DialOutcome, DialError> {
        let Some(c) = self.repo.get_campaign(campaign_id).await? else { return Ok(DialOutcome::NotFound) };
        self.dial_holding(c, None).await
    }

    /// Handle a dial message: `dial_next`, holding the message's turn in the account's call
    /// rate queue if it has one.
    pub async fn dial_message(&self, msg: &crate::adapters::sqs::DialMessage) -> Result<DialOutcome, DialError> {
        let Some(c) = self.repo.get_campaign(&msg.campaign_id).await? else { return Ok(DialOutcome::NotFound) };
        self.dial_holding(c, msg.turn).await
    }

    /// Dial the next due contact of a campaign as read by the caller. The read may be stale
    /// (paused or deleted since): the claim's conditions, not this copy, decide.
    pub async fn dial(&self, c: Campaign) -> Result<DialOutcome, DialError> {
        self.dial_holding(c, None).await
    }

    async fn dial_holding(&self, mut c: Campaign, turn: Option<i64>) -> Result<DialOutcome, DialError> {
        let holds_turn = turn.is_some();
        let mut now = self.now();
        if c.state == CampaignState::Pending && c.start_due(now) {
            // Woken by Start: the campaign starts now rather than at the next tick.
            match self.repo.transition(None, &c.id, &[CampaignState::Pending], CampaignState::Running, now, None).await {
                Ok(updated) => {
                    info!(campaign_id = %c.id, "campaign started");
                    c = updated;
                }
                Err(RepoError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let campaign_id = c.id.as_str();
        if c.state != CampaignState::Running {
            return Ok(DialOutcome::NotRunning(c.state));
        }
        let max = c.settings.max_concurrent_calls;
        if c.counters.calling >= u64::from(max) {
            return Ok(DialOutcome::NoSlot);
        }
        if let Some(next) = c.next_dial_at.filter(|t| *t > now) {
            let own_turn = turn == Some(to_ms(next));
            if own_turn && (next - now).num_milliseconds() <= 1_000 {
                // This message's own turn, delivered a little early (SQS counts whole seconds).
                tokio::time::sleep((next - now).to_std().unwrap_or_default()).await;
                now = self.now().max(next);
            } else {
                if own_turn {
                    if let Some(q) = &self.queue {
                        let msg = crate::adapters::sqs::DialMessage { campaign_id: c.id.clone(), turn };
                        q.send_message(&msg, secs_until(now, next)).await.map_err(|e| DialError::Queue(e.to_string()))?;
                    }
                } else if !holds_turn {
                    self.enqueue(campaign_id, secs_until(now, next)).await?;
                }
                // A turn that finds a later wait: the campaign took a later turn (or placed a
                // call) meanwhile, and whoever set that wait queued its message.
                return Ok(DialOutcome::Paced(next));
            }
        }
        // Business hours and blocked dates, in the campaign's zone.
        if let Window::OpensAt(t) = compliance::campaign_window(now, &c.settings) {
            return Ok(DialOutcome::Closed(t));
        }
        let now_ms = to_ms(now);
        let candidates = self.repo.due_contacts(campaign_id, now_ms, self.config.candidates).await?;
        if candidates.is_empty() {
            if c.counters.open() == 0 && self.repo.try_complete(campaign_id, now_ms).await? {
                info!(campaign_id, "campaign completed");
                return Ok(DialOutcome::Completed);
            }
            return Ok(DialOutcome::NothingDue);
        }
        let delay_ms = i64::from(c.settings.pacing.delay_seconds) * 1000;
        let mut leased: Option<(ContactRecord, u32, u32)> = None;
        let mut recorded_ms = now_ms;
        for cand in candidates {
            if !cand.state.is_dialable() || cand.next_attempt_ms > now_ms {
                continue; // the index lags the table
            }
            match self.try_claim(&c, &cand, now, delay_ms, turn).await? {
                Tried::Leased(id, attempt, at) => {
                    recorded_ms = at;
                    leased = Some((cand, id, attempt));
                    break;
                }
                Tried::NoSlot => return Ok(DialOutcome::NoSlot),
                Tried::RateLimited(at) => return Ok(DialOutcome::RateLimited(at)),
                Tried::Moved => continue,
            }
        }
        let Some((contact, claim, attempt)) = leased else { return Ok(DialOutcome::NothingDue) };
        if self.config.calls_per_second.is_some() && !self.config.rate_send_offset.is_zero() {
            // Send the create a fixed time after the instant the account's window recorded, so
            // the claim's varying latency does not bunch starts together at Twilio.
            let send_at = recorded_ms + self.config.rate_send_offset.as_millis() as i64;
            let wait = send_at - to_ms(self.now());
            if wait > 0 {
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            }
        }
        self.place(&c, contact, claim, attempt, now).await
    }

    /// Every rule for one candidate at `now`, then its claim (invariants 4, 11, 12): the
    /// recipient's window in all of their zones, state rules, blocked dates, the cap over the
    /// number's call history read now; the do-not-call list and the cap are also conditions of
    /// the claim transaction, not only checks here. The cap update also requires the history
    /// to be the one counted, so the audit's count is the count at the claim; a claim refused
    /// by the cap re-reads it (another campaign of the owner may have called) and decides again.
    async fn try_claim(&self, c: &Campaign, cand: &ContactRecord, now: DateTime<Utc>, delay_ms: i64, turn: Option<i64>) -> Result<Tried, DialError> {
        let campaign_id = c.id.as_str();
        let now_ms = to_ms(now);
        let location = cand.location.clone().unwrap_or_else(|| compliance::locate(&cand.phone, &cand.metadata));
        // The time rules first: a contact outside its window costs no read of its history.
        let first = compliance::evaluate(now, &c.settings, &location, CapFacts::InClaim, DncFacts::InClaim);
        let mut decision = first.decision;
        for _ in 0..CAP_TRIES {
            if decision == Decision::Dial {
                let history = self.repo.cap_history(&c.owner, &cand.phone).await?;
                let eval = compliance::evaluate(now, &c.settings, &location, CapFacts::History(&history), DncFacts::InClaim);
                if eval.decision == Decision::Dial {
                    let mut claim = Claim::next(c, cand, now_ms, now_ms + self.config.lease.as_millis() as i64, now_ms + delay_ms);
                    claim.checks.push(self.repo.dnc_absent_check(&c.owner, &cand.phone)?);
                    let per_24h = compliance::cap_per_24h(&c.settings, &location);
                    claim.updates.push(self.repo.cap_update(&c.owner, &cand.phone, now_ms, per_24h, c.settings.frequency_cap.per_7_days, history.first().copied())?);
                    claim.audit = serde_json::to_value(&eval.audit).ok();
                    claim.audit_line = Some(eval.audit.compact());
                    let (id, attempt) = (claim.claim, claim.attempt);
                    let mut rate_tries = 0;
                    let result = loop {
                        if let Some(rate) = self.config.calls_per_second {
                            // The start's instant as late as possible: right before the
                            // transaction (it is also the attempt's start), so the account's
                            // window counts starts as close as it can to when Twilio gets them.
                            let at = to_ms(self.now()).max(now_ms);
                            claim.now_ms = at;
                            claim.lease_until_ms = at + self.config.lease.as_millis() as i64;
                            claim.next_dial_ms = at + delay_ms;
                            claim.rate = Some(self.repo.rate_update(at, rate, self.rate_window_ms(), turn.is_some())?);
                        }
                        match self.repo.claim(&claim).await {
                            Err(ClaimError::RateLimited) => {
                                rate_tries += 1;
                                match self.rate_refused(campaign_id, rate_tries, turn).await? {
                                    None => continue,
                                    Some(at) => return Ok(Tried::RateLimited(at)),
                                }
                            }
                            other => break other,
                        }
                    };
                    match result {
                        Ok(()) => return Ok(Tried::Leased(id, attempt, claim.now_ms)),
                        Err(ClaimError::Refused(0)) => {
                            // On the owner's do-not-call list (perhaps added while the campaign runs).
                            info!(campaign_id, phone = %mask_phone(&cand.phone), "on the do-not-call list; skipped");
                            decision = Decision::Skip(DNC_REASON.to_string());
                        }
                        // The cap's history changed since it was read: read it again and decide.
                        Err(ClaimError::Refused(_)) => continue,
                        Err(ClaimError::ContactTaken) => return Ok(Tried::Moved),
                        Err(ClaimError::CampaignBusy | ClaimError::RateLimited) => return Ok(Tried::NoSlot),
                        Err(ClaimError::Repo(e)) => return Err(e.into()),
                    }
                } else {
                    decision = eval.decision;
                    if matches!(decision, Decision::Wait(_)) {
                        info!(campaign_id, phone = %mask_phone(&cand.phone), "frequency cap reached; deferred");
                    }
                }
            }
            match decision {
                Decision::Dial => {}
                Decision::Wait(t) => {
                    // Outside the recipient's hours or capped: wait without being charged.
                    self.defer_or_ignore(campaign_id, cand, to_ms(t)).await?;
                    return Ok(Tried::Moved);
                }
                Decision::Skip(reason) => {
                    self.skip_or_ignore(campaign_id, cand, &reason).await?;
                    return Ok(Tried::Moved);
                }
            }
        }
        // Other dials kept changing the number's history: leave it due for the next dial.
        Ok(Tried::Moved)
    }

    /// The account's window, in ms: one second and the margin.
    fn rate_window_ms(&self) -> i64 {
        1_000 + self.config.rate_margin.as_millis() as i64
    }

    /// The account's call rate refused a claim. A dial holding a turn (or any dial while nobody
    /// waits) waits here for a start that frees within a second (at most `RATE_SLEEPS` times
    /// per dial): SQS delays count whole seconds. Otherwise the campaign takes a turn at the end
    /// of the account's queue: its next dial waits for it (`next_dial_ms`) and a dial message
    /// holding the turn is queued for it. `None`: try the claim again now.
    async fn rate_refused(&self, campaign_id: &str, tries: u32, held: Option<i64>) -> Result<Option<DateTime<Utc>>, DialError> {
        let holds_turn = held.is_some();
        let rate = self.config.calls_per_second.unwrap_or(1);
        let window = self.rate_window_ms();
        let now = self.now();
        let now_ms = to_ms(now);
        let state = self.repo.rate_state(rate).await?;
        let free_at = state.next_free_ms(rate, window);
        let wait = free_at - now_ms;
        let queue_empty = state.turn <= now_ms;
        if (holds_turn || queue_empty) && tries <= RATE_SLEEPS && wait <= 1_000 {
            let jitter: u64 = rand::rng().random_range(0..=25);
            tokio::time::sleep(Duration::from_millis(wait.max(0) as u64 + jitter)).await;
            return Ok(None);
        }
        if held.is_some() {
            // A turn that came but found no start free (others whose turn also came took them):
            // it keeps its place and tries again as soon as a start frees, ahead of the queue;
            // the campaign's wait moves with it, so the tick sends no second message meanwhile.
            let again = free_at.max(now_ms + 1_000);
            match self.repo.hold_for_turn(campaign_id, again).await {
                Ok(()) | Err(RepoError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
            let at = crate::adapters::dynamodb::records::from_ms(again);
            if let Some(q) = &self.queue {
                let msg = crate::adapters::sqs::DialMessage { campaign_id: campaign_id.to_string(), turn: Some(again) };
                q.send_message(&msg, secs_until(now, at)).await.map_err(|e| DialError::Queue(e.to_string()))?;
            }
            return Ok(Some(at));
        }
        // Turns a little further apart than the window allows, so a turn that arrives late
        // (SQS counts whole seconds) does not push every later one back.
        let interval = (window * 11 / 10 + i64::from(rate) - 1) / i64::from(rate);
        let turn = self.repo.take_turn(interval, free_at.max(now_ms)).await?;
        match self.repo.hold_for_turn(campaign_id, turn).await {
            Ok(()) | Err(RepoError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        let at = crate::adapters::dynamodb::records::from_ms(turn);
        if let Some(q) = &self.queue {
            let msg = crate::adapters::sqs::DialMessage { campaign_id: campaign_id.to_string(), turn: Some(turn) };
            q.send_message(&msg, secs_until(now, at)).await.map_err(|e| DialError::Queue(e.to_string()))?;
        }
        debug!(campaign_id, wait_ms = turn - now_ms, "account call rate used up; queued for its turn");
        Ok(Some(at))
    }

    async fn defer_or_ignore(&self, campaign_id: &str, contact: &ContactRecord, due_ms: i64) -> Result<(), DialError> {
        match self.repo.defer_contact(campaign_id, contact, due_ms).await {
            Ok(()) | Err(RepoError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn skip_or_ignore(&self, campaign_id: &str, contact: &ContactRecord, reason: &str) -> Result<(), DialError> {
        match self.repo.skip_contact(campaign_id, contact, reason).await {
            Ok(()) | Err(RepoError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn place(&self, c: &Campaign, contact: ContactRecord, claim: u32, attempt: u32, now: DateTime<Utc>) -> Result<DialOutcome, DialError> {
        let base = self.config.public_base_url.trim_end_matches('/');
        let query = callback_query(&c.id, &contact.phone, claim, attempt, contact.seq);
        let req = CreateCall {
            to: contact.phone.clone(),
            from: self.config.from_number.clone(),
            url: format!("{base}/twilio/voice?{query}"),
            status_callback: format!("{base}/twilio/status?{query}{CALLBACK_OVERRIDES}"),
            timeout_seconds: self.config.ring_timeout_seconds,
            machine_detection: c.settings.machine_detection,
        };
        let masked = mask_phone(&contact.phone);
        match self.telephony.create_call(&req).await {
            Ok(info) => {
                match self.repo.record_call_sid(&c.id, &contact.phone, claim, &info.sid, info.status.as_str()).await? {
                    SidRecorded::Recorded | SidRecorded::AttemptMoved => {}
                    SidRecorded::CampaignStopped => return self.cancel_stopped(c, &contact, claim, &info.sid, now).await,
                }
                info!(campaign_id = %c.id, phone = %masked, attempt, claim, call_sid = %info.sid, "call placed");
                let max = u64::from(c.settings.max_concurrent_calls);
                if c.counters.calling + 1 < max {
                    // Parallel mode: the next start is one pacing delay after this one.
                    self.enqueue(&c.id, c.settings.pacing.delay_seconds).await?;
                }
                Ok(DialOutcome::Dialed { phone: contact.phone, attempt, claim, call_sid: info.sid })
            }
            // 429 (or the secret could not even be read: nothing was sent): proof that no call
            // exists, so the claim is given back at once.
            Err(TelephonyError::Retryable { status, message }) if status == 429 || status == 0 => {
                warn!(campaign_id = %c.id, phone = %masked, status, %message, "twilio busy; lease released");
                let due = now + chrono::Duration::from_std(self.config.busy_backoff).unwrap_or_default();
                self.release_or_ignore(&c.id, &contact, claim, contact.state, to_ms(due), None, now).await?;
                self.enqueue(&c.id, self.config.busy_backoff.as_secs() as u32).await?;
                Ok(DialOutcome::TwilioBusy)
            }
            Err(TelephonyError::Rejected { status, code, message }) => match twilio_errors::classify(status, code) {
                Refusal::Number => {
                    warn!(campaign_id = %c.id, phone = %masked, status, ?code, "twilio refused the number");
                    self.fail_contact(c, &contact, claim, refused_reason(code, &message), now).await?;
                    Ok(DialOutcome::Rejected { phone: contact.phone })
                }
                Refusal::Unknown => {
                    warn!(campaign_id = %c.id, phone = %masked, status, ?code, "twilio refused the call with an unknown code");
                    self.fail_contact(c, &contact, claim, refused_reason(code, &message), now).await?;
                    let what = format!("HTTP {status}, error {}", code.map_or("none".to_string(), |c| c.to_string()));
                    if let Some(reason) = self.breaker(c, &what, now).await? {
                        return Ok(DialOutcome::CampaignPaused(reason));
                    }
                    Ok(DialOutcome::Rejected { phone: contact.phone })
                }
                Refusal::RateLimited => {
                    self.release_or_ignore(&c.id, &contact, claim, contact.state, to_ms(now), None, now).await?;
                    Ok(DialOutcome::TwilioBusy)
                }
                Refusal::Account { fix } => {
                    let code_text = code.map_or(format!("HTTP {status}"), |c| format!("error {c}"));
                    let reason = format!(
                        "paused: Twilio refused the call for the account, not for the number ({code_text}: {message}); {fix}; no contact was charged: resume the campaign to continue where it stopped"
                    );
                    self.pause_for(c, &contact, claim, reason, now).await
                }
                Refusal::Credentials => self.credentials_refused(c, &contact, claim, status, now).await,
            },
            Err(TelephonyError::Unauthorized { status, .. }) => self.credentials_refused(c, &contact, claim, status, now).await,
            // 5xx, a timeout, a broken answer: the call may exist. Nothing is released; the
            // lease is shortened so the watchdog asks Twilio soon (invariant 13).
            Err(e @ (TelephonyError::Retryable { .. } | TelephonyError::Transport(_) | TelephonyError::Protocol(_))) => {
                warn!(campaign_id = %c.id, phone = %masked, attempt, claim, error = %e, "call creation uncertain; the watchdog will reconcile");
                let until = to_ms(now) + self.config.no_call_grace.as_millis() as i64;
                match self.repo.extend_lease(&c.id, &contact, claim, until).await {
                    Ok(()) | Err(RepoError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                let what = match &e {
                    TelephonyError::Retryable { status, .. } => format!("HTTP {status}"),
                    TelephonyError::Transport(_) => "Twilio unreachable".to_string(),
                    _ => "an unreadable answer".to_string(),
                };
                if let Some(reason) = self.breaker(c, &what, now).await? {
                    return Ok(DialOutcome::CampaignPaused(reason));
                }
                Ok(DialOutcome::Uncertain)
            }
        }
    }

    /// A number-level refusal: the attempt ends failed with Twilio's reason (no call exists).
    async fn fail_contact(&self, c: &Campaign, contact: &ContactRecord, claim: u32, reason: String, now: DateTime<Utc>) -> Result<(), DialError> {
        let finish = Finish {
            campaign_id: &c.id,
            phone: &contact.phone,
            claim,
            call_sid: None,
            seq: contact.seq,
            call_status: CallStatus::Failed.as_str(),
            sequence_number: i64::MAX,
            outcome: Outcome::Failed,
            after: AfterCall::Failed { exhausted: false },
            duration: None,
            answered_by: None,
            failure_reason: Some(&reason),
            twilio_error: Some(&reason),
            now_ms: to_ms(now),
            next_dial_ms: None,
        };
        match self.repo.finish_attempt(&finish).await {
            Ok(()) | Err(RepoError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        self.after_finish(c, now).await
    }

    /// The credentials were refused even after a reload (the client retries once with
    /// reloaded credentials): pause, never fail, so resume continues once they are fixed.
    async fn credentials_refused(&self, c: &Campaign, contact: &ContactRecord, claim: u32, status: u16, now: DateTime<Utc>) -> Result<DialOutcome, DialError> {
        let reason = format!(
            "paused: Twilio refused the account credentials (HTTP {status}), also after reloading them; set the account SID and auth token (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN or the Twilio secret), then resume the campaign: it continues where it stopped, no contact was charged"
        );
        self.pause_for(c, contact, claim, reason, now).await
    }

    /// An account-level refusal: give the claim back uncharged and pause the campaign with
    /// the reason (what to fix; resume continues).
    async fn pause_for(&self, c: &Campaign, contact: &ContactRecord, claim: u32, reason: String, now: DateTime<Utc>) -> Result<DialOutcome, DialError> {
        warn!(campaign_id = %c.id, reason = %reason, "twilio refused the account; pausing the campaign");
        self.release_or_ignore(&c.id, contact, claim, contact.state, to_ms(now), None, now).await?;
        match self.repo.transition(None, &c.id, &[CampaignState::Running], CampaignState::Paused, now, Some(&reason)).await {
            Ok(_) | Err(RepoError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(DialOutcome::CampaignPaused(reason))
    }

    /// The circuit breaker: one more abnormal create failure in a row (5xx, unreachable,
    /// unknown 4xx). At `BREAKER_RUN` in a row the campaign is paused with the figures.
    async fn breaker(&self, c: &Campaign, what: &str, now: DateTime<Utc>) -> Result<Option<String>, DialError> {
        let (run, since_ms) = self.repo.note_twilio_failure(&c.id, to_ms(now)).await?;
        if run < BREAKER_RUN {
            return Ok(None);
        }
        let since = crate::adapters::dynamodb::records::from_ms(since_ms);
        let reason = format!(
            "paused by the circuit breaker: the last {run} call attempts in a row failed at Twilio since {} UTC (last: {what}), while normally almost every create succeeds; check Twilio's status page and the account's error log, then resume the campaign to continue where it stopped",
            since.format("%Y-%m-%d %H:%M:%S")
        );
        warn!(campaign_id = %c.id, run, "circuit breaker: pausing the campaign");
        match self.repo.transition(None, &c.id, &[CampaignState::Running], CampaignState::Paused, now, Some(&reason)).await {
            Ok(_) | Err(RepoError::Conflict) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Some(reason))
    }

    /// The campaign stopped (pause, delete) while the create was in flight: give the contact
    /// back uncharged, then cancel the call before it connects (invariant 8). The release comes
    /// first so the `canceled` callback the cancel provokes finds the claim already ended
    /// (it is then counted as superseded) instead of charging the contact with it.
    async fn cancel_stopped(&self, c: &Campaign, contact: &ContactRecord, claim: u32, sid: &str, now: DateTime<Utc>) -> Result<DialOutcome, DialError> {
        let masked = mask_phone(&contact.phone);
        self.release_or_ignore(&c.id, contact, claim, contact.state, to_ms(now), Some(sid), now).await?;
        let mut last_error = None;
        for round in 0..3u32 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(200 << round)).await;
            }
            match self.telephony.cancel_call(sid).await {
                Ok(after) => {
                    let status = after.as_ref().map(|a| a.status.as_str()).unwrap_or("unknown");
                    info!(campaign_id = %c.id, phone = %masked, claim, call_sid = %sid, status, "campaign stopped during the create: call canceled");
                    return Ok(DialOutcome::Canceled { phone: contact.phone.clone(), call_sid: sid.to_string() });
                }
                Err(e) => last_error = Some(e),
            }
        }
        // Rare (Twilio unreachable three times): the call may connect; its callbacks will be
        // counted as superseded. Said loudly so an operator can look.
        tracing::error!(campaign_id = %c.id, phone = %masked, claim, call_sid = %sid, error = ?last_error, "could not cancel a call created after the campaign stopped");
        Ok(DialOutcome::Canceled { phone: contact.phone.clone(), call_sid: sid.to_string() })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn release_or_ignore(
        &self,
        campaign_id: &str,
        contact: &ContactRecord,
        claim: u32,
        back_to: ContactState,
        due_ms: i64,
        sid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), DialError> {
        match self.repo.release(campaign_id, contact, claim, back_to, due_ms, sid, to_ms(now)).await {
            Ok(()) | Err(RepoError::Conflict) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// After an attempt ended: complete the campaign if nothing is left, else queue its next
    /// dial after the pacing delay.
    async fn after_finish(&self, c: &Campaign, now: DateTime<Utc>) -> Result<(), DialError> {
        if c.counters.pending + c.counters.retrying == 0 && self.repo.try_complete(&c.id, to_ms(now)).await? {
            info!(campaign_id = %c.id, "campaign completed");
            return Ok(());
        }
        if c.state == CampaignState::Running {
            let delay = if c.settings.max_concurrent_calls <= 1 {
                c.settings.pacing.delay_seconds
            } else {
                c.next_dial_at.map_or(0, |t| secs_until(now, t))
            };
            self.enqueue(&c.id, delay).await?;
        }
        Ok(())
    }

    /// Apply a (verified) status callback, idempotently (invariant 6), and only to the claim
    /// it names, with the call it names (invariant 1).
    pub async fn apply_status(&self, cb: &StatusCallback) -> Result<StatusOutcome, DialError> {
        let now = self.now();
        let seq_no = cb.sequence_number.unwrap_or(i64::from(cb.call_status.rank()));
        if !cb.call_status.is_terminal() {
            return match self.repo.record_progress(&cb.campaign_id, &cb.phone, cb.attempt, &cb.call_sid, cb.call_status.as_str(), seq_no).await {
                Ok(()) => Ok(StatusOutcome::Progress),
                Err(RepoError::Conflict) => self.ignored_or_superseded(cb).await,
                Err(e) => Err(e.into()),
            };
        }
        let Some(c) = self.repo.get_campaign(&cb.campaign_id).await? else { return Ok(StatusOutcome::Ignored) };
        let ended = Ended {
            claim: cb.attempt,
            charged: cb.charge.unwrap_or(cb.attempt),
            seq: cb.seq,
            call_sid: Some(&cb.call_sid),
            status: cb.call_status,
            seq_no,
            duration: cb.duration,
            answered_by: cb.answered_by.as_deref(),
            reason: None,
        };
        match self.finish(&c, &cb.phone, &ended, now).await? {
            StatusOutcome::Ignored => self.ignored_or_superseded(cb).await,
            other => Ok(other),
        }
    }

    /// `apply_status`, with storage conflicts and throttles retried inside the request
    /// (at most `CALLBACK_TRIES` tries, jittered backoff), because Twilio does not retry a
    /// failed status callback by default. If it still fails and the callback was terminal, the
    /// claim's lease is shortened to `CALLBACK_RECOVERY` so the watchdog applies the outcome
    /// from Twilio's view at its next tick, well before the lease would have run out.
    pub async fn apply_status_retrying(&self, cb: &StatusCallback) -> Result<StatusOutcome, DialError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.apply_status(cb).await {
                Err(DialError::Repo(e)) if e.is_retryable() => {
                    CALLBACK_CONFLICTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if tries >= CALLBACK_TRIES {
                        if cb.call_status.is_terminal() {
                            let until = to_ms(self.now()) + CALLBACK_RECOVERY.as_millis() as i64;
                            let _ = self.repo.shorten_lease(&cb.campaign_id, &cb.phone, cb.seq, cb.attempt, until).await;
                        }
                        return Err(DialError::Repo(e));
                    }
                    CALLBACK_RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let cap = 20u64 << tries;
                    let pause = rand::rng().random_range(cap / 2..=cap);
                    tokio::time::sleep(Duration::from_millis(pause)).await;
                }
                other => return other,
            }
        }
    }

    /// A callback that changed nothing: a duplicate or late one for its own claim, or one for a
    /// claim that was superseded (released, or holding another call). The latter is logged
    /// and counted.
    async fn ignored_or_superseded(&self, cb: &StatusCallback) -> Result<StatusOutcome, DialError> {
        let attempt = self.repo.get_attempt(&cb.campaign_id, &cb.phone, cb.attempt).await?;
        let superseded = match &attempt {
            None => true,
            Some(a) => a.released || a.call_sid.as_deref().is_some_and(|sid| sid != cb.call_sid),
        };
        if !superseded {
            debug!(campaign_id = %cb.campaign_id, phone = %mask_phone(&cb.phone), claim = cb.attempt, "duplicate or stale callback ignored");
            return Ok(StatusOutcome::Ignored);
        }
        warn!(
            campaign_id = %cb.campaign_id,
            phone = %mask_phone(&cb.phone),
            claim = cb.attempt,
            call_sid = %cb.call_sid,
            status = cb.call_status.as_str(),
            "callback for a superseded attempt ignored"
        );
        self.repo.count_superseded_callback(&cb.campaign_id).await?;
        Ok(StatusOutcome::Superseded)
    }

    /// End a claim with the outcome its call had. `Ignored` when a condition says it already
    /// ended or is not this claim's (or this call's) any more.
    pub(crate) async fn finish(&self, c: &Campaign, phone: &str, e: &Ended<'_>, now: DateTime<Utc>) -> Result<StatusOutcome, DialError> {
        let Some(outcome) = Outcome::of(e.status, e.answered_by, c.settings.machine_detection) else {
            return Ok(StatusOutcome::Ignored);
        };
        let jitter: f64 = rand::rng().random();
        let attempt = e.charged;
        let after = after_call(attempt, outcome, &c.settings.retry_policy, now, jitter);
        let reason = match (&e.reason, after) {
            (Some(r), _) => Some(r.clone()),
            (None, AfterCall::Failed { exhausted: true }) => Some(format!("no answer after {attempt} attempts (last: {})", outcome.as_str())),
            (None, AfterCall::Failed { exhausted: false }) => Some(format!("call ended: {}", outcome.as_str())),
            _ => None,
        };
        let sequential = c.settings.max_concurrent_calls <= 1;
        let finish = Finish {
            campaign_id: &c.id,
            phone,
            claim: e.claim,
            call_sid: e.call_sid,
            seq: e.seq,
            call_status: e.status.as_str(),
            sequence_number: e.seq_no,
            outcome,
            after,
            duration: e.duration,
            answered_by: e.answered_by,
            failure_reason: reason.as_deref(),
            twilio_error: None,
            now_ms: to_ms(now),
            next_dial_ms: sequential.then(|| to_ms(now) + i64::from(c.settings.pacing.delay_seconds) * 1000),
        };
        match self.repo.finish_attempt(&finish).await {
            Ok(()) => {}
            Err(RepoError::Conflict) => return Ok(StatusOutcome::Ignored),
            Err(e) => return Err(e.into()),
        }
        info!(campaign_id = %c.id, phone = %mask_phone(phone), attempt, claim = e.claim, outcome = outcome.as_str(), next = after.state().as_str(), "call finished");
        self.after_finish(c, now).await?;
        Ok(StatusOutcome::Finished(after.state()))
    }
}

/// How a claim's call ended, from a callback or from Twilio's view (the watchdog).
#[derive(Debug, Clone)]
pub(crate) struct Ended<'a> {
    pub claim: u32,
    pub charged: u32,
    pub seq: u64,
    pub call_sid: Option<&'a str>,
    pub status: CallStatus,
    pub seq_no: i64,
    pub duration: Option<u32>,
    pub answered_by: Option<&'a str>,
    /// Replaces the reason the outcome would give (e.g. "outcome unknown").
    pub reason: Option<String>,
}

pub use super::tick::TickReport;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_a_claim_only_when_it_is_one_of_our_webhooks() {
        let q = callback_query("c1", "+12025550100", 3, 2, 7);
        let named = Some(("c1".to_string(), "+12025550100".to_string(), 3));
        assert_eq!(claim_named_by(&format!("https://api.example.com/twilio/status?{q}")), named);
        assert_eq!(claim_named_by(&format!("https://api.example.com/prod/twilio/voice?{q}")), named);
        // A connection-override fragment is not part of the query.
        assert_eq!(claim_named_by(&format!("https://api.example.com/twilio/status?{q}#rc=2&rp=all")), named);
        assert_eq!(claim_named_by(&format!("https://elsewhere.example.com/hook?{q}")), None);
        assert_eq!(claim_named_by("https://api.example.com/twilio/status?campaign=c1&phone=%2B1&attempt=x"), None);
        assert_eq!(claim_named_by("https://api.example.com/twilio/status"), None);
    }
}
