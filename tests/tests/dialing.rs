//! Dialing against the real local stack: DynamoDB (dynoxide) and moto (SQS, S3) over HTTP through the SDK
//! clients the Lambdas use, the Twilio simulator over HTTP, the API router serving the
//! webhooks on a local port. Each test has its own table, queue, bucket and simulator.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use campaigns::local::Local;
use common::dialing::*;
use chrono::Utc;
use common::*;
use shared::adapters::dynamodb::records::to_ms;
use shared::adapters::metrics::{Fault, FaultInjector, instrumented_dynamodb};
use shared::domain::{CampaignState, ContactState, SettingsInput};
use shared::service::dial::DialOutcome;
use twilio_sim::{Behaviour, CallbackMode, Script, SimOutcome};

/// The reference summary's flow: 100 contacts (5 duplicates in the file), started, every
/// contact dialed through the simulator with a mix of outcomes and retries, completed by
/// itself, stats equal to a recount.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn summary_flow_end_to_end() {
    let local = local(true, |_| {}).await;
    let tz = daytime_zone();
    let nums = numbers(100);
    let mut with_dups = nums.clone();
    with_dups.extend(nums[..5].iter().cloned());
    // 0-59 answer; 60-69 busy once then answer; 70-79 never answer (exhaust 2 retries);
    // 80-89 fail at once (failed is retryable by default: 3 attempts); 90-99 machine (not retryable).
    let mut script = Script::default();
    script.default = twilio_sim::Plan::One(ok(20));
    for n in &nums[60..70] {
        script = script.with_sequence(n.clone(), vec![outcome(SimOutcome::Busy), ok(10)]);
    }
    for n in &nums[70..80] {
        script = script.with(n.clone(), outcome(SimOutcome::NoAnswer));
    }
    for n in &nums[80..90] {
        script = script.with(n.clone(), outcome(SimOutcome::Failed));
    }
    for n in &nums[90..100] {
        script = script.with(n.clone(), Behaviour { outcome: SimOutcome::Machine, duration: Some(5), ring: Some(1.0), ..Default::default() });
    }
    sim_script(&local, script);
    let input = SettingsInput { machine_detection: Some(true), ..quick(tz) };
    let c = running_campaign(&local.repo, input, &csv(&with_dups, tz), CampaignState::Pending).await;
    assert_eq!(c.counters.total, 100, "duplicates are dropped at import");
    assert_eq!(c.import_report.as_ref().and_then(|r| r["duplicates"].as_u64()), Some(5));

    wait_state(&local, &c.id, CampaignState::Completed, 240).await;

    let done = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_counters_match_recount(&local, &c.id).await;
    assert_eq!(done.counters.completed, 70, "{:?}", done.counters);
    assert_eq!(done.counters.failed, 30, "{:?}", done.counters);
    assert_eq!(done.counters.open(), 0);
    let contacts: HashMap<String, shared::domain::Contact> =
        local.repo.all_contacts(&c.id).await.unwrap().into_iter().map(|c| (c.phone.clone(), c)).collect();
    let record = sim_record(&local);
    for (i, n) in nums.iter().enumerate() {
        let calls = record.calls_to(n);
        let expected = match i {
            0..60 => 1,
            60..70 => 2,
            70..80 => 3,
            80..90 => 3,
            _ => 1,
        };
        assert_eq!(calls.len(), expected, "number {i} dialed {} times", calls.len());
        assert_eq!(contacts[n].attempts as usize, expected);
        let mut spans: Vec<_> = calls.iter().map(|c| (c.created_at, c.ended_at.expect("ended"))).collect();
        spans.sort();
        for w in spans.windows(2) {
            assert!(w[1].0 >= w[0].1, "a contact is never in two calls at once");
        }
    }
    assert_eq!(contacts[&nums[95]].outcome, Some(shared::domain::Outcome::Machine));
    // Each failed contact says why, in the words the export and the dashboard show.
    assert_eq!(contacts[&nums[75]].failure_reason.as_deref(), Some("no answer after 3 attempts (last: no-answer)"));
    assert_eq!(contacts[&nums[95]].failure_reason.as_deref(), Some("call ended: machine"));
    assert_eq!(record.max_in_flight, 1, "sequential by default");
    let stats = done.stats();
    assert_eq!(stats.success_rate, Some(0.7));
    assert_eq!(stats.progress_percent, 100.0);
}

