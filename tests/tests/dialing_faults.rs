//! Dialing when Twilio, DynamoDB or the operator misbehave (issue 14): ambiguous answers,
//! superseded callbacks, calls Twilio forgot, account-level refusals, credential rotation,
//! the pause window. Against the local stack and the simulator, faults scripted in the
//! simulator or injected by wrapping the real port.

mod common;

use std::time::Duration;

use common::dialing::*;
use common::*;
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
        .claim(&shared::adapters::dynamodb::dial::Claim::next(&c.id, &contact, now, now + 200, now))
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
