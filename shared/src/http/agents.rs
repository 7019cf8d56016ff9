//! Agent routes: a campaign's `agent_id` must name one of the caller's agents.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody, parse_json};
use super::{ApiPath, ApiQuery, AppState, User};
use crate::adapters::dynamodb::campaigns::MAX_PAGE;
use crate::service::campaigns::{self as svc, AgentInput, AgentPage, AgentView};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentParams {
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Create an agent (name, prompt_text).
#[utoipa::path(
    post, path = "/agents", tag = "agents",
    request_body(content = AgentInput, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = AgentView),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not application/json", body = ErrorBody),
        (status = 422, description = "Invalid field (named)", body = ErrorBody),
    )
)]
pub async fn create(
    State(st): State<AppState>,
    user: User,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large("the body is too large")
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })?;
    let input: AgentInput = parse_json(&body)?;
    Ok((
        StatusCode::CREATED,
        Json(svc::create_agent(&st.deps, &user.0, input).await?),
    ))
}

/// The caller's agents.
#[utoipa::path(
    get, path = "/agents", tag = "agents", operation_id = "list_agents", params(AgentParams),
    responses(
        (status = 200, description = "A page of agents", body = AgentPage),
        (status = 400, description = "Bad limit or cursor", body = ErrorBody),
        (status = 401, description = "No or invalid token", body = ErrorBody),
    )
)]
pub async fn list(
    State(st): State<AppState>,
    user: User,
    ApiQuery(q): ApiQuery<AgentParams>,
) -> Result<Json<AgentPage>, ApiError> {
    let limit = match q.limit {
        None => 50,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("limit must be between 1 and {MAX_PAGE}"),
            )
            .with_field("limit"));
        }
    };
    Ok(Json(
        svc::list_agents(&st.deps, &user.0, limit, q.cursor.as_deref()).await?,
    ))
}

/// One of the caller's agents.
#[utoipa::path(
    get, path = "/agents/{id}", tag = "agents", operation_id = "get_agent", params(("id" = String, Path, description = "Agent id")),
    responses(
        (status = 200, description = "The agent", body = AgentView),
        (status = 401, description = "No or invalid token", body = ErrorBody),
        (status = 404, description = "No such agent of yours", body = ErrorBody),
    )
)]
pub async fn get(
    State(st): State<AppState>,
    user: User,
    ApiPath(id): ApiPath,
) -> Result<Json<AgentView>, ApiError> {
    Ok(Json(svc::get_agent(&st.deps, &user.0, &id).await?))
}
