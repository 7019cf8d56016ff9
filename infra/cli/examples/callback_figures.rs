//! Figures for issue 14 item 6, from real runs against the local stack (not a timed test): per
//! 1,000 status callbacks, how many met a storage conflict, how many retries inside the request
//! that took, how many were still answered 503, how many Twilio retried (the `#rc=`/`#rp=`
//! connection overrides) and how many were lost, with `max_concurrent_calls` 10 and
//! `TransactionConflict` injected into a share of every TransactWriteItems (the claim's and the
//! terminal callback's). Everything else is real: dynoxide, moto, the simulator's signed
//! callbacks over HTTP to the local webhook, ten dialers racing for the slots, the tick's
//! watchdog. Needs `make stack-up`.
//!
//!     cargo run -p campaigns --example callback_figures -- [contacts] [rate ...]
//!
//! Defaults: 250 contacts (about 1,000 callbacks), rates 0.02 0.05 0.2.

use std::sync::atomic::Ordering;
use std::time::Duration;

use campaigns::fixtures::{csv, daytime, numbers, seed_campaign};
use campaigns::local::{LocalOptions, start};
use shared::adapters::metrics::{Fault, FaultInjector, instrumented_dynamodb};
use shared::domain::settings::PacingInput;
use shared::domain::{CampaignState, SettingsInput};
use shared::service::dial::{CALLBACK_CONFLICTS, CALLBACK_RETRIES};

#[derive(Debug, Default)]
struct Figures {
    callbacks: u64,
    terminal: u64,
    conflicts: u64,
    retries_in_request: u64,
    answered_503: u64,
    twilio_retries: u64,
    lost_terminal: u64,
    injected: u64,
    max_in_flight: usize,
    seconds: f64,
}

async fn run(contacts: usize, rate: f64) -> anyhow::Result<Figures> {
    let faults = FaultInjector::default();
    let sdk = shared::config::local_aws_config(&shared::config::local_endpoint()).await;
    let ddb = instrumented_dynamodb(&sdk, None, Some(faults.clone()));
    let id = uuid::Uuid::new_v4().simple().to_string();
    let local = start(LocalOptions {
        table: format!("cbfig-{id}"),
        bucket: format!("cbfig-{id}"),
        queue: format!("cbfig-{id}"),
        schedule_group: "default".into(),
        port: 0,
        tick: Duration::from_secs(3600),
        watch: Duration::from_secs(3600),
        // A 30 s call lasts 0.3 s.
        sim_time_scale: 0.01,
        dynamodb: Some(ddb),
        // Driven below by ten dialers and a tick every 2 s (watchdog), not by the queue: moto's
        // SQS slows down as undelivered dial messages pile up.
        background: false,
        ..LocalOptions::default()
    })
    .await?;
    let (zone, _) = daytime();
    let input = SettingsInput {
        agent_id: Some("a".into()),
        timezone: Some(zone.into()),
        max_concurrent_calls: Some(10),
        pacing: Some(PacingInput {
            delay_seconds: Some(0),
        }),
        ..Default::default()
    };
    seed_campaign(&local.repo, &id, "bench", input, &csv(&numbers(contacts), zone), CampaignState::Running).await?;

    let (conflicts0, retries0) = (
        CALLBACK_CONFLICTS.load(Ordering::Relaxed),
        CALLBACK_RETRIES.load(Ordering::Relaxed),
    );
    faults.add_rate("TransactWriteItems", Fault::TransactionConflict, rate);
    let started = std::time::Instant::now();
    // Ten dialers at once keep the ten slots full.
    let dialers: Vec<_> = (0..10)
        .map(|_| {
            let (dialer, id) = (local.dialer.clone(), id.clone());
            tokio::spawn(async move {
                loop {
                    match dialer.dial_next(&id).await {
                        Ok(shared::service::dial::DialOutcome::Completed) => break,
                        Ok(shared::service::dial::DialOutcome::NotRunning(_)) => break,
                        Ok(shared::service::dial::DialOutcome::Dialed { .. }) => {}
                        _ => tokio::time::sleep(Duration::from_millis(250)).await,
                    }
                }
            })
        })
        .collect();
    let deadline = started + Duration::from_secs(900);
    let mut last_tick = std::time::Instant::now();
    loop {
        if last_tick.elapsed() > Duration::from_secs(2) {
            local.dialer.tick().await?;
            last_tick = std::time::Instant::now();
        }
        let campaign = local.repo.get_campaign(&id).await?.expect("campaign");
        if campaign.state == CampaignState::Completed {
            break;
        }
        if std::env::var_os("FIGURES_PROGRESS").is_some() {
            eprintln!(
                "{:.0} s: {:?}",
                started.elapsed().as_secs_f64(),
                campaign.counters
            );
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "not completed after 15 minutes: {:?}",
            campaign.counters
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    for d in dialers {
        d.abort();
    }
    faults.clear();
    let record = local.sim.as_ref().expect("simulator").record();
    let mut f = Figures {
        conflicts: CALLBACK_CONFLICTS.load(Ordering::Relaxed) - conflicts0,
        retries_in_request: CALLBACK_RETRIES.load(Ordering::Relaxed) - retries0,
        injected: faults.injected(),
        max_in_flight: record.max_in_flight,
        seconds,
        ..Figures::default()
    };
    for call in &record.calls {
        for cb in &call.callbacks {
            if cb.attempt == 1 {
                f.callbacks += 1;
            } else {
                f.twilio_retries += 1;
            }
            if cb.http_status == Some(503) {
                f.answered_503 += 1;
            }
        }
        let terminal: Vec<_> = call
            .callbacks
            .iter()
            .filter(|cb| cb.status == call.status)
            .collect();
        if !terminal.is_empty() {
            f.terminal += 1;
            if !terminal.iter().any(|cb| cb.delivered) {
                f.lost_terminal += 1;
            }
        }
    }
    Ok(f)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let contacts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(250);
    let mut rates: Vec<f64> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    if rates.is_empty() {
        rates = vec![0.02, 0.05, 0.2];
    }
    println!(
        "{contacts} contacts, max_concurrent_calls 10, TransactionConflict injected into a share of TransactWriteItems"
    );
    println!(
        "| injected rate | callbacks | conflicts /1000 | in-request retries /1000 | answered 503 /1000 | Twilio retries /1000 | terminal callbacks lost | faults injected | calls in flight (max) | run |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for rate in rates {
        let f = run(contacts, rate).await?;
        let per = |n: u64| 1000.0 * n as f64 / f.callbacks.max(1) as f64;
        println!(
            "| {rate} | {} ({} terminal) | {:.1} | {:.1} | {:.2} | {:.2} | {} | {} | {} | {:.0} s |",
            f.callbacks,
            f.terminal,
            per(f.conflicts),
            per(f.retries_in_request),
            per(f.answered_503),
            per(f.twilio_retries),
            f.lost_terminal,
            f.injected,
            f.max_in_flight,
            f.seconds
        );
    }
    Ok(())
}
