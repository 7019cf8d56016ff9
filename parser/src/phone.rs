//! Phone numbers: libphonenumber's verdict (through `rlibphonenumber`) and E.164.

use rlibphonenumber::{
    PHONE_NUMBER_UTIL, ParseError, PhoneNumber, PhoneNumberFormat, Region, ValidationError,
};

/// The library itself, for the differential test's corpus generator (example numbers).
#[doc(hidden)]
pub use rlibphonenumber;

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
/// `is_valid_number`, then E.164.
///
/// Fast path: a plain North American number ("(202) 555-0123", "+1 202 555 0123",
/// "12025550123", ...) skips `parse` (its regexes are most of the cost) and goes straight
/// to `is_valid_number` on (1, the ten digits). It only ever *accepts*: when that number is
/// not valid, the full path decides, so every rejection and its reason are libphonenumber's
/// own. tests/tests/parser_differential.rs checks the two paths agree (see docs/parser.md).
pub fn normalize(raw: &str, region: Region) -> Result<Normalized, Rejection> {
    verdict(raw, region).map(|n| match n.nanp {
        Some(nsn) => Normalized {
            e164: format!("+1{}", Digits::of(nsn).as_str()),
            extension: None,
        },
        None => Normalized {
            e164: n.e164,
            extension: n.extension,
        },
    })
}

/// A valid number as the parser keeps it: a North American number from the fast path as
/// its ten digits (no allocation), any other as libphonenumber's E.164 and extension.
pub(crate) struct Number {
    /// The national number of a +1 number the fast path accepted.
    pub(crate) nanp: Option<u64>,
    /// E.164 (empty when `nanp` is set).
    pub(crate) e164: String,
    pub(crate) extension: Option<String>,
}

impl Number {
    /// The E.164 digits as a number: the dedupe key (an E.164 never starts with 0).
    pub(crate) fn key(&self) -> u64 {
        match self.nanp {
            Some(nsn) => 10_000_000_000 + nsn,
            None => self
                .e164
                .bytes()
                .filter(u8::is_ascii_digit)
                .fold(0u64, |acc, b| {
                    acc.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
                }),
        }
    }
}

/// [`normalize`] without building the E.164 text of a fast-path number.
pub(crate) fn verdict(raw: &str, region: Region) -> Result<Number, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Rejection::Empty);
    }
    if let Some(nsn) = nanp_digits(trimmed, region == Region::US || region == Region::CA) {
        // is_valid_number picks the region first: for +1 it tries US first (the main
        // region, no leading-digits rule), and takes it when the number has a type there;
        // then validates for that region. A number valid for US is therefore valid, and
        // this one verdict does the work of both. Anything else takes the full path.
        // The verdict comes from libphonenumber's US patterns compiled to automata
        // (super::nanp); from rlibphonenumber itself when they cannot answer.
        let valid = super::nanp::valid(nsn).unwrap_or_else(|| {
            let number = PhoneNumber {
                country_code: 1,
                national_number: nsn,
                ..PhoneNumber::default()
            };
            PHONE_NUMBER_UTIL.is_valid_number_for_region(&number, Region::US)
        });
        if valid {
            return Ok(Number {
                nanp: Some(nsn),
                e164: String::new(),
                extension: None,
            });
        }
    }
    normalize_full(trimmed, region).map(|n| Number {
        nanp: None,
        e164: n.e164,
        extension: n.extension,
    })
}

/// The full path alone (no fast path): the benchmark's and the tests' reference.
pub fn normalize_full(raw: &str, region: Region) -> Result<Normalized, Rejection> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Rejection::Empty);
    }
    let number = PHONE_NUMBER_UTIL
        .parse(trimmed, Some(region))
        .map_err(rejection)?;
    if !PHONE_NUMBER_UTIL.is_valid_number(&number) {
        // Only to word the reason: the verdict is is_valid_number's.
        return Err(
            match PHONE_NUMBER_UTIL.is_possible_number_with_reason(&number) {
                Err(ValidationError::TooShort) => Rejection::TooShort,
                Err(ValidationError::TooLong) => Rejection::TooLong,
                _ => Rejection::Invalid,
            },
        );
    }
    Ok(to_normalized(number))
}

/// The ten-digit national number of a plain NANP spelling: only digits and ` -.()`,
/// ten digits (when the default region is US/CA), or eleven starting with 1, optionally
/// after a leading `+`. Anything else (letters, extensions, other punctuation, other
/// lengths, long inputs) returns None and takes the full path.
fn nanp_digits(s: &str, nanp_region: bool) -> Option<u64> {
    let bytes = s.as_bytes();
    if bytes.len() > 32 {
        return None;
    }
    let (plus, rest) = match bytes.split_first() {
        Some((b'+', rest)) => (true, rest),
        _ => (false, bytes),
    };
    if plus && !rest.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if !plus && !nanp_region {
        return None;
    }
    let mut n: u64 = 0;
    let mut digits = 0u32;
    for &c in rest {
        match c {
            b'0'..=b'9' => {
                digits += 1;
                if digits > 11 {
                    return None;
                }
                n = n * 10 + u64::from(c - b'0');
            }
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return None,
        }
    }
    const TEN: u64 = 10_000_000_000;
    match digits {
        10 if !plus => Some(n),
        11 if n / TEN == 1 => Some(n % TEN),
        _ => None,
    }
}

/// A number's decimal digits, on the stack.
pub(crate) struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl Digits {
    pub(crate) fn of(n: u64) -> Digits {
        itoa_u64(n)
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.buf.get(self.start..).unwrap_or(&[])).unwrap_or("")
    }
}

fn itoa_u64(mut n: u64) -> Digits {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    Digits { buf, start: i }
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

/// A hasher for keys that are numbers (E.164 digits): one multiplication.
/// SipHash, the default, cost more than the rest of the dedupe.
#[derive(Default, Clone, Copy)]
pub(crate) struct BuildNumberHasher;

#[derive(Default)]
pub(crate) struct NumberHasher(u64);

impl std::hash::BuildHasher for BuildNumberHasher {
    type Hasher = NumberHasher;
    fn build_hasher(&self) -> NumberHasher {
        NumberHasher(0)
    }
}

impl std::hash::Hasher for NumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the high bits (which hashbrown uses) depend on every bit of n.
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
