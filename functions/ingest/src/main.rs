//! The ingest Lambda: wiring only.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk = shared::config::aws_config().await;
    let deps = shared::wiring::ingest_from_env(&sdk)?;
    run(service_fn(|event: LambdaEvent<aws_lambda_events::s3::S3Event>| {
        let deps = &deps;
        async move { ingest::handle(deps, event).await }
    }))
    .await
}