/// 20 dialer invocations at once over a 500-contact campaign with max_concurrent_calls 3, truly
/// in parallel against the local DynamoDB (`CONCURRENCY_CONTACTS` changes the size):
/// no number dialed twice in one attempt, never more than 3 calls in flight.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_dialers_respect_slots_and_leases() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(5)), ..Default::default() });
    let input = SettingsInput { max_concurrent_calls: Some(3), ..quick(tz) };
    let n: usize = std::env::var("CONCURRENCY_CONTACTS").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let c = running_campaign(&local.repo, input, &csv(&numbers(n), tz), CampaignState::Running).await;
    let dialer = Arc::new(local.dialer.clone());
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let d = dialer.clone();
        let id = c.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut dialed = 0u32;
            loop {
                match d.dial_next(&id).await {
                    Ok(DialOutcome::Dialed { .. }) => dialed += 1,
                    Ok(DialOutcome::Completed) | Ok(DialOutcome::NotRunning(_)) => return dialed,
                    Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    Err(e) => panic!("dial failed: {e}"),
                }
            }
        }));
    }
    let sim_url = format!("{}/sim/calls", local.sim.as_ref().unwrap().base_url);
    let progress = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if let Ok(r) = reqwest::get(&sim_url).await {
                let v: serde_json::Value = r.json().await.unwrap_or_default();
                eprintln!("progress: {} calls", v["calls"].as_array().map_or(0, Vec::len));
            }
        }
    });
    let mut total = 0;
    for t in tasks {
        total += tokio::time::timeout(Duration::from_secs(60 + 3 * n as u64), t).await.expect("dialers finish").expect("no panic");
    }
    progress.abort();
    let record = sim_record(&local);
    assert_eq!(total as usize, n);
    assert_eq!(record.calls.len(), n, "every contact dialed exactly once");
    let mut per_number: HashMap<&str, usize> = HashMap::new();
    for call in &record.calls {
        *per_number.entry(call.to.as_str()).or_default() += 1;
    }
    assert!(per_number.values().all(|n| *n == 1), "no number dialed twice");
    assert!(record.max_in_flight <= 3, "max in flight was {}", record.max_in_flight);
    assert!(record.max_in_flight >= 2, "the slots were used in parallel ({})", record.max_in_flight);
    wait_state(&local, &c.id, CampaignState::Completed, 30).await;
    assert_counters_match_recount(&local, &c.id).await;
}

/// Duplicate and out-of-order callbacks change nothing twice and never move state backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_and_reordered_callbacks_are_idempotent() {
    let local = local(true, |_| {}).await;
    let tz = daytime_zone();
    let nums = numbers(6);
    let mut script = Script::default();
    for n in &nums[..3] {
        script = script.with(n.clone(), Behaviour { callbacks: CallbackMode::Twice, ..ok(7) });
    }
    for n in &nums[3..] {
        script = script.with(n.clone(), Behaviour { callbacks: CallbackMode::OutOfOrder, ..ok(9) });
    }
    sim_script(&local, script);
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    wait_state(&local, &c.id, CampaignState::Completed, 90).await;
    let done = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_counters_match_recount(&local, &c.id).await;
    assert_eq!(done.counters.completed, 6);
    assert_eq!(done.totals.calls_answered, 6, "each answered call counted once");
    assert_eq!(done.totals.answered_seconds, 3 * 7 + 3 * 9, "durations summed once");
    assert_eq!(done.totals.calls_placed, 6);
    let record = sim_record(&local);
    assert_eq!(record.calls.len(), 6);
    assert!(record.calls.iter().any(|c| c.callbacks.iter().filter(|cb| cb.duplicate).count() > 0), "duplicates were sent");
    // The last status recorded on an out-of-order attempt is still the terminal one.
    for n in &nums[3..] {
        let a = local.repo.get_attempt(&c.id, n, 1).await.unwrap().unwrap();
        assert!(a.terminal);
        assert_eq!(a.call_status.as_deref(), Some("completed"));
    }
}

