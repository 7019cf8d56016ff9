//! Hostile files through the real entry points. Spreadsheets (issue 14 item 10) that abort a
//! process reading them with calamine in-process. `/campaigns/preview` answers 422
//! `corrupt_file` and keeps serving; the ingest function records a failed import naming the
//! problem. Spreadsheets are read by the sheet worker (`contacts_parser::worker`), registered
//! here as the hosts' `main` registers itself. Needs the local stack.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use common::*;
use shared::adapters::s3::Blobs;
use shared::adapters::scheduler::Wakeups;
use shared::domain::{CampaignState, ImportState};
use shared::http::auth::issue_local_token;
use shared::http::{AppState, Auth, router};
use shared::ports::SystemClock;
use shared::service::campaigns::Deps;
use shared::service::import::{IngestResult, ingest_object};

const SECRET: &[u8] = b"hostile-test-secret";
const HUGE_DIMENSIONS_XLS: &[u8] = include_bytes!("../fixtures/hostile/huge-dimensions.xls");
const FAR_APART_CELLS_XLSX: &[u8] = include_bytes!("../fixtures/hostile/far-apart-cells.xlsx");
const HOSTILE: [(&str, &[u8]); 2] = [
    ("list.xls", HUGE_DIMENSIONS_XLS),
    ("list.xlsx", FAR_APART_CELLS_XLSX),
];

fn isolate() {
    contacts_parser::worker::isolate_with(
        PathBuf::from(env!("CARGO_BIN_EXE_it-sheet-worker")),
        Duration::from_secs(60),
    );
}

async fn blobs() -> Blobs {
    let blobs = Blobs::new(shared::config::s3_client(&sdk().await), unique("b"));
    blobs.ensure_bucket().await.expect("bucket on the emulator");
    blobs
}

async fn preview(app: &axum::Router, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let boundary = "----hostile-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let token = issue_local_token(SECRET, "alice", Duration::from_secs(600)).expect("token");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/campaigns/preview")
        .header("authorization", format!("Bearer {token}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("response");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn preview_answers_422_corrupt_file_and_keeps_serving() {
    isolate();
    let sdk = sdk().await;
    let deps = Deps {
        repo: fresh_repo().await,
        blobs: blobs().await,
        wakeups: Wakeups::new(
            aws_sdk_scheduler::Client::new(&sdk),
            "default",
            "arn:x",
            "arn:y",
        ),
        clock: Arc::new(SystemClock),
    };
    let app = router(AppState::new(deps, Auth::local(SECRET)));
    for (name, bytes) in HOSTILE {
        let (status, v) = preview(&app, name, bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
        assert_eq!(v["error"]["code"], "corrupt_file", "{name}: {v}");
        assert_eq!(v["error"]["field"], "file", "{name}: {v}");
    }
    let (status, v) = preview(&app, "ok.csv", b"phone\n+12025550123\n").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["report"]["imported"], 1);
}

#[tokio::test]
async fn ingest_records_a_failed_import_and_lives() {
    isolate();
    let repo = fresh_repo().await;
    let blobs = blobs().await;
    let limits = contacts_parser::Limits::default();
    for (name, bytes) in HOSTILE {
        let c = running_campaign(
            &repo,
            settings(daytime_zone()),
            "phone\n+12025550100\n",
            CampaignState::Draft,
        )
        .await;
        let key = format!("uploads/tester/{}/{name}", c.id);
        blobs
            .put_bytes(&key, "application/octet-stream", Bytes::from_static(bytes))
            .await
            .expect("put");
        let out = ingest_object(&repo, &blobs, &key, &limits, chrono::Utc::now())
            .await
            .expect("ingest");
        let IngestResult::Rejected(reason) = out else {
            panic!("{name}: {out:?}")
        };
        assert!(reason.contains("crashed"), "{name}: {reason}");
        let after = repo
            .get_campaign(&c.id)
            .await
            .expect("get")
            .expect("campaign");
        assert_eq!(after.import_state, ImportState::Failed, "{name}");
    }
}

/// A 50,000-column row imported whole before (issue 14 item 9): its contact item would be far
/// over DynamoDB's 400 KB limit, the write failed and the import was retried into the
/// dead-letter queue. Now the file is rejected with an error that names the cap.
#[tokio::test]
async fn ingest_names_the_cap_for_a_50000_column_row() {
    let repo = fresh_repo().await;
    let blobs = blobs().await;
    let c = running_campaign(
        &repo,
        settings(daytime_zone()),
        "phone\n+12025550100\n",
        CampaignState::Draft,
    )
    .await;
    let mut csv = String::from("phone");
    csv.push_str(&",x".repeat(50_000));
    csv.push_str("\n2025550123");
    csv.push_str(&",v".repeat(50_000));
    csv.push('\n');
    let key = format!("uploads/tester/{}/wide.csv", c.id);
    blobs
        .put_bytes(&key, "text/csv", Bytes::from(csv))
        .await
        .expect("put");
    let limits = contacts_parser::Limits::default();
    let out = ingest_object(&repo, &blobs, &key, &limits, chrono::Utc::now())
        .await
        .expect("ingest");
    let IngestResult::Rejected(reason) = out else {
        panic!("{out:?}")
    };
    assert!(reason.contains("limit of 100"), "{reason}");
    let after = repo
        .get_campaign(&c.id)
        .await
        .expect("get")
        .expect("campaign");
    assert_eq!(after.import_state, ImportState::Failed);
    assert_eq!(after.import_error.as_deref(), Some(reason.as_str()));
}
