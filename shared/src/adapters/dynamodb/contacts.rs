//! Contact items: bulk writes for the import, listing for the API, recount for invariant 7.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rand::Rng;

use super::aimd::{AimdConfig, Ticket};
use super::error::{RepoError, classify};
use super::keys::*;
use super::page::{encode_cursor, last_sort_key};
use super::records::{ContactRecord, attr, parse_item, to_ms};
use super::{Repo, s};
use crate::domain::{Contact, ContactState, Counters};
use contacts_parser::Contacts;

/// DynamoDB's limit of items in one BatchWriteItem.
pub const BATCH: usize = 25;
/// BatchWriteItem requests in flight at once during an import: 4 to start with (the fixed
/// number before the writer adapted), at most 32, at least 1, halved by a throttle.
pub const WRITE_CONCURRENCY: AimdConfig = AimdConfig { initial: 4, min: 1, max: 32, decrease: 0.5 };
/// Rounds of retrying UnprocessedItems before giving up on a batch.
pub const MAX_ROUNDS: u32 = 12;

/// How one BatchWriteItem ended.
enum Sent {
    Done,
    /// DynamoDB left these items unprocessed (a throttle of part of the batch).
    Unprocessed(Vec<WriteRequest>),
    /// The whole batch was throttled.
    Throttled(Vec<WriteRequest>),
    /// The request did not get a verdict (connection, timeout, 5xx).
    Transient(Vec<WriteRequest>),
    Failed(RepoError),
}

/// What a bulk write did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BulkStats {
    pub items: u64,
    /// BatchWriteItem requests sent, retries included.
    pub requests: u64,
    /// Items DynamoDB returned as unprocessed and that were retried.
    pub retried_items: u64,
}

/// Exponential backoff with full jitter: 25 ms, 50 ms, ... capped at 2 s.
pub fn backoff(round: u32) -> Duration {
    let cap = 25u64.saturating_mul(1 << round.min(7)).min(2000);
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}

impl Repo {
    /// The item of a freshly imported contact: pending, due at once, in the work queue, with
    /// its plausible zones and states (`domain::compliance::locate`).
    pub fn new_contact_record(campaign_id: &str, seq: u64, c: contacts_parser::Contact<'_>) -> ContactRecord {
        let metadata = c.metadata().to_map();
        ContactRecord {
            pk: campaign_pk(campaign_id),
            sk: contact_sk(c.phone()),
            entity: "contact".into(),
            campaign_id: campaign_id.to_string(),
            phone: c.phone().to_string(),
            phone_text: Some(c.phone_text().to_string()),
            name_parts: c.name_parts().map(|(f, l)| vec![f.to_string(), l.to_string()]).unwrap_or_default(),
            seq,
            row: c.row(),
            name: c.name().map(str::to_string),
            location: Some(crate::domain::compliance::locate(c.phone(), &metadata)),
            metadata,
            tz: c.timezone().map(str::to_string),
            state: ContactState::Pending,
            attempts: 0,
            claim: 0,
            next_attempt_ms: 0,
            lease_until_ms: None,
            outcome: None,
            failure_reason: None,
            last_call_ms: None,
            last_duration: None,
            last_audit: None,
            gsi3pk: Some(queue_pk(campaign_id)),
            gsi3sk: Some(work_sk(0, seq)),
        }
    }

    /// Write contacts with BatchWriteItem: 25 a request, several in flight, unprocessed items
    /// retried with backoff until every one is written (or the rounds run out: an error, so
    /// the import fails loudly instead of losing contacts). Puts are idempotent: a contact's key
    /// is its E.164 number, so writing the same file twice leaves the same items.
    pub async fn put_contacts(&self, campaign_id: &str, contacts: &Contacts) -> Result<BulkStats, RepoError> {
        self.put_contacts_from(campaign_id, 0, contacts.iter(), &std::collections::HashSet::new(), "").await
    }

