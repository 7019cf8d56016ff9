//! Figures for the dialing issue, from a real run against the local stack (not a timed test):
//! DynamoDB requests per dial and per webhook (counted by an SDK interceptor), and the pacing
//! error (next call's start minus the previous call's end minus delay_seconds) over a
//! sequential campaign with delay_seconds = 2. Needs `make stack-up`.
//!
//!     cargo run -p campaigns --example dial_figures [contacts]

use std::time::Duration;

use campaigns::fixtures::{csv, daytime, numbers, seed_campaign};
use campaigns::local::{LocalOptions, start};
use shared::adapters::metrics::{RequestCounter, instrumented_dynamodb};
use shared::domain::settings::PacingInput;
use shared::domain::{CampaignState, SettingsInput};

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let counter = RequestCounter::default();
    let sdk = shared::config::local_aws_config(&shared::config::local_endpoint()).await;
    let ddb = instrumented_dynamodb(&sdk, Some(counter.clone()), None);
    let id = uuid::Uuid::new_v4().simple().to_string();
    let local = start(LocalOptions {
        table: format!("figures-{id}"),
        bucket: format!("figures-{id}"),
        queue: format!("figures-{id}"),
        schedule_group: "default".into(),
        port: 0,
        tick: Duration::from_secs(3600),
        sim_time_scale: 0.05,
        dynamodb: Some(ddb),
        background: false,
        ..LocalOptions::default()
    })
    .await?;
    let (zone, _) = daytime();
    let input = SettingsInput {
        agent_id: Some("a".into()),
        timezone: Some(zone.into()),
        pacing: Some(PacingInput { delay_seconds: Some(2) }),
        ..Default::default()
    };
    seed_campaign(&local.repo, &id, "bench", input, &csv(&numbers(n), zone), CampaignState::Running).await?;

    // Requests per dial: one dial_next, counted alone.
    counter.reset();
    let out = local.dialer.dial_next(&id).await?;
    let per_dial = counter.snapshot();
    println!("dial outcome: {out:?}");
    println!("DynamoDB requests for one dial: {} {:?}", per_dial.values().sum::<u64>(), per_dial);
    // Requests per webhook: everything until the call's callbacks are applied.
    counter.reset();
    let sim = local.sim.as_ref().expect("simulator");
    loop {
        let rec = sim.record();
        let cbs: usize = rec.calls.iter().flat_map(|c| c.callbacks.iter()).filter(|cb| cb.delivered).count();
        let done = local.repo.get_campaign(&id).await?.map_or(0, |c| c.counters.completed);
        if done >= 1 {
            let snap = counter.snapshot();
            // The two reads this loop made are not the webhook's.
            let total: u64 = snap.values().sum();
            println!("callbacks delivered for the call: {cbs}; DynamoDB requests while applying them (incl. this loop's reads): {total} {snap:?}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The rest of the campaign, driven by the dial queue as on AWS.
    let consumer = {
        let dialer = local.dialer.clone();
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let url = local.queue.url().to_string();
        tokio::spawn(async move {
            loop {
                let Ok(out) = sqs.receive_message().queue_url(&url).wait_time_seconds(1).max_number_of_messages(10).send().await else { continue };
                for m in out.messages.unwrap_or_default() {
                    if let Some(msg) = m.body().and_then(|b| serde_json::from_str::<shared::adapters::sqs::DialMessage>(b).ok()) {
                        let _ = dialer.dial_next(&msg.campaign_id).await;
                    }
                    if let Some(h) = m.receipt_handle() {
                        let _ = sqs.delete_message().queue_url(&url).receipt_handle(h).send().await;
                    }
                }
            }
        })
    };
    loop {
        let c = local.repo.get_campaign(&id).await?.expect("campaign");
        if c.state == CampaignState::Completed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    consumer.abort();
    let mut calls = sim.record().calls;
    calls.sort_by_key(|c| c.created_at);
    let mut errors: Vec<f64> = calls
        .windows(2)
        .filter_map(|w| Some((w[1].created_at - w[0].ended_at?).num_milliseconds() as f64 / 1000.0 - 2.0))
        .collect();
    errors.sort_by(|a, b| a.total_cmp(b));
    println!(
        "pacing error over {} gaps (delay_seconds 2): p50 {:.3} s, p99 {:.3} s, min {:.3} s, max {:.3} s",
        errors.len(),
        pct(&errors, 0.5),
        pct(&errors, 0.99),
        errors.first().copied().unwrap_or(0.0),
        errors.last().copied().unwrap_or(0.0)
    );
    Ok(())
}
