//! What a refused call create means for the campaign: Twilio's error codes, in one table.
//!
//! | class | codes (HTTP status) | the dialer |
//! |---|---|---|
//! | `RateLimited` | any `429` (20429) | proves no call exists: release the claim at once, retry later |
//! | `Number` | 13223, 13224, 13225, 13226, 21211, 21214, 21217, 21401, 21407, 21421, 21610, 21612 (`4xx`) | this number cannot be called: the contact fails with Twilio's reason |
//! | `Account` | 10001, 20005 (account not active), 21205, 21213 (request configuration), 21210 (caller id not verified), 21212 (invalid caller id), 21215, 21216, 13227 (geographic permissions), 21219 (trial account), 21603, 21606 (From not usable), any `403` not listed | the account or configuration is wrong: pause the campaign with what to fix; no contact is charged |
//! | `Credentials` | any `401`; 20003 | reload the credentials once and retry; still refused: pause the campaign |
//! | `Unknown` | any other `4xx` | fail the contact with Twilio's reason, and count it for the circuit breaker |
//!
//! A `5xx` or a transport error is not here: it is ambiguous (the call may exist) and handled
//! as such by the dialer (invariant 13).

/// What a refused create means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many requests: nothing was created, try later.
    RateLimited,
    /// The number cannot be called (invalid, unreachable, blocked, opted out).
    Number,
    /// The account or its configuration refuses every call: `fix` says what to do.
    Account { fix: &'static str },
    /// The credentials were refused.
    Credentials,
    /// A 4xx code this table does not know.
    Unknown,
}

/// Codes that are about the number called.
const NUMBER_CODES: &[i64] = &[
    13223, // Dial: invalid phone number format
    13224, // Dial: invalid phone number
    13225, // Dial: forbidden phone number
    13226, // Dial: invalid country code
    21211, // invalid 'To' phone number
    21214, // 'To' phone number cannot be reached
    21217, // phone number does not appear to be valid
    21401, // invalid phone number
    21407, // this phone number type does not support voice
    21421, // phone number is invalid
    21610, // the recipient unsubscribed (STOP)
    21612, // the 'To' number is not currently reachable
];

/// What to fix, for the codes that are about the account or its configuration.
fn account_fix(code: i64) -> Option<&'static str> {
    Some(match code {
        10001 | 20005 => "the Twilio account is not active (suspended or closed): reactivate it in the Twilio console",
        21210 => "the caller id (TWILIO_FROM_NUMBER) is not verified on the Twilio account: verify it or use a Twilio number",
        21212 | 21213 | 21603 | 21606 => {
            "the caller id (TWILIO_FROM_NUMBER) is missing or not a number the account can call from: set it to a Twilio number of the account"
        }
        21215 | 21216 | 13227 => {
            "the account's voice geographic permissions do not allow calling this destination: enable the country in the Twilio console (Voice > Settings > Geo permissions)"
        }
        21219 => "the Twilio trial account may only call verified numbers: upgrade the account or verify the numbers",
        21205 => "the dialer's TwiML URL is missing: set PUBLIC_BASE_URL",
        _ => return None,
    })
}

/// Classify a refused create by its HTTP status and Twilio error code.
pub fn classify(status: u16, code: Option<i64>) -> Refusal {
    if status == 429 || code == Some(20429) {
        return Refusal::RateLimited;
    }
    if status == 401 || code == Some(20003) {
        return Refusal::Credentials;
    }
    if let Some(fix) = code.and_then(account_fix) {
        return Refusal::Account { fix };
    }
    if code.is_some_and(|c| NUMBER_CODES.contains(&c)) {
        return Refusal::Number;
    }
    if status == 403 {
        return Refusal::Account {
            fix: "Twilio refused the request as forbidden for this account: check the account's permissions in the Twilio console",
        };
    }
    Refusal::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_release() {
        assert_eq!(classify(429, Some(20429)), Refusal::RateLimited);
        assert_eq!(classify(429, None), Refusal::RateLimited);
    }

    #[test]
    fn number_level_refusals_fail_the_contact() {
        for code in [21211, 21214, 21217, 13224, 21610] {
            assert_eq!(classify(400, Some(code)), Refusal::Number, "{code}");
        }
    }

    #[test]
    fn account_level_refusals_pause_with_what_to_fix() {
        for (code, words) in [(21212, "caller id"), (21210, "verified"), (21215, "geographic"), (21216, "geographic"), (21219, "trial"), (20005, "not active")] {
            match classify(400, Some(code)) {
                Refusal::Account { fix } => assert!(fix.contains(words), "{code}: {fix}"),
                other => panic!("{code}: {other:?}"),
            }
        }
        assert!(matches!(classify(403, None), Refusal::Account { .. }), "an unlisted 403 is about the account");
        assert!(matches!(classify(403, Some(20005)), Refusal::Account { .. }));
    }

    #[test]
    fn credentials() {
        assert_eq!(classify(401, Some(20003)), Refusal::Credentials);
        assert_eq!(classify(401, None), Refusal::Credentials);
        assert_eq!(classify(403, Some(20003)), Refusal::Credentials);
    }

    /// Every code of the table in the module's documentation, in its class, whatever 4xx
    /// status it comes with.
    #[test]
    fn every_code_in_the_table_is_in_its_class() {
        for status in [400, 404, 422] {
            assert_eq!(classify(status, Some(20429)), Refusal::RateLimited, "20429 with {status}");
            assert_eq!(classify(status, Some(20003)), Refusal::Credentials, "20003 with {status}");
            for code in [13223, 13224, 13225, 13226, 21211, 21214, 21217, 21401, 21407, 21421, 21610, 21612] {
                assert_eq!(classify(status, Some(code)), Refusal::Number, "{code} with {status}");
            }
            for (code, words) in [
                (10001, "not active"),
                (20005, "not active"),
                (21205, "PUBLIC_BASE_URL"),
                (21213, "caller id"),
                (21603, "caller id"),
                (21606, "caller id"),
                (13227, "geographic"),
            ] {
                match classify(status, Some(code)) {
                    Refusal::Account { fix } => assert!(fix.contains(words), "{code}: {fix}"),
                    other => panic!("{code} with {status}: {other:?}"),
                }
            }
        }
        // A number-level code under a 403 is still about the number, not the account.
        assert_eq!(classify(403, Some(21610)), Refusal::Number);
    }

    #[test]
    fn unknown_codes_are_unknown() {
        assert_eq!(classify(400, Some(29999)), Refusal::Unknown);
        assert_eq!(classify(404, None), Refusal::Unknown);
    }
}
