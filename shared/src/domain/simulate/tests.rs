//! The dry run at chosen instants (DST transitions included), against the dialer's own rules.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::domain::compliance::{evaluate, locate};
use crate::domain::settings::{PacingInput, RetryPolicyInput, SettingsInput};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn settings(input: SettingsInput) -> Settings {
    SettingsInput {
        agent_id: Some("a".into()),
        ..input
    }
    .validate(utc(2026, 1, 1, 0, 0), false)
    .unwrap()
}

fn ny(delay: i64, max: u32) -> Settings {
    settings(SettingsInput {
        timezone: Some("America/New_York".into()),
        pacing: Some(PacingInput {
            delay_seconds: Some(delay),
        }),
        max_concurrent_calls: Some(max),
        ..Default::default()
    })
}

fn contact(phone: &str, meta: &[(&str, &str)]) -> SimContact {
    let m: BTreeMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    SimContact {
        phone: phone.into(),
        location: locate(phone, &m),
        state: ContactState::Pending,
        attempts: 0,
        due: None,
    }
}

fn all() -> SimPage {
    SimPage {
        filter: SimFilter::All,
        offset: 0,
        limit: 1000,
    }
}

fn answering(start: DateTime<Utc>) -> Assumptions {
    Assumptions {
        answer_rate: 1.0,
        ..Assumptions::new(start)
    }
}

fn starts(sim: &Simulation) -> Vec<DateTime<Utc>> {
    sim.contacts
        .iter()
        .flat_map(|c| c.calls.iter().map(|k| k.at))
        .collect()
}

#[test]
fn before_dawn_each_contact_waits_for_its_own_morning() {
    // 05:00 in New York, 02:00 in Los Angeles: each opens at its own 08:00.
    let s = ny(10, 1);
    let cs = [contact("+12025550101", &[]), contact("+12135550102", &[])];
    let sim = simulate(
        &s,
        &cs,
        &HashSet::new(),
        &answering(utc(2026, 1, 14, 10, 0)),
        all(),
    );
    assert_eq!(
        starts(&sim),
        [utc(2026, 1, 14, 13, 0), utc(2026, 1, 14, 16, 0)]
    );
    let first = &sim.contacts[0];
    assert_eq!(first.result, SimResult::Completed);
    assert_eq!(first.waited_for, [Rule::RecipientWindow]);
    assert_eq!(
        first.calls[0].local,
        [LocalTime {
            zone: "America/New_York".into(),
            local_time: "2026-01-14T08:00:00-05:00".into()
        }]
    );
    assert_eq!(
        sim.contacts[1].calls[0].local[0].local_time,
        "2026-01-14T08:00:00-08:00"
    );
    assert_eq!(sim.completes_at, Some(utc(2026, 1, 14, 16, 1)));
    assert_eq!(
        (sim.summary.called, sim.summary.calls, sim.summary.completed),
        (2, 2, 2)
    );
    assert_eq!(
        sim.summary.waited,
        [RuleCount {
            rule: Rule::RecipientWindow,
            contacts: 2
        }]
    );
}

#[test]
fn the_us_spring_forward_moves_the_opening_an_hour_earlier_in_utc() {
    // 2026-03-08, 01:00 EST: at 02:00 the clocks jump to 03:00 EDT, so 08:00 is 12:00 UTC, not
    // 13:00 as the day before. A London number (still GMT) opens at 08:00 UTC.
    let s = ny(0, 1);
    let cs = [contact("+12025550101", &[]), contact("+442079460000", &[])];
    let sim = simulate(
        &s,
        &cs,
        &HashSet::new(),
        &answering(utc(2026, 3, 8, 6, 0)),
        all(),
    );
    assert_eq!(
        starts(&sim),
        [utc(2026, 3, 8, 12, 0), utc(2026, 3, 8, 8, 0)]
    );
    assert_eq!(
        sim.contacts[0].calls[0].local[0].local_time,
        "2026-03-08T08:00:00-04:00"
    );
    // The same a week later in the autumn: fall back on 2026-11-01 (EDT -> EST).
    let sim = simulate(
        &s,
        &cs[..1],
        &HashSet::new(),
        &answering(utc(2026, 11, 1, 5, 0)),
        all(),
    );
    assert_eq!(starts(&sim), [utc(2026, 11, 1, 13, 0)]);
}

