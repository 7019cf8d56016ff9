//! `GET /campaigns/{id}/attempts`: call attempts (one contact's with `phone`, or the campaign's);
//! `GET /calls`: the caller's recent calls across campaigns, newest first.
//! The contact search (`GET /campaigns/{id}/contacts?q=`) is served by `campaigns::contacts`.

use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::{ApiPath, ApiQuery, AppState, User};
use crate::adapters::dynamodb::campaigns::MAX_PAGE;
use crate::domain::Outcome;
use crate::service::history::{self as svc, AttemptPage, CallPage};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttemptParams {
    /// Only this contact's attempts (E.164, as the contacts list shows it).
    pub phone: Option<String>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Call attempts in key order (by contact, then attempt number), newest data first within none:
/// one contact's full history with `phone`, or every attempt of the campaign.
#[utoipa::path(
    get, path = "/campaigns/{id}/attempts", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), AttemptParams),
    responses(
        (status = 200, description = "A page of attempts", body = AttemptPage),
        (status = 400, description = "Bad phone, limit or cursor", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such campaign of yours", body = ErrorBody),
    )
)]
pub async fn attempts(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
    ApiQuery(q): ApiQuery<AttemptParams>,
) -> Result<axum::Json<AttemptPage>, ApiError> {
    let limit = page_limit(q.limit, 50)?;
    Ok(axum::Json(
        svc::list_attempts(&st.deps, &user.0, &id, q.phone.as_deref(), limit, q.cursor).await?,
    ))
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallParams {
    /// Only calls that ended with this outcome.
    pub outcome: Option<Outcome>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// The caller's calls across all their campaigns, newest first (the dashboard's Recent Calls):
/// campaign, number, attempt, start, status, outcome, duration and Twilio's refusal, if any.
#[utoipa::path(
    get, path = "/calls", tag = "campaigns", operation_id = "list_calls", params(CallParams),
    responses(
        (status = 200, description = "A page of calls, newest first", body = CallPage),
        (status = 400, description = "Bad outcome, limit or cursor", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
    )
)]
pub async fn calls(
    State(st): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<CallParams>,
) -> Result<axum::Json<CallPage>, ApiError> {
    let limit = page_limit(q.limit, 25)?;
    Ok(axum::Json(
        svc::list_calls(&st.deps, &user.0, q.outcome, limit, q.cursor.as_deref()).await?,
    ))
}
