//! Replays the committed fuzz corpora of the `webhook` and `settings` targets
//! (`fuzz/regressions/<target>/`) through the same checks the fuzz targets run, under a plain
//! `cargo test`. See docs/testing.md.

#[allow(dead_code)]
#[path = "../../fuzz/harness/webhook.rs"]
mod webhook;

#[allow(dead_code)]
#[path = "../../fuzz/harness/settings.rs"]
mod settings;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions dir") {
        let data = std::fs::read(entry.expect("entry").path()).expect("readable");
        check(&data);
        n += 1;
    }
    assert!(n >= 2, "only {n} inputs in {}", dir.display());
}

#[test]
fn the_committed_webhook_corpus_passes_the_fuzz_check() {
    replay("webhook", webhook::check);
}

#[test]
fn the_committed_settings_corpus_passes_the_fuzz_check() {
    replay("settings", settings::check);
}
