//! Runs the built `campaigns` binary on fixture files.

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("campaigns-parse-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn campaigns(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_campaigns"))
        .args(args)
        .output()
        .expect("runs the binary")
}

#[test]
fn prints_the_report_and_emits_contacts_in_file_order() {
    let out = scratch("contacts.jsonl");
    let file = fixture("contacts.csv");
    let run = campaigns(&[
        "parse",
        file.to_str().unwrap_or(""),
        "--emit",
        out.to_str().unwrap_or(""),
    ]);
    assert!(
        run.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("one JSON document");
    assert_eq!(report["format"], "csv");
    assert_eq!(report["rows"], 4);
    assert_eq!(report["imported"], 2);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["invalid"], 1);
    assert_eq!(report["phone_column"], "Phone");
    assert_eq!(report["name_column"], "Name");
    assert_eq!(report["errors"][0]["row"], 4);
    assert_eq!(report["errors"][0]["value"], "not a number");
    assert_eq!(report["errors"][0]["reason"], "not a phone number");
    assert_eq!(report["errors_truncated"], 0);

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .expect("emitted")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["row"], 2);
    assert_eq!(lines[0]["phone"], "+12025550123");
    assert_eq!(lines[0]["name"], "Ada Lovelace");
    assert_eq!(lines[0]["metadata"]["company"], "Acme");
    assert_eq!(lines[1]["phone"], "+442079460958");
}

#[test]
fn explicit_columns_and_region() {
    let file = scratch("uk.csv");
    std::fs::write(&file, "Home,Handy,Wer\n020 7946 0958,07911 123456,Ada\n").expect("write");
    let run = campaigns(&[
        "parse",
        file.to_str().unwrap_or(""),
        "--region",
        "GB",
        "--phone-column",
        "home",
        "--name-column",
        "Wer",
    ]);
    assert!(
        run.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
    assert_eq!(report["imported"], 1);
    assert_eq!(report["phone_column"], "Home");
    assert_eq!(report["name_column"], "Wer");
}

#[test]
fn a_file_it_cannot_import_exits_non_zero_with_the_reason() {
    let file = scratch("nophone.csv");
    std::fs::write(&file, "name,email\nAda,ada@example.com\n").expect("write");
    let run = campaigns(&["parse", file.to_str().unwrap_or("")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(run.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no phone column"), "{stderr}");
    assert!(stderr.contains("\"email\""), "{stderr}");

    let run = campaigns(&["parse", "/nonexistent/contacts.csv"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("/nonexistent/contacts.csv"));

    let file = scratch("bad.xlsx");
    std::fs::write(&file, b"PK\x03\x04 not really a zip").expect("write");
    let run = campaigns(&["parse", file.to_str().unwrap_or("")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("corrupt_file"));
}

#[test]
fn spreadsheets_parse_through_the_cli() {
    for name in ["contacts.xls", "contacts.ods"] {
        let file = fixture(name);
        let run = campaigns(&["parse", file.to_str().unwrap_or("")]);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).expect("json");
        assert_eq!(report["imported"], 2, "{name}");
        assert_eq!(report["phone_column"], "Mobile", "{name}");
    }
}
