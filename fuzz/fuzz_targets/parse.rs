//! Fuzzes `contacts_parser::parse_file`: any bytes, under every extension it routes on,
//! with small limits so the limit paths are reached too. The only failure is a panic.
//! Run: `cargo +nightly fuzz run parse -- -max_total_time=600` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../harness/parse.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::check(data));
