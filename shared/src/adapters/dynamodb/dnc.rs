//! The owner's do-not-call list: one item per number, `U#<owner>` / `DNC#<e164>`. The claim
//! transaction checks that no such item exists (invariant 11); these methods keep the list.

use std::collections::{HashMap, HashSet};

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, KeysAndAttributes, PutRequest, WriteRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{from_ms, parse_item, to_ms};
use super::contacts::BulkStats;
use super::page::{encode_cursor, last_sort_key};
use super::{Repo, s};

pub const DNC_PREFIX: &str = "DNC#";

/// How a number joined the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DncSource {
    /// Added through `POST /dnc`.
    Api,
    /// A line of a bulk upload.
    Upload,
    /// The person asked during a call (the voice gateway's opt-out).
    OptOut,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DncRecord {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub owner: String,
    pub phone: String,
    pub source: DncSource,
    pub added_ms: i64,
    /// The campaign of the call in which the person opted out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

/// A number on the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DncEntry {
    /// E.164.
    pub phone: String,
    pub source: DncSource,
    pub added_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

impl From<DncRecord> for DncEntry {
    fn from(r: DncRecord) -> Self {
        DncEntry { phone: r.phone, source: r.source, added_at: from_ms(r.added_ms), campaign_id: r.campaign_id }
    }
}

fn record(owner: &str, phone: &str, source: DncSource, now: DateTime<Utc>, campaign_id: Option<&str>) -> DncRecord {
    DncRecord {
        pk: user_pk(owner),
        sk: dnc_sk(phone),
        entity: "dnc".into(),
        owner: owner.to_string(),
        phone: phone.to_string(),
        source,
        added_ms: to_ms(now),
        campaign_id: campaign_id.map(str::to_string),
    }
}

fn build<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, RepoError> {
    r.map_err(|e| RepoError::Sdk(e.to_string()))
}

impl Repo {
    /// Add a number. Idempotent: a number already listed keeps its first entry, which is
    /// returned with `false`.
    pub async fn dnc_add(
        &self,
        owner: &str,
        phone: &str,
        source: DncSource,
        now: DateTime<Utc>,
        campaign_id: Option<&str>,
    ) -> Result<(DncEntry, bool), RepoError> {
        let rec = record(owner, phone, source, now, campaign_id);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(serde_dynamo::to_item(&rec)?))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match put {
            Ok(_) => Ok((rec.into(), true)),
            Err(e) => match classify(e) {
                RepoError::Conflict => match self.dnc_get(owner, phone).await? {
                    Some(existing) => Ok((existing, false)),
                    // Removed between the two requests: try once more.
                    None => Box::pin(self.dnc_add(owner, phone, source, now, campaign_id)).await,
                },
                other => Err(other),
            },
        }
    }

    pub async fn dnc_get(&self, owner: &str, phone: &str) -> Result<Option<DncEntry>, RepoError> {
        Ok(self.get_record::<DncRecord>(user_pk(owner), dnc_sk(phone)).await?.map(Into::into))
    }

    /// Remove a number; `Ok(false)` when it was not listed.
    pub async fn dnc_remove(&self, owner: &str, phone: &str) -> Result<bool, RepoError> {
        let r = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(user_pk(owner)))
            .key(SK, s(dnc_sk(phone)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
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

    /// One page of the owner's list, in number order. `Err(NotFound)` for a foreign cursor.
    pub async fn dnc_list(&self, owner: &str, limit: u32, cursor: Option<&str>) -> Result<(Vec<DncEntry>, Option<String>), RepoError> {
        let start = Repo::cursor_start(cursor, DNC_PREFIX)?;
        let page = self.prefix_query(&user_pk(owner), DNC_PREFIX, limit, start).send().await.map_err(classify)?;
        let entries = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| parse_item::<DncRecord>(i).map(DncEntry::from))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((entries, last_sort_key(page.last_evaluated_key).map(|sk| encode_cursor(&sk))))
    }

    /// Add many numbers (a bulk upload): BatchWriteItem with the same retries as an import.
    /// A number already listed is overwritten with the upload's entry (same key, same meaning).
    pub async fn dnc_add_many(&self, owner: &str, phones: &[String], now: DateTime<Utc>) -> Result<BulkStats, RepoError> {
        let mut requests = Vec::with_capacity(phones.len());
        for p in phones {
            let item = serde_dynamo::to_item(record(owner, p, DncSource::Upload, now, None))?;
            requests.push(WriteRequest::builder().put_request(build(PutRequest::builder().set_item(Some(item)).build())?).build());
        }
        self.write_all(requests).await
    }

    /// Which of `phones` are on the owner's list. The list itself is read first (a Query of
    /// `U#<owner>` / `DNC#`, strongly consistent, 1 MB pages) while that takes no more requests
    /// than looking every number up (one BatchGetItem per 100 numbers): a file of a million
    /// numbers then costs one Query for a short list instead of 10,000 lookups, all on the
    /// owner's one partition key. A longer list is looked up number by number (BatchGetItem,
    /// 100 keys a request, strongly consistent; unprocessed keys retried).
    pub async fn dnc_listed(&self, owner: &str, phones: &[&str]) -> Result<HashSet<String>, RepoError> {
        if let Some(list) = self.dnc_numbers_within(owner, phones.len().div_ceil(100)).await? {
            return Ok(phones.iter().filter(|p| list.contains(**p)).map(|p| p.to_string()).collect());
        }
        let mut listed = HashSet::new();
        for chunk in phones.chunks(100) {
            let mut keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|p| HashMap::from([(PK.to_string(), s(user_pk(owner))), (SK.to_string(), s(dnc_sk(p)))]))
                .collect();
            for round in 0..8u32 {
                if keys.is_empty() {
                    break;
                }
                if round > 0 {
                    tokio::time::sleep(super::contacts::backoff(round)).await;
                }
                let ka = build(KeysAndAttributes::builder().set_keys(Some(keys.clone())).consistent_read(true).build())?;
                let out = self.client.batch_get_item().request_items(self.table.clone(), ka).send().await.map_err(classify)?;
                for item in out.responses.and_then(|mut r| r.remove(&self.table)).unwrap_or_default() {
                    if let Some(AttributeValue::S(p)) = item.get("phone") {
                        listed.insert(p.clone());
                    }
                }
                keys = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)).map(|k| k.keys).unwrap_or_default();
            }
            if !keys.is_empty() {
                return Err(RepoError::Throttled(format!("{} do-not-call lookups still unprocessed", keys.len())));
            }
        }
        Ok(listed)
    }

    /// The owner's whole list of numbers, when it fits in `max_pages` Query pages (else None).
    async fn dnc_numbers_within(&self, owner: &str, max_pages: usize) -> Result<Option<HashSet<String>>, RepoError> {
        let mut numbers = HashSet::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        for _ in 0..max_pages {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#phone", "phone")
                .expression_attribute_values(":pk", s(user_pk(owner)))
                .expression_attribute_values(":p", s(DNC_PREFIX))
                .projection_expression("#phone")
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                if let Some(AttributeValue::S(p)) = item.get("phone") {
                    numbers.insert(p.clone());
                }
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(Some(numbers)),
            }
        }
        Ok(None)
    }

    /// The claim's condition: the owner's list has no item for the number (invariant 11).
    pub fn dnc_absent_check(&self, owner: &str, phone: &str) -> Result<ConditionCheck, RepoError> {
        build(
            ConditionCheck::builder()
                .table_name(&self.table)
                .key(PK, s(user_pk(owner)))
                .key(SK, s(dnc_sk(phone)))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .build(),
        )
    }
}

