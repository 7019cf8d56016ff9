//! The watchdog: every lease ends (invariant 5). An expired lease is reconciled against
//! Twilio's view of its call before anything is released: a live call extends the lease, a
//! finished one is applied as if its webhook had come, a call Twilio no longer knows ends the
//! attempt as failed with an "outcome unknown" reason, and only a claim with no call at all
//! (after a grace) is given back uncharged.
//!
//! A claim whose CallSid was never recorded (the dialer died after the create, or its answer
//! was lost, and no callback reached us) adopts a call only on evidence that it is that
//! claim's call: Twilio's call events name one of our URLs carrying this campaign, number and
//! claim. To, From and the creation time only propose candidates; another campaign's or
//! tenant's call to the same number from the same caller id matches all three (issue 14
//! item 2). While a candidate cannot be identified yet (Twilio shows a call's events from 15
//! minutes after it ends) the claim is neither adopted nor released: its lease is held.

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::dial::{DialError, Dialer, Ended, StatusOutcome};
use crate::adapters::dynamodb::RepoError;
use crate::adapters::dynamodb::records::{from_ms, to_ms};
use crate::domain::masking::mask_phone;
use crate::domain::{CallStatus, Campaign, ContactState};
use crate::twilio::{CallInfo, TelephonyError};

fn ended<'a>(
    claim: u32,
    charged: u32,
    seq: u64,
    call_sid: Option<&'a str>,
    status: CallStatus,
    info: Option<&'a CallInfo>,
    reason: Option<String>,
) -> Ended<'a> {
    Ended {
        claim,
        charged,
        seq,
        call_sid,
        status,
        seq_no: i64::MAX,
        duration: info.and_then(|i| i.duration_seconds),
        answered_by: info.and_then(|i| i.answered_by.as_deref()),
        reason,
    }
}

