//! Dialing storage: the lease-and-slot transaction, call progress, the terminal transaction,
//! release, the watchdog's queries and completion.
//!
//! Every method is a single conditional request or one TransactWriteItems, so two dialers,
//! a dialer and a webhook, or a webhook and its duplicate can run at once: the conditions
//! decide who wins, and the loser gets `Conflict` (an expected outcome, not an error).

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{AttemptRecord, ContactRecord, attr, parse_item};
use super::{Repo, n, s};
use crate::domain::{AfterCall, Campaign, CampaignState, ContactState, Outcome};

/// Why a claim did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// The campaign is not running, has no free slot, or pacing forbids a call now.
    #[error("the campaign cannot take another call now")]
    CampaignBusy,
    /// Someone else leased this contact first (or it changed state).
    #[error("the contact was taken or changed")]
    ContactTaken,
    /// The account's call rate has no start left in the current window (`Claim::rate`).
    #[error("the account's call rate is used up for now")]
    RateLimited,
    /// One of the claim's extra condition checks failed (`Claim::checks[index]`).
    #[error("extra claim condition {0} failed")]
    Refused(usize),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// A lease request: everything the transaction writes.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub campaign_id: &'a str,
    /// The campaign's owner and name: the attempt goes into the owner's recent calls (gsi1).
    pub owner: &'a str,
    pub campaign_name: &'a str,
    pub contact: &'a ContactRecord,
    /// The claim's identity, `contact.claim + 1`: the attempt item's number, carried by the
    /// call's callback URLs. Never reused: a release does not give it back.
    pub claim: u32,
    /// The charged attempt number, `contact.attempts + 1` (what the retry policy counts).
    pub attempt: u32,
    pub now_ms: i64,
    pub lease_until_ms: i64,
    /// When the campaign's next call may start (pacing between starts).
    pub next_dial_ms: i64,
    /// More conditions the claim must meet, each one more item of the same transaction
    /// (compliance: do-not-call entry absent, frequency caps...). A failed one answers
    /// `ClaimError::Refused(index)`. At most 97: a transaction holds 100 items.
    pub checks: Vec<ConditionCheck>,
    /// Conditional updates of other items in the same transaction, after the checks (the
    /// recipient's frequency-cap history); a failed one is `Refused(checks.len() + index)`.
    pub updates: Vec<Update>,
    /// Why this dial was allowed (invariant 12), written on the attempt item.
    pub audit: Option<serde_json::Value>,
    /// The same in one line, written on the contact (`last_audit`, the export's column).
    pub audit_line: Option<String>,
    /// The account's call-rate update (`Repo::rate_update`), when the deployment has a rate; a
    /// failed one is `ClaimError::RateLimited`.
    pub rate: Option<Update>,
}

impl<'a> Claim<'a> {
    /// The next claim of `contact` in `campaign`, with no extra checks.
    pub fn next(campaign: &'a Campaign, contact: &'a ContactRecord, now_ms: i64, lease_until_ms: i64, next_dial_ms: i64) -> Self {
        Self {
            campaign_id: &campaign.id,
            owner: &campaign.owner,
            campaign_name: &campaign.settings.name,
            contact,
            claim: contact.claim + 1,
            attempt: contact.attempts + 1,
            now_ms,
            lease_until_ms,
            next_dial_ms,
            checks: Vec::new(),
            updates: Vec::new(),
            audit: None,
            audit_line: None,
            rate: None,
        }
    }
}

/// The end of an attempt, as the webhook or the watchdog saw it.
#[derive(Debug, Clone)]
pub struct Finish<'a> {
    pub campaign_id: &'a str,
    pub phone: &'a str,
    /// The claim's identity (attempt item number); the contact must still be on it.
    pub claim: u32,
    /// The call this outcome is about. `Some`: the attempt must have no sid yet or this one
    /// (which is then recorded). `None`: no call exists (a refused create); the attempt must
    /// have no sid.
    pub call_sid: Option<&'a str>,
    pub seq: u64,
    pub call_status: &'a str,
    pub sequence_number: i64,
    pub outcome: Outcome,
    pub after: AfterCall,
    pub duration: Option<u32>,
    pub answered_by: Option<&'a str>,
    pub failure_reason: Option<&'a str>,
    /// Twilio refused the create (no call exists): its error, kept on the attempt.
    pub twilio_error: Option<&'a str>,
    pub now_ms: i64,
    /// Sequential campaigns: the next call waits for this instant (end + delay).
    pub next_dial_ms: Option<i64>,
}

