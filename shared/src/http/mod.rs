//! The HTTP router: the REST API (campaigns, agents, OpenAPI, health) and the Twilio webhooks.
//! The same `Router` runs on Lambda (through lambda_http) and locally (axum::serve).

pub mod agents;
pub mod auth;
pub mod campaigns;
pub mod dnc;
pub mod error;
pub mod history;
pub mod openapi;
pub mod optout;
pub mod plain;
pub mod simulate;
pub mod twilio;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use utoipa::ToSchema;

pub use auth::{Auth, User};
pub use error::ApiError;

use crate::service::campaigns::Deps;

/// The default cap on a file sent inline to `POST /campaigns/create` or `/campaigns/preview`.
/// Lambda takes at most 6 MB of request payload, and API Gateway base64-encodes a binary
/// body (4/3), so about 4 MB of file fits; larger files go through the presigned upload.
pub const DEFAULT_MAX_INLINE_FILE_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy)]
pub struct ApiLimits {
    pub max_inline_file_bytes: u64,
    /// Exports of more contacts than this go through the bucket and a presigned link.
    pub export_inline_max_contacts: u64,
    /// `POST /campaigns/create` stores at most this many contacts within the request; a larger
    /// file is handed to the ingest function (its contacts are stored in the background).
    pub inline_store_max_contacts: u64,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_inline_file_bytes: DEFAULT_MAX_INLINE_FILE_BYTES,
            export_inline_max_contacts: crate::service::export::INLINE_EXPORT_MAX_CONTACTS,
            inline_store_max_contacts: crate::service::campaigns::INLINE_STORE_MAX_CONTACTS,
        }
    }
}

/// What every handler gets. Cheap to clone (clients are `Arc`s inside).
#[derive(Clone, Debug)]
pub struct AppState {
    pub deps: Deps,
    pub auth: Auth,
    pub limits: ApiLimits,
    /// The Twilio webhooks' dependencies; `None` where the function serves no webhooks.
    pub twilio: Option<std::sync::Arc<twilio::Webhooks>>,
    /// The opt-out route's signing secret; `None` where it is not configured (503).
    pub optout: Option<std::sync::Arc<optout::OptOutSecret>>,
}

impl AppState {
    pub fn new(deps: Deps, auth: Auth) -> Self {
        Self {
            deps,
            auth,
            limits: ApiLimits::default(),
            twilio: None,
            optout: None,
        }
    }

    pub fn with_optout(mut self, secret: optout::OptOutSecret) -> Self {
        self.optout = Some(std::sync::Arc::new(secret));
        self
    }

    pub fn with_twilio(mut self, webhooks: twilio::Webhooks) -> Self {
        self.twilio = Some(std::sync::Arc::new(webhooks));
        self
    }

    pub fn with_limits(mut self, limits: ApiLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The API's dependencies from the environment the template sets: TABLE_NAME,
    /// BUCKET_NAME, SCHEDULE_GROUP (default "default"), DIALER_FUNCTION_ARN,
    /// SCHEDULER_ROLE_ARN, and optionally MAX_INLINE_FILE_BYTES. No I/O.
    pub fn from_env(
        sdk: &aws_config::SdkConfig,
        auth: Auth,
    ) -> Result<Self, crate::config::ConfigError> {
        use crate::config::{optional, parsed_or, required};
        let repo = crate::adapters::dynamodb::Repo::new(
            crate::config::dynamodb_client(sdk),
            required("TABLE_NAME")?,
        );
        let blobs = crate::adapters::s3::Blobs::new(
            crate::config::s3_client(sdk),
            required("BUCKET_NAME")?,
        );
        let wakeups = crate::adapters::scheduler::Wakeups::new(
            aws_sdk_scheduler::Client::new(sdk),
            optional("SCHEDULE_GROUP").unwrap_or_else(|| "default".to_string()),
            required("DIALER_FUNCTION_ARN")?,
            required("SCHEDULER_ROLE_ARN")?,
        );
        let clock: std::sync::Arc<dyn crate::ports::Clock> =
            std::sync::Arc::new(crate::ports::SystemClock);
        let limits = ApiLimits {
            max_inline_file_bytes: parsed_or(
                "MAX_INLINE_FILE_BYTES",
                DEFAULT_MAX_INLINE_FILE_BYTES,
            )?,
            export_inline_max_contacts: parsed_or(
                "EXPORT_INLINE_MAX_CONTACTS",
                crate::service::export::INLINE_EXPORT_MAX_CONTACTS,
            )?,
            inline_store_max_contacts: parsed_or(
                "INLINE_STORE_MAX_CONTACTS",
                crate::service::campaigns::INLINE_STORE_MAX_CONTACTS,
            )?,
        };
        // Start and resume wake the dialer at once through the dial queue (the tick is the
        // safety net).
        let wakeups = match optional("DIAL_QUEUE_URL") {
            Some(url) => wakeups.with_dial_queue(crate::adapters::sqs::DialQueue::new(aws_sdk_sqs::Client::new(sdk), url)),
            None => wakeups,
        };
        Ok(Self::new(
            Deps {
                repo,
                blobs,
                wakeups,
                clock,
            },
            auth,
        )
        .with_limits(limits))
    }
}

/// Serve the router over plain HTTP (dev server, tests): the same Router Lambda runs.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state)).await
}

