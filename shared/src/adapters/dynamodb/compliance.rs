//! Compliance storage the claim transaction uses: the recipient's call history for the
//! frequency caps (`U#<owner>` / `CAP#<e164>`), and skipping a contact with a reason.
//!
//! The cap item keeps the last `MAX_CAP_HISTORY` call instants of a number across all of the
//! owner's campaigns in fixed attributes `h01` (newest) .. `h20`. The claim shifts them by one
//! and writes `now` into `h01`, on the condition that the N-th newest is at least 24 hours old
//! (and the M-th at least 7 days): "fewer than N calls in the rolling 24 hours" as a condition
//! DynamoDB evaluates atomically with the claim (invariant 11). No read is needed on the path
//! of a dial; only a refused claim reads the item, to learn when the cap allows the next call.

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::dial::counter_of;
use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{ContactRecord, attr};
use super::{Repo, n, s};
use crate::domain::ContactState;
use crate::domain::compliance::policy::MAX_CAP_HISTORY;

pub fn cap_sk(phone: &str) -> String {
    format!("CAP#{phone}")
}

fn slot(i: u32) -> String {
    format!("h{i:02}")
}

fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, RepoError> {
    r.map_err(|e| RepoError::Sdk(e.to_string()))
}

impl Repo {
    /// The claim's cap update: record a call at `now_ms` if fewer than `per_24h` calls happened
    /// in the 24 hours before (and fewer than `per_7_days` in the 7 days before), and if the
    /// newest recorded call is still `seen_newest` (the history the dialer read and counted in
    /// the audit; `None`: no call recorded), so the audit's count is the count at the claim.
    pub fn cap_update(&self, owner: &str, phone: &str, now_ms: i64, per_24h: u32, per_7_days: Option<u32>, seen_newest: Option<i64>) -> Result<Update, RepoError> {
        let mut b = Update::builder().table_name(&self.table).key(PK, s(user_pk(owner))).key(SK, s(cap_sk(phone)));
        // Every operand is read from the item as it was before the update, so the shift is exact.
        let mut set: Vec<String> = (2..=MAX_CAP_HISTORY).rev().map(|i| format!("#h{i} = if_not_exists(#h{}, :zero)", i - 1)).collect();
        set.push("#h1 = :now".into());
        set.push("#entity = :entity".into());
        for i in 1..=MAX_CAP_HISTORY {
            b = b.expression_attribute_names(format!("#h{i}"), slot(i));
        }
        let n24 = per_24h.clamp(1, MAX_CAP_HISTORY);
        let mut cond = format!("(attribute_not_exists(#h{n24}) OR #h{n24} <= :cut24)");
        b = b.expression_attribute_values(":cut24", n(now_ms - 86_400_000));
        match seen_newest {
            Some(t) => {
                cond.push_str(" AND #h1 = :seen");
                b = b.expression_attribute_values(":seen", n(t));
            }
            None => cond.push_str(" AND attribute_not_exists(#h1)"),
        }
        if let Some(m) = per_7_days {
            let m = m.clamp(1, MAX_CAP_HISTORY);
            cond.push_str(&format!(" AND (attribute_not_exists(#h{m}) OR #h{m} <= :cut7)"));
            b = b.expression_attribute_values(":cut7", n(now_ms - 7 * 86_400_000));
        }
        build(
            b.update_expression(format!("SET {}", set.join(", ")))
                .condition_expression(cond)
                .expression_attribute_names("#entity", "entity")
                .expression_attribute_values(":entity", s("cap"))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":now", n(now_ms))
                .build(),
        )
    }

    /// The number's recorded call instants (epoch ms, newest first), for the cap's next allowed
    /// instant after a refused claim.
    pub async fn cap_history(&self, owner: &str, phone: &str) -> Result<Vec<i64>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(owner)))
            .key(SK, s(cap_sk(phone)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let item = out.item.unwrap_or_default();
        Ok((1..=MAX_CAP_HISTORY)
            .filter_map(|i| match item.get(&slot(i)) {
                Some(AttributeValue::N(v)) => v.parse::<i64>().ok().filter(|t| *t > 0),
                _ => None,
            })
            .collect())
    }

    /// Skip a dialable contact with a reason (do-not-call, no zone known, no common hour), in one
    /// transaction with the campaign's counters; `Conflict` when it moved meanwhile.
    pub async fn skip_contact(&self, campaign_id: &str, contact: &ContactRecord, reason: &str) -> Result<(), RepoError> {
        let from = contact.state;
        if !from.is_dialable() {
            return Err(RepoError::Conflict);
        }
        let contact_update = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(campaign_id)))
                .key(SK, s(contact_sk(&contact.phone)))
                .update_expression("SET #state = :skipped, #reason = :reason REMOVE #g3pk, #g3sk")
                .condition_expression("#state = :from AND #attempts = :n")
                .expression_attribute_names("#state", attr::STATE)
                .expression_attribute_names("#reason", attr::FAILURE_REASON)
                .expression_attribute_names("#attempts", attr::ATTEMPTS)
                .expression_attribute_names("#g3pk", GSI3_PK)
                .expression_attribute_names("#g3sk", GSI3_SK)
                .expression_attribute_values(":skipped", s(ContactState::Skipped.as_str()))
                .expression_attribute_values(":reason", s(reason))
                .expression_attribute_values(":from", s(from.as_str()))
                .expression_attribute_values(":n", n(contact.attempts))
                .build(),
        )?;
        let campaign = build(
            Update::builder()
                .table_name(&self.table)
                .key(PK, s(campaign_pk(campaign_id)))
                .key(SK, s(META))
                .update_expression("SET #from = #from - :one, #skipped = #skipped + :one")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#from", counter_of(from))
                .expression_attribute_names("#skipped", attr::C_SKIPPED)
                .expression_attribute_values(":one", n(1))
                .build(),
        )?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(contact_update).build())
            .transact_items(TransactWriteItem::builder().update(campaign).build())
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
