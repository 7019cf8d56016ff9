//! The check the `parse` fuzz target runs on each input, shared with the regression test that
//! replays `fuzz/regressions/parse/` under `cargo test` (parser/tests/fuzz_regressions.rs).

use contacts_parser::{Limits, ParseOptions, parse_file};

const NAMES: [&str; 8] = [
    "f.csv", "f.tsv", "f.txt", "f.xlsx", "f.xls", "f.ods", "f", "f.pdf",
];

/// Any bytes, under every extension the parser routes on, with small limits so the limit
/// paths are reached too. Panics when a property breaks.
pub fn check(data: &[u8]) {
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
            ..Limits::default()
        },
    };
    if let Ok(parsed) = parse_file(bytes, name, &opts) {
        let r = &parsed.report;
        assert_eq!(r.rows, r.imported + r.duplicates + r.invalid);
        assert_eq!(r.imported as usize, parsed.contacts.len());
        assert!(parsed.contacts.iter().all(|c| c.phone().starts_with('+')));
    }
}
