//! Unit tests of the parser: one per case of docs/parser.md.

use super::xlsx_writer::{XCell, write_xlsx, write_xlsx_shared_strings};
use super::*;

fn parse(bytes: &[u8], name: &str) -> Parsed {
    match parse_file(bytes, name, &ParseOptions::default()) {
        Ok(p) => p,
        Err(e) => panic!("{name}: {e}"),
    }
}

fn parse_err(bytes: &[u8], name: &str, opts: &ParseOptions) -> ImportError {
    match parse_file(bytes, name, opts) {
        Ok(p) => panic!("{name}: expected an error, got {:?}", p.report),
        Err(e) => e,
    }
}

fn phones(p: &Parsed) -> Vec<&str> {
    p.contacts.iter().map(|c| c.phone()).collect()
}

fn s(v: &str) -> XCell {
    XCell::Str(v.to_string())
}

const FIXTURE_CSV: &[u8] = include_bytes!("../../tests/fixtures/contacts.csv");
const FIXTURE_TXT: &[u8] = include_bytes!("../../tests/fixtures/numbers.txt");
const FIXTURE_XLS: &[u8] = include_bytes!("../../tests/fixtures/contacts.xls");
const FIXTURE_ODS: &[u8] = include_bytes!("../../tests/fixtures/contacts.ods");

#[test]
fn csv_with_name_metadata_duplicates_and_bad_rows() {
    let p = parse(FIXTURE_CSV, "contacts.csv");
    let r = &p.report;
    assert_eq!(r.format, "csv");
    assert_eq!((r.rows, r.imported, r.duplicates, r.invalid), (4, 2, 1, 1));
    assert_eq!(r.phone_column.as_deref(), Some("Phone"));
    assert_eq!(r.name_column.as_deref(), Some("Name"));
    assert_eq!(r.metadata_columns, ["company", "email"]);
    assert_eq!(phones(&p), ["+12025550123", "+442079460958"]);
    let ada = &p.contacts.to_vec()[0];
    assert_eq!(ada.row, 2);
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(
        ada.metadata.get("company").map(String::as_str),
        Some("Acme")
    );
    assert_eq!(
        ada.metadata.get("email").map(String::as_str),
        Some("ada@example.com")
    );
    assert_eq!(ada.timezone, None, "no timezone column: the number's zones are shared's");
    let alan = &p.contacts.to_vec()[1];
    assert_eq!(alan.name.as_deref(), Some("Turing, Alan"));
    // The embedded CRLF stays in the value; the record is one spreadsheet row.
    assert_eq!(
        alan.metadata.get("company").map(String::as_str),
        Some("Bletchley\r\nPark")
    );
    assert_eq!(alan.row, 3);
    assert_eq!(
        r.errors,
        [
            RowError {
                row: 4,
                value: "not a number".into(),
                reason: "not a phone number".into()
            },
            RowError {
                row: 5,
                value: "202-555-0123".into(),
                reason: "duplicate of row 2".into()
            },
        ]
    );
}

#[test]
fn delimiters_are_sniffed() {
    for (text, format) in [
        ("phone;name\n2025550123;Ada\n", "csv-semicolon"),
        ("phone\tname\n2025550123\tAda\n", "tsv"),
        ("phone|name\n2025550123|Ada\n", "csv-pipe"),
        ("phone,name\n2025550123,Ada\n", "csv"),
    ] {
        let p = parse(text.as_bytes(), "f.txt");
        assert_eq!(p.report.format, format);
        assert_eq!(phones(&p), ["+12025550123"], "{format}");
        assert_eq!(p.contacts.to_vec()[0].name.as_deref(), Some("Ada"));
    }
}

#[test]
fn txt_one_number_a_line_without_header() {
    let p = parse(FIXTURE_TXT, "numbers.txt");
    assert_eq!(p.report.format, "txt");
    assert_eq!(p.report.phone_column, None);
    assert_eq!(phones(&p), ["+12025550101", "+12025550102", "+12025550103"]);
    assert_eq!(
        p.contacts.to_vec()[2].metadata.get("extension").map(String::as_str),
        Some("42")
    );
    assert_eq!(p.contacts.to_vec()[0].row, 1);
    assert_eq!(p.report.errors[0].row, 4);
    assert_eq!(p.report.errors[0].reason, "too short");
    assert_eq!(p.report.metadata_columns, ["extension"]);
}

