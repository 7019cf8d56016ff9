//! Compliance against the local emulator: the do-not-call list's routes and its opt-out, the
//! import marking listed numbers skipped, and (with the Twilio simulator) what the dialer may
//! and may not dial: the list checked inside the claim, recipient windows in every zone,
//! frequency caps across campaigns, blocked dates, the audit trail of each attempt.
//!
//! Needs the local stack (`make stack-up`); each test makes its own table.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use shared::adapters::s3::Blobs;
use shared::adapters::scheduler::Wakeups;
use shared::domain::{CampaignState, ContactState};
use shared::http::auth::issue_local_token;
use shared::http::optout::{OptOutSecret, sign};
use shared::http::{AppState, Auth, router};
use shared::ports::SystemClock;
use shared::service::campaigns::Deps;

const SECRET: &[u8] = b"test-secret";
const OPTOUT_KEY: &str = "optout-test-key-0123456789";

async fn app() -> (Router, Deps) {
    let sdk = common::sdk().await;
    let repo = common::fresh_repo().await;
    let blobs = Blobs::new(shared::config::s3_client(&sdk), common::unique("b"));
    let wakeups = Wakeups::new(aws_sdk_scheduler::Client::new(&sdk), "default", "arn:aws:lambda:us-east-1:123456789012:function:d", "arn:aws:iam::123456789012:role/s");
    let deps = Deps { repo, blobs, wakeups, clock: Arc::new(SystemClock) };
    let state = AppState::new(deps.clone(), Auth::local(SECRET)).with_optout(OptOutSecret::fixed(OPTOUT_KEY));
    (router(state), deps)
}

