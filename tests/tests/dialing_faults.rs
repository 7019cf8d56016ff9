//! Dialing when Twilio, DynamoDB or the operator misbehave (issue 14): ambiguous answers,
//! superseded callbacks, calls Twilio forgot, account-level refusals, credential rotation,
//! the pause window. Against the local stack and the simulator, faults scripted in the
//! simulator or injected by wrapping the real port.

mod common;

use std::time::Duration;

use common::dialing::*;
use common::*;
use futures::future::BoxFuture;
use shared::ports::{CallInfo, CreateCall, Telephony, TelephonyError};
use shared::domain::{CampaignState, ContactState, SettingsInput};
use shared::service::dial::DialOutcome;
use twilio_sim::{Behaviour, CallbackMode, Script};

/// Drive a campaign by hand: dial and tick until it completes (or `secs` pass).
async fn drive_until_completed(local: &campaigns::local::Local, id: &str, secs: u64) {
    eventually(secs, "campaign completed", || async {
        let _ = local.dialer.dial_next(id).await;
        local.dialer.tick().await.ok()?;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let c = local.repo.get_campaign(id).await.ok()??;
        (c.state == CampaignState::Completed).then_some(())
    })
    .await;
}

/// Issue 14 item 1: a create answered 500 whose call does exist. The answer proves nothing, so
/// the claim is kept and reconciled: through the call's own callbacks (first number) or, with
/// every callback lost, through the watchdog's look-up at Twilio (second number). Neither
/// number is dialed a second time, and each is charged one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_create_answered_500_whose_call_exists_is_not_dialed_again() {
    let local = local(false, |o| {
        o.busy_backoff = Duration::ZERO;
        o.lease = Duration::from_millis(400);
        o.no_call_grace = Duration::from_millis(400);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(3);
    let five_hundred = |cb| Behaviour { created_but_answer: Some(500), callbacks: cb, ..ok(2) };
    // A second create would be answered normally: only a redial could reach it.
    sim_script(
        &local,
        Script::default()
            .with_sequence(nums[0].clone(), vec![five_hundred(CallbackMode::Normal), ok(2)])
            .with_sequence(nums[1].clone(), vec![five_hundred(CallbackMode::None), ok(2)]),
    );
    let input = SettingsInput { max_concurrent_calls: Some(3), ..quick(tz) };
    let c = running_campaign(&local.repo, input, &csv(&nums, tz), CampaignState::Running).await;
    let first = local.dialer.dial_next(&c.id).await.unwrap();
    drive_until_completed(&local, &c.id, 60).await;
    let record = sim_record(&local);
    for n in &nums {
        assert_eq!(record.calls_to(n).len(), 1, "{n} dialed {} times", record.calls_to(n).len());
        let contact = local.repo.get_contact(&c.id, n).await.unwrap().unwrap();
        assert_eq!(contact.state, ContactState::Completed, "{n}: {contact:?}");
        assert_eq!(contact.attempts, 1, "{n}: one charged attempt");
    }
    assert_eq!(first, DialOutcome::Uncertain, "a 500 on create is uncertain, not 'busy'");
    assert_counters_match_recount(&local, &c.id).await;
}

/// Issue 14 item 1: callbacks act only on the claim they name, and once a CallSid is recorded
/// only with that CallSid. A callback for a released claim, or carrying another call's sid,
/// changes nothing, is answered 204 (Twilio must not retry it) and is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callback_for_a_superseded_claim_changes_nothing() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(200);
        o.no_call_grace = Duration::from_millis(200);
        o.sim_time_scale = 0.05;
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    // A long call: it is still live while the forged callbacks arrive.
    sim_script(&local, Script::default().with(nums[0].clone(), ok(200)));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    // Claim 1 dies before its create; the watchdog gives it back (no call exists).
    let now = shared::adapters::dynamodb::records::to_ms(chrono::Utc::now());
    local
        .repo
        .claim(&shared::adapters::dynamodb::dial::Claim::next(&c, &contact, now, now + 200, now))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    local.dialer.tick().await.unwrap();
    // Claim 2 places the real call.
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    let DialOutcome::Dialed { claim: 2, attempt: 1, call_sid, .. } = out else { panic!("{out:?}") };
    let q1 = shared::service::dial::callback_query(&c.id, &nums[0], 1, 1, 0);
    let q2 = shared::service::dial::callback_query(&c.id, &nums[0], 2, 1, 0);
    let done = |sid: &'static str| [("CallSid", sid), ("CallStatus", "completed"), ("SequenceNumber", "9"), ("CallDuration", "5")];
    // The released claim's "call" ends: nothing may change.
    assert_eq!(post_callback(&local, &q1, &done("CA00000000000000000000000000000001")).await, 204);
    // A terminal callback naming claim 2 but another call: nothing may change either.
    assert_eq!(post_callback(&local, &q2, &done("CA00000000000000000000000000000002")).await, 204);
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Calling, "the live call's claim is untouched");
    let a2 = local.repo.get_attempt(&c.id, &nums[0], 2).await.unwrap().unwrap();
    assert!(!a2.terminal);
    assert_eq!(a2.call_sid.as_deref(), Some(call_sid.as_str()));
    assert_eq!(campaign_number(&local, &c.id, "superseded_callbacks").await, 2, "both were counted");
    assert_eq!(local.repo.get_campaign(&c.id).await.unwrap().unwrap().counters.calling, 1, "the slot is still held");
    // The real call's own terminal callback still ends it.
    let sid: &'static str = Box::leak(call_sid.into_boxed_str());
    assert_eq!(post_callback(&local, &q2, &done(sid)).await, 204);
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Completed);
    assert_counters_match_recount(&local, &c.id).await;
}

