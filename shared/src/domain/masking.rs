//! Phone numbers never reach the logs whole: at most the country code and the last four
//! digits, and fewer of those on a short number, so at least four digits are always hidden.

/// Country calling codes (ITU-T E.164 assignments), one to three digits. A number's code is
/// the one of these its digits start with; the assignments are prefix-free.
const CALLING_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211,
    212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234,
    235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253,
    254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298,
    299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377,
    378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505,
    506, 507, 508, 509, 590, 591, 592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675,
    676, 677, 678, 679, 680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 800, 808, 850,
    852, 853, 855, 856, 870, 878, 880, 881, 882, 883, 886, 888, 960, 961, 962, 963, 964, 965, 966,
    967, 968, 970, 971, 972, 973, 974, 975, 976, 977, 979, 992, 993, 994, 995, 996, 998,
];

/// Digits of the visible tail: four, or fewer when the number is short, so that at least
/// four digits besides the country code stay hidden.
fn tail_len(national: usize) -> usize {
    national.saturating_sub(4).min(4)
}

fn calling_code(digits: &str) -> usize {
    (1..=3)
        .find(|&n| {
            digits
                .get(..n)
                .and_then(|p| p.parse::<u16>().ok())
                .is_some_and(|cc| CALLING_CODES.contains(&cc))
        })
        .unwrap_or(0)
}

/// `+12025550123` → `+1******0123`; `+447700900123` → `+44******0123`; `+3312345` → `+33****5`.
/// Anything that is not `+digits` (a raw cell, a typo) keeps only its tail digits, under the
/// same rule, without a country code.
pub fn mask_phone(phone: &str) -> String {
    let trimmed = phone.trim();
    match trimmed.strip_prefix('+') {
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            let cc = calling_code(digits);
            let national = &digits[cc..];
            let tail = tail_len(national.len());
            format!(
                "+{}{}{}",
                &digits[..cc],
                "*".repeat(national.len() - tail),
                &national[national.len() - tail..]
            )
        }
        _ => {
            let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
            let tail = tail_len(digits.len());
            let hidden = trimmed.chars().count().saturating_sub(tail).max(1);
            format!("{}{}", "*".repeat(hidden), &digits[digits.len() - tail..])
        }
    }
}

/// Every phone number inside a free text (a `Debug` of a value, an error that quotes a URL)
/// masked: a `+` or its URL encoding `%2B` followed by six or more digits. For log lines built
/// from values that may hold a number.
pub fn mask_phones_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let plus = rest.find('+').map(|i| (i, 1));
        let enc = rest
            .find("%2B")
            .or_else(|| rest.find("%2b"))
            .map(|i| (i, 3));
        let next = match (plus, enc) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        let Some((at, marker)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        let after = &rest[at + marker..];
        let n = after.bytes().take_while(u8::is_ascii_digit).count();
        if n >= 6 {
            let masked = mask_phone(&format!("+{}", &after[..n]));
            out.push_str(&rest[at..at + marker]);
            out.push_str(&masked[1..]);
        } else {
            out.push_str(&rest[at..at + marker + n]);
        }
        rest = &after[n..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits_shown(masked: &str) -> usize {
        masked.bytes().filter(u8::is_ascii_digit).count()
    }

    #[test]
    fn shows_the_country_code_and_last_four() {
        assert_eq!(mask_phone("+12025550123"), "+1******0123");
        assert_eq!(mask_phone("+447700900123"), "+44******0123");
        assert_eq!(mask_phone("+353861234567"), "+353*****4567");
        assert!(!mask_phone("+447700900123").contains("7700900"));
    }

    #[test]
    fn short_numbers_hide_at_least_four_digits() {
        // 9 characters or fewer: never whole, never more than the code and the tail.
        assert_eq!(mask_phone("+33123456"), "+33****56");
        assert_eq!(mask_phone("+3312345"), "+33****5");
        assert_eq!(mask_phone("+1234"), "+1***");
        assert_eq!(mask_phone("12345"), "****5");
        assert_eq!(mask_phone("123456789"), "*****6789");
        assert_eq!(mask_phone(""), "*");
        for n in [
            "+33123456",
            "+3312345",
            "+4412",
            "+6012345678",
            "+12025550123",
        ] {
            let masked = mask_phone(n);
            let cc = calling_code(&n[1..]);
            assert!(digits_shown(&masked) <= cc + 4, "{n} -> {masked}");
            assert!(
                n.len() - 1 - digits_shown(&masked) >= 4.min(n.len() - 1 - cc),
                "{n} -> {masked}"
            );
        }
    }

    #[test]
    fn raw_text_keeps_only_tail_digits() {
        assert_eq!(mask_phone("(202) 555-0102"), "**********0102");
        assert_eq!(mask_phone("call me"), "*******");
    }

    #[test]
    fn numbers_inside_text_are_masked() {
        let debug = r#"Dialed { phone: "+12025550101", attempt: 1, call_sid: "CA0123456789" }"#;
        assert_eq!(
            mask_phones_in(debug),
            r#"Dialed { phone: "+1******0101", attempt: 1, call_sid: "CA0123456789" }"#
        );
        let url = "error sending request for url (http://127.0.0.1:1/twilio/status?campaign=ab&phone=%2B442079460123&attempt=1)";
        assert!(
            mask_phones_in(url).contains("phone=%2B44******0123&attempt=1"),
            "{}",
            mask_phones_in(url)
        );
        assert_eq!(mask_phones_in("a+b 1+2 +12345"), "a+b 1+2 +12345");
    }

    #[test]
    fn a_plus_followed_by_anything_but_digits_is_raw_text() {
        // A formatted number keeps only its tail, its country code hidden with the rest.
        assert_eq!(mask_phone("+1 202 555 0123"), "***********0123");
        assert_eq!(mask_phone("+44 7700-900123"), "***********0123");
        assert_eq!(mask_phone("+"), "*");
    }

    #[test]
    fn both_spellings_in_one_text_are_masked_whichever_comes_first() {
        assert_eq!(
            mask_phones_in("from +12025550101 to %2B442079460123"),
            "from +1******0101 to %2B44******0123"
        );
        assert_eq!(
            mask_phones_in("to=%2B442079460123 from=+12025550101"),
            "to=%2B44******0123 from=+1******0101"
        );
    }
}
