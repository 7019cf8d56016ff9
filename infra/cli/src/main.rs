//! `campaigns`: the operator CLI. `parse` checks a contact file, `simulate` dry-runs one with
//! a campaign's settings, `dev` runs the whole system
//! locally against the emulator and the Twilio simulator, `token` prints a local JWT, `openapi`
//! prints the API's OpenAPI document.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod dev;
mod openapi;
mod parse;
mod simulate;
mod token;

#[derive(Parser)]
#[command(name = "campaigns", version, about = "Bulk call campaigns: operator tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Parse a contact file and print the import report as JSON.
    Parse(parse::ParseArgs),
    /// The dry run of a contact file with a campaign's settings: who would be called when, who
    /// skipped or held and why, when it completes. Nothing is called or written.
    Simulate(simulate::SimulateArgs),
    /// Serve the API, the ingest watcher and the dialer locally.
    Dev(dev::DevArgs),
    /// Print a JWT for a local user (HS256, LOCAL_JWT_SECRET).
    Token(token::TokenArgs),
    /// Print the API's OpenAPI document (what GET /openapi.json serves).
    Openapi,
}

fn main() -> ExitCode {
    // First: a sheet-worker child (contacts_parser::worker) reads one spreadsheet and exits here.
    if let Err(e) = contacts_parser::worker::init() {
        eprintln!("warning: no sheet worker ({e}): spreadsheets are read in-process");
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Parse(args) => parse::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Dev(args) => dev::run(args),
        Command::Token(args) => token::run(args),
        Command::Openapi => openapi::run(),
    }
}
