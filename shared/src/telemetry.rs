//! Tracing, set up once per process: JSON on Lambda, compact text locally, quiet unless
//! `RUST_LOG` asks for more. Colour only when the logs go to a terminal (and `NO_COLOR` is
//! unset): a log redirected to a file carries no escape codes.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Whether log lines get ANSI colours: only on a terminal, and never with `NO_COLOR` set.
pub fn use_colour(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let on_lambda = std::env::var("AWS_LAMBDA_FUNCTION_NAME").is_ok();
    let colour = use_colour(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(colour);
    // try_init: a second call (tests, the dev server hosting several handlers) is harmless.
    if on_lambda {
        let _ = builder.json().flatten_event(true).without_time().try_init();
    } else {
        let _ = builder.compact().try_init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(!use_colour(false, None));
        assert!(!use_colour(true, Some(std::ffi::OsStr::new("1"))));
        assert!(use_colour(true, Some(std::ffi::OsStr::new(""))));
    }
}