#[test]
fn encodings_utf8_bom_utf16_and_windows_1252() {
    let bom = b"\xEF\xBB\xBFphone,name\n2025550123,Ada\n";
    assert_eq!(
        parse(bom, "f.csv").report.phone_column.as_deref(),
        Some("phone")
    );

    let text = "Teléfono;Nombre\n+34 912 345 678;José\n";
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let p = parse(&le, "f.csv");
    assert_eq!(p.report.phone_column.as_deref(), Some("Teléfono"));
    assert_eq!(p.contacts.to_vec()[0].name.as_deref(), Some("José"));
    assert_eq!(phones(&p), ["+34912345678"]);

    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(|u| u.to_be_bytes()));
    assert_eq!(phones(&parse(&be, "f.csv")), ["+34912345678"]);

    let cp1252 = b"phone,name\n2025550123,Jos\xE9\n";
    assert_eq!(
        parse(cp1252, "f.csv").contacts.to_vec()[0].name.as_deref(),
        Some("José")
    );
}

#[test]
fn header_below_title_rows_keeps_spreadsheet_row_numbers() {
    let csv = "My contacts\n\n,,\nName,Cell #\nAda,2025550123\n";
    let p = parse(csv.as_bytes(), "f.csv");
    assert_eq!(p.report.phone_column.as_deref(), Some("Cell #"));
    assert_eq!(p.contacts.to_vec()[0].row, 5);
    assert_eq!(p.report.rows, 1);
}

#[test]
fn explicit_columns_override_detection() {
    let csv = b"phone,backup,who\n2025550123,2025550199,Ada\n";
    let opts = ParseOptions {
        phone_column: Some("backup".into()),
        name_column: Some("WHO".into()),
        ..ParseOptions::default()
    };
    let p = parse_file(csv, "f.csv", &opts).expect("parses");
    assert_eq!(phones(&p), ["+12025550199"]);
    assert_eq!(p.contacts.to_vec()[0].name.as_deref(), Some("Ada"));
    assert_eq!(
        p.contacts.to_vec()[0].metadata.get("phone").map(String::as_str),
        Some("2025550123")
    );

    let opts = ParseOptions {
        phone_column: Some("fax".into()),
        ..ParseOptions::default()
    };
    let e = parse_err(csv, "f.csv", &opts);
    assert_eq!(e.code(), "unknown_column");
    assert!(e.to_string().contains("\"fax\""), "{e}");
    assert!(e.to_string().contains("backup"), "{e}");

    let opts = ParseOptions {
        name_column: Some("nom".into()),
        ..ParseOptions::default()
    };
    assert_eq!(parse_err(csv, "f.csv", &opts).code(), "unknown_column");
}

