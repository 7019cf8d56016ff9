//! The rules at chosen instants, DST transitions included.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;

use super::*;
use crate::domain::settings::{Settings, SettingsInput};

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn settings(tz: &str) -> Settings {
    SettingsInput {
        agent_id: Some("a".into()),
        timezone: Some(tz.into()),
        ..Default::default()
    }
    .validate(utc(2026, 1, 1, 0, 0), false)
    .unwrap()
}

fn loc(phone: &str, meta: &[(&str, &str)]) -> Location {
    let m: BTreeMap<String, String> = meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    locate(phone, &m)
}

fn decide(now: DateTime<Utc>, s: &Settings, l: &Location) -> Decision {
    evaluate(now, s, l, CapFacts::History(&[]), DncFacts::Listed(false)).decision
}

#[test]
fn a_uk_mobile_at_four_in_the_morning_waits_for_eight() {
    let s = settings("America/New_York");
    let l = loc("+447911123456", &[]);
    // 2026-01-14 04:00 GMT: every one of its zones (London, Guernsey, Isle of Man) is at night.
    assert_eq!(
        decide(utc(2026, 1, 14, 4, 0), &s, &l),
        Decision::Wait(utc(2026, 1, 14, 8, 0))
    );
    assert_eq!(decide(utc(2026, 1, 14, 8, 0), &s, &l), Decision::Dial);
    // Summer: 04:00 BST is 03:00 UTC; the window opens at 08:00 BST = 07:00 UTC.
    assert_eq!(
        decide(utc(2026, 7, 14, 3, 0), &s, &l),
        Decision::Wait(utc(2026, 7, 14, 7, 0))
    );
}

#[test]
fn a_prefix_spanning_zones_waits_for_the_latest_one() {
    let s = settings("America/New_York");
    // Alaska 907: Adak is an hour behind Anchorage.
    let l = loc("+19075550123", &[]);
    // 2026-01-14 17:30 UTC = 08:30 Anchorage (AKST, -9) = 07:30 Adak (HST, -10).
    assert_eq!(
        decide(utc(2026, 1, 14, 17, 30), &s, &l),
        Decision::Wait(utc(2026, 1, 14, 18, 0))
    );
    // 06:30 UTC = 21:30 Anchorage, 20:30 Adak: Anchorage has closed, so no call.
    assert!(matches!(
        decide(utc(2026, 1, 15, 6, 30), &s, &l),
        Decision::Wait(_)
    ));
}

#[test]
fn zones_move_apart_across_the_us_spring_forward() {
    let s = settings("America/New_York");
    // Idaho 208: Boise (Mountain) and Los Angeles (Pacific).
    let l = loc("+12085550123", &[]);
    let zones: Vec<_> = l.zones.iter().map(|z| z.zone.as_str()).collect();
    assert_eq!(zones, vec!["America/Boise", "America/Los_Angeles"]);
    // Saturday 2026-03-07 15:30 UTC: Boise 08:30 MST, LA 07:30 PST: wait for LA's 08:00 = 16:00 UTC.
    assert_eq!(
        decide(utc(2026, 3, 7, 15, 30), &s, &l),
        Decision::Wait(utc(2026, 3, 7, 16, 0))
    );
    // Sunday 2026-03-08 after the change: 15:30 UTC is 09:30 MDT and 08:30 PDT: both open.
    assert_eq!(decide(utc(2026, 3, 8, 15, 30), &s, &l), Decision::Dial);
    // Saturday 04:00 UTC (Mar 8) = 21:00 MST in Boise: closed until LA's 08:00 PDT on Sunday,
    // which after the change is 15:00 UTC (not 16:00).
    assert_eq!(
        decide(utc(2026, 3, 8, 4, 0), &s, &l),
        Decision::Wait(utc(2026, 3, 8, 15, 0))
    );
}

