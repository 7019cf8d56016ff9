//! Twilio: the REST client for calls, and the webhook signature.
//!
//! The base URL is configurable (`TWILIO_API_BASE`) so the simulator in `infra/twilio-sim`
//! stands in locally and in tests.

#[cfg(feature = "aws")]
pub mod client;
#[cfg(feature = "aws")]
pub mod credentials;
pub mod signature;
pub mod twiml;

#[cfg(feature = "aws")]
pub use client::TwilioClient;
#[cfg(feature = "aws")]
pub use credentials::{CredentialSource, CredentialStore, Credentials, TwilioConfig};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CallStatus;

/// What the dialer asks Twilio to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateCall {
    /// E.164 number to call.
    pub to: String,
    /// E.164 caller id.
    pub from: String,
    /// TwiML URL Twilio fetches when the call connects.
    pub url: String,
    /// Status webhook URL (carries campaign, contact and attempt in its query).
    pub status_callback: String,
    /// Seconds to let it ring.
    pub timeout_seconds: u32,
    /// Ask for answering-machine detection (`MachineDetection=Enable`).
    pub machine_detection: bool,
}

/// Twilio's view of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallInfo {
    pub sid: String,
    pub to: String,
    /// The caller id the call was placed from.
    #[serde(default)]
    pub from: String,
    pub status: CallStatus,
    pub duration_seconds: Option<u32>,
    pub answered_by: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub date_created: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelephonyError {
    /// 429 or 5xx: try later; nothing was created.
    #[error("twilio is busy or failing ({status}): {message}")]
    Retryable { status: u16, message: String },
    /// A 4xx about the number (invalid, unreachable, not permitted): the contact cannot be called.
    #[error("twilio rejected the number ({status}, code {code:?}): {message}")]
    Rejected { status: u16, code: Option<i64>, message: String },
    /// 401/403: the account credentials are wrong; the campaign cannot go on.
    #[error("twilio rejected the credentials ({status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// Network trouble: it is unknown whether the call was created.
    #[error("could not reach twilio: {0}")]
    Transport(String),
    #[error("unexpected twilio response: {0}")]
    Protocol(String),
}
