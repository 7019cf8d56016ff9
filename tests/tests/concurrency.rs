//! Concurrency, truly in parallel: many tasks on a multi-threaded runtime racing against the
//! local DynamoDB (dynoxide, which runs requests concurrently and makes each one atomic, as
//! DynamoDB does) and the Twilio simulator. Assertions come from the simulator's record of what
//! was dialed and when, not only from our own tables.
//!
//! The first two tests check the emulator itself: if it ever let two conditional writes or two
//! conflicting transactions both win, every other test here would prove nothing.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};
use common::dialing::*;
use common::*;
use shared::domain::settings::PacingInput;
use shared::domain::{CampaignState, SettingsInput};
use shared::service::dial::{DialOutcome, Dialer};
use twilio_sim::{Behaviour, CallbackMode, Plan, Script};

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// 24 conditional puts of one new item at once, 10 rounds: exactly one wins each round; 24
/// concurrent ADDs on one counter lose no update.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emulator_conditional_writes_have_one_winner() {
    let repo = fresh_repo().await;
    let (client, table) = (repo.client().clone(), repo.table().to_string());
    for round in 0..10 {
        let mut tasks = Vec::new();
        for writer in 0..24 {
            let (client, table) = (client.clone(), table.clone());
            tasks.push(tokio::spawn(async move {
                client
                    .put_item()
                    .table_name(table)
                    .item("pk", s(format!("RACE#{round}")))
                    .item("sk", s("ONE"))
                    .item("writer", AttributeValue::N(writer.to_string()))
                    .condition_expression("attribute_not_exists(pk)")
                    .send()
                    .await
                    .is_ok()
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.expect("no panic"));
        }
        assert_eq!(winners, 1, "round {round}: exactly one conditional put wins");
    }
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let (client, table) = (client.clone(), table.clone());
        tasks.push(tokio::spawn(async move {
            client
                .update_item()
                .table_name(table)
                .key("pk", s("COUNTER"))
                .key("sk", s("ONE"))
                .update_expression("ADD n :one")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .send()
                .await
                .expect("update")
        }));
    }
    for t in tasks {
        t.await.expect("no panic");
    }
    let item = client
        .get_item()
        .table_name(&table)
        .key("pk", s("COUNTER"))
        .key("sk", s("ONE"))
        .send()
        .await
        .expect("get")
        .item
        .expect("counter");
    assert_eq!(item["n"], AttributeValue::N("24".into()), "no lost update");
}

/// 16 transactions at once, 20 rounds, each writing six items and claiming a seventh on the
/// condition that it is free (the shape of our claim: a slot, a lease and an attempt in one
/// transaction, the condition anywhere in it): exactly one commits, its six writes are all
/// there, and no loser's half-applied write survives or undoes the winner's. Unpatched moto
/// fails this (a loser's rollback restores a copy of the table taken before the winner wrote).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn emulator_conflicting_transactions_commit_once() {
    let repo = fresh_repo().await;
    let (client, table) = (repo.client().clone(), repo.table().to_string());
    for round in 0..20 {
        let mut tasks = Vec::new();
        for writer in 0..16 {
            let (client, table) = (client.clone(), table.clone());
            tasks.push(tokio::spawn(async move {
                let item = |sk: String, expr: &str, cond: Option<&str>| {
                    let mut u = Update::builder()
                        .table_name(&table)
                        .key("pk", s(format!("TX#{round}")))
                        .key("sk", s(sk))
                        .update_expression(expr)
                        .expression_attribute_values(":one", AttributeValue::N("1".into()))
                        .expression_attribute_values(":me", s(format!("w{writer}")));
                    if let Some(c) = cond {
                        u = u.condition_expression(c).expression_attribute_names("#o", "owner");
                    }
                    TransactWriteItem::builder().update(u.build().expect("update")).build()
                };
                let mut tx = client.transact_write_items();
                for k in 0..6 {
                    tx = tx.transact_items(item(format!("W{k}"), "ADD n :one SET w = :me", None));
                }
                tx = tx.transact_items(item("CLAIM".into(), "SET #o = :me ADD n :one", Some("attribute_not_exists(#o)")));
                tx.send().await.is_ok()
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.expect("no panic"));
        }
        assert_eq!(winners, 1, "round {round}: exactly one transaction commits");
        let items = client
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(format!("TX#{round}")))
            .send()
            .await
            .expect("query")
            .items
            .unwrap_or_default();
        assert_eq!(items.len(), 7, "round {round}: all the winner's items are there");
        let owner = items.iter().find(|i| i["sk"] == s("CLAIM")).and_then(|i| i.get("owner").cloned()).expect("claimed");
        for i in &items {
            assert_eq!(i["n"], AttributeValue::N("1".into()), "round {round}: {:?} written once, by the winner only", i["sk"]);
            if i["sk"] != s("CLAIM") {
                assert_eq!(i["w"], owner, "round {round}: every write is the winner's");
            }
        }
    }
}

fn quick_with(tz: &str, max_concurrent: u32) -> SettingsInput {
    SettingsInput { max_concurrent_calls: Some(max_concurrent), ..quick(tz) }
}