/// What recording a created call's sid found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidRecorded {
    /// Recorded, and the campaign is still running: the call may go on.
    Recorded,
    /// The campaign is no longer running (paused, deleted...): the call must be canceled.
    CampaignStopped,
    /// The attempt already ended or holds another sid (the watchdog or a callback got there).
    AttemptMoved,
}

pub(crate) fn counter_of(state: ContactState) -> &'static str {
    match state {
        ContactState::Pending => attr::C_PENDING,
        ContactState::Calling => attr::C_CALLING,
        ContactState::Retrying => attr::C_RETRYING,
        ContactState::Completed => attr::C_COMPLETED,
        ContactState::Failed => attr::C_FAILED,
        ContactState::Skipped => attr::C_SKIPPED,
    }
}

fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, RepoError> {
    r.map_err(|e| RepoError::Sdk(e.to_string()))
}

/// Map a transaction's cancellation to which of its items failed its condition.
fn cancelled_items<E, R>(err: &aws_sdk_dynamodb::error::SdkError<E, R>) -> Option<Vec<bool>>
where
    E: std::any::Any + 'static,
{
    let service = err.as_service_error()?;
    let any: &dyn std::any::Any = service;
    let twi = any.downcast_ref::<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError>()?;
    match twi {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => {
            let reasons = t.cancellation_reasons();
            if reasons.is_empty() {
                return None;
            }
            Some(reasons.iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect())
        }
        _ => None,
    }
}

impl Repo {
    /// Contacts due for a call now, from the sparse work index (eventually consistent: a
    /// candidate may already be taken; the claim's condition decides).
    pub async fn due_contacts(&self, campaign_id: &str, now_ms: i64, limit: i32) -> Result<Vec<ContactRecord>, RepoError> {
        self.work_query(&queue_pk(campaign_id), now_ms, limit).await
    }

    /// Contacts whose lease expired at or before `now_ms` (the watchdog's work).
    pub async fn expired_leases(&self, campaign_id: &str, now_ms: i64, limit: i32) -> Result<Vec<ContactRecord>, RepoError> {
        self.work_query(&lease_pk(campaign_id), now_ms, limit).await
    }

