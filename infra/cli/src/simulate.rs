//! `campaigns simulate FILE --settings settings.json`: the dry run of a contact file with a
//! campaign's settings, on this machine, with no AWS and nothing written: who would be called
//! when (in each recipient's local time), who would be skipped or held and why, and when the
//! campaign would complete. The same code as `POST /campaigns/{id}/simulate`
//! (`shared::domain::simulate`), given the file's contacts instead of a campaign's.
//!
//! Exit codes: 0 done, 1 the settings or the file cannot be used (reason on stderr), 2 a file
//! could not be read.

use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use contacts_parser::{Limits, ParseOptions, parse_file};
use shared::domain::compliance::locate;
use shared::domain::settings::SettingsInput;
use shared::domain::simulate::{
    SimContact, SimFilter, SimResult, SimulateInput, Simulation, simulate,
};
use shared::domain::{ContactState, Settings};

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// The contact file: CSV, TSV, TXT, XLSX, XLS or ODS.
    pub file: PathBuf,
    /// The campaign's settings, as `POST /campaigns` takes them (agent_id may be left out).
    #[arg(long, value_name = "settings.json")]
    pub settings: PathBuf,
    /// Numbers on the do-not-call list: a contact file (the same parser) of numbers.
    #[arg(long, value_name = "FILE")]
    pub dnc: Option<PathBuf>,
    /// When the campaign would start (RFC 3339; default: now, or the scheduled start if later).
    #[arg(long)]
    pub start: Option<DateTime<Utc>>,
    /// Assumed length of an answered call, seconds (default 60).
    #[arg(long)]
    pub call_seconds: Option<i64>,
    /// Assumed length of an unanswered call, seconds (default 30).
    #[arg(long)]
    pub ring_seconds: Option<i64>,
    /// Assumed share of attempts answered, 0 to 1 (default 0.35).
    #[arg(long)]
    pub answer_rate: Option<f64>,
    /// Which contacts to list: all, called, skipped or waited.
    #[arg(long, default_value = "all")]
    pub filter: String,
    /// Contacts listed (1 to 500).
    #[arg(long, default_value_t = 20)]
    pub limit: u64,
    /// Print the whole answer as JSON (what the API answers) instead of the summary.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SimulateArgs) -> ExitCode {
    match execute(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(msg)) => {
            eprintln!("campaigns simulate: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Io(msg)) => {
            eprintln!("campaigns simulate: {msg}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    Input(String),
    Io(String),
}

fn read(path: &PathBuf) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::Io(format!("{}: {e}", path.display())))
}

fn settings(path: &PathBuf, now: DateTime<Utc>) -> Result<Settings, Failure> {
    let text = read(path)?;
    let mut input: SettingsInput = serde_json::from_slice(&text)
        .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))?;
    input.agent_id.get_or_insert_with(|| "dry-run".into());
    input
        .validate(now, false)
        .map_err(|e| Failure::Input(format!("{}: {e}", path.display())))
}

/// A contact's number and the file's other columns.
type PhoneAndFields = (String, BTreeMap<String, String>);

fn phones(path: &PathBuf, opts: &ParseOptions) -> Result<Vec<PhoneAndFields>, Failure> {
    let bytes = read(path)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parsed = parse_file(&bytes, &name, opts)
        .map_err(|e| Failure::Input(format!("{}: {e} [{}]", path.display(), e.code())))?;
    Ok(parsed
        .contacts
        .iter()
        .map(|c| (c.phone().to_string(), c.metadata().to_map()))
        .collect())
}

