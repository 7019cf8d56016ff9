//! The campaign use cases behind the REST API: create (draft + presigned upload, or with the
//! file inline), preview, list, inspect, start, pause, resume, delete, export; and agents.
//!
//! Every function takes the caller's user id and treats another user's campaign or agent as
//! missing (invariant 9). Nothing here knows about HTTP; `http::error` maps [`ServiceError`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::adapters::dynamodb::campaigns::StoredAgent;
use crate::adapters::dynamodb::{Repo, RepoError};
use crate::adapters::s3::{BlobError, Blobs, PresignedPut, upload_prefix};
use crate::adapters::scheduler::Wakeups;
use crate::domain::{
    Action, AgentSnapshot, Campaign, CampaignState, Contact, ContactState, FieldError, ImportState, Outcome, Settings, SettingsInput, Stats,
};
use contacts_parser::{ImportError, ImportReport, Limits, ParseOptions, parse_file};
use crate::ports::Clock;

/// What the use cases need, built once per process. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Deps {
    pub repo: Repo,
    pub blobs: Blobs,
    pub wakeups: Wakeups,
    pub clock: Arc<dyn Clock>,
}

/// Why a use case did not do what was asked. `http::error` turns each into a status code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// A value the user supplied is not acceptable (422, the field named).
    #[error("{0}")]
    Invalid(FieldError),
    /// The uploaded file cannot be imported (422, or 413 for size), with the parser's code.
    #[error("{0}")]
    Import(ImportError),
    /// A request that is not well-formed at all (400).
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    #[error("not found")]
    NotFound,
    /// The campaign's state does not allow the action (409, with the current state).
    #[error("{message}")]
    InvalidState {
        message: String,
        state: CampaignState,
    },
    /// Something else stands in the way (409).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The request body is larger than this route takes (413).
    #[error("{0}")]
    TooLarge(String),
    /// Storage asked us to slow down (503); the client may retry.
    #[error("temporarily unavailable")]
    Unavailable,
    /// A failure that is ours, logged with its cause; the client sees only "internal error".
    #[error("internal: {0}")]
    Internal(String),
}

impl From<RepoError> for ServiceError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::Conflict => ServiceError::Conflict {
                code: "conflict",
                message: "the resource changed; retry".into(),
            },
            RepoError::NotFound => ServiceError::NotFound,
            RepoError::Throttled(_) => ServiceError::Unavailable,
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

impl From<BlobError> for ServiceError {
    fn from(e: BlobError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Invalid(e)
    }
}

// ---- views: what the API returns ----

