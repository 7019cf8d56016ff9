//! The Twilio simulator: an HTTP stand-in for the parts of Twilio's REST API the project uses
//! (create, fetch, list calls), with signed, scripted status callbacks and a record of every
//! call it was asked to place. See `docs/twilio-simulator.md`.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sim = twilio_sim::spawn(twilio_sim::SimConfig { time_scale: 0.001, ..Default::default() }).await?;
//! let client = shared::twilio::TwilioClient::new(sim.twilio_config("+12025550000"))?;
//! # Ok(()) }
//! ```

mod api;
pub mod script;
mod timeline;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

pub use script::{Behaviour, CallbackMode, Plan, Script, SimOutcome};
use shared::twilio::{Credentials, TwilioConfig};

pub const DEFAULT_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
pub const DEFAULT_AUTH_TOKEN: &str = "sim-auth-token";
pub const DEFAULT_PORT: u16 = 4577;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// 0 picks a free port.
    pub port: u16,
    pub account_sid: String,
    /// Checked on every REST request (basic auth) and used to sign callbacks.
    pub auth_token: String,
    /// Multiplies every simulated delay: 0.001 makes a 30 s call take 30 ms.
    pub time_scale: f64,
    /// The most calls one list page returns (Twilio allows 1000); small values exercise paging.
    pub max_page_size: usize,
    /// Twilio's outbound rate per account (1 call/s by default on Twilio): calls created
    /// faster stay `queued` until their turn, as Twilio queues them. `None`: no queueing.
    /// In simulated time (scaled by `time_scale`).
    pub calls_per_second: Option<f64>,
    /// The script in force at start and after `POST /sim/reset`.
    pub script: Script,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            port: 0,
            account_sid: DEFAULT_ACCOUNT_SID.into(),
            auth_token: DEFAULT_AUTH_TOKEN.into(),
            time_scale: 1.0,
            max_page_size: 1000,
            calls_per_second: None,
            script: Script::default(),
        }
    }
}

/// One status callback delivery attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackRecord {
    /// The `CallStatus` sent.
    pub status: String,
    pub sequence_number: u32,
    pub sent_at: DateTime<Utc>,
    /// 1 for the first try, 2 for the retry after a failure.
    pub attempt: u8,
    /// True for the second copy of a callback scripted to be sent twice.
    pub duplicate: bool,
    pub delivered: bool,
    pub http_status: Option<u16>,
    pub error: Option<String>,
}

/// A call the simulator was asked to place, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    pub sid: String,
    pub to: String,
    pub from: String,
    pub url: String,
    pub status_callback: Option<String>,
    /// The create request's form, in the order sent (repeated names repeated).
    pub params: Vec<(String, String)>,
    pub machine_detection: bool,
    pub behaviour: Behaviour,
    /// Twilio's current `status` for the call.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub duration: Option<u32>,
    pub answered_by: Option<String>,
    /// Every delivery attempt, in the order they were made.
    pub callbacks: Vec<CallbackRecord>,
}

/// A create the simulator refused (scripted 429 or 4xx, or a malformed request).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejection {
    pub to: String,
    pub at: DateTime<Utc>,
    pub status: u16,
    pub code: i64,
}

/// `GET /sim/calls`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub calls: Vec<CallRecord>,
    pub rejected: Vec<Rejection>,
    /// The most calls that were live (created, not yet ended) at one instant.
    pub max_in_flight: usize,
    pub in_flight_now: usize,
}

impl Record {
    pub fn calls_to(&self, to: &str) -> Vec<&CallRecord> {
        self.calls.iter().filter(|c| c.to == to).collect()
    }
}

/// The most intervals `[created_at, ended_at)` that overlap; a call not ended yet is open.
/// A call that ends at the instant another starts does not overlap it.
pub fn max_in_flight(calls: &[CallRecord]) -> usize {
    let mut events: Vec<(DateTime<Utc>, i32)> = Vec::with_capacity(calls.len() * 2);
    for c in calls {
        events.push((c.created_at, 1));
        if let Some(end) = c.ended_at {
            events.push((end, -1));
        }
    }
    // Ends (-1) sort before starts (+1) at the same instant.
    events.sort();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    usize::try_from(max).unwrap_or(0)
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    created: usize,
    rejected_429: u32,
    rejected_503: u32,
}

#[derive(Debug, Default)]
struct State {
    script: Script,
    counters: HashMap<String, Counters>,
    calls: Vec<CallRecord>,
    index: HashMap<String, usize>,
    rejected: Vec<Rejection>,
    /// When the next call may leave the queue (with `calls_per_second`).
    next_dequeue: Option<tokio::time::Instant>,
}

impl State {
    fn call_mut(&mut self, sid: &str) -> Option<&mut CallRecord> {
        let i = *self.index.get(sid)?;
        self.calls.get_mut(i)
    }
}

