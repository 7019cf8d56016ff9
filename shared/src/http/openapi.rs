//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use std::sync::OnceLock;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{agents, campaigns, dnc, history, optout, simulate};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bulk call campaigns API",
        description = "Upload a contact list, choose an agent, hours, pacing and retries, start; follow progress; export results. \
                       Every route but /health and /openapi.json needs a bearer JWT; `{id}` routes act only on the caller's own resources.",
    ),
    paths(
        super::health,
        serve,
        campaigns::create_with_file,
        campaigns::create_draft,
        campaigns::preview,
        campaigns::list,
        campaigns::get,
        campaigns::contacts,
        history::attempts,
        history::calls,
        simulate::simulate,
        campaigns::start,
        campaigns::pause,
        campaigns::resume,
        campaigns::delete,
        campaigns::export_csv,
        agents::create,
        agents::list,
        agents::get,
        dnc::list,
        dnc::add,
        dnc::lookup,
        dnc::remove,
        dnc::upload,
        optout::opt_out,
    ),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "campaigns", description = "Create, inspect, run and export campaigns"),
        (name = "agents", description = "The voice agents campaigns use"),
        (name = "do-not-call", description = "The caller's do-not-call list, honoured at dial time, and the voice gateway's opt-out"),
        (name = "meta", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

/// The document as JSON, built once per process.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .unwrap_or_else(|_| "{}".to_string())
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()), responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn serve() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        json(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    /// OpenAPI requires operation ids to be unique; generated clients key their types by them
    /// (utoipa defaults to the handler's name, so `campaigns::get` and `agents::get` collided and
    /// the dashboard's generated client typed `GET /campaigns/{id}` as an agent).
    #[test]
    fn operation_ids_are_unique() {
        let doc: serde_json::Value = serde_json::from_str(super::json()).expect("the document is JSON");
        let mut seen = std::collections::BTreeMap::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for (method, op) in ops.as_object().expect("operations") {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                if let Some(other) = seen.insert(id.clone(), format!("{method} {path}")) {
                    panic!("operationId {id:?} is used by both {other} and {method} {path}");
                }
            }
        }
        assert!(seen.len() >= 16, "{seen:?}");
    }
}
