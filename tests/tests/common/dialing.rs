//! Helpers of the dialing tests: a local system with its own table, queue, bucket and
//! simulator; scripts; waiting for states; the recount check; signed webhook requests.

use std::time::Duration;

use campaigns::local::{Local, LocalOptions, start};
use shared::domain::settings::{PacingInput, RetryPolicyInput};
use shared::domain::{CampaignState, SettingsInput};
use twilio_sim::{Behaviour, Script, SimOutcome};

use super::*;

pub async fn local(background: bool, tweak: impl FnOnce(&mut LocalOptions)) -> Local {
    let mut opts = LocalOptions {
        table: unique("t"),
        bucket: unique("b"),
        queue: unique("q"),
        schedule_group: "default".into(),
        port: 0,
        tick: Duration::from_millis(300),
        watch: Duration::from_millis(200),
        sim_time_scale: 0.002,
        background,
        ..LocalOptions::default()
    };
    tweak(&mut opts);
    start(opts).await.expect("local system")
}

pub fn quick(tz: &str) -> SettingsInput {
    SettingsInput {
        pacing: Some(PacingInput {
            delay_seconds: Some(0),
        }),
        retry_policy: Some(RetryPolicyInput {
            max_retries: Some(2),
            // 0.0002 h = 0.72 s: retries come quickly in a test.
            backoff_hours: Some(vec![0.0002]),
            retryable_outcomes: None,
        }),
        ..settings(tz)
    }
}

pub fn sim_script(local: &Local, script: Script) {
    local.sim.as_ref().expect("simulator").set_script(script);
}

pub fn sim_record(local: &Local) -> twilio_sim::Record {
    local.sim.as_ref().expect("simulator").record()
}

pub fn ok(duration: u32) -> Behaviour {
    Behaviour {
        outcome: SimOutcome::Completed,
        duration: Some(duration),
        ring: Some(1.0),
        ..Default::default()
    }
}

pub fn outcome(o: SimOutcome) -> Behaviour {
    Behaviour {
        outcome: o,
        ring: Some(1.0),
        ..Default::default()
    }
}

pub async fn wait_state(local: &Local, id: &str, state: CampaignState, secs: u64) {
    eventually(secs, &format!("campaign {state:?}"), || async {
        let c = local.repo.get_campaign(id).await.ok()??;
        (c.state == state).then_some(())
    })
    .await;
}

pub async fn assert_counters_match_recount(local: &Local, id: &str) {
    // A contact's change and the campaign's counters move in one transaction, but reading the
    // campaign and recounting its contacts are two reads: a callback landing between them makes
    // them differ for a moment. Compare only a recount taken while the counters stood still
    // (the same before and after it): then no transaction of this campaign committed meanwhile.
    for _ in 0..100 {
        let before = local
            .repo
            .get_campaign(id)
            .await
            .expect("read the campaign")
            .expect("the campaign exists")
            .counters;
        let recount = local.repo.recount(id).await.expect("recount its contacts");
        let after = local
            .repo
            .get_campaign(id)
            .await
            .expect("read the campaign")
            .expect("the campaign exists")
            .counters;
        if before == after {
            assert_eq!(
                after, recount,
                "campaign counters must equal a recount of its contacts (invariant 7)"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the counters of campaign {id} never stood still for a recount in 10 s");
}

/// POST a status callback to the local webhook, signed with the simulator's token over the
/// exact URL, as Twilio would. Returns the HTTP status.
pub async fn post_callback(local: &Local, query: &str, form: &[(&str, &str)]) -> u16 {
    let url = format!("{}/twilio/status?{query}", local.base_url);
    let params: Vec<(String, String)> = form
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let token = local.sim.as_ref().expect("simulator").auth_token.clone();
    let sig = shared::twilio::signature::sign(&token, &url, &params);
    reqwest::Client::new()
        .post(&url)
        .header(shared::twilio::signature::HEADER, sig)
        .form(&params)
        .send()
        .await
        .expect("webhook reachable")
        .status()
        .as_u16()
}

/// A number attribute of the campaign item, read straight from the table.
pub async fn campaign_number(local: &Local, id: &str, name: &str) -> u64 {
    let out = local
        .repo
        .client()
        .get_item()
        .table_name(local.repo.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("C#{id}")),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("META".into()),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("get campaign item");
    out.item()
        .and_then(|i| i.get(name))
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Messages waiting on the dial queue (received and deleted: a count of what the tick sent).
pub async fn drain_dial_queue(local: &Local) -> usize {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let mut n = 0;
    loop {
        let out = sqs
            .receive_message()
            .queue_url(local.queue.url())
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .send()
            .await
            .expect("receive");
        let msgs = out.messages.unwrap_or_default();
        if msgs.is_empty() {
            return n;
        }
        n += msgs.len();
        for m in msgs {
            if let Some(h) = m.receipt_handle {
                sqs.delete_message()
                    .queue_url(local.queue.url())
                    .receipt_handle(h)
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
}
