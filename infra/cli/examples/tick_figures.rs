//! Figures for the tick at scale (issue 12 item 1), from a real run against the local stack
//! (not a timed test): for each number of active campaigns, the tick's duration (median of
//! `ROUNDS` ticks) and its DynamoDB requests per tick (counted by an SDK interceptor), beside the
//! previous tick's way (one campaign after another, a GetItem each, messages sent at the end),
//! measured in the same run. Every campaign is running with contacts waiting and a free slot
//! (so each gets a dial message), and one in ten has a call in flight (the watchdog's query).
//! Needs `make stack-up`.
//!
//!     cargo run -p campaigns --example tick_figures -- [campaigns...] [--baseline-max N] [--fanout-max N]

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use chrono::Utc;
use futures::StreamExt;
use shared::adapters::dynamodb::keys::{ACTIVE_SHARDS, active_pk};
use shared::adapters::dynamodb::records::CampaignRecord;
use shared::adapters::dynamodb::{Repo, schema};
use shared::adapters::metrics::{RequestCounter, instrumented_dynamodb};
use shared::adapters::sqs::DialQueue;
use shared::domain::{AgentSnapshot, Campaign, CampaignState, ImportState, SettingsInput};
use shared::ports::{SystemClock, Telephony};
use shared::service::dial::{Dialer, DialerConfig};
use shared::twilio::client::TwilioClient;

