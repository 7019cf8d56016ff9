//! Uploads racing each other (issue 14 item 8): a new object put to the same key while an
//! import of the old one runs must win. Truly concurrent: both imports run as tasks against
//! the emulator (S3 + DynamoDB); the old one is slowed by injected UnprocessedItems so the
//! new upload lands while it writes. Needs the local stack.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use common::*;
use shared::adapters::dynamodb::{Repo, keys};
use shared::adapters::metrics::{Fault, FaultInjector, instrumented_dynamodb};
use shared::adapters::s3::Blobs;
use shared::domain::{CampaignState, ImportState};
use shared::service::import::{ImportTiming, IngestResult, ingest_object, ingest_object_with};

struct Env {
    repo: Repo,
    blobs: Blobs,
    faults: FaultInjector,
}

async fn env() -> Env {
    let sdk = sdk().await;
    let faults = FaultInjector::default();
    let ddb = instrumented_dynamodb(&sdk, None, Some(faults.clone()));
    let table = unique("t");
    shared::adapters::dynamodb::schema::ensure_table(&ddb, &table)
        .await
        .expect("table");
    let blobs = Blobs::new(shared::config::s3_client(&sdk), unique("b"));
    blobs.ensure_bucket().await.expect("bucket");
    Env {
        repo: Repo::new(ddb, table),
        blobs,
        faults,
    }
}

fn list(phones: &[String]) -> Bytes {
    Bytes::from(format!("phone\n{}\n", phones.join("\n")))
}

