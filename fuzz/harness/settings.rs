//! The check the `settings` fuzz target runs, shared with the regression test that replays
//! `fuzz/regressions/settings/` under `cargo test` (shared/tests/fuzz_regressions.rs).
//!
//! Fuzzes the campaign settings JSON: any bytes through `serde_json` into `SettingsInput` (as
//! the API reads the `settings` part), then `validate` at a fixed instant, with and without
//! requiring a future start. Properties: nothing panics; settings that validate survive a JSON
//! round trip unchanged.
//! Run: `cargo +nightly fuzz run settings` (from the repository root).

use chrono::{TimeZone, Utc};
use shared::domain::{Settings, SettingsInput};

/// Panics when a property breaks.
pub fn check(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<SettingsInput>(data) else {
        return;
    };
    let Some(now) = Utc.with_ymd_and_hms(2026, 3, 8, 6, 30, 0).single() else {
        return;
    };
    let _ = input.clone().validate(now, true);
    if let Ok(settings) = input.validate(now, false) {
        let json = serde_json::to_string(&settings).expect("valid settings serialize");
        let back: Settings = serde_json::from_str(&json).expect("valid settings read back");
        assert_eq!(back, settings);
    }
}