/// Every status of a call is recorded on its attempt as Twilio reports it, in order: `queued`
/// (the create's answer), `initiated`, `ringing`, `in-progress`, then the outcome, each with its SequenceNumber (the
/// first is 0, so a new attempt must start below it) and the call's sid. Watched by reading
/// the attempt while the call runs (the simulator at real time: each status holds ~1 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_attempt_records_each_progress_status_in_order() {
    let local = local(false, |o| o.sim_time_scale = 1.0).await;
    let tz = daytime_zone();
    let nums = numbers(1);
    let call = Behaviour { ring: Some(1.5), ..ok(2) };
    sim_script(&local, Script::default().with(nums[0].clone(), call));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    assert!(matches!(local.dialer.dial_next(&c.id).await.expect("dial"), DialOutcome::Dialed { .. }));
    let mut seen: Vec<(String, i64)> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let last = loop {
        let a = local.repo.get_attempt(&c.id, &nums[0], 1).await.expect("read").expect("attempt");
        if let Some(status) = a.call_status.clone() {
            if seen.last().map(|(s, _)| s.as_str()) != Some(status.as_str()) {
                assert!(a.call_sid.as_deref().is_some_and(|s| s.starts_with("CA")), "the sid is recorded with {status}");
                seen.push((status, a.seq_no));
            }
        }
        if a.terminal || std::time::Instant::now() > deadline {
            break a;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    let statuses: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["queued", "initiated", "ringing", "in-progress", "completed"], "seen: {seen:?}");
    let seqs: Vec<i64> = seen.iter().map(|(_, q)| *q).collect();
    assert_eq!(seqs[..4], [-1, 0, 1, 2], "queued from the create's answer, then each callback's SequenceNumber");
    assert!(last.terminal);
    assert_counters_match_recount(&local, &c.id).await;
}

/// Twilio's 429 on create: the lease is released, no attempt charged, the contact is dialed
/// again later and completes with one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limited_create_releases_the_lease_without_charging() {
    let local = local(true, |o| o.busy_backoff = Duration::from_secs(1)).await;
    let tz = daytime_zone();
    let nums = numbers(2);
    sim_script(&local, Script::default().with(nums[0].clone(), Behaviour { reject_429: 2, ..ok(3) }));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    wait_state(&local, &c.id, CampaignState::Completed, 90).await;
    let record = sim_record(&local);
    assert_eq!(record.rejected.iter().filter(|r| r.status == 429).count(), 2);
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Completed);
    assert_eq!(contact.attempts, 1, "429s are not charged as attempts");
    let done = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(done.totals.calls_placed, 2);
    assert_counters_match_recount(&local, &c.id).await;
}

/// A 429 on create gives the contact back uncharged and due again only after the busy
/// backoff: Twilio asked us to slow down, an immediate redial would hammer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_429_gives_the_contact_back_due_after_the_busy_backoff() {
    let local = local(false, |o| o.busy_backoff = Duration::from_secs(60)).await;
    let tz = daytime_zone();
    let nums = numbers(1);
    sim_script(&local, Script::default().with(nums[0].clone(), Behaviour { reject_429: 1, ..ok(3) }));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let before = Utc::now().timestamp_millis();
    assert_eq!(local.dialer.dial_next(&c.id).await.expect("dial"), DialOutcome::TwilioBusy);
    let after = Utc::now().timestamp_millis();
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.expect("read").expect("contact");
    assert_eq!((contact.state, contact.attempts), (ContactState::Pending, 0), "given back uncharged");
    let due = contact.next_attempt_ms;
    assert!((before + 60_000..=after + 60_000).contains(&due), "due at {due}, create in {before}..={after}");
}