/// Issue 14 item 7: a recorded CallSid that Twilio answers 404 for (its record lost) must not
/// hold the lease forever: the attempt ends failed with "outcome unknown", charged, and the
/// retry policy decides what comes next.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recorded_call_twilio_no_longer_knows_ends_its_lease() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(300);
        o.no_call_grace = Duration::from_millis(300);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    sim_script(
        &local,
        Script::default().with(nums[0].clone(), Behaviour { forgotten: true, callbacks: CallbackMode::None, ..ok(2) }),
    );
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(out, DialOutcome::Dialed { .. }), "{out:?}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    local.dialer.tick().await.unwrap();
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_ne!(contact.state, ContactState::Calling, "the lease ended: {contact:?}");
    assert_eq!(contact.state, ContactState::Retrying, "failed is retryable by default");
    assert_eq!(contact.attempts, 1);
    assert!(contact.failure_reason.as_deref().unwrap_or_default().contains("404"), "{:?}", contact.failure_reason);
    let campaign = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(campaign.counters.calling, 0, "the slot was given back");
    assert_counters_match_recount(&local, &c.id).await;
}

/// A `Telephony` that holds every create until the test lets one through, and says when a
/// create is being held: the dialer is then inside the window between its claim and Twilio.
#[derive(Debug)]
struct HeldCreates {
    inner: std::sync::Arc<dyn Telephony>,
    entered: std::sync::Arc<tokio::sync::Notify>,
    release: std::sync::Arc<tokio::sync::Semaphore>,
    /// How many cancels to answer with a 503 before passing them on, and when each was asked.
    failing_cancels: std::sync::atomic::AtomicU32,
    cancels: std::sync::Mutex<Vec<std::time::Instant>>,
}

impl HeldCreates {
    fn around(inner: std::sync::Arc<dyn Telephony>) -> Self {
        Self {
            inner,
            entered: Default::default(),
            release: std::sync::Arc::new(tokio::sync::Semaphore::new(0)),
            failing_cancels: Default::default(),
            cancels: Default::default(),
        }
    }
    fn let_one_through(&self) {
        self.release.add_permits(1);
    }
}

impl Telephony for HeldCreates {
    fn create_call<'a>(&'a self, req: &'a CreateCall) -> BoxFuture<'a, Result<CallInfo, TelephonyError>> {
        Box::pin(async move {
            self.entered.notify_one();
            if let Ok(p) = self.release.acquire().await {
                p.forget();
            }
            self.inner.create_call(req).await
        })
    }
    fn fetch_call<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>> {
        self.inner.fetch_call(sid)
    }
    fn calls_to<'a>(&'a self, to: &'a str, since: chrono::DateTime<chrono::Utc>) -> BoxFuture<'a, Result<Vec<CallInfo>, TelephonyError>> {
        self.inner.calls_to(to, since)
    }
    fn call_event_urls<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Vec<String>, TelephonyError>> {
        self.inner.call_event_urls(sid)
    }
    fn cancel_call<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>> {
        Box::pin(async move {
            self.cancels.lock().expect("lock").push(std::time::Instant::now());
            let failing = &self.failing_cancels;
            if failing.fetch_update(std::sync::atomic::Ordering::SeqCst, std::sync::atomic::Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                return Err(TelephonyError::Retryable { status: 503, message: "injected".into() });
            }
            self.inner.cancel_call(sid).await
        })
    }
}

