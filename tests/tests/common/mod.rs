//! Helpers every integration test binary shares: the emulator's clients and names unique to
//! each test, so tests run in parallel without seeing each other's data.
#![allow(dead_code)]

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
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("t");
    schema::ensure_table(&client, &table).await.expect("create table on the local emulator (is the stack up? make stack-up)");
    Repo::new(client, table)
}
