//! `campaigns dev` (being built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DevArgs {}

pub fn run(_args: DevArgs) -> ExitCode {
    eprintln!("campaigns dev: not built yet");
    ExitCode::FAILURE
}