/// `n` dialer loops on one campaign until it completes or stops running.
fn spawn_dialers(dialer: &Arc<Dialer>, campaign_id: &str, n: usize) -> Vec<tokio::task::JoinHandle<u32>> {
    (0..n)
        .map(|_| {
            let (d, id) = (dialer.clone(), campaign_id.to_string());
            tokio::spawn(async move {
                let mut dialed = 0u32;
                loop {
                    match d.dial_next(&id).await {
                        Ok(DialOutcome::Dialed { .. }) => dialed += 1,
                        Ok(DialOutcome::Completed) | Ok(DialOutcome::NotRunning(_)) => return dialed,
                        Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                        Err(e) => panic!("dial failed: {e}"),
                    }
                }
            })
        })
        .collect()
}

/// No call to one number overlaps another call to it (invariant 1), from the simulator's record.
fn assert_no_overlap_per_number(record: &twilio_sim::Record) {
    let mut by_number: HashMap<&str, Vec<_>> = HashMap::new();
    for c in &record.calls {
        by_number.entry(c.to.as_str()).or_default().push((c.created_at, c.ended_at));
    }
    for (number, mut spans) in by_number {
        spans.sort();
        for w in spans.windows(2) {
            let end = w[0].1.expect("every call ended");
            assert!(w[1].0 >= end, "two calls to {number} overlapped");
        }
    }
}

/// Ten campaigns of one owner dialing at once, four dialers each (40 loops in parallel),
/// `max_concurrent_calls` 2 each: every number dialed exactly once, no campaign ever over its
/// slots (per campaign, from the simulator's record), every campaign completes with counters
/// equal to a recount.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_campaigns_of_one_owner_dial_at_once() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    sim_script(&local, Script { default: Plan::One(ok(400)), ..Default::default() });
    let all = numbers(300);
    let mut campaigns = Vec::new();
    for chunk in all.chunks(30) {
        let c = running_campaign(&local.repo, quick_with(tz, 2), &csv(chunk, tz), CampaignState::Running).await;
        campaigns.push((c.id, chunk.to_vec()));
    }
    let dialer = Arc::new(local.dialer.clone());
    let tasks: Vec<_> = campaigns.iter().flat_map(|(id, _)| spawn_dialers(&dialer, id, 4)).collect();
    let mut total = 0;
    for t in tasks {
        total += tokio::time::timeout(Duration::from_secs(600), t).await.expect("dialers finish").expect("no panic");
    }
    assert_eq!(total, 300, "every contact dialed once");
    let record = sim_record(&local);
    assert_eq!(record.calls.len(), 300);
    assert_eq!(record.calls.iter().map(|c| c.to.as_str()).collect::<HashSet<_>>().len(), 300, "no number dialed twice");
    assert_no_overlap_per_number(&record);
    let mut parallel_somewhere = false;
    for (id, nums) in &campaigns {
        let mine: HashSet<&str> = nums.iter().map(String::as_str).collect();
        let calls: Vec<_> = record.calls.iter().filter(|c| mine.contains(c.to.as_str())).cloned().collect();
        let peak = twilio_sim::max_in_flight(&calls);
        assert!(peak <= 2, "campaign {id} had {peak} calls in flight (max_concurrent_calls 2)");
        parallel_somewhere |= peak == 2;
        let c = eventually(60, "campaign completed", || async {
            let c = local.repo.get_campaign(id).await.ok()??;
            (c.state == CampaignState::Completed).then_some(c)
        })
        .await;
        assert_eq!(c.counters.completed, 30);
        assert_counters_match_recount(&local, id).await;
    }
    assert!(parallel_somewhere, "the slots were used in parallel");
    assert!(record.max_in_flight > 2, "campaigns dialed at the same time ({} in flight at most)", record.max_in_flight);
}

