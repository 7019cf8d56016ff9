//! The ingest function against the local emulator: an object put in S3, the handler invoked
//! with the S3 event it produces, contacts read back from DynamoDB.

mod common;

use bytes::Bytes;
use common::*;
use lambda_runtime::{Context, LambdaEvent};
use shared::adapters::dynamodb::Repo;
use shared::adapters::metrics::{Fault, FaultInjector, RequestCounter, instrumented_dynamodb};
use shared::adapters::s3::Blobs;
use shared::domain::{CampaignState, ImportState};
use shared::wiring::IngestDeps;

async fn deps(counter: Option<RequestCounter>, faults: Option<FaultInjector>) -> IngestDeps {
    let sdk = sdk().await;
    let ddb = instrumented_dynamodb(&sdk, counter, faults);
    let table = unique("t");
    shared::adapters::dynamodb::schema::ensure_table(&ddb, &table).await.unwrap();
    let blobs = Blobs::new(shared::config::s3_client(&sdk), unique("b"));
    blobs.ensure_bucket().await.unwrap();
    IngestDeps { repo: Repo::new(ddb, table), blobs, limits: contacts_parser::Limits::default(), timing: Default::default() }
}

fn s3_event(bucket: &str, key: &str) -> LambdaEvent<aws_lambda_events::s3::S3Event> {
    let v = serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T00:00:00.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:EXAMPLE" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": "1", "x-amz-id-2": "2" },
        "s3": { "s3SchemaVersion": "1.0", "configurationId": "ingest",
                "bucket": { "name": bucket, "arn": format!("arn:aws:s3:::{bucket}"), "ownerIdentity": { "principalId": "EXAMPLE" } },
                "object": { "key": key.replace(' ', "+"), "size": 1, "eTag": "e", "sequencer": "0" } }
    }]});
    LambdaEvent::new(serde_json::from_value(v).unwrap(), Context::default())
}

async fn draft(repo: &Repo) -> shared::domain::Campaign {
    let tz = daytime_zone();
    // running_campaign imports an empty header-only file first; the test's upload replaces it.
    running_campaign(repo, settings(tz), "phone\n+12025550100\n", CampaignState::Draft).await
}

#[tokio::test]
async fn upload_imports_contacts_and_redelivery_changes_nothing() {
    let d = deps(None, None).await;
    let c = draft(&d.repo).await;
    let mut body = String::from("Phone,Name,Company\n");
    for (i, n) in numbers(60).iter().enumerate() {
        body.push_str(&format!("{n},Person {i},Acme\n"));
    }
    body.push_str("not a phone,Bad Row,X\n");
    body.push_str(&format!("{},Dup,Y\n", numbers(1)[0]));
    let key = format!("uploads/tester/{}/my list.csv", c.id);
    d.blobs.put_bytes(&key, "text/csv", Bytes::from(body)).await.unwrap();
    let out = ingest::handle(&d, s3_event(d.blobs.bucket(), &key)).await.unwrap();
    assert_eq!(out, vec!["imported 60".to_string()]);
    let after = d.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(after.import_state, ImportState::Imported);
    assert_eq!(after.counters.total, 60, "the earlier import was replaced");
    assert_eq!(after.counters, d.repo.recount(&c.id).await.unwrap());
    let report = after.import_report.unwrap();
    assert_eq!(report["invalid"], 1);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["errors"][0]["row"], 62, "row numbers as a spreadsheet shows them");
    let contacts = d.repo.all_contacts(&c.id).await.unwrap();
    let first = contacts.iter().find(|x| x.phone == numbers(1)[0]).unwrap();
    assert_eq!(first.name.as_deref(), Some("Person 0"), "first occurrence wins");
    assert_eq!(first.metadata.get("company").map(String::as_str), Some("Acme"));

    // The same event again, twice at once: same contacts, same counts.
    let (a, b) = tokio::join!(ingest::handle(&d, s3_event(d.blobs.bucket(), &key)), ingest::handle(&d, s3_event(d.blobs.bucket(), &key)));
    a.unwrap();
    b.unwrap();
    let again = d.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(again.counters.total, 60);
    assert_eq!(again.counters, d.repo.recount(&c.id).await.unwrap());
    assert_eq!(d.repo.all_contacts(&c.id).await.unwrap().len(), 60);
}

