//! The dialing use cases: dial the next contact of a campaign, apply a call's status, the
//! watchdog, and the scheduler tick. One `Dialer` value serves the dialer function (tick,
//! wake-ups, queue messages) and the API function (status webhooks).
//!
//! Order of a dial (invariant 1): read the campaign, find due candidates, take slot + lease +
//! attempt in one transaction, and only then ask Twilio for the call. Whatever happens after
//! the transaction, the attempt is on record: a Twilio refusal releases it, a crash leaves a
//! lease the watchdog reconciles against Twilio before releasing anything.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rand::Rng;
use tracing::{debug, info, warn};

use crate::adapters::dynamodb::dial::{Claim, ClaimError, Finish};
use crate::adapters::dynamodb::records::{AttemptRecord, ContactRecord, to_ms};
use crate::adapters::dynamodb::{Repo, RepoError};
use crate::adapters::sqs::DialQueue;
use crate::domain::contact::after_call;
use crate::domain::hours::{Window, dial_window};
use crate::domain::masking::mask_phone;
use crate::domain::{AfterCall, CallStatus, Campaign, CampaignState, ContactState, Outcome};
use crate::ports::{Clock, Telephony};
use crate::twilio::{CallInfo, CreateCall, TelephonyError};

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
    /// A call was created.
    Dialed { phone: String, attempt: u32, call_sid: String },
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
    /// Twilio was busy (429/5xx): the lease was released, no attempt charged.
    TwilioBusy,
    /// Twilio refused the number: the contact failed with Twilio's reason.
    Rejected { phone: String },
    /// Twilio refused the credentials: the campaign failed.
    CampaignFailed(String),
    /// Twilio could not be reached: it is unknown whether the call exists; the lease stays
    /// and the watchdog reconciles it.
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
    pub attempt: u32,
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
}

/// Query parameters our callback URLs carry.
pub fn callback_query(campaign_id: &str, phone: &str, attempt: u32, seq: u64) -> String {
    serde_urlencoded::to_string([
        ("campaign", campaign_id.to_string()),
        ("phone", phone.to_string()),
        ("attempt", attempt.to_string()),
        ("seq", seq.to_string()),
    ])
    .unwrap_or_default()
}

