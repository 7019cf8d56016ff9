//! `POST /campaigns/{id}/simulate`: who the dialer would call when (in each recipient's local
//! time), who it would skip or hold and why, and when the campaign would complete.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;

use super::campaigns::{body_error, require_json};
use super::error::{ApiError, ErrorBody, parse_json};
use super::{ApiPath, AppState, User};
use crate::domain::simulate::{SimulateInput, Simulation};
use crate::service::simulate as svc;

/// The dry run: the campaign's contacts through the dialer's own rules (business hours,
/// recipient windows in every zone, state rules, blocked dates, caps, the do-not-call list,
/// pacing, `max_concurrent_calls`, retries) with assumed call length and answer rate. Nothing
/// is written. The summary covers every contact; `contacts` is one page of them (file order,
/// optionally only those called, skipped or held by a rule).
#[utoipa::path(
    post, path = "/campaigns/{id}/simulate", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    request_body(content = SimulateInput, content_type = "application/json", description = "Every field optional: `{}` runs with the defaults"),
    responses(
        (status = 200, description = "What the dialer would do", body = Simulation),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "An assumption out of range (field named)", body = ErrorBody),
    )
)]
pub async fn simulate(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Simulation>, ApiError> {
    let body = body.map_err(body_error)?;
    let input: SimulateInput = if body.iter().all(u8::is_ascii_whitespace) {
        SimulateInput::default()
    } else {
        require_json(&headers)?;
        parse_json(&body)?
    };
    Ok(Json(
        svc::simulate_campaign(&st.deps, &user.0, &id, &input).await?,
    ))
}
