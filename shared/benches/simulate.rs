//! The dry run of 100,000 contacts, on one core (the simulation is single-threaded).
//!
//!   cargo bench -p shared --bench simulate
//!
//! The contacts are spread over area codes in six US zones (Alaska's spans two), London and
//! Sydney, some with a timezone or ZIP column, a few on the do-not-call list. The campaign is
//! the README's shape: New York, business hours Mon-Fri 09:00-17:00, 10 calls at once, 2 s
//! between starts, 3 retries at 1, 4 and 24 h, 35% answered, 60 s calls: about 200,000 calls
//! over some weeks, so most contacts wait for business hours, their window or a retry.

use std::collections::{BTreeMap, HashSet};

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

use shared::domain::compliance::locate;
use shared::domain::settings::{BusinessHoursInput, PacingInput, SettingsInput};
use shared::domain::simulate::{Assumptions, SimContact, SimFilter, SimPage, simulate};
use shared::domain::{ContactState, Settings};

const CONTACTS: usize = 100_000;

fn settings() -> Settings {
    SettingsInput {
        agent_id: Some("a".into()),
        timezone: Some("America/New_York".into()),
        pacing: Some(PacingInput {
            delay_seconds: Some(2),
        }),
        max_concurrent_calls: Some(10),
        business_hours: Some(BusinessHoursInput {
            enabled: Some(true),
            days: Some(vec![1, 2, 3, 4, 5]),
            start_time: Some("09:00".into()),
            end_time: Some("17:00".into()),
        }),
        ..Default::default()
    }
    .validate(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), false)
    .expect("valid settings")
}

pub fn contacts(n: usize) -> Vec<SimContact> {
    let prefixes = [
        "+1202", "+1213", "+1305", "+1312", "+1907", "+1808", "+1405", "+1206",
    ];
    (0..n)
        .map(|i| {
            let phone = match i % 10 {
                8 => format!("+4420{:08}", 79_460_000 + i % 10_000),
                9 => format!("+612{:08}", 55_500_000 + i % 100_000),
                k => format!("{}{:07}", prefixes[k % prefixes.len()], 2_000_000 + i / 10),
            };
            let mut meta = BTreeMap::new();
            if i % 7 == 0 {
                meta.insert("timezone".to_string(), "America/Chicago".to_string());
            }
            if i % 11 == 0 {
                meta.insert("zip".to_string(), "33101".to_string());
            }
            SimContact {
                location: locate(&phone, &meta),
                phone,
                state: ContactState::Pending,
                attempts: 0,
                due: None,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let s = settings();
    let cs = contacts(CONTACTS);
    let dnc: HashSet<String> = cs.iter().step_by(97).map(|c| c.phone.clone()).collect();
    let a = Assumptions::new(Utc.with_ymd_and_hms(2026, 1, 12, 3, 0, 0).unwrap());
    let page = SimPage {
        filter: SimFilter::All,
        offset: 0,
        limit: 100,
    };
    let sim = simulate(&s, &cs, &dnc, &a, page);
    eprintln!(
        "100,000 contacts: {} calls, {} completed, {} failed, {} skipped, completes at {:?}",
        sim.summary.calls,
        sim.summary.completed,
        sim.summary.failed,
        sim.summary.skipped,
        sim.completes_at
    );
    // The machine these run on is shared: besides criterion's wall-clock estimate, the CPU
    // time this thread spent per run (Linux `/proc/thread-self/schedstat`, nanoseconds), which
    // other processes do not inflate.
    let mut cpu: Vec<u64> = (0..7)
        .filter_map(|_| {
            let before = thread_cpu_ns()?;
            std::hint::black_box(simulate(&s, &cs, &dnc, &a, page));
            Some(thread_cpu_ns()? - before)
        })
        .collect();
    cpu.sort_unstable();
    if let Some(median) = cpu.get(cpu.len() / 2) {
        eprintln!(
            "CPU time per run over {} runs: median {:.3} s, min {:.3} s, max {:.3} s",
            cpu.len(),
            *median as f64 / 1e9,
            cpu[0] as f64 / 1e9,
            cpu[cpu.len() - 1] as f64 / 1e9
        );
    }
    let mut g = c.benchmark_group("simulate");
    g.sample_size(10);
    g.bench_function("100k_contacts", |b| {
        b.iter(|| simulate(&s, &cs, &dnc, &a, page))
    });
    g.finish();
}

/// CPU time of this thread so far, in nanoseconds (Linux).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

criterion_group!(benches, bench);
criterion_main!(benches);
