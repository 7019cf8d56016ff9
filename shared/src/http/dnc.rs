//! Do-not-call routes: the caller's own list (`/dnc`), a bulk upload with the contact parser,
//! and the voice gateway's signed opt-out (`optout.rs`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::campaigns::{body_error, missing, read_multipart, require_json};
use super::error::{ApiError, ErrorBody, parse_json};
use super::{ApiQuery, AppState, User};
use crate::adapters::dynamodb::dnc::DncEntry;
use crate::service::campaigns as campaigns_svc;
use crate::service::dnc::{self as svc, DncInput, DncPage, DncUploadReport};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DncParams {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `multipart/form-data` of `POST /dnc/upload`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DncUploadForm {
    /// CSV, XLSX or TXT, read by the same parser as contact files.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    #[schema(pattern = "^[A-Za-z]{2}$")]
    default_region: Option<String>,
    phone_column: Option<String>,
}

/// A phone in a path: `+12025550123` (or `%2B12025550123`).
pub struct PhonePath(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for PhonePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(p) => Ok(PhonePath(p.0)),
            Err(_) => Err(ApiError::not_found()),
        }
    }
}

/// The caller's do-not-call list, in number order.
#[utoipa::path(
    get, path = "/dnc", tag = "do-not-call", params(DncParams),
    responses(
        (status = 200, description = "A page of the list", body = DncPage),
        (status = 400, description = "Bad cursor", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 422, description = "limit outside 1..100 (field named)", body = ErrorBody),
    )
)]
pub async fn list(State(st): State<AppState>, user: User, ApiQuery(q): ApiQuery<DncParams>) -> Result<Json<DncPage>, ApiError> {
    Ok(Json(svc::list(&st.deps, &user.0, q.limit, q.cursor.as_deref()).await?))
}

/// Add a number to the caller's list (idempotent: 200 with the existing entry if listed).
#[utoipa::path(
    post, path = "/dnc", tag = "do-not-call",
    request_body(content = DncInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Added", body = DncEntry),
        (status = 200, description = "Already on the list", body = DncEntry),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid phone (field named)", body = ErrorBody),
    )
)]
pub async fn add(
    State(st): State<AppState>,
    user: User,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<DncEntry>), ApiError> {
    require_json(&headers)?;
    let body = body.map_err(body_error)?;
    let input: DncInput = parse_json(&body)?;
    let (entry, created) = svc::add(&st.deps, &user.0, input).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(entry)))
}

/// Look a number up on the caller's list.
#[utoipa::path(
    get, path = "/dnc/{phone}", tag = "do-not-call", params(("phone" = String, Path, description = "E.164, e.g. +12025550123", pattern = r"^\+[1-9][0-9]{5,14}$")),
    responses(
        (status = 200, description = "On the list", body = DncEntry),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "Not on the list", body = ErrorBody),
        (status = 422, description = "Not a phone number", body = ErrorBody),
    )
)]
pub async fn lookup(State(st): State<AppState>, user: User, PhonePath(phone): PhonePath) -> Result<Json<DncEntry>, ApiError> {
    Ok(Json(svc::lookup(&st.deps, &user.0, &phone).await?))
}

/// Remove a number from the caller's list.
#[utoipa::path(
    delete, path = "/dnc/{phone}", tag = "do-not-call", params(("phone" = String, Path, description = "E.164, e.g. +12025550123", pattern = r"^\+[1-9][0-9]{5,14}$")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "Not on the list", body = ErrorBody),
        (status = 422, description = "Not a phone number", body = ErrorBody),
    )
)]
pub async fn remove(State(st): State<AppState>, user: User, PhonePath(phone): PhonePath) -> Result<StatusCode, ApiError> {
    svc::remove(&st.deps, &user.0, &phone).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add every valid number of a file (CSV, XLSX, TXT; the contact parser) to the caller's list.
#[utoipa::path(
    post, path = "/dnc/upload", tag = "do-not-call",
    request_body(content = DncUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "Numbers added, with the parser's report", body = DncUploadReport),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 413, description = "File over the inline cap", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = ErrorBody),
        (status = 422, description = "Unreadable file or bad option", body = ErrorBody),
    )
)]
pub async fn upload(
    State(st): State<AppState>,
    user: User,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Json<DncUploadReport>, ApiError> {
    let max = st.limits.max_inline_file_bytes;
    let mut up = read_multipart(mp, max).await?;
    let file = up.file.take().ok_or_else(|| missing("file", "the do-not-call file"))?;
    let file_name = up.file_name.clone().unwrap_or_else(|| "numbers.csv".to_string());
    let opts = campaigns_svc::preview_options(up.text.remove("default_region"), up.text.remove("phone_column"), None, max)?;
    Ok(Json(svc::upload(&st.deps, &user.0, file, file_name, opts).await?))
}
