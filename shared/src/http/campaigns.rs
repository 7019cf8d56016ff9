//! Campaign routes. Handlers only translate: HTTP in, a `service::campaigns` call, HTTP out.

use std::collections::HashMap;
use std::future::Future;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, JsonSource, parse_json, parse_json_from};
use super::{ApiPath, ApiQuery, AppState, User};
use crate::adapters::dynamodb::RepoError;
use crate::adapters::dynamodb::campaigns::{IdempotencyClaim, IdempotencyRecord, MAX_PAGE};
use crate::adapters::dynamodb::keys::{idem_sk, user_pk};
use crate::domain::{CampaignState, ContactState, SettingsInput};
use crate::service::export::{Export, ExportLink};
use crate::service::campaigns::{
    self as svc, CampaignPage, CampaignView, ContactPage, CreatedWithFile, DraftCreated, Preview,
    new_id,
};

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// How long a create's idempotency record answers retries.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only campaigns in this state.
    pub state: Option<CampaignState>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactParams {
    /// Only contacts in this state.
    pub state: Option<ContactState>,
    /// Search: contacts whose phone contains these digits or whose name contains this text
    /// (as typed, lower case or capitalised). 1 to 100 characters; not combined with `state`.
    #[param(min_length = 1, max_length = 100)]
    pub q: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DraftParams {
    /// Name of the file you will upload (its extension picks the signed Content-Type).
    pub file_name: Option<String>,
}

/// `multipart/form-data` of `POST /campaigns/create`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct CreateForm {
    /// The contact file: CSV, TSV, TXT, XLSX, XLS or ODS.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// The campaign settings as JSON text (see `SettingsInput`).
    settings: String,
}

/// `multipart/form-data` of `POST /campaigns/preview`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PreviewForm {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Optional: settings JSON; only default_region, phone_column and name_column are used.
    settings: Option<String>,
    #[schema(pattern = "^[A-Za-z]{2}$")]
    default_region: Option<String>,
    phone_column: Option<String>,
    name_column: Option<String>,
}

fn page_limit(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        )
        .with_field("limit")),
    }
}

pub(crate) fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")) {
        Ok(())
    } else {
        Err(ApiError::unsupported_media_type("application/json"))
    }
}

pub(crate) fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("the body is too large")
    } else {
        ApiError::bad_request("bad_body", "the request body could not be read")
    }
}

fn json_response<T: Serialize>(
    status: StatusCode,
    value: &T,
) -> Result<(StatusCode, String), ApiError> {
    let body = serde_json::to_string(value).map_err(|e| {
        tracing::error!(error = %e, "response serialization");
        ApiError::internal()
    })?;
    Ok((status, body))
}

fn raw_json(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// Run a create once per `Idempotency-Key`: the first request claims the key (a conditional
/// put), runs, and stores its response; a retry with the same key and the same request gets
/// that response back; the same key with a different request is a 422; a retry while the
/// first still runs is a 409. Without the header, the create simply runs.
async fn idempotent<F, Fut>(
    st: &AppState,
    user: &User,
    headers: &HeaderMap,
    fingerprint: String,
    run: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = Result<(StatusCode, String), ApiError>>,
{
    let Some(raw) = headers.get(IDEMPOTENCY_HEADER) else {
        let (status, body) = run(new_id()).await?;
        return Ok(raw_json(status, body, false));
    };
    let key = raw
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .with_field("Idempotency-Key")
        })?
        .to_string();
    let deps = &st.deps;
    let now = deps.clock.now();
    let record = IdempotencyRecord {
        pk: user_pk(&user.0),
        sk: idem_sk(&key),
        entity: "idempotency".into(),
        owner: user.0.clone(),
        key: key.clone(),
        fingerprint,
        campaign_id: new_id(),
        response_status: None,
        response_body: None,
        created_ms: now.timestamp_millis(),
        ttl: (now + chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS)).timestamp(),
    };
    let in_progress = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed; retry shortly",
        )
    };
    match deps.repo.claim_idempotency(&record, now).await {
        Ok(IdempotencyClaim::Claimed) => {}
        Ok(IdempotencyClaim::Existing(first)) => {
            if first.fingerprint != record.fingerprint {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "this Idempotency-Key was used for a different request; use a new key",
                )
                .with_field("Idempotency-Key"));
            }
            return match (
                first
                    .response_status
                    .and_then(|s| StatusCode::from_u16(s).ok()),
                first.response_body,
            ) {
                (Some(status), Some(body)) => Ok(raw_json(status, body, true)),
                _ => Err(in_progress()),
            };
        }
        Err(RepoError::Conflict) => return Err(in_progress()),
        Err(e) => return Err(e.into()),
    }
    match run(record.campaign_id.clone()).await {
        Ok((status, body)) => {
            if let Err(e) = deps
                .repo
                .complete_idempotency(&user.0, &key, status.as_u16(), &body)
                .await
            {
                tracing::error!(error = %e, "idempotency record not completed; a retry will get 409 until it expires");
            }
            Ok(raw_json(status, body, false))
        }
        Err(err) => {
            // Nothing was created (or what was is reported by the error): free the key so a
            // corrected request can use it.
            if let Err(e) = deps.repo.release_idempotency(&user.0, &key).await {
                tracing::warn!(error = %e, "idempotency claim not released");
            }
            Err(err)
        }
    }
}