/// Where the contact import stands, and what it found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportView {
    pub state: ImportState,
    /// The parser's report (rows, imported, duplicates, invalid, row errors), once imported.
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// A campaign as the API shows it: settings snapshot, agent snapshot, stats, import.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    pub state: CampaignState,
    pub settings: Settings,
    pub agent: AgentSnapshot,
    pub stats: Stats,
    pub import: ImportView,
    pub failure_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<&Campaign> for CampaignView {
    fn from(c: &Campaign) -> Self {
        CampaignView {
            id: c.id.clone(),
            name: c.settings.name.clone(),
            state: c.state,
            settings: c.settings.clone(),
            agent: c.agent.clone(),
            stats: c.stats(),
            import: ImportView {
                state: c.import_state,
                report: c.import_report.clone(),
                error: c.import_error.clone(),
            },
            failure_reason: c.failure_reason.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            started_at: c.started_at,
            completed_at: c.completed_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignPage {
    pub campaigns: Vec<CampaignView>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A contact as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactView {
    pub phone: String,
    pub name: Option<String>,
    pub state: ContactState,
    pub outcome: Option<Outcome>,
    pub attempts: u32,
    pub duration_seconds: Option<u32>,
    pub last_call_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub failure_reason: Option<String>,
    /// Row number in the uploaded file.
    pub row: u64,
    pub metadata: BTreeMap<String, String>,
}

impl From<Contact> for ContactView {
    fn from(c: Contact) -> Self {
        ContactView {
            phone: c.phone,
            name: c.name,
            state: c.state,
            outcome: c.outcome,
            attempts: c.attempts,
            duration_seconds: c.last_duration_seconds,
            last_call_at: c.last_call_at,
            next_attempt_at: if c.state.is_dialable() {
                c.next_attempt_at
            } else {
                None
            },
            failure_reason: c.failure_reason,
            row: c.row,
            metadata: c.metadata,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactPage {
    pub contacts: Vec<ContactView>,
    pub next_cursor: Option<String>,
}

/// `POST /campaigns`: the draft and where to upload its file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DraftCreated {
    pub campaign_id: String,
    pub campaign: CampaignView,
    /// PUT the file here, with these headers, before `expires_at`. The import starts on its own.
    pub upload: PresignedPut,
    pub upload_key: String,
}

/// `POST /campaigns/create`: the summary's response, kept compatible, plus the campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedWithFile {
    pub campaign_id: String,
    pub contacts_imported: u64,
    pub duplicates: u64,
    pub invalid: u64,
    /// Rejected and duplicate rows with their row numbers (at most 100; see the report).
    pub errors: Vec<contacts_parser::RowError>,
    pub report: ImportReport,
    pub campaign: CampaignView,
}

/// One parsed row in a preview.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PreviewRow {
    pub row: u64,
    pub phone: String,
    pub name: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// The zone of the file's timezone column, when it holds a valid one.
    pub timezone: Option<String>,
    /// Every plausible zone (from the number, the timezone, ZIP and state columns): the
    /// contact is called only when its window is open in all of them.
    pub zones: Vec<String>,
}

impl From<contacts_parser::Contact<'_>> for PreviewRow {
    fn from(c: contacts_parser::Contact<'_>) -> Self {
        let metadata = c.metadata().to_map();
        PreviewRow {
            row: c.row(),
            phone: c.phone().to_string(),
            name: c.name().map(str::to_string),
            timezone: c.timezone().map(str::to_string),
            zones: crate::domain::compliance::locate(c.phone(), &metadata).zones.into_iter().map(|z| z.zone).collect(),
            metadata,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    pub report: ImportReport,
    /// The first rows that would be imported.
    pub rows: Vec<PreviewRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub prompt_text: String,
    pub created_at: DateTime<Utc>,
}

impl From<StoredAgent> for AgentView {
    fn from(a: StoredAgent) -> Self {
        AgentView {
            id: a.agent.id,
            name: a.agent.name,
            prompt_text: a.agent.prompt_text,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AgentPage {
    pub agents: Vec<AgentView>,
    pub next_cursor: Option<String>,
}

/// `POST /agents` body.
#[derive(Debug, Clone, Default, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentInput {
    /// 1 to 200 characters, not only spaces.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    /// What the agent says and how it behaves (at most 50,000 bytes).
    pub prompt_text: Option<String>,
}

/// Rows a preview shows.
pub const PREVIEW_ROWS: usize = 20;
/// How long a presigned upload URL is valid.
pub const UPLOAD_URL_TTL: Duration = Duration::from_secs(15 * 60);

/// A new id: UUIDv7 (time-ordered) as 32 hex digits, safe in keys, paths and schedule names.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Ids in paths are ours: anything else cannot name a campaign, so it is simply not found.
fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A file name safe to use in an S3 key: the base name, odd characters replaced.
pub fn safe_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "contacts.csv".to_string()
    } else {
        cleaned
    }
}

/// The Content-Type the presigned PUT is signed for, from the file's extension. Never a form
/// type (moto stores an empty body for those).
pub fn upload_content_type(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => "text/csv",
        "tsv" | "tab" => "text/tab-separated-values",
        "txt" => "text/plain",
        "xlsx" | "xlsm" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xls" => "application/vnd.ms-excel",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        _ => "application/octet-stream",
    }
}

fn parse_options(settings: &Settings, max_file_bytes: u64) -> ParseOptions {
    ParseOptions {
        default_region: settings.default_region.clone(),
        phone_column: settings.phone_column.clone(),
        name_column: settings.name_column.clone(),
        limits: Limits {
            max_file_bytes,
            ..Limits::default()
        },
    }
}

fn import_error(e: ImportError, upload_hint: bool) -> ServiceError {
    match e {
        ImportError::TooLarge { .. } if upload_hint => ServiceError::TooLarge(format!(
            "{e}; or create the campaign with POST /campaigns and upload the file to the presigned URL it returns"
        )),
        other => ServiceError::Import(other),
    }
}

/// The agent a campaign names must be one of the caller's; the campaign keeps a snapshot.
async fn agent_snapshot(
    deps: &Deps,
    owner: &str,
    agent_id: &str,
) -> Result<AgentSnapshot, ServiceError> {
    if !plausible_id(agent_id) {
        return Err(FieldError::new("agent_id", format!("there is no agent {agent_id:?}")).into());
    }
    match deps.repo.get_agent(owner, agent_id).await? {
        Some(a) => Ok(a.agent),
        None => Err(FieldError::new(
            "agent_id",
            format!("there is no agent {agent_id:?}; create one with POST /agents"),
        )
        .into()),
    }
}

fn new_campaign(
    id: &str,
    owner: &str,
    settings: Settings,
    agent: AgentSnapshot,
    import_state: ImportState,
    now: DateTime<Utc>,
) -> Campaign {
    Campaign::new_draft(id, owner, settings, agent, import_state, now)
}

/// Validate settings for a new campaign and resolve its agent.
pub async fn validate_new(
    deps: &Deps,
    owner: &str,
    input: SettingsInput,
) -> Result<(Settings, AgentSnapshot), ServiceError> {
    let settings = input.validate(deps.clock.now(), true)?;
    let agent = agent_snapshot(deps, owner, &settings.agent_id).await?;
    Ok((settings, agent))
}

/// `POST /campaigns`: a draft awaiting its file, and a presigned PUT for it.
pub async fn create_draft(
    deps: &Deps,
    owner: &str,
    campaign_id: &str,
    input: SettingsInput,
    file_name: Option<&str>,
) -> Result<DraftCreated, ServiceError> {
    let (settings, agent) = validate_new(deps, owner, input).await?;
    let now = deps.clock.now();
    let file = safe_file_name(file_name.unwrap_or("contacts.csv"));
    let key = format!("{}{file}", upload_prefix(owner, campaign_id));
    let mut campaign = new_campaign(
        campaign_id,
        owner,
        settings,
        agent,
        ImportState::AwaitingUpload,
        now,
    );
    campaign.upload_key = Some(key.clone());
    deps.repo.put_new_campaign(&campaign).await?;
    let upload = deps
        .blobs
        .presign_put(&key, upload_content_type(&file), UPLOAD_URL_TTL)
        .await?;
    Ok(DraftCreated {
        campaign_id: campaign_id.to_string(),
        campaign: (&campaign).into(),
        upload,
        upload_key: key,
    })
}

/// How many contacts `POST /campaigns/create` stores within the request. On AWS all of a
/// campaign's contacts are written to one partition key at ~1,000 a second
/// (docs/performance.md), so 20,000 take ~20 s of the API's 29 s; a larger file is handed to
/// the ingest function.
pub const INLINE_STORE_MAX_CONTACTS: u64 = 20_000;

/// `POST /campaigns/create`: parse the file in the request, create the draft, write the
/// contacts. `max_file_bytes` is the inline cap (larger files go through the upload route).
/// A file of more than `store_max` contacts is checked here (its errors are answered at once)
/// and then written to the campaign's upload key, where the ingest function stores its
/// contacts exactly as for an upload: the campaign is answered `importing`.
#[allow(clippy::too_many_arguments)]
pub async fn create_with_file(
    deps: &Deps,
    owner: &str,
    campaign_id: &str,
    input: SettingsInput,
    file_name: &str,
    bytes: &[u8],
    max_file_bytes: u64,
    store_max: u64,
) -> Result<CreatedWithFile, ServiceError> {
    let (settings, agent) = validate_new(deps, owner, input).await?;
    let parsed = parse_file(bytes, file_name, &parse_options(&settings, max_file_bytes))
        .map_err(|e| import_error(e, true))?;
    let now = deps.clock.now();
    if parsed.contacts.len() as u64 > store_max {
        return hand_to_ingest(deps, owner, campaign_id, settings, agent, file_name, bytes, parsed, now).await;
    }
    // Created awaiting its contacts; `import_parsed` takes the import lease and records the
    // report and counters exactly as the ingest function does for an uploaded file.
    let campaign = new_campaign(
        campaign_id,
        owner,
        settings,
        agent,
        ImportState::AwaitingUpload,
        now,
    );
    deps.repo.put_new_campaign(&campaign).await?;
    let outcome = crate::service::import::import_parsed(&deps.repo, campaign_id, &parsed, now)
        .await
        .map_err(|e| match e {
            crate::service::import::ImportServiceError::Repo(r) => ServiceError::from(r),
            other => ServiceError::Internal(format!("import of campaign {campaign_id}: {other}")),
        })?;
    let campaign = deps
        .repo
        .get_campaign(campaign_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    Ok(CreatedWithFile {
        campaign_id: campaign_id.to_string(),
        contacts_imported: outcome.imported,
        duplicates: outcome.duplicates,
        invalid: outcome.invalid,
        errors: parsed.report.errors.clone(),
        report: parsed.report,
        campaign: (&campaign).into(),
    })
}

/// A file too big to store within the request: the draft is created with the file's upload
/// key, the file is written there (the S3 event starts the ingest function), and the import
/// is marked running with a free lease (no beat), which the ingest function takes at once.
#[allow(clippy::too_many_arguments)]
async fn hand_to_ingest(
    deps: &Deps,
    owner: &str,
    campaign_id: &str,
    settings: Settings,
    agent: AgentSnapshot,
    file_name: &str,
    bytes: &[u8],
    parsed: contacts_parser::Parsed,
    now: DateTime<Utc>,
) -> Result<CreatedWithFile, ServiceError> {
    let file = safe_file_name(file_name);
    let key = format!("{}{file}", upload_prefix(owner, campaign_id));
    let mut campaign = new_campaign(campaign_id, owner, settings, agent, ImportState::AwaitingUpload, now);
    campaign.upload_key = Some(key.clone());
    deps.repo.put_new_campaign(&campaign).await?;
    deps.blobs
        .put_bytes(&key, upload_content_type(&file), bytes::Bytes::copy_from_slice(bytes))
        .await?;
    crate::service::import::hand_over(&deps.repo, campaign_id, now).await?;
    let campaign = deps.repo.get_campaign(campaign_id).await?.ok_or(ServiceError::NotFound)?;
    tracing::info!(campaign_id, contacts = parsed.contacts.len(), "inline file handed to the ingest function");
    Ok(CreatedWithFile {
        campaign_id: campaign_id.to_string(),
        contacts_imported: parsed.contacts.len() as u64,
        duplicates: parsed.report.duplicates,
        invalid: parsed.report.invalid,
        errors: parsed.report.errors.clone(),
        report: parsed.report,
        campaign: (&campaign).into(),
    })
}

/// `POST /campaigns/preview`: what an import of this file would do; nothing is stored.
pub fn preview(
    bytes: &[u8],
    file_name: &str,
    opts: &ParseOptions,
) -> Result<Preview, ServiceError> {
    let parsed = parse_file(bytes, file_name, opts).map_err(|e| import_error(e, false))?;
    let rows = parsed
        .contacts
        .iter()
        .take(PREVIEW_ROWS)
        .map(PreviewRow::from)
        .collect();
    Ok(Preview {
        report: parsed.report,
        rows,
    })
}

/// Parse options for a preview from optional hints (region, columns).
pub fn preview_options(
    default_region: Option<String>,
    phone_column: Option<String>,
    name_column: Option<String>,
    max_file_bytes: u64,
) -> Result<ParseOptions, ServiceError> {
    let region = default_region
        .unwrap_or_else(|| "US".into())
        .trim()
        .to_ascii_uppercase();
    if region.len() != 2 || !contacts_parser::phone::is_supported_region(&region) {
        return Err(FieldError::new(
            "default_region",
            "default_region must be a two-letter ISO 3166 region code such as US",
        )
        .into());
    }
    Ok(ParseOptions {
        default_region: region,
        phone_column: phone_column.filter(|s| !s.trim().is_empty()),
        name_column: name_column.filter(|s| !s.trim().is_empty()),
        limits: Limits {
            max_file_bytes,
            ..Limits::default()
        },
    })
}

pub async fn list(
    deps: &Deps,
    owner: &str,
    state: Option<CampaignState>,
    limit: u32,
    cursor: Option<&str>,
) -> Result<CampaignPage, ServiceError> {
    let (campaigns, next_cursor) = deps
        .repo
        .list_campaigns(owner, state, limit, cursor)
        .await
        .map_err(bad_cursor)?;
    Ok(CampaignPage {
        campaigns: campaigns.iter().map(CampaignView::from).collect(),
        next_cursor,
    })
}

fn bad_cursor(e: RepoError) -> ServiceError {
    match e {
        RepoError::NotFound => ServiceError::BadRequest {
            code: "invalid_cursor",
            message: "cursor is not one this API returned".into(),
            field: Some("cursor".into()),
        },
        other => other.into(),
    }
}

/// The caller's campaign, or `NotFound` (also for another user's).
pub async fn owned(deps: &Deps, owner: &str, id: &str) -> Result<Campaign, ServiceError> {
    if !plausible_id(id) {
        return Err(ServiceError::NotFound);
    }
    deps.repo
        .get_owned_campaign(owner, id)
        .await?
        .ok_or(ServiceError::NotFound)
}

/// The campaign, with what it is waiting for (`stats.waiting`): the campaign item plus, while
/// contacts are queued, one bounded Query on the head of its work queue.
pub async fn get(deps: &Deps, owner: &str, id: &str) -> Result<CampaignView, ServiceError> {
    let c = owned(deps, owner, id).await?;
    let queued = c.counters.pending + c.counters.retrying;
    let head = if c.state.is_active() && queued > 0 {
        deps.repo.queue_head(id, crate::adapters::dynamodb::waiting::QUEUE_HEAD).await?
    } else {
        crate::domain::waiting::QueueHead::default()
    };
    let mut view = CampaignView::from(&c);
    view.stats.waiting = Some(crate::domain::waiting::waiting(&c, &head, deps.clock.now()));
    Ok(view)
}

pub async fn list_contacts(
    deps: &Deps,
    owner: &str,
    id: &str,
    state: Option<ContactState>,
    limit: u32,
    cursor: Option<String>,
) -> Result<ContactPage, ServiceError> {
    owned(deps, owner, id).await?;
    let (contacts, next_cursor) = deps
        .repo
        .list_contacts(id, state, limit, cursor)
        .await
        .map_err(bad_cursor)?;
    Ok(ContactPage {
        contacts: contacts.into_iter().map(ContactView::from).collect(),
        next_cursor,
    })
}

/// The 409 for an action the current state does not allow.
fn not_allowed(action: Action, state: CampaignState) -> ServiceError {
    let allowed: Vec<&str> = action.allowed_from().iter().map(|s| s.as_str()).collect();
    let mut message = format!(
        "cannot {} a campaign that is {}; allowed from: {}",
        action.as_str(),
        state.as_str(),
        allowed.join(", ")
    );
    if action == Action::Delete && state == CampaignState::Running {
        message.push_str(" (pause it first)");
    }
    ServiceError::InvalidState { message, state }
}

/// Apply a state change; a failed condition re-reads the campaign to report its state.
async fn transition(
    deps: &Deps,
    owner: &str,
    id: &str,
    action: Action,
    to: CampaignState,
) -> Result<Campaign, ServiceError> {
    match deps
        .repo
        .transition(
            Some(owner),
            id,
            action.allowed_from(),
            to,
            deps.clock.now(),
            None,
        )
        .await
    {
        Ok(c) => Ok(c),
        Err(RepoError::Conflict) => {
            let current = owned(deps, owner, id).await?;
            Err(not_allowed(action, current.state))
        }
        Err(e) => Err(e.into()),
    }
}

/// Draft to pending. Refused until the import is done and found contacts. The dialer starts
/// it at `scheduled_start_time` (woken by a one-time schedule) or at its next tick if due.
pub async fn start(deps: &Deps, owner: &str, id: &str) -> Result<CampaignView, ServiceError> {
    let c = owned(deps, owner, id).await?;
    if !Action::Start.allowed_from().contains(&c.state) {
        return Err(not_allowed(Action::Start, c.state));
    }
    if c.import_state != ImportState::Imported {
        let message = match c.import_state {
            ImportState::AwaitingUpload => {
                "the contact file has not been uploaded yet; upload it, then start".to_string()
            }
            ImportState::Importing => {
                "the contacts are still being imported; start once the import is done".to_string()
            }
            _ => format!(
                "the contact import failed ({}); create a new campaign",
                c.import_error.as_deref().unwrap_or("see the import report")
            ),
        };
        return Err(ServiceError::Conflict {
            code: "import_not_ready",
            message,
        });
    }
    if c.counters.total == 0 {
        return Err(ServiceError::Conflict {
            code: "no_contacts",
            message: "the campaign has no contacts to call".into(),
        });
    }
    let c = transition(deps, owner, id, Action::Start, CampaignState::Pending).await?;
    wake_at_start(deps, &c).await;
    dial_now_if_due(deps, &c).await;
    Ok((&c).into())
}

/// Start or resume with nothing in the way: wake the dialer at once (one dial message, no
/// delay) instead of waiting for its next tick, which stays the safety net. The dialer starts
/// a pending campaign whose time has come when the message arrives. Failure is logged only.
async fn dial_now_if_due(deps: &Deps, c: &Campaign) {
    if !matches!(c.state, CampaignState::Pending | CampaignState::Running) || !c.start_due(deps.clock.now()) {
        return;
    }
    if let Err(e) = deps.wakeups.dial_now(&c.id).await {
        tracing::warn!(campaign_id = %c.id, error = %e, "dial message not sent; the tick will dial the campaign");
    }
}

/// A future start gets a one-time schedule. Failure is logged, not fatal: the dialer's
/// minute tick starts pending campaigns whose time has come anyway.
async fn wake_at_start(deps: &Deps, c: &Campaign) {
    if let Some(at) = c
        .settings
        .scheduled_start_time
        .filter(|t| *t > deps.clock.now())
        && let Err(e) = deps.wakeups.schedule_start(&c.id, at).await
    {
        tracing::warn!(campaign_id = %c.id, error = %e, "start schedule not created; the tick will start the campaign");
    }
}

pub async fn pause(deps: &Deps, owner: &str, id: &str) -> Result<CampaignView, ServiceError> {
    owned(deps, owner, id).await?;
    let c = transition(deps, owner, id, Action::Pause, CampaignState::Paused).await?;
    Ok((&c).into())
}

/// Paused to running, or to pending when the scheduled start is still ahead.
pub async fn resume(deps: &Deps, owner: &str, id: &str) -> Result<CampaignView, ServiceError> {
    let c = owned(deps, owner, id).await?;
    let due = c.start_due(deps.clock.now());
    let to = Action::Resume
        .target(due)
        .ok_or_else(|| ServiceError::Internal("resume has no target".into()))?;
    let c = transition(deps, owner, id, Action::Resume, to).await?;
    if to == CampaignState::Pending {
        wake_at_start(deps, &c).await;
    }
    dial_now_if_due(deps, &c).await;
    Ok((&c).into())
}

/// The 409 for a delete while calls are in flight: their outcomes must be recorded first.
fn calls_in_flight(n: u64) -> ServiceError {
    let calls = if n == 1 { "1 call is".to_string() } else { format!("{n} calls are") };
    ServiceError::Conflict {
        code: "calls_in_flight",
        message: format!(
            "{calls} still in flight; delete the campaign once they have ended (their outcomes are recorded first; a paused campaign places no new calls)"
        ),
    }
}

/// Delete a campaign that is not running: the item first (a conditional delete decides,
/// so a concurrent resume cannot bring it back), then its schedule, contacts, attempts and
/// uploaded file. Cleanup failures are logged with the campaign id; the campaign is gone
/// for the user either way.
pub async fn delete(deps: &Deps, owner: &str, id: &str) -> Result<(), ServiceError> {
    let c = owned(deps, owner, id).await?;
    if !Action::Delete.allowed_from().contains(&c.state) {
        return Err(not_allowed(Action::Delete, c.state));
    }
    if c.counters.calling > 0 {
        return Err(calls_in_flight(c.counters.calling));
    }
    match deps
        .repo
        .delete_campaign_item(owner, id, Action::Delete.allowed_from())
        .await
    {
        Ok(()) => {}
        Err(RepoError::Conflict) => {
            let current = owned(deps, owner, id).await?;
            if current.counters.calling > 0 && Action::Delete.allowed_from().contains(&current.state) {
                return Err(calls_in_flight(current.counters.calling));
            }
            return Err(not_allowed(Action::Delete, current.state));
        }
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = deps.wakeups.cancel(id).await {
        tracing::error!(campaign_id = %id, error = %e, "deleted campaign: schedule not removed");
    }
    if let Err(e) = deps.repo.delete_campaign_children(id).await {
        tracing::error!(campaign_id = %id, error = %e, "deleted campaign: contacts and attempts not all removed");
    }
    if let Err(e) = deps.blobs.delete_prefix(&upload_prefix(owner, id)).await {
        tracing::error!(campaign_id = %id, error = %e, "deleted campaign: uploaded file not removed");
    }
    if let Err(e) = deps.blobs.delete_prefix(&super::export::export_prefix(owner, id)).await {
        tracing::error!(campaign_id = %id, error = %e, "deleted campaign: exports not removed");
    }
    Ok(())
}

/// A cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP's advice).
pub fn neutralize(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{cell}")),
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

// ---- agents ----

pub const MAX_AGENT_NAME: usize = 200;
pub const MAX_PROMPT_BYTES: usize = 50_000;

pub async fn create_agent(
    deps: &Deps,
    owner: &str,
    input: AgentInput,
) -> Result<AgentView, ServiceError> {
    let name = input
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| FieldError::new("name", "name is required"))?;
    if name.chars().count() > MAX_AGENT_NAME {
        return Err(FieldError::new(
            "name",
            format!("name is at most {MAX_AGENT_NAME} characters"),
        )
        .into());
    }
    let prompt_text = input.prompt_text.unwrap_or_default();
    if prompt_text.len() > MAX_PROMPT_BYTES {
        return Err(FieldError::new(
            "prompt_text",
            format!("prompt_text is at most {MAX_PROMPT_BYTES} bytes"),
        )
        .into());
    }
    let now = deps.clock.now();
    let agent = AgentSnapshot {
        id: new_id(),
        name,
        prompt_text,
    };
    deps.repo.put_agent(owner, &agent, now).await?;
    Ok(AgentView {
        id: agent.id,
        name: agent.name,
        prompt_text: agent.prompt_text,
        created_at: now,
    })
}

pub async fn get_agent(deps: &Deps, owner: &str, id: &str) -> Result<AgentView, ServiceError> {
    if !plausible_id(id) {
        return Err(ServiceError::NotFound);
    }
    deps.repo
        .get_agent(owner, id)
        .await?
        .map(AgentView::from)
        .ok_or(ServiceError::NotFound)
}

pub async fn list_agents(
    deps: &Deps,
    owner: &str,
    limit: u32,
    cursor: Option<&str>,
) -> Result<AgentPage, ServiceError> {
    let (agents, next_cursor) = deps
        .repo
        .list_agents(owner, limit, cursor)
        .await
        .map_err(bad_cursor)?;
    Ok(AgentPage {
        agents: agents.into_iter().map(AgentView::from).collect(),
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralized() {
        for bad in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralize(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(neutralize("Acme"), "Acme");
        assert_eq!(neutralize(""), "");
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("my list (1).csv"), "my_list__1_.csv");
        assert_eq!(safe_file_name(""), "contacts.csv");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(
            upload_content_type("a.XLSX"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        assert_eq!(upload_content_type("a.csv"), "text/csv");
    }
}
