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
    /// DynamoDB: `embedded` (served from this process, kept in <data-dir>/dynamodb.sqlite, so a
    /// restart keeps the campaigns) or the URL of a running one (the test stack's).
    #[arg(long, env = "AWS_ENDPOINT_URL_DYNAMODB", default_value = "embedded")]
    dynamodb: String,
    /// Where the embedded DynamoDB keeps its file.
    #[arg(long, default_value = "infra/local/run")]
    data_dir: std::path::PathBuf,
    /// The built dashboard served at `/` (default: the repository's web/dist; `make web` builds it).
    #[arg(long)]
    web_dir: Option<std::path::PathBuf>,
    /// Do not serve the dashboard.
    #[arg(long)]
    no_web: bool,
    /// Largest file sent inline to /campaigns/create and /campaigns/preview (bigger ones go
    /// through the presigned upload).
    #[arg(long, default_value_t = shared::http::DEFAULT_MAX_INLINE_FILE_BYTES)]
    max_inline_file_bytes: u64,
    /// The account's outbound call rate, shared by every campaign (Twilio's default is one
    /// call a second; 0 turns the limit off). The same setting and default as the deployed
    /// dialer (template parameter AccountCallsPerSecond).
    #[arg(long, env = "ACCOUNT_CALLS_PER_SECOND", default_value_t = shared::wiring::DEFAULT_ACCOUNT_CALLS_PER_SECOND)]
    calls_per_second: u32,
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
        // Kept alive until the process ends: dropping it stops the embedded DynamoDB.
        let mut _embedded = None;
        let dynamodb_endpoint = if args.dynamodb == "embedded" {
            let file = args.data_dir.join("dynamodb.sqlite");
            match dynamo_local::serve(([127, 0, 0, 1], 0).into(), Some(&file)).await {
                Ok(served) => {
                    println!("DynamoDB:         {} (embedded, {})", served.endpoint(), file.display());
                    let url = served.endpoint();
                    _embedded = Some(served);
                    url
                }
                Err(e) => {
                    eprintln!("campaigns dev: the embedded DynamoDB: {e:#}");
                    return ExitCode::FAILURE;
                }
            }
        } else {
            args.dynamodb.clone()
        };
        let sdk = shared::config::local_aws_config(&shared::config::local_endpoint()).await;
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk).endpoint_url(dynamodb_endpoint).build(),
        );
        let opts = LocalOptions {
            dynamodb: Some(dynamodb),
            port: args.port,
            tick: Duration::from_secs(args.tick_seconds.max(1)),
            sim_time_scale: args.sim_time_scale,
            table: args.table,
            bucket: args.bucket,
            queue: args.queue,
            twilio_api_base: args.twilio_api_base,
            jwt_secret: args.jwt_secret,
            web_dir: (!args.no_web).then(|| args.web_dir.unwrap_or_else(campaigns::web::default_dir)),
            max_inline_file_bytes: args.max_inline_file_bytes,
            calls_per_second: match shared::wiring::account_rate(args.calls_per_second) {
                Ok(rate) => rate,
                Err(e) => {
                    eprintln!("campaigns dev: {e}");
                    return ExitCode::FAILURE;
                }
            },
            ..LocalOptions::default()
        };
        match start(opts).await {
            Ok(local) => {
                println!("Dashboard:        {}/  (signed in as alice; {}/?user=bob for another user)", local.base_url, local.base_url);
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
