//! Tracing, set up once per process: JSON on Lambda, compact text locally, quiet unless
//! `RUST_LOG` asks for more.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let on_lambda = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // try_init: a second call (tests, the dev server hosting several handlers) is harmless.
    if on_lambda {
        let _ = builder.json().flatten_event(true).without_time().try_init();
    } else {
        let _ = builder.compact().try_init();
    }
}