fn secs_until(now: DateTime<Utc>, at: DateTime<Utc>) -> u32 {
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

    /// Dial the next due contact of one campaign, if everything allows it now.
    pub async fn dial_next(&self, campaign_id: &str) -> Result<DialOutcome, DialError> {
        let now = self.now();
        let Some(c) = self.repo.get_campaign(campaign_id).await? else { return Ok(DialOutcome::NotFound) };
        if c.state != CampaignState::Running {
            return Ok(DialOutcome::NotRunning(c.state));
        }
        let max = c.settings.max_concurrent_calls;
        if c.counters.calling >= u64::from(max) {
            return Ok(DialOutcome::NoSlot);
        }
        if let Some(next) = c.next_dial_at.filter(|t| *t > now) {
            self.enqueue(campaign_id, secs_until(now, next)).await?;
            return Ok(DialOutcome::Paced(next));
        }
        let tz = c.settings.timezone;
        if let Window::OpensAt(t) = dial_window(now, &c.settings.business_hours, tz, None) {
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
        let mut leased: Option<(ContactRecord, u32)> = None;
        for cand in candidates {
            if !cand.state.is_dialable() || cand.next_attempt_ms > now_ms {
                continue; // the index lags the table
            }
            let contact_tz = cand.tz.as_deref().and_then(|z| z.parse::<Tz>().ok());
            if let Window::OpensAt(t) = dial_window(now, &c.settings.business_hours, tz, contact_tz) {
                // Outside the contact's own hours: wait without being charged an attempt.
                match self.repo.defer_contact(campaign_id, &cand, to_ms(t)).await {
                    Ok(()) | Err(RepoError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                continue;
            }
            let attempt = cand.attempts + 1;
            let claim = Claim {
                campaign_id,
                contact: &cand,
                attempt,
                now_ms,
                lease_until_ms: now_ms + self.config.lease.as_millis() as i64,
                next_dial_ms: now_ms + delay_ms,
            };
            match self.repo.claim(&claim).await {
                Ok(()) => {
                    leased = Some((cand, attempt));
                    break;
                }
                Err(ClaimError::ContactTaken) => continue,
                Err(ClaimError::CampaignBusy) => return Ok(DialOutcome::NoSlot),
                Err(ClaimError::Repo(e)) => return Err(e.into()),
            }
        }
        let Some((contact, attempt)) = leased else { return Ok(DialOutcome::NothingDue) };
        self.place(&c, contact, attempt, now).await
    }

    async fn place(&self, c: &Campaign, contact: ContactRecord, attempt: u32, now: DateTime<Utc>) -> Result<DialOutcome, DialError> {
        let base = self.config.public_base_url.trim_end_matches('/');
        let query = callback_query(&c.id, &contact.phone, attempt, contact.seq);
        let req = CreateCall {
            to: contact.phone.clone(),
            from: self.config.from_number.clone(),
            url: format!("{base}/twilio/voice?{query}"),
            status_callback: format!("{base}/twilio/status?{query}"),
            timeout_seconds: self.config.ring_timeout_seconds,
            machine_detection: c.settings.machine_detection,
        };
        let masked = mask_phone(&contact.phone);
        match self.telephony.create_call(&req).await {
            Ok(info) => {
                self.repo.record_call_sid(&c.id, &contact.phone, attempt, &info.sid, info.status.as_str()).await?;
                info!(campaign_id = %c.id, phone = %masked, attempt, call_sid = %info.sid, "call placed");
                let max = u64::from(c.settings.max_concurrent_calls);
                if c.counters.calling + 1 < max {
                    // Parallel mode: the next start is one pacing delay after this one.
                    self.enqueue(&c.id, c.settings.pacing.delay_seconds).await?;
                }
                Ok(DialOutcome::Dialed { phone: contact.phone, attempt, call_sid: info.sid })
            }
            Err(TelephonyError::Retryable { status, message }) => {
                warn!(campaign_id = %c.id, phone = %masked, status, %message, "twilio busy; lease released");
                let due = now + chrono::Duration::from_std(self.config.busy_backoff).unwrap_or_default();
                self.release_or_ignore(&c.id, &contact, attempt, to_ms(due)).await?;
                self.enqueue(&c.id, self.config.busy_backoff.as_secs() as u32).await?;
                Ok(DialOutcome::TwilioBusy)
            }
            Err(TelephonyError::Rejected { status, code, message }) => {
                warn!(campaign_id = %c.id, phone = %masked, status, ?code, "twilio rejected the number");
                let reason = match code {
                    Some(code) => format!("Twilio refused the number (error {code}): {message}"),
                    None => format!("Twilio refused the number: {message}"),
                };
                let finish = Finish {
                    campaign_id: &c.id,
                    phone: &contact.phone,
                    attempt,
                    seq: contact.seq,
                    call_status: CallStatus::Failed.as_str(),
                    sequence_number: i64::MAX,
                    outcome: Outcome::Failed,
                    after: AfterCall::Failed { exhausted: false },
                    duration: None,
                    answered_by: None,
                    failure_reason: Some(&reason),
                    now_ms: to_ms(now),
                    next_dial_ms: None,
                };
                match self.repo.finish_attempt(&finish).await {
                    Ok(()) | Err(RepoError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                self.after_finish(c, now).await?;
                Ok(DialOutcome::Rejected { phone: contact.phone })
            }
            Err(TelephonyError::Unauthorized { status, .. }) => {
                let reason = format!(
                    "Twilio refused the account credentials (HTTP {status}); check the account SID and auth token, then create the campaign again"
                );
                warn!(campaign_id = %c.id, status, "twilio credentials refused; failing the campaign");
                self.release_or_ignore(&c.id, &contact, attempt, to_ms(now)).await?;
                match self
                    .repo
                    .transition(None, &c.id, &[CampaignState::Running, CampaignState::Paused], CampaignState::Failed, now, Some(&reason))
                    .await
                {
                    Ok(_) | Err(RepoError::Conflict) => {}
                    Err(e) => return Err(e.into()),
                }
                Ok(DialOutcome::CampaignFailed(reason))
            }
            Err(e @ (TelephonyError::Transport(_) | TelephonyError::Protocol(_))) => {
                warn!(campaign_id = %c.id, phone = %masked, attempt, error = %e, "call creation uncertain; the watchdog will reconcile");
                Ok(DialOutcome::Uncertain)
            }
        }
    }

    async fn release_or_ignore(&self, campaign_id: &str, contact: &ContactRecord, attempt: u32, due_ms: i64) -> Result<(), DialError> {
        match self.repo.release(campaign_id, contact, attempt, contact.state, due_ms).await {
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

    /// Apply a (verified) status callback, idempotently (invariant 6).
    pub async fn apply_status(&self, cb: &StatusCallback) -> Result<StatusOutcome, DialError> {
        let now = self.now();
        let seq_no = cb.sequence_number.unwrap_or(i64::from(cb.call_status.rank()));
        if !cb.call_status.is_terminal() {
            return match self.repo.record_progress(&cb.campaign_id, &cb.phone, cb.attempt, &cb.call_sid, cb.call_status.as_str(), seq_no).await {
                Ok(()) => Ok(StatusOutcome::Progress),
                Err(RepoError::Conflict) => Ok(StatusOutcome::Ignored),
                Err(e) => Err(e.into()),
            };
        }
        let Some(c) = self.repo.get_campaign(&cb.campaign_id).await? else { return Ok(StatusOutcome::Ignored) };
        self.finish(&c, cb.phone.as_str(), cb.attempt, cb.seq, cb.call_status, seq_no, cb.duration, cb.answered_by.as_deref(), now)
            .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        c: &Campaign,
        phone: &str,
        attempt: u32,
        seq: u64,
        status: CallStatus,
        seq_no: i64,
        duration: Option<u32>,
        answered_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<StatusOutcome, DialError> {
        let Some(outcome) = Outcome::of(status, answered_by, c.settings.machine_detection) else {
            return Ok(StatusOutcome::Ignored);
        };
        let jitter: f64 = rand::rng().random();
        let after = after_call(attempt, outcome, &c.settings.retry_policy, now, jitter);
        let reason = match after {
            AfterCall::Failed { exhausted: true } => Some(format!("no answer after {attempt} attempts (last: {})", outcome.as_str())),
            AfterCall::Failed { exhausted: false } => Some(format!("call ended: {}", outcome.as_str())),
            _ => None,
        };
        let sequential = c.settings.max_concurrent_calls <= 1;
        let finish = Finish {
            campaign_id: &c.id,
            phone,
            attempt,
            seq,
            call_status: status.as_str(),
            sequence_number: seq_no,
            outcome,
            after,
            duration,
            answered_by,
            failure_reason: reason.as_deref(),
            now_ms: to_ms(now),
            next_dial_ms: sequential.then(|| to_ms(now) + i64::from(c.settings.pacing.delay_seconds) * 1000),
        };
        match self.repo.finish_attempt(&finish).await {
            Ok(()) => {}
            Err(RepoError::Conflict) => {
                debug!(campaign_id = %c.id, phone = %mask_phone(phone), attempt, "duplicate or stale terminal callback ignored");
                return Ok(StatusOutcome::Ignored);
            }
            Err(e) => return Err(e.into()),
        }
        info!(campaign_id = %c.id, phone = %mask_phone(phone), attempt, outcome = outcome.as_str(), next = after.state().as_str(), "call finished");
        self.after_finish(c, now).await?;
        Ok(StatusOutcome::Finished(after.state()))
    }

    /// Reconcile expired leases of one campaign against Twilio (invariant 5): a live call
    /// extends its lease, a finished one is applied as if its webhook had come, and only a
    /// call that never existed is released (no attempt charged).
    pub async fn watchdog(&self, c: &Campaign) -> Result<u32, DialError> {
        let now = self.now();
        let now_ms = to_ms(now);
        let expired = self.repo.expired_leases(&c.id, now_ms, 25).await?;
        let mut handled = 0;
        for contact in expired {
            if contact.state != ContactState::Calling {
                continue;
            }
            let attempt = contact.attempts;
            let record = self.repo.get_attempt(&c.id, &contact.phone, attempt).await?;
            let started = record.as_ref().map_or(now, |a| crate::adapters::dynamodb::records::from_ms(a.started_ms));
            let found = match self.lookup_call(record.as_ref(), &contact.phone, started).await {
                Ok(f) => f,
                Err(e) => {
                    warn!(campaign_id = %c.id, error = %e, "watchdog could not ask twilio; will retry");
                    continue;
                }
            };
            match found {
                Some(call) if call.status.is_terminal() => {
                    if record.as_ref().is_some_and(|a| a.call_sid.is_none()) {
                        let _ = self.repo.record_call_sid(&c.id, &contact.phone, attempt, &call.sid, call.status.as_str()).await;
                    }
                    self.finish(&c.clone(), &contact.phone, attempt, contact.seq, call.status, i64::MAX, call.duration_seconds, call.answered_by.as_deref(), now)
                        .await?;
                    info!(campaign_id = %c.id, phone = %mask_phone(&contact.phone), attempt, "watchdog applied a lost callback");
                }
                Some(call) => {
                    if record.as_ref().is_some_and(|a| a.call_sid.is_none()) {
                        let _ = self.repo.record_call_sid(&c.id, &contact.phone, attempt, &call.sid, call.status.as_str()).await;
                    }
                    let until = now_ms + self.config.lease.as_millis() as i64;
                    match self.repo.extend_lease(&c.id, &contact, attempt, until).await {
                        Ok(()) | Err(RepoError::Conflict) => {}
                        Err(e) => return Err(e.into()),
                    }
                    debug!(campaign_id = %c.id, attempt, "watchdog extended a live call's lease");
                }
                None => {
                    let age = now - started;
                    if age < chrono::Duration::from_std(self.config.no_call_grace).unwrap_or_default() {
                        continue;
                    }
                    let back_to = if attempt > 1 { ContactState::Retrying } else { ContactState::Pending };
                    match self.repo.release(&c.id, &contact, attempt, back_to, now_ms).await {
                        Ok(()) | Err(RepoError::Conflict) => {}
                        Err(e) => return Err(e.into()),
                    }
                    info!(campaign_id = %c.id, phone = %mask_phone(&contact.phone), attempt, "watchdog released a lease with no call");
                }
            }
            handled += 1;
        }
        Ok(handled)
    }

    async fn lookup_call(&self, record: Option<&AttemptRecord>, phone: &str, started: DateTime<Utc>) -> Result<Option<CallInfo>, TelephonyError> {
        if let Some(sid) = record.and_then(|a| a.call_sid.as_deref()) {
            return self.telephony.fetch_call(sid).await;
        }
        // The dialer died between creating the call and recording its sid: find it by number
        // and time. A little slack covers clock differences with Twilio.
        let since = started - chrono::Duration::seconds(5);
        let calls = self.telephony.calls_to(phone, since).await?;
        Ok(calls.into_iter().min_by_key(|c| c.date_created))
    }

    /// The scheduler tick: start due campaigns, reconcile leases, fan out one dial message per
    /// running campaign with a free slot, complete finished ones. Cost grows with the number
    /// of active campaigns, not contacts.
    pub async fn tick(&self) -> Result<TickReport, DialError> {
        let mut report = TickReport::default();
        let mut fanout = Vec::new();
        for id in self.repo.active_campaign_ids().await? {
            report.active += 1;
            match self.wake(&id).await {
                Ok(Some(id)) => fanout.push(id),
                Ok(None) => {}
                Err(e) => {
                    warn!(campaign_id = %id, error = %e, "tick could not handle campaign");
                    report.errors += 1;
                }
            }
        }
        report.dial_messages = fanout.len() as u32;
        if let Some(q) = &self.queue {
            q.send_many(&fanout).await.map_err(|e| DialError::Queue(e.to_string()))?;
        }
        Ok(report)
    }

    /// One campaign's part of the tick (also what an `at()` wake-up runs). Returns the id if
    /// the campaign should be dialed now.
    pub async fn wake(&self, campaign_id: &str) -> Result<Option<String>, DialError> {
        let now = self.now();
        let Some(mut c) = self.repo.get_campaign(campaign_id).await? else { return Ok(None) };
        if c.state == CampaignState::Pending && c.start_due(now) {
            match self.repo.transition(None, campaign_id, &[CampaignState::Pending], CampaignState::Running, now, None).await {
                Ok(updated) => {
                    info!(campaign_id, "campaign started");
                    c = updated;
                }
                Err(RepoError::Conflict) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
        if matches!(c.state, CampaignState::Running | CampaignState::Paused) && c.counters.calling > 0 {
            self.watchdog(&c).await?;
        }
        if c.state != CampaignState::Running {
            return Ok(None);
        }
        if c.counters.open() == 0 {
            if self.repo.try_complete(campaign_id, to_ms(now)).await? {
                info!(campaign_id, "campaign completed");
            }
            return Ok(None);
        }
        let free = c.counters.calling < u64::from(c.settings.max_concurrent_calls);
        Ok(free.then(|| c.id.clone()))
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TickReport {
    pub active: u32,
    pub dial_messages: u32,
    pub errors: u32,
}
