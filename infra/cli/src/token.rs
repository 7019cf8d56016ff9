//! `campaigns token` (being built).

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TokenArgs {}

pub fn run(_args: TokenArgs) -> ExitCode {
    eprintln!("campaigns token: not built yet");
    ExitCode::FAILURE
}
