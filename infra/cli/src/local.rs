//! The whole system in one process, against the local emulator: the API router on a local
//! port, the Twilio simulator (unless a real API base is given), and the AWS wiring moto does
//! not do: a bucket watcher that runs the ingest use case on new uploads, a ticker that runs
//! the dialer's tick, and a dial-queue consumer. Every piece calls the same code the Lambda
//! functions run. `campaigns dev` and the end-to-end tests both start it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shared::adapters::dynamodb::{Repo, schema};
use shared::adapters::s3::Blobs;
use shared::adapters::scheduler::Wakeups;
use shared::adapters::sqs::{DialMessage, DialQueue};
use shared::http::optout::OptOutSecret;
use shared::http::twilio::Webhooks;
use shared::http::{ApiLimits, AppState, Auth, router};
use shared::ports::{Clock, SystemClock, Telephony};
use shared::service::campaigns::Deps;
use shared::service::dial::{Dialer, DialerConfig};
use shared::twilio::client::TwilioClient;
use shared::twilio::credentials::CredentialStore;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// What to start.
#[derive(Clone, Debug)]
pub struct LocalOptions {
    /// The emulator's endpoint.
    pub endpoint: String,
    pub table: String,
    pub bucket: String,
    pub queue: String,
    pub schedule_group: String,
    /// 127.0.0.1 port for the API (0: any free port).
    pub port: u16,
    /// Seconds between dialer ticks.
    pub tick: Duration,
    /// How often the bucket is scanned for new uploads.
    pub watch: Duration,
    /// A real Twilio-compatible API; `None` starts the simulator in-process.
    pub twilio_api_base: Option<String>,
    /// The simulator's time scale (1.0 = real time).
    pub sim_time_scale: f64,
    pub jwt_secret: String,
    /// The key the voice gateway signs `POST /dnc/opt-out` with.
    pub optout_secret: String,
    pub voice_gateway_url: String,
    pub from_number: String,
    pub lease: Duration,
    pub no_call_grace: Duration,
    pub busy_backoff: Duration,
    pub clock: Arc<dyn Clock>,
    /// A DynamoDB client to use instead of a plain one (tests add interceptors).
    pub dynamodb: Option<aws_sdk_dynamodb::Client>,
    /// Where the dialer and the webhooks read the Twilio credentials from, instead of the
    /// simulator's static ones (tests of credential rotation use a Secrets extension stand-in).
    pub twilio_credentials: Option<shared::twilio::CredentialSource>,
    /// Start the background loops (watcher, ticker, queue consumer).
    pub background: bool,
    /// Serve the dashboard from this directory (`web/dist`) at `/`, with `/config.json` and the
    /// dev-only `/dev/token` (see `crate::web`). `None`: the API alone.
    pub web_dir: Option<std::path::PathBuf>,
    /// The inline file cap of `POST /campaigns/create` and `/campaigns/preview` (bigger files
    /// go through the presigned upload).
    pub max_inline_file_bytes: u64,
    /// The account's call rate (`None`: no limit). `campaigns dev` sets it as the deployed
    /// dialer does (ACCOUNT_CALLS_PER_SECOND, default 1); tests choose.
    pub calls_per_second: Option<u32>,
}

/// The dev server's opt-out signing key (`POST /dnc/opt-out`); never used on AWS.
pub const DEFAULT_OPTOUT_SECRET: &str = "local-optout-secret-not-for-production";

impl Default for LocalOptions {
    fn default() -> Self {
        Self {
            endpoint: shared::config::local_endpoint(),
            table: "campaigns-dev".into(),
            bucket: "campaigns-uploads-dev".into(),
            queue: "campaigns-dial-dev".into(),
            schedule_group: "campaigns-dev".into(),
            port: 3000,
            tick: Duration::from_secs(60),
            watch: Duration::from_millis(500),
            twilio_api_base: None,
            sim_time_scale: 1.0,
            jwt_secret: shared::http::auth::DEFAULT_LOCAL_SECRET.into(),
            optout_secret: DEFAULT_OPTOUT_SECRET.into(),
            voice_gateway_url: "wss://voice-gateway.invalid/stream".into(),
            from_number: "+15005550006".into(),
            lease: Duration::from_secs(300),
            no_call_grace: Duration::from_secs(120),
            busy_backoff: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            dynamodb: None,
            twilio_credentials: None,
            background: true,
            web_dir: None,
            max_inline_file_bytes: shared::http::DEFAULT_MAX_INLINE_FILE_BYTES,
            calls_per_second: None,
        }
    }
}

