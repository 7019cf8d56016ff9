//! Fuzzes the Twilio webhook's input handling: the form body decoded as the route decodes it
//! (`serde_urlencoded` into name/value pairs), the signature over it (`shared::twilio::signature`)
//! and the status fields (`CallStatus::parse`, `Outcome::parse`). Properties: nothing panics; a
//! signature we computed verifies and does not depend on parameter order; any other header
//! verifies only if it is that signature; an empty token never verifies.
//! Run: `cargo +nightly fuzz run webhook` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/webhook.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::check(data));
