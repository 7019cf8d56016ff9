//! The check the `webhook` fuzz target runs, shared with the regression test that replays
//! `fuzz/regressions/webhook/` under `cargo test` (shared/tests/fuzz_regressions.rs).
//!
//! Fuzzes the Twilio webhook's input handling: the form body decoded as the route decodes it
//! (`serde_urlencoded` into name/value pairs), the signature over it (`shared::twilio::signature`)
//! and the status fields (`CallStatus::parse`, `Outcome::parse`). Properties: nothing panics; a
//! signature we computed verifies and does not depend on parameter order; any other header
//! verifies only if it is that signature; an empty token never verifies.
//! Run: `cargo +nightly fuzz run webhook` (from the repository root).

use shared::domain::{CallStatus, Outcome};
use shared::twilio::signature::{sign, verify};

/// Panics when a property breaks.
pub fn check(data: &[u8]) {
    // token \n url \n signature header \n form body
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let (Some(token), Some(url), Some(header), Some(body)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (Ok(token), Ok(url), Ok(header)) = (
        std::str::from_utf8(token),
        std::str::from_utf8(url),
        std::str::from_utf8(header),
    ) else {
        return;
    };
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) else {
        return;
    };
    let ours = sign(token, url, &form);
    let mut reversed = form.clone();
    reversed.reverse();
    assert_eq!(
        sign(token, url, &reversed),
        ours,
        "order of parameters changed the signature"
    );
    assert_eq!(verify(token, url, &form, Some(&ours)), !token.is_empty());
    let given = header.trim();
    let expect = !token.is_empty() && !given.is_empty() && given == ours;
    assert_eq!(
        verify(token, url, &form, Some(header)),
        expect,
        "header {header:?}"
    );
    assert!(!verify(token, url, &form, None));
    for (name, value) in &form {
        match name.as_str() {
            "CallStatus" => {
                let _ = CallStatus::parse(value);
            }
            "AnsweredBy" | "Outcome" => {
                let _ = Outcome::parse(value);
                let _ = Outcome::parse_retryable(value);
            }
            _ => {}
        }
    }
}