fn execute(args: &SimulateArgs) -> Result<(), Failure> {
    let now = Utc::now();
    let s = settings(&args.settings, now)?;
    let filter: SimFilter = serde_json::from_value(serde_json::Value::String(args.filter.clone()))
        .map_err(|_| {
            Failure::Input(format!(
                "--filter {:?}: all, called, skipped or waited",
                args.filter
            ))
        })?;
    let input = SimulateInput {
        start_at: args.start,
        call_seconds: args.call_seconds,
        ring_seconds: args.ring_seconds,
        answer_rate: args.answer_rate,
        filter: Some(filter),
        offset: None,
        limit: Some(args.limit),
    };
    let default_start = s.scheduled_start_time.filter(|t| *t > now).unwrap_or(now);
    let (assumptions, page) = input
        .validate(default_start)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let opts = ParseOptions {
        default_region: s.default_region.clone(),
        phone_column: s.phone_column.clone(),
        name_column: s.name_column.clone(),
        limits: Limits::default(),
    };
    let contacts: Vec<SimContact> = phones(&args.file, &opts)?
        .into_iter()
        .map(|(phone, meta)| SimContact {
            location: locate(&phone, &meta),
            phone,
            state: ContactState::Pending,
            attempts: 0,
            due: None,
        })
        .collect();
    let dnc: HashSet<String> = match &args.dnc {
        Some(path) => phones(
            path,
            &ParseOptions {
                phone_column: None,
                name_column: None,
                ..opts.clone()
            },
        )?
        .into_iter()
        .map(|(p, _)| p)
        .collect(),
        None => HashSet::new(),
    };
    let sim = simulate(&s, &contacts, &dnc, &assumptions, page);
    let mut out = std::io::stdout().lock();
    let text = if args.json {
        serde_json::to_string_pretty(&sim).map_err(|e| Failure::Io(format!("JSON: {e}")))?
    } else {
        summary(&s, &sim)
    };
    writeln!(out, "{text}").map_err(|e| Failure::Io(format!("stdout: {e}")))
}

/// The run in words: totals, when it completes, why contacts wait or are skipped, the first
/// contacts' calls in their own local time.
fn summary(s: &Settings, sim: &Simulation) -> String {
    let m = &sim.summary;
    let tz = s.timezone;
    let when = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let mut o = String::new();
    o.push_str(&format!(
        "{} contacts from {}: {} calls to {} contacts; {} answered, {} not answered after every retry, {} skipped\n",
        m.contacts,
        when(sim.assumptions.start),
        m.calls,
        m.called,
        m.completed,
        m.failed,
        m.skipped
    ));
    o.push_str(&format!(
        "assumed: calls of {} s, {} s ringing when not answered, {:.0}% answered\n",
        sim.assumptions.call_seconds,
        sim.assumptions.ring_seconds,
        sim.assumptions.answer_rate * 100.0
    ));
    match sim.completes_at {
        Some(t) => o.push_str(&format!("completes: {}\n", when(t))),
        None => o.push_str("completes: nothing would be called\n"),
    }
    for w in &m.waited {
        o.push_str(&format!(
            "waits for {}: {} contacts\n",
            serde_json::to_value(w.rule)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            w.contacts
        ));
    }
    for r in &m.skip_reasons {
        o.push_str(&format!("skipped, {}: {} contacts\n", r.reason, r.contacts));
    }
    for d in &sim.calls_per_day {
        o.push_str(&format!("{}: {} calls\n", d.date, d.calls));
    }
    for c in &sim.contacts {
        let result = match c.result {
            SimResult::Completed => "answered",
            SimResult::Failed => "not answered",
            SimResult::Skipped => "skipped",
            SimResult::AlreadyFinished => "already finished",
            SimResult::InCall => "in a call",
        };
        o.push_str(&format!("{} {result}", c.phone));
        if let Some(r) = &c.reason {
            o.push_str(&format!(" ({r})"));
        }
        for call in &c.calls {
            let local: Vec<String> = call
                .local
                .iter()
                .map(|l| {
                    format!(
                        "{} {}",
                        l.local_time
                            .get(..16)
                            .unwrap_or(&l.local_time)
                            .replace('T', " "),
                        l.zone
                    )
                })
                .collect();
            o.push_str(&format!("; {}", local.join(" / ")));
        }
        o.push('\n');
    }
    if let Some(next) = sim.next_offset {
        o.push_str(&format!(
            "... {} more contacts listed with --json or the API (offset {next})\n",
            m.contacts as usize - next
        ));
    }
    o
}