impl Dialer {
    /// Reconcile the expired leases of one campaign. Returns how many it acted on.
    pub async fn watchdog(&self, c: &Campaign) -> Result<u32, DialError> {
        let now = self.clock.now();
        let now_ms = to_ms(now);
        let grace = chrono::Duration::from_std(self.config.no_call_grace).unwrap_or_default();
        let give_up = chrono::Duration::from_std(self.config.reconcile_give_up).unwrap_or_default();
        let expired = self.repo.expired_leases(&c.id, now_ms, 25).await?;
        let mut handled = 0;
        for contact in expired {
            if contact.state != ContactState::Calling {
                continue;
            }
            let claim = if contact.claim > 0 { contact.claim } else { contact.attempts };
            let masked = mask_phone(&contact.phone);
            let Some(record) = self.repo.get_attempt(&c.id, &contact.phone, claim).await? else {
                warn!(campaign_id = %c.id, phone = %masked, claim, "leased contact without its attempt item");
                continue;
            };
            let started = from_ms(record.started_ms);
            let age = now - started;
            let recorded_sid = record.call_sid.as_deref();
            let charged = if record.charged > 0 { record.charged } else { contact.attempts };
            let ended = |call_sid, status, info, reason| ended(claim, charged, contact.seq, call_sid, status, info, reason);
            // A short timeout per lookup: a slow Twilio costs the tick little (tried again
            // at the next tick), and reads like any other "could not ask".
            let limit = self.config.twilio_lookup_timeout;
            let lookup = async {
                match recorded_sid {
                    Some(sid) => self.telephony.fetch_call(sid).await.map(|call| call.map_or(Found::Nothing, Found::Ours)),
                    None => self.find_call(&c.id, &contact.phone, claim, started).await,
                }
            };
            let found = tokio::time::timeout(limit, lookup)
                .await
                .unwrap_or_else(|_| Err(TelephonyError::Transport(format!("no answer within {} ms", limit.as_millis()))));
            let found = match found {
                Ok(Found::Ours(call)) => Ok(Some(call)),
                Ok(Found::Nothing) => Ok(None),
                // Calls to the number we cannot attribute yet: one may be this claim's, so
                // nothing is released (that could dial the person twice) and nothing adopted.
                Ok(Found::Unidentified(n)) if age <= give_up => {
                    let until = now_ms + self.config.no_call_grace.as_millis() as i64;
                    match self.repo.extend_lease(&c.id, &contact, claim, until).await {
                        Ok(()) | Err(RepoError::Conflict) => {}
                        Err(e) => return Err(e.into()),
                    }
                    info!(campaign_id = %c.id, phone = %masked, claim, candidates = n, "watchdog: calls to the number not yet identified; lease held");
                    continue;
                }
                Ok(Found::Unidentified(n)) => Err(TelephonyError::Protocol(format!("{n} call(s) to the number could not be attributed"))),
                Err(e) => Err(e),
            };
            match found {
                Err(e) if age > give_up => {
                    let reason = format!("Twilio could not be asked about this call for over {} minutes ({e}); its outcome is unknown", give_up.num_minutes());
                    warn!(campaign_id = %c.id, phone = %masked, claim, "watchdog gave up reconciling a lease");
                    self.finish(c, &contact.phone, &ended(recorded_sid, CallStatus::Failed, None, Some(reason)), now).await?;
                }
                Err(e) => {
                    warn!(campaign_id = %c.id, phone = %masked, claim, error = %e, "watchdog could not ask twilio; will retry");
                    continue;
                }
                Ok(Some(call)) if call.status.is_terminal() => {
                    let e = ended(Some(&call.sid), call.status, Some(&call), None);
                    match self.finish(c, &contact.phone, &e, now).await? {
                        StatusOutcome::Finished(_) => info!(campaign_id = %c.id, phone = %masked, claim, "watchdog applied a lost callback"),
                        _ => debug!(campaign_id = %c.id, claim, "watchdog: the attempt had already ended"),
                    }
                }
                Ok(Some(call)) => {
                    if recorded_sid.is_none() {
                        self.repo.adopt_call_sid(&c.id, &contact.phone, claim, &call.sid).await?;
                    }
                    let until = now_ms + self.config.lease.as_millis() as i64;
                    match self.repo.extend_lease(&c.id, &contact, claim, until).await {
                        Ok(()) | Err(RepoError::Conflict) => {}
                        Err(e) => return Err(e.into()),
                    }
                    debug!(campaign_id = %c.id, claim, "watchdog extended a live call's lease");
                }
                Ok(None) if age < grace => continue,
                Ok(None) => match recorded_sid {
                    // A call we created and Twilio no longer knows (404): it may have reached the
                    // person, so the attempt is charged and ends failed; the retry policy decides.
                    Some(sid) => {
                        let reason = format!("Twilio has no record of call {sid} (404); its outcome is unknown");
                        warn!(campaign_id = %c.id, phone = %masked, claim, call_sid = %sid, "watchdog: twilio does not know a recorded call");
                        self.finish(c, &contact.phone, &ended(Some(sid), CallStatus::Failed, None, Some(reason)), now).await?;
                    }
                    None => {
                        let back_to = if contact.attempts > 1 { ContactState::Retrying } else { ContactState::Pending };
                        self.release_or_ignore(&c.id, &contact, claim, back_to, now_ms, None, now).await?;
                        info!(campaign_id = %c.id, phone = %masked, claim, "watchdog released a lease with no call");
                    }
                },
            }
            handled += 1;
        }
        Ok(handled)
    }

    /// The call of a claim whose sid was never recorded (the dialer died, or the create's
    /// answer was lost). Candidates are the calls to the number, from our caller id, created
    /// after the claim; a candidate is this claim's only if its events name this campaign,
    /// number and claim. A candidate whose events name another claim (of any campaign) is not
    /// ours; one with no events yet is unidentified.
    async fn find_call(&self, campaign_id: &str, phone: &str, claim: u32, claimed: DateTime<Utc>) -> Result<Found, TelephonyError> {
        // A little slack covers clock differences with Twilio.
        let since = claimed - chrono::Duration::seconds(5);
        let calls = self.telephony.calls_to(phone, since).await?;
        let mut unidentified = 0;
        for call in calls.into_iter().filter(|c| c.from == self.config.from_number && c.to == phone) {
            let urls = self.telephony.call_event_urls(&call.sid).await?;
            let named: Vec<(String, String, u32)> = urls.iter().filter_map(|u| super::dial::claim_named_by(u)).collect();
            if named.is_empty() {
                unidentified += 1;
            } else if named.iter().all(|(c, p, n)| c == campaign_id && p == phone && *n == claim) {
                return Ok(Found::Ours(call));
            } else {
                debug!(campaign_id, claim, call_sid = %call.sid, "watchdog: a call to the number belongs to another attempt");
            }
        }
        Ok(if unidentified > 0 { Found::Unidentified(unidentified) } else { Found::Nothing })
    }
}

/// What Twilio shows of a claim whose CallSid was never recorded.
enum Found {
    /// The claim's own call (its events name the claim).
    Ours(CallInfo),
    /// Calls to the number that cannot be attributed yet (no events): maybe the claim's.
    Unidentified(usize),
    /// No call that could be the claim's.
    Nothing,
}