#[test]
fn a_multi_zone_number_waits_for_every_zone() {
    // Alaska 907: Anchorage and Adak. 17:30 UTC is 08:30 in Anchorage, 07:30 in Adak.
    let s = ny(0, 1);
    let sim = simulate(
        &s,
        &[contact("+19075551000", &[])],
        &HashSet::new(),
        &answering(utc(2026, 1, 14, 17, 30)),
        all(),
    );
    let call = &sim.contacts[0].calls[0];
    assert_eq!(call.at, utc(2026, 1, 14, 18, 0));
    let zones: Vec<&str> = call.local.iter().map(|l| l.zone.as_str()).collect();
    assert_eq!(zones, ["America/Adak", "America/Anchorage"]);
}

#[test]
fn pacing_and_slots_as_the_claim_holds_them() {
    let day = utc(2026, 1, 14, 15, 0); // 10:00 in New York
    let cs: Vec<SimContact> = (0..5)
        .map(|i| contact(&format!("+1202555{:04}", 1000 + i), &[]))
        .collect();
    // Two at once, 10 s between starts, 60 s calls.
    let sim = simulate(&ny(10, 2), &cs, &HashSet::new(), &answering(day), all());
    let secs: Vec<i64> = starts(&sim)
        .iter()
        .map(|t| (*t - day).num_seconds())
        .collect();
    assert_eq!(secs, [0, 10, 60, 70, 120]);
    // Sequential: the next call starts 10 s after the previous one ended.
    let sim = simulate(&ny(10, 1), &cs, &HashSet::new(), &answering(day), all());
    let secs: Vec<i64> = starts(&sim)
        .iter()
        .map(|t| (*t - day).num_seconds())
        .collect();
    assert_eq!(secs, [0, 70, 140, 210, 280]);
    assert_eq!(sim.completes_at, Some(day + Duration::seconds(340)));
}

#[test]
fn retries_follow_the_policy_and_the_cap_holds_them() {
    let day = utc(2026, 1, 14, 14, 0); // 09:00 in New York
    let s = settings(SettingsInput {
        timezone: Some("America/New_York".into()),
        pacing: Some(PacingInput {
            delay_seconds: Some(0),
        }),
        retry_policy: Some(RetryPolicyInput {
            max_retries: Some(4),
            backoff_hours: Some(vec![1.0]),
            retryable_outcomes: None,
        }),
        ..Default::default()
    });
    let never = Assumptions {
        answer_rate: 0.0,
        ..Assumptions::new(day)
    };
    let sim = simulate(
        &s,
        &[contact("+12025550101", &[])],
        &HashSet::new(),
        &never,
        all(),
    );
    let c = &sim.contacts[0];
    assert_eq!(c.result, SimResult::Failed);
    // Three calls an hour apart (each rings 30 s), then the cap of 3 per 24 h holds the fourth
    // until the first is 24 h old, when it is 09:00 in New York again.
    let t: Vec<DateTime<Utc>> = c.calls.iter().map(|k| k.at).collect();
    let hour = Duration::hours(1) + Duration::seconds(30);
    assert_eq!(t[..3], [day, day + hour, day + hour + hour]);
    assert_eq!(t[3], day + Duration::hours(24));
    assert_eq!(t.len(), 5);
    assert!(
        c.waited_for.contains(&Rule::FrequencyCap),
        "{:?}",
        c.waited_for
    );
}

#[test]
fn skips_blocked_dates_and_business_hours() {
    // Christmas Day is blocked; business hours Mon-Fri 09:00-17:00 in New York.
    let s = settings(SettingsInput {
        timezone: Some("America/New_York".into()),
        blocked_dates: Some(vec!["2026-12-25".into()]),
        business_hours: Some(crate::domain::settings::BusinessHoursInput {
            enabled: Some(true),
            days: Some(vec![1, 2, 3, 4, 5]),
            start_time: Some("09:00".into()),
            end_time: Some("17:00".into()),
        }),
        unknown_timezone: Some("skip".into()),
        ..Default::default()
    });
    let cs = [
        contact("+12025550101", &[]),
        contact("+12025550102", &[]),
        // No zone from the number (an unassigned prefix) and the setting says skip.
        contact("+999123456", &[]),
    ];
    let dnc: HashSet<String> = ["+12025550102".to_string()].into();
    // Christmas Day, 10:00 in New York (a Friday): the next business day is Monday the 28th.
    let sim = simulate(&s, &cs, &dnc, &answering(utc(2026, 12, 25, 15, 0)), all());
    assert_eq!(starts(&sim), [utc(2026, 12, 28, 14, 0)]);
    assert!(sim.contacts[0].waited_for.contains(&Rule::BlockedDates));
    assert_eq!(sim.contacts[1].result, SimResult::Skipped);
    assert_eq!(
        sim.contacts[1].reason.as_deref(),
        Some("on the owner's do-not-call list")
    );
    assert_eq!(sim.summary.skipped, 2);
    assert_eq!(
        sim.calls_per_day,
        [DayCount {
            date: NaiveDate::from_ymd_opt(2026, 12, 28).unwrap(),
            calls: 1
        }]
    );
}

