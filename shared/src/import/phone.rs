//! Phone numbers: libphonenumber's verdict (through `rlibphonenumber`), E.164, and the
//! number's time zone when its prefix maps to exactly one.

use rlibphonenumber::{
    PHONE_NUMBER_UTIL, ParseError, PhoneNumber, PhoneNumberFormat, Region, ValidationError,
};

use super::tz_table::{PREFIXES, ZONES};

/// Why a value is not an importable phone number. The strings are the `reason` of a
/// [`super::RowError`]; they are part of the report's contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Empty,
    NotANumber,
    InvalidCountryCode,
    TooShort,
    TooLong,
    /// libphonenumber parsed it but does not consider it a valid number.
    Invalid,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::NotANumber => "not a phone number",
            Rejection::InvalidCountryCode => "invalid country code",
            Rejection::TooShort => "too short",
            Rejection::TooLong => "too long",
            Rejection::Invalid => "not a valid number for its region",
        }
    }
}

/// A number libphonenumber considers valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized {
    /// E.164, without the extension.
    pub e164: String,
    pub extension: Option<String>,
}

/// Whether libphonenumber has metadata for the region code (two letters, any case).
pub fn is_supported_region(region: &str) -> bool {
    region_of(region).is_some()
}

/// The `Region` for a supported region code.
pub(crate) fn region_of(code: &str) -> Option<Region> {
    let region = Region::from_code(code).ok()?;
    if region == Region::World {
        return None;
    }
    PHONE_NUMBER_UTIL
        .get_supported_regions()
        .any(|r| r == region)
        .then_some(region)
}

/// libphonenumber's verdict on `raw` with `region` as the default region: `parse`, then
/// `is_valid_number`, then E.164. This is the only path numbers take (no fast path: see
/// docs/parser.md for the measurements that decided it).
pub fn normalize(raw: &str, region: Region) -> Result<Normalized, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Rejection::Empty);
    }
    let number = PHONE_NUMBER_UTIL.parse(trimmed, Some(region)).map_err(rejection)?;
    if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
        // Only to word the reason: the verdict is is_valid_number's.
        return Err(match PHONE_NUMBER_UTIL.is_possible_number_with_reason(&number) {
            Err(ValidationError::TooShort) => Rejection::TooShort,
            Err(ValidationError::TooLong) => Rejection::TooLong,
            _ => Rejection::Invalid,
        });
    }
    Ok(to_normalized(number))
}

/// [`normalize`] with the region given as a code ("US"); an unsupported code is an error.
pub fn normalize_str(raw: &str, region: &str) -> Result<Normalized, Rejection> {
    match region_of(region) {
        Some(r) => normalize(raw, r),
        None => Err(Rejection::InvalidCountryCode),
    }
}

fn to_normalized(mut number: PhoneNumber) -> Normalized {
    let extension = number.extension.take().filter(|e| !e.is_empty());
    let e164 = PHONE_NUMBER_UTIL
        .format(&number, PhoneNumberFormat::E164)
        .into_owned();
    Normalized { e164, extension }
}

fn rejection(e: ParseError) -> Rejection {
    match e {
        ParseError::InvalidCountryCode => Rejection::InvalidCountryCode,
        ParseError::NotANumber(_) => Rejection::NotANumber,
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => Rejection::TooShort,
        ParseError::TooLongNsn => Rejection::TooLong,
    }
}

/// The single IANA time zone of an E.164 number's longest known prefix (libphonenumber's
/// prefix→zone data, see `tz_table.rs`), or `None` when that prefix spans several zones
/// or is unknown. Used for the contact's own 08:00-21:00 calling window, so an ambiguous
/// prefix must stay `None` rather than guess.
pub fn timezone_for(e164: &str) -> Option<&'static str> {
    let digits = e164.strip_prefix('+').unwrap_or(e164);
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Longest prefix first: a longer entry (even an ambiguous one) overrides a shorter one.
    for len in (1..=digits.len()).rev() {
        let prefix = digits.get(..len)?;
        if let Ok(i) = PREFIXES.binary_search_by(|(p, _)| (*p).cmp(prefix)) {
            let zone = PREFIXES.get(i)?.1;
            return if zone == u16::MAX {
                None
            } else {
                ZONES.get(usize::from(zone)).copied()
            };
        }
    }
    None
}
