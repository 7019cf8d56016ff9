//! Spreadsheets are read in a child process, so that nothing calamine does to a hostile file
//! can take the server down.
//!
//! calamine 0.38 panics on some damaged files and, on an XLS or XLSX that declares or spans a
//! huge sheet, asks the allocator for tens of gigabytes at once. In a build with
//! `panic = "abort"` (cargo lambda's) both end the process: `catch_unwind` cannot catch an
//! abort, and an allocation failure is not a panic. Pre-checks can refuse the failures that
//! are known; a separate process contains the ones that are not. So the host process (the API,
//! the ingest function, `campaigns dev`) re-executes itself as a *sheet worker*: the child reads
//! the file on stdin, runs calamine, and writes the rows back on stdout. A child that dies
//! (signal, abort, non-zero exit), runs past its deadline or answers garbage is reported as
//! `corrupt_file`; the parent never runs calamine itself.
//!
//! Wiring: every binary that parses uploads calls [`init`] first thing in `main`. In the child
//! it serves one file and exits; in the parent it registers the current executable as the
//! worker. Tests register a worker binary with [`isolate_with`]. With no worker registered
//! (unit tests, the fuzz target, library users), spreadsheets are read in-process.
//!
//! The wire format is private to this module (both ends are the same build): a status byte,
//! then for `OK` the sheets as length-prefixed rows of length-prefixed UTF-8 cells, for `ERR`
//! the error message. Every length is checked on decoding.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::sheet::{self, Sheet};
use crate::{ImportError, Kind};

/// Set (to the file's kind) in the environment of a sheet worker.
pub const WORKER_ENV: &str = "CONTACTS_PARSER_SHEET_WORKER";

/// How long a worker may take on one file before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The most a worker may write back (the rows of a 100 MiB spreadsheet fit comfortably).
const MAX_ANSWER_BYTES: u64 = 1 << 30;

const OK: u8 = 0;
const ERR: u8 = 1;

#[derive(Debug, Clone)]
struct Worker {
    exe: PathBuf,
    timeout: Duration,
}

static WORKER: OnceLock<Worker> = OnceLock::new();

/// Call first in `main` of every binary that parses uploads. In a sheet worker (the
/// environment names one) it reads one spreadsheet from stdin, answers on stdout and exits
/// the process. Otherwise it registers this executable as the worker and returns; an error
/// means the executable's path is unknown and spreadsheets would be read in-process.
pub fn init() -> std::io::Result<()> {
    if std::env::var_os(WORKER_ENV).is_some() {
        serve();
    }
    let exe = std::env::current_exe()?;
    isolate_with(exe, DEFAULT_TIMEOUT);
    Ok(())
}

/// Registers `exe` (a binary whose `main` calls [`init`] or [`serve`]) as the sheet worker.
/// The first registration wins.
pub fn isolate_with(exe: PathBuf, timeout: Duration) {
    let _ = WORKER.set(Worker { exe, timeout });
}

/// Whether spreadsheets are read in a child process.
pub fn is_isolated() -> bool {
    WORKER.get().is_some()
}

/// The worker's side: read the file from stdin, the kind from the environment, answer on
/// stdout, exit. Never returns.
pub fn serve() -> ! {
    let kind = std::env::var(WORKER_ENV)
        .ok()
        .and_then(|k| Kind::from_name(&k));
    let mut bytes = Vec::new();
    let answer = match (kind, std::io::stdin().lock().read_to_end(&mut bytes)) {
        (Some(kind), Ok(_)) => encode(&sheet::read_in_process(&bytes, kind)),
        (None, _) => encode(&Err(ImportError::Corrupt(
            "unknown spreadsheet kind".into(),
        ))),
        (_, Err(e)) => encode(&Err(ImportError::Corrupt(format!("reading the file: {e}")))),
    };
    drop(bytes);
    let mut out = std::io::stdout().lock();
    let ok = out.write_all(&answer).and_then(|()| out.flush()).is_ok();
    std::process::exit(if ok { 0 } else { 1 })
}

/// Reads the spreadsheet in the registered worker, or in-process when there is none.
pub(crate) fn read(bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    match WORKER.get() {
        Some(w) => read_in_child(w, bytes, kind),
        None => sheet::read_in_process(bytes, kind),
    }
}

fn read_in_child(w: &Worker, bytes: &[u8], kind: Kind) -> Result<Vec<Sheet>, ImportError> {
    let failed = |why: &str| {
        ImportError::Corrupt(format!(
            "{}: the spreadsheet reader {why} on this file",
            kind.name()
        ))
    };
    let mut child = Command::new(&w.exe)
        .env(WORKER_ENV, kind.name())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        // calamine's panic messages may quote the file's content: not for the logs.
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| ImportError::ReaderUnavailable(e.to_string()))?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(ImportError::ReaderUnavailable(
            "no pipes to the worker".into(),
        ));
    };
    let deadline = Instant::now() + w.timeout;
    let (status, answer) = std::thread::scope(|scope| {
        // A child that dies early closes its stdin: the write error is expected then.
        scope.spawn(move || {
            let _ = stdin.write_all(bytes);
        });
        let reader = scope.spawn(move || {
            let mut answer = Vec::new();
            let read = stdout.take(MAX_ANSWER_BYTES + 1).read_to_end(&mut answer);
            read.map(|_| answer)
        });
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        (status, reader.join().ok().and_then(Result::ok))
    });
    let Some(status) = status else {
        return Err(failed(&format!(
            "took longer than {} s",
            w.timeout.as_secs()
        )));
    };
    if !status.success() {
        return Err(failed("crashed"));
    }
    match answer {
        Some(a) if a.len() as u64 <= MAX_ANSWER_BYTES => {
            decode(&a).unwrap_or_else(|| Err(failed("answered garbage")))
        }
        Some(_) => Err(failed("produced too many cells")),
        None => Err(failed("answered nothing")),
    }
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
}

