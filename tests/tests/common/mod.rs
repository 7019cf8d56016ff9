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

use chrono::{DateTime, Timelike, Utc};
use shared::domain::{AgentSnapshot, Campaign, CampaignState, ImportState, SettingsInput};

/// Zones a test can call into, each with numbers whose own prefix lies in that zone alone and
/// in no state with stricter rules: the recipient window holds in every zone the contact may be
/// in (the number's and the timezone column's), so tests dial whatever the hour of the run.
const DAYTIME: [(&str, &str); 6] = [
    ("America/New_York", "+1202555"),
    ("America/Los_Angeles", "+1213555"),
    ("Pacific/Honolulu", "+1808555"),
    ("Pacific/Guam", "+1671555"),
    ("Europe/London", "+44207946"),
    ("UTC", "+1202555"),
];

fn daytime() -> (&'static str, &'static str) {
    let now = Utc::now();
    DAYTIME
        .into_iter()
        .find(|(z, _)| {
            let tz: chrono_tz::Tz = z.parse().expect("known zone");
            (9..=18).contains(&now.with_timezone(&tz).hour())
        })
        .unwrap_or(DAYTIME[0])
}

/// A timezone where it is daytime now (local 09:00-18:59), so a test's contacts are inside
/// their 08:00-21:00 window whenever the test runs.
pub fn daytime_zone() -> &'static str {
    daytime().0
}

/// `n` distinct valid numbers (n <= 2000) in the daytime zone (`daytime_zone`): +1 202 555 1xxx
/// style in the US zones; in London +44 20 7946 0xxx, then +44 113 496 0xxx (Ofcom's drama ranges).
pub fn numbers(n: usize) -> Vec<String> {
    let prefix = daytime().1;
    if prefix.starts_with("+44") {
        (0..n).map(|i| if i < 1000 { format!("{prefix}{i:04}") } else { format!("+44113496{:04}", i - 1000) }).collect()
    } else {
        (0..n).map(|i| format!("{prefix}{:04}", 1000 + i)).collect()
    }
}

/// A CSV with phone, name and timezone columns.
pub fn csv(numbers: &[String], tz: &str) -> String {
    let mut s = String::from("phone,name,timezone\n");
    for (i, p) in numbers.iter().enumerate() {
        s.push_str(&format!("{p},Contact {i},{tz}\n"));
    }
    s
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
    let now = Utc::now();
    let settings = input.validate(now, false).expect("valid settings");
    let id = uuid::Uuid::new_v4().simple().to_string();
    let agent = AgentSnapshot { id: "agent-1".into(), name: "Sales Bot".into(), prompt_text: "Hello".into() };
    let c = Campaign::new_draft(&id, owner, settings, agent, ImportState::AwaitingUpload, now);
    repo.put_new_campaign(&c).await.expect("put campaign");
    let parsed = contacts_parser::parse_file(
        csv.as_bytes(),
        "list.csv",
        &contacts_parser::ParseOptions::default(),
    )
    .expect("parse");
    shared::service::import::import_parsed(repo, &id, &parsed, now)
        .await
        .expect("import");
    if state != CampaignState::Draft {
        repo.transition(None, &id, &[CampaignState::Draft], state, now, None)
            .await
            .expect("set state");
    }
    repo.get_campaign(&id).await.expect("read").expect("exists")
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