async fn send(app: &Router, method: Method, uri: &str, user: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(u) = user {
        let t = issue_local_token(SECRET, u, Duration::from_secs(3600)).expect("token");
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let req = match body {
        Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
        None => b.body(Body::empty()),
    };
    respond(app, req.expect("request")).await
}

async fn respond(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let resp = app.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn dnc_routes_add_lookup_list_remove_per_owner() {
    let (app, _) = app().await;
    // National format with the default region: stored as E.164.
    let (st, v) = send(&app, Method::POST, "/dnc", Some("alice"), Some(json!({"phone": "(202) 555-0143"}))).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["phone"], "+12025550143");
    assert_eq!(v["source"], "api");
    // Adding again is idempotent.
    let (st, _) = send(&app, Method::POST, "/dnc", Some("alice"), Some(json!({"phone": "+12025550143"}))).await;
    assert_eq!(st, StatusCode::OK);
    let (st, v) = send(&app, Method::POST, "/dnc", Some("alice"), Some(json!({"phone": "12"}))).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["error"]["field"], "phone");
    let (st, v) = send(&app, Method::GET, "/dnc/+12025550143", Some("alice"), None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // Another owner's list is another list.
    let (st, _) = send(&app, Method::GET, "/dnc/+12025550143", Some("bob"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    for p in ["+12025550144", "+12025550145"] {
        send(&app, Method::POST, "/dnc", Some("alice"), Some(json!({"phone": p}))).await;
    }
    let (st, page) = send(&app, Method::GET, "/dnc?limit=2", Some("alice"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let cursor = page["next_cursor"].as_str().expect("a second page").to_string();
    let (_, page2) = send(&app, Method::GET, &format!("/dnc?limit=2&cursor={cursor}"), Some("alice"), None).await;
    assert_eq!(page2["items"][0]["phone"], "+12025550145");
    let (st, _) = send(&app, Method::DELETE, "/dnc/+12025550143", Some("alice"), None).await;
    assert_eq!(st, StatusCode::NO_CONTENT);
    let (st, _) = send(&app, Method::DELETE, "/dnc/+12025550143", Some("alice"), None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = send(&app, Method::GET, "/dnc", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn dnc_bulk_upload_uses_the_contact_parser() {
    let (app, _) = app().await;
    let csv = "phone,name\n+12025550101,A\n2025550102,B\nnot a number,C\n+12025550101,A again\n";
    let boundary = "XBOUNDARYX";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"dnc.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let t = issue_local_token(SECRET, "alice", Duration::from_secs(3600)).expect("token");
    let req = Request::builder()
        .method(Method::POST)
        .uri("/dnc/upload")
        .header("authorization", format!("Bearer {t}"))
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .expect("request");
    let (st, v) = respond(&app, req).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["added"], 2);
    assert_eq!(v["report"]["invalid"], 1);
    assert_eq!(v["report"]["duplicates"], 1);
    assert_eq!(v["report"]["errors"][0]["row"], 4);
    let (st, v) = send(&app, Method::GET, "/dnc/+12025550102", Some("alice"), None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["source"], "upload");
}

fn opt_out_request(body: &str, ts: i64, sig: Option<String>) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri("/dnc/opt-out").header("content-type", "application/json").header("x-optout-timestamp", ts.to_string());
    if let Some(s) = sig {
        b = b.header("x-optout-signature", s);
    }
    b.body(Body::from(body.to_string())).expect("request")
}

#[tokio::test]
async fn opt_out_needs_a_valid_signature_and_lists_the_number_for_the_campaigns_owner() {
    let (app, deps) = app().await;
    let c = common::running_campaign(&deps.repo, common::settings("America/New_York"), &common::csv(&common::numbers(2), "America/New_York"), CampaignState::Draft).await;
    let body = json!({"campaign_id": c.id, "phone": "+12025551000"}).to_string();
    let now = chrono::Utc::now().timestamp();
    // No signature, a wrong key, a stale timestamp: refused, nothing listed.
    for (ts, sig) in [
        (now, None),
        (now, Some(sign("another-key-0123456789", now, body.as_bytes()))),
        (now - 3600, Some(sign(OPTOUT_KEY, now - 3600, body.as_bytes()))),
    ] {
        let (st, v) = respond(&app, opt_out_request(&body, ts, sig)).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    }
    assert!(deps.repo.dnc_get(&c.owner, "+12025551000").await.expect("read").is_none());
    let (st, v) = respond(&app, opt_out_request(&body, now, Some(sign(OPTOUT_KEY, now, body.as_bytes())))).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["source"], "opt_out");
    assert_eq!(v["campaign_id"], c.id.as_str());
    let entry = deps.repo.dnc_get(&c.owner, "+12025551000").await.expect("read").expect("listed");
    assert_eq!(entry.campaign_id.as_deref(), Some(c.id.as_str()));
    // A signed request for a campaign that does not exist names nothing.
    let body = json!({"campaign_id": "nope", "phone": "+12025551000"}).to_string();
    let (st, _) = respond(&app, opt_out_request(&body, now, Some(sign(OPTOUT_KEY, now, body.as_bytes())))).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn numbers_on_the_list_at_import_are_skipped_with_the_reason() {
    let (app, deps) = app().await;
    let numbers = common::numbers(4);
    send(&app, Method::POST, "/dnc", Some("tester"), Some(json!({"phone": numbers[1]}))).await;
    send(&app, Method::POST, "/dnc", Some("someone-else"), Some(json!({"phone": numbers[2]}))).await;
    let c = common::running_campaign(&deps.repo, common::settings("America/New_York"), &common::csv(&numbers, "America/New_York"), CampaignState::Draft).await;
    assert_eq!((c.counters.total, c.counters.pending, c.counters.skipped), (4, 3, 1));
    assert_eq!(c.import_report.as_ref().map(|r| r["do_not_call_skipped"].clone()), Some(json!(1)));
    let all = deps.repo.all_contacts(&c.id).await.expect("contacts");
    let skipped: Vec<_> = all.iter().filter(|x| x.state == ContactState::Skipped).collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].phone, numbers[1]);
    assert!(skipped[0].failure_reason.as_deref().is_some_and(|r| r.contains("do-not-call")));
    // The contact records its zones and their sources.
    let z = &all[0].location.zones;
    assert_eq!(z.len(), 1);
    assert_eq!(z[0].zone, "America/New_York");
    assert_eq!(z[0].sources.len(), 2, "number and timezone column: {z:?}");
}
