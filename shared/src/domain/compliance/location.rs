//! Where a contact may be: every plausible time zone and US state, each with where it came
//! from. Sources: the number (libphonenumber's prefix->zones data; a prefix that spans zones
//! yields all of them), a time zone column, a US ZIP code column, a state column. Sources
//! never replace each other: every zone they name counts (invariant 4).

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::data::{area_states, prefix_zones, zip_table};

/// Where a zone or state came from.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The phone number's prefix (zones) or NANP area code (state).
    Number,
    /// A time zone column of the uploaded file.
    TimezoneColumn,
    /// A US ZIP code column.
    ZipColumn,
    /// A state column.
    StateColumn,
    /// No source named a zone: the campaign's zone (setting `unknown_timezone: campaign`).
    Campaign,
}

/// One plausible zone of the contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourcedZone {
    /// IANA name.
    pub zone: String,
    pub sources: Vec<Source>,
}

/// One plausible US state (USPS code) of the contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SourcedState {
    pub state: String,
    pub sources: Vec<Source>,
}

/// Every plausible zone and state of a contact. Empty `zones` means no source knew.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Location {
    pub zones: Vec<SourcedZone>,
    pub states: Vec<SourcedState>,
}

/// Metadata keys (snake_case headers, as the parser names them) read as location columns.
pub const TIMEZONE_KEYS: [&str; 3] = ["timezone", "time_zone", "tz"];
pub const ZIP_KEYS: [&str; 6] = [
    "zip",
    "zip_code",
    "zipcode",
    "postal_code",
    "postcode",
    "zip5",
];
pub const STATE_KEYS: [&str; 3] = ["state", "state_code", "us_state"];

fn add<T: Ord + Clone>(list: &mut Vec<(T, Vec<Source>)>, item: T, source: Source) {
    match list.iter_mut().find(|(i, _)| *i == item) {
        Some((_, sources)) => {
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        None => list.push((item, vec![source])),
    }
}

/// The contact's location from its number and its metadata columns.
pub fn locate(e164: &str, metadata: &BTreeMap<String, String>) -> Location {
    let mut zones: Vec<(&'static str, Vec<Source>)> = Vec::new();
    let mut states: Vec<(&'static str, Vec<Source>)> = Vec::new();
    for z in number_zones(e164) {
        add(&mut zones, z, Source::Number);
    }
    for s in area_code_states(e164) {
        add(&mut states, s, Source::Number);
    }
    let column = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| metadata.get(*k))
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    if let Some(tz) = column(&TIMEZONE_KEYS).and_then(|v| v.parse::<Tz>().ok()) {
        add(&mut zones, tz.name(), Source::TimezoneColumn);
    }
    if let Some((state, zone)) = column(&ZIP_KEYS).and_then(zip_lookup) {
        add(&mut states, state, Source::ZipColumn);
        if let Some(z) = zone {
            add(&mut zones, z, Source::ZipColumn);
        }
    }
    if let Some(state) = column(&STATE_KEYS).and_then(state_code) {
        add(&mut states, state, Source::StateColumn);
    }
    Location {
        zones: zones
            .into_iter()
            .map(|(z, sources)| SourcedZone {
                zone: z.to_string(),
                sources,
            })
            .collect(),
        states: states
            .into_iter()
            .map(|(s, sources)| SourcedState {
                state: s.to_string(),
                sources,
            })
            .collect(),
    }
}

/// Every zone of the number's longest known prefix (empty when unknown).
pub fn number_zones(e164: &str) -> impl Iterator<Item = &'static str> {
    use prefix_zones::{FLAT, LISTS, MAX_PREFIX_LEN, PREFIXES, ZONES};
    let list = (|| {
        let digits = e164.strip_prefix('+').unwrap_or(e164);
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let bytes = digits.as_bytes();
        // Longest prefix first: a longer entry (even an empty one) overrides a shorter one.
        for len in (1..=digits.len().min(MAX_PREFIX_LEN)).rev() {
            let value = bytes
                .get(..len)?
                .iter()
                .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
            let key = len as u64 * 1_000_000_000 + value;
            if let Ok(i) = PREFIXES.binary_search_by_key(&key, |(k, _)| *k) {
                let (start, n) = *LISTS.get(usize::from(PREFIXES.get(i)?.1))?;
                return FLAT.get(usize::from(start)..usize::from(start) + usize::from(n));
            }
        }
        None
    })();
    list.unwrap_or(&[])
        .iter()
        .filter_map(|i| ZONES.get(usize::from(*i)).copied())
}

/// The US states (or territories) of a NANP number's area code; empty for other numbers.
pub fn area_code_states(e164: &str) -> impl Iterator<Item = &'static str> {
    let npa = e164
        .strip_prefix("+1")
        .filter(|rest| rest.len() == 10 && rest.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|rest| rest.get(..3))
        .and_then(|a| a.parse::<u16>().ok());
    let rows: &[(u16, u8)] = match npa {
        Some(npa) => {
            let start = area_states::AREA_STATES.partition_point(|(a, _)| *a < npa);
            let end = area_states::AREA_STATES.partition_point(|(a, _)| *a <= npa);
            area_states::AREA_STATES.get(start..end).unwrap_or(&[])
        }
        None => &[],
    };
    rows.iter()
        .filter_map(|(_, s)| area_states::STATES.get(usize::from(*s)).copied())
}