/// The whole API. `{id}` routes act only on the caller's own campaigns and agents.
pub fn router(state: AppState) -> Router {
    // Multipart routes take the inline file plus room for the settings and the framing.
    let upload_limit =
        DefaultBodyLimit::max((state.limits.max_inline_file_bytes + 256 * 1024) as usize);
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi::serve))
        .route(
            "/campaigns",
            get(campaigns::list).post(campaigns::create_draft),
        )
        .route(
            "/campaigns/create",
            post(campaigns::create_with_file).layer(upload_limit),
        )
        .route(
            "/campaigns/preview",
            post(campaigns::preview).layer(upload_limit),
        )
        .route(
            "/campaigns/{id}",
            get(campaigns::get).delete(campaigns::delete),
        )
        .route("/campaigns/{id}/contacts", get(campaigns::contacts))
        .route("/campaigns/{id}/attempts", get(history::attempts))
        .route("/calls", get(history::calls))
        .route("/campaigns/{id}/simulate", post(simulate::simulate))
        .route("/campaigns/{id}/start", post(campaigns::start))
        .route("/campaigns/{id}/pause", post(campaigns::pause))
        .route("/campaigns/{id}/resume", post(campaigns::resume))
        .route("/campaigns/{id}/export.csv", get(campaigns::export_csv))
        .route("/agents", get(agents::list).post(agents::create))
        .route("/agents/{id}", get(agents::get))
        .route("/dnc", get(dnc::list).post(dnc::add))
        .route("/dnc/upload", post(dnc::upload).layer(upload_limit))
        // Signed by the voice gateway instead of a user's token (optout.rs).
        .route("/dnc/opt-out", post(optout::opt_out))
        .route("/dnc/{phone}", get(dnc::lookup).delete(dnc::remove))
        // ---- Twilio webhooks: /twilio/status and /twilio/voice (lead engineer, http/twilio.rs).
        // No `User` there: they are authenticated by X-Twilio-Signature.
        .merge(twilio::routes())
        // ----
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness: answers without touching storage.
#[utoipa::path(get, path = "/health", tag = "meta", security(()), responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}

/// `Query<T>` whose rejection is our JSON 400.
pub struct ApiQuery<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(q) => Ok(ApiQuery(q.0)),
            Err(e) => Err(query_error(e)),
        }
    }
}

fn query_error(e: QueryRejection) -> ApiError {
    // The message names the parameter and what it accepts ("unknown variant `x`, expected ...").
    let text = e.body_text();
    let detail = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&text);
    let (field, message) = plain::query_error(detail);
    let mut err = ApiError::bad_request("invalid_query", message);
    err.field = field;
    err
}

/// A path id. Ids are ours (hex), so one that does not even decode cannot name anything: 404.
pub struct ApiPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ApiPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(p) => Ok(ApiPath(p.0)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::not_found()),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}