#[tokio::test]
async fn foreign_owner_and_bad_files_write_nothing_and_say_why() {
    let d = deps(None, None).await;
    let c = draft(&d.repo).await;
    let before = d.repo.all_contacts(&c.id).await.unwrap().len();
    let foreign = format!("uploads/mallory/{}/x.csv", c.id);
    d.blobs.put_bytes(&foreign, "text/csv", Bytes::from(format!("phone\n{}\n", numbers(5).join("\n")))).await.unwrap();
    let out = ingest::handle(&d, s3_event(d.blobs.bucket(), &foreign)).await.unwrap();
    assert!(out[0].starts_with("refused"), "{out:?}");
    assert_eq!(d.repo.all_contacts(&c.id).await.unwrap().len(), before);

    let bad = format!("uploads/tester/{}/bad.csv", c.id);
    d.blobs.put_bytes(&bad, "text/csv", Bytes::from("name,email\nAda,a@x\n")).await.unwrap();
    let out = ingest::handle(&d, s3_event(d.blobs.bucket(), &bad)).await.unwrap();
    assert!(out[0].starts_with("rejected"), "{out:?}");
    let after = d.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(after.import_state, ImportState::Failed);
    let reason = after.import_error.unwrap();
    assert!(reason.contains("name") && reason.contains("email"), "the error names the headers it saw: {reason}");

    let unknown = "uploads/tester/no-such-campaign/x.csv";
    d.blobs.put_bytes(unknown, "text/csv", Bytes::from("phone\n+12025550100\n")).await.unwrap();
    let out = ingest::handle(&d, s3_event(d.blobs.bucket(), unknown)).await.unwrap();
    assert!(out[0].starts_with("refused"), "{out:?}");
}

/// moto never returns UnprocessedItems: the injector makes every BatchWriteItem keep only 7
/// of its items for a while, and the retry loop still stores every contact. Also counts the
/// write requests per 1,000 contacts.
#[tokio::test]
async fn unprocessed_items_are_retried_until_every_contact_is_stored() {
    let faults = FaultInjector::default();
    let counter = RequestCounter::default();
    let d = deps(Some(counter.clone()), Some(faults.clone())).await;
    let c = draft(&d.repo).await;
    let nums = numbers(1000);
    let key = format!("uploads/tester/{}/big.csv", c.id);
    d.blobs.put_bytes(&key, "text/csv", Bytes::from(format!("phone\n{}\n", nums.join("\n")))).await.unwrap();
    faults.add("BatchWriteItem", Fault::Unprocessed { keep: 7 }, 30);
    counter.reset();
    let out = ingest::handle(&d, s3_event(d.blobs.bucket(), &key)).await.unwrap();
    assert_eq!(out, vec!["imported 1000".to_string()]);
    assert_eq!(faults.injected(), 30);
    assert_eq!(d.repo.all_contacts(&c.id).await.unwrap().len(), 1000, "no contact lost");
    let after = d.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(after.counters, d.repo.recount(&c.id).await.unwrap());
    let batches = counter.snapshot().get("BatchWriteItem").copied().unwrap_or(0);
    // 40 first-round batches and the deletion of the earlier import's contact, plus at most
    // one retry per injected partial answer (a retry of 7 items or fewer leaves nothing over).
    assert!(batches > 41 && batches <= 71, "BatchWriteItem requests: {batches}");
    eprintln!("requests for 1000 contacts with 30 partial batches: {:?}", counter.snapshot());
}