/// Every call the dry run places is one the dialer's `evaluate` allows at that instant, with
/// the history of the number's earlier calls; and one minute before a call that followed a
/// wait, the dialer would not have dialed.
#[test]
fn every_planned_call_is_one_the_dialer_would_place() {
    let s = ny(5, 3);
    let phones = [
        "+12025550101",
        "+12135550102",
        "+13055550103",
        "+19075550104",
        "+18005550105",
        "+447700900123",
        "+61255501234",
    ];
    let cs: Vec<SimContact> = phones.iter().map(|p| contact(p, &[])).collect();
    for start in [
        utc(2026, 1, 14, 4, 8),
        utc(2026, 3, 8, 6, 0),
        utc(2026, 7, 4, 19, 30),
    ] {
        let a = Assumptions {
            answer_rate: 0.3,
            ..Assumptions::new(start)
        };
        let sim = simulate(&s, &cs, &HashSet::new(), &a, all());
        for (c, plan) in cs.iter().zip(&sim.contacts) {
            let mut before: Vec<i64> = Vec::new();
            for call in &plan.calls {
                let e = evaluate(
                    call.at,
                    &s,
                    &c.location,
                    CapFacts::History(&before),
                    DncFacts::Listed(false),
                );
                assert_eq!(
                    e.decision,
                    Decision::Dial,
                    "{} at {}: {:?}",
                    c.phone,
                    call.at,
                    e.audit
                );
                before.push(call.at.timestamp_millis());
            }
            // A contact that waits is not called before its rules allow: its first call is at
            // the first instant `decide` allows, or later (slots, pacing).
            if let Some(first) = plan.calls.first() {
                let opens =
                    crate::domain::compliance::next_allowed(start, &s, &c.location, None).unwrap();
                assert!(
                    first.at >= opens,
                    "{} called at {} before its rules allowed ({opens})",
                    c.phone,
                    first.at
                );
            }
        }
    }
}

#[test]
fn deterministic_and_the_answer_rate_holds() {
    let cs: Vec<SimContact> = (0..10_000)
        .map(|i| contact(&format!("+1202{:07}", 2_000_000 + i), &[]))
        .collect();
    let a = Assumptions::new(utc(2026, 1, 14, 15, 0));
    let s = ny(0, 10);
    let one = simulate(&s, &cs, &HashSet::new(), &a, all());
    let two = simulate(&s, &cs, &HashSet::new(), &a, all());
    assert_eq!(one, two);
    let answered = (0..10_000)
        .filter(|i| answered(&format!("+1202{:07}", 2_000_000 + i), 1, 0.35))
        .count();
    assert!(
        (3300..3700).contains(&answered),
        "{answered} of 10,000 answered at 0.35"
    );
}