#[test]
fn europe_fall_back_moves_the_opening() {
    let s = settings("UTC");
    let l = loc("+442079460958", &[]);
    // 2026-10-25: BST ends at 01:00 UTC. 07:30 UTC that day is 07:30 GMT: wait for 08:00 GMT.
    assert_eq!(
        decide(utc(2026, 10, 25, 7, 30), &s, &l),
        Decision::Wait(utc(2026, 10, 25, 8, 0))
    );
    // The day before, 07:30 UTC is 08:30 BST: open.
    assert_eq!(decide(utc(2026, 10, 24, 7, 30), &s, &l), Decision::Dial);
}

#[test]
fn a_timezone_column_adds_a_zone_and_replaces_none() {
    let s = settings("America/New_York");
    // A DC number marked Asia/Tokyo, at 23:10 Eastern (Tokyo 13:10): New York is at night.
    let l = loc("+12025550123", &[("timezone", "Asia/Tokyo")]);
    let now = utc(2026, 1, 15, 4, 10);
    // Both are open from 23:00 UTC: 18:00 in New York, 08:00 in Tokyo.
    assert_eq!(decide(now, &s, &l), Decision::Wait(utc(2026, 1, 15, 23, 0)));
    let audit = evaluate(now, &s, &l, CapFacts::InClaim, DncFacts::InClaim).audit;
    assert_eq!(audit.zones.len(), 2);
    assert_eq!(audit.zones[0].local_time, "2026-01-14T23:10:00-05:00");
    assert_eq!(audit.zones[1].sources, vec![Source::TimezoneColumn]);
}

#[test]
fn unknown_zone_follows_the_campaign_setting() {
    let mut s = settings("America/Chicago");
    let l = loc("+882355000000", &[]); // international network: no zone
    assert!(l.zones.is_empty());
    // campaign: 13:30 UTC = 07:30 Chicago: wait for 08:00 Chicago.
    assert_eq!(
        decide(utc(2026, 1, 14, 13, 30), &s, &l),
        Decision::Wait(utc(2026, 1, 14, 14, 0))
    );
    let audit = evaluate(
        utc(2026, 1, 14, 14, 0),
        &s,
        &l,
        CapFacts::InClaim,
        DncFacts::InClaim,
    )
    .audit;
    assert_eq!(audit.zones[0].sources, vec![Source::Campaign]);
    s.unknown_timezone = UnknownTimezone::Skip;
    assert!(
        matches!(decide(utc(2026, 1, 14, 15, 0), &s, &l), Decision::Skip(r) if r.contains("unknown_timezone"))
    );
}

#[test]
fn toll_free_waits_for_the_one_hour_all_nanp_zones_share() {
    let s = settings("America/New_York");
    // Toll-free: every NANP zone from Pago Pago (-11) to Guam (+10) and St. John's (-3:30).
    let l = loc("+18005550123", &[]);
    assert!(l.zones.len() > 20);
    // Only 22:00-23:30 UTC is inside 08:00-21:00 everywhere (Guam opens, St. John's closes).
    assert_eq!(
        decide(utc(2026, 1, 14, 18, 0), &s, &l),
        Decision::Wait(utc(2026, 1, 14, 22, 0))
    );
    assert_eq!(decide(utc(2026, 1, 14, 23, 0), &s, &l), Decision::Dial);
}

#[test]
fn zones_that_never_share_an_hour_skip_with_the_reason() {
    let mut s = settings("America/New_York");
    // 09:00-17:00 in both New York and Tokyo (14 hours apart) never happens at once.
    s.recipient_hours.start_time = chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    s.recipient_hours.end_time = chrono::NaiveTime::from_hms_opt(17, 0, 0).unwrap();
    let l = loc("+12025550123", &[("timezone", "Asia/Tokyo")]);
    let d = decide(utc(2026, 1, 14, 18, 0), &s, &l);
    assert!(
        matches!(&d, Decision::Skip(r) if r.contains("no hour")),
        "{d:?}"
    );
}

