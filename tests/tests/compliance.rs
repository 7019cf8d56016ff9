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
    let tz = common::daytime_zone();
    let c = common::running_campaign(&deps.repo, common::settings(tz), &common::csv(&numbers, tz), CampaignState::Draft).await;
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
    assert_eq!(z[0].zone, tz);
    assert_eq!(z[0].sources.len(), 2, "number and timezone column: {z:?}");
}

// ---- through the dialer and the Twilio simulator

use shared::domain::settings::SettingsInput;
use shared::service::dial::DialOutcome;

fn dialed(local: &campaigns::local::Local) -> Vec<String> {
    common::dialing::sim_record(local).calls.iter().map(|c| c.to.clone()).collect()
}

#[tokio::test]
async fn a_number_added_to_the_list_mid_campaign_is_never_dialed() {
    let local = common::dialing::local(false, |_| {}).await;
    let tz = common::daytime_zone();
    let nums = common::numbers(3);
    let input = SettingsInput { max_concurrent_calls: Some(3), ..common::dialing::quick(tz) };
    let c = common::running_campaign(&local.repo, input, &common::csv(&nums, tz), CampaignState::Running).await;
    assert_eq!(c.counters.skipped, 0, "not on the list at import");
    // The number joins the list while the campaign runs; the work index still proposes it.
    local.repo.dnc_add(&c.owner, &nums[1], shared::adapters::dynamodb::dnc::DncSource::OptOut, chrono::Utc::now(), Some(&c.id)).await.expect("add");
    for _ in 0..4 {
        local.dialer.dial_next(&c.id).await.expect("dial");
    }
    let calls = dialed(&local);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(!calls.contains(&nums[1]), "a listed number was dialed: {calls:?}");
    let listed = local.repo.get_contact(&c.id, &nums[1]).await.expect("read").expect("contact");
    assert_eq!(listed.state, ContactState::Skipped);
    assert_eq!(listed.attempts, 0);
    assert!(listed.failure_reason.as_deref().is_some_and(|r| r.contains("do-not-call")));
    common::dialing::assert_counters_match_recount(&local, &c.id).await;
}

