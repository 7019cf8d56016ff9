//! Replays the committed fuzz corpus of the `parse` target (`fuzz/regressions/parse/`: seeds,
//! inputs that once crashed or hung, and a small sample of what libFuzzer found) through the
//! same check the fuzz target runs, under a plain `cargo test`. See docs/testing.md.

#[allow(dead_code)]
#[path = "../../fuzz/harness/parse.rs"]
mod harness;

#[test]
fn the_committed_parse_corpus_passes_the_fuzz_check() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions/parse");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/regressions/parse") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("readable");
        harness::check(&data);
        n += 1;
    }
    assert!(n >= 5, "only {n} inputs in {}", dir.display());
}