#[test]
fn state_rules_apply_from_the_area_code_and_the_columns() {
    let s = settings("America/New_York");
    // 20:30 Eastern: the federal window is open, Florida's (08:00-20:00) is not.
    let now = utc(2026, 1, 15, 1, 30);
    let ny = loc("+12125550123", &[]);
    assert_eq!(decide(now, &s, &ny), Decision::Dial);
    let fl = loc("+13055550123", &[]);
    assert_eq!(
        decide(now, &s, &fl),
        Decision::Wait(utc(2026, 1, 15, 13, 0))
    );
    let e = evaluate(now, &s, &fl, CapFacts::InClaim, DncFacts::InClaim);
    let state = e
        .audit
        .rules
        .iter()
        .find(|r| r.rule == Rule::StateRule)
        .unwrap();
    assert_eq!(state.verdict, Verdict::Wait);
    assert!(state.detail.starts_with("FL: 08:00-20:00"));
    // A New York number with a Maryland state column: Maryland's 20:00 applies too.
    assert!(matches!(
        decide(now, &s, &loc("+12125550123", &[("state", "MD")])),
        Decision::Wait(_)
    ));
    // Washington (Pacific) at 20:30 PST.
    assert!(matches!(
        decide(utc(2026, 1, 15, 4, 30), &s, &loc("+12065550123", &[])),
        Decision::Wait(_)
    ));
}

#[test]
fn a_campaign_can_only_narrow_the_recipient_window() {
    let mut s = settings("America/New_York");
    s.recipient_hours.start_time = chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap();
    let l = loc("+12125550123", &[]);
    // 09:00 EST: inside the federal window, outside the campaign's 10:00.
    assert_eq!(
        decide(utc(2026, 1, 14, 14, 0), &s, &l),
        Decision::Wait(utc(2026, 1, 14, 15, 0))
    );
}

#[test]
fn blocked_dates_wait_for_the_next_allowed_day() {
    let mut s = settings("America/New_York");
    s.blocked_dates = vec![
        NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
        NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
    ];
    let l = loc("+12125550123", &[]);
    // Noon Eastern on Christmas Eve: wait through both blocked days to the 26th at 08:00.
    let e = evaluate(
        utc(2026, 12, 24, 17, 0),
        &s,
        &l,
        CapFacts::History(&[]),
        DncFacts::Listed(false),
    );
    assert_eq!(e.decision, Decision::Wait(utc(2026, 12, 26, 13, 0)));
    assert_eq!(e.audit.rules[0].rule, Rule::BlockedDates);
    assert_eq!(e.audit.rules[0].until, Some(utc(2026, 12, 26, 5, 0)));
    assert_eq!(decide(utc(2026, 12, 26, 13, 0), &s, &l), Decision::Dial);
}

#[test]
fn caps_count_a_rolling_window_and_states_tighten_them() {
    let now = utc(2026, 1, 14, 18, 0);
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let h = [
        ms(now - chrono::Duration::hours(23)),
        ms(now - chrono::Duration::hours(5)),
        ms(now - chrono::Duration::hours(1)),
    ];
    // Three calls in 24 h: the next waits until the oldest of them is 24 h old.
    assert_eq!(
        cap_check(&h, now, 3, None),
        Err(now + chrono::Duration::hours(1))
    );
    assert_eq!(cap_check(&h, now, 4, None), Ok((3, 3)));
    // 7-day cap: two calls this week with a cap of 2 waits for the older to be 7 days old.
    let week = [
        ms(now - chrono::Duration::days(6)),
        ms(now - chrono::Duration::days(2)),
    ];
    assert_eq!(
        cap_check(&week, now, 3, Some(2)),
        Err(now + chrono::Duration::days(1))
    );
    // A campaign allowing 5 per day is held to Florida's 3 for a Florida number.
    let mut s = settings("America/New_York");
    s.frequency_cap.per_24h = 5;
    assert_eq!(cap_per_24h(&s, &loc("+13055550123", &[])), 3);
    assert_eq!(cap_per_24h(&s, &loc("+12125550123", &[])), 5);
    let e = evaluate(
        now,
        &s,
        &loc("+13055550123", &[]),
        CapFacts::History(&h),
        DncFacts::Listed(false),
    );
    assert_eq!(e.decision, Decision::Wait(now + chrono::Duration::hours(1)));
}

