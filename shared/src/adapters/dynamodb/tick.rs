//! The tick's storage: the active campaigns read whole from the sparse active index (gsi2,
//! projection ALL) in one pass over its shards, and the tick's cursor item
//! (`SYS#tick` / `CURSOR`): where the next tick starts, so campaigns a tick did not reach
//! before its time budget ended come first the next time.
//!
//! Reading campaigns from the index costs one request per 1 MB page instead of one GetItem per
//! campaign. The index is eventually consistent: what the tick decides from it is only a
//! proposal (start, complete, fan out a dial message); the conditional writes and the dial's
//! own strongly consistent read decide.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::error::{RepoError, classify};
use super::keys::*;
use super::records::{CampaignRecord, parse_item};
use super::{Repo, s};
use crate::domain::Campaign;

/// Partition key of the tick's own items.
pub const TICK_PK: &str = "SYS#tick";
/// Sort key of the cursor item.
pub const CURSOR_SK: &str = "CURSOR";

/// The campaign attributes the tick reads: all but the import report and other fields only the
/// API shows (the report alone can be 96 KiB, and the tick reads every active campaign).
const TICK_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "entity",
    "id",
    "owner",
    "state",
    "settings",
    "agent",
    "max_concurrent",
    "c_total",
    "c_pending",
    "c_calling",
    "c_retrying",
    "c_completed",
    "c_failed",
    "c_skipped",
    "calls_placed",
    "calls_answered",
    "answered_seconds",
    "last_called_ms",
    "import_state",
    "failure_reason",
    "next_dial_ms",
    "created_ms",
    "updated_ms",
    "started_ms",
    "completed_ms",
    "gsi1pk",
    "gsi1sk",
    "gsi2pk",
    "gsi2sk",
];

/// Where the next tick starts: the first campaign id (in id order, wrapping around) of each of
/// its two stages that the last tick did not finish. `None`: from the start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickCursor {
    pub dial: Option<String>,
    pub watch: Option<String>,
}

impl Repo {
    /// Every campaign in the active index (pending, running, paused), read from the index
    /// itself: the shards are queried concurrently, each page by page.
    pub async fn active_campaigns(&self) -> Result<Vec<Campaign>, RepoError> {
        let shards = (0..ACTIVE_SHARDS).map(|shard| self.active_shard(shard));
        let pages = futures::future::try_join_all(shards).await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn active_shard(&self, shard: u32) -> Result<Vec<Campaign>, RepoError> {
        let mut campaigns = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        let projection: Vec<String> = (0..TICK_ATTRIBUTES.len())
            .map(|i| format!("#a{i}"))
            .collect();
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI2)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", GSI2_PK)
                .expression_attribute_values(":pk", s(active_shard_pk(shard)))
                .projection_expression(projection.join(", "))
                .set_exclusive_start_key(start.take());
            for (i, name) in TICK_ATTRIBUTES.iter().enumerate() {
                q = q.expression_attribute_names(format!("#a{i}"), *name);
            }
            let out = q.send().await.map_err(classify)?;
            for item in out.items.unwrap_or_default() {
                campaigns.push(Campaign::from(parse_item::<CampaignRecord>(item)?));
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(campaigns)
    }

    /// The cursor the last tick left (absent: from the start).
    pub async fn tick_cursor(&self) -> Result<TickCursor, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(TICK_PK))
            .key(SK, s(CURSOR_SK))
            .send()
            .await
            .map_err(classify)?;
        let item = out.item.unwrap_or_default();
        let text = |name: &str| match item.get(name) {
            Some(AttributeValue::S(v)) if !v.is_empty() => Some(v.clone()),
            _ => None,
        };
        Ok(TickCursor {
            dial: text("dial"),
            watch: text("watch"),
        })
    }

    /// Record where the next tick starts. Two ticks at once may both write; the later one wins,
    /// which only changes where the next tick begins.
    pub async fn set_tick_cursor(&self, cursor: &TickCursor) -> Result<(), RepoError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(TICK_PK))
            .item(SK, s(CURSOR_SK))
            .item("entity", s("tick_cursor"))
            .item("dial", s(cursor.dial.clone().unwrap_or_default()))
            .item("watch", s(cursor.watch.clone().unwrap_or_default()))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}
