//! The calling rules table: the federal window and the US states that are stricter. Each row
//! names its source and the date it was checked against that text. Only rows whose text was
//! read are encoded; docs/compliance.md lists them and what is not encoded. Not legal advice.

use serde::Serialize;
use utoipa::ToSchema;

/// A rule on when and how often a recipient may be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CallingRule {
    /// "US" for the federal rule, else the USPS state code.
    pub jurisdiction: &'static str,
    /// Local window `[start, end)` in whole hours of the recipient's time.
    pub start_hour: u32,
    pub end_hour: u32,
    /// At most this many calls to the same number in a rolling 24 hours, if the rule caps.
    pub max_calls_per_24h: Option<u32>,
    /// The statute or regulation.
    pub source: &'static str,
    /// Where its text was read.
    pub checked_against: &'static str,
    /// The date it was checked (YYYY-MM-DD).
    pub checked_on: &'static str,
}

/// The federal floor: 08:00-21:00 at the called party's location, every day.
pub const FEDERAL: CallingRule = CallingRule {
    jurisdiction: "US",
    start_hour: 8,
    end_hour: 21,
    max_calls_per_24h: None,
    source: "47 CFR 64.1200(c)(1) (TCPA rules): no telephone solicitation before 8 a.m. or after 9 p.m. local time at the called party's location",
    checked_against: "https://www.nwdebtresolution.com/post/telephone-consumer-protection-act-call-time-restrictions (quotes 47 CFR 64.1200(c)(1))",
    checked_on: "2026-11-29",
};

/// States stricter than the federal floor, by USPS code.
pub const STATE_RULES: [CallingRule; 4] = [
    CallingRule {
        jurisdiction: "FL",
        start_hour: 8,
        end_hour: 20,
        max_calls_per_24h: Some(3),
        source: "Fla. Stat. 501.616(6)(a)-(b) as amended by SB 1120 (2021): not before 8 a.m. or after 8 p.m. at the called person's location; not more than three calls in 24 hours on the same subject",
        checked_against: "https://flsenate.gov/Session/Bill/2021/1120/BillText/Filed/HTML",
        checked_on: "2026-11-29",
    },
    CallingRule {
        jurisdiction: "OK",
        start_hour: 8,
        end_hour: 20,
        max_calls_per_24h: Some(3),
        source: "Oklahoma Telephone Solicitation Act of 2022 (HB 3168, 15 O.S. 775C.1 et seq.): 8:00 a.m. to 8:00 p.m.; three calls per 24 hours",
        checked_against: "https://dnc.dreamhosters.com/?p=1309 (summary of the enacted act; the statute text itself was not found in the sources available)",
        checked_on: "2026-11-29",
    },
    CallingRule {
        jurisdiction: "MD",
        start_hour: 8,
        end_hour: 20,
        max_calls_per_24h: Some(3),
        source: "Maryland Stop the Spam Calls Act of 2023 (SB 90, Md. Code Com. Law 14-4501 et seq., in force 2024-01-01): 8:00 a.m. to 8:00 p.m. in the called party's time zone; three calls per 24 hours on the same subject",
        checked_against: "https://www.wmar2news.com/local/law-to-prevent-spam-calls-takes-effect-first-of-the-year (summary); https://self-law.org/code/md/commercial-law/14-4501 (definitions)",
        checked_on: "2026-11-29",
    },
    CallingRule {
        jurisdiction: "WA",
        start_hour: 8,
        end_hour: 20,
        max_calls_per_24h: None,
        source: "RCW 19.158.040(2): no calls received before 8:00 a.m. or after 8:00 p.m. at the call recipient's local time",
        checked_against: "https://app.leg.wa.gov/RCW/default.aspx?cite=19.158.040",
        checked_on: "2026-11-29",
    },
];

/// The stricter rule of a state, if the table has one.
pub fn state_rule(state: &str) -> Option<&'static CallingRule> {
    STATE_RULES.iter().find(|r| r.jurisdiction == state)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_stricter_than_the_federal_floor_and_sourced() {
        for r in STATE_RULES.iter().chain([&FEDERAL]) {
            assert!(
                r.start_hour >= FEDERAL.start_hour
                    && r.end_hour <= FEDERAL.end_hour
                    && r.start_hour < r.end_hour,
                "{r:?}"
            );
            assert!(
                !r.source.is_empty() && r.checked_against.starts_with("https://"),
                "{r:?}"
            );
            assert!(
                chrono::NaiveDate::parse_from_str(r.checked_on, "%Y-%m-%d").is_ok(),
                "{r:?}"
            );
        }
        assert_eq!(state_rule("FL").map(|r| r.end_hour), Some(20));
        assert!(state_rule("NY").is_none());
    }
}
