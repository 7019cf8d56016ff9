//! The results export over HTTP against the local stack: a campaign of 100,000 contacts is
//! above the inline threshold, so the CSV is streamed to the bucket and the API answers 303
//! with a presigned link; the downloaded file has every contact once, the file's own columns
//! in file order (the phone as written) and then the results.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use campaigns::local::{LocalOptions, start};
use common::*;
use shared::domain::CampaignState;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_100k_contacts_is_a_link_to_the_whole_file() {
    let local = start(LocalOptions {
        table: unique("t"),
        bucket: unique("b"),
        queue: unique("q"),
        schedule_group: "default".into(),
        port: 0,
        background: false,
        ..LocalOptions::default()
    })
    .await
    .expect("local system");
    const N: usize = 100_000;
    let mut csv = String::with_capacity(N * 40);
    csv.push_str("ref,Mobile,Name\n");
    for i in 0..N {
        // (202) 2XX-XXXX: valid Washington DC numbers, written the way people write them.
        csv.push_str(&format!("R{i},(202) {:03}-{:04},Contact {i}\n", 200 + i / 10_000, i % 10_000));
    }
    let c = running_campaign(&local.repo, settings("America/New_York"), &csv, CampaignState::Draft).await;
    assert_eq!(c.counters.total, N as u64);

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).timeout(Duration::from_secs(600)).build().expect("client");
    let r = http
        .get(format!("{}/campaigns/{}/export.csv", local.base_url, c.id))
        .bearer_auth(local.token("tester"))
        .send()
        .await
        .expect("export");
    let status = r.status();
    if status != 303 {
        let body = r.text().await.unwrap_or_default();
        panic!("expected 303 with a link, got {status}: {}", body.chars().take(300).collect::<String>());
    }
    let location = r.headers()["location"].to_str().expect("location").to_string();
    let link: serde_json::Value = r.json().await.expect("JSON body");
    assert_eq!(link["url"], location.as_str());
    assert_eq!(link["contacts"], N as u64);

    let body = reqwest::get(&location).await.expect("download").error_for_status().expect("presigned GET").text().await.expect("text");
    let mut rows = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = rows.headers().expect("header").iter().map(str::to_string).collect();
    assert_eq!(header, ["ref", "Mobile", "Name", "phone_e164", "state", "outcome", "attempts", "last_call_at", "duration_seconds", "row", "audit"]);
    let mut seen = HashSet::with_capacity(N);
    for rec in rows.records() {
        let rec = rec.expect("row");
        let i: usize = rec[0].trim_start_matches('R').parse().expect("ref");
        assert_eq!(&rec[1], format!("(202) {:03}-{:04}", 200 + i / 10_000, i % 10_000), "the phone as written");
        assert_eq!(&rec[2], format!("Contact {i}"));
        assert_eq!(&rec[3], format!("+1202{:03}{:04}", 200 + i / 10_000, i % 10_000));
        assert_eq!(&rec[9], (i + 2).to_string(), "the row in the file");
        assert!(seen.insert(i), "contact {i} exported twice");
    }
    assert_eq!(seen.len(), N, "every contact exported once");
}