const ROUNDS: usize = 5;
/// As many SendMessageBatch requests in flight as the tick's dial stage allows.
const SENDS_IN_FLIGHT: usize = 16;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// `n` running campaigns written straight to the table (25 per BatchWriteItem); returns the
/// mean item size in bytes (as DynamoDB JSON).
async fn seed(repo: &Repo, n: usize) -> anyhow::Result<usize> {
    let now = Utc::now();
    let input = SettingsInput {
        agent_id: Some("a".into()),
        timezone: Some("UTC".into()),
        ..Default::default()
    };
    let mut settings = input
        .validate(now, false)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // No business hours, so the window never hides a campaign from the fan-out.
    settings.business_hours.enabled = false;
    let agent = AgentSnapshot {
        id: "a".into(),
        name: "Agent".into(),
        prompt_text: "Hello, this is a short prompt.".into(),
    };
    let mut requests = Vec::with_capacity(n);
    let mut bytes = 0;
    for i in 0..n {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let mut c = Campaign::new_draft(
            &id,
            &format!("owner-{}", i % 50),
            settings.clone(),
            agent.clone(),
            ImportState::Imported,
            now,
        );
        c.state = CampaignState::Running;
        c.counters.total = 100;
        c.counters.pending = 100;
        let mut r = CampaignRecord::new_draft(&c);
        r.gsi2pk = Some(active_pk(&id));
        r.gsi2sk = Some(id.clone());
        if i % 10 == 0 {
            // A call in flight (a slot of 2 still free): the watchdog queries its leases.
            r.max_concurrent = 2;
            r.settings.max_concurrent_calls = 2;
            r.c_calling = 1;
            r.c_pending = 99;
        }
        let item = serde_dynamo::to_item(&r)?;
        bytes += serde_json::to_string(&r)?.len();
        requests.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                .build(),
        );
    }
    repo.write_all(requests).await?;
    Ok(bytes / n.max(1))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut sizes: Vec<usize> = Vec::new();
    let mut baseline_max = 1_000;
    // The fan-out to moto is slow enough (1 to 3 s a batch here) to stall every other user of
    // the emulator: measured up to this many campaigns.
    let mut fanout_max = 1_000;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--fanout-max" {
            fanout_max = args
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(fanout_max);
        } else if a == "--baseline-max" {
            baseline_max = args
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(baseline_max);
        } else if let Ok(n) = a.parse() {
            sizes.push(n);
        }
    }
    if sizes.is_empty() {
        sizes = vec![100, 1_000, 10_000];
    }
    let sdk = shared::config::local_aws_config(&shared::config::local_endpoint()).await;
    let counter = RequestCounter::default();
    let ddb = instrumented_dynamodb(&sdk, Some(counter.clone()), None);
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        ddb.config()
            .to_builder()
            .endpoint_url(shared::config::local_dynamodb_endpoint())
            .build(),
    );
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let sim = twilio_sim::spawn(twilio_sim::SimConfig::default()).await?;
    let telephony: Arc<dyn Telephony> =
        Arc::new(TwilioClient::new(sim.twilio_config("+15005550006"))?);
    println!("active shards: {ACTIVE_SHARDS}; {ROUNDS} ticks per size; figures are medians");
    println!(
        "| campaigns | item bytes | tick without SQS (s) | DynamoDB requests / tick | by operation | dial messages | fan-out to SQS alone (s) | one SendMessageBatch (ms) | sequential tick without SQS (s) | its DynamoDB requests |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for n in sizes {
        let name = format!(
            "tickfig-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        schema::ensure_table(&ddb, &name).await?;
        let repo = Repo::new(ddb.clone(), &name);
        let url = DialQueue::ensure(&sqs, &name).await?;
        let queue = DialQueue::new(sqs.clone(), &url);
        let item_bytes = seed(&repo, n).await?;
        // The tick's own work: DynamoDB, decisions, the watchdog's queries. The emulated SQS
        // (moto, Python) is measured apart below: on this machine one SendMessageBatch takes
        // hundreds of ms, which says nothing about SQS.
        let dialer = Dialer {
            repo: repo.clone(),
            telephony: telephony.clone(),
            clock: Arc::new(SystemClock),
            queue: None,
            config: DialerConfig {
                tick_budget: Duration::from_secs(60),
                ..DialerConfig::default()
            },
        };
        let mut times = Vec::new();
        let mut requests = Vec::new();
        let mut ops = Default::default();
        let mut messages = 0;
        for _ in 0..ROUNDS {
            counter.reset();
            let t = Instant::now();
            let report = dialer.tick().await?;
            times.push(t.elapsed().as_secs_f64());
            requests.push(counter.total() as f64);
            ops = counter.snapshot();
            messages = report.dial_messages;
            if report.left > 0 || report.errors > 0 {
                println!("(a tick did not finish: {report:?})");
            }
        }
        // The fan-out alone: SendMessageBatch of ten, SENDS_IN_FLIGHT at once, as the tick does.
        let ids: Vec<String> = repo
            .active_campaigns()
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let batches: Vec<Vec<String>> = ids.chunks(10).map(<[String]>::to_vec).collect();
        let t = Instant::now();
        let batches: &[Vec<String>] = if n <= fanout_max { &batches } else { &[] };
        let lat: Vec<f64> = futures::stream::iter(batches.iter().map(|b| async {
            let t = Instant::now();
            let _ = queue.send_many(b).await;
            t.elapsed().as_secs_f64() * 1000.0
        }))
        .buffer_unordered(SENDS_IN_FLIGHT)
        .collect()
        .await;
        let send_s = t.elapsed().as_secs_f64();
        let lat = if lat.is_empty() { vec![f64::NAN] } else { lat };
        sqs.purge_queue().queue_url(&url).send().await.ok();
        // The previous tick: campaign after campaign, each read with a GetItem (and its watchdog
        // run inline); its fan-out, also without SQS here.
        let (seq_time, seq_requests) = if n <= baseline_max {
            counter.reset();
            let t = Instant::now();
            let mut fanout = Vec::new();
            for c in repo.active_campaigns().await? {
                if let Some(id) = dialer.wake(&c.id).await? {
                    fanout.push(id);
                }
            }
            (
                format!("{:.2}", t.elapsed().as_secs_f64()),
                counter.total().to_string(),
            )
        } else {
            ("not run".into(), "-".into())
        };
        let ops: Vec<String> = ops.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!(
            "| {n} | {item_bytes} | {:.3} | {:.0} | {} | {messages} | {send_s:.2} | {:.0} | {seq_time} | {seq_requests} |",
            median(times),
            median(requests),
            ops.join(", "),
            median(lat)
        );
        ddb.delete_table().table_name(&name).send().await.ok();
        sqs.delete_queue().queue_url(&url).send().await.ok();
    }
    Ok(())
}