/// A US ZIP code (5 digits, or ZIP+4) -> its state and, when the data has one, its zone.
pub fn zip_lookup(zip: &str) -> Option<(&'static str, Option<&'static str>)> {
    let five = zip.trim().get(..5)?;
    let rest = zip.trim().get(5..).unwrap_or("");
    if !five.bytes().all(|b| b.is_ascii_digit())
        || !(rest.is_empty() || rest.starts_with('-') || rest.starts_with(' '))
    {
        return None;
    }
    let code: u32 = five.parse().ok()?;
    let i = zip_table::ZIP_RANGES
        .partition_point(|(first, _, _, _)| *first <= code)
        .checked_sub(1)?;
    let (_, last, state, zone) = *zip_table::ZIP_RANGES.get(i)?;
    if code > last {
        return None;
    }
    let state = area_states::STATES.get(usize::from(state)).copied()?;
    Some((state, zip_table::ZIP_ZONES.get(usize::from(zone)).copied()))
}

/// A state column's value (USPS code or full name, any case) -> its USPS code.
pub fn state_code(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if let Some(code) = area_states::STATES
        .iter()
        .find(|s| s.eq_ignore_ascii_case(v))
    {
        return Some(code);
    }
    STATE_NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(v))
        .map(|(_, c)| *c)
}

