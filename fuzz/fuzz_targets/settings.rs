//! Fuzzes the campaign settings JSON: any bytes through `serde_json` into `SettingsInput` (as
//! the API reads the `settings` part), then `validate` at a fixed instant, with and without
//! requiring a future start. Properties: nothing panics; settings that validate survive a JSON
//! round trip unchanged.
//! Run: `cargo +nightly fuzz run settings` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/settings.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::check(data));
