//! `campaigns token --user alice`: print an HS256 JWT the dev server accepts, signed with
//! `LOCAL_JWT_SECRET` (the same default as the server's). Local development only: on AWS the
//! HTTP API's JWT authorizer verifies tokens from the real issuer.

use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct TokenArgs {
    /// The user id (the token's `sub`).
    #[arg(long, default_value = "alice")]
    pub user: String,
    /// Hours until the token expires.
    #[arg(long, default_value_t = 24)]
    pub hours: u64,
    /// The signing secret.
    #[arg(long, env = "LOCAL_JWT_SECRET", default_value = shared::http::auth::DEFAULT_LOCAL_SECRET, hide_env_values = true)]
    pub secret: String,
}

pub fn run(args: TokenArgs) -> ExitCode {
    if args.user.trim().is_empty() || args.user.contains('/') {
        eprintln!("campaigns token: --user must be a non-empty id without '/'");
        return ExitCode::FAILURE;
    }
    match shared::http::auth::issue_local_token(
        args.secret.as_bytes(),
        &args.user,
        Duration::from_secs(args.hours * 3600),
    ) {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("campaigns token: {e}");
            ExitCode::FAILURE
        }
    }
}
