//! The import use case: contacts from a parsed file into the campaign, idempotently.
//!
//! The campaign item carries an import lease (`import_state = importing` with a token and a
//! start time), taken with a conditional write, so two deliveries of the same S3 event cannot
//! import at once; a re-import (same file again, or a new file while still a draft) replaces
//! the contacts; a campaign that has left draft is never re-imported.
//!
//! The newest object wins (issue 14 item 8). The import records the ETag of the object it
//! read (`import_etag`). An event that finds the lease taken looks at the object's current
//! ETag: the same as the running import's means a redelivery (dropped); another one is
//! written as `import_wanted`, and the event waits for the lease and then imports the current
//! object. The running import checks `import_wanted` after reading and between chunks of
//! contacts, and its final write requires it to be absent or its own ETag: a superseded import
//! stops, gives the lease back and never marks the campaign imported.
//!
//! An import cut off mid-file (the function's timeout, a crash) is resumed, never stuck. The
//! lease is held by a heartbeat (`import_beat_ms`, written every [`ImportTiming::beat_every`]
//! by a task that lives exactly as long as the import), not by a fixed term: another delivery
//! takes the lease over once the beat is older than [`ImportTiming::stale_after`]. After each
//! chunk the import records how many contacts of its object are stored (`import_rows`, in file
//! order); an import that takes over the same object (same ETag) starts there instead of at the
//! first row. A delivery of the object the running import holds waits until that import ends or
//! its beat goes stale (the Lambda retry of a timed-out import arrives while the dead import's
//! beat is still fresh) and only then drops as a redelivery.

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

/// How long a lease written before the heartbeat existed (no `import_beat_ms`) holds: longer
/// than the ingest function's timeout.
const LEGACY_LEASE_MS: i64 = 16 * 60 * 1000;

/// The heartbeat that holds an import's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportTiming {
    /// How often the running import writes its beat.
    pub beat_every: std::time::Duration,
    /// A beat older than this means the import is dead (the function timed out or crashed):
    /// another delivery may take the lease over and resume from the checkpoint. Several beats
    /// long, so a slow request or a long parse never makes a live import look dead.
    pub stale_after: std::time::Duration,
}

impl Default for ImportTiming {
    fn default() -> Self {
        Self {
            beat_every: std::time::Duration::from_secs(20),
            stale_after: std::time::Duration::from_secs(120),
        }
    }
}

/// How long an event for a newer object waits in-process for a superseded import to stop
/// before it fails (and the event is retried by Lambda). The ingest function's timeout is
/// 15 minutes.
pub const SUPERSEDE_WAIT: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Contacts written between two checks for a newer upload.
const CHUNK: usize = 1000;

const IMPORT_ETAG: &str = "import_etag";
const IMPORT_WANTED: &str = "import_wanted";

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