/// A running local system. Dropping it stops the background loops and the server.
pub struct Local {
    pub addr: SocketAddr,
    pub base_url: String,
    pub repo: Repo,
    pub blobs: Blobs,
    pub queue: DialQueue,
    pub dialer: Dialer,
    pub sim: Option<twilio_sim::SimHandle>,
    pub jwt_secret: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Local {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Local {
    /// A bearer token for a local user, valid `LOCAL_TOKEN_HOURS` like `campaigns token`'s.
    pub fn token(&self, user: &str) -> String {
        self.token_with_expiry(user).0
    }

    /// The token and when it expires.
    pub fn token_with_expiry(&self, user: &str) -> (String, chrono::DateTime<chrono::Utc>) {
        dev_token(&self.jwt_secret, user)
    }
}

/// The token `campaigns dev` prints for a local user, and when it expires: it lasts
/// `LOCAL_TOKEN_HOURS`, as `campaigns token`'s does.
pub fn dev_token(jwt_secret: &str, user: &str) -> (String, chrono::DateTime<chrono::Utc>) {
    use shared::http::auth::{LOCAL_TOKEN_HOURS, local_token};
    local_token(jwt_secret.as_bytes(), user, LOCAL_TOKEN_HOURS).unwrap_or_else(|_| (String::new(), chrono::Utc::now()))
}

pub async fn start(opts: LocalOptions) -> anyhow::Result<Local> {
    let sdk = shared::config::local_aws_config(&opts.endpoint).await;
    let ddb = opts.dynamodb.clone().unwrap_or_else(|| shared::config::local_dynamodb_client(&sdk));
    schema::ensure_table(&ddb, &opts.table).await.context("creating the table (is the local stack up? `make stack-up`)")?;
    let repo = Repo::new(ddb, &opts.table);
    let blobs = Blobs::new(shared::config::s3_client(&sdk), &opts.bucket);
    blobs.ensure_bucket().await.context("creating the upload bucket")?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = DialQueue::ensure(&sqs, &opts.queue).await.context("creating the dial queue")?;
    let queue = DialQueue::new(sqs.clone(), &queue_url);
    let wakeups = Wakeups::new(
        aws_sdk_scheduler::Client::new(&sdk),
        &opts.schedule_group,
        "arn:aws:lambda:us-east-1:000000000000:function:dialer",
        "arn:aws:iam::000000000000:role/scheduler",
    );
    if let Err(e) = wakeups.ensure_group().await {
        warn!(error = %e, "schedule group not created (wake-ups are best effort locally; the tick starts campaigns)");
    }

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.port)).await.context("binding the API port")?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}");

    let (sim, twilio_config) = match &opts.twilio_api_base {
        Some(base) => (None, shared::twilio::credentials::TwilioConfig::from_env().map(|mut c| {
            c.api_base = base.clone();
            c
        })?),
        None => {
            let sim = twilio_sim::spawn(twilio_sim::SimConfig { time_scale: opts.sim_time_scale, ..Default::default() }).await?;
            let mut cfg = sim.twilio_config(&opts.from_number);
            if let Some(source) = &opts.twilio_credentials {
                cfg.credentials = source.clone();
            }
            (Some(sim), cfg)
        }
    };
    let twilio = TwilioClient::new(twilio_config)?;
    let credentials: CredentialStore = twilio.credentials().clone();
    let telephony: Arc<dyn Telephony> = Arc::new(twilio);
    let dialer = Dialer {
        repo: repo.clone(),
        telephony,
        clock: opts.clock.clone(),
        queue: Some(queue.clone()),
        config: DialerConfig {
            public_base_url: base_url.clone(),
            from_number: opts.from_number.clone(),
            lease: opts.lease,
            busy_backoff: opts.busy_backoff,
            no_call_grace: opts.no_call_grace,
            calls_per_second: opts.calls_per_second,
            ..DialerConfig::default()
        },
    };
    let deps = Deps { repo: repo.clone(), blobs: blobs.clone(), wakeups: wakeups.with_dial_queue(queue.clone()), clock: opts.clock.clone() };
    let state = AppState::new(deps, Auth::local(&opts.jwt_secret)).with_twilio(Webhooks {
        dialer: dialer.clone(),
        credentials,
        public_base_url: base_url.clone(),
        voice_gateway_url: opts.voice_gateway_url.clone(),
    })
    .with_optout(OptOutSecret::fixed(opts.optout_secret.clone()));
    let state = state.with_limits(ApiLimits { max_inline_file_bytes: opts.max_inline_file_bytes, ..ApiLimits::default() });
    let mut app = router(state);
    if let Some(dir) = &opts.web_dir {
        app = app.merge(crate::web::routes(dir.clone(), opts.jwt_secret.clone(), opts.max_inline_file_bytes));
    }
    let mut tasks = vec![tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            warn!(error = %e, "api server stopped");
        }
    })];
    if opts.background {
        tasks.push(tokio::spawn(watch_uploads(repo.clone(), blobs.clone(), opts.clock.clone(), opts.watch)));
        tasks.push(tokio::spawn(tick_loop(dialer.clone(), opts.tick)));
        tasks.push(tokio::spawn(consume_queue(dialer.clone(), sqs, queue_url)));
    }
    info!(%base_url, table = %opts.table, bucket = %opts.bucket, "local system up");
    Ok(Local { addr, base_url, repo, blobs, queue, dialer, sim, jwt_secret: opts.jwt_secret, tasks })
}