/// A 4xx on the number fails the contact with Twilio's reason; 401 fails the campaign.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rejected_numbers_fail_with_twilios_reason() {
    let local = local(true, |_| {}).await;
    let tz = daytime_zone();
    let nums = numbers(3);
    sim_script(&local, Script::default().with(nums[1].clone(), Behaviour { reject_code: Some(21211), ..ok(3) }));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    wait_state(&local, &c.id, CampaignState::Completed, 90).await;
    let bad = local.repo.get_contact(&c.id, &nums[1]).await.unwrap().unwrap();
    assert_eq!(bad.state, ContactState::Failed);
    assert!(bad.failure_reason.as_deref().unwrap_or_default().contains("21211"), "{:?}", bad.failure_reason);
    assert_counters_match_recount(&local, &c.id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_credentials_pause_the_campaign_with_an_actionable_reason() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    let c = running_campaign(&local.repo, quick(tz), &csv(&numbers(2), tz), CampaignState::Running).await;
    // A dialer with the wrong auth token against the same simulator.
    let sim = local.sim.as_ref().unwrap();
    let mut cfg = sim.twilio_config("+15005550006");
    cfg.credentials = shared::twilio::credentials::CredentialSource::Static(shared::twilio::Credentials {
        account_sid: sim.account_sid.clone(),
        auth_token: "wrong".into(),
        from_number: "+15005550006".into(),
    });
    let mut dialer = local.dialer.clone();
    dialer.telephony = Arc::new(shared::twilio::client::TwilioClient::new(cfg).unwrap());
    let out = dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(out, DialOutcome::CampaignPaused(_)), "{out:?}");
    let failed = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(failed.state, CampaignState::Paused, "credentials are fixable: paused, resumable, never failed");
    let reason = failed.failure_reason.clone().unwrap();
    assert!(reason.contains("credentials") && reason.contains("resume"), "{reason}");
    assert!(!reason.contains("create the campaign again"), "{reason}");
    assert_counters_match_recount(&local, &c.id).await;
    assert_eq!(failed.counters.pending, 2, "the lease was given back");
}

/// A lost terminal callback: the watchdog asks Twilio and applies the result, so the
/// contact is not stranded and is not dialed again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lost_callback_is_recovered_by_the_watchdog() {
    let local = local(false, |o| o.lease = Duration::from_millis(500)).await;
    let tz = daytime_zone();
    let nums = numbers(1);
    sim_script(&local, Script::default().with(nums[0].clone(), Behaviour { callbacks: CallbackMode::LoseTerminal, ..ok(4) }));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(out, DialOutcome::Dialed { .. }), "{out:?}");
    // Let the call end at the simulator (no terminal callback comes) and the lease expire.
    eventually(30, "call ended at the simulator", || async {
        sim_record(&local).calls.first().and_then(|c| c.ended_at).map(|_| ())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Calling, "without the watchdog the contact would be stuck");
    local.dialer.tick().await.unwrap();
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.state, ContactState::Completed);
    assert_eq!(contact.last_duration, Some(4));
    local.dialer.tick().await.unwrap();
    wait_state(&local, &c.id, CampaignState::Completed, 10).await;
    assert_eq!(sim_record(&local).calls.len(), 1, "not re-dialed");
    assert_counters_match_recount(&local, &c.id).await;
}

/// A lease that expires during a long call is extended, not released: no second call.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn long_call_outlives_its_lease_without_a_redial() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(300);
        o.sim_time_scale = 0.05;
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    // 40 s at scale 0.05 = 2 s of call, several lease periods.
    sim_script(&local, Script::default().with(nums[0].clone(), ok(40)));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    assert!(matches!(local.dialer.dial_next(&c.id).await.unwrap(), DialOutcome::Dialed { .. }));
    let mut extended = 0;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(350)).await;
        let before = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
        let t0 = chrono::Utc::now().timestamp_millis();
        local.dialer.tick().await.unwrap();
        let t1 = chrono::Utc::now().timestamp_millis();
        let after = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
        if before.state == ContactState::Calling && after.lease_until_ms > before.lease_until_ms {
            extended += 1;
            // By one lease from the watchdog's look: not for ever (a lost callback would then
            // never be reconciled), not into the past.
            let lease = after.lease_until_ms.unwrap_or_default();
            assert!((t0 + 300..=t1 + 300).contains(&lease), "extended to {lease}, the tick ran {t0}..={t1}");
        }
        let _ = local.dialer.dial_next(&c.id).await.unwrap();
    }
    assert!(extended >= 1, "the watchdog extended the live call's lease");
    wait_state(&local, &c.id, CampaignState::Completed, 30).await;
    assert_eq!(sim_record(&local).calls.len(), 1, "a long call is never re-dialed");
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(contact.attempts, 1);
}