fn digest(route: &str, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    h.update(route.as_bytes());
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The parts of a multipart upload this API reads.
pub(crate) struct Upload {
    pub(crate) file_name: Option<String>,
    pub(crate) file: Option<Bytes>,
    pub(crate) settings: Option<String>,
    pub(crate) text: HashMap<String, String>,
}

fn multipart_error(e: MultipartError, max: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large_file(max)
    } else {
        ApiError::bad_request(
            "bad_multipart",
            format!("the multipart body could not be read: {}", e.body_text()),
        )
    }
}

fn too_large_file(max: u64) -> ApiError {
    ApiError::too_large(format!(
        "the file is over the {} MB this route takes inline; create the campaign with POST /campaigns and PUT the file to the upload URL it returns",
        max / (1024 * 1024)
    ))
    .with_field("file")
}

const MAX_TEXT_PART: usize = 64 * 1024;

pub(crate) async fn read_multipart(
    mp: Result<Multipart, MultipartRejection>,
    max: u64,
) -> Result<Upload, ApiError> {
    let mut mp =
        mp.map_err(|_| ApiError::unsupported_media_type("multipart/form-data (with a file part)"))?;
    let mut up = Upload {
        file_name: None,
        file: None,
        settings: None,
        text: HashMap::new(),
    };
    while let Some(field) = mp.next_field().await.map_err(|e| multipart_error(e, max))? {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "file" => {
                up.file_name = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.map_err(|e| multipart_error(e, max))?;
                if bytes.len() as u64 > max {
                    return Err(too_large_file(max));
                }
                up.file = Some(bytes);
            }
            _ => {
                let bytes = field.bytes().await.map_err(|e| multipart_error(e, max))?;
                if bytes.len() > MAX_TEXT_PART {
                    return Err(ApiError::too_large(format!(
                        "the {name} part is over {MAX_TEXT_PART} bytes"
                    ))
                    .with_field(&name));
                }
                let text = String::from_utf8(bytes.to_vec()).map_err(|_| {
                    ApiError::bad_request(
                        "bad_multipart",
                        format!("the {name} part is not UTF-8 text"),
                    )
                    .with_field(&name)
                })?;
                if name == "settings" {
                    up.settings = Some(text);
                } else {
                    up.text.insert(name, text);
                }
            }
        }
    }
    Ok(up)
}

pub(crate) fn missing(field: &str, what: &str) -> ApiError {
    ApiError::bad_request(
        "missing_field",
        format!("the {field} part is required: {what}"),
    )
    .with_field(field)
}

/// Create a campaign from a contact file sent in the request (the summary's route).
///
/// The file is parsed here (up to the inline cap; bigger files: `POST /campaigns`). The
/// campaign is created in draft with its contacts; start it with `/campaigns/{id}/start`.
#[utoipa::path(
    post, path = "/campaigns/create", tag = "campaigns",
    request_body(content = CreateForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first result: 1 to 255 visible ASCII characters", pattern = r"^[!-~]{1,255}$")),
    responses(
        (status = 201, description = "Created in draft with its contacts", body = CreatedWithFile),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 409, description = "Same Idempotency-Key still in progress", body = ErrorBody),
        (status = 413, description = "File over the inline cap: use POST /campaigns", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = ErrorBody),
        (status = 422, description = "Invalid settings (field named) or unreadable file", body = ErrorBody),
    )
)]
pub async fn create_with_file(
    State(st): State<AppState>,
    user: User,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let max = st.limits.max_inline_file_bytes;
    let up = read_multipart(mp, max).await?;
    let file = up.file.ok_or_else(|| missing("file", "the contact file"))?;
    let settings_text = up
        .settings
        .ok_or_else(|| missing("settings", "the campaign settings as JSON"))?;
    let file_name = up.file_name.unwrap_or_else(|| "contacts.csv".to_string());
    let fingerprint = digest(
        "POST /campaigns/create",
        &[settings_text.as_bytes(), file_name.as_bytes(), &file],
    );
    let (deps, owner) = (&st.deps, user.0.as_str());
    idempotent(
        &st,
        &user,
        &headers,
        fingerprint,
        move |campaign_id| async move {
            let input: SettingsInput =
                parse_json_from(settings_text.as_bytes(), JsonSource::Part("settings"))?;
            let created =
                svc::create_with_file(deps, owner, &campaign_id, input, &file_name, &file, max, st.limits.inline_store_max_contacts)
                    .await?;
            json_response(StatusCode::CREATED, &created)
        },
    )
    .await
}