#[test]
fn pages_and_filters() {
    let s = ny(0, 1);
    let dnc: HashSet<String> = ["+12025551001".to_string(), "+12025551003".to_string()].into();
    let cs: Vec<SimContact> = (0..5)
        .map(|i| contact(&format!("+1202555{:04}", 1000 + i), &[]))
        .collect();
    let a = answering(utc(2026, 1, 14, 15, 0));
    let page = |filter, offset, limit| SimPage {
        filter,
        offset,
        limit,
    };
    let sim = simulate(&s, &cs, &dnc, &a, page(SimFilter::All, 0, 2));
    assert_eq!((sim.contacts.len(), sim.next_offset), (2, Some(2)));
    let sim = simulate(&s, &cs, &dnc, &a, page(SimFilter::All, 4, 2));
    assert_eq!((sim.contacts.len(), sim.next_offset), (1, None));
    let sim = simulate(&s, &cs, &dnc, &a, page(SimFilter::Skipped, 0, 10));
    let idx: Vec<usize> = sim.contacts.iter().map(|c| c.index).collect();
    assert_eq!(idx, [1, 3]);
    assert_eq!(sim.summary.skip_reasons[0].contacts, 2);
    // Contacts already finished or in a call are counted, not simulated.
    let mut cs = cs;
    cs[0].state = ContactState::Completed;
    cs[2].state = ContactState::Calling;
    let sim = simulate(&s, &cs, &dnc, &a, page(SimFilter::Called, 0, 10));
    assert_eq!(
        (
            sim.summary.already_finished,
            sim.summary.in_call,
            sim.summary.called
        ),
        (1, 1, 1)
    );
}

#[test]
fn a_retry_due_before_a_later_contact_is_called_before_it() {
    // The queue is read in due order: the first contact's retry (an hour after its first call)
    // comes before a contact that is only due in five hours.
    let day = utc(2026, 1, 14, 14, 0); // 09:00 in New York
    let s = settings(SettingsInput {
        timezone: Some("America/New_York".into()),
        pacing: Some(PacingInput {
            delay_seconds: Some(0),
        }),
        retry_policy: Some(RetryPolicyInput {
            max_retries: Some(1),
            backoff_hours: Some(vec![1.0]),
            retryable_outcomes: None,
        }),
        ..Default::default()
    });
    let later = SimContact {
        state: ContactState::Retrying,
        attempts: 1,
        due: Some(day + Duration::hours(5)),
        ..contact("+12025550102", &[])
    };
    let never = Assumptions {
        answer_rate: 0.0,
        ..Assumptions::new(day)
    };
    let sim = simulate(
        &s,
        &[contact("+12025550101", &[]), later],
        &HashSet::new(),
        &never,
        all(),
    );
    let first: Vec<DateTime<Utc>> = sim.contacts[0].calls.iter().map(|k| k.at).collect();
    assert_eq!(
        first,
        [day, day + Duration::hours(1) + Duration::seconds(30)]
    );
    let second: Vec<DateTime<Utc>> = sim.contacts[1].calls.iter().map(|k| k.at).collect();
    assert_eq!(second, [day + Duration::hours(5)]);
    // Never answered, both out of retries: the summary counts them failed.
    assert_eq!(
        (sim.summary.completed, sim.summary.failed, sim.summary.calls),
        (0, 2, 3)
    );
}

#[test]
fn the_summary_and_each_filter_list_what_happened() {
    // 09:00 in New York, 06:00 in Los Angeles: the first is called at once, the second waits
    // for its 08:00, the third is on the do-not-call list.
    let day = utc(2026, 1, 14, 14, 0);
    let s = ny(0, 1);
    let cs = [
        contact("+12025550101", &[]),
        contact("+12135550102", &[]),
        contact("+12025550103", &[]),
    ];
    let dnc: HashSet<String> = ["+12025550103".to_string()].into();
    let run = |filter| {
        simulate(
            &s,
            &cs,
            &dnc,
            &answering(day),
            SimPage {
                filter,
                offset: 0,
                limit: 10,
            },
        )
    };
    let sim = run(SimFilter::All);
    assert_eq!(sim.summary.first_call_at, Some(day));
    assert_eq!(sim.summary.last_call_at, Some(utc(2026, 1, 14, 16, 0)));
    // The last call, at 16:00, lasts a minute.
    assert_eq!(duration_of(&sim), Some(Duration::minutes(121)));
    let listed = |f| -> Vec<usize> { run(f).contacts.iter().map(|c| c.index).collect() };
    assert_eq!(listed(SimFilter::Called), [0, 1]);
    assert_eq!(listed(SimFilter::Waited), [1]);
    assert_eq!(listed(SimFilter::Skipped), [2]);
    // Nobody called: no first or last call, no completion.
    let none = simulate(&s, &cs[2..], &dnc, &answering(day), all());
    assert_eq!(
        (
            none.summary.first_call_at,
            none.summary.last_call_at,
            none.completes_at
        ),
        (None, None, None)
    );
    assert_eq!(duration_of(&none), None);
}