/// Webhooks, the watchdog and dialers racing on the same contacts. Leases are short (1 s) so the
/// watchdog reconciles calls while they are live and while their callbacks arrive: a third of
/// the calls outlive their lease, a third lose their terminal callback (only the watchdog can
/// finish them), a third send every callback twice and out of order. Eight dialer loops and two
/// tick loops (the watchdog) run at once. Every number is dialed exactly once, never two calls
/// to one number, never more than 5 in flight, and the counters equal a recount at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_watchdog_and_dialers_race() {
    let local = local(false, |o| {
        o.lease = Duration::from_secs(1);
        o.no_call_grace = Duration::from_secs(5);
    })
    .await;
    let tz = daytime_zone();
    let nums = numbers(60);
    let mut script = Script::default();
    for (i, n) in nums.iter().enumerate() {
        let b = match i % 3 {
            // 1,000 s at time scale 0.002: 2 s, twice the lease.
            0 => ok(1000),
            1 => Behaviour { callbacks: CallbackMode::LoseTerminal, ..ok(100) },
            _ => Behaviour { callbacks: CallbackMode::OutOfOrder, ..ok(100) },
        };
        script = script.with(n.clone(), b);
    }
    sim_script(&local, script);
    let c = running_campaign(&local.repo, quick_with(tz, 5), &csv(&nums, tz), CampaignState::Running).await;
    let dialer = Arc::new(local.dialer.clone());
    let dialers = spawn_dialers(&dialer, &c.id, 8);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdogs: Vec<_> = (0..2)
        .map(|_| {
            let (d, stop) = (dialer.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    d.tick().await.expect("tick");
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
            })
        })
        .collect();
    let mut total = 0;
    for t in dialers {
        total += tokio::time::timeout(Duration::from_secs(600), t).await.expect("dialers finish").expect("no panic");
    }
    // The last calls may finish only through the watchdog: keep it running until completion.
    let done = eventually(120, "campaign completed", || async {
        let c = local.repo.get_campaign(&c.id).await.ok()??;
        (c.state == CampaignState::Completed).then_some(c)
    })
    .await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in watchdogs {
        w.await.expect("no panic");
    }
    let record = sim_record(&local);
    assert_eq!(record.calls.len(), 60, "every contact dialed exactly once (dialers counted {total})");
    assert_eq!(record.calls.iter().map(|c| c.to.as_str()).collect::<HashSet<_>>().len(), 60, "no number dialed twice");
    assert_no_overlap_per_number(&record);
    assert!(record.max_in_flight <= 5, "{} calls in flight (max_concurrent_calls 5)", record.max_in_flight);
    assert_eq!(done.counters.completed, 60, "{:?}", done.counters);
    assert_eq!(done.totals.calls_answered, 60, "each answered call counted once");
    assert_counters_match_recount(&local, &c.id).await;
}

/// Pacing under racing dialers (invariant 3): three slots, a 2 s delay, six dialer loops at once.
/// Slots alone would let three calls start together; pacing must space every start by the delay.
/// From the simulator's record: consecutive call creations at least 1 s apart, and the five
/// spread over at least 7 s (pacing spaces the claims by 2 s; a create's latency after its claim
/// can move one start by a fraction of that on a loaded machine, not the whole spread). Fails if the claim's
/// `next_dial_ms <= now` condition, or the write of the next instant, is removed: the dialers'
/// pre-checks all read the same campaign and start their calls within milliseconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pacing_holds_between_racing_dialers() {
    let local = local(false, |_| {}).await;
    let tz = daytime_zone();
    sim_script(&local, Script { default: Plan::One(ok(3000)), ..Default::default() });
    let input = SettingsInput { pacing: Some(PacingInput { delay_seconds: Some(2) }), ..quick_with(tz, 3) };
    let c = running_campaign(&local.repo, input, &csv(&numbers(5), tz), CampaignState::Running).await;
    let dialer = Arc::new(local.dialer.clone());
    let mut total = 0;
    for t in spawn_dialers(&dialer, &c.id, 6) {
        total += tokio::time::timeout(Duration::from_secs(120), t).await.expect("dialers finish").expect("no panic");
    }
    assert_eq!(total, 5);
    let record = sim_record(&local);
    let mut starts: Vec<_> = record.calls.iter().map(|c| c.created_at).collect();
    starts.sort();
    assert_eq!(starts.len(), 5);
    for w in starts.windows(2) {
        let gap = (w[1] - w[0]).num_milliseconds();
        assert!(gap >= 1000, "two calls started {gap} ms apart with a 2 s pacing delay");
    }
    let spread = (starts[4] - starts[0]).num_milliseconds();
    assert!(spread >= 7000, "five calls started within {spread} ms with a 2 s pacing delay");
    assert!(record.max_in_flight >= 2, "calls overlapped, so the slots did not do the spacing");
}

/// Sequential pacing (invariant 3): with one slot, the next call waits for the previous call's
/// end plus the delay, whoever triggers it (the webhook's queued message, the ticker, four extra
/// dialer loops). From the simulator's record: every start at least 2 s (less 250 ms) after the
/// previous call ended (robust: the start follows its claim, the claim follows the webhook's
/// `end + delay`, and the webhook follows the end). Fails if the terminal transaction stops writing `end + delay`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sequential_pacing_counts_from_the_previous_end() {
    let local = local(true, |_| {}).await;
    let tz = daytime_zone();
    sim_script(&local, Script { default: Plan::One(ok(500)), ..Default::default() });
    let input = SettingsInput { pacing: Some(PacingInput { delay_seconds: Some(2) }), ..quick_with(tz, 1) };
    let c = running_campaign(&local.repo, input, &csv(&numbers(4), tz), CampaignState::Running).await;
    let dialer = Arc::new(local.dialer.clone());
    for t in spawn_dialers(&dialer, &c.id, 4) {
        tokio::time::timeout(Duration::from_secs(120), t).await.expect("dialers finish").expect("no panic");
    }
    let record = sim_record(&local);
    let mut calls: Vec<_> = record.calls.iter().map(|c| (c.created_at, c.ended_at.expect("ended"))).collect();
    calls.sort();
    assert_eq!(calls.len(), 4);
    for w in calls.windows(2) {
        let gap = (w[1].0 - w[0].1).num_milliseconds();
        assert!(gap >= 1750, "a call started {gap} ms after the previous one ended (delay 2 s)");
    }
}