#[test]
fn first_and_last_name_are_joined() {
    let csv = b"First Name,Last Name,Mobile,Company Name\nAda,Lovelace,2025550123,Acme\n,Turing,2025550124,\n";
    let p = parse(csv, "f.csv");
    assert_eq!(
        p.report.name_column.as_deref(),
        Some("First Name + Last Name")
    );
    assert_eq!(p.contacts.to_vec()[0].name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(p.contacts.to_vec()[1].name.as_deref(), Some("Turing"));
    assert_eq!(p.report.metadata_columns, ["company_name"]);
    assert!(!p.contacts.to_vec()[0].metadata.contains_key("first_name"));
}

#[test]
fn phone_verdicts_and_reasons() {
    let csv = "phone\n\"\"\n  \nhello\n12\n202555012345678901234\n+999 1234567\n(200) 555-0123\n\
               +7 800 555 35 35\n+375 800 111111\n+1 202-555-0123;ext=77\n";
    let p = parse(csv.as_bytes(), "f.csv");
    let reasons: Vec<(u64, &str)> = p
        .report
        .errors
        .iter()
        .map(|e| (e.row, e.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            (4, "not a phone number"),
            (5, "too short"),
            (6, "too long"),
            (7, "invalid country code"),
            (8, "not a valid number for its region"),
        ]
    );
    // Trunk prefixes that the `phonenumber` crate mangles stay intact.
    assert_eq!(
        phones(&p),
        ["+78005553535", "+375800111111", "+12025550123"]
    );
    assert_eq!(
        p.contacts.to_vec()[2].metadata.get("extension").map(String::as_str),
        Some("77")
    );
    // Rows 2 and 3 are blank: not rows at all.
    assert_eq!(p.report.rows, 8);
}

#[test]
fn empty_phone_with_other_values_is_reported() {
    let p = parse(b"phone,name\n,Ada\n", "f.csv");
    assert_eq!(p.report.errors[0].reason, "empty");
    assert_eq!(p.report.invalid, 1);
}

#[test]
fn default_region_applies_to_national_numbers() {
    let opts = ParseOptions {
        default_region: "gb".into(),
        ..ParseOptions::default()
    };
    let p = parse_file(b"phone\n020 7946 0958\n07911 123456\n", "f.csv", &opts).expect("parses");
    assert_eq!(phones(&p), ["+442079460958", "+447911123456"]);

    let opts = ParseOptions {
        default_region: "XX".into(),
        ..ParseOptions::default()
    };
    assert_eq!(
        parse_err(b"phone\n1\n", "f.csv", &opts).code(),
        "invalid_region"
    );
}

#[test]
fn timezone_from_a_column_only() {
    let csv =
        b"phone,Time Zone\n2025550123,America/Chicago\n2135550123,not a zone\n+18005550123,\n";
    let p = parse(csv, "f.csv");
    let zones: Vec<Option<&str>> = p.contacts.iter().map(|c| c.timezone()).collect();
    assert_eq!(
        zones,
        [Some("America/Chicago"), None, None]
    );
}

#[test]
fn supported_regions() {
    assert!(phone::is_supported_region("US"));
    assert!(phone::is_supported_region("gb"));
    assert!(!phone::is_supported_region("XX"));
    assert!(!phone::is_supported_region("001"));
    assert!(!phone::is_supported_region("USA"));
    assert!(!phone::is_supported_region(""));
}

#[test]
fn errors_are_capped_with_a_count() {
    let mut csv = String::from("phone\n");
    for _ in 0..150 {
        csv.push_str("nope\n");
    }
    let p = parse(csv.as_bytes(), "f.csv");
    assert_eq!(p.report.errors.len(), MAX_REPORTED_ERRORS);
    assert_eq!(p.report.errors_truncated, 50);
    assert_eq!(p.report.invalid, 150);
}

#[test]
fn limits_give_specific_errors() {
    let small = |l: Limits| ParseOptions {
        limits: l,
        ..ParseOptions::default()
    };
    let csv = b"phone,notes\n2025550123,hello\n2025550124,hi\n";
    let e = parse_err(
        csv,
        "f.csv",
        &small(Limits {
            max_file_bytes: 10,
            ..Limits::default()
        }),
    );
    assert_eq!(
        e,
        ImportError::TooLarge {
            bytes: csv.len() as u64,
            limit: 10
        }
    );
    let e = parse_err(
        csv,
        "f.csv",
        &small(Limits {
            max_rows: 1,
            ..Limits::default()
        }),
    );
    assert_eq!(e, ImportError::TooManyRows { limit: 1 });
    assert!(
        parse_file(
            csv,
            "f.csv",
            &small(Limits {
                max_rows: 2,
                ..Limits::default()
            })
        )
        .is_ok()
    );
    let e = parse_err(
        csv,
        "f.csv",
        &small(Limits {
            max_cell_bytes: 4,
            ..Limits::default()
        }),
    );
    assert_eq!(e.code(), "cell_too_large");
    assert!(e.to_string().contains("row 1"), "{e}");

    for empty in [&b""[..], b"  \r\n\n", b"\xEF\xBB\xBF", b",,,\n,,\n"] {
        assert_eq!(
            parse_err(empty, "f.csv", &ParseOptions::default()),
            ImportError::Empty
        );
    }
    let e = parse_err(
        b"name,email\nAda,a@b.c\n",
        "f.csv",
        &ParseOptions::default(),
    );
    assert_eq!(
        e,
        ImportError::NoPhoneColumn {
            headers: vec!["name".into(), "email".into()]
        }
    );
    assert!(e.to_string().contains("\"email\""));
}

#[test]
fn formats_by_content_and_extension() {
    let e = parse_err(b"PK\x03\x04garbage", "f.xlsx", &ParseOptions::default());
    assert_eq!(e.code(), "corrupt_file");
    let e = parse_err(
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1garbage",
        "f.xls",
        &ParseOptions::default(),
    );
    assert_eq!(e.code(), "corrupt_file");
    let e = parse_err(b"\x00\x01\x02binary", "f.xlsx", &ParseOptions::default());
    assert_eq!(e.code(), "corrupt_file");
    let e = parse_err(b"%PDF-1.4 \x00", "f.pdf", &ParseOptions::default());
    assert_eq!(e, ImportError::UnsupportedFormat("pdf".into()));
    // CSV content under a spreadsheet name, and without any extension.
    assert_eq!(
        phones(&parse(b"phone\n2025550123\n", "export.xls")),
        ["+12025550123"]
    );
    assert_eq!(
        phones(&parse(b"phone\n2025550123\n", "upload")),
        ["+12025550123"]
    );
    // XLSX content under a .csv name.
    let xlsx = write_xlsx(&[("S", vec![vec![s("phone")], vec![s("2025550123")]])]);
    let p = parse(&xlsx, "contacts.csv");
    assert_eq!(p.report.format, "xlsx");
    assert_eq!(phones(&p), ["+12025550123"]);
}

#[test]
fn xlsx_numbers_title_rows_and_first_sheet_with_phones() {
    let xlsx = write_xlsx(&[
        ("Readme", vec![vec![s("This export was made on Monday")]]),
        (
            "Contacts",
            vec![
                vec![s("Q3 call list")],
                vec![],
                vec![s("Full Name"), s("Phone Number"), s("Score")],
                vec![s("Ada"), XCell::Num(2025550123.0), XCell::Num(1.5)],
                vec![s("Alan"), XCell::Num(442079460958.0), XCell::Num(3.0)],
                vec![XCell::Empty, XCell::Empty, XCell::Empty],
                vec![s("Grace"), s("555"), XCell::Empty],
            ],
        ),
    ]);
    let p = parse(&xlsx, "list.xlsx");
    assert_eq!(p.report.format, "xlsx");
    assert_eq!(p.report.phone_column.as_deref(), Some("Phone Number"));
    // 442079460958 without a + is a US-region national number: invalid. The number cell
    // is a digit string (never "442079460958.0" or "4.4207946E+11").
    assert_eq!(phones(&p), ["+12025550123"]);
    assert_eq!(p.contacts.to_vec()[0].row, 4);
    assert_eq!(
        p.contacts.to_vec()[0].metadata.get("score").map(String::as_str),
        Some("1.5")
    );
    assert_eq!(p.report.errors[0].value, "442079460958");
    assert_eq!(p.report.errors[0].row, 5);
    assert_eq!(p.report.errors[1].row, 7);
}

#[test]
fn xls_and_ods_fixtures() {
    for (bytes, name) in [(FIXTURE_XLS, "contacts.xls"), (FIXTURE_ODS, "contacts.ods")] {
        let p = parse(bytes, name);
        assert_eq!(p.report.format, &name[9..]);
        assert_eq!(p.report.phone_column.as_deref(), Some("Mobile"), "{name}");
        assert_eq!(phones(&p), ["+12025550123", "+12025550175"], "{name}");
        assert_eq!(p.contacts.to_vec()[0].row, 4, "{name}");
        assert_eq!(p.contacts.to_vec()[0].name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(p.report.errors[0].row, 6, "{name}");
        // The same file under a wrong name is still read by its content.
        assert_eq!(phones(&parse(bytes, "contacts.csv")).len(), 2, "{name}");
    }
}

#[test]
fn spreadsheet_without_phone_column_names_its_headers() {
    let xlsx = write_xlsx(&[(
        "S",
        vec![vec![s("Name"), s("Email")], vec![s("Ada"), s("a@b")]],
    )]);
    let e = parse_err(&xlsx, "f.xlsx", &ParseOptions::default());
    assert_eq!(
        e,
        ImportError::NoPhoneColumn {
            headers: vec!["Name".into(), "Email".into()]
        }
    );
}

#[test]
fn error_codes_are_stable_and_messages_actionable() {
    let all = [
        ImportError::TooLarge { bytes: 2, limit: 1 },
        ImportError::TooManyRows { limit: 1 },
        ImportError::CellTooLarge {
            row: 1,
            column: "column 1".into(),
            bytes: 2,
            limit: 1,
        },
        ImportError::Empty,
        ImportError::NoPhoneColumn { headers: vec![] },
        ImportError::UnknownColumn {
            wanted: "x".into(),
            headers: vec![],
        },
        ImportError::Corrupt("x".into()),
        ImportError::UnsupportedFormat("pdf".into()),
        ImportError::InvalidRegion("XX".into()),
    ];
    let codes: Vec<&str> = all.iter().map(ImportError::code).collect();
    assert_eq!(
        codes,
        [
            "file_too_large",
            "too_many_rows",
            "cell_too_large",
            "empty_file",
            "no_phone_column",
            "unknown_column",
            "corrupt_file",
            "unsupported_format",
            "invalid_region"
        ]
    );
    assert!(all.iter().all(|e| e.to_string().len() > 20));
}

#[test]
fn report_serializes_with_the_documented_fields() {
    let p = parse(b"phone\n2025550123\nx\n", "f.csv");
    let json = serde_json::to_value(&p.report).expect("serializes");
    for key in [
        "format",
        "rows",
        "imported",
        "duplicates",
        "invalid",
        "phone_column",
        "name_column",
        "metadata_columns",
        "errors",
        "errors_truncated",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    let back: ImportReport = serde_json::from_value(json).expect("round-trips");
    assert_eq!(back, p.report);
}

/// A quick never-panic sweep over mutated inputs (the long run is the fuzz target).
#[test]
fn never_panics_on_mutated_input() {
    let seeds: Vec<Vec<u8>> = vec![
        FIXTURE_CSV.to_vec(),
        FIXTURE_TXT.to_vec(),
        FIXTURE_XLS.to_vec(),
        FIXTURE_ODS.to_vec(),
        write_xlsx(&[("S", vec![vec![s("phone")], vec![s("2025550123")]])]),
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..400 {
        let seed = &seeds[round % seeds.len()];
        let mut bytes = seed.clone();
        for _ in 0..(next() % 8) {
            let len = bytes.len().max(1);
            let i = (next() as usize) % len;
            match next() % 3 {
                0 if i < bytes.len() => bytes[i] = next() as u8,
                1 => bytes.truncate(i),
                _ => bytes.insert(
                    i.min(bytes.len()),
                    b"\"\n,;\t|\r\x00"[(next() % 8) as usize],
                ),
            }
        }
        for name in ["f.csv", "f.xlsx", "f.xls", "f.ods", "f.txt", "f"] {
            let _ = parse_file(&bytes, name, &ParseOptions::default());
        }
    }
}

#[test]
fn fast_path_agrees_with_the_full_path() {
    // The fast path relies on US being the main region of +1.
    assert_eq!(
        phone::rlibphonenumber::PHONE_NUMBER_UTIL.get_region_for_country_code(1),
        Some(phone::rlibphonenumber::Region::US)
    );
    let us = phone::region_of("US").expect("US");
    let gb = phone::region_of("GB").expect("GB");
    for raw in [
        "(202) 555-0123",
        "202-555-0123",
        "+1 202 555 0123",
        "12025550123",
        "2025550123",
        "202.555.0123",
        "1 (202) 555-0123",
        "+12025550123",
        "(800) 555-0123",
        "(211) 555-0123",
        "(202) 211-0123",
        "(123) 555-0123",
        "(202) 055-0123",
        "11234567890",
        "+22025550123",
        "0112025550123",
        "+1 (242) 555-0123",
        "(416) 555-0123",
        "+1 202 555 012",
        "2025550123 x5",
        "+ 1 202 555 0123",
        "(((202))) 555--0123",
        "1202555012",
        "+1202555012345",
    ] {
        for region in [us, gb] {
            assert_eq!(
                phone::normalize(raw, region),
                phone::normalize_full(raw, region),
                "{raw} {region:?}"
            );
        }
    }
}

/// The NANP automata (`nanp.rs`) give rlibphonenumber's `is_valid_number_for_region(US)`
/// on one number (random last four digits) under every six-digit prefix: the US patterns
/// decide on at most the first six digits (`52[34][2-9]1[02-9]\d{4}` is the deepest), so
/// this covers every branch of them. Also nine-digit national numbers (a leading 0 or 1
/// area code read as a number) and the metadata version.
#[test]
fn nanp_automaton_agrees_with_rlibphonenumber_on_every_prefix() {
    use phone::rlibphonenumber::{PHONE_NUMBER_UTIL, PhoneNumber, Region};
    assert_eq!(nanp_metadata::METADATA_VERSION, "9.0.42", "the metadata rlibphonenumber 2.2.15 embeds");
    let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
    let mut next = || rng.next();
    let (mut valid, mut checked) = (0u64, 0u64);
    let mut check = |national_number: u64| {
        let number = PhoneNumber { country_code: 1, national_number, ..PhoneNumber::default() };
        let theirs = PHONE_NUMBER_UTIL.is_valid_number_for_region(&number, Region::US);
        assert_eq!(nanp::valid(national_number), Some(theirs), "+1 {national_number}");
        valid += u64::from(theirs);
        checked += 1;
    };
    for prefix in 0..1_000_000u64 {
        check(prefix * 10_000 + next() % 10_000);
    }
    for _ in 0..20_000 {
        check(next() % 1_000_000_000);
    }
    // Enough of them valid that both answers were exercised.
    assert!(valid > 100_000 && valid < checked, "{valid} of {checked} valid");
}

/// A bounded, libFuzzer-free fuzz loop: structured mutations (byte flips, truncation,
/// splices between seeds, delimiter/quote/newline/NUL insertion, duplication of a chunk)
/// over CSV, TXT, XLSX, XLS and ODS seeds, every input under six names. Runs for
/// $PARSER_FUZZ_SECONDS (default 60). `cargo test -p contacts-parser --lib fuzz_loop -- --ignored --nocapture`
#[test]
#[ignore = "long-running; run explicitly"]
fn fuzz_loop() {
    let seconds: u64 = std::env::var("PARSER_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seeds: Vec<Vec<u8>> = vec![
        FIXTURE_CSV.to_vec(),
        FIXTURE_TXT.to_vec(),
        FIXTURE_XLS.to_vec(),
        FIXTURE_ODS.to_vec(),
        write_xlsx(&[
            ("A", vec![vec![s("x")]]),
            (
                "B",
                vec![
                    vec![s("Cell #"), s("Name")],
                    vec![XCell::Num(2025550123.0), s("Ada")],
                ],
            ),
        ]),
        "\u{FEFF}Teléfono;Nombre\r\n\"+34 912 345 678\";\"Jos\"\"é\"\r\n"
            .as_bytes()
            .to_vec(),
        b"\xFF\xFEp\x00h\x00o\x00n\x00e\x00\n\x002\x000\x002\x00".to_vec(),
    ];
    let mut state: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    eprintln!("fuzz_loop seed {state:#x}");
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let opts = ParseOptions {
        limits: Limits {
            max_file_bytes: 1 << 20,
            max_rows: 500,
            max_cell_bytes: 512,
            ..Limits::default()
        },
        ..ParseOptions::default()
    };
    let start = std::time::Instant::now();
    let mut execs = 0u64;
    let mut ok = 0u64;
    while start.elapsed().as_secs() < seconds {
        let pick = (next() % seeds.len() as u64) as usize;
        let mut bytes = seeds[pick].clone();
        for _ in 0..1 + next() % 6 {
            let len = bytes.len().max(1);
            let i = (next() as usize) % len;
            match next() % 6 {
                0 if i < bytes.len() => bytes[i] ^= 1 << (next() % 8),
                1 if i < bytes.len() => bytes[i] = next() as u8,
                2 => bytes.truncate(i),
                3 => {
                    let other = &seeds[(next() % seeds.len() as u64) as usize];
                    let j = (next() as usize) % other.len().max(1);
                    bytes.truncate(i);
                    bytes.extend_from_slice(other.get(j..).unwrap_or(&[]));
                }
                4 => {
                    let end = (i + (next() as usize % 64)).min(bytes.len());
                    let chunk = bytes[i.min(end)..end].to_vec();
                    bytes.splice(i.min(bytes.len())..i.min(bytes.len()), chunk);
                }
                _ => bytes.insert(
                    i.min(bytes.len()),
                    b"\"\n,;\t|\r\x00+x#"[(next() % 11) as usize],
                ),
            }
        }
        for name in ["f.csv", "f.tsv", "f.xlsx", "f.xls", "f.ods", "f"] {
            execs += 1;
            if let Ok(p) = parse_file(&bytes, name, &opts) {
                ok += 1;
                let r = &p.report;
                assert_eq!(r.rows, r.imported + r.duplicates + r.invalid);
                assert_eq!(r.imported as usize, p.contacts.len());
            }
        }
    }
    eprintln!("fuzz_loop: {execs} parse_file calls in {seconds}s, {ok} parsed, no panic");
}

#[test]
fn a_very_wide_file_stays_linear() {
    // 50,000 identical headers and cells: key de-duplication must not be quadratic, and the
    // row is refused by the metadata cap (it imported whole before: a 50,000-key contact item
    // is far over DynamoDB's 400 KB item limit).
    let mut csv = String::from("phone");
    csv.push_str(&",x".repeat(50_000));
    csv.push_str("\n2025550123");
    csv.push_str(&",v".repeat(50_010));
    csv.push('\n');
    let started = std::time::Instant::now();
    let e = parse_err(csv.as_bytes(), "wide.csv", &ParseOptions::default());
    assert_eq!(e.code(), "too_many_columns");
    assert!(e.to_string().contains("limit of 100"), "{e}");
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn a_contact_over_the_metadata_byte_cap_names_the_cap() {
    // 10 columns of 4,000 bytes: 40 KB of fields for one contact, cap 16 KiB.
    let mut csv = String::from("phone");
    for i in 0..10 {
        csv.push_str(&format!(",c{i}"));
    }
    csv.push_str("\n2025550123");
    for _ in 0..10 {
        csv.push(',');
        csv.push_str(&"x".repeat(4000));
    }
    csv.push('\n');
    let e = parse_err(csv.as_bytes(), "big.csv", &ParseOptions::default());
    assert_eq!(e.code(), "contact_too_large");
    assert!(e.to_string().contains("16384-byte limit"), "{e}");
    // Columns used across rows count too: 150 rows each filling another column.
    let mut csv = String::from("phone");
    for i in 0..150 {
        csv.push_str(&format!(",c{i}"));
    }
    csv.push('\n');
    for r in 0..150 {
        csv.push_str(&format!("+1202555{:04}", 1000 + r));
        for c in 0..150 {
            csv.push(',');
            if c == r {
                csv.push('v');
            }
        }
        csv.push('\n');
    }
    let e = parse_err(csv.as_bytes(), "spread.csv", &ParseOptions::default());
    assert_eq!(e.code(), "too_many_columns");
}

#[test]
fn the_report_stays_small_whatever_the_file() {
    // Worst case for the stored report: 100 listed errors whose values are 4 KB cells of
    // 4-byte characters, 100 metadata columns with 4 KB headers, a long explicit name column.
    let long_header = |i: usize| format!("{i}{}", "\u{1F600}".repeat(1000));
    let mut csv = String::from("phone,name");
    for i in 0..100 {
        csv.push(',');
        csv.push_str(&long_header(i));
    }
    csv.push('\n');
    csv.push_str("2025550123,Ann");
    for _ in 0..100 {
        csv.push_str(",v");
    }
    csv.push('\n');
    for _ in 0..300 {
        csv.push_str(&"\u{1F600}".repeat(1000));
        csv.push_str(",x\n");
    }
    let p = parse(csv.as_bytes(), "errors.csv");
    assert_eq!(p.report.errors.len(), MAX_REPORTED_ERRORS);
    assert_eq!(p.report.errors_truncated, 200);
    assert_eq!(p.report.metadata_columns.len(), 100);
    assert!(p.report.errors[0].value.chars().count() <= MAX_ERROR_VALUE_CHARS + 1);
    let json = serde_json::to_vec(&p.report).expect("serializes");
    assert!(json.len() <= MAX_REPORT_BYTES, "{} bytes", json.len());
}

#[test]
fn binary_content_named_csv_is_unsupported_format() {
    // Pseudo-random bytes without a NUL (the case the NUL check missed), named .csv and .txt.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let junk: Vec<u8> = (0..4000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .map(|b| if b == 0 { 1 } else { b })
        .collect();
    for name in ["contacts.csv", "contacts.txt", "contacts"] {
        let e = parse_err(&junk, name, &ParseOptions::default());
        assert_eq!(e.code(), "unsupported_format", "{name}: {e}");
    }
    // Text in Windows-1252 (accents, a euro sign) and UTF-16 are still text.
    let latin = b"phone,name\n2025550123,Ren\xe9e \x80\n";
    assert_eq!(parse(latin, "l.csv").contacts.len(), 1);
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "phone\n2025550123\n".encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    assert_eq!(parse(&utf16, "u.csv").contacts.len(), 1);
}

#[test]
fn an_instructions_sheet_is_skipped_for_the_sheet_that_holds_numbers() {
    let mut contacts = vec![vec![s("Name"), s("Phone")]];
    for i in 0..200 {
        contacts.push(vec![
            s(&format!("P{i}")),
            XCell::Num(2025551000.0 + i as f64),
        ]);
    }
    let book = write_xlsx(&[
        (
            "Instructions",
            vec![
                vec![s("Fill in the Contacts sheet. Phone numbers in column B.")],
                vec![s("Do not change the headers.")],
            ],
        ),
        ("Notes", vec![vec![s("Phone")], vec![s("call after 5pm")]]),
        ("Contacts", contacts),
    ]);
    let p = parse(&book, "list.xlsx");
    assert_eq!(p.contacts.len(), 200);
    assert_eq!(p.report.sheet.as_deref(), Some("Contacts"));
    let why = p.report.sheet_reason.unwrap_or_default();
    assert!(why.contains("holds phone numbers"), "{why}");
    assert!(why.contains("\"Instructions\" (no phone column)"), "{why}");
    assert!(why.contains("\"Notes\" (no phone numbers"), "{why}");
    // A sentence that mentions a phone is not a header.
    assert!(!columns::is_label(
        "Fill in the Contacts sheet. Phone numbers in column B."
    ));
    assert!(columns::is_label("Mobile Phone #"));
}

/// A contact view serializes exactly as the owned contact (`campaigns parse --emit`, the
/// API's preview), with first + last names, columns past the header (one whose key equals
/// a header's), an extension, and a time-zone column.
#[test]
fn a_contact_view_serializes_as_the_owned_contact() {
    let csv = "First Name,Last Name,Phone,Column 6,tz,zeta,alpha\n\
               Ada,Lovelace,(202) 555-0123 x77,six,Europe/London,z,a,extra7,extra8\n\
               ,Turing,+44 20 7946 0958,,,,,,\n\
               Grace,,202-555-0199,,,zz,,,,late\n";
    let p = parse(csv.as_bytes(), "c.csv");
    assert_eq!(p.contacts.len(), 3);
    for c in p.contacts.iter() {
        let owned = c.to_owned();
        assert_eq!(
            serde_json::to_string(&c).expect("json"),
            serde_json::to_string(&owned).expect("json")
        );
    }
    let ada = p.contacts.first().expect("ada").to_owned();
    assert_eq!(ada.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(ada.name_parts, vec!["Ada".to_string(), "Lovelace".to_string()]);
    assert_eq!(ada.timezone.as_deref(), Some("Europe/London"));
    let keys: Vec<&str> = ada.metadata.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["alpha", "column_6", "column_8", "column_9", "extension", "tz", "zeta"]
    );
    // "Column 6" and the 6th... the header's key column_6 and no cell past it share a key;
    // the 8th and 9th cells have none of their own.
    assert_eq!(ada.metadata.get("extension").map(String::as_str), Some("77"));
    assert_eq!(ada.metadata.get("column_8").map(String::as_str), Some("extra7"));
    let grace = p.contacts.get(2).expect("grace");
    assert_eq!(grace.name(), Some("Grace"));
    assert_eq!(grace.metadata().get("column_10"), Some("late"));
    assert_eq!(
        p.report.metadata_columns,
        ["column_6", "tz", "zeta", "alpha", "column_8", "column_9", "column_10", "extension"]
    );
}

/// A workbook whose strings are in the shared-string table (as Excel writes them) reads as
/// the same workbook with inline strings.
#[test]
fn shared_strings_read_like_inline_strings() {
    let s = |v: &str| XCell::Str(v.to_string());
    let sheet = vec![
        vec![s("Phone"), s("Name"), s("Company")],
        vec![XCell::Num(2025550123.0), s("Ada"), s("Acme")],
        vec![s("(202) 555-0199"), s("Lee"), s("Acme")],
        vec![s("n/a"), s("Bob"), XCell::Empty],
    ];
    let inline = parse(&write_xlsx(&[("Contacts", sheet.clone())]), "c.xlsx");
    let shared = parse(&write_xlsx_shared_strings(&[("Contacts", sheet)]), "c.xlsx");
    assert_eq!(inline, shared);
    assert_eq!(phones(&shared), ["+12025550123", "+12025550199"]);
}
