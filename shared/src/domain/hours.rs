//! Daily windows: the campaign's business hours in its timezone, and the building block
//! (`daily_window`) of the recipient's own window in every zone (`domain::compliance`,
//! invariant 4). Pure functions of an instant; DST-correct because every local time goes
//! through chrono-tz.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::settings::BusinessHours;

/// Either calls may go now, or the next instant they may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Open,
    OpensAt(DateTime<Utc>),
}

impl Window {
    pub fn is_open(self) -> bool {
        self == Window::Open
    }
}

/// A daily window `[start, end)` on the given ISO weekdays (1 = Monday), local to `tz`.
pub(crate) fn daily_window(now: DateTime<Utc>, tz: Tz, days: &[u8], start: NaiveTime, end: NaiveTime) -> Window {
    let local = now.with_timezone(&tz);
    let today = local.date_naive();
    // Today's window, then the next 7 days: some allowed day is always within a week.
    for offset in 0..=7 {
        let Some(date) = today.checked_add_signed(Duration::days(offset)) else { break };
        if !days.contains(&(date.weekday().number_from_monday() as u8)) {
            continue;
        }
        let open = resolve(tz, date, start);
        let close = resolve(tz, date, end);
        if now < open {
            return Window::OpensAt(open);
        }
        if now < close {
            return Window::Open;
        }
    }
    // Unreachable with a non-empty day list; treat as closed for a day rather than panicking.
    Window::OpensAt(now + Duration::days(1))
}

/// The instant of a local wall-clock time. In a spring-forward gap the time does not exist:
/// use the first instant after the gap. In a fall-back overlap, the earlier instant.
pub(crate) fn resolve(tz: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // Gaps are at most a few hours; step forward a minute at a time past it.
            let mut probe = naive;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&naive)
        }
    }
}

/// The campaign's business hours.
pub fn business_window(now: DateTime<Utc>, hours: &BusinessHours, tz: Tz) -> Window {
    if !hours.enabled {
        return Window::Open;
    }
    daily_window(now, tz, &hours.days, hours.start_time, hours.end_time)
}

pub(crate) const ALL_DAYS: [u8; 7] = [1, 2, 3, 4, 5, 6, 7];

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn bh(days: Vec<u8>, s: (u32, u32), e: (u32, u32)) -> BusinessHours {
        BusinessHours {
            enabled: true,
            days,
            start_time: NaiveTime::from_hms_opt(s.0, s.1, 0).unwrap(),
            end_time: NaiveTime::from_hms_opt(e.0, e.1, 0).unwrap(),
        }
    }

    fn ny() -> Tz {
        "America/New_York".parse().unwrap()
    }

    #[test]
    fn weekday_hours_in_campaign_timezone() {
        let h = bh(vec![1, 2, 3, 4, 5], (9, 0), (17, 0));
        // Wednesday 2026-03-04 14:00 UTC = 09:00 EST: open.
        let t = Utc.with_ymd_and_hms(2026, 3, 4, 14, 0, 0).unwrap();
        assert_eq!(business_window(t, &h, ny()), Window::Open);
        // 13:59 UTC = 08:59 EST: opens at 14:00 UTC.
        assert_eq!(business_window(t - Duration::minutes(1), &h, ny()), Window::OpensAt(t));
        // 22:00 UTC = 17:00 EST: closed until Thursday 09:00.
        let close = Utc.with_ymd_and_hms(2026, 3, 4, 22, 0, 0).unwrap();
        assert_eq!(business_window(close, &h, ny()), Window::OpensAt(Utc.with_ymd_and_hms(2026, 3, 5, 14, 0, 0).unwrap()));
        // Friday evening: next opening is Monday.
        let fri = Utc.with_ymd_and_hms(2026, 3, 6, 23, 0, 0).unwrap();
        assert_eq!(business_window(fri, &h, ny()), Window::OpensAt(Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap()));
    }

    #[test]
    fn dst_spring_forward_moves_the_utc_opening() {
        let h = bh(vec![1, 2, 3, 4, 5, 6, 7], (9, 0), (17, 0));
        // US DST starts 2026-03-08. Saturday 09:00 EST = 14:00 UTC; Monday 09:00 EDT = 13:00 UTC.
        let sat_evening = Utc.with_ymd_and_hms(2026, 3, 7, 23, 0, 0).unwrap();
        assert_eq!(business_window(sat_evening, &h, ny()), Window::OpensAt(Utc.with_ymd_and_hms(2026, 3, 8, 13, 0, 0).unwrap()));
        let sun_13 = Utc.with_ymd_and_hms(2026, 3, 8, 13, 30, 0).unwrap();
        assert_eq!(business_window(sun_13, &h, ny()), Window::Open);
    }

    #[test]
    fn a_start_time_inside_the_dst_gap_opens_after_the_gap() {
        let h = bh(vec![7], (2, 30), (5, 0));
        // 02:30 does not exist in New York on 2026-03-08; the window opens at 03:00 EDT = 07:00 UTC.
        let before = Utc.with_ymd_and_hms(2026, 3, 8, 5, 0, 0).unwrap();
        assert_eq!(business_window(before, &h, ny()), Window::OpensAt(Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()));
    }

    /// The widest gap in the tz database: Samoa moved across the date line and skipped
    /// 2011-12-30 whole. Any time that day is the first instant of the 31st (UTC+14).
    #[test]
    fn a_time_on_a_skipped_day_resolves_to_the_first_instant_after_it() {
        let apia: Tz = "Pacific/Apia".parse().unwrap();
        let skipped = NaiveDate::from_ymd_opt(2011, 12, 30).unwrap();
        let after = Utc.with_ymd_and_hms(2011, 12, 30, 10, 0, 0).unwrap();
        for (h, m) in [(0, 0), (9, 0), (23, 59)] {
            assert_eq!(resolve(apia, skipped, NaiveTime::from_hms_opt(h, m, 0).unwrap()), after, "{h}:{m}");
        }
    }

    /// No allowed day (settings validation refuses it, but the function must not spin or
    /// panic): closed for a day, then asked again.
    #[test]
    fn no_allowed_day_is_closed_for_a_day() {
        let now = Utc.with_ymd_and_hms(2026, 3, 4, 14, 0, 0).unwrap();
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        let five = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        assert_eq!(daily_window(now, ny(), &[], nine, five), Window::OpensAt(now + Duration::days(1)));
    }
}
