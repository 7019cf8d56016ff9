//! The dialer function's handler. One entry for its three triggers:
//! - the EventBridge Scheduler tick (`{"kind": "tick"}` or any payload without the fields below),
//! - one-time `at()` wake-ups (`{"campaign_id": "..."}`),
//! - SQS dial messages (`{"Records": [...]}`), answered with `batchItemFailures`.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};
use shared::adapters::sqs::DialMessage;
use shared::domain::masking::mask_phones_in;
use shared::service::dial::Dialer;
use tracing::{info, warn};

pub async fn handle(dialer: &Dialer, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let payload = event.payload;
    if payload.get("Records").is_some() {
        let sqs: SqsEvent = serde_json::from_value(payload)?;
        let resp = handle_sqs(dialer, sqs).await;
        return Ok(serde_json::to_value(resp)?);
    }
    if let Some(id) = payload.get("campaign_id").and_then(Value::as_str) {
        let id = id.to_string();
        let dial = dialer.wake(&id).await?;
        let outcome = match dial {
            Some(id) => mask_phones_in(&format!("{:?}", dialer.dial_next(&id).await?)),
            None => "nothing to dial".to_string(),
        };
        info!(campaign_id = %id, %outcome, "wake-up handled");
        return Ok(json!({ "campaign_id": id, "outcome": outcome }));
    }
    let budget = tick_budget(dialer.config.tick_budget, event.context.deadline, chrono::Utc::now().timestamp_millis());
    let report = dialer.tick_within(budget).await?;
    info!(
        active = report.active,
        dial_messages = report.dial_messages,
        errors = report.errors,
        left = report.left,
        watched = report.watched,
        watch_left = report.watch_left,
        "tick"
    );
    Ok(json!({
        "active": report.active,
        "dial_messages": report.dial_messages,
        "errors": report.errors,
        "left": report.left,
        "watched": report.watched,
        "watch_left": report.watch_left,
    }))
}

/// Time left for the tick's work: the configured budget, or less when the invocation's
/// deadline (epoch ms, from the Lambda context) comes sooner, keeping a margin for the cursor
/// write and the answer.
pub fn tick_budget(configured: std::time::Duration, deadline_ms: u64, now_ms: i64) -> std::time::Duration {
    const MARGIN_MS: i64 = 3_000;
    if deadline_ms == 0 {
        return configured;
    }
    let left = (deadline_ms as i64).saturating_sub(now_ms).saturating_sub(MARGIN_MS).max(0);
    configured.min(std::time::Duration::from_millis(left as u64))
}

#[cfg(test)]
mod tests {
    use super::tick_budget;
    use std::time::Duration;

    #[test]
    fn the_budget_ends_before_the_invocation_does() {
        let twenty = Duration::from_secs(20);
        assert_eq!(tick_budget(twenty, 0, 1_000), twenty, "no deadline known: the setting");
        assert_eq!(tick_budget(twenty, 31_000, 1_000), twenty, "30 s left: the setting");
        assert_eq!(tick_budget(twenty, 11_000, 1_000), Duration::from_secs(7), "10 s left: 3 s margin");
        assert_eq!(tick_budget(twenty, 2_000, 1_000), Duration::ZERO, "past the margin: nothing");
    }
}

/// Each message dials one campaign. A message that fails for an infrastructure reason is
/// reported so SQS redelivers it (and, after maxReceiveCount, dead-letters it); a malformed
/// one is logged and dropped, since redelivery cannot fix it.
pub async fn handle_sqs(dialer: &Dialer, event: SqsEvent) -> SqsBatchResponse {
    let mut resp = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let Some(msg) = record.body.as_deref().and_then(|b| serde_json::from_str::<DialMessage>(b).ok()) else {
            warn!(message_id = %id, "malformed dial message dropped");
            continue;
        };
        match dialer.dial_message(&msg).await {
            Ok(outcome) => info!(campaign_id = %msg.campaign_id, outcome = %mask_phones_in(&format!("{outcome:?}")), "dial"),
            Err(e) => {
                warn!(campaign_id = %msg.campaign_id, error = %e, "dial failed; message will be retried");
                let mut failure = aws_lambda_events::sqs::BatchItemFailure::default();
                failure.item_identifier = id;
                resp.batch_item_failures.push(failure);
            }
        }
    }
    resp
}
