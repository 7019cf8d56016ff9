//! Fuzzes `contacts_parser::parse_file`: any bytes, under every extension it routes on,
//! with small limits so the limit paths are reached too. The only failure is a panic.
//! Run: `cargo +nightly fuzz run parse -- -max_total_time=600` (from the repository root).
#![no_main]

use libfuzzer_sys::fuzz_target;
use contacts_parser::{Limits, ParseOptions, parse_file};

const NAMES: [&str; 8] = [
    "f.csv", "f.tsv", "f.txt", "f.xlsx", "f.xls", "f.ods", "f", "f.pdf",
];

fuzz_target!(|data: &[u8]| {
    // The first byte picks the file name and the options; the rest is the file.
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(selector) % NAMES.len()];
    let opts = ParseOptions {
        default_region: if selector & 0x80 == 0 { "US" } else { "GB" }.to_string(),
        phone_column: (selector & 0x40 != 0).then(|| "phone".to_string()),
        name_column: None,
        limits: Limits {
            max_file_bytes: 1 << 20,
            max_rows: 200,
            max_cell_bytes: 256,
        },
    };
    if let Ok(parsed) = parse_file(bytes, name, &opts) {
        let r = &parsed.report;
        assert_eq!(r.rows, r.imported + r.duplicates + r.invalid);
        assert_eq!(r.imported as usize, parsed.contacts.len());
        assert!(parsed.contacts.iter().all(|c| c.phone.starts_with('+')));
    }
});