#[tokio::test]
async fn a_multi_zone_number_waits_until_every_zone_is_in_its_window() {
    // Alaska (907) is Anchorage and Adak, an hour apart; the file has no timezone column, so the
    // zones come from the number alone (the path real files take).
    let clock = shared::ports::ManualClock::new(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 14, 17, 30, 0).unwrap());
    let c2 = clock.clone();
    let local = common::dialing::local(false, move |o| o.clock = Arc::new(c2)).await;
    let c = common::running_campaign(&local.repo, common::dialing::quick("America/New_York"), "phone\n+19075551000\n", CampaignState::Running).await;
    // 08:30 in Anchorage, 07:30 in Adak: not dialed, deferred to 08:00 Adak = 18:00 UTC.
    let out = local.dialer.dial_next(&c.id).await.expect("dial");
    assert_eq!(out, DialOutcome::NothingDue);
    assert!(dialed(&local).is_empty());
    let ct = local.repo.get_contact(&c.id, "+19075551000").await.expect("read").expect("contact");
    assert_eq!((ct.state, ct.attempts), (ContactState::Pending, 0));
    assert_eq!(ct.next_attempt_ms, chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 14, 18, 0, 0).unwrap().timestamp_millis());
    clock.set(chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 14, 18, 0, 0).unwrap());
    let out = local.dialer.dial_next(&c.id).await.expect("dial");
    assert!(matches!(out, DialOutcome::Dialed { .. }), "{out:?}");
    // The attempt records why: both zones from the number, their local times, each rule.
    let attempt = local.repo.get_attempt(&c.id, "+19075551000", 1).await.expect("read").expect("attempt");
    let audit = attempt.audit.expect("audit on the attempt");
    let zones: Vec<&str> = audit["zones"].as_array().expect("zones").iter().filter_map(|z| z["zone"].as_str()).collect();
    assert_eq!(zones, vec!["America/Adak", "America/Anchorage"]);
    assert_eq!(audit["zones"][0]["sources"], json!(["number"]));
    assert_eq!(audit["zones"][0]["local_time"], "2026-01-14T08:00:00-10:00");
    assert_eq!(audit["checked_at"], "2026-01-14T18:00:00Z");
    let rules: Vec<&str> = audit["rules"].as_array().expect("rules").iter().filter_map(|r| r["rule"].as_str()).collect();
    for r in ["blocked_dates", "business_hours", "recipient_window", "frequency_cap", "do_not_call"] {
        assert!(rules.contains(&r), "{r} missing from {rules:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn caps_hold_across_two_campaigns_dialing_at_once() {
    let local = common::dialing::local(false, |_| {}).await;
    let tz = common::daytime_zone();
    let nums = common::numbers(1);
    let capped = SettingsInput {
        frequency_cap: Some(shared::domain::compliance::policy::FrequencyCapInput { per_24h: Some(1), per_7_days: None }),
        ..common::dialing::quick(tz)
    };
    // Two campaigns of the same owner share the number; both dial at the same moment.
    let a = common::running_campaign(&local.repo, capped.clone(), &common::csv(&nums, tz), CampaignState::Running).await;
    let b = common::running_campaign(&local.repo, capped, &common::csv(&nums, tz), CampaignState::Running).await;
    let (ra, rb) = tokio::join!(local.dialer.dial_next(&a.id), local.dialer.dial_next(&b.id));
    let outs = [ra.expect("dial a"), rb.expect("dial b")];
    let placed = outs.iter().filter(|o| matches!(o, DialOutcome::Dialed { .. })).count();
    assert_eq!(placed, 1, "{outs:?}");
    assert_eq!(dialed(&local).len(), 1);
    // The other contact waits, uncharged, until 24 hours after the call.
    let mut waiting = 0;
    for id in [&a.id, &b.id] {
        let ct = local.repo.get_contact(id, &nums[0]).await.expect("read").expect("contact");
        if ct.state == ContactState::Pending {
            assert_eq!(ct.attempts, 0);
            assert!(ct.next_attempt_ms > chrono::Utc::now().timestamp_millis() + 23 * 3_600_000, "deferred by the cap");
            waiting += 1;
        }
    }
    assert_eq!(waiting, 1);
}

#[tokio::test]
async fn a_blocked_date_dials_nobody_and_the_next_allowed_day_wakes_the_dialer() {
    use chrono::TimeZone;
    use shared::adapters::metrics::{RequestCounter, instrumented_dynamodb};
    let at = |d: u32, h: u32, m: u32| chrono::Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap();
    // 20:00 on Christmas Eve in London, where the contacts are (inside their 08:00-21:00), and
    // already 09:00 on Christmas Day in Auckland, the campaign's zone, where the 25th is blocked.
    let clock = shared::ports::ManualClock::new(at(24, 20, 0));
    let counter = RequestCounter::default();
    let ddb = instrumented_dynamodb(&common::sdk().await, Some(counter.clone()), None);
    let c2 = clock.clone();
    let local = common::dialing::local(false, move |o| {
        o.clock = Arc::new(c2);
        o.dynamodb = Some(ddb);
    })
    .await;
    let input = SettingsInput {
        blocked_dates: Some(vec!["2026-12-25".into()]),
        max_concurrent_calls: Some(2),
        ..common::dialing::quick("Pacific/Auckland")
    };
    let nums: Vec<String> = (0..2).map(|i| format!("+44207946{i:04}")).collect();
    let c = common::running_campaign(&local.repo, input, &common::csv(&nums, "Europe/London"), CampaignState::Running).await;
    common::dialing::drain_dial_queue(&local).await;
    // The 26th starts at 00:00 NZDT (UTC+13) = 11:00 UTC on the 25th.
    let next_day = at(25, 11, 0);

    // A dial message on the blocked day: closed until the next allowed day, no call, no
    // contact touched (no deferral written, nothing charged), nothing queued.
    assert_eq!(local.dialer.dial_next(&c.id).await.expect("dial"), DialOutcome::Closed(next_day));
    for p in &nums {
        let ct = local.repo.get_contact(&c.id, p).await.expect("read").expect("contact");
        assert_eq!((ct.state, ct.attempts, ct.claim), (ContactState::Pending, 0, 0), "{p}");
    }
    // Ticks through the blocked day: no dial message, and each costs the active index and the
    // campaign item only (the contacts are not read while the day is blocked).
    let mut ticks = 0;
    for t in [at(24, 20, 1), at(24, 23, 0), at(25, 3, 0), at(25, 7, 0), at(25, 10, 59)] {
        clock.set(t);
        counter.reset();
        let report = local.dialer.tick().await.expect("tick");
        ticks += 1;
        assert_eq!((report.active, report.dial_messages), (1, 0), "at {t}");
        let ops = counter.snapshot();
        assert_eq!(ops.get("GetItem").copied().unwrap_or(0), 1, "at {t}: {ops:?}");
        assert!(ops.get("Query").copied().unwrap_or(0) <= 4, "at {t}: only the active index's 4 shards: {ops:?}");
        assert_eq!(counter.total(), ops.get("GetItem").copied().unwrap_or(0) + ops.get("Query").copied().unwrap_or(0), "at {t}: {ops:?}");
    }
    assert_eq!(common::dialing::drain_dial_queue(&local).await, 0, "{ticks} ticks on the blocked day sent dial messages");
    assert!(dialed(&local).is_empty(), "a call on a blocked date: {:?}", dialed(&local));

    // The first tick of the next allowed day sends one dial message, and the dial places calls.
    clock.set(next_day);
    let report = local.dialer.tick().await.expect("tick");
    assert_eq!(report.dial_messages, 1);
    assert_eq!(common::dialing::drain_dial_queue(&local).await, 1);
    let out = local.dialer.dial_next(&c.id).await.expect("dial");
    assert!(matches!(out, DialOutcome::Dialed { .. }), "{out:?}");
    let calls = dialed(&local);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let attempt = local.repo.get_attempt(&c.id, &calls[0], 1).await.expect("read").expect("attempt");
    let audit = attempt.audit.expect("audit");
    let blocked = audit["rules"].as_array().expect("rules").iter().find(|r| r["rule"] == "blocked_dates").cloned().expect("blocked_dates checked");
    assert_eq!(blocked["verdict"], "allowed", "{blocked}");
    assert_eq!(audit["checked_at"], "2026-12-25T11:00:00Z");
}

async fn get_json(local: &campaigns::local::Local, path: &str) -> Value {
    let r = reqwest::Client::new().get(format!("{}{path}", local.base_url)).bearer_auth(local.token("tester")).send().await.expect("GET");
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attempts_route_and_the_export_say_why_each_call_was_placed() {
    let local = common::dialing::local(true, |_| {}).await;
    common::dialing::sim_script(&local, twilio_sim::Script { default: twilio_sim::Plan::One(common::dialing::ok(3)), ..Default::default() });
    let tz = common::daytime_zone();
    let nums = common::numbers(1);
    // Two campaigns of the same owner call the same number one after the other: the second
    // call's audit counts the first one against the cap.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let c = common::running_campaign(&local.repo, common::dialing::quick(tz), &common::csv(&nums, tz), CampaignState::Running).await;
        common::dialing::wait_state(&local, &c.id, CampaignState::Completed, 30).await;
        ids.push(c.id);
    }
    assert_eq!(dialed(&local).len(), 2);
    for (i, id) in ids.iter().enumerate() {
        let page = get_json(&local, &format!("/campaigns/{id}/attempts?phone=%2B{}", &nums[0][1..])).await;
        let a = &page["attempts"][0];
        assert_eq!(a["outcome"], "completed", "{a}");
        let audit = &a["audit"];
        let checked = chrono::DateTime::parse_from_rfc3339(audit["checked_at"].as_str().expect("checked_at")).expect("instant");
        let started = chrono::DateTime::parse_from_rfc3339(a["started_at"].as_str().expect("started_at")).expect("instant");
        assert_eq!(checked.timestamp_millis(), started.timestamp_millis(), "the instant the dialer used is the attempt's start");
        let zone = audit["zones"].as_array().expect("zones").iter().find(|z| z["zone"] == tz).unwrap_or_else(|| panic!("{tz} in {audit}"));
        assert_eq!(zone["sources"], json!(["number", "timezone_column"]), "{zone}");
        let local_time = chrono::DateTime::parse_from_rfc3339(zone["local_time"].as_str().expect("local_time")).expect("local time");
        assert_eq!(local_time.timestamp(), checked.timestamp(), "the recipient's local time is the same instant (to the second)");
        let rules = audit["rules"].as_array().expect("rules");
        for r in ["blocked_dates", "business_hours", "recipient_window", "frequency_cap", "do_not_call"] {
            let check = rules.iter().find(|x| x["rule"] == r).unwrap_or_else(|| panic!("{r} in {audit}"));
            assert_eq!(check["verdict"], "allowed", "{check}");
        }
        let cap = rules.iter().find(|x| x["rule"] == "frequency_cap").expect("cap");
        assert_eq!(cap["calls"], json!({"in_24h": i, "max_24h": 3, "in_7_days": i}), "{cap}");

        let r = reqwest::Client::new().get(format!("{}/campaigns/{id}/export.csv", local.base_url)).bearer_auth(local.token("tester")).send().await.expect("export");
        let body = r.text().await.expect("csv");
        let mut rows = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = rows.headers().expect("header").iter().map(str::to_string).collect();
        let col = header.iter().position(|h| h == "audit").expect("an audit column");
        let rec = rows.records().next().expect("a row").expect("row");
        let line = &rec[col];
        assert!(line.starts_with(&format!("at {}", checked.with_timezone(&chrono::Utc).format("%Y-%m-%dT%H:%M:%SZ"))), "{line}");
        assert!(line.contains(&format!("{tz} ")), "{line}");
        assert!(line.contains(&format!("frequency_cap allowed {i}/3 per 24h")), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cap_count_in_the_audit_is_the_count_at_the_claim() {
    let local = common::dialing::local(false, |_| {}).await;
    let tz = common::daytime_zone();
    let nums = common::numbers(1);
    // Two campaigns dial the same number at the same moment under a cap of 3: both calls are
    // allowed, and the audits count 0 and 1 calls before them, never 0 twice.
    {
        let a = common::running_campaign(&local.repo, common::dialing::quick(tz), &common::csv(&nums, tz), CampaignState::Running).await;
        let b = common::running_campaign(&local.repo, common::dialing::quick(tz), &common::csv(&nums, tz), CampaignState::Running).await;
        let (ra, rb) = tokio::join!(local.dialer.dial_next(&a.id), local.dialer.dial_next(&b.id));
        for r in [&ra, &rb] {
            assert!(matches!(r, Ok(DialOutcome::Dialed { .. })), "{r:?}");
        }
        let mut counts = Vec::new();
        for id in [&a.id, &b.id] {
            let attempt = local.repo.get_attempt(id, &nums[0], 1).await.expect("read").expect("attempt");
            let audit = attempt.audit.expect("audit");
            let cap = audit["rules"].as_array().expect("rules").iter().find(|r| r["rule"] == "frequency_cap").cloned().expect("cap");
            counts.push(cap["calls"]["in_24h"].as_u64().expect("a count"));
        }
        counts.sort_unstable();
        assert_eq!(counts, vec![0, 1], "each audit counts the calls placed before it");
    }
}