/// A call counts while it is younger than the window: at exactly 24 hours (7 days) old it no
/// longer does, as in the claim's condition (`#hN <= :cut24`, adapters/dynamodb/compliance.rs).
#[test]
fn a_call_exactly_a_window_old_no_longer_counts() {
    let now = utc(2026, 1, 14, 18, 0);
    let ago = |d: chrono::Duration| (now - d).timestamp_millis();
    let day = chrono::Duration::hours(24);
    let week = chrono::Duration::days(7);
    let ms = chrono::Duration::milliseconds(1);
    assert_eq!(cap_check(&[ago(day)], now, 1, None), Ok((0, 1)));
    assert_eq!(cap_check(&[ago(day - ms)], now, 1, None), Err(now + ms));
    assert_eq!(cap_check(&[ago(week)], now, 3, Some(1)), Ok((0, 0)));
    assert_eq!(cap_check(&[ago(week - ms)], now, 3, Some(1)), Err(now + ms));
}

#[test]
fn when_both_caps_hold_the_call_waits_for_the_later_release() {
    let now = utc(2026, 1, 14, 18, 0);
    let ago = |d: chrono::Duration| (now - d).timestamp_millis();
    // One a day: free in 23 h. Two a week: free when the call of two days ago is 7 days old.
    let h = [ago(chrono::Duration::hours(1)), ago(chrono::Duration::days(2))];
    assert_eq!(cap_check(&h, now, 1, Some(2)), Err(now + chrono::Duration::days(5)));
    // And the other way round: the week's cap releases first, the day's later.
    let h = [ago(chrono::Duration::hours(1)), ago(chrono::Duration::days(6) + chrono::Duration::hours(23))];
    assert_eq!(cap_check(&h, now, 1, Some(2)), Err(now + chrono::Duration::hours(23)));
}

/// The rule a wait is put down to (the dry run's "waited for"): the first that holds, in the
/// order the dialer checks them.
#[test]
fn a_wait_is_put_down_to_the_first_rule_that_holds() {
    let ny = loc("+12125550123", &[]);
    let fl = loc("+13055550123", &[]);
    let la = loc("+12135550123", &[]);
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let mut s = settings("America/New_York");
    s.business_hours.enabled = true; // Monday to Friday, 09:00-17:00 Eastern
    s.blocked_dates = vec![NaiveDate::from_ymd_opt(2026, 1, 16).unwrap()];
    let wed_10 = utc(2026, 1, 14, 15, 0);
    let none = CapFacts::History(&[]);
    assert_eq!(waiting_for(wed_10, &s, &ny, none), None);
    // Friday 10:00, a blocked date.
    assert_eq!(waiting_for(utc(2026, 1, 16, 15, 0), &s, &ny, none), Some(Rule::BlockedDates));
    // Wednesday 20:30: business hours have closed (Florida's 20:00 too, checked later).
    assert_eq!(waiting_for(utc(2026, 1, 15, 1, 30), &s, &fl, none), Some(Rule::BusinessHours));
    // Wednesday 09:30 Eastern is 06:30 in Los Angeles.
    assert_eq!(waiting_for(utc(2026, 1, 14, 14, 30), &s, &la, none), Some(Rule::RecipientWindow));

    let s = settings("America/New_York");
    let at_2030 = utc(2026, 1, 15, 1, 30);
    assert_eq!(waiting_for(at_2030, &s, &ny, none), None);
    assert_eq!(waiting_for(at_2030, &s, &fl, none), Some(Rule::StateRule));
    let three = [
        ms(wed_10 - chrono::Duration::hours(3)),
        ms(wed_10 - chrono::Duration::hours(2)),
        ms(wed_10 - chrono::Duration::hours(1)),
    ];
    assert_eq!(waiting_for(wed_10, &s, &ny, CapFacts::History(&three)), Some(Rule::FrequencyCap));
    assert_eq!(waiting_for(wed_10, &s, &ny, CapFacts::InClaim), None);

    // The contact's own rules alone, as the dry run asks once the campaign's window is open.
    let rule = |now, l: &Location, caps| contact_waiting_for(now, &s, &prepare(&s, l), caps);
    assert_eq!(rule(at_2030, &fl, none), Rule::StateRule);
    assert_eq!(rule(utc(2026, 1, 15, 3, 0), &ny, none), Rule::RecipientWindow);
    assert_eq!(rule(utc(2026, 1, 15, 3, 0), &fl, none), Rule::RecipientWindow);
    assert_eq!(rule(wed_10, &ny, CapFacts::History(&three)), Rule::FrequencyCap);
}