/// Take the import lease: free, or held by an import whose beat is stale. Returns the campaign
/// as it was before (to know whether contacts from an earlier import must be replaced, and
/// where a dead import of the same object stopped).
pub async fn begin_import(
    repo: &Repo,
    campaign_id: &str,
    token: &str,
    now: DateTime<Utc>,
    timing: &ImportTiming,
) -> Result<CampaignRecord, ImportServiceError> {
    let now_ms = to_ms(now);
    let stale_ms = i64::try_from(timing.stale_after.as_millis()).unwrap_or(i64::MAX);
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression(
            "SET #is = :importing, #tok = :tok, #started = :now, #beat = :now, #updated = :now REMOVE #err, #etag, #wanted, #rows",
        )
        .condition_expression(
            "attribute_exists(#pk) AND #state = :draft AND (#is <> :importing OR #beat < :stale \
             OR (attribute_not_exists(#beat) AND #started < :legacy))",
        )
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#beat", attr::IMPORT_BEAT_MS)
        .expression_attribute_names("#rows", attr::IMPORT_ROWS)
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_names("#started", "import_started_ms")
        .expression_attribute_names("#updated", attr::UPDATED_MS)
        .expression_attribute_names("#err", attr::IMPORT_ERROR)
        .expression_attribute_names("#etag", IMPORT_ETAG)
        .expression_attribute_names("#wanted", IMPORT_WANTED)
        .expression_attribute_names("#state", attr::STATE)
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .expression_attribute_values(":tok", s(token))
        .expression_attribute_values(":now", n(now_ms))
        .expression_attribute_values(":stale", n(now_ms.saturating_sub(stale_ms)))
        .expression_attribute_values(":legacy", n(now_ms - LEGACY_LEASE_MS))
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

/// Mark a campaign awaiting its upload as importing with a free lease (a beat of 0, always
/// stale): the ingest function's `begin_import` takes it at once. A no-op when the ingest
/// function has already taken the lease.
pub async fn hand_over(repo: &Repo, campaign_id: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #is = :importing, #beat = :zero, #started = :now, #updated = :now")
        .condition_expression("#is = :awaiting")
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_names("#beat", attr::IMPORT_BEAT_MS)
        .expression_attribute_names("#started", "import_started_ms")
        .expression_attribute_names("#updated", attr::UPDATED_MS)
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .expression_attribute_values(":awaiting", s(ImportState::AwaitingUpload.as_str()))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":now", n(to_ms(now)))
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

/// Why a contact already on the owner's do-not-call list at import is skipped.
pub const DNC_SKIP_REASON: &str = "on the owner's do-not-call list at import";

/// Write the parsed contacts and record the report and counters on the campaign.
pub async fn import_parsed(repo: &Repo, campaign_id: &str, parsed: &Parsed, now: DateTime<Utc>) -> Result<ImportOutcome, ImportServiceError> {
    let timing = ImportTiming::default();
    let token = uuid::Uuid::new_v4().to_string();
    let before = begin_import(repo, campaign_id, &token, now, &timing).await?;
    let clock = Clock::from(now);
    let _beat = Heartbeat::start(repo, campaign_id, &token, clock, timing.beat_every);
    match write_and_finish(repo, campaign_id, &token, &before, parsed, None, 0, clock).await {
        Ok(Finished::Imported(o)) => Ok(o),
        // Without an object there is nothing newer to be superseded by.
        Ok(Finished::Superseded) => Err(ImportServiceError::Busy),
        Err(e) => {
            warn!(campaign_id, error = %e, "import failed");
            if let Err(e2) = fail_import(repo, campaign_id, &token, "contacts could not be stored; upload the file again", now).await {
                warn!(campaign_id, error = %e2, "could not record the failed import");
            }
            Err(e)
        }
    }
}

/// The service's clock: the instant it was called with, advanced by the time since.
#[derive(Debug, Clone, Copy)]
struct Clock {
    base: DateTime<Utc>,
    started: std::time::Instant,
}

impl From<DateTime<Utc>> for Clock {
    fn from(base: DateTime<Utc>) -> Self {
        Self { base, started: std::time::Instant::now() }
    }
}

impl Clock {
    fn now(&self) -> DateTime<Utc> {
        self.base + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default()
    }
}

/// The task that holds an import's lease by beating; it ends when dropped, so it lives exactly
/// as long as the import (a killed invocation stops beating with it).
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Heartbeat {
    fn start(repo: &Repo, campaign_id: &str, token: &str, clock: Clock, every: std::time::Duration) -> Self {
        let (repo, campaign_id, token) = (repo.clone(), campaign_id.to_string(), token.to_string());
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match beat(&repo, &campaign_id, &token, clock.now()).await {
                    Ok(true) => {}
                    // The lease is no longer ours: the import learns it at its next checkpoint.
                    Ok(false) => break,
                    Err(e) => warn!(campaign_id, error = %e, "import heartbeat not written; trying again"),
                }
            }
        }))
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One beat; `false` when the lease is no longer this import's.
async fn beat(repo: &Repo, campaign_id: &str, token: &str, now: DateTime<Utc>) -> Result<bool, RepoError> {
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #beat = :now")
        .condition_expression("#tok = :tok AND #is = :importing")
        .expression_attribute_names("#beat", attr::IMPORT_BEAT_MS)
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_values(":now", n(to_ms(now)))
        .expression_attribute_values(":tok", s(token))
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .send()
        .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) => match classify(e) {
            RepoError::Conflict => Ok(false),
            other => Err(other),
        },
    }
}

/// The checkpoint after a chunk: `rows` contacts of the object, in file order, are stored.
/// Also a beat, and the check for a newer upload (`etag`: the object this import read).
async fn checkpoint(repo: &Repo, campaign_id: &str, token: &str, rows: u64, etag: Option<&str>, now: DateTime<Utc>) -> Result<LeaseView, RepoError> {
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #rows = :rows, #beat = :now")
        .condition_expression("#tok = :tok AND #is = :importing")
        .expression_attribute_names("#rows", attr::IMPORT_ROWS)
        .expression_attribute_names("#beat", attr::IMPORT_BEAT_MS)
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_values(":rows", n(rows))
        .expression_attribute_values(":now", n(to_ms(now)))
        .expression_attribute_values(":tok", s(token))
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match r {
        Ok(out) => {
            let wanted = out.attributes.as_ref().and_then(|a| a.get(IMPORT_WANTED)).and_then(|v| v.as_s().ok());
            Ok(match (etag, wanted) {
                (Some(etag), Some(w)) if w != etag => LeaseView::Superseded,
                _ => LeaseView::Current,
            })
        }
        Err(e) => match classify(e) {
            RepoError::Conflict => Ok(LeaseView::Lost),
            other => Err(other),
        },
    }
}