/// Stand-in for the S3 → ingest notification: new or changed objects under `uploads/`.
async fn watch_uploads(repo: Repo, blobs: Blobs, clock: Arc<dyn Clock>, every: Duration) {
    let mut seen: HashMap<String, String> = HashMap::new();
    let limits = contacts_parser::Limits::default();
    loop {
        tokio::time::sleep(every).await;
        let listed = blobs.client().list_objects_v2().bucket(blobs.bucket()).prefix("uploads/").send().await;
        let Ok(listed) = listed else { continue };
        for obj in listed.contents() {
            let (Some(key), Some(etag)) = (obj.key(), obj.e_tag()) else { continue };
            if seen.get(key).is_some_and(|e| e == etag) {
                continue;
            }
            seen.insert(key.to_string(), etag.to_string());
            match shared::service::import::ingest_object(&repo, &blobs, key, &limits, clock.now()).await {
                Ok(r) => info!(key, result = ?r, "ingest"),
                Err(e) => {
                    warn!(key, error = %e, "ingest failed; will retry");
                    seen.remove(key);
                }
            }
        }
    }
}

/// Stand-in for the EventBridge Scheduler rate(1 minute) tick.
async fn tick_loop(dialer: Dialer, every: Duration) {
    loop {
        match dialer.tick().await {
            Ok(r) if r.active > 0 => info!(active = r.active, dial_messages = r.dial_messages, "tick"),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "tick failed"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Stand-in for the SQS → dialer event source mapping: receive, dial, delete on success.
async fn consume_queue(dialer: Dialer, sqs: aws_sdk_sqs::Client, url: String) {
    loop {
        let out = sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(1).send().await;
        let msgs = match out {
            Ok(o) => o.messages.unwrap_or_default(),
            Err(e) => {
                warn!(error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        for m in msgs {
            let Some(msg) = m.body().and_then(|b| serde_json::from_str::<DialMessage>(b).ok()) else { continue };
            match dialer.dial_message(&msg).await {
                Ok(outcome) => {
                    tracing::debug!(campaign_id = %msg.campaign_id, outcome = %shared::domain::masking::mask_phones_in(&format!("{outcome:?}")), "dial");
                    if let Some(h) = m.receipt_handle() {
                        let _ = sqs.delete_message().queue_url(&url).receipt_handle(h).send().await;
                    }
                }
                Err(e) => warn!(campaign_id = %msg.campaign_id, error = %e, "dial failed; message left for redelivery"),
            }
        }
    }
}
