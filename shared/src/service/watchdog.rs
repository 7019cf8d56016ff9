//! The watchdog: every lease ends (invariant 5). An expired lease is reconciled against
//! Twilio's view of its call before anything is released: a live call extends the lease, a
//! finished one is applied as if its webhook had come, a call Twilio no longer knows ends the
//! attempt as failed with an "outcome unknown" reason, and only a claim with no call at all
//! (after a grace) is given back uncharged.

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
                    Some(sid) => self.telephony.fetch_call(sid).await,
                    None => self.find_call(&contact.phone, started).await,
                }
            };
            let found = tokio::time::timeout(limit, lookup)
                .await
                .unwrap_or_else(|_| Err(TelephonyError::Transport(format!("no answer within {} ms", limit.as_millis()))));
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
    /// answer was lost): a call to the number, from our caller id, created after the claim.
    async fn find_call(&self, phone: &str, claimed: DateTime<Utc>) -> Result<Option<CallInfo>, TelephonyError> {
        // A little slack covers clock differences with Twilio.
        let since = claimed - chrono::Duration::seconds(5);
        let calls = self.telephony.calls_to(phone, since).await?;
        Ok(calls
            .into_iter()
            .filter(|c| c.from.is_empty() || c.from == self.config.from_number)
            .min_by_key(|c| c.date_created))
    }
}