/// How a write of an import ended.
enum Finished {
    Imported(ImportOutcome),
    /// A newer object of the upload was announced (`import_wanted`): nothing was committed.
    Superseded,
}

/// Where the import that holds the lease stands, read consistently.
enum LeaseView {
    /// Ours, and nothing newer wanted.
    Current,
    /// Ours, but a newer object is wanted.
    Superseded,
    /// Another import took the lease.
    Lost,
}

async fn lease_view(repo: &Repo, campaign_id: &str, token: &str, etag: &str) -> Result<LeaseView, RepoError> {
    let out = repo
        .client()
        .get_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .consistent_read(true)
        .projection_expression("#tok, #wanted")
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_names("#wanted", IMPORT_WANTED)
        .send()
        .await
        .map_err(classify)?;
    let item = out.item.unwrap_or_default();
    let text = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str);
    Ok(match (text("import_token"), text(IMPORT_WANTED)) {
        (Some(t), _) if t != token => LeaseView::Lost,
        (None, _) => LeaseView::Lost,
        (_, Some(w)) if w != etag => LeaseView::Superseded,
        _ => LeaseView::Current,
    })
}

async fn write_and_finish(
    repo: &Repo,
    campaign_id: &str,
    token: &str,
    before: &CampaignRecord,
    parsed: &Parsed,
    etag: Option<&str>,
    resume_from: u64,
    clock: Clock,
) -> Result<Finished, ImportServiceError> {
    let mut write_requests = 0;
    // Checkpoints fall on chunk boundaries; anything else is not a checkpoint of this code's:
    // start again from the first row.
    let start = usize::try_from(resume_from)
        .ok()
        .filter(|&r| r % CHUNK == 0 && r <= parsed.contacts.len())
        .unwrap_or(0);
    if start == 0 && (before.import_state != ImportState::AwaitingUpload || before.c_total > 0) {
        // Contacts of an earlier import of this draft: replace them, so the campaign holds
        // exactly the new file's contacts. (A resumed import has done this already.)
        write_requests += repo.delete_campaign_children(campaign_id).await?.requests;
    }
    if start > 0 {
        info!(campaign_id, resume_from = start, "resuming the import of the same object where the last one stopped");
    }
    // Numbers already on the owner's do-not-call list are stored skipped, with the reason.
    let phones: Vec<&str> = parsed.contacts.iter().map(|c| c.phone()).collect();
    let listed = repo.dnc_listed(&before.owner, &phones).await?;
    let chunks = parsed.contacts.len().div_ceil(CHUNK);
    for (i, chunk) in parsed.contacts.chunks(CHUNK).enumerate().skip(start / CHUNK) {
        let from = i * CHUNK;
        let stats = repo.put_contacts_from(campaign_id, from as u64, chunk.iter(), &listed, DNC_SKIP_REASON).await?;
        write_requests += stats.requests;
        if i + 1 < chunks {
            match checkpoint(repo, campaign_id, token, (from + chunk.len()) as u64, etag, clock.now()).await? {
                LeaseView::Current => {}
                LeaseView::Superseded => return Ok(Finished::Superseded),
                LeaseView::Lost => return Err(ImportServiceError::Busy),
            }
        }
    }
    let total = parsed.contacts.len() as u64;
    let skipped = listed.len() as u64;
    let mut report = serde_json::to_value(&parsed.report).map_err(|e| RepoError::Corrupt(e.to_string()))?;
    if let Some(map) = report.as_object_mut() {
        map.insert("do_not_call_skipped".into(), serde_json::json!(skipped));
    }
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
    // The commit requires the lease and, for an upload, that no newer object is wanted.
    let mut condition = "#tok = :tok AND #is = :importing".to_string();
    if etag.is_some() {
        names.insert("#wanted".into(), IMPORT_WANTED.into());
        condition.push_str(" AND (attribute_not_exists(#wanted) OR #wanted = :etag)");
    }
    let committed = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression(
            "SET #is = :imported, #report = :report, #total = :total, #pending = :pending, #calling = :zero, \
             #retrying = :zero, #completed = :zero, #failed = :zero, #skipped = :skipped, #updated = :now",
        )
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .expression_attribute_values(":imported", s(ImportState::Imported.as_str()))
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .expression_attribute_values(":report", report_item)
        .expression_attribute_values(":total", n(total))
        .expression_attribute_values(":pending", n(total - skipped))
        .expression_attribute_values(":skipped", n(skipped))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":now", n(to_ms(clock.now())))
        .expression_attribute_values(":tok", s(token));
    let committed = match etag {
        Some(e) => committed.expression_attribute_values(":etag", s(e)),
        None => committed,
    }
    .send()
    .await;
    if let Err(e) = committed {
        return match (classify(e), etag) {
            (RepoError::Conflict, Some(etag)) => match lease_view(repo, campaign_id, token, etag).await? {
                LeaseView::Superseded => Ok(Finished::Superseded),
                _ => Err(ImportServiceError::Busy),
            },
            // Our lease was taken over (we were slower than IMPORT_LEASE_MS): the other import wins.
            (RepoError::Conflict, None) => Err(ImportServiceError::Busy),
            (other, _) => Err(other.into()),
        };
    }
    info!(campaign_id, imported = total, write_requests, "import finished");
    Ok(Finished::Imported(ImportOutcome {
        imported: total,
        duplicates: parsed.report.duplicates,
        invalid: parsed.report.invalid,
        write_requests: write_requests + 2,
    }))
}