/// `POST`/`DELETE` a campaign route as its owner; the status and the JSON body.
async fn campaign_route(local: &campaigns::local::Local, method: reqwest::Method, path: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", local.base_url))
        .bearer_auth(local.token("tester"))
        .send()
        .await
        .expect("api reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// Issue 14 item 5: after `POST /campaigns/{id}/pause` returns, no new call reaches a person.
/// One dialer is held inside the window (claim committed, create not yet sent) while the
/// pause goes through the HTTP route; its call is created after the pause returned, must be
/// canceled before it connects, and the contact given back uncharged. A second dialer that
/// read the campaign as running before the pause must not get a claim at all (the claim's
/// `state = running` condition).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_while_a_create_is_in_flight_connects_no_call() {
    let local = local(false, |o| o.sim_time_scale = 0.05).await;
    let tz = daytime_zone();
    let nums = numbers(2);
    // Ringing lasts (0.2 + 1 + 3) x 0.05 s: time enough to cancel before anyone answers.
    sim_script(&local, Script { default: twilio_sim::Plan::One(Behaviour { ring: Some(3.0), ..ok(20) }), ..Default::default() });
    let input = SettingsInput { max_concurrent_calls: Some(2), ..quick(tz) };
    let c = running_campaign(&local.repo, input, &csv(&nums, tz), CampaignState::Running).await;
    let stale = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    let held = std::sync::Arc::new(HeldCreates::around(local.dialer.telephony.clone()));
    let mut dialer = local.dialer.clone();
    dialer.telephony = held.clone();
    let id = c.id.clone();
    let d = dialer.clone();
    let inside = tokio::spawn(async move { d.dial_next(&id).await });
    tokio::time::timeout(Duration::from_secs(10), held.entered.notified()).await.expect("the dialer reached the create");

    let (status, body) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/pause", c.id)).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("paused")), "{body}");
    let paused_at = chrono::Utc::now();
    held.let_one_through();
    let out = inside.await.unwrap().unwrap();
    assert!(matches!(out, DialOutcome::Canceled { .. }), "{out:?}");

    // A dialer whose read of the campaign predates the pause.
    held.let_one_through();
    let late = dialer.dial(stale).await.unwrap();
    assert_eq!(late, DialOutcome::NoSlot, "a claim after the pause is refused");

    tokio::time::sleep(Duration::from_millis(500)).await;
    let record = sim_record(&local);
    assert_eq!(record.calls.len(), 1, "only the call created inside the window: {:?}", record.calls);
    let call = &record.calls[0];
    assert!(call.created_at >= paused_at - chrono::Duration::milliseconds(50), "the call was created after the pause returned");
    assert_eq!(call.status, "canceled", "{call:?}");
    assert!(call.answered_at.is_none(), "the call never connected");
    let contact = local.repo.get_contact(&c.id, &call.to).await.unwrap().unwrap();
    assert_eq!((contact.state, contact.attempts), (ContactState::Pending, 0), "given back uncharged");
    let campaign = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!((campaign.state, campaign.counters.calling), (CampaignState::Paused, 0));
    assert_counters_match_recount(&local, &c.id).await;
}

/// The cancel of a call created after a pause is retried when Twilio fails it, with a growing
/// pause between tries (400 ms, then 800 ms) rather than three requests at once, and the call is
/// still canceled before anyone answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_cancel_is_retried_with_backoff_and_the_call_still_canceled() {
    let local = local(false, |o| o.sim_time_scale = 0.5).await;
    let tz = daytime_zone();
    // Ringing lasts (0.2 + 1 + 3) x 0.5 s: longer than the cancel's two retries.
    sim_script(&local, Script { default: twilio_sim::Plan::One(Behaviour { ring: Some(3.0), ..ok(20) }), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&numbers(1), tz), CampaignState::Running).await;
    let held = std::sync::Arc::new(HeldCreates::around(local.dialer.telephony.clone()));
    held.failing_cancels.store(2, std::sync::atomic::Ordering::SeqCst);
    let mut dialer = local.dialer.clone();
    dialer.telephony = held.clone();
    let id = c.id.clone();
    let d = dialer.clone();
    let inside = tokio::spawn(async move { d.dial_next(&id).await });
    tokio::time::timeout(Duration::from_secs(10), held.entered.notified()).await.expect("the dialer reached the create");
    let (status, body) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/pause", c.id)).await;
    assert_eq!(status, 200, "{body}");
    held.let_one_through();
    let out = inside.await.unwrap().unwrap();
    assert!(matches!(out, DialOutcome::Canceled { .. }), "{out:?}");

    let asked = held.cancels.lock().expect("lock").clone();
    assert_eq!(asked.len(), 3, "two failures, then the cancel that worked");
    let gaps: Vec<Duration> = asked.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(400) && gaps[1] >= Duration::from_millis(800), "backoff between tries: {gaps:?}");
    let record = sim_record(&local);
    assert_eq!(record.calls.len(), 1);
    assert_eq!(record.calls[0].status, "canceled", "{:?}", record.calls[0]);
    assert!(record.calls[0].answered_at.is_none(), "the call never connected");
}

/// Issue 13 item 8: deleting a paused campaign with a call in flight is refused with 409
/// `calls_in_flight` naming how many, so the call's outcome is recorded; once it ended the
/// delete goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn delete_with_a_call_in_flight_is_refused_until_it_ends() {
    let local = local(false, |o| o.sim_time_scale = 0.02).await;
    let tz = daytime_zone();
    let nums = numbers(2);
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(60)), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(out, DialOutcome::Dialed { .. }), "{out:?}");
    let (status, _) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/pause", c.id)).await;
    assert_eq!(status, 200);
    let (status, body) = campaign_route(&local, reqwest::Method::DELETE, &format!("/campaigns/{}", c.id)).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "calls_in_flight", "{body}");
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("1 call is still in flight"), "{body}");
    // The call ends (60 s x 0.02) and its outcome is recorded; then the delete goes through.
    eventually(30, "the call's outcome recorded", || async {
        let contact = local.repo.get_contact(&c.id, &nums[0]).await.ok()??;
        (contact.state == ContactState::Completed).then_some(())
    })
    .await;
    let (status, body) = campaign_route(&local, reqwest::Method::DELETE, &format!("/campaigns/{}", c.id)).await;
    assert_eq!(status, 204, "{body}");
}