/// A dialer that died after taking the lease and before creating the call: the watchdog finds
/// no call at Twilio and releases the contact (no attempt charged); it is then dialed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dialer_dying_after_the_lease_strands_nobody() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(200);
        o.no_call_grace = Duration::from_millis(200);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    sim_script(&local, Script::default().with(nums[0].clone(), ok(2)));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    // The first half of a dial: the claim transaction, then "the process dies".
    claim_first_attempt(&local, &c, &contact, 200).await;
    assert_eq!(local.dialer.dial_next(&c.id).await.unwrap(), DialOutcome::NoSlot, "the slot is held");
    tokio::time::sleep(Duration::from_millis(450)).await;
    local.dialer.tick().await.unwrap();
    let released = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    assert_eq!(released.state, ContactState::Pending);
    assert_eq!(released.attempts, 0, "no attempt charged for a call that never existed");
    let released_claim = local.repo.get_attempt(&c.id, &nums[0], 1).await.unwrap().unwrap();
    assert!(released_claim.released && released_claim.terminal, "the claim is kept, released");
    // The next claim has a new identity (2) and is charged as attempt 1.
    assert!(matches!(local.dialer.dial_next(&c.id).await.unwrap(), DialOutcome::Dialed { attempt: 1, claim: 2, .. }));
    wait_state_or_tick(&local, &c.id).await;
    assert_eq!(sim_record(&local).calls.len(), 1);
    assert_counters_match_recount(&local, &c.id).await;
}

/// A dialer that died after creating the call and before recording its sid, and no callback
/// comes: the watchdog neither releases the claim (the call exists) nor adopts a call it cannot
/// attribute; once Twilio's events show the call was created with this claim's URLs, it adopts
/// it and applies its outcome. The number is not dialed a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dialer_dying_after_the_create_does_not_redial() {
    let local = local(false, |o| {
        o.lease = Duration::from_millis(200);
        o.no_call_grace = Duration::from_millis(100);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(1);
    // 200 s at scale 0.002: 0.4 s of call; its events show 1.8 s after it ends.
    sim_script(&local, Script::default().with(nums[0].clone(), Behaviour { callbacks: CallbackMode::None, ..ok(200) }));
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    let contact = local.repo.get_contact(&c.id, &nums[0]).await.unwrap().unwrap();
    claim_first_attempt(&local, &c, &contact, 200).await;
    // The call is created at Twilio, then the process dies before record_call_sid.
    let query = shared::service::dial::callback_query(&c.id, &nums[0], 1, 1, contact.seq);
    let req = shared::twilio::CreateCall {
        to: nums[0].clone(),
        from: "+15005550006".into(),
        url: format!("{}/twilio/voice?{query}", local.base_url),
        status_callback: format!("{}/twilio/status?{query}", local.base_url),
        timeout_seconds: 30,
        machine_detection: false,
    };
    let sid = local.dialer.telephony.create_call(&req).await.unwrap().sid;
    tokio::time::sleep(Duration::from_millis(300)).await;
    local.dialer.tick().await.unwrap();
    let a = local.repo.get_attempt(&c.id, &nums[0], 1).await.unwrap().unwrap();
    assert!(a.call_sid.is_none() && !a.released && !a.terminal, "a call it cannot attribute yet is neither adopted nor a reason to release: {a:?}");
    eventually(30, "the call to be attributed and applied", || async {
        local.dialer.tick().await.ok()?;
        let c2 = local.repo.get_contact(&c.id, &nums[0]).await.ok()??;
        (c2.state == ContactState::Completed).then_some(())
    })
    .await;
    let a = local.repo.get_attempt(&c.id, &nums[0], 1).await.unwrap().unwrap();
    assert_eq!(a.call_sid.as_deref(), Some(sid.as_str()), "its own call, by the evidence of its events");
    assert_eq!(sim_record(&local).calls.len(), 1, "never dialed twice");
    assert_counters_match_recount(&local, &c.id).await;
}

/// Only the lease transaction of a dial (attempt 1), as a dialer that dies right after it.
async fn claim_first_attempt(local: &Local, campaign: &shared::domain::Campaign, contact: &shared::adapters::dynamodb::records::ContactRecord, lease_ms: i64) {
    let now = to_ms(Utc::now());
    local
        .repo
        .claim(&shared::adapters::dynamodb::dial::Claim::next(campaign, contact, now, now + lease_ms, now))
        .await
        .unwrap();
}

async fn wait_state_or_tick(local: &Local, id: &str) {
    eventually(60, "campaign completed", || async {
        local.dialer.tick().await.ok()?;
        let c = local.repo.get_campaign(id).await.ok()??;
        (c.state == CampaignState::Completed).then_some(())
    })
    .await;
}

/// Pause takes effect at once: no call is created after the pause returns; the call in
/// flight finishes and is recorded; resume continues where it stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pause_stops_new_calls_and_resume_continues() {
    let local = local(true, |o| o.sim_time_scale = 0.02).await;
    let tz = daytime_zone();
    let nums = numbers(6);
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(20)), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    eventually(30, "first call", || async { (!sim_record(&local).calls.is_empty()).then_some(()) }).await;
    local
        .repo
        .transition(None, &c.id, &[CampaignState::Running, CampaignState::Pending], CampaignState::Paused, Utc::now(), None)
        .await
        .unwrap();
    let paused_at = Utc::now();
    // Let the in-flight call finish and several ticks pass.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The in-flight call's end is recorded by its callback; on a loaded machine that can take
    // longer than the ticks above: wait for it rather than assume it.
    let paused = eventually(60, "the in-flight call recorded", || async {
        let c = local.repo.get_campaign(&c.id).await.ok()??;
        (c.counters.calling == 0 && c.counters.completed >= 1).then_some(c)
    })
    .await;
    let record = sim_record(&local);
    assert!(record.calls.iter().all(|c| c.created_at <= paused_at), "no call created after the pause returned");
    assert_eq!(paused.state, CampaignState::Paused);
    let before = record.calls.len();
    assert!(before < 6);
    local
        .repo
        .transition(None, &c.id, &[CampaignState::Paused], CampaignState::Running, Utc::now(), None)
        .await
        .unwrap();
    wait_state(&local, &c.id, CampaignState::Completed, 90).await;
    let record = sim_record(&local);
    assert_eq!(record.calls.len(), 6, "resume continued with the rest, nobody twice");
    assert_counters_match_recount(&local, &c.id).await;
}