fn encode(result: &Result<Vec<Sheet>, ImportError>) -> Vec<u8> {
    let mut out = Vec::new();
    match result {
        Ok(sheets) => {
            out.push(OK);
            put_u32(&mut out, sheets.len());
            for s in sheets {
                put_u32(&mut out, s.name.len());
                out.extend_from_slice(s.name.as_bytes());
                put_u32(&mut out, s.rows.len());
                for (row, cells) in &s.rows {
                    out.extend_from_slice(&row.to_le_bytes());
                    put_u32(&mut out, cells.len());
                    for c in cells {
                        put_u32(&mut out, c.len());
                        out.extend_from_slice(c.as_bytes());
                    }
                }
            }
        }
        Err(e) => {
            out.push(ERR);
            let msg = match e {
                ImportError::Corrupt(m) => m.clone(),
                other => other.to_string(),
            };
            put_u32(&mut out, msg.len());
            out.extend_from_slice(msg.as_bytes());
        }
    }
    out
}

struct Wire<'a>(&'a [u8]);

impl<'a> Wire<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u32(&mut self) -> Option<usize> {
        let b: [u8; 4] = self.take(4)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(b)).ok()
    }
    fn u64(&mut self) -> Option<u64> {
        let b: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_le_bytes(b))
    }
    fn string(&mut self) -> Option<String> {
        let n = self.u32()?;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
}

/// None: the answer is malformed. Counts are checked against the bytes left before any
/// allocation, so a lying count cannot make the parent reserve memory.
fn decode(answer: &[u8]) -> Option<Result<Vec<Sheet>, ImportError>> {
    let mut w = Wire(answer);
    match w.u8()? {
        OK => {
            let n = w.u32()?;
            let mut sheets = Vec::with_capacity(n.min(w.0.len() / 8));
            for _ in 0..n {
                let name = w.string()?;
                let rows = w.u32()?;
                let mut out = Vec::with_capacity(rows.min(w.0.len() / 12));
                for _ in 0..rows {
                    let row = w.u64()?;
                    let cells = w.u32()?;
                    let mut v = Vec::with_capacity(cells.min(w.0.len() / 4));
                    for _ in 0..cells {
                        v.push(w.string()?);
                    }
                    out.push((row, v));
                }
                sheets.push(Sheet { name, rows: out });
            }
            w.0.is_empty().then_some(Ok(sheets))
        }
        ERR => {
            let msg = w.string()?;
            w.0.is_empty().then_some(Err(ImportError::Corrupt(msg)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wire_format_round_trips_and_refuses_garbage() {
        let sheets = vec![
            Sheet {
                name: "Contacts".into(),
                rows: vec![
                    (1, vec!["Phone".into(), "Name".into()]),
                    (3, vec!["+12025550123".into(), "Zoë".into(), String::new()]),
                ],
            },
            Sheet {
                name: String::new(),
                rows: vec![],
            },
        ];
        let bytes = encode(&Ok(sheets));
        let back = decode(&bytes).and_then(Result::ok).unwrap_or_default();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].name, "Contacts");
        assert_eq!(back[0].rows[1].1[1], "Zoë");
        let err = encode(&Err(ImportError::Corrupt("xls: bad".into())));
        assert_eq!(
            decode(&err),
            Some(Err(ImportError::Corrupt("xls: bad".into())))
        );
        // Truncated, trailing bytes, unknown status, a count that lies: all refused.
        for bad in [
            &bytes[..bytes.len() - 1],
            &[bytes.as_slice(), &[0]].concat()[..],
            &[7u8][..],
            &[OK, 0xFF, 0xFF, 0xFF, 0xFF][..],
        ] {
            assert!(decode(bad).is_none());
        }
    }

    fn worker(exe: &str, ms: u64) -> Worker {
        Worker {
            exe: exe.into(),
            timeout: Duration::from_millis(ms),
        }
    }

    #[test]
    fn a_worker_that_cannot_start_is_not_blamed_on_the_file() {
        let e = read_in_child(&worker("/nonexistent/worker", 1000), b"PK", Kind::Xlsx);
        let e = e.expect_err("no worker");
        assert_eq!(e.code(), "reader_unavailable");
        assert!(e.is_transient());
    }

    #[cfg(unix)]
    #[test]
    fn a_slow_or_babbling_worker_is_corrupt_file() {
        // sh runs its stdin: the "file" is the script.
        let slow = read_in_child(&worker("/bin/sh", 300), b"exec sleep 5", Kind::Xls);
        let slow = slow.expect_err("killed");
        assert!(slow.to_string().contains("took longer"), "{slow}");
        let garbage = read_in_child(&worker("/bin/sh", 5000), b"echo hello", Kind::Xls);
        assert!(
            garbage
                .expect_err("garbage")
                .to_string()
                .contains("garbage")
        );
        let dies = read_in_child(&worker("/bin/sh", 5000), b"kill -ABRT $$", Kind::Ods);
        let dies = dies.expect_err("crash");
        assert_eq!(dies.code(), "corrupt_file");
        assert!(dies.to_string().contains("crashed"), "{dies}");
    }
}