/// Issue 14 item 3: an account-level refusal (21212, an invalid caller id) pauses the campaign
/// with what to fix, charges nobody, and resume continues; it does not fail the list contact
/// by contact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_refusal_pauses_the_campaign_and_charges_nobody() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    let nums = numbers(5);
    sim_script(&local, Script { default: twilio_sim::Plan::One(Behaviour { reject_code: Some(21212), ..ok(2) }), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    for _ in 0..5 {
        let _ = local.dialer.dial_next(&c.id).await.unwrap();
    }
    let paused = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(paused.state, CampaignState::Paused, "{:?}", paused.failure_reason);
    let reason = paused.failure_reason.clone().unwrap_or_default();
    assert!(reason.contains("21212") && reason.contains("caller id") && reason.contains("resume"), "{reason}");
    assert_eq!((paused.counters.failed, paused.counters.pending, paused.counters.calling), (0, 5, 0), "nobody charged or failed");
    for n in &nums {
        assert_eq!(local.repo.get_contact(&c.id, n).await.unwrap().unwrap().attempts, 0);
    }
    assert_eq!(sim_record(&local).rejected.len(), 1, "one refusal was enough");
    // The operator fixes the caller id; resume continues with every contact.
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(2)), ..Default::default() });
    let (status, body) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/resume", c.id)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["failure_reason"].is_null(), "the reason is cleared on resume: {body}");
    drive_until_completed(&local, &c.id, 60).await;
    let done = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(done.counters.completed, 5);
    assert_counters_match_recount(&local, &c.id).await;
}

/// Issue 14 item 3: the circuit breaker. Every create answered 503 (uncertain: no claim is
/// released, each is reconciled) trips it after 5 in a row: the campaign pauses with the
/// figures; the watchdog then gives every claim back uncharged (no call existed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_of_server_errors_trips_the_circuit_breaker() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(300);
        o.no_call_grace = Duration::from_millis(300);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(8);
    sim_script(&local, Script { default: twilio_sim::Plan::One(Behaviour { reject_503: 100, ..ok(2) }), ..Default::default() });
    let input = SettingsInput { max_concurrent_calls: Some(8), ..quick(tz) };
    let c = running_campaign(&local.repo, input, &csv(&nums, tz), CampaignState::Running).await;
    let mut outcomes = Vec::new();
    for _ in 0..6 {
        outcomes.push(local.dialer.dial_next(&c.id).await.unwrap());
    }
    let paused = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(paused.state, CampaignState::Paused, "{outcomes:?}");
    let reason = paused.failure_reason.clone().unwrap_or_default();
    assert!(reason.contains("circuit breaker") && reason.contains("last 5 call attempts") && reason.contains("HTTP 503"), "{reason}");
    assert_eq!(sim_record(&local).rejected.len(), 5, "no create after the breaker tripped");
    tokio::time::sleep(Duration::from_millis(400)).await;
    local.dialer.tick().await.unwrap();
    let after = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!((after.counters.calling, after.counters.pending), (0, 8), "every claim reconciled and given back");
    for n in &nums {
        assert_eq!(local.repo.get_contact(&c.id, n).await.unwrap().unwrap().attempts, 0, "nobody charged");
    }
    assert_counters_match_recount(&local, &c.id).await;
}