    async fn work_query(&self, pk: &str, now_ms: i64, limit: i32) -> Result<Vec<ContactRecord>, RepoError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI3)
            .key_condition_expression("#pk = :pk AND #sk <= :upto")
            .expression_attribute_names("#pk", GSI3_PK)
            .expression_attribute_names("#sk", GSI3_SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":upto", s(work_sk_upto(now_ms)))
            .limit(limit)
            .send()
            .await
            .map_err(classify)?;
        out.items.unwrap_or_default().into_iter().map(parse_item::<ContactRecord>).collect()
    }

    /// Take a slot on the campaign and the lease on the contact, and write the attempt, in one
    /// transaction (invariants 1 and 2). Conditions: the campaign is running, has a free slot
    /// and pacing allows a call now; the contact is still in the dialable state it was read in,
    /// on the same claim and charge, and due; the attempt key is new; and every extra check of
    /// `c.checks` holds.
    pub async fn claim(&self, c: &Claim<'_>) -> Result<(), ClaimError> {
        let from = c.contact.state;
        if !from.is_dialable() {
            return Err(ClaimError::ContactTaken);
        }
        let items = self.claim_items(c)?;
        let result = self.client.transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Some(failed) = cancelled_items(&e) {
                    if failed.first().copied().unwrap_or(false) {
                        return Err(ClaimError::CampaignBusy);
                    }
                    if failed.get(1..3).is_some_and(|f| f.iter().any(|x| *x)) {
                        return Err(ClaimError::ContactTaken);
                    }
                    let extra = if c.rate.is_some() {
                        if failed.get(3).copied().unwrap_or(false) {
                            return Err(ClaimError::RateLimited);
                        }
                        4
                    } else {
                        3
                    };
                    if let Some(i) = failed.iter().skip(extra).position(|x| *x) {
                        return Err(ClaimError::Refused(i));
                    }
                }
                match classify(e) {
                    // Reasons unavailable: the caller re-reads the campaign before the next try.
                    RepoError::Conflict => Err(ClaimError::ContactTaken),
                    other => Err(ClaimError::Repo(other)),
                }
            }
        }
    }

    /// The claim transaction's items, in a fixed order: campaign, contact, attempt, the rate
    /// update if any, then the extra checks (the order `cancelled_items` reports failures in).
    fn claim_items(&self, c: &Claim<'_>) -> Result<Vec<TransactWriteItem>, RepoError> {
        let from = c.contact.state;
        let campaign = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(c.campaign_id)))
                .key(SK, s(META))
                .update_expression(
                    "SET #calling = #calling + :one, #from = #from - :one, #placed = #placed + :one, \
                     #last = :now, #next = :next",
                )
                .condition_expression("#state = :running AND #calling < #max AND #next <= :now")
                .expression_attribute_names("#calling", attr::C_CALLING)
                .expression_attribute_names("#from", counter_of(from))
                .expression_attribute_names("#placed", attr::CALLS_PLACED)
                .expression_attribute_names("#last", attr::LAST_CALLED_MS)
                .expression_attribute_names("#next", attr::NEXT_DIAL_MS)
                .expression_attribute_names("#state", attr::STATE)
                .expression_attribute_names("#max", attr::MAX_CONCURRENT)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(c.now_ms))
                .expression_attribute_values(":next", n(c.next_dial_ms))
                .expression_attribute_values(":running", s(CampaignState::Running.as_str()))
                .build(),
        )?;
        let contact = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(c.campaign_id)))
                .key(SK, s(contact_sk(&c.contact.phone)))
                .update_expression(
                    "SET #state = :calling, #attempts = :n, #claim = :k, #lease = :lease, #g3pk = :lpk, #g3sk = :lsk, #lastcall = :now, #audit = :audit",
                )
                .condition_expression(if c.claim <= 1 {
                    // A contact never claimed has no claim attribute (or 0 from the import).
                    "#state = :from AND #attempts = :prev AND #due <= :now AND (attribute_not_exists(#claim) OR #claim = :prevk)"
                } else {
                    "#state = :from AND #attempts = :prev AND #due <= :now AND #claim = :prevk"
                })
                .expression_attribute_names("#state", attr::STATE)
                .expression_attribute_names("#attempts", attr::ATTEMPTS)
                .expression_attribute_names("#claim", attr::CLAIM)
                .expression_attribute_names("#lease", attr::LEASE_UNTIL_MS)
                .expression_attribute_names("#g3pk", GSI3_PK)
                .expression_attribute_names("#g3sk", GSI3_SK)
                .expression_attribute_names("#lastcall", attr::LAST_CALL_MS)
                .expression_attribute_names("#due", attr::NEXT_ATTEMPT_MS)
                .expression_attribute_values(":calling", s(ContactState::Calling.as_str()))
                .expression_attribute_values(":from", s(from.as_str()))
                .expression_attribute_values(":n", n(c.attempt))
                .expression_attribute_values(":prev", n(c.attempt.saturating_sub(1)))
                .expression_attribute_values(":k", n(c.claim))
                .expression_attribute_values(":prevk", n(c.claim.saturating_sub(1)))
                .expression_attribute_values(":lease", n(c.lease_until_ms))
                .expression_attribute_values(":lpk", s(lease_pk(c.campaign_id)))
                .expression_attribute_values(":lsk", s(work_sk(c.lease_until_ms, c.contact.seq)))
                .expression_attribute_values(":now", n(c.now_ms))
                .expression_attribute_names("#audit", attr::LAST_AUDIT)
                .expression_attribute_values(":audit", s(c.audit_line.as_deref().unwrap_or("")))
                .build(),
        )?;
        let attempt = AttemptRecord {
            pk: campaign_pk(c.campaign_id),
            sk: attempt_sk(&c.contact.phone, c.claim),
            entity: "attempt".into(),
            campaign_id: c.campaign_id.to_string(),
            phone: c.contact.phone.clone(),
            n: c.claim,
            charged: c.attempt,
            released: false,
            started_ms: c.now_ms,
            call_sid: None,
            call_status: None,
            seq_no: -1,
            terminal: false,
            duration: None,
            answered_by: None,
            outcome: None,
            ended_ms: None,
            audit: c.audit.clone(),
            owner: Some(c.owner.to_string()),
            campaign_name: Some(c.campaign_name.to_string()),
            contact_name: c.contact.name.clone(),
            twilio_error: None,
            gsi1pk: Some(owner_calls_pk(c.owner)),
            gsi1sk: Some(call_sort(c.now_ms, c.campaign_id, &c.contact.phone, c.claim)),
        };
        let put = build(
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(serde_dynamo::to_item(attempt).map_err(RepoError::from)?))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build(),
        )?;
        let mut items = vec![
            TransactWriteItem::builder().update(campaign).build(),
            TransactWriteItem::builder().update(contact).build(),
            TransactWriteItem::builder().put(put).build(),
        ];
        if let Some(rate) = &c.rate {
            items.push(TransactWriteItem::builder().update(rate.clone()).build());
        }
        items.extend(c.checks.iter().cloned().map(|check| TransactWriteItem::builder().condition_check(check).build()));
        items.extend(c.updates.iter().cloned().map(|u| TransactWriteItem::builder().update(u).build()));
        Ok(items)
    }

    /// Record the CallSid Twilio gave the attempt (the 4th request of a dial), in one
    /// transaction with a check that the campaign is still running (invariant 8): a pause or
    /// delete that returned while the create was in flight makes this answer
    /// `CampaignStopped`, and the dialer cancels the call before it connects.
    pub async fn record_call_sid(&self, campaign_id: &str, phone: &str, claim: u32, sid: &str, status: &str) -> Result<SidRecorded, RepoError> {
        let attempt = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(campaign_id)))
                .key(SK, s(attempt_sk(phone, claim)))
                .update_expression("SET #sid = :sid, #st = if_not_exists(#st, :status)")
                .condition_expression("attribute_exists(#pk) AND #term = :false AND (attribute_not_exists(#sid) OR #sid = :sid)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sid", attr::CALL_SID)
                .expression_attribute_names("#st", attr::CALL_STATUS)
                .expression_attribute_names("#term", attr::TERMINAL)
                .expression_attribute_values(":sid", s(sid))
                .expression_attribute_values(":status", s(status))
                .expression_attribute_values(":false", AttributeValue::Bool(false))
                .build(),
        )?;
        // A successful create also ends the circuit breaker's run of failures.
        let running = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(campaign_id)))
                .key(SK, s(META))
                .update_expression("REMOVE #cbn, #cbs")
                .condition_expression("#state = :running")
                .expression_attribute_names("#state", attr::STATE)
                .expression_attribute_names("#cbn", attr::CB_FAILURES)
                .expression_attribute_names("#cbs", attr::CB_SINCE_MS)
                .expression_attribute_values(":running", s(CampaignState::Running.as_str()))
                .build(),
        )?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(attempt).build())
            .transact_items(TransactWriteItem::builder().update(running).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(SidRecorded::Recorded),
            Err(e) => {
                if let Some(failed) = cancelled_items(&e) {
                    if failed.first().copied().unwrap_or(false) {
                        return Ok(SidRecorded::AttemptMoved);
                    }
                    if failed.get(1).copied().unwrap_or(false) {
                        return Ok(SidRecorded::CampaignStopped);
                    }
                }
                match classify(e) {
                    // Reasons unavailable: the safe reading is "stopped" (the caller cancels).
                    RepoError::Conflict => Ok(SidRecorded::CampaignStopped),
                    other => Err(other),
                }
            }
        }
    }

    /// Record the sid of a call the watchdog found for a claim that had none (no campaign
    /// check: the call exists whatever the campaign's state; it is followed to its end).
    pub async fn adopt_call_sid(&self, campaign_id: &str, phone: &str, claim: u32, sid: &str) -> Result<(), RepoError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(attempt_sk(phone, claim)))
            .update_expression("SET #sid = :sid")
            .condition_expression("attribute_exists(#pk) AND #term = :false AND (attribute_not_exists(#sid) OR #sid = :sid)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sid", attr::CALL_SID)
            .expression_attribute_names("#term", attr::TERMINAL)
            .expression_attribute_values(":sid", s(sid))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => match classify(e) {
                RepoError::Conflict => Ok(()),
                other => Err(other),
            },
        }
    }

    /// The attempt item of claim `claim` of a contact.
    pub async fn get_attempt(&self, campaign_id: &str, phone: &str, claim: u32) -> Result<Option<AttemptRecord>, RepoError> {
        self.get_record(campaign_pk(campaign_id), attempt_sk(phone, claim)).await
    }

    /// A non-terminal callback: record progress if it is newer than what we have (by
    /// SequenceNumber), the attempt has not ended, and it has no CallSid yet or this one. An
    /// older, duplicate or foreign one is a `Conflict`.
    pub async fn record_progress(
        &self,
        campaign_id: &str,
        phone: &str,
        claim: u32,
        sid: &str,
        status: &str,
        sequence_number: i64,
    ) -> Result<(), RepoError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(attempt_sk(phone, claim)))
            .update_expression("SET #st = :st, #seq = :seq, #sid = :sid")
            .condition_expression("attribute_exists(#pk) AND #seq < :seq AND #term = :false AND (attribute_not_exists(#sid) OR #sid = :sid)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#st", attr::CALL_STATUS)
            .expression_attribute_names("#seq", attr::SEQ_NO)
            .expression_attribute_names("#sid", attr::CALL_SID)
            .expression_attribute_names("#term", attr::TERMINAL)
            .expression_attribute_values(":st", s(status))
            .expression_attribute_values(":seq", n(sequence_number))
            .expression_attribute_values(":sid", s(sid))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// The circuit breaker: count one more abnormal create failure in a row; returns the run's
    /// length and when it began.
    pub async fn note_twilio_failure(&self, campaign_id: &str, now_ms: i64) -> Result<(u64, i64), RepoError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(META))
            .update_expression("SET #cbs = if_not_exists(#cbs, :now) ADD #cbn :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#cbn", attr::CB_FAILURES)
            .expression_attribute_names("#cbs", attr::CB_SINCE_MS)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(classify)?;
        let num = |name: &str| {
            out.attributes()
                .and_then(|a| a.get(name))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<i64>().ok())
        };
        Ok((num(attr::CB_FAILURES).unwrap_or(1).max(0) as u64, num(attr::CB_SINCE_MS).unwrap_or(now_ms)))
    }

    /// Count a callback that named a superseded attempt (released, or another call's sid).
    pub async fn count_superseded_callback(&self, campaign_id: &str) -> Result<(), RepoError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(META))
            .update_expression("ADD #n :one")
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#n", attr::SUPERSEDED_CALLBACKS)
            .expression_attribute_values(":one", n(1))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => match classify(e) {
                RepoError::Conflict => Ok(()),
                other => Err(other),
            },
        }
    }

    /// The end of an attempt, in one transaction (invariants 2, 6, 7): the attempt becomes
    /// terminal (only once), the contact moves from `calling` to its next state (only if it is
    /// still on this attempt), and the campaign releases the slot and moves the counters.
    /// A duplicate or stale callback fails a condition and changes nothing (`Conflict`).
    pub async fn finish_attempt(&self, f: &Finish<'_>) -> Result<(), RepoError> {
        let new_state = f.after.state();
        let mut attempt_names: HashMap<String, String> = HashMap::new();
        let mut attempt_values: HashMap<String, AttributeValue> = HashMap::new();
        let mut attempt_set = vec!["#term = :true", "#st = :st", "#seq = :seq", "#out = :out", "#ended = :now"];
        attempt_names.insert("#pk".into(), PK.into());
        attempt_names.insert("#sid".into(), attr::CALL_SID.into());
        let attempt_cond = match f.call_sid {
            Some(sid) => {
                attempt_set.push("#sid = :sid");
                attempt_values.insert(":sid".into(), s(sid));
                "attribute_exists(#pk) AND #term = :false AND (attribute_not_exists(#sid) OR #sid = :sid)"
            }
            None => "attribute_exists(#pk) AND #term = :false AND attribute_not_exists(#sid)",
        };
        attempt_names.insert("#term".into(), attr::TERMINAL.into());
        attempt_names.insert("#st".into(), attr::CALL_STATUS.into());
        attempt_names.insert("#seq".into(), attr::SEQ_NO.into());
        attempt_names.insert("#out".into(), attr::OUTCOME.into());
        attempt_names.insert("#ended".into(), attr::ENDED_MS.into());
        attempt_values.insert(":true".into(), AttributeValue::Bool(true));
        attempt_values.insert(":false".into(), AttributeValue::Bool(false));
        attempt_values.insert(":st".into(), s(f.call_status));
        attempt_values.insert(":seq".into(), n(f.sequence_number));
        attempt_values.insert(":out".into(), s(f.outcome.as_str()));
        attempt_values.insert(":now".into(), n(f.now_ms));
        if let Some(d) = f.duration {
            attempt_set.push("#dur = :dur");
            attempt_names.insert("#dur".into(), attr::DURATION.into());
            attempt_values.insert(":dur".into(), n(d));
        }
        if let Some(a) = f.answered_by {
            attempt_set.push("#ab = :ab");
            attempt_names.insert("#ab".into(), attr::ANSWERED_BY.into());
            attempt_values.insert(":ab".into(), s(a));
        }
        if let Some(e) = f.twilio_error {
            attempt_set.push("#terr = :terr");
            attempt_names.insert("#terr".into(), attr::TWILIO_ERROR.into());
            attempt_values.insert(":terr".into(), s(e));
        }
        let attempt = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(f.campaign_id)))
                .key(SK, s(attempt_sk(f.phone, f.claim)))
                .update_expression(format!("SET {}", attempt_set.join(", ")))
                .condition_expression(attempt_cond)
                .set_expression_attribute_names(Some(attempt_names))
                .set_expression_attribute_values(Some(attempt_values))
                .build(),
        )?;

        let mut c_names: HashMap<String, String> = HashMap::new();
        let mut c_values: HashMap<String, AttributeValue> = HashMap::new();
        let mut c_set = vec!["#state = :new", "#out = :out"];
        let mut c_remove = vec!["#lease"];
        for (k, v) in [
            ("#state", attr::STATE),
            ("#out", attr::OUTCOME),
            ("#lease", attr::LEASE_UNTIL_MS),
            ("#claim", attr::CLAIM),
            ("#g3pk", GSI3_PK),
            ("#g3sk", GSI3_SK),
        ] {
            c_names.insert(k.into(), v.into());
        }
        c_values.insert(":new".into(), s(new_state.as_str()));
        c_values.insert(":out".into(), s(f.outcome.as_str()));
        c_values.insert(":calling".into(), s(ContactState::Calling.as_str()));
        c_values.insert(":k".into(), n(f.claim));
        if let Some(d) = f.duration {
            c_set.push("#dur = :dur");
            c_names.insert("#dur".into(), attr::LAST_DURATION.into());
            c_values.insert(":dur".into(), n(d));
        }
        if let Some(r) = f.failure_reason {
            c_set.push("#reason = :reason");
            c_names.insert("#reason".into(), attr::FAILURE_REASON.into());
            c_values.insert(":reason".into(), s(r));
        }
        match f.after {
            AfterCall::Retry { at } => {
                let at_ms = at.timestamp_millis();
                c_set.push("#due = :due");
                c_set.push("#g3pk = :qpk");
                c_set.push("#g3sk = :qsk");
                c_names.insert("#due".into(), attr::NEXT_ATTEMPT_MS.into());
                c_values.insert(":due".into(), n(at_ms));
                c_values.insert(":qpk".into(), s(queue_pk(f.campaign_id)));
                c_values.insert(":qsk".into(), s(work_sk(at_ms, f.seq)));
            }
            AfterCall::Completed | AfterCall::Failed { .. } => {
                c_remove.push("#g3pk");
                c_remove.push("#g3sk");
            }
        }
        let contact = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(f.campaign_id)))
                .key(SK, s(contact_sk(f.phone)))
                .update_expression(format!("SET {} REMOVE {}", c_set.join(", "), c_remove.join(", ")))
                .condition_expression("#state = :calling AND #claim = :k")
                .set_expression_attribute_names(Some(c_names))
                .set_expression_attribute_values(Some(c_values))
                .build(),
        )?;

        let mut k_names: HashMap<String, String> = HashMap::new();
        let mut k_values: HashMap<String, AttributeValue> = HashMap::new();
        let mut k_set = vec!["#calling = #calling - :one", "#to = #to + :one"];
        k_names.insert("#calling".into(), attr::C_CALLING.into());
        k_names.insert("#to".into(), counter_of(new_state).into());
        k_values.insert(":one".into(), n(1));
        if f.outcome.is_success() {
            k_set.push("#answered = #answered + :one");
            k_set.push("#secs = #secs + :secs");
            k_names.insert("#answered".into(), attr::CALLS_ANSWERED.into());
            k_names.insert("#secs".into(), attr::ANSWERED_SECONDS.into());
            k_values.insert(":secs".into(), n(f.duration.unwrap_or(0)));
        }
        if let Some(next) = f.next_dial_ms {
            k_set.push("#next = :next");
            k_names.insert("#next".into(), attr::NEXT_DIAL_MS.into());
            k_values.insert(":next".into(), n(next));
        }
        let campaign = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(f.campaign_id)))
                .key(SK, s(META))
                .update_expression(format!("SET {}", k_set.join(", ")))
                .set_expression_attribute_names(Some(k_names))
                .set_expression_attribute_values(Some(k_values))
                .build(),
        )?;

        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(attempt).build())
            .transact_items(TransactWriteItem::builder().update(contact).build())
            .transact_items(TransactWriteItem::builder().update(campaign).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Give back a claim whose call never existed (Twilio's 429 or a number-level refusal
    /// proved it, the watchdog found no call) or was canceled before it connected: the contact
    /// goes back to `back_to` with its charge given back, due again at `due_ms`; the slot and
    /// the placed-call count are given back; the attempt item stays, terminal and `released`,
    /// so a late callback for it is recognised as superseded. The claim's identity is kept:
    /// the next claim gets a new one. `call_sid`: the canceled call (`None`: the attempt must
    /// have no sid).
    #[allow(clippy::too_many_arguments)]
    pub async fn release(
        &self,
        campaign_id: &str,
        contact: &ContactRecord,
        claim: u32,
        back_to: ContactState,
        due_ms: i64,
        call_sid: Option<&str>,
        now_ms: i64,
    ) -> Result<(), RepoError> {
        let campaign = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(campaign_id)))
                .key(SK, s(META))
                .update_expression("SET #calling = #calling - :one, #to = #to + :one, #placed = #placed - :one")
                .expression_attribute_names("#calling", attr::C_CALLING)
                .expression_attribute_names("#to", counter_of(back_to))
                .expression_attribute_names("#placed", attr::CALLS_PLACED)
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        let contact_update = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(campaign_id)))
                .key(SK, s(contact_sk(&contact.phone)))
                .update_expression(
                    "SET #state = :back, #attempts = #attempts - :one, #due = :due, #g3pk = :qpk, #g3sk = :qsk REMOVE #lease",
                )
                .condition_expression("#state = :calling AND #claim = :k AND #attempts > :zero")
                .expression_attribute_names("#state", attr::STATE)
                .expression_attribute_names("#attempts", attr::ATTEMPTS)
                .expression_attribute_names("#claim", attr::CLAIM)
                .expression_attribute_names("#due", attr::NEXT_ATTEMPT_MS)
                .expression_attribute_names("#g3pk", GSI3_PK)
                .expression_attribute_names("#g3sk", GSI3_SK)
                .expression_attribute_names("#lease", attr::LEASE_UNTIL_MS)
                .expression_attribute_values(":back", s(back_to.as_str()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":due", n(due_ms))
                .expression_attribute_values(":qpk", s(queue_pk(campaign_id)))
                .expression_attribute_values(":qsk", s(work_sk(due_ms, contact.seq)))
                .expression_attribute_values(":calling", s(ContactState::Calling.as_str()))
                .expression_attribute_values(":k", n(claim))
                .build(),
        )?;
        let mut attempt = Update::builder()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(attempt_sk(&contact.phone, claim)))
            .update_expression("SET #term = :true, #rel = :true, #ended = :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#term", attr::TERMINAL)
            .expression_attribute_names("#rel", attr::RELEASED)
            .expression_attribute_names("#ended", attr::ENDED_MS)
            .expression_attribute_names("#sid", attr::CALL_SID)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now_ms));
        attempt = match call_sid {
            Some(sid) => attempt
                .update_expression("SET #term = :true, #rel = :true, #ended = :now, #sid = :sid")
                .condition_expression("attribute_exists(#pk) AND #term = :false AND (attribute_not_exists(#sid) OR #sid = :sid)")
                .expression_attribute_values(":sid", s(sid)),
            None => attempt.condition_expression("attribute_exists(#pk) AND #term = :false AND attribute_not_exists(#sid)"),
        };
        let attempt = build(attempt.build())?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(campaign).build())
            .transact_items(TransactWriteItem::builder().update(contact_update).build())
            .transact_items(TransactWriteItem::builder().update(attempt).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Set a leased contact's lease to `until_ms` (the watchdog saw a live call; or a create
    /// whose answer was ambiguous is to be reconciled soon).
    pub async fn extend_lease(&self, campaign_id: &str, contact: &ContactRecord, claim: u32, until_ms: i64) -> Result<(), RepoError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(contact_sk(&contact.phone)))
            .update_expression("SET #lease = :until, #g3sk = :lsk")
            .condition_expression("#state = :calling AND #claim = :k")
            .expression_attribute_names("#lease", attr::LEASE_UNTIL_MS)
            .expression_attribute_names("#g3sk", GSI3_SK)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#claim", attr::CLAIM)
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":lsk", s(work_sk(until_ms, contact.seq)))
            .expression_attribute_values(":calling", s(ContactState::Calling.as_str()))
            .expression_attribute_values(":k", n(claim))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Bring a leased contact's lease forward to `until_ms` (only ever earlier), so the
    /// watchdog reconciles the claim soon: a terminal callback that could not be applied.
    pub async fn shorten_lease(&self, campaign_id: &str, phone: &str, seq: u64, claim: u32, until_ms: i64) -> Result<(), RepoError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(contact_sk(phone)))
            .update_expression("SET #lease = :until, #g3sk = :lsk")
            .condition_expression("#state = :calling AND #claim = :k AND #lease > :until")
            .expression_attribute_names("#lease", attr::LEASE_UNTIL_MS)
            .expression_attribute_names("#g3sk", GSI3_SK)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#claim", attr::CLAIM)
            .expression_attribute_values(":until", n(until_ms))
            .expression_attribute_values(":lsk", s(work_sk(until_ms, seq)))
            .expression_attribute_values(":calling", s(ContactState::Calling.as_str()))
            .expression_attribute_values(":k", n(claim))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Move a dialable contact's due time forward (outside its own calling window), without
    /// charging an attempt.
    pub async fn defer_contact(&self, campaign_id: &str, contact: &ContactRecord, due_ms: i64) -> Result<(), RepoError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(contact_sk(&contact.phone)))
            .update_expression("SET #due = :due, #g3sk = :qsk")
            .condition_expression("#state = :st AND #attempts = :n")
            .expression_attribute_names("#due", attr::NEXT_ATTEMPT_MS)
            .expression_attribute_names("#g3sk", GSI3_SK)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#attempts", attr::ATTEMPTS)
            .expression_attribute_values(":due", n(due_ms))
            .expression_attribute_values(":qsk", s(work_sk(due_ms, contact.seq)))
            .expression_attribute_values(":st", s(contact.state.as_str()))
            .expression_attribute_values(":n", n(contact.attempts))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Complete a running campaign whose contacts are all finished. The condition makes it
    /// happen exactly once (invariant 7); `Ok(false)` when it is not (yet) complete.
    pub async fn try_complete(&self, campaign_id: &str, now_ms: i64) -> Result<bool, RepoError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(campaign_pk(campaign_id)))
            .key(SK, s(META))
            .update_expression("SET #state = :done, #completed = :now, #updated = :now REMOVE #g2pk, #g2sk")
            .condition_expression(
                "#state = :running AND #pending = :zero AND #calling = :zero AND #retrying = :zero AND #import = :imported",
            )
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#completed", attr::COMPLETED_MS)
            .expression_attribute_names("#updated", attr::UPDATED_MS)
            .expression_attribute_names("#g2pk", GSI2_PK)
            .expression_attribute_names("#g2sk", GSI2_SK)
            .expression_attribute_names("#pending", attr::C_PENDING)
            .expression_attribute_names("#calling", attr::C_CALLING)
            .expression_attribute_names("#retrying", attr::C_RETRYING)
            .expression_attribute_names("#import", attr::IMPORT_STATE)
            .expression_attribute_values(":done", s(CampaignState::Completed.as_str()))
            .expression_attribute_values(":running", s(CampaignState::Running.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":imported", s(crate::domain::ImportState::Imported.as_str()))
            .expression_attribute_values(":now", n(now_ms))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) => match classify(e) {
                RepoError::Conflict => Ok(false),
                other => Err(other),
            },
        }
    }
}
