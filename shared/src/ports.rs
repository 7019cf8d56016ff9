//! The capabilities that have more than one implementation: time and telephony.
//!
//! Storage, queue, scheduler and blob store are concrete adapters over the AWS SDK clients:
//! tests run them against the real local emulator, and inject faults with SDK interceptors
//! (see `adapters::faults`) rather than through a second, in-memory implementation.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex};

/// Where time comes from. Business hours, pacing, leases and retries read it here only.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set and advance.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *g += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub use crate::twilio::{CallInfo, CreateCall, TelephonyError};

/// Placing and looking up calls (Twilio's REST API, or the simulator, or a fault wrapper).
pub trait Telephony: Send + Sync + std::fmt::Debug {
    /// Create an outbound call; returns Twilio's view of it (sid, status).
    fn create_call<'a>(&'a self, req: &'a CreateCall) -> BoxFuture<'a, Result<CallInfo, TelephonyError>>;
    /// Fetch a call by sid; `Ok(None)` when Twilio says 404.
    fn fetch_call<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>>;
    /// Calls to `to` created at or after `since`, queued ones included (for a dialer that died
    /// before recording the sid). Candidates only: nothing in a call says which attempt it is.
    fn calls_to<'a>(&'a self, to: &'a str, since: DateTime<Utc>) -> BoxFuture<'a, Result<Vec<CallInfo>, TelephonyError>>;
    /// The URLs in the call's events (the webhooks Twilio requested for it and the `url` and
    /// `status_callback` it was created with): our URLs carry the attempt's identity, so this
    /// is the evidence that a listed call is an attempt's own. Twilio shows them from 15
    /// minutes after the call ends; before that, and for an unknown sid, the list is empty.
    fn call_event_urls<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Vec<String>, TelephonyError>>;
    /// Stop a call before it reaches anyone: `Status=canceled` (queued or ringing), then
    /// `Status=completed` if it was already answered. Returns Twilio's view afterwards;
    /// `Ok(None)` when Twilio does not know the sid.
    fn cancel_call<'a>(&'a self, sid: &'a str) -> BoxFuture<'a, Result<Option<CallInfo>, TelephonyError>>;
}