/// The campaign's raw import_etag (set once an import has read its object).
async fn import_etag(repo: &Repo, id: &str) -> Option<String> {
    let out = repo
        .client()
        .get_item()
        .table_name(repo.table())
        .key(keys::PK, AttributeValue::S(keys::campaign_pk(id)))
        .key(keys::SK, AttributeValue::S(keys::META.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    out.item?.get("import_etag")?.as_s().ok().cloned()
}

#[tokio::test]
async fn a_reupload_during_an_import_wins_and_the_old_import_stops() {
    let e = env().await;
    let c = running_campaign(
        &e.repo,
        settings(daytime_zone()),
        "phone\n+12025550100\n",
        CampaignState::Draft,
    )
    .await;
    let key = format!("uploads/tester/{}/list.csv", c.id);
    let all = numbers(2600);
    let (old, new) = (&all[..2500], &all[2500..]);
    e.blobs
        .put_bytes(&key, "text/csv", list(old))
        .await
        .expect("put v1");
    // The old import is slow: its first batch comes back unprocessed six times (~3 s of backoff).
    e.faults
        .add("BatchWriteItem", Fault::Unprocessed { keep: 0 }, 6);
    let limits = contacts_parser::Limits::default();
    let first = {
        let (repo, blobs, key, limits) =
            (e.repo.clone(), e.blobs.clone(), key.clone(), limits.clone());
        tokio::spawn(async move {
            ingest_object(&repo, &blobs, &key, &limits, chrono::Utc::now()).await
        })
    };
    // Once the old import has read its object, the user uploads again; its event runs at
    // once, while the old import still writes.
    eventually(20, "the first import read its object", || async {
        import_etag(&e.repo, &c.id).await
    })
    .await;
    e.blobs
        .put_bytes(&key, "text/csv", list(new))
        .await
        .expect("put v2");
    let second = {
        let (repo, blobs, key, limits) =
            (e.repo.clone(), e.blobs.clone(), key.clone(), limits.clone());
        tokio::spawn(async move {
            ingest_object(&repo, &blobs, &key, &limits, chrono::Utc::now()).await
        })
    };
    let (first, second) = tokio::join!(first, second);
    let first = first.expect("task").expect("first import");
    let second = second.expect("task").expect("second import");
    assert_eq!(first, IngestResult::Superseded, "the old import stops");
    let IngestResult::Imported(o) = second else {
        panic!("the new upload is imported: {second:?}")
    };
    assert_eq!(o.imported, 100);
    let after = e
        .repo
        .get_campaign(&c.id)
        .await
        .expect("get")
        .expect("campaign");
    assert_eq!(after.import_state, ImportState::Imported);
    assert_eq!(after.counters.total, 100);
    assert_eq!(
        after.counters,
        e.repo.recount(&c.id).await.expect("recount")
    );
    let mut phones: Vec<String> = e
        .repo
        .all_contacts(&c.id)
        .await
        .expect("contacts")
        .into_iter()
        .map(|x| x.phone)
        .collect();
    phones.sort();
    assert_eq!(
        phones,
        new.to_vec(),
        "exactly the new list, nothing of the old one"
    );
}

#[tokio::test]
async fn a_redelivery_during_an_import_is_dropped_and_the_import_finishes() {
    let e = env().await;
    let c = running_campaign(
        &e.repo,
        settings(daytime_zone()),
        "phone\n+12025550100\n",
        CampaignState::Draft,
    )
    .await;
    let key = format!("uploads/tester/{}/list.csv", c.id);
    let phones = numbers(1500);
    e.blobs
        .put_bytes(&key, "text/csv", list(&phones))
        .await
        .expect("put");
    e.faults
        .add("BatchWriteItem", Fault::Unprocessed { keep: 0 }, 6);
    let limits = contacts_parser::Limits::default();
    let first = {
        let (repo, blobs, key, limits) =
            (e.repo.clone(), e.blobs.clone(), key.clone(), limits.clone());
        tokio::spawn(async move {
            ingest_object(&repo, &blobs, &key, &limits, chrono::Utc::now()).await
        })
    };
    eventually(20, "the first import read its object", || async {
        import_etag(&e.repo, &c.id).await
    })
    .await;
    let again = ingest_object(&e.repo, &e.blobs, &key, &limits, chrono::Utc::now())
        .await
        .expect("redelivery");
    assert_eq!(again, IngestResult::AlreadyImporting);
    let first = first.await.expect("task").expect("import");
    assert!(
        matches!(first, IngestResult::Imported(o) if o.imported == 1500),
        "{first:?}"
    );
    let after = e
        .repo
        .get_campaign(&c.id)
        .await
        .expect("get")
        .expect("campaign");
    assert_eq!(after.counters.total, 1500);
}

/// The campaign's raw `import_rows` checkpoint (contacts of the object stored, in file order).
async fn import_rows(repo: &Repo, id: &str) -> Option<u64> {
    let out = repo
        .client()
        .get_item()
        .table_name(repo.table())
        .key(keys::PK, AttributeValue::S(keys::campaign_pk(id)))
        .key(keys::SK, AttributeValue::S(keys::META.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get");
    out.item?.get("import_rows")?.as_n().ok()?.parse().ok()
}

/// A heartbeat short enough for a test: dead after 1.5 s without a beat.
fn quick_timing() -> ImportTiming {
    ImportTiming {
        beat_every: std::time::Duration::from_millis(200),
        stale_after: std::time::Duration::from_millis(1500),
    }
}

/// The stuck import (issue 12): the ingest function timed out in the middle of a file. Its
/// lease used to hold for 16 minutes and Lambda's retry of the same object was dropped as a
/// redelivery, so the campaign stayed `importing` for good. Now the retry waits for the dead
/// import's beat to go stale, takes the lease over and starts after the contacts already
/// stored; every contact ends stored once and the counters match them.
#[tokio::test]
async fn an_import_cut_off_mid_file_is_taken_over_by_the_retry_and_resumed() {
    let e = env().await;
    let c = running_campaign(
        &e.repo,
        settings(daytime_zone()),
        "phone\n+12025550100\n",
        CampaignState::Draft,
    )
    .await;
    let key = format!("uploads/tester/{}/list.csv", c.id);
    let phones = numbers(3500);
    e.blobs
        .put_bytes(&key, "text/csv", list(&phones))
        .await
        .expect("put");
    let limits = contacts_parser::Limits::default();
    let timing = quick_timing();
    let first = {
        let (repo, blobs, key, limits) =
            (e.repo.clone(), e.blobs.clone(), key.clone(), limits.clone());
        tokio::spawn(async move {
            ingest_object_with(&repo, &blobs, &key, &limits, &timing, chrono::Utc::now()).await
        })
    };
    // Once the first chunk is checkpointed, every write is throttled: the import hangs in its
    // backoff, and is then killed, as the Lambda runtime kills a function at its timeout.
    let stored = eventually(30, "the first chunk checkpointed", || async {
        import_rows(&e.repo, &c.id).await.filter(|&r| r >= 1000)
    })
    .await;
    e.faults.limit_in_flight("BatchWriteItem", 0);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    first.abort();
    assert!(first.await.is_err_and(|e| e.is_cancelled()), "the first import was killed");
    e.faults.clear();
    let checkpoint = import_rows(&e.repo, &c.id).await.expect("checkpoint");
    assert!(checkpoint >= stored && checkpoint < 3500, "killed mid-file at {checkpoint}");
    let mid = e.repo.get_campaign(&c.id).await.expect("get").expect("campaign");
    assert_eq!(mid.import_state, ImportState::Importing, "the dead import still holds the lease");

    // Lambda's retry of the same event, at once: the dead import's beat is still fresh.
    let retried = ingest_object_with(
        &e.repo,
        &e.blobs,
        &key,
        &limits,
        &timing,
        chrono::Utc::now(),
    )
    .await
    .expect("retry");
    let IngestResult::Imported(o) = retried else {
        panic!("the retry must take the dead import over, not drop as a redelivery: {retried:?}");
    };
    assert_eq!(o.imported, 3500);
    // Resumed: the retry wrote only what was left (25 contacts a request), and deleted nothing.
    let left = (3500 - checkpoint).div_ceil(25);
    assert!(
        o.write_requests <= left + 2,
        "resumed at {checkpoint}: {} requests for {left} of writes",
        o.write_requests
    );
    let after = e.repo.get_campaign(&c.id).await.expect("get").expect("campaign");
    assert_eq!(after.import_state, ImportState::Imported);
    assert_eq!(after.counters.total, 3500);
    assert_eq!(after.counters, e.repo.recount(&c.id).await.expect("recount"));
    let contacts = e.repo.all_contacts(&c.id).await.expect("contacts");
    let mut seen: Vec<&str> = contacts.iter().map(|c| c.phone.as_str()).collect();
    seen.sort_unstable();
    let mut want: Vec<&str> = phones.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(seen, want, "every contact of the file, once");
}

/// The other side of the heartbeat: an import that is slow but alive keeps its lease. A
/// delivery of the same object waits longer than the stale limit, sees the beat go on, and
/// drops as a redelivery; the slow import finishes and is the one that commits.
#[tokio::test]
async fn a_slow_live_import_keeps_its_lease_and_a_redelivery_is_dropped() {
    let e = env().await;
    let c = running_campaign(
        &e.repo,
        settings(daytime_zone()),
        "phone\n+12025550100\n",
        CampaignState::Draft,
    )
    .await;
    let key = format!("uploads/tester/{}/list.csv", c.id);
    let phones = numbers(2000);
    e.blobs
        .put_bytes(&key, "text/csv", list(&phones))
        .await
        .expect("put");
    let limits = contacts_parser::Limits::default();
    let timing = quick_timing();
    let first = {
        let (repo, blobs, key, limits) =
            (e.repo.clone(), e.blobs.clone(), key.clone(), limits.clone());
        tokio::spawn(async move {
            ingest_object_with(&repo, &blobs, &key, &limits, &timing, chrono::Utc::now()).await
        })
    };
    eventually(30, "the first chunk checkpointed", || async {
        import_rows(&e.repo, &c.id).await.filter(|&r| r >= 1000)
    })
    .await;
    // The second chunk stalls for longer than the stale limit (no checkpoint meanwhile).
    e.faults.limit_in_flight("BatchWriteItem", 0);
    let again = ingest_object_with(
        &e.repo,
        &e.blobs,
        &key,
        &limits,
        &timing,
        chrono::Utc::now(),
    )
    .await
    .expect("redelivery");
    assert_eq!(again, IngestResult::AlreadyImporting);
    e.faults.clear();
    let first = first.await.expect("task").expect("the live import finishes");
    assert!(
        matches!(first, IngestResult::Imported(o) if o.imported == 2000),
        "{first:?}"
    );
    let after = e.repo.get_campaign(&c.id).await.expect("get").expect("campaign");
    assert_eq!(after.counters.total, 2000);
    assert_eq!(after.counters, e.repo.recount(&c.id).await.expect("recount"));
}