#[derive(Debug)]
struct Shared {
    account_sid: String,
    /// Replaced by `rotate_token` (Twilio's "promote the secondary token").
    auth_token: Mutex<String>,
    time_scale: f64,
    max_page_size: usize,
    calls_per_second: Option<f64>,
    initial_script: Script,
    state: Mutex<State>,
    /// Bumped by reset and shutdown: a call's timeline stops when it changes.
    generation: AtomicU64,
    http: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn token(&self) -> String {
        self.auth_token.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn scaled(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs * self.time_scale).clamp(0.0, 86_400.0 * 365.0))
    }

    fn record(&self) -> Record {
        let st = self.lock();
        let calls = st.calls.clone();
        let in_flight_now = calls.iter().filter(|c| c.ended_at.is_none()).count();
        Record {
            max_in_flight: max_in_flight(&calls),
            in_flight_now,
            calls,
            rejected: st.rejected.clone(),
        }
    }

    fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let mut st = self.lock();
        *st = State {
            script: self.initial_script.clone(),
            ..State::default()
        };
    }

    fn set_script(&self, script: Script) {
        let mut st = self.lock();
        st.script = script;
        st.counters.clear();
    }
}

/// A running simulator. Dropping it stops the server and every call's timeline.
#[derive(Debug)]
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`: what `TWILIO_API_BASE` should be.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl SimHandle {
    /// Credentials the simulator accepts.
    pub fn credentials(&self, from_number: &str) -> Credentials {
        Credentials {
            account_sid: self.account_sid.clone(),
            auth_token: self.auth_token.clone(),
            from_number: from_number.to_string(),
        }
    }

    /// A client configuration pointing at this simulator.
    pub fn twilio_config(&self, from_number: &str) -> TwilioConfig {
        TwilioConfig::with_credentials(self.base_url.clone(), self.credentials(from_number))
    }

    /// Same as `PUT /sim/script`: replaces the script and restarts per-number counters.
    pub fn set_script(&self, script: Script) {
        self.shared.set_script(script);
    }

    /// Rotate the account's auth token (Twilio: promote the secondary token): REST requests
    /// with the old token are refused with 401 from now on, and callbacks are signed with the
    /// new one. Same as `POST /sim/rotate-token`.
    pub fn rotate_token(&self, new_token: &str) {
        *self.shared.auth_token.lock().unwrap_or_else(|p| p.into_inner()) = new_token.to_string();
    }

    /// Same as `GET /sim/calls`.
    pub fn record(&self) -> Record {
        self.shared.record()
    }

    /// Same as `POST /sim/reset`: forgets calls, counters and the script; stops timelines.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops the server and waits for it (at most 5 s).
    pub async fn shutdown(mut self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds `127.0.0.1:<port>` and serves until the handle is shut down or dropped.
pub async fn spawn(cfg: SimConfig) -> anyhow::Result<SimHandle> {
    anyhow::ensure!(
        cfg.time_scale.is_finite() && cfg.time_scale >= 0.0,
        "time_scale must be a finite number >= 0"
    );
    anyhow::ensure!(!cfg.auth_token.is_empty(), "auth_token must not be empty");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.port)).await?;
    let addr = listener.local_addr()?;
    let http = reqwest::Client::builder()
        // Twilio gives a callback 15 s; callbacks go to local receivers, never via a proxy.
        .timeout(Duration::from_secs(15))
        .no_proxy()
        .user_agent("TwilioProxy/1.1")
        .build()?;
    let shared = Arc::new(Shared {
        account_sid: cfg.account_sid.clone(),
        auth_token: Mutex::new(cfg.auth_token.clone()),
        time_scale: cfg.time_scale,
        max_page_size: cfg.max_page_size.max(1),
        calls_per_second: cfg.calls_per_second.filter(|r| r.is_finite() && *r > 0.0),
        initial_script: cfg.script.clone(),
        state: Mutex::new(State {
            script: cfg.script,
            ..State::default()
        }),
        generation: AtomicU64::new(0),
        http,
    });
    let app = api::router(shared.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "twilio simulator stopped");
        }
    });
    let base_url = format!("http://{addr}");
    tracing::info!(%base_url, time_scale = cfg.time_scale, "twilio simulator listening");
    Ok(SimHandle {
        base_url,
        account_sid: cfg.account_sid,
        auth_token: cfg.auth_token,
        shutdown: Some(tx),
        task: Some(task),
        shared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn call(start: i64, end: Option<i64>) -> CallRecord {
        let t = |s| Utc.timestamp_opt(s, 0).single().expect("ts");
        CallRecord {
            sid: format!("CA{start}"),
            to: "+1".into(),
            from: "+2".into(),
            url: String::new(),
            status_callback: None,
            params: vec![],
            machine_detection: false,
            behaviour: Behaviour::default(),
            status: "completed".into(),
            created_at: t(start),
            started_at: None,
            answered_at: None,
            ended_at: end.map(t),
            duration: None,
            answered_by: None,
            callbacks: vec![],
        }
    }

    #[test]
    fn max_in_flight_counts_overlaps_only() {
        assert_eq!(max_in_flight(&[]), 0);
        // Back to back: one ends as the next starts.
        assert_eq!(
            max_in_flight(&[call(0, Some(10)), call(10, Some(20)), call(20, Some(30))]),
            1
        );
        assert_eq!(
            max_in_flight(&[
                call(0, Some(10)),
                call(5, Some(20)),
                call(6, Some(7)),
                call(15, None)
            ]),
            3
        );
        assert_eq!(max_in_flight(&[call(0, None), call(100, None)]), 2);
    }
}
