//! The dialer Lambda: wiring only.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let sdk = shared::config::aws_config().await;
    let dialer = shared::wiring::dialer_from_env(&sdk)?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| {
        let dialer = &dialer;
        async move { dialer::handle(dialer, event).await }
    }))
    .await
}
