//! `dynamo-local --port 4567 [--db FILE]`: the local stack's DynamoDB (see the library).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(about = "Serve DynamoDB locally (dynoxide: SQLite, atomic per request)")]
struct Args {
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long, default_value_t = 4567)]
    port: u16,
    /// SQLite file to keep the tables in; in memory when absent.
    #[arg(long)]
    db: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dynamo-local: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let served =
            match dynamo_local::serve(SocketAddr::new(args.host, args.port), args.db.as_deref())
                .await
            {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("dynamo-local: {e:#}");
                    return ExitCode::FAILURE;
                }
            };
        eprintln!("dynamo-local: serving DynamoDB on {}", served.endpoint());
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("dynamo-local: {e}");
                    return ExitCode::FAILURE;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        match served.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("dynamo-local: {e:#}");
                ExitCode::FAILURE
            }
        }
    })
}
