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
    let report = dialer.tick().await?;
    info!(active = report.active, dial_messages = report.dial_messages, errors = report.errors, "tick");
    Ok(json!({ "active": report.active, "dial_messages": report.dial_messages, "errors": report.errors }))
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
        match dialer.dial_next(&msg.campaign_id).await {
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
