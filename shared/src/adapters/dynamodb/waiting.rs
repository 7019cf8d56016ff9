//! The head of a campaign's work queue, for `domain::waiting`: one Query on the work index
//! (`Q#<id>`, by due time), at most `limit` items, four attributes each. Its cost is bounded
//! whatever the campaign's size: at most `limit` index items read (100 items of about 300 bytes
//! is 30 KB: 4 read units, eventually consistent; the index projects every attribute, so the
//! read units count the whole items, under 1 KB each without metadata).

use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;

use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{attr, from_ms, parse_item};
use super::{Repo, s};
use crate::domain::ContactState;
use crate::domain::compliance::{Location, locate};
use crate::domain::waiting::{QueueHead, QueuedContact};

/// How many queued contacts `GET /campaigns/{id}` examines.
pub const QUEUE_HEAD: i32 = 100;

#[derive(Deserialize)]
struct QueueItem {
    state: ContactState,
    #[serde(default)]
    next_attempt_ms: i64,
    phone: String,
    /// Computed at import; contacts imported before it existed are located from the number.
    #[serde(default)]
    location: Option<Location>,
}

impl Repo {
    /// The first `limit` contacts of the work queue by due time, and whether that is all.
    pub async fn queue_head(&self, campaign_id: &str, limit: i32) -> Result<QueueHead, RepoError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI3)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", GSI3_PK)
            .expression_attribute_names("#state", attr::STATE)
            .expression_attribute_names("#due", attr::NEXT_ATTEMPT_MS)
            .expression_attribute_names("#phone", attr::PHONE)
            .expression_attribute_names("#loc", attr::LOCATION)
            .expression_attribute_values(":pk", s(queue_pk(campaign_id)))
            .projection_expression("#state, #due, #phone, #loc")
            .limit(limit)
            .send()
            .await
            .map_err(classify)?;
        let complete = out.last_evaluated_key.as_ref().is_none_or(|k: &std::collections::HashMap<String, AttributeValue>| k.is_empty());
        let mut contacts = Vec::new();
        for item in out.items.unwrap_or_default() {
            let q: QueueItem = parse_item(item)?;
            contacts.push(QueuedContact {
                state: q.state,
                due: (q.next_attempt_ms > 0).then(|| from_ms(q.next_attempt_ms)),
                location: q.location.unwrap_or_else(|| locate(&q.phone, &Default::default())),
            });
        }
        Ok(QueueHead { contacts, complete })
    }
}