/// Outside business hours nothing is dialed; contacts outside their own window are deferred
/// without being charged.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hours_are_enforced_at_dial_time() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    let tzv: chrono_tz::Tz = tz.parse().unwrap();
    let hour = Utc::now().with_timezone(&tzv).format("%H").to_string().parse::<u32>().unwrap();
    // A one-hour business window that closed an hour ago, every day.
    let closed = SettingsInput {
        business_hours: Some(shared::domain::settings::BusinessHoursInput {
            enabled: Some(true),
            days: Some(vec![1, 2, 3, 4, 5, 6, 7]),
            start_time: Some(format!("{:02}:00", hour - 2)),
            end_time: Some(format!("{:02}:00", hour - 1)),
        }),
        ..quick(tz)
    };
    let c = running_campaign(&local.repo, closed, &csv(&numbers(2), tz), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    assert!(matches!(out, DialOutcome::Closed(_)), "{out:?}");
    assert!(sim_record(&local).calls.is_empty());

    // Contacts whose own zone is at night: deferred, not dialed, not charged.
    let night = ["Pacific/Honolulu", "Asia/Tokyo", "Europe/Berlin", "America/New_York"]
        .into_iter()
        .find(|z| {
            let t: chrono_tz::Tz = z.parse().unwrap();
            let h = Utc::now().with_timezone(&t).format("%H").to_string().parse::<u32>().unwrap();
            !(7..=21).contains(&h)
        })
        .expect("some zone is at night");
    let c2 = running_campaign(&local.repo, quick(tz), &csv(&numbers(2), night), CampaignState::Running).await;
    let out = local.dialer.dial_next(&c2.id).await.unwrap();
    assert_eq!(out, DialOutcome::NothingDue);
    assert!(sim_record(&local).calls.is_empty());
    for ct in local.repo.all_contacts(&c2.id).await.unwrap() {
        assert_eq!(ct.state, ContactState::Pending);
        assert_eq!(ct.attempts, 0);
        assert!(ct.next_attempt_at.unwrap() > Utc::now(), "deferred to the contact's morning");
    }
}