/// A stand-in for the AWS Parameters and Secrets extension serving the Twilio secret, whose
/// token the test changes (a rotation).
async fn secrets_extension(token: std::sync::Arc<std::sync::Mutex<String>>, account_sid: String) -> String {
    use axum::extract::State;
    let app = axum::Router::new()
        .route(
            "/secretsmanager/get",
            axum::routing::get(|State((token, sid)): State<(std::sync::Arc<std::sync::Mutex<String>>, String)>| async move {
                let t = token.lock().unwrap_or_else(|p| p.into_inner()).clone();
                let secret = serde_json::json!({"account_sid": sid, "auth_token": t, "from_number": "+15005550006"}).to_string();
                axum::Json(serde_json::json!({"Name": "twilio", "SecretString": secret}))
            }),
        )
        .with_state((token, account_sid));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// Issue 14 item 4: the auth token is rotated (Twilio promotes the secondary token; the secret
/// is updated). The next create gets 401, reloads the secret once and goes through; callbacks
/// signed with the token being replaced still verify; a forged one does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credential_rotation_reloads_once_and_keeps_dialing() {
    let token = std::sync::Arc::new(std::sync::Mutex::new(twilio_sim::DEFAULT_AUTH_TOKEN.to_string()));
    let endpoint = secrets_extension(token.clone(), twilio_sim::DEFAULT_ACCOUNT_SID.to_string()).await;
    let local = local(false, |o| {
        o.sim_time_scale = 0.05;
        o.twilio_credentials = Some(shared::twilio::CredentialSource::SecretsExtension {
            secret_id: "arn:aws:secretsmanager:us-east-1:000000000000:secret:twilio".into(),
            endpoint,
            account_sid: None,
            from_number: None,
            session_token: Some("session".into()),
        });
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(2);
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(30)), ..Default::default() });
    let input = SettingsInput { max_concurrent_calls: Some(2), ..quick(tz) };
    let c = running_campaign(&local.repo, input, &csv(&nums, tz), CampaignState::Running).await;
    let first = local.dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(first, DialOutcome::Dialed { .. }), "{first:?}");

    // Rotation: Twilio takes the new token only, the secret holds it.
    let sim = local.sim.as_ref().unwrap();
    sim.rotate_token("rotated-token");
    *token.lock().unwrap() = "rotated-token".into();
    let second = local.dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(second, DialOutcome::Dialed { .. }), "a 401 reloads the credentials once and retries: {second:?}");
    assert_eq!(local.repo.get_campaign(&c.id).await.unwrap().unwrap().state, CampaignState::Running);

    // A callback of the first call signed with the replaced token still verifies; a forged one does not.
    let q = shared::service::dial::callback_query(&c.id, &nums[0], 1, 1, 0);
    let form = [("CallSid", "CA00000000000000000000000000000009"), ("CallStatus", "ringing"), ("SequenceNumber", "1")];
    let signed_with = |t: &str| {
        let url = format!("{}/twilio/status?{q}", local.base_url);
        let params: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        (url.clone(), params.clone(), shared::twilio::signature::sign(t, &url, &params))
    };
    for (tok, want) in [(twilio_sim::DEFAULT_AUTH_TOKEN, 204), ("rotated-token", 204), ("forged", 403)] {
        let (url, params, sig) = signed_with(tok);
        let status = reqwest::Client::new().post(&url).header(shared::twilio::signature::HEADER, sig).form(&params).send().await.unwrap().status();
        assert_eq!(status.as_u16(), want, "signed with {tok}");
    }
    // Both calls end (their callbacks now signed with the new token) and the campaign completes.
    drive_until_completed(&local, &c.id, 60).await;
    assert_eq!(sim_record(&local).calls.len(), 2);
    assert_counters_match_recount(&local, &c.id).await;
}

/// Issue 13 item 2: Start and Resume with nothing in the way dial within a second or two: they
/// wake the dialer at once (a dial message), not at its next tick (here an hour away).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn start_and_resume_dial_at_once_not_at_the_next_tick() {
    let local = local(true, |o| {
        o.tick = Duration::from_secs(3600);
        o.sim_time_scale = 0.01;
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(2);
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(30)), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Draft).await;
    // The ticker's first round ran at start-up, before the campaign existed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (status, body) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/start", c.id)).await;
    assert_eq!(status, 200, "{body}");
    eventually(5, "the first call after Start", || async { (sim_record(&local).calls.len() == 1).then_some(()) }).await;
    let after_start = started.elapsed();

    let (status, _) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/pause", c.id)).await;
    assert_eq!(status, 200);
    eventually(10, "the first call recorded", || async {
        let campaign = local.repo.get_campaign(&c.id).await.ok()??;
        (campaign.counters.calling == 0).then_some(())
    })
    .await;
    let resumed = std::time::Instant::now();
    let (status, body) = campaign_route(&local, reqwest::Method::POST, &format!("/campaigns/{}/resume", c.id)).await;
    assert_eq!(status, 200, "{body}");
    eventually(5, "the next call after Resume", || async { (sim_record(&local).calls.len() == 2).then_some(()) }).await;
    eprintln!("first call {after_start:?} after Start, next call {:?} after Resume", resumed.elapsed());
}

/// A dial message that reaches a scheduled campaign before its start (Start queues one at once;
/// SQS may deliver any message early or twice) leaves it pending and calls nobody: only a
/// campaign whose start has come is started by a dial.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scheduled_campaign_dialed_before_its_start_stays_pending() {
    let local = local(false, |_| {}).await;
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(30)), ..Default::default() });
    let tz = daytime_zone();
    let input = SettingsInput {
        scheduled_start_time: Some(chrono::Utc::now() + chrono::Duration::hours(1)),
        ..quick(tz)
    };
    let c = running_campaign(&local.repo, input, &csv(&numbers(1), tz), CampaignState::Pending).await;
    let out = local.dialer.dial_next(&c.id).await.expect("dial");
    assert!(matches!(out, DialOutcome::NotRunning(CampaignState::Pending)), "{out:?}");
    let after = local.repo.get_campaign(&c.id).await.expect("read").expect("campaign");
    assert_eq!(after.state, CampaignState::Pending, "started an hour early");
    assert_eq!(sim_record(&local).calls.len(), 0, "somebody was called before the start");
}