const STATE_NAMES: [(&str, &str); 56] = [
    ("Alabama", "AL"),
    ("Alaska", "AK"),
    ("Arizona", "AZ"),
    ("Arkansas", "AR"),
    ("California", "CA"),
    ("Colorado", "CO"),
    ("Connecticut", "CT"),
    ("Delaware", "DE"),
    ("Florida", "FL"),
    ("Georgia", "GA"),
    ("Hawaii", "HI"),
    ("Idaho", "ID"),
    ("Illinois", "IL"),
    ("Indiana", "IN"),
    ("Iowa", "IA"),
    ("Kansas", "KS"),
    ("Kentucky", "KY"),
    ("Louisiana", "LA"),
    ("Maine", "ME"),
    ("Maryland", "MD"),
    ("Massachusetts", "MA"),
    ("Michigan", "MI"),
    ("Minnesota", "MN"),
    ("Mississippi", "MS"),
    ("Missouri", "MO"),
    ("Montana", "MT"),
    ("Nebraska", "NE"),
    ("Nevada", "NV"),
    ("New Hampshire", "NH"),
    ("New Jersey", "NJ"),
    ("New Mexico", "NM"),
    ("New York", "NY"),
    ("North Carolina", "NC"),
    ("North Dakota", "ND"),
    ("Ohio", "OH"),
    ("Oklahoma", "OK"),
    ("Oregon", "OR"),
    ("Pennsylvania", "PA"),
    ("Rhode Island", "RI"),
    ("South Carolina", "SC"),
    ("South Dakota", "SD"),
    ("Tennessee", "TN"),
    ("Texas", "TX"),
    ("Utah", "UT"),
    ("Vermont", "VT"),
    ("Virginia", "VA"),
    ("Washington", "WA"),
    ("West Virginia", "WV"),
    ("Wisconsin", "WI"),
    ("Wyoming", "WY"),
    ("District of Columbia", "DC"),
    ("Puerto Rico", "PR"),
    ("Guam", "GU"),
    ("U.S. Virgin Islands", "VI"),
    ("American Samoa", "AS"),
    ("Northern Mariana Islands", "MP"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn zones(l: &Location) -> Vec<&str> {
        l.zones.iter().map(|z| z.zone.as_str()).collect()
    }

    #[test]
    fn a_multi_zone_prefix_yields_every_zone() {
        // UK mobile: libphonenumber lists London, Guernsey and the Isle of Man for 447 9.
        let uk: Vec<_> = number_zones("+447911123456").collect();
        assert!(
            uk.contains(&"Europe/London") && uk.contains(&"Europe/Guernsey") && uk.len() >= 3,
            "{uk:?}"
        );
        let ak: Vec<_> = number_zones("+19075550123").collect();
        assert_eq!(ak, vec!["America/Adak", "America/Anchorage"]);
        assert_eq!(
            number_zones("+12025550123").collect::<Vec<_>>(),
            vec!["America/New_York"]
        );
        assert_eq!(number_zones("").count(), 0);
        assert_eq!(number_zones("+12x").count(), 0);
        assert_eq!(number_zones("+99999999999999999999").count(), 0);
    }

    #[test]
    fn area_codes_name_their_state() {
        assert_eq!(
            area_code_states("+13055550123").collect::<Vec<_>>(),
            vec!["FL"]
        );
        assert_eq!(
            area_code_states("+14055550123").collect::<Vec<_>>(),
            vec!["OK"]
        );
        assert_eq!(
            area_code_states("+12025550123").collect::<Vec<_>>(),
            vec!["DC"]
        );
        assert_eq!(
            area_code_states("+17875550123").collect::<Vec<_>>(),
            vec!["PR"]
        );
        // Canada and non-NANP numbers name no US state.
        assert_eq!(area_code_states("+14165550123").count(), 0);
        assert_eq!(area_code_states("+442079460958").count(), 0);
    }

    /// Only a number in E.164 form (`+`, then at most 15 digits; a NANP number's ten) is looked
    /// up: a longer or mangled one names no zone and no state, even when it starts like one.
    #[test]
    fn only_an_e164_number_names_zones_and_states() {
        assert!(number_zones("+442079460000123").any(|z| z == "Europe/London"));
        assert_eq!(number_zones("+4420794600001234").count(), 0);
        assert_eq!(number_zones("+44207946000012345").count(), 0);
        for mangled in ["+1202555012x", "+120255501234", "+1202555012", "+1 2025550123"] {
            assert_eq!(area_code_states(mangled).count(), 0, "{mangled}");
        }
    }

    #[test]
    fn zip_codes_name_state_and_zone() {
        assert_eq!(zip_lookup("33101"), Some(("FL", Some("America/New_York"))));
        assert_eq!(
            zip_lookup("73301-1234"),
            Some(("TX", Some("America/Chicago")))
        );
        assert_eq!(zip_lookup("83702"), Some(("ID", Some("America/Boise"))));
        assert_eq!(zip_lookup("99501"), Some(("AK", Some("America/Anchorage"))));
        assert_eq!(zip_lookup("3310"), None);
        assert_eq!(zip_lookup("abcde"), None);
        assert_eq!(zip_lookup("331011"), None);
    }

    #[test]
    fn a_zip_code_between_two_ranges_names_no_state() {
        // Massachusetts ends at 02791, Rhode Island starts at 02801; 02792-02800 are no one's.
        let state = |z: &str| zip_lookup(z).map(|(s, _)| s);
        assert_eq!(state("02791"), Some("MA"));
        assert_eq!(state("02792"), None);
        assert_eq!(state("02800"), None);
        assert_eq!(state("02801"), Some("RI"));
    }

    #[test]
    fn every_source_counts_and_none_replaces_another() {
        // A DC number marked Asia/Tokyo: both zones count (the bug was Tokyo replacing New York).
        let l = locate("+12025550123", &meta(&[("timezone", "Asia/Tokyo")]));
        assert_eq!(zones(&l), vec!["America/New_York", "Asia/Tokyo"]);
        assert_eq!(l.zones[1].sources, vec![Source::TimezoneColumn]);
        // A Florida number with a California ZIP: both states, both zones.
        let l = locate(
            "+13055550123",
            &meta(&[("zip", "94105"), ("state", "Oklahoma")]),
        );
        assert_eq!(zones(&l), vec!["America/New_York", "America/Los_Angeles"]);
        let states: Vec<_> = l
            .states
            .iter()
            .map(|s| (s.state.as_str(), s.sources.clone()))
            .collect();
        assert_eq!(
            states,
            vec![
                ("FL", vec![Source::Number]),
                ("CA", vec![Source::ZipColumn]),
                ("OK", vec![Source::StateColumn])
            ]
        );
        // Agreeing sources are one zone with two sources.
        let l = locate("+12025550123", &meta(&[("tz", "America/New_York")]));
        assert_eq!(
            l.zones,
            vec![SourcedZone {
                zone: "America/New_York".into(),
                sources: vec![Source::Number, Source::TimezoneColumn]
            }]
        );
        // A bad column value is ignored, not trusted.
        assert_eq!(
            zones(&locate(
                "+12025550123",
                &meta(&[("timezone", "Mars/Base"), ("zip", "x")])
            )),
            vec!["America/New_York"]
        );
    }
}
