//! Do-not-call use cases: keep the owner's list (add, remove, look up, list, bulk upload with
//! the contact parser) and the voice gateway's opt-out. The dialer honours the list inside
//! its claim transaction (`adapters::dynamodb::dnc::Repo::dnc_absent_check`).

use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::campaigns::{Deps, ServiceError};
use crate::adapters::dynamodb::campaigns::MAX_PAGE;
use crate::adapters::dynamodb::dnc::{DncEntry, DncSource};
use crate::domain::FieldError;
use crate::domain::masking::mask_phone;
use crate::import::{ImportReport, ParseOptions, parse_file};

/// `POST /dnc`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DncInput {
    /// A phone number, E.164 or national.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 64)]
    pub phone: Option<String>,
    /// Region for a number written without a country code (default US).
    #[schema(pattern = "^[A-Za-z]{2}$")]
    pub default_region: Option<String>,
}

/// A page of the list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DncPage {
    pub items: Vec<DncEntry>,
    /// Pass as `cursor` for the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// What a bulk upload did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DncUploadReport {
    /// Numbers now on the list from this file.
    pub added: u64,
    /// The parser's report: rows, duplicates, invalid rows with their row numbers.
    pub report: ImportReport,
}

/// A user's phone input as E.164, or a 422 naming `phone`.
pub fn e164(phone: Option<&str>, region: Option<&str>) -> Result<String, ServiceError> {
    let raw = phone.map(str::trim).filter(|p| !p.is_empty()).ok_or_else(|| FieldError::new("phone", "phone is required"))?;
    let region = region.unwrap_or("US").trim().to_ascii_uppercase();
    crate::import::phone::normalize_str(raw, &region)
        .map(|n| n.e164)
        .map_err(|r| FieldError::new("phone", format!("{raw:?} is not a valid phone number: {}", r.reason())).into())
}

pub async fn add(deps: &Deps, owner: &str, input: DncInput) -> Result<(DncEntry, bool), ServiceError> {
    let phone = e164(input.phone.as_deref(), input.default_region.as_deref())?;
    let now = deps.clock.now();
    let (entry, created) = deps.repo.dnc_add(owner, &phone, DncSource::Api, now, None).await?;
    info!(phone = %mask_phone(&phone), created, "do-not-call: added");
    Ok((entry, created))
}

pub async fn lookup(deps: &Deps, owner: &str, phone: &str) -> Result<DncEntry, ServiceError> {
    let phone = e164(Some(phone), None)?;
    deps.repo.dnc_get(owner, &phone).await?.ok_or(ServiceError::NotFound)
}

pub async fn remove(deps: &Deps, owner: &str, phone: &str) -> Result<(), ServiceError> {
    let phone = e164(Some(phone), None)?;
    if deps.repo.dnc_remove(owner, &phone).await? {
        info!(phone = %mask_phone(&phone), "do-not-call: removed");
        Ok(())
    } else {
        Err(ServiceError::NotFound)
    }
}

pub async fn list(deps: &Deps, owner: &str, limit: Option<u32>, cursor: Option<&str>) -> Result<DncPage, ServiceError> {
    let limit = match limit {
        None => 50,
        Some(n) if (1..=MAX_PAGE).contains(&n) => n,
        Some(_) => return Err(FieldError::new("limit", format!("limit must be between 1 and {MAX_PAGE}")).into()),
    };
    let (items, next_cursor) = deps.repo.dnc_list(owner, limit, cursor).await.map_err(|e| match e {
        crate::adapters::dynamodb::RepoError::NotFound => {
            ServiceError::BadRequest { code: "invalid_query", message: "cursor is not one this API returned".into(), field: Some("cursor".into()) }
        }
        other => other.into(),
    })?;
    Ok(DncPage { items, next_cursor })
}

/// Parse a file with the contact parser (same formats, columns and verdicts) and add every
/// valid number. CPU-bound parsing runs off the async workers.
pub async fn upload(deps: &Deps, owner: &str, file: bytes::Bytes, file_name: String, opts: ParseOptions) -> Result<DncUploadReport, ServiceError> {
    let parsed = tokio::task::spawn_blocking(move || parse_file(&file, &file_name, &opts))
        .await
        .map_err(|e| ServiceError::Internal(format!("parse task: {e}")))?
        .map_err(ServiceError::Import)?;
    let phones: Vec<String> = parsed.contacts.iter().map(|c| c.phone().to_string()).collect();
    deps.repo.dnc_add_many(owner, &phones, deps.clock.now()).await?;
    info!(added = phones.len(), "do-not-call: bulk upload");
    Ok(DncUploadReport { added: phones.len() as u64, report: parsed.report })
}

/// The voice gateway's opt-out (already authenticated by its signature): the number joins the
/// owner of the campaign's list at once.
pub async fn opt_out(deps: &Deps, campaign_id: &str, phone: &str) -> Result<DncEntry, ServiceError> {
    let phone = e164(Some(phone), None)?;
    let campaign = deps.repo.get_campaign(campaign_id).await?.ok_or(ServiceError::NotFound)?;
    let (entry, created) = deps.repo.dnc_add(&campaign.owner, &phone, DncSource::OptOut, deps.clock.now(), Some(campaign_id)).await?;
    info!(campaign_id, phone = %mask_phone(&phone), created, "do-not-call: opt-out");
    Ok(entry)
}
