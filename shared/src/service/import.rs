//! The import use case: contacts from a parsed file into the campaign, idempotently.
//!
//! The campaign item carries an import lease (`import_state = importing` with a token and a
//! start time), taken with a conditional write, so two deliveries of the same S3 event cannot
//! import at once; a re-import (same file again, or a new file while still a draft) replaces
//! the contacts; a campaign that has left draft is never re-imported.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use crate::adapters::dynamodb::error::classify;
use crate::adapters::dynamodb::keys::*;
use crate::adapters::dynamodb::records::{CampaignRecord, attr, parse_item, to_ms};
use crate::adapters::dynamodb::{Repo, RepoError};
use crate::domain::{CampaignState, ImportState};
use contacts_parser::{ImportError, Parsed};

/// How long an import may hold its lease before another delivery may take over (longer than
/// the ingest function's timeout).
pub const IMPORT_LEASE_MS: i64 = 16 * 60 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOutcome {
    pub imported: u64,
    pub duplicates: u64,
    pub invalid: u64,
    /// BatchWriteItem requests sent (retries included).
    pub write_requests: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportServiceError {
    #[error("campaign not found")]
    NotFound,
    #[error("the campaign is {0:?}; contacts can only be imported while it is a draft")]
    NotDraft(CampaignState),
    #[error("another import of this campaign is in progress")]
    Busy,
    #[error(transparent)]
    Parse(#[from] ImportError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Take the import lease. Returns the campaign as it was before (to know whether contacts
/// from an earlier import must be replaced).
pub async fn begin_import(repo: &Repo, campaign_id: &str, token: &str, now: DateTime<Utc>) -> Result<CampaignRecord, ImportServiceError> {
    let now_ms = to_ms(now);
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #is = :importing, #tok = :tok, #started = :now, #updated = :now REMOVE #err")
        .condition_expression("attribute_exists(#pk) AND #state = :draft AND (#is <> :importing OR #started < :stale)")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_names("#started", "import_started_ms")
        .expression_attribute_names("#updated", attr::UPDATED_MS)
        .expression_attribute_names("#err", attr::IMPORT_ERROR)
        .expression_attribute_names("#state", attr::STATE)
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .expression_attribute_values(":tok", s(token))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":stale", n(now_ms - IMPORT_LEASE_MS))
        .expression_attribute_values(":draft", s(CampaignState::Draft.as_str()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await;
    match r {
        Ok(out) => {
            let item = out.attributes.ok_or(ImportServiceError::NotFound)?;
            Ok(parse_item::<CampaignRecord>(item)?)
        }
        Err(e) => match classify(e) {
            RepoError::Conflict => match repo.get_campaign(campaign_id).await? {
                None => Err(ImportServiceError::NotFound),
                Some(c) if c.state != CampaignState::Draft => Err(ImportServiceError::NotDraft(c.state)),
                Some(_) => Err(ImportServiceError::Busy),
            },
            other => Err(other.into()),
        },
    }
}

/// Record a failed import (best effort: the lease token must still be ours).
pub async fn fail_import(repo: &Repo, campaign_id: &str, token: &str, reason: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #is = :failed, #err = :reason, #updated = :now")
        .condition_expression("#tok = :tok")
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_names("#err", attr::IMPORT_ERROR)
        .expression_attribute_names("#updated", attr::UPDATED_MS)
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_values(":failed", s(ImportState::Failed.as_str()))
        .expression_attribute_values(":reason", s(reason))
        .expression_attribute_values(":now", n(to_ms(now)))
        .expression_attribute_values(":tok", s(token))
        .send()
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(e) => match classify(e) {
            RepoError::Conflict => Ok(()),
            other => Err(other),
        },
    }
}

/// Write the parsed contacts and record the report and counters on the campaign.
pub async fn import_parsed(repo: &Repo, campaign_id: &str, parsed: &Parsed, now: DateTime<Utc>) -> Result<ImportOutcome, ImportServiceError> {
    let token = uuid::Uuid::new_v4().to_string();
    let before = begin_import(repo, campaign_id, &token, now).await?;
    match write_and_finish(repo, campaign_id, &token, &before, parsed, now).await {
        Ok(o) => Ok(o),
        Err(e) => {
            warn!(campaign_id, error = %e, "import failed");
            if let Err(e2) = fail_import(repo, campaign_id, &token, "contacts could not be stored; upload the file again", now).await {
                warn!(campaign_id, error = %e2, "could not record the failed import");
            }
            Err(e)
        }
    }
}

async fn write_and_finish(
    repo: &Repo,
    campaign_id: &str,
    token: &str,
    before: &CampaignRecord,
    parsed: &Parsed,
    now: DateTime<Utc>,
) -> Result<ImportOutcome, ImportServiceError> {
    let mut write_requests = 0;
    if before.import_state != ImportState::AwaitingUpload || before.c_total > 0 {
        // Contacts of an earlier import of this draft: replace them, so the campaign holds
        // exactly the new file's contacts.
        write_requests += repo.delete_campaign_children(campaign_id).await?.requests;
    }
    let stats = repo.put_contacts(campaign_id, &parsed.contacts).await?;
    write_requests += stats.requests;
    let total = parsed.contacts.len() as u64;
    let report = serde_json::to_value(&parsed.report).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    let report_item: AttributeValue = serde_dynamo::to_attribute_value(report).map_err(RepoError::from)?;
    let mut names: HashMap<String, String> = HashMap::new();
    for (k, v) in [
        ("#is", attr::IMPORT_STATE),
        ("#report", attr::IMPORT_REPORT),
        ("#total", attr::C_TOTAL),
        ("#pending", attr::C_PENDING),
        ("#calling", attr::C_CALLING),
        ("#retrying", attr::C_RETRYING),
        ("#completed", attr::C_COMPLETED),
        ("#failed", attr::C_FAILED),
        ("#skipped", attr::C_SKIPPED),
        ("#updated", attr::UPDATED_MS),
        ("#tok", "import_token"),
    ] {
        names.insert(k.into(), v.into());
    }
    repo.client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression(
            "SET #is = :imported, #report = :report, #total = :total, #pending = :total, #calling = :zero, \
             #retrying = :zero, #completed = :zero, #failed = :zero, #skipped = :zero, #updated = :now",
        )
        .condition_expression("#tok = :tok AND #is = :importing")
        .set_expression_attribute_names(Some(names))
        .expression_attribute_values(":imported", s(ImportState::Imported.as_str()))
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .expression_attribute_values(":report", report_item)
        .expression_attribute_values(":total", n(total))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":now", n(to_ms(now)))
        .expression_attribute_values(":tok", s(token))
        .send()
        .await
        .map_err(|e| match classify(e) {
            // Our lease was taken over (we were slower than IMPORT_LEASE_MS): the other import wins.
            RepoError::Conflict => ImportServiceError::Busy,
            other => other.into(),
        })?;
    info!(campaign_id, imported = total, write_requests, "import finished");
    Ok(ImportOutcome {
        imported: total,
        duplicates: parsed.report.duplicates,
        invalid: parsed.report.invalid,
        write_requests: write_requests + 2,
    })
}

/// What the ingest function did with one S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestResult {
    Imported(ImportOutcome),
    /// The file could not be imported; the campaign records why.
    Rejected(String),
    /// The object is not an upload of a known campaign of that owner: nothing written.
    Refused(String),
    /// Another delivery of the same upload holds the import.
    AlreadyImporting,
}

/// The ingest use case for one uploaded object: check the key and the owner, take the import
/// lease, read the object once, parse it with the campaign's settings, store the contacts.
/// Bad files end as a failed import with the parser's reason (not as a function error, which
/// would only make S3 retry the same bad file); storage failures are errors, so the event is
/// retried and, the import being idempotent, nothing is lost.
pub async fn ingest_object(
    repo: &Repo,
    blobs: &crate::adapters::s3::Blobs,
    key: &str,
    limits: &contacts_parser::Limits,
    now: DateTime<Utc>,
) -> Result<IngestResult, ImportServiceError> {
    let Some((owner, campaign_id, file_name)) = parse_upload_key(key) else {
        warn!(key, "refused: not an upload key");
        return Ok(IngestResult::Refused("not an uploads/<owner>/<campaign>/<file> key".into()));
    };
    let Some(campaign) = repo.get_campaign(campaign_id).await? else {
        warn!(campaign_id, "refused: unknown campaign");
        return Ok(IngestResult::Refused("unknown campaign".into()));
    };
    if campaign.owner != owner {
        warn!(campaign_id, "refused: the upload's owner does not own the campaign");
        return Ok(IngestResult::Refused("owner mismatch".into()));
    }
    let token = uuid::Uuid::new_v4().to_string();
    let before = match begin_import(repo, campaign_id, &token, now).await {
        Ok(b) => b,
        Err(ImportServiceError::Busy) => return Ok(IngestResult::AlreadyImporting),
        Err(ImportServiceError::NotDraft(state)) => {
            warn!(campaign_id, state = state.as_str(), "refused: campaign is no longer a draft");
            return Ok(IngestResult::Refused(format!("campaign is {}", state.as_str())));
        }
        Err(e) => return Err(e),
    };
    let bytes = match blobs.get_bytes(key).await {
        Ok(b) => b,
        Err(e @ (crate::adapters::s3::BlobError::NotFound | crate::adapters::s3::BlobError::TooLarge { .. })) => {
            let reason = e.to_string();
            fail_import(repo, campaign_id, &token, &reason, now).await?;
            return Ok(IngestResult::Rejected(reason));
        }
        Err(e) => {
            // S3 trouble is not the file's fault: release the lease and let the event retry.
            fail_import(repo, campaign_id, &token, "the upload could not be read yet; retrying", now).await?;
            return Err(ImportServiceError::Repo(RepoError::Sdk(e.to_string())));
        }
    };
    let opts = contacts_parser::ParseOptions {
        default_region: campaign.settings.default_region.clone(),
        phone_column: campaign.settings.phone_column.clone(),
        name_column: campaign.settings.name_column.clone(),
        limits: limits.clone(),
    };
    let parsed = match contacts_parser::parse_file(&bytes, file_name, &opts) {
        Ok(p) => p,
        Err(e) if e.is_transient() => {
            // Not the file's fault (the sheet worker could not start): let the event retry.
            warn!(campaign_id, error = %e, "file not read; retrying");
            fail_import(repo, campaign_id, &token, "the file could not be read yet; retrying", now).await?;
            return Err(e.into());
        }
        Err(e) => {
            let reason = e.to_string();
            info!(campaign_id, code = e.code(), "file rejected");
            fail_import(repo, campaign_id, &token, &reason, now).await?;
            return Ok(IngestResult::Rejected(reason));
        }
    };
    drop(bytes);
    match write_and_finish(repo, campaign_id, &token, &before, &parsed, now).await {
        Ok(o) => Ok(IngestResult::Imported(o)),
        Err(e) => {
            // Mark failed rather than leave the lease to expire, so a retry of the event can re-take it.
            let _ = fail_import(repo, campaign_id, &token, "contacts could not be stored; retrying", now).await;
            Err(e)
        }
    }
}

/// `uploads/<owner>/<campaign_id>/<file name>` → (owner, campaign id, file name).
pub fn parse_upload_key(key: &str) -> Option<(&str, &str, &str)> {
    let rest = key.strip_prefix("uploads/")?;
    let (owner, rest) = rest.split_once('/')?;
    let (campaign, file) = rest.split_once('/')?;
    if owner.is_empty() || campaign.is_empty() || file.is_empty() {
        return None;
    }
    Some((owner, campaign, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_keys() {
        assert_eq!(parse_upload_key("uploads/alice/c1/list.csv"), Some(("alice", "c1", "list.csv")));
        assert_eq!(parse_upload_key("uploads/alice/c1/dir/list.csv"), Some(("alice", "c1", "dir/list.csv")));
        assert_eq!(parse_upload_key("uploads/alice/c1/"), None);
        assert_eq!(parse_upload_key("other/alice/c1/x.csv"), None);
        assert_eq!(parse_upload_key("uploads//c1/x.csv"), None);
    }
}