    /// [`Self::put_contacts`] for a slice of the file whose first contact has position `first_seq`
    /// (an import writes in chunks and checks between them whether it was superseded). Numbers
    /// in `skip` are stored skipped with `reason` (not in the work queue): contacts already on the
    /// owner's do-not-call list at import.
    pub async fn put_contacts_from(
        &self,
        campaign_id: &str,
        first_seq: u64,
        contacts: impl IntoIterator<Item = contacts_parser::Contact<'_>>,
        skip: &std::collections::HashSet<String>,
        reason: &str,
    ) -> Result<BulkStats, RepoError> {
        let contacts = contacts.into_iter();
        let mut requests = Vec::with_capacity(contacts.size_hint().0);
        for (i, c) in contacts.enumerate() {
            let seq = first_seq + i as u64;
            let mut record = Self::new_contact_record(campaign_id, seq, c);
            if skip.contains(c.phone()) {
                record.state = ContactState::Skipped;
                record.failure_reason = Some(reason.to_string());
                record.gsi3pk = None;
                record.gsi3sk = None;
            }
            let item = serde_dynamo::to_item(record)?;
            requests.push(WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(item)).build().map_err(sdk_build)?).build());
        }
        self.write_all(requests).await
    }

    /// Send write requests in batches of 25, as many in flight as the concurrency controller
    /// allows (`aimd`: one more per window of answers in full, half as many after a throttle).
    /// Unprocessed items and throttled batches go again after a backoff (holding their slot),
    /// at most `MAX_ROUNDS` times each; a batch that runs out of rounds fails the write loudly.
    pub async fn write_all(&self, requests: Vec<WriteRequest>) -> Result<BulkStats, RepoError> {
        let mut total = BulkStats { items: requests.len() as u64, ..Default::default() };
        let mut queue: VecDeque<(Vec<WriteRequest>, u32)> = requests.chunks(BATCH).map(|c| (c.to_vec(), 0)).collect();
        let mut running = FuturesUnordered::new();
        loop {
            let limit = self.writes().limit();
            while running.len() < limit {
                let Some((batch, round)) = queue.pop_front() else { break };
                let ticket = self.writes().ticket();
                running.push(self.send_batch(batch, round, ticket));
            }
            let Some((sent, round, ticket)) = running.next().await else { break };
            total.requests += 1;
            let again = match sent {
                Sent::Done => {
                    self.writes().success(ticket);
                    continue;
                }
                Sent::Unprocessed(left) | Sent::Throttled(left) => {
                    self.writes().throttled(ticket);
                    total.retried_items += left.len() as u64;
                    left
                }
                // Not a sign of load (a dropped connection, a 5xx): the same batch again.
                Sent::Transient(batch) => batch,
                Sent::Failed(e) => return Err(e),
            };
            if round + 1 >= MAX_ROUNDS {
                return Err(RepoError::Throttled(format!("{} items still unprocessed after {MAX_ROUNDS} rounds", again.len())));
            }
            queue.push_front((again, round + 1));
        }
        Ok(total)
    }

    fn writes(&self) -> std::sync::MutexGuard<'_, super::aimd::Aimd> {
        self.writes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One BatchWriteItem (after the backoff of its round). The SDK's own retries are off for
    /// it: a throttle must reach the controller at once, not after the SDK slept on it.
    async fn send_batch(&self, batch: Vec<WriteRequest>, round: u32, ticket: Ticket) -> (Sent, u32, Ticket) {
        if round > 0 {
            tokio::time::sleep(backoff(round)).await;
        }
        let no_retries = aws_sdk_dynamodb::config::Builder::default().retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled());
        let result = self
            .client
            .batch_write_item()
            .request_items(self.table.clone(), batch.clone())
            .customize()
            .config_override(no_retries)
            .send()
            .await;
        let sent = match result {
            Ok(out) => {
                let left = out.unprocessed_items.and_then(|mut m| m.remove(&self.table)).unwrap_or_default();
                if left.is_empty() { Sent::Done } else { Sent::Unprocessed(left) }
            }
            Err(e) if matches!(e, SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_))
                || e.raw_response().is_some_and(|r| r.status().is_server_error()) =>
            {
                Sent::Transient(batch)
            }
            Err(e) => match classify(e) {
                RepoError::Throttled(_) => Sent::Throttled(batch),
                other => Sent::Failed(other),
            },
        };
        (sent, round, ticket)
    }

    /// One page of a campaign's contacts (ordered by phone number), optionally of one state.
    /// The cursor is opaque to clients.
    pub async fn list_contacts(
        &self,
        campaign_id: &str,
        state: Option<ContactState>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<Contact>, Option<String>), RepoError> {
        let limit = limit.clamp(1, 1000) as usize;
        let mut start = Repo::cursor_start(cursor.as_deref(), CONTACT_PREFIX)?;
        let mut out = Vec::with_capacity(limit);
        loop {
            let mut q = self.prefix_query(&campaign_pk(campaign_id), CONTACT_PREFIX, (limit - out.len()) as u32, start.take());
            if let Some(st) = state {
                q = q
                    .filter_expression("#state = :state")
                    .expression_attribute_names("#state", attr::STATE)
                    .expression_attribute_values(":state", s(st.as_str()));
            }
            let page = q.send().await.map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                out.push(parse_item::<ContactRecord>(item)?.into());
            }
            let next = last_sort_key(page.last_evaluated_key);
            match next {
                None => return Ok((out, None)),
                Some(sk) if out.len() >= limit => return Ok((out, Some(encode_cursor(&sk)))),
                Some(sk) => start = Some(sk),
            }
        }
    }

    /// Every contact of a campaign (export, recount).
    pub async fn all_contacts(&self, campaign_id: &str) -> Result<Vec<Contact>, RepoError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.list_contacts(campaign_id, None, 1000, cursor).await?;
            all.extend(page);
            match next {
                None => return Ok(all),
                Some(c) => cursor = Some(c),
            }
        }
    }

    /// Counters recomputed from the contacts themselves: what the campaign's counters must
    /// always equal (invariant 7).
    pub async fn recount(&self, campaign_id: &str) -> Result<Counters, RepoError> {
        let mut c = Counters::default();
        for contact in self.all_contacts(campaign_id).await? {
            c.total += 1;
            match contact.state {
                ContactState::Pending => c.pending += 1,
                ContactState::Calling => c.calling += 1,
                ContactState::Retrying => c.retrying += 1,
                ContactState::Completed => c.completed += 1,
                ContactState::Failed => c.failed += 1,
                ContactState::Skipped => c.skipped += 1,
            }
        }
        Ok(c)
    }

    /// Delete every item under the campaign's partition except the campaign item itself
    /// (contacts and attempts).
    pub async fn delete_campaign_children(&self, campaign_id: &str) -> Result<BulkStats, RepoError> {
        let pk = campaign_pk(campaign_id);
        let mut keys: Vec<HashMap<String, AttributeValue>> = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(&pk))
                .projection_expression("#pk, #sk")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                if matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == META) {
                    continue;
                }
                keys.push(item);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let mut requests = Vec::with_capacity(keys.len());
        for key in keys {
            requests.push(WriteRequest::builder().delete_request(DeleteRequest::builder().set_key(Some(key)).build().map_err(sdk_build)?).build());
        }
        self.write_all(requests).await
    }

    /// A single contact, strongly consistent.
    pub async fn get_contact(&self, campaign_id: &str, phone: &str) -> Result<Option<ContactRecord>, RepoError> {
        self.get_record(campaign_pk(campaign_id), contact_sk(phone)).await
    }
}

fn sdk_build(e: aws_sdk_dynamodb::error::BuildError) -> RepoError {
    RepoError::Sdk(e.to_string())
}

/// Milliseconds since the epoch of now-ish instants, for callers that only have a DateTime.
pub fn ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    to_ms(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for round in 0..20 {
            let d = backoff(round);
            assert!(d <= Duration::from_millis(2000));
        }
        assert!(backoff(1) <= Duration::from_millis(50));
    }
}
