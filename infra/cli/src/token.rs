//! `campaigns token --user alice`: print an HS256 JWT the dev server accepts, signed with
//! `LOCAL_JWT_SECRET` (the same default as the server's). Local development only: on AWS the
//! HTTP API's JWT authorizer verifies tokens from the real issuer.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct TokenArgs {
    /// The user id (the token's `sub`).
    #[arg(long, default_value = "alice")]
    pub user: String,
    /// Hours until the token expires (the token `campaigns dev` prints lasts as long).
    #[arg(long, default_value_t = shared::http::auth::LOCAL_TOKEN_HOURS)]
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
    match shared::http::auth::local_token(args.secret.as_bytes(), &args.user, args.hours) {
        Ok((token, exp)) => {
            // The token alone on stdout, so `$(campaigns token)` captures it; its lifetime on stderr.
            println!("{token}");
            eprintln!(
                "campaigns token: {}",
                shared::http::auth::token_validity(args.hours, exp)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("campaigns token: {e}");
            ExitCode::FAILURE
        }
    }
}
