//! Figures for big files end to end (issue 12 item 4), from a real run against the local stack
//! (not a timed test). A file of N rows (default 1,000,000) is generated now by
//! `parser/benches/gen_csv.py` into a temporary file, streamed into the bucket (it never sits
//! in this process's memory) and deleted; then the ingest function's handler
//! (`ingest::handle`, what the S3-triggered Lambda runs) imports it into a fresh table.
//!
//! Measured: the import's peak resident memory (VmHWM, reset just before the handler runs;
//! the process's own peak is also printed, and `/usr/bin/time -v` on the whole run gives the
//! same figure), the time until every contact is stored and the import committed (and when the
//! phases began: the first do-not-call lookup is the end of read + parse, the first contact
//! write the end of the lookups), DynamoDB requests per 1,000 contacts by operation (SDK
//! interceptor), and what the writer's concurrency controller did. Needs `make stack-up`.
//!
//!     cargo run -p campaigns --example ingest_figures -- [rows] [--fixed N] [--capacity C] [--keep-table]
//!
//! `--fixed N`: the writer at a fixed concurrency N (what it did before it adapted: 4).
//! `--capacity C`: BatchWriteItem requests beyond C at the emulator at once are answered with
//! a ThrottlingException (`FaultInjector::limit_in_flight`), a partition that takes so much.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use lambda_runtime::{Context, LambdaEvent};
use shared::adapters::dynamodb::aimd::AimdConfig;
use shared::adapters::dynamodb::contacts::WRITE_CONCURRENCY;
use shared::adapters::dynamodb::{Repo, schema};
use shared::adapters::metrics::{FaultInjector, RequestCounter, instrumented_dynamodb};
use shared::adapters::s3::Blobs;
use shared::domain::{AgentSnapshot, Campaign, ImportState, SettingsInput};
use shared::wiring::IngestDeps;

/// A field of /proc/self/status in kB.
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// An item's size as DynamoDB counts it (names and values in bytes; a number about one byte
/// per two digits; a map or list 3 bytes and 1 per element), to the nearest few bytes.
fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|x| value_size(x) + 1).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| k.len() + value_size(x) + 1)
                .sum::<usize>()
        }
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        _ => 0,
    }
}

fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Reset the peak resident set (VmHWM) to the current one (Linux >= 4.0).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn s3_event(
    bucket: &str,
    key: &str,
) -> anyhow::Result<LambdaEvent<aws_lambda_events::s3::S3Event>> {
    let v = serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-29T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:EXAMPLE" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": "1", "x-amz-id-2": "2" },
        "s3": { "s3SchemaVersion": "1.0", "configurationId": "ingest",
                "bucket": { "name": bucket, "arn": format!("arn:aws:s3:::{bucket}"), "ownerIdentity": { "principalId": "EXAMPLE" } },
                "object": { "key": key, "size": 1, "eTag": "e", "sequencer": "0" } }
    }]});
    Ok(LambdaEvent::new(
        serde_json::from_value(v)?,
        Context::default(),
    ))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut rows: u64 = 1_000_000;
    let mut writes = WRITE_CONCURRENCY;
    let mut capacity: Option<usize> = None;
    let mut keep_table = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--fixed" => {
                writes = AimdConfig::fixed(args.next().and_then(|v| v.parse().ok()).unwrap_or(4))
            }
            "--capacity" => capacity = args.next().and_then(|v| v.parse().ok()),
            "--keep-table" => keep_table = true,
            other => {
                rows = other
                    .parse()
                    .map_err(|_| anyhow::anyhow!("unknown argument {other}"))?
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let sdk = shared::config::local_aws_config(&shared::config::local_endpoint()).await;
    let counter = RequestCounter::default();
    let faults = FaultInjector::default();
    let ddb = instrumented_dynamodb(&sdk, Some(counter.clone()), Some(faults.clone()));
    let name = format!(
        "ingestfig-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    );
    schema::ensure_table(&ddb, &name).await?;
    let repo = Repo::with_write_concurrency(ddb.clone(), &name, writes);
    let blobs = Blobs::new(shared::config::s3_client(&sdk), &name);
    blobs.ensure_bucket().await?;

    // A draft campaign awaiting its file, as `POST /campaigns` leaves it.
    let now = Utc::now();
    let input = SettingsInput {
        agent_id: Some("a".into()),
        timezone: Some("America/New_York".into()),
        ..Default::default()
    };
    let settings = input
        .validate(now, false)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let agent = AgentSnapshot {
        id: "a".into(),
        name: "Agent".into(),
        prompt_text: "Hello".into(),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    repo.put_new_campaign(&Campaign::new_draft(
        &id,
        "figures",
        settings,
        agent,
        ImportState::AwaitingUpload,
        now,
    ))
    .await?;

    // The file: generated into a temporary file, streamed to the bucket, deleted.
    let path = std::env::temp_dir().join(format!("{name}.csv"));
    let t = Instant::now();
    let status = std::process::Command::new("python3")
        .arg(root.join("parser/benches/gen_csv.py"))
        .arg(rows.to_string())
        .stdout(std::fs::File::create(&path)?)
        .status()?;
    anyhow::ensure!(status.success(), "gen_csv.py failed");
    let file_bytes = std::fs::metadata(&path)?.len();
    let key = format!("uploads/figures/{id}/contacts-{rows}.csv");
    let put = blobs
        .client()
        .put_object()
        .bucket(blobs.bucket())
        .key(&key)
        .content_type("text/csv")
        .body(ByteStream::from_path(&path).await?)
        .send()
        .await;
    std::fs::remove_file(&path)?;
    put?;
    println!(
        "file: {rows} rows, {file_bytes} bytes, generated and uploaded in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let deps = IngestDeps {
        repo: repo.clone(),
        blobs: blobs.clone(),
        limits: contacts_parser::Limits::default(),
        timing: Default::default(),
    };
    if let Some(c) = capacity {
        faults.limit_in_flight("BatchWriteItem", c);
    }
    counter.reset();
    let rss_before = status_kb("VmRSS:");
    let reset = reset_peak();
    // When the phases began, from the request counter (sampled every 20 ms).
    let phases: Arc<Mutex<(Option<Duration>, Option<Duration>)>> = Arc::default();
    let poller = {
        let (counter, phases) = (counter.clone(), phases.clone());
        tokio::spawn(async move {
            let t = Instant::now();
            loop {
                let s = counter.snapshot();
                {
                    let mut p = phases.lock().unwrap_or_else(|p| p.into_inner());
                    if p.0.is_none() && (s.contains_key("BatchGetItem") || s.contains_key("Query"))
                    {
                        p.0 = Some(t.elapsed());
                    }
                    // No earlier import to replace here: the first write is the file's.
                    if p.1.is_none() && s.contains_key("BatchWriteItem") {
                        p.1 = Some(t.elapsed());
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let t = Instant::now();
    let result = ingest::handle(&deps, s3_event(blobs.bucket(), &key)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let took = t.elapsed();
    let peak_kb = status_kb("VmHWM:");
    poller.abort();
    let (lookups, writes_at) = *phases.lock().unwrap_or_else(|p| p.into_inner());
    let stored = repo
        .get_campaign(&id)
        .await?
        .map(|c| c.counters.total)
        .unwrap_or(0);
    let ops = counter.snapshot();
    let w = repo.write_concurrency();

    println!("result: {result:?}; campaign total {stored}");
    println!(
        "peak RSS of the import: {} MB (VmHWM {}reset before it; RSS before {} MB)",
        peak_kb / 1024,
        if reset { "" } else { "NOT " },
        rss_before / 1024
    );
    let secs =
        |d: Option<Duration>| d.map_or("-".to_string(), |d| format!("{:.1}", d.as_secs_f64()));
    println!(
        "time to all stored: {:.1} s (read + parse until {} s, do-not-call lookups until {} s, then the writes); {:.0} contacts/s overall",
        took.as_secs_f64(),
        secs(lookups),
        secs(writes_at),
        stored as f64 / took.as_secs_f64()
    );
    let per_k = |n: u64| n as f64 * 1000.0 / stored.max(1) as f64;
    let by_op: Vec<String> = ops
        .iter()
        .map(|(k, v)| format!("{k} {v} ({:.2} per 1,000)", per_k(*v)))
        .collect();
    println!(
        "DynamoDB requests: {} ({:.2} per 1,000 contacts): {}",
        counter.total(),
        per_k(counter.total()),
        by_op.join(", ")
    );
    println!(
        "writer concurrency ({:?}): now {} peak {} lowest {} decreases {} increases {} throttles {} answers in full {}; injected throttles {}",
        writes,
        w.limit,
        w.peak,
        w.lowest,
        w.decreases,
        w.increases,
        w.throttles,
        w.successes,
        faults.injected()
    );
    println!(
        "process peak RSS (VmHWM now): {} MB",
        status_kb("VmHWM:") / 1024
    );
    // The contact items' size: what a write costs in request units (1 per KB, on the table
    // and again on gsi3, whose projection is ALL).
    let page = ddb
        .query()
        .table_name(&name)
        .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
        .expression_attribute_values(":pk", AttributeValue::S(format!("C#{id}")))
        .expression_attribute_values(":p", AttributeValue::S("P#".into()))
        .limit(100)
        .send()
        .await?;
    let sizes: Vec<usize> = page.items().iter().map(item_size).collect();
    if !sizes.is_empty() {
        let mean = sizes.iter().sum::<usize>() / sizes.len();
        println!(
            "contact item: {mean} bytes on average ({} to {}, {} items): {} write unit(s) on the table + the same on gsi3",
            sizes.iter().min().unwrap_or(&0),
            sizes.iter().max().unwrap_or(&0),
            sizes.len(),
            mean.div_ceil(1024)
        );
    }
    if !keep_table {
        ddb.delete_table().table_name(&name).send().await.ok();
    }
    blobs
        .client()
        .delete_object()
        .bucket(blobs.bucket())
        .key(&key)
        .send()
        .await
        .ok();
    blobs
        .client()
        .delete_bucket()
        .bucket(blobs.bucket())
        .send()
        .await
        .ok();
    Ok(())
}