/// DynamoDB throttles a writer that asks more than a partition or the table takes; dynoxide
/// never does. The injector answers every BatchWriteItem beyond 2 at the emulator at once with
/// a ThrottlingException (a capacity, as requests in flight), and the writer, starting at 4,
/// must come down, probe upwards again, and store every contact exactly once.
#[tokio::test]
async fn throttled_writes_lower_the_concurrency_and_every_contact_is_stored_once() {
    let faults = FaultInjector::default();
    let counter = RequestCounter::default();
    let d = deps(Some(counter.clone()), Some(faults.clone())).await;
    let c = draft(&d.repo).await;
    let nums = numbers(2000);
    let key = format!("uploads/tester/{}/big.csv", c.id);
    d.blobs.put_bytes(&key, "text/csv", Bytes::from(format!("phone\n{}\n", nums.join("\n")))).await.expect("emulator");
    let before = d.repo.write_concurrency();
    faults.limit_in_flight("BatchWriteItem", 2);
    counter.reset();
    let out = ingest::handle(&d, s3_event(d.blobs.bucket(), &key)).await.expect("emulator");
    faults.clear();
    assert_eq!(out, vec!["imported 2000".to_string()]);

    // Every contact once, in file order, nothing lost, counters true.
    let contacts = d.repo.all_contacts(&c.id).await.expect("emulator");
    assert_eq!(contacts.len(), 2000, "no contact lost");
    let mut phones: Vec<&str> = contacts.iter().map(|x| x.phone.as_str()).collect();
    phones.sort_unstable();
    phones.dedup();
    let mut want: Vec<&str> = nums.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(phones, want, "exactly the file's numbers");
    let mut seqs: Vec<u64> = Vec::new();
    for n in &nums {
        seqs.push(d.repo.get_contact(&c.id, n).await.expect("read").expect("exists").seq);
    }
    assert_eq!(seqs, (0..2000).collect::<Vec<u64>>(), "each contact stored once, at its place in the file");
    let after = d.repo.get_campaign(&c.id).await.expect("read").expect("exists");
    assert_eq!(after.counters.total, 2000);
    assert_eq!(after.counters, d.repo.recount(&c.id).await.expect("emulator"));

    // The writer came down under the throttles and went up again, and saw every one of them.
    let s = d.repo.write_concurrency();
    eprintln!("write concurrency: before {before:?}");
    eprintln!("after: limit {} peak {} lowest {} decreases {} increases {} throttles {} successes {}; injected {}; requests {:?}",
        s.limit, s.peak, s.lowest, s.decreases, s.increases, s.throttles, s.successes, faults.injected(), counter.snapshot());
    assert!(faults.injected() > 0, "the capacity throttled");
    assert!(s.decreases > before.decreases, "a throttle cut the concurrency: {s:?}");
    assert!(s.lowest <= 2, "the concurrency came down to the capacity: {s:?}");
    assert!(s.fell_then_recovered(), "after the cut it probed upwards again: {:?}", s.history);
    assert_eq!(s.throttles - before.throttles, faults.injected(), "every throttle reached the controller");
    // Each throttled request was sent once more, nothing else: 80 batches of the file, 1 to
    // delete the earlier import's contact, one resend per throttle.
    let batches = counter.snapshot().get("BatchWriteItem").copied().unwrap_or(0);
    assert_eq!(batches, 81 + faults.injected(), "BatchWriteItem requests");
}

/// The import's do-not-call lookup: a short list is read whole (one Query) instead of one
/// BatchGetItem per 100 numbers of the file; a list longer than the lookups would cost is
/// looked up number by number. Same answer either way.
#[tokio::test]
async fn do_not_call_lookup_reads_a_short_list_whole_and_looks_a_long_one_up() {
    let counter = RequestCounter::default();
    let d = deps(Some(counter.clone()), None).await;
    let now = chrono::Utc::now();
    let file: Vec<String> = (0..1000).map(|i| format!("+1213555{:04}", 1000 + i)).collect();
    let phones: Vec<&str> = file.iter().map(String::as_str).collect();
    let short = vec![file[10].clone(), file[999].clone(), "+12135559999".to_string()];
    d.repo.dnc_add_many("short-list", &short, now).await.expect("emulator");
    counter.reset();
    let listed = d.repo.dnc_listed("short-list", &phones).await.expect("emulator");
    assert_eq!(listed, [file[10].clone(), file[999].clone()].into_iter().collect());
    let ops = counter.snapshot();
    assert_eq!((ops.get("Query"), ops.get("BatchGetItem")), (Some(&1), None), "one Query instead of 10 lookups: {ops:?}");

    // 15,000 numbers are more than one 1 MB page: for a file of 5 numbers (one lookup) the
    // list is not read whole.
    let long: Vec<String> = (0..15_000).map(|i| format!("+1312555{:04}", i % 10_000) + &"0".repeat(i / 10_000)).collect();
    d.repo.dnc_add_many("long-list", &long, now).await.expect("emulator");
    let few = [long[7].as_str(), "+12025550100", "+12025550101", "+12025550102", long[14_999].as_str()];
    counter.reset();
    let listed = d.repo.dnc_listed("long-list", &few).await.expect("emulator");
    assert_eq!(listed, [long[7].clone(), long[14_999].clone()].into_iter().collect());
    let ops = counter.snapshot();
    assert_eq!((ops.get("Query"), ops.get("BatchGetItem")), (Some(&1), Some(&1)), "one page tried, then one lookup: {ops:?}");
    assert!(d.repo.dnc_listed("nobody", &[]).await.expect("emulator").is_empty());
}
