//! What `campaigns parse FILE` does, without the CLI around it: read the file, parse it with
//! the default options, print the report as pretty JSON. For whole-process timings of the
//! parser alone (docs/performance.md, "Parsing"):
//!
//!     cargo build -p contacts-parser --release --example parse
//!     hyperfine 'target/release/examples/parse /tmp/contacts-200k.csv'

use std::process::ExitCode;

use contacts_parser::{ParseOptions, parse_file};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse FILE");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("parse: {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let name = std::path::Path::new(&path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match parse_file(&bytes, &name, &ParseOptions::default()) {
        Ok(parsed) => match serde_json::to_string_pretty(&parsed.report) {
            Ok(report) => {
                println!("{report}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("parse: report: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("parse: {e} [{}]", e.code());
            ExitCode::from(1)
        }
    }
}