/// When a call ends, the next contact is dialed and, after the last, the campaign completes,
/// from the callback itself: not left to the next tick (a minute on AWS).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_call_ends_the_next_starts_and_the_last_completes_without_a_tick() {
    let local = local(true, |o| {
        o.tick = Duration::from_secs(3600);
        o.sim_time_scale = 0.01;
    })
    .await;
    let tz = daytime_zone();
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(30)), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&numbers(3), tz), CampaignState::Running).await;
    // The ticker's first round ran at start-up, before the campaign existed: one dial by hand.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let first = local.dialer.dial_next(&c.id).await.expect("dial");
    assert!(matches!(first, DialOutcome::Dialed { .. }), "{first:?}");
    wait_state(&local, &c.id, CampaignState::Completed, 20).await;
    assert_eq!(sim_record(&local).calls.len(), 3, "each contact called once");
    assert_counters_match_recount(&local, &c.id).await;
}

/// Issue 14 item 6: a terminal callback that meets transaction conflicts is retried inside the
/// request (bounded, jittered) and applied, instead of being answered 503 and lost (Twilio
/// does not retry a status callback on a 5xx by default).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callback_meeting_transaction_conflicts_is_retried_in_the_request() {
    use shared::adapters::metrics::{Fault, FaultInjector, instrumented_dynamodb};
    let faults = FaultInjector::default();
    let ddb = instrumented_dynamodb(&sdk().await, None, Some(faults.clone()));
    let local = local(false, |o| {
        o.dynamodb = Some(ddb);
        o.sim_time_scale = 0.05;
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    sim_script(&local, Script::default().with(nums[0].clone(), Behaviour { callbacks: CallbackMode::None, ..ok(200) }));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    let DialOutcome::Dialed { call_sid, .. } = out else { panic!("{out:?}") };
    let sid: &'static str = Box::leak(call_sid.into_boxed_str());
    faults.add("TransactWriteItems", Fault::TransactionConflict, 2);
    let q = shared::service::dial::callback_query(&c.id, &nums[0], 1, 1, 0);
    let status = post_callback(&local, &q, &[("CallSid", sid), ("CallStatus", "completed"), ("SequenceNumber", "3"), ("CallDuration", "7")]).await;
    assert_eq!(status, 204, "applied after retrying the conflicts");
    assert_eq!(faults.injected(), 2, "both conflicts were met");
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Completed);
    assert_counters_match_recount(&local, &c.id).await;
}

/// Campaign `a` claims `phone` and its dialer dies before recording a CallSid; right after,
/// campaign B of the same owner and campaign C of another owner (same deployment, same caller
/// id) call the same number at once, each recording its own sid. Returns B's and C's sids.
async fn others_call_the_same_number(
    local: &campaigns::local::Local,
    a: &shared::domain::Campaign,
    phone: &str,
    tz: &str,
) -> (String, String) {
    let contact = local.repo.get_contact(&a.id, phone).await.unwrap().unwrap();
    let now = shared::adapters::dynamodb::records::to_ms(chrono::Utc::now());
    local
        .repo
        .claim(&shared::adapters::dynamodb::dial::Claim::next(a, &contact, now, now + 300, now))
        .await
        .unwrap();
    let nums = [phone.to_string()];
    let b = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let c = running_campaign_of(&local.repo, "another-tenant", quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let (rb, rc) = tokio::join!(local.dialer.dial_next(&b.id), local.dialer.dial_next(&c.id));
    let sid = |r: Result<DialOutcome, _>| match r {
        Ok(DialOutcome::Dialed { call_sid, .. }) => call_sid,
        other => panic!("{other:?}"),
    };
    (sid(rb), sid(rc))
}

/// Campaign A's claim on a number with a 300 ms lease and no sid recorded, then campaigns B
/// (same owner) and C (another owner) calling the same number (100 s calls): A's local system,
/// A, the number and B's and C's call sids.
async fn claimed_while_others_call(
    no_call_grace: Duration,
) -> (campaigns::local::Local, shared::domain::Campaign, String, (String, String)) {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(300);
        o.no_call_grace = no_call_grace;
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    let n = nums[0].clone();
    sim_script(&local, Script::default().with(n.clone(), ok(100)));
    let a = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let sids = others_call_the_same_number(&local, &a, &n, tz).await;
    (local, a, n, sids)
}

/// Issue 14 item 2: a claim whose CallSid was never recorded adopts no call but its own. Two
/// other campaigns (one of another owner) call the same number, from the same caller id, just
/// after the claim; every one of those calls matches To, From and "created after the claim".
/// The watchdog must not adopt either: it holds the lease until Twilio's events show whose they
/// are, then gives the claim back uncharged (no call of its own exists), and the number is then
/// dialed for this campaign with a new claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watchdog_never_adopts_another_campaigns_or_tenants_call() {
    let (local, a, n, (b_sid, c_sid)) = claimed_while_others_call(Duration::from_millis(300)).await;
    eventually(30, "campaign A's claim given back", || async {
        local.dialer.tick().await.ok()?;
        let attempt = local.repo.get_attempt(&a.id, &n, 1).await.ok()??;
        let sid = attempt.call_sid.clone().unwrap_or_default();
        assert!(
            attempt.call_sid.is_none(),
            "campaign A's claim adopted a call it never placed ({}): {attempt:?}",
            if sid == b_sid { "campaign B's, same owner" } else if sid == c_sid { "campaign C's, another owner" } else { "unknown" }
        );
        attempt.released.then_some(())
    })
    .await;
    let contact = local.repo.get_contact(&a.id, &n).await.unwrap().unwrap();
    assert_eq!((contact.state, contact.attempts), (ContactState::Pending, 0), "given back uncharged: {contact:?}");
    let out = local.dialer.dial_next(&a.id).await.unwrap();
    let DialOutcome::Dialed { claim: 2, attempt: 1, call_sid, .. } = out else { panic!("{out:?}") };
    assert!(call_sid != b_sid && call_sid != c_sid);
    assert_eq!(sim_record(&local).calls_to(&n).len(), 3, "one call per campaign");
    assert_counters_match_recount(&local, &a.id).await;
}

