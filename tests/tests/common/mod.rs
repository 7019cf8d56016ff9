//! Helpers every integration test binary shares: the emulator's clients and names unique to
//! each test, so tests run in parallel without seeing each other's data.
#![allow(dead_code)]

pub mod dialing;

use shared::adapters::dynamodb::{Repo, schema};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A name no other test (in this run or an earlier one) uses.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}-{n}", &id[..10])
}

pub async fn sdk() -> aws_config::SdkConfig {
    shared::config::local_aws_config(&shared::config::local_endpoint()).await
}

/// A repository over a fresh table of its own.
pub async fn fresh_repo() -> Repo {
    let sdk = sdk().await;
    let client = shared::config::local_dynamodb_client(&sdk);
    let table = unique("t");
    schema::ensure_table(&client, &table)
        .await
        .expect("create table on the local emulator (is the stack up? make stack-up)");
    Repo::new(client, table)
}

use chrono::{DateTime, Utc};
use shared::domain::{Campaign, CampaignState, SettingsInput};

#[allow(unused_imports)] // not every test binary writes a CSV
pub use campaigns::fixtures::csv;

/// A timezone where it is daytime now (local 09:00-18:59), so a test's contacts are inside
/// their 08:00-21:00 window whenever the test runs.
pub fn daytime_zone() -> &'static str {
    campaigns::fixtures::daytime().0
}

/// `n` distinct valid numbers (n <= 2000) in the daytime zone (`daytime_zone`).
pub fn numbers(n: usize) -> Vec<String> {
    campaigns::fixtures::numbers(n)
}

/// A draft campaign stored with its contacts imported from `csv`, then set running.
pub async fn running_campaign(
    repo: &shared::adapters::dynamodb::Repo,
    input: SettingsInput,
    csv: &str,
    state: CampaignState,
) -> Campaign {
    running_campaign_of(repo, "tester", input, csv, state).await
}

/// `running_campaign` for another owner (tenant).
pub async fn running_campaign_of(
    repo: &shared::adapters::dynamodb::Repo,
    owner: &str,
    input: SettingsInput,
    csv: &str,
    state: CampaignState,
) -> Campaign {
    let id = uuid::Uuid::new_v4().simple().to_string();
    campaigns::fixtures::seed_campaign(repo, &id, owner, input, csv, state)
        .await
        .expect("seed the campaign (is the stack up? make stack-up)")
}

pub fn settings(tz: &str) -> SettingsInput {
    SettingsInput {
        agent_id: Some("agent-1".into()),
        timezone: Some(tz.into()),
        ..Default::default()
    }
}

/// Poll until `f` returns Some, or panic after `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

pub fn _unused(_: DateTime<Utc>) {}
