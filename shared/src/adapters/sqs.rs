//! The dial queue: one message per "dial this campaign now (or after a delay)".
//!
//! SQS `DelaySeconds` (0..=900) gives pacing to about a second. Delivery is at least once:
//! a message delivered twice only leads to a second `dial_next`, whose conditional claim
//! refuses what the first one took.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use serde::{Deserialize, Serialize};

/// The body of a dial message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialMessage {
    pub campaign_id: String,
    /// The turn (epoch ms) this message holds in the account's call-rate queue, when a dial
    /// was refused for the rate and queued for its turn (`Dialer::dial_message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
#[error("sqs: {0}")]
pub struct QueueError(pub String);

/// SQS's ceiling on DelaySeconds.
pub const MAX_DELAY_SECONDS: u32 = 900;

#[derive(Clone, Debug)]
pub struct DialQueue {
    client: Client,
    url: String,
}

impl DialQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self { client, url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Ask for a dial of `campaign_id` after `delay_seconds` (capped at 15 minutes; a longer
    /// wait is the tick's job).
    pub async fn send(&self, campaign_id: &str, delay_seconds: u32) -> Result<(), QueueError> {
        self.send_message(&DialMessage { campaign_id: campaign_id.to_string(), turn: None }, delay_seconds).await
    }

    /// Send `msg` after `delay_seconds` (capped at 15 minutes).
    pub async fn send_message(&self, msg: &DialMessage, delay_seconds: u32) -> Result<(), QueueError> {
        let body = serde_json::to_string(msg).map_err(|e| QueueError(e.to_string()))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(delay_seconds.min(MAX_DELAY_SECONDS) as i32)
            .send()
            .await
            .map_err(|e| QueueError(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }

    /// One message per campaign, ten per SendMessageBatch (the tick's fan-out).
    pub async fn send_many(&self, campaign_ids: &[String]) -> Result<(), QueueError> {
        for chunk in campaign_ids.chunks(10) {
            let mut req = self.client.send_message_batch().queue_url(&self.url);
            for (i, id) in chunk.iter().enumerate() {
                let body = serde_json::to_string(&DialMessage { campaign_id: id.clone(), turn: None }).map_err(|e| QueueError(e.to_string()))?;
                req = req.entries(
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("m{i}"))
                        .message_body(body)
                        .build()
                        .map_err(|e| QueueError(e.to_string()))?,
                );
            }
            let out = req
                .send()
                .await
                .map_err(|e| QueueError(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()))?;
            if !out.failed().is_empty() {
                return Err(QueueError(format!("{} dial messages were not accepted", out.failed().len())));
            }
        }
        Ok(())
    }

    /// Create the queue if missing (local stack and tests); returns its URL.
    pub async fn ensure(client: &Client, name: &str) -> Result<String, QueueError> {
        let out = client
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| QueueError(aws_smithy_types::error::display::DisplayErrorContext(&e).to_string()))?;
        out.queue_url.ok_or_else(|| QueueError("create_queue returned no url".into()))
    }
}
