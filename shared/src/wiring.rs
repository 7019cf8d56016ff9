//! Composition helpers shared by the Lambda binaries and the dev server: typed configuration
//! from the environment, SDK clients built once.

use std::sync::Arc;
use std::time::Duration;

use crate::adapters::dynamodb::Repo;
use crate::adapters::s3::Blobs;
use crate::adapters::sqs::DialQueue;
use crate::config::{ConfigError, optional, parsed_or, required};
use crate::ports::{SystemClock, Telephony};
use crate::service::dial::{Dialer, DialerConfig};
use crate::twilio::client::TwilioClient;

/// Twilio's default outbound rate for an account: one call per second.
pub const DEFAULT_ACCOUNT_CALLS_PER_SECOND: u32 = 1;

/// `ACCOUNT_CALLS_PER_SECOND`: 0 turns the account limit off, 1..=`MAX_RATE` sets it.
pub fn account_rate(v: u32) -> Result<Option<u32>, ConfigError> {
    use crate::adapters::dynamodb::rate::MAX_RATE;
    match v {
        0 => Ok(None),
        v if v <= MAX_RATE => Ok(Some(v)),
        _ => Err(ConfigError::Invalid {
            name: "ACCOUNT_CALLS_PER_SECOND",
            reason: format!("at most {MAX_RATE} calls per second (0 turns the limit off)"),
        }),
    }
}

/// The dialer's own settings from the environment.
pub fn dialer_config_from_env() -> Result<DialerConfig, ConfigError> {
    let d = DialerConfig::default();
    Ok(DialerConfig {
        public_base_url: required("PUBLIC_BASE_URL")?.trim_end_matches('/').to_string(),
        from_number: optional("TWILIO_FROM_NUMBER").unwrap_or(d.from_number),
        lease: Duration::from_secs(parsed_or("LEASE_SECONDS", d.lease.as_secs())?),
        ring_timeout_seconds: parsed_or("RING_TIMEOUT_SECONDS", d.ring_timeout_seconds)?,
        busy_backoff: Duration::from_secs(parsed_or("TWILIO_BUSY_BACKOFF_SECONDS", d.busy_backoff.as_secs())?),
        no_call_grace: Duration::from_secs(parsed_or("NO_CALL_GRACE_SECONDS", d.no_call_grace.as_secs())?),
        candidates: d.candidates,
        reconcile_give_up: Duration::from_secs(parsed_or("RECONCILE_GIVE_UP_SECONDS", d.reconcile_give_up.as_secs())?),
        tick_budget: Duration::from_secs(parsed_or("TICK_BUDGET_SECONDS", d.tick_budget.as_secs())?),
        tick_concurrency: parsed_or("TICK_CONCURRENCY", d.tick_concurrency)?.max(1),
        watchdog_concurrency: parsed_or("WATCHDOG_CONCURRENCY", d.watchdog_concurrency)?.max(1),
        twilio_lookup_timeout: Duration::from_millis(parsed_or("WATCHDOG_TWILIO_TIMEOUT_MS", d.twilio_lookup_timeout.as_millis() as u64)?),
        calls_per_second: account_rate(parsed_or("ACCOUNT_CALLS_PER_SECOND", DEFAULT_ACCOUNT_CALLS_PER_SECOND)?)?,
        rate_margin: Duration::from_millis(parsed_or("ACCOUNT_RATE_MARGIN_MS", d.rate_margin.as_millis() as u64)?),
        rate_send_offset: Duration::from_millis(parsed_or("ACCOUNT_RATE_SEND_OFFSET_MS", d.rate_send_offset.as_millis() as u64)?),
    })
}

/// A `Dialer` over the given SDK config, reading TABLE_NAME, DIAL_QUEUE_URL, PUBLIC_BASE_URL
/// and the Twilio settings. Nothing here does I/O: Twilio credentials load on first use.
pub fn dialer_from_env(sdk: &aws_config::SdkConfig) -> Result<Dialer, ConfigError> {
    let repo = Repo::new(crate::config::dynamodb_client(sdk), required("TABLE_NAME")?);
    let queue = optional("DIAL_QUEUE_URL").map(|url| DialQueue::new(aws_sdk_sqs::Client::new(sdk), url));
    let telephony: Arc<dyn Telephony> = Arc::new(TwilioClient::from_env()?);
    Ok(Dialer { repo, telephony, clock: Arc::new(SystemClock), queue, config: dialer_config_from_env()? })
}

/// The ingest function's dependencies.
#[derive(Clone, Debug)]
pub struct IngestDeps {
    pub repo: Repo,
    pub blobs: Blobs,
    pub limits: contacts_parser::Limits,
    /// The import lease's heartbeat (tests shorten it to see a dead import taken over).
    pub timing: crate::service::import::ImportTiming,
}

pub fn ingest_from_env(sdk: &aws_config::SdkConfig) -> Result<IngestDeps, ConfigError> {
    let repo = Repo::new(crate::config::dynamodb_client(sdk), required("TABLE_NAME")?);
    let mut limits = contacts_parser::Limits::default();
    limits.max_file_bytes = parsed_or("MAX_UPLOAD_BYTES", limits.max_file_bytes)?;
    limits.max_rows = parsed_or("MAX_ROWS", limits.max_rows)?;
    let blobs = Blobs::new(crate::config::s3_client(sdk), required("BUCKET_NAME")?).with_max_object_bytes(limits.max_file_bytes);
    Ok(IngestDeps { repo, blobs, limits, timing: Default::default() })
}