#[test]
fn the_do_not_call_list_skips() {
    let s = settings("America/New_York");
    let e = evaluate(
        utc(2026, 1, 14, 18, 0),
        &s,
        &loc("+12125550123", &[]),
        CapFacts::InClaim,
        DncFacts::Listed(true),
    );
    assert_eq!(
        e.decision,
        Decision::Skip("on the owner's do-not-call list".into())
    );
}

#[test]
fn the_audit_carries_the_cap_count_and_reads_in_one_line() {
    let now = utc(2026, 1, 14, 18, 0);
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let h = [
        ms(now - chrono::Duration::hours(30)),
        ms(now - chrono::Duration::hours(2)),
    ];
    let mut s = settings("America/New_York");
    s.frequency_cap.per_7_days = Some(5);
    // A Florida number (305), 13:00 in Miami: allowed, one call in 24 h of Florida's 3.
    let e = evaluate(
        now,
        &s,
        &loc("+13055550123", &[]),
        CapFacts::History(&h),
        DncFacts::Listed(false),
    );
    assert_eq!(e.decision, Decision::Dial);
    let cap = e
        .audit
        .rules
        .iter()
        .find(|r| r.rule == Rule::FrequencyCap)
        .unwrap();
    assert_eq!(
        cap.calls,
        Some(CapCount {
            in_24h: 1,
            max_24h: 3,
            in_7_days: 2,
            max_7_days: Some(5)
        })
    );
    let line = e.audit.compact();
    assert!(line.starts_with("at 2026-01-14T18:00:00Z; zones America/New_York 2026-01-14 13:00 (number); states FL (number); "), "{line}");
    assert!(line.contains("recipient_window allowed"), "{line}");
    assert!(line.contains("state_rule allowed"), "{line}");
    assert!(line.contains("frequency_cap allowed 1/3 per 24h 2/5 per 7d"), "{line}");
    assert!(line.ends_with("do_not_call allowed"), "{line}");
    // The audit round-trips through JSON (it is stored on the attempt).
    let back: Audit = serde_json::from_value(serde_json::to_value(&e.audit).unwrap()).unwrap();
    assert_eq!(back, e.audit);
    // At night the line says what it waits for and until when.
    let night = evaluate(
        utc(2026, 1, 14, 3, 0),
        &s,
        &loc("+13055550123", &[]),
        CapFacts::History(&[]),
        DncFacts::Listed(false),
    );
    assert!(night.audit.compact().contains("recipient_window wait until 2026-01-14T13:00:00Z"), "{}", night.audit.compact());
}

#[test]
fn the_campaign_window_stays_open_until_the_instant_said() {
    let mut s = settings("America/New_York");
    s.business_hours.enabled = true;
    // Wednesday 10:00 EST: open until 17:00 EST = 22:00 UTC.
    let now = utc(2026, 1, 14, 15, 0);
    let until = campaign_open_until(now, &s).unwrap();
    assert_eq!(until, utc(2026, 1, 14, 22, 0));
    assert!(campaign_window(until - chrono::Duration::milliseconds(1), &s).is_open());
    assert!(!campaign_window(until, &s).is_open());
    assert_eq!(campaign_open_until(until, &s), None);
    // Blocked dates: the next midnight in the campaign's zone, whichever comes first.
    s.business_hours.enabled = false;
    s.blocked_dates = vec![NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()];
    let until = campaign_open_until(now, &s).unwrap();
    assert_eq!(until, utc(2026, 1, 15, 5, 0));
    assert!(!campaign_window(until, &s).is_open());
    s.blocked_dates.clear();
    assert_eq!(campaign_open_until(now, &s), Some(DateTime::<Utc>::MAX_UTC));
}
