//! `campaigns dev`: the whole system locally (see `campaigns::local`).

use std::process::ExitCode;
use std::time::Duration;

use campaigns::local::{LocalOptions, start};

#[derive(clap::Args)]
pub struct DevArgs {
    /// API port on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Seconds between dialer ticks (EventBridge ticks every 60).
    #[arg(long, default_value_t = 60)]
    tick_seconds: u64,
    /// The Twilio simulator's time scale (0.1 makes a 30 s call last 3 s).
    #[arg(long, default_value_t = 1.0)]
    sim_time_scale: f64,
    #[arg(long, env = "TABLE_NAME", default_value = "campaigns-dev")]
    table: String,
    #[arg(long, env = "BUCKET_NAME", default_value = "campaigns-uploads-dev")]
    bucket: String,
    #[arg(long, env = "DIAL_QUEUE_NAME", default_value = "campaigns-dial-dev")]
    queue: String,
    /// Use a real Twilio-compatible API instead of the simulator (credentials from TWILIO_*).
    #[arg(long, env = "TWILIO_API_BASE")]
    twilio_api_base: Option<String>,
    #[arg(long, env = "LOCAL_JWT_SECRET", default_value = shared::http::auth::DEFAULT_LOCAL_SECRET)]
    jwt_secret: String,
}

pub fn run(args: DevArgs) -> ExitCode {
    shared::telemetry::init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("campaigns dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let opts = LocalOptions {
            port: args.port,
            tick: Duration::from_secs(args.tick_seconds.max(1)),
            sim_time_scale: args.sim_time_scale,
            table: args.table,
            bucket: args.bucket,
            queue: args.queue,
            twilio_api_base: args.twilio_api_base,
            jwt_secret: args.jwt_secret,
            ..LocalOptions::default()
        };
        match start(opts).await {
            Ok(local) => {
                println!("API:              {}", local.base_url);
                if let Some(sim) = &local.sim {
                    println!("Twilio simulator: {}", sim.base_url);
                }
                let (token, exp) = local.token_with_expiry("alice");
                println!("Token for alice:  {token}");
                println!(
                    "                  ({}; another: cargo run -q -p campaigns -- token --user alice)",
                    shared::http::auth::token_validity(shared::http::auth::LOCAL_TOKEN_HOURS, exp)
                );
                println!("Ctrl-C stops.");
                let _ = tokio::signal::ctrl_c().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("campaigns dev: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}
