//! `twilio-sim`: the Twilio simulator as a standalone server for local runs.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "twilio-sim",
    about = "A local stand-in for Twilio's call API with signed, scripted status callbacks"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks one).
    #[arg(long, default_value_t = twilio_sim::DEFAULT_PORT)]
    port: u16,
    /// Account SID the simulator accepts.
    #[arg(long, env = "TWILIO_ACCOUNT_SID", default_value = twilio_sim::DEFAULT_ACCOUNT_SID)]
    account_sid: String,
    /// Auth token it checks (basic auth) and signs callbacks with.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", default_value = twilio_sim::DEFAULT_AUTH_TOKEN, hide_env_values = true)]
    auth_token: String,
    /// Multiplies every simulated delay (0.01: a 30 s call lasts 0.3 s).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// A JSON script file (the `PUT /sim/script` format) in force at start and after reset.
    #[arg(long)]
    script: Option<std::path::PathBuf>,
    /// Most calls per list page.
    #[arg(long, default_value_t = 1000)]
    max_page_size: usize,
    /// Twilio's outbound rate (calls/s, simulated time); faster creates wait `queued`.
    #[arg(long)]
    calls_per_second: Option<f64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    shared::telemetry::init();
    let args = Args::parse();
    let script = match &args.script {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
            serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("script {}: {e}", path.display()))?
        }
        None => twilio_sim::Script::default(),
    };
    let sim = twilio_sim::spawn(twilio_sim::SimConfig {
        port: args.port,
        account_sid: args.account_sid,
        auth_token: args.auth_token,
        time_scale: args.time_scale,
        max_page_size: args.max_page_size,
        calls_per_second: args.calls_per_second,
        script,
    })
    .await?;
    println!(
        "twilio-sim listening on {} (TWILIO_API_BASE={})",
        sim.base_url, sim.base_url
    );
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
