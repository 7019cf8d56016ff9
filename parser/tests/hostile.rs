//! Hostile spreadsheets (issue 14 item 10): files that make calamine abort the process that
//! reads them. Read through the sheet worker they are `corrupt_file` and the host lives on.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use contacts_parser::{ParseOptions, parse_file, worker};

#[allow(dead_code)]
#[path = "../src/xlsx_writer.rs"]
mod xlsx_writer;

const FIXTURE_XLS: &[u8] = include_bytes!("../../tests/fixtures/contacts.xls");
// How they were made: tests/fixtures/hostile/README.md.
const HUGE_DIMENSIONS_XLS: &[u8] =
    include_bytes!("../../tests/fixtures/hostile/huge-dimensions.xls");
const FAR_APART_CELLS_XLSX: &[u8] =
    include_bytes!("../../tests/fixtures/hostile/far-apart-cells.xlsx");

fn worker_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sheet-worker"))
}

fn hostile() -> [(&'static str, &'static str, Vec<u8>); 2] {
    [
        ("xls", "list.xls", HUGE_DIMENSIONS_XLS.to_vec()),
        ("xlsx", "list.xlsx", FAR_APART_CELLS_XLSX.to_vec()),
    ]
}

/// The files are truly hostile: read in-process (the worker binary started by hand, which
/// is what a host without isolation does) they kill the process.
#[test]
fn calamine_aborts_the_process_reading_them_in_process() {
    for (kind, name, bytes) in hostile() {
        let mut child = Command::new(worker_exe())
            .env(worker::WORKER_ENV, kind)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("worker starts");
        let _ = child.stdin.take().expect("stdin").write_all(&bytes);
        let out = child.wait_with_output().expect("worker ends");
        assert!(!out.status.success(), "{name}: calamine read it in-process");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                out.status.signal(),
                Some(6),
                "{name}: expected SIGABRT, got {:?}",
                out.status
            );
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("memory allocation"), "{name}: {stderr}");
    }
}

#[test]
fn hostile_spreadsheets_are_corrupt_file_and_the_host_lives() {
    worker::isolate_with(worker_exe(), Duration::from_secs(60));
    assert!(worker::is_isolated());
    for (_, name, bytes) in hostile() {
        let e = parse_file(&bytes, name, &ParseOptions::default()).expect_err(name);
        assert_eq!(e.code(), "corrupt_file", "{name}: {e}");
        assert!(e.to_string().contains("crashed"), "{name}: {e}");
    }
    // A sound workbook still reads through the worker, rows and all.
    let p = parse_file(FIXTURE_XLS, "contacts.xls", &ParseOptions::default()).expect("fixture");
    assert!(p.report.imported > 0);
    let xlsx = xlsx_writer::write_xlsx(&[(
        "Contacts",
        vec![
            vec![xlsx_writer::XCell::Str("Phone".into())],
            vec![xlsx_writer::XCell::Num(2025550123.0)],
        ],
    )]);
    let p = parse_file(&xlsx, "c.xlsx", &ParseOptions::default()).expect("xlsx");
    assert_eq!(p.contacts.len(), 1);
}
