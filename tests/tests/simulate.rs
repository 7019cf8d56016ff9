//! The dry run through the API (`POST /campaigns/{id}/simulate`) against the local stack: the
//! campaign's contacts and the owner's do-not-call list read, the dialer's rules applied at a
//! chosen start, and nothing written.

mod common;

use std::sync::Arc;
use std::time::Duration;

use campaigns::local::{Local, LocalOptions, start};
use chrono::{TimeZone, Utc};
use common::*;
use serde_json::{Value, json};
use shared::adapters::metrics::{RequestCounter, instrumented_dynamodb};
use shared::domain::{CampaignState, ContactState};
use shared::ports::ManualClock;

async fn local_with(counter: RequestCounter) -> Local {
    let sdk = sdk().await;
    start(LocalOptions {
        table: unique("t"),
        bucket: unique("b"),
        queue: unique("q"),
        schedule_group: "default".into(),
        port: 0,
        background: false,
        clock: Arc::new(ManualClock::new(Utc.with_ymd_and_hms(2026, 1, 14, 10, 0, 0).unwrap())),
        dynamodb: Some(instrumented_dynamodb(&sdk, Some(counter), None)),
        ..LocalOptions::default()
    })
    .await
    .expect("local system")
}

async fn simulate(local: &Local, user: &str, id: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/campaigns/{id}/simulate", local.base_url))
        .bearer_auth(local.token(user))
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("POST simulate");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

const WRITES: [&str; 6] = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem", "CreateTable"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dry_run_answers_who_when_and_why_and_writes_nothing() {
    let counter = RequestCounter::default();
    let local = local_with(counter.clone()).await;
    let ny = "America/New_York";
    // New York, Los Angeles, a number on the owner's list, and Alaska (two zones).
    let csv = "phone,name\n+12025550101,Ann\n+12135550102,Bob\n+12025550103,Cy\n+19075550104,Di\n";
    let c = running_campaign(&local.repo, settings(ny), csv, CampaignState::Draft).await;
    local.repo.dnc_add("tester", "+12025550103", shared::adapters::dynamodb::dnc::DncSource::Api, Utc::now(), None).await.expect("list");
    let before = local.repo.all_contacts(&c.id).await.expect("contacts");

    counter.reset();
    // 05:00 in New York: every contact waits for its own 08:00.
    let (st, v) = simulate(&local, "tester", &c.id, json!({"answer_rate": 1, "call_seconds": 120})).await;
    assert_eq!(st, 200, "{v}");
    let ops = counter.snapshot();
    for w in WRITES {
        assert_eq!(ops.get(w).copied().unwrap_or(0), 0, "the dry run wrote ({w}): {ops:?}");
    }
    assert_eq!(v["assumptions"]["start"], "2026-01-14T10:00:00Z", "the API's clock: {v}");
    let s = &v["summary"];
    assert_eq!((s["contacts"].as_u64(), s["calls"].as_u64(), s["skipped"].as_u64()), (Some(4), Some(3), Some(1)), "{s}");
    assert_eq!(s["skip_reasons"][0]["reason"], "on the owner's do-not-call list");
    assert_eq!(s["waited"], json!([{"rule": "recipient_window", "contacts": 3}]));
    let contacts = v["contacts"].as_array().expect("contacts");
    let first_call = |i: usize| contacts[i]["calls"][0].clone();
    assert_eq!(first_call(0)["at"], "2026-01-14T13:00:00Z");
    assert_eq!(first_call(0)["local"], json!([{"zone": ny, "local_time": "2026-01-14T08:00:00-05:00"}]));
    assert_eq!(first_call(1)["at"], "2026-01-14T16:00:00Z");
    assert_eq!(first_call(1)["local"][0]["local_time"], "2026-01-14T08:00:00-08:00");
    assert_eq!(contacts[2]["result"], "skipped");
    // 08:00 in Adak is 18:00 UTC; the Anchorage zone is already open.
    assert_eq!(first_call(3)["at"], "2026-01-14T18:00:00Z");
    assert_eq!(first_call(3)["local"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["completes_at"], "2026-01-14T18:02:00Z");
    assert_eq!(v["calls_per_day"], json!([{"date": "2026-01-14", "calls": 3}]));

    // Nothing moved.
    let after = local.repo.all_contacts(&c.id).await.expect("contacts");
    assert_eq!(after, before);
    assert!(after.iter().all(|x| x.state == ContactState::Pending));
    assert_eq!(local.repo.get_campaign(&c.id).await.expect("read").expect("campaign").state, CampaignState::Draft);

    // A page of the skipped ones; a chosen start; errors name the field; another owner's id is 404.
    let (_, v) = simulate(&local, "tester", &c.id, json!({"filter": "skipped", "start_at": "2026-01-14T20:00:00Z"})).await;
    assert_eq!(v["contacts"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v["contacts"][0]["phone"], "+12025550103");
    assert_eq!(v["summary"]["first_call_at"], "2026-01-14T20:00:00Z", "15:00 in New York: at once");
    let (st, v) = simulate(&local, "tester", &c.id, json!({"answer_rate": 2})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("answer_rate")), "{v}");
    let (st, v) = simulate(&local, "tester", &c.id, json!({"limit": 0})).await;
    assert_eq!((st, v["error"]["field"].as_str()), (422, Some("limit")), "{v}");
    let (st, _) = simulate(&local, "mallory", &c.id, json!({})).await;
    assert_eq!(st, 404);
}
