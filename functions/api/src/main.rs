//! The API Lambda: the composition root. Tracing, configuration and SDK clients are set up
//! once; the axum Router from `shared::http` does the rest.
//!
//! On Lambda (`AWS_LAMBDA_RUNTIME_API` set) the HTTP API's JWT authorizer has verified the
//! caller and the router reads the `sub` claim from the request context. Anywhere else the
//! binary serves the same router on 127.0.0.1:$PORT (default 3000) and verifies local HS256
//! tokens (`LOCAL_JWT_SECRET`), which is handy for `cargo run -p api` against the local stack.

use std::sync::Arc;

use shared::config::{ConfigError, optional, required};
use shared::http::twilio::Webhooks;
use shared::http::{AppState, Auth};
use shared::service::dial::Dialer;
use shared::twilio::client::TwilioClient;

/// The webhooks' dependencies: the dialer (it applies call statuses) and the Twilio
/// credentials the signature check uses, one credential store shared by both.
fn webhooks(dialer: Result<Dialer, ConfigError>) -> Result<Webhooks, ConfigError> {
    let twilio = TwilioClient::from_env()?;
    let credentials = twilio.credentials().clone();
    let mut dialer = dialer?;
    dialer.telephony = Arc::new(twilio);
    Ok(Webhooks {
        dialer,
        credentials,
        public_base_url: required("PUBLIC_BASE_URL")?
            .trim_end_matches('/')
            .to_string(),
        voice_gateway_url: optional("VOICE_GATEWAY_URL").unwrap_or_default(),
    })
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // First: a sheet-worker child (contacts_parser::worker) reads one spreadsheet and exits here.
    let isolation = contacts_parser::worker::init();
    shared::telemetry::init();
    if let Err(e) = isolation {
        tracing::warn!(error = %e, "no sheet worker: spreadsheets are read in-process");
    }
    let on_lambda = std::env::var("AWS_LAMBDA_RUNTIME_API").is_ok();
    let sdk = shared::config::aws_config().await;
    let auth = if on_lambda {
        Auth::Gateway
    } else {
        Auth::local_from_env()
    };
    let state = AppState::from_env(&sdk, auth)?;
    // ---- Twilio webhooks (/twilio/status, /twilio/voice); without them those two routes
    // answer 503 and the REST API still works.
    let state = match webhooks(shared::wiring::dialer_from_env(&sdk)) {
        Ok(w) => state.with_twilio(w),
        Err(e) => {
            tracing::warn!(error = %e, "Twilio webhooks not configured");
            state
        }
    };
    // ---- The voice gateway's opt-out (POST /dnc/opt-out); without its secret the route answers 503.
    let state = match shared::http::optout::OptOutSecret::from_env() {
        Ok(Some(secret)) => state.with_optout(secret),
        Ok(None) => {
            tracing::warn!("opt-out secret not configured (OPTOUT_SECRET_ARN or OPTOUT_SECRET)");
            state
        }
        Err(e) => return Err(e.into()),
    };
    if on_lambda {
        lambda_http::run(shared::http::router(state)).await
    } else {
        let port: u16 = shared::config::parsed_or("PORT", 3000)?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        tracing::info!(port, "serving the API locally");
        shared::http::serve(listener, state).await?;
        Ok(())
    }
}
