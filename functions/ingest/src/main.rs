//! The ingest Lambda: wiring only.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // First: a sheet-worker child (contacts_parser::worker) reads one spreadsheet and exits here.
    let isolation = contacts_parser::worker::init();
    shared::telemetry::init();
    if let Err(e) = isolation {
        tracing::warn!(error = %e, "no sheet worker: spreadsheets are read in-process");
    }
    let sdk = shared::config::aws_config().await;
    let deps = shared::wiring::ingest_from_env(&sdk)?;
    run(service_fn(|event: LambdaEvent<aws_lambda_events::s3::S3Event>| {
        let deps = &deps;
        async move { ingest::handle(deps, event).await }
    }))
    .await
}
