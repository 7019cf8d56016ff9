//! `campaigns parse` (being built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ParseArgs {}

pub fn run(_args: ParseArgs) -> ExitCode {
    eprintln!("campaigns parse: not built yet");
    ExitCode::FAILURE
}