/// Create a draft campaign and get a presigned URL to upload its contact file to.
///
/// PUT the file to `upload.url` with `upload.headers`; the ingest function imports it and
/// `GET /campaigns/{id}` shows the import's progress and report.
#[utoipa::path(
    post, path = "/campaigns", tag = "campaigns",
    request_body(content = SettingsInput, content_type = "application/json"),
    params(DraftParams, ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key return the first result: 1 to 255 visible ASCII characters", pattern = r"^[!-~]{1,255}$")),
    responses(
        (status = 201, description = "Draft created, awaiting its file", body = DraftCreated),
        (status = 400, description = "Malformed JSON or query", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 409, description = "Same Idempotency-Key still in progress", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid settings (field named)", body = ErrorBody),
    )
)]
pub async fn create_draft(
    State(st): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<DraftParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    require_json(&headers)?;
    let body = body.map_err(body_error)?;
    let file_name = q.file_name;
    let fingerprint = digest(
        "POST /campaigns",
        &[&body, file_name.as_deref().unwrap_or("").as_bytes()],
    );
    let (deps, owner) = (&st.deps, user.0.as_str());
    idempotent(
        &st,
        &user,
        &headers,
        fingerprint,
        move |campaign_id| async move {
            let input: SettingsInput = parse_json(&body)?;
            let created =
                svc::create_draft(deps, owner, &campaign_id, input, file_name.as_deref()).await?;
            json_response(StatusCode::CREATED, &created)
        },
    )
    .await
}

/// Parse a contact file and show the report and the first rows; nothing is stored.
#[utoipa::path(
    post, path = "/campaigns/preview", tag = "campaigns",
    request_body(content = PreviewForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "What an import would do", body = Preview),
        (status = 400, description = "Malformed request", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 413, description = "File over the inline cap", body = ErrorBody),
        (status = 415, description = "Not multipart/form-data", body = ErrorBody),
        (status = 422, description = "Unreadable file or bad option", body = ErrorBody),
    )
)]
pub async fn preview(
    State(st): State<AppState>,
    _user: User,
    mp: Result<Multipart, MultipartRejection>,
) -> Result<axum::Json<Preview>, ApiError> {
    let max = st.limits.max_inline_file_bytes;
    let mut up = read_multipart(mp, max).await?;
    let file = up
        .file
        .take()
        .ok_or_else(|| missing("file", "the contact file"))?;
    let file_name = up
        .file_name
        .clone()
        .unwrap_or_else(|| "contacts.csv".to_string());
    let (mut region, mut phone, mut name) = (
        up.text.remove("default_region"),
        up.text.remove("phone_column"),
        up.text.remove("name_column"),
    );
    if let Some(s) = &up.settings {
        let input: SettingsInput = parse_json_from(s.as_bytes(), JsonSource::Part("settings"))?;
        region = region.or(input.default_region);
        phone = phone.or(input.phone_column);
        name = name.or(input.name_column);
    }
    let opts = svc::preview_options(region, phone, name, max)?;
    // Parsing is CPU work: keep it off the async workers.
    let result = tokio::task::spawn_blocking(move || svc::preview(&file, &file_name, &opts))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "preview task");
            ApiError::internal()
        })??;
    Ok(axum::Json(result))
}