/// What the ingest function did with one S3 object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestResult {
    Imported(ImportOutcome),
    /// The file could not be imported; the campaign records why.
    Rejected(String),
    /// The object is not an upload of a known campaign of that owner: nothing written.
    Refused(String),
    /// Another delivery of the same object holds the import.
    AlreadyImporting,
    /// A newer object was uploaded to the key while this one was imported: this import
    /// stopped, and the newer object's event imports it.
    Superseded,
}

/// What an event that found the lease taken learnt.
enum Holder {
    /// The running import read the same object: this event is a redelivery.
    Same,
    /// The running import has another (older) object, or has not read one yet: wait.
    Other,
    /// Nobody is importing any more: try the lease again.
    Free,
}

/// Announce `etag` as the object wanted, and compare it with the running import's.
async fn want(repo: &Repo, campaign_id: &str, etag: &str) -> Result<Holder, RepoError> {
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #wanted = :etag")
        .condition_expression("#is = :importing")
        .expression_attribute_names("#wanted", IMPORT_WANTED)
        .expression_attribute_names("#is", attr::IMPORT_STATE)
        .expression_attribute_values(":etag", s(etag))
        .expression_attribute_values(":importing", s(ImportState::Importing.as_str()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match r {
        Ok(out) => {
            let running = out.attributes.as_ref().and_then(|a| a.get(IMPORT_ETAG)).and_then(|v| v.as_s().ok());
            Ok(if running.map(String::as_str) == Some(etag) { Holder::Same } else { Holder::Other })
        }
        Err(e) => match classify(e) {
            RepoError::Conflict => Ok(Holder::Free),
            other => Err(other),
        },
    }
}

/// Record the ETag of the object this import read; `false` when a newer one is already wanted.
async fn record_object(repo: &Repo, campaign_id: &str, token: &str, etag: &str) -> Result<bool, ImportServiceError> {
    let r = repo
        .client()
        .update_item()
        .table_name(repo.table())
        .key(PK, s(campaign_pk(campaign_id)))
        .key(SK, s(META))
        .update_expression("SET #etag = :etag")
        .condition_expression("#tok = :tok")
        .expression_attribute_names("#etag", IMPORT_ETAG)
        .expression_attribute_names("#tok", "import_token")
        .expression_attribute_values(":etag", s(etag))
        .expression_attribute_values(":tok", s(token))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match r {
        Ok(out) => {
            let wanted = out.attributes.as_ref().and_then(|a| a.get(IMPORT_WANTED)).and_then(|v| v.as_s().ok());
            Ok(wanted.is_none_or(|w| w == etag))
        }
        Err(e) => match classify(e) {
            RepoError::Conflict => Err(ImportServiceError::Busy),
            other => Err(other.into()),
        },
    }
}

/// Whether the campaign's last import finished with the object `etag`.
async fn imported_from(repo: &Repo, campaign_id: &str, etag: &str) -> Result<bool, RepoError> {
    Ok(repo
        .get_record::<CampaignRecord>(campaign_pk(campaign_id), META.to_string())
        .await?
        .is_some_and(|c| c.import_state == ImportState::Imported && c.import_etag.as_deref() == Some(etag)))
}

/// The object's current ETag (None: it is gone).
async fn current_etag(blobs: &crate::adapters::s3::Blobs, key: &str) -> Result<Option<String>, ImportServiceError> {
    match blobs.client().head_object().bucket(blobs.bucket()).key(key).send().await {
        Ok(o) => Ok(Some(o.e_tag().unwrap_or_default().to_string())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(ImportServiceError::Repo(RepoError::Sdk(e.to_string()))),
    }
}

const SUPERSEDED_REASON: &str = "a newer upload of the file replaced this one; importing the newer one";

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
    ingest_object_with(repo, blobs, key, limits, &ImportTiming::default(), now).await
}

/// [`ingest_object`] with the lease's heartbeat timing given.
pub async fn ingest_object_with(
    repo: &Repo,
    blobs: &crate::adapters::s3::Blobs,
    key: &str,
    limits: &contacts_parser::Limits,
    timing: &ImportTiming,
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
    let started = std::time::Instant::now();
    let at = |now: DateTime<Utc>| now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
    let mut pause = std::time::Duration::from_millis(100);
    // Since when the running import has been seen holding this very object.
    let mut same_since: Option<std::time::Instant> = None;
    let before = loop {
        if let Some(etag) = same_since.and(current_etag(blobs, key).await?) {
            if imported_from(repo, campaign_id, &etag).await? {
                // The import this delivery waited for has finished with this object.
                return Ok(IngestResult::AlreadyImporting);
            }
        }
        match begin_import(repo, campaign_id, &token, at(now), timing).await {
            Ok(b) => break b,
            Err(ImportServiceError::Busy) => {
                // Another import runs. A newer object is announced (the running import stops)
                // and this event waits for the lease. A delivery of the running import's own
                // object waits until that import ends, or its beat goes stale (it died: this
                // is the retry, and takes over); while it keeps beating this is a redelivery.
                let Some(etag) = current_etag(blobs, key).await? else {
                    return Ok(IngestResult::AlreadyImporting);
                };
                match want(repo, campaign_id, &etag).await? {
                    Holder::Same => {
                        let since = *same_since.get_or_insert_with(std::time::Instant::now);
                        if since.elapsed() > timing.stale_after + timing.beat_every {
                            info!(campaign_id, "the running import of this object is alive: a redelivery, dropped");
                            return Ok(IngestResult::AlreadyImporting);
                        }
                    }
                    Holder::Free => continue,
                    Holder::Other => {
                        if started.elapsed() > SUPERSEDE_WAIT {
                            warn!(campaign_id, "a newer upload waited too long for the running import; retrying the event");
                            return Err(ImportServiceError::Busy);
                        }
                    }
                }
                let jitter = std::time::Duration::from_millis(rand::random_range(0..=pause.as_millis() as u64 / 2));
                tokio::time::sleep(pause + jitter).await;
                // Looked at a few times per stale limit, so a dead import is taken over soon after.
                pause = (pause * 2).min(std::time::Duration::from_secs(2)).min(timing.stale_after / 4);
            }
            Err(ImportServiceError::NotDraft(state)) => {
                warn!(campaign_id, state = state.as_str(), "refused: campaign is no longer a draft");
                return Ok(IngestResult::Refused(format!("campaign is {}", state.as_str())));
            }
            Err(e) => return Err(e),
        }
    };
    let clock = Clock { base: now, started };
    let _beat = Heartbeat::start(repo, campaign_id, &token, clock, timing.beat_every);
    let now = clock.now();
    let object = match blobs.get(key).await {
        Ok(o) => o,
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
    let etag = object.etag.clone().unwrap_or_default();
    if !record_object(repo, campaign_id, &token, &etag).await? {
        info!(campaign_id, "superseded by a newer upload before parsing");
        fail_import(repo, campaign_id, &token, SUPERSEDED_REASON, now).await?;
        return Ok(IngestResult::Superseded);
    }
    let bytes = object.bytes;
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
    // A dead import of this same object (timed out, crashed, or failed storing) stored its
    // first `import_rows` contacts: start after them.
    let resume_from = match before.import_state {
        ImportState::Importing | ImportState::Failed if before.import_etag.as_deref() == Some(etag.as_str()) => before.import_rows,
        _ => 0,
    };
    match write_and_finish(repo, campaign_id, &token, &before, &parsed, Some(&etag), resume_from, clock).await {
        Ok(Finished::Imported(o)) => Ok(IngestResult::Imported(o)),
        Ok(Finished::Superseded) => {
            info!(campaign_id, "superseded by a newer upload; stopped");
            fail_import(repo, campaign_id, &token, SUPERSEDED_REASON, now).await?;
            Ok(IngestResult::Superseded)
        }
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