/// While calls to the number cannot be attributed yet (Twilio shows a call's events only a
/// while after it ended), the watchdog holds the claim's lease for the no-call grace: nothing
/// released (that could call the person twice), nothing adopted, and Twilio not asked again at
/// every tick meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn calls_to_the_number_not_yet_identified_hold_the_lease_for_the_grace() {
    let (local, a, n, _) = claimed_while_others_call(Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before = chrono::Utc::now().timestamp_millis();
    local.dialer.tick().await.expect("tick");
    let contact = local.repo.get_contact(&a.id, &n).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Calling, "the claim is held: {contact:?}");
    let lease = contact.lease_until_ms.expect("a lease");
    assert!(lease >= before + 59_000, "the lease is held for the grace: until {lease}, asked at {before}");
    let attempt = local.repo.get_attempt(&a.id, &n, 1).await.unwrap().unwrap();
    assert!(attempt.call_sid.is_none() && !attempt.released, "{attempt:?}");
}

/// Issue 14 item 2, the positive case: the claim's own call, whose sid was never recorded and
/// whose callbacks never came, is adopted (and applied) once Twilio's events show it was created
/// with this claim's URLs; the other campaigns' calls to the number, created earlier, are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_watchdog_adopts_its_own_unrecorded_call_and_no_other() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(300);
        o.no_call_grace = Duration::from_millis(300);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    let n = nums[0].clone();
    // B's and C's calls report normally; A's own (the third call) sends no callback at all.
    sim_script(
        &local,
        Script::default().with_sequence(n.clone(), vec![ok(100), ok(100), Behaviour { callbacks: CallbackMode::None, ..ok(100) }]),
    );
    let a = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let (b_sid, c_sid) = others_call_the_same_number(&local, &a, &n, tz).await;
    // A's dialer creates its call after theirs (a second later: Twilio's dates have whole
    // seconds, so "the earliest call after the claim" is theirs), then dies before recording
    // the sid.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let seq = local.repo.get_contact(&a.id, &n).await.unwrap().unwrap().seq;
    let query = shared::service::dial::callback_query(&a.id, &n, 1, 1, seq);
    let req = CreateCall {
        to: n.clone(),
        from: "+15005550006".into(),
        url: format!("{}/twilio/voice?{query}", local.base_url),
        status_callback: format!("{}/twilio/status?{query}", local.base_url),
        timeout_seconds: 30,
        machine_detection: false,
    };
    let own = local.dialer.telephony.create_call(&req).await.unwrap().sid;
    eventually(30, "campaign A's own call applied", || async {
        local.dialer.tick().await.ok()?;
        let attempt = local.repo.get_attempt(&a.id, &n, 1).await.ok()??;
        if let Some(sid) = &attempt.call_sid {
            assert_eq!(sid, &own, "adopted {} instead of its own call", if *sid == b_sid { "campaign B's call" } else if *sid == c_sid { "campaign C's call (another owner)" } else { "an unknown call" });
        }
        assert!(!attempt.released, "released a claim whose call exists: {attempt:?}");
        attempt.terminal.then_some(())
    })
    .await;
    let contact = local.repo.get_contact(&a.id, &n).await.unwrap().unwrap();
    assert_eq!((contact.state, contact.attempts), (ContactState::Completed, 1), "{contact:?}");
    assert_eq!(sim_record(&local).calls_to(&n).len(), 3, "A's number was not dialed again");
    assert_counters_match_recount(&local, &a.id).await;
}