/// The caller's campaigns, newest first.
#[utoipa::path(
    get, path = "/campaigns", tag = "campaigns", operation_id = "list_campaigns", params(ListParams),
    responses(
        (status = 200, description = "A page of campaigns", body = CampaignPage),
        (status = 400, description = "Bad state, limit or cursor", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(st): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<ListParams>,
) -> Result<axum::Json<CampaignPage>, ApiError> {
    let limit = page_limit(q.limit, 20)?;
    Ok(axum::Json(
        svc::list(&st.deps, &user.0, q.state, limit, q.cursor.as_deref()).await?,
    ))
}

/// A campaign: its settings snapshot, agent snapshot, stats and import.
#[utoipa::path(
    get, path = "/campaigns/{id}", tag = "campaigns", operation_id = "get_campaign", params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
    )
)]
pub async fn get(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(svc::get(&st.deps, &user.0, &id).await?))
}

/// A campaign's contacts, with their state, outcome, attempts and duration.
#[utoipa::path(
    get, path = "/campaigns/{id}/contacts", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), ContactParams),
    responses(
        (status = 200, description = "A page of contacts", body = ContactPage),
        (status = 400, description = "Bad state, limit or cursor", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
    )
)]
pub async fn contacts(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
    ApiQuery(q): ApiQuery<ContactParams>,
) -> Result<axum::Json<ContactPage>, ApiError> {
    let limit = page_limit(q.limit, 50)?;
    if let Some(text) = q.q.as_deref() {
        return Ok(axum::Json(
            crate::service::history::search_contacts(&st.deps, &user.0, &id, text, limit, q.cursor)
                .await?,
        ));
    }
    Ok(axum::Json(
        svc::list_contacts(&st.deps, &user.0, &id, q.state, limit, q.cursor).await?,
    ))
}

/// Draft to pending: the campaign runs at `scheduled_start_time`, or at once if that is past.
#[utoipa::path(
    post, path = "/campaigns/{id}/start", tag = "campaigns", params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Now pending", body = CampaignView),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
        (status = 409, description = "Not a draft (current state in the body), import not done, or no contacts", body = ErrorBody),
    )
)]
pub async fn start(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(svc::start(&st.deps, &user.0, &id).await?))
}

/// Pending or running to paused: no new call starts after this returns.
#[utoipa::path(
    post, path = "/campaigns/{id}/pause", tag = "campaigns", params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Now paused", body = CampaignView),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
        (status = 409, description = "Not pending or running (current state in the body)", body = ErrorBody),
    )
)]
pub async fn pause(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(svc::pause(&st.deps, &user.0, &id).await?))
}

/// Paused to running (or to pending while the scheduled start is ahead).
#[utoipa::path(
    post, path = "/campaigns/{id}/resume", tag = "campaigns", params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "Running again, or pending", body = CampaignView),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
        (status = 409, description = "Not paused (current state in the body)", body = ErrorBody),
    )
)]
pub async fn resume(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<axum::Json<CampaignView>, ApiError> {
    Ok(axum::Json(svc::resume(&st.deps, &user.0, &id).await?))
}

/// Delete a campaign that is not running, with its contacts, attempts, file and schedule.
#[utoipa::path(
    delete, path = "/campaigns/{id}", tag = "campaigns", params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
        (status = 409, description = "Running: pause it first (current state in the body)", body = ErrorBody),
    )
)]
pub async fn delete(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<StatusCode, ApiError> {
    svc::delete(&st.deps, &user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One CSV row per contact: the file's own columns in file order as written (the phone as
/// written included), then the results (E.164 phone, state, outcome, attempts, last call time,
/// duration, row). Cells a spreadsheet would run as formulas are neutralized. A campaign of more
/// than `EXPORT_INLINE_MAX_CONTACTS` (20,000) contacts is written to the bucket in constant
/// memory and answered with 303 and a presigned link (also in the JSON body).
#[utoipa::path(
    get, path = "/campaigns/{id}/export.csv", tag = "campaigns", params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The CSV", content_type = "text/csv", body = String),
        (status = 303, description = "A large export: download it from `Location` (the same link is in the body)", body = ExportLink),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
    )
)]
pub async fn export_csv(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<Response, ApiError> {
    let inline_max = st.limits.export_inline_max_contacts;
    match crate::service::export::export(&st.deps, &user.0, &id, inline_max).await? {
        Export::Csv { file_name, body } => {
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
                .map_err(|_| ApiError::internal())?;
            Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                body,
            )
                .into_response())
        }
        Export::Link(link) => {
            let location = HeaderValue::from_str(&link.url).map_err(|_| ApiError::internal())?;
            let body = serde_json::to_string(&link).map_err(|_| ApiError::internal())?;
            Ok((
                StatusCode::SEE_OTHER,
                [(header::LOCATION, location), (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response())
        }
    }
}
