//! The one error type of the HTTP boundary. Every failure a handler can meet becomes an
//! `ApiError` here, and only here: storage conflicts become 409, throttling 503, anything
//! unexpected a logged 500 whose body says nothing about the cause.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::{CampaignState, FieldError};
use contacts_parser::ImportError;
use crate::service::campaigns::ServiceError;

/// `{"error": {"code", "message", "field", "state"}}`
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: what a client branches on.
    pub code: String,
    /// For a person: what is wrong and what to do.
    pub message: String,
    /// The request field at fault (`pacing.delay_seconds`, `file`, `cursor`), when there is one.
    pub field: Option<String>,
    /// On a 409 for an illegal transition: the campaign's current state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<CampaignState>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub field: Option<String>,
    pub state: Option<CampaignState>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            state: None,
        }
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not found")
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as {expected}"),
        )
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }

    pub fn invalid(e: FieldError) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_field".into(),
            message: e.message,
            field: e.field,
            state: None,
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }

    fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.clone(),
                message: self.message.clone(),
                field: self.field.clone(),
                state: self.state,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

/// Which request field an import error is about.
fn import_field(e: &ImportError) -> &'static str {
    match e {
        ImportError::UnknownColumn { .. } => "settings.phone_column",
        ImportError::InvalidRegion(_) => "settings.default_region",
        _ => "file",
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(f) => ApiError::invalid(f),
            ServiceError::Import(ie) => {
                let status = match ie {
                    ImportError::TooLarge { .. } | ImportError::TooManyRows { .. } => {
                        StatusCode::PAYLOAD_TOO_LARGE
                    }
                    ImportError::ReaderUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, ie.code(), ie.to_string()).with_field(import_field(&ie))
            }
            ServiceError::BadRequest {
                code,
                message,
                field,
            } => {
                let mut err = ApiError::bad_request(code, message);
                err.field = field;
                err
            }
            ServiceError::NotFound => ApiError::not_found(),
            ServiceError::InvalidState { message, state } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, "invalid_state", message);
                err.state = Some(state);
                err
            }
            ServiceError::Conflict { code, message } => {
                ApiError::new(StatusCode::CONFLICT, code, message)
            }
            ServiceError::TooLarge(message) => ApiError::too_large(message).with_field("file"),
            ServiceError::Unavailable => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the service is busy; retry in a moment",
            ),
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::adapters::dynamodb::RepoError> for ApiError {
    fn from(e: crate::adapters::dynamodb::RepoError) -> Self {
        ServiceError::from(e).into()
    }
}

/// Where a JSON document came from: the request body, or a named multipart part.
#[derive(Debug, Clone, Copy)]
pub enum JsonSource<'a> {
    Body,
    Part(&'a str),
}

impl JsonSource<'_> {
    fn field(self) -> String {
        match self {
            JsonSource::Body => "body".into(),
            JsonSource::Part(name) => name.into(),
        }
    }

    fn what(self) -> String {
        match self {
            JsonSource::Body => "the body".into(),
            JsonSource::Part(name) => format!("the {name} part"),
        }
    }
}

/// A JSON document that failed to deserialize: syntax is a 400 naming the body or the
/// multipart part, a wrong value a 422 naming the field by its path (`pacing.delay_seconds`,
/// `business_hours.days[2]`). Messages are in plain words (`http::plain`), never serde's.
pub fn json_error(e: serde_path_to_error::Error<serde_json::Error>, source: JsonSource<'_>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() || inner.is_io() {
        return ApiError::bad_request(
            "malformed_json",
            format!("{} is not valid JSON: {}", source.what(), super::plain::syntax_error(&inner)),
        )
        .with_field(&source.field());
    }
    let whole = path.is_empty() || path == "." || path.starts_with('[');
    if whole {
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{} must be a JSON object in curly braces, such as {{\"name\": \"...\"}}", source.what()),
        )
        .with_field(&source.field());
    }
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", super::plain::data_error(&path, &inner.to_string()))
        .with_field(&path)
}

/// Parse a JSON body with the failing field's path kept.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_json_from(bytes, JsonSource::Body)
}

/// Parse JSON from `source` with the failing field's path kept.
pub fn parse_json_from<T: serde::de::DeserializeOwned>(bytes: &[u8], source: JsonSource<'_>) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| json_error(e, source))?;
    // Trailing garbage after the value is malformed too.
    de.end().map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            format!("{} is not valid JSON: {}", source.what(), super::plain::syntax_error(&e)),
        )
        .with_field(&source.field())
    })?;
    Ok(value)
}