/// moto never produces transaction conflicts or throttling: inject them into the real client.
/// A conflicted claim places no call and changes nothing; the next dial succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn injected_transaction_conflicts_and_throttling_lose_nothing() {
    let faults = FaultInjector::default();
    let sdk = sdk().await;
    let ddb = instrumented_dynamodb(&sdk, None, Some(faults.clone()));
    let local = local(false, |o| o.dynamodb = Some(ddb)).await;
    let tz = daytime_zone();
    let nums = numbers(2);
    sim_script(&local, Script::default());
    let c = running_campaign(&local.repo, quick(tz), &csv(&nums, tz), CampaignState::Running).await;
    // The SDK does not retry a cancelled transaction: one conflict reaches the dialer.
    faults.add("TransactWriteItems", Fault::TransactionConflict, 1);
    let out = local.dialer.dial_next(&c.id).await;
    assert!(out.is_err(), "a conflicted claim is an error for the caller to retry: {out:?}");
    assert_eq!(faults.injected(), 1);
    assert!(sim_record(&local).calls.is_empty(), "no call without a lease");
    assert_counters_match_recount(&local, &c.id).await;
    let after = local.repo.get_campaign(&c.id).await.unwrap().unwrap();
    assert_eq!(after.counters.calling, 0);
    assert_eq!(after.totals.calls_placed, 0);
    // Throttled reads are retried by the SDK and the dial goes through.
    faults.add("GetItem", Fault::Throttle, 1);
    let out = local.dialer.dial_next(&c.id).await.unwrap();
    assert_eq!(faults.injected(), 2, "the throttle was injected and retried by the SDK");
    assert!(matches!(out, DialOutcome::Dialed { .. }), "{out:?}");
    assert_eq!(sim_record(&local).calls.len(), 1);
}

/// Parallel mode: a call placed while slots stay free queues the campaign's next start at
/// once (one pacing delay later); the call that takes the last slot queues nothing (the end
/// of a call wakes the dialer then). Without the first, a campaign with free slots would wait
/// for the next tick between calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_placed_with_slots_free_queues_the_next_start() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    // Calls that outlast the test: no end of a call queues anything here.
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(100_000)), ..Default::default() });
    let input = SettingsInput { max_concurrent_calls: Some(2), ..quick(tz) };
    let c = running_campaign(&local.repo, input, &csv(&numbers(3), tz), CampaignState::Running).await;
    assert_eq!(drain_dial_queue(&local).await, 0);
    let first = local.dialer.dial_next(&c.id).await.expect("dial");
    assert!(matches!(first, DialOutcome::Dialed { .. }), "{first:?}");
    assert_eq!(drain_dial_queue(&local).await, 1, "one slot of two taken: the next start is queued");
    let second = local.dialer.dial_next(&c.id).await.expect("dial");
    assert!(matches!(second, DialOutcome::Dialed { .. }), "{second:?}");
    assert_eq!(drain_dial_queue(&local).await, 0, "the last slot taken: nothing queued");
    assert_eq!(sim_record(&local).calls.len(), 2);
}

/// An SQS message delivered twice leads to two dial attempts; the claim's conditions let
/// only one call through per slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_queue_delivery_dials_once() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    sim_script(&local, Script { default: twilio_sim::Plan::One(ok(30)), ..Default::default() });
    let c = running_campaign(&local.repo, quick(tz), &csv(&numbers(3), tz), CampaignState::Running).await;
    let body = serde_json::json!({ "campaign_id": c.id }).to_string();
    let event: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(serde_json::json!({
        "Records": [
            { "messageId": "m1", "body": body, "eventSource": "aws:sqs" },
            { "messageId": "m1", "body": body, "eventSource": "aws:sqs" }
        ]
    }))
    .unwrap();
    let (a, b) = tokio::join!(dialer::handle_sqs(&local.dialer, event.clone()), dialer::handle_sqs(&local.dialer, event));
    assert!(a.batch_item_failures.is_empty() && b.batch_item_failures.is_empty());
    assert_eq!(sim_record(&local).calls.len(), 1, "four deliveries, one slot, one call");
}