/// Issue 14 item 6: a terminal callback that still fails after the in-request retries (every
/// try meets a transaction conflict) is answered 503, and Twilio retries it because the status
/// callback URL carries the `#rc=3&rp=5xx,ct,rt` connection overrides (by Twilio's default a 5xx
/// is not retried: the outcome would wait for the watchdog). The retry is applied at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callback_answered_503_is_retried_by_twilio_and_applied() {
    use shared::adapters::metrics::{Fault, FaultInjector, instrumented_dynamodb};
    let faults = FaultInjector::default();
    let ddb = instrumented_dynamodb(&sdk().await, None, Some(faults.clone()));
    let local = local(false, |o| {
        o.dynamodb = Some(ddb);
        o.sim_time_scale = 0.05;
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    sim_script(&local, Script::default().with(nums[0].clone(), ok(10)));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    let DialOutcome::Dialed { call_sid, .. } = out else { panic!("{out:?}") };
    // Every try of the terminal callback inside its request meets a conflict.
    faults.add("TransactWriteItems", Fault::TransactionConflict, shared::service::dial::CALLBACK_TRIES);
    let tries = || {
        let rec = sim_record(&local);
        let call = rec.calls.into_iter().find(|x| x.sid == call_sid).expect("the call");
        call.callbacks.iter().filter(|cb| cb.status == "completed").map(|cb| (cb.attempt, cb.http_status)).collect::<Vec<_>>()
    };
    eventually(30, "the terminal callback sent", || async { (!tries().is_empty()).then_some(()) }).await;
    // Twilio's retry comes a second (50 ms here) later; give it up to 5 s to be answered.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while tries().len() < 2 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let terminal = tries();
    assert_eq!(terminal, [(1, Some(503)), (2, Some(204))], "answered 503 once, then retried by Twilio and applied");
    assert_eq!(faults.injected(), u64::from(shared::service::dial::CALLBACK_TRIES));
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Completed, "applied without waiting for the watchdog: {contact:?}");
    assert_counters_match_recount(&local, &c.id).await;
}

/// The webhook accepts a signature over the status callback URL with or without the connection
/// overrides fragment (Twilio's documentation does not say which it signs), and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signature_over_the_url_with_its_overrides_fragment_is_accepted() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    let nums = numbers(1);
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let q = shared::service::dial::callback_query(&c.id, &nums[0], 1, 1, 0);
    let url = format!("{}/twilio/status?{q}", local.base_url);
    let form = [("CallSid", "CA00000000000000000000000000000009"), ("CallStatus", "ringing"), ("SequenceNumber", "1")];
    let params: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let token = local.sim.as_ref().expect("simulator").auth_token.clone();
    let post = |signed_over: String| {
        let (url, params, token) = (url.clone(), params.clone(), token.clone());
        async move {
            let sig = shared::twilio::signature::sign(&token, &signed_over, &params);
            reqwest::Client::new().post(&url).header(shared::twilio::signature::HEADER, sig).form(&params).send().await.unwrap().status().as_u16()
        }
    };
    // No claim 1 exists: a verified callback for it is answered 204 (superseded), a forged one 403.
    assert_eq!(post(url.clone()).await, 204);
    assert_eq!(post(format!("{url}{}", shared::service::dial::CALLBACK_OVERRIDES)).await, 204);
    assert_eq!(post(format!("{url}#rc=5&rp=all")).await, 403, "only our own fragment");
    assert_eq!(post(format!("{url}&attempt=2")).await, 403);
}

/// One uncertain create (a 500: the call may exist) neither pauses the campaign (only a run
/// of them trips the breaker) nor gives the contact back: its lease is cut to the no-call grace
/// from now, so the watchdog asks Twilio then (not at once, while Twilio may still be creating
/// the call, and not only after the whole lease).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_uncertain_create_holds_the_contact_for_the_grace_and_pauses_nothing() {
    let local = local(false, |o| {
        o.lease = Duration::from_secs(600);
        o.no_call_grace = Duration::from_secs(60);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(2);
    let uncertain = Behaviour { created_but_answer: Some(500), callbacks: CallbackMode::None, ..ok(2) };
    sim_script(&local, Script::default().with(nums[0].clone(), uncertain.clone()).with(nums[1].clone(), uncertain));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let before = chrono::Utc::now().timestamp_millis();
    assert_eq!(local.dialer.dial_next(&c.id).await.expect("dial"), DialOutcome::Uncertain);
    let after = chrono::Utc::now().timestamp_millis();
    let campaign = local.repo.get_campaign(&c.id).await.expect("read").expect("campaign");
    assert_eq!(campaign.state, CampaignState::Running, "one 500 paused the campaign: {:?}", campaign.failure_reason);
    let mut held = Vec::new();
    for n in &nums {
        let contact = local.repo.get_contact(&c.id, n).await.expect("read").expect("contact");
        if let Some(lease) = contact.lease_until_ms {
            held.push(lease);
        }
    }
    assert_eq!(held.len(), 1, "the uncertain contact stays leased, the other untouched");
    assert!((before + 60_000..=after + 60_000).contains(&held[0]), "lease until {}, create in {before}..={after}", held[0]);
}
