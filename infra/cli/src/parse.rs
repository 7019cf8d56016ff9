//! `campaigns parse FILE`: runs the contact parser on a local file, prints the import report
//! as one JSON document on stdout, and with `--emit OUT.jsonl` writes one JSON object per
//! imported contact, in file order. A file that cannot be imported exits 1 with the reason
//! on stderr; an unreadable file or output exits 2.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use contacts_parser::{Contacts, Limits, ParseOptions, parse_file};

#[derive(clap::Args, Debug)]
pub struct ParseArgs {
    /// The contact file: CSV, TSV, TXT, XLSX, XLS or ODS.
    pub file: PathBuf,
    /// Region for numbers written without a country code (ISO 3166 alpha-2).
    #[arg(long, default_value = "US")]
    pub region: String,
    /// The phone column's header, instead of detecting it.
    #[arg(long)]
    pub phone_column: Option<String>,
    /// The name column's header, instead of detecting it.
    #[arg(long)]
    pub name_column: Option<String>,
    /// Also write the imported contacts here, one JSON object a line.
    #[arg(long, value_name = "OUT.jsonl")]
    pub emit: Option<PathBuf>,
}

pub fn run(args: ParseArgs) -> ExitCode {
    match execute(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Import(msg)) => {
            eprintln!("campaigns parse: {}: {msg}", args.file.display());
            ExitCode::from(1)
        }
        Err(Failure::Io(msg)) => {
            eprintln!("campaigns parse: {msg}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    /// The file was read but cannot be imported.
    Import(String),
    /// A file could not be read or written.
    Io(String),
}

fn execute(args: &ParseArgs) -> Result<(), Failure> {
    let opts = ParseOptions {
        default_region: args.region.clone(),
        phone_column: args.phone_column.clone(),
        name_column: args.name_column.clone(),
        limits: Limits::default(),
    };
    // Refuse an oversized file before reading it into memory.
    let size = std::fs::metadata(&args.file)
        .map_err(|e| Failure::Io(format!("{}: {e}", args.file.display())))?
        .len();
    if size > opts.limits.max_file_bytes {
        let e = contacts_parser::ImportError::TooLarge {
            bytes: size,
            limit: opts.limits.max_file_bytes,
        };
        return Err(Failure::Import(format!("{e} [{}]", e.code())));
    }
    let bytes = std::fs::read(&args.file)
        .map_err(|e| Failure::Io(format!("{}: {e}", args.file.display())))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = parse_file(&bytes, &name, &opts)
        .map_err(|e| Failure::Import(format!("{e} [{}]", e.code())))?;

    if let Some(out) = &args.emit {
        emit(out, &parsed.contacts).map_err(|e| Failure::Io(format!("{}: {e}", out.display())))?;
    }
    let report = serde_json::to_string_pretty(&parsed.report)
        .map_err(|e| Failure::Io(format!("report: {e}")))?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{report}").map_err(|e| Failure::Io(format!("stdout: {e}")))?;
    Ok(())
}

fn emit(path: &Path, contacts: &Contacts) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for c in contacts.iter() {
        serde_json::to_writer(&mut out, &c)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
