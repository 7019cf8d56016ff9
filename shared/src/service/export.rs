//! `GET /campaigns/{id}/export.csv`: one row per contact, the file's own columns in file order
//! as written (the phone as the user wrote it included), then the result columns. Up to
//! `inline_max` contacts the CSV is the response, in upload order; above it the CSV is written
//! to the bucket page by page in constant memory (one page of contacts and one 8 MiB part at a
//! time) and the answer is a presigned link to it (rows then come in the table's order, by
//! phone number; the `row` column gives each one's row in the file). Cells from the file that a
//! spreadsheet would run as formulas are neutralized.

use std::time::Duration;

use chrono::{DateTime, Utc};
use contacts_parser::FileColumn;
use serde::Serialize;
use utoipa::ToSchema;

use super::campaigns::{Deps, ServiceError, neutralize, owned};
use crate::domain::{Campaign, Contact};

/// Contacts exported inline: the CSV of 20,000 contacts with a few columns is about 2-3 MB,
/// well inside Lambda's 6 MB response (binary bodies are base64-encoded on the way out).
pub const INLINE_EXPORT_MAX_CONTACTS: u64 = 20_000;
/// How long an export link works.
pub const EXPORT_LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// Contacts read per DynamoDB page while streaming.
const PAGE: u32 = 1000;

/// The columns after the file's own. `audit`: why the contact's latest dial was allowed, in one
/// line (`domain::compliance::Audit::compact`; the attempts route has every attempt's in full).
pub const RESULT_COLUMNS: [&str; 8] = ["phone_e164", "state", "outcome", "attempts", "last_call_at", "duration_seconds", "row", "audit"];

/// Where a campaign's exports are written.
pub fn export_prefix(owner: &str, campaign_id: &str) -> String {
    format!("exports/{owner}/{campaign_id}/")
}

/// A large export: where to download it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportLink {
    /// A presigned GET of the CSV (also the `Location` of the 303).
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub file_name: String,
    pub contacts: u64,
    pub bytes: u64,
}

pub enum Export {
    Csv { file_name: String, body: Vec<u8> },
    Link(ExportLink),
}

/// Where an export cell comes from.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    PhoneText,
    Name,
    NamePart(usize),
    Meta(String),
}

/// The export's file columns: (header, source), from the import report.
fn plan(c: &Campaign) -> Vec<(String, Source)> {
    let report = c.import_report.as_ref();
    let file: Vec<FileColumn> = report
        .and_then(|r| r.get("columns"))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let metadata: Vec<String> = report
        .and_then(|r| r.get("metadata_columns"))
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let mut out: Vec<(String, Source)> = Vec::new();
    if file.is_empty() {
        // A file of bare numbers, or a report stored before the columns were kept.
        out.push(("phone".into(), Source::PhoneText));
        if report.and_then(|r| r.get("name_column")).is_some_and(|v| !v.is_null()) {
            out.push(("name".into(), Source::Name));
        }
    }
    for col in file {
        let source = match col.role.as_str() {
            "phone" => Source::PhoneText,
            "name" => Source::Name,
            "first_name" => Source::NamePart(0),
            "last_name" => Source::NamePart(1),
            _ => Source::Meta(col.key.clone().unwrap_or_else(|| col.header.clone())),
        };
        out.push((col.header, source));
    }
    // Values stored beyond the header (an extension split off the number, cells past the
    // header's width) come after the file's columns.
    for key in metadata {
        if !out.iter().any(|(_, s)| *s == Source::Meta(key.clone())) {
            out.push((key.clone(), Source::Meta(key)));
        }
    }
    out
}

fn header(plan: &[(String, Source)]) -> Vec<String> {
    let mut h: Vec<String> = plan.iter().map(|(name, _)| neutralize(name).into_owned()).collect();
    h.extend(RESULT_COLUMNS.map(String::from));
    h
}

fn record(plan: &[(String, Source)], ct: &Contact) -> Vec<String> {
    let mut rec: Vec<String> = Vec::with_capacity(plan.len() + RESULT_COLUMNS.len());
    for (_, source) in plan {
        let value = match source {
            Source::PhoneText => ct.phone_text.as_deref().unwrap_or(&ct.phone),
            Source::Name => ct.name.as_deref().unwrap_or(""),
            Source::NamePart(i) => ct.name_parts.get(*i).map(String::as_str).unwrap_or(""),
            Source::Meta(key) => ct.metadata.get(key).map(String::as_str).unwrap_or(""),
        };
        rec.push(neutralize(value).into_owned());
    }
    rec.push(ct.phone.clone());
    rec.push(ct.state.as_str().to_string());
    rec.push(ct.outcome.map(|o| o.as_str().to_string()).unwrap_or_default());
    rec.push(ct.attempts.to_string());
    rec.push(ct.last_call_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default());
    rec.push(ct.last_duration_seconds.map(|d| d.to_string()).unwrap_or_default());
    rec.push(ct.row.to_string());
    rec.push(ct.last_audit.clone().unwrap_or_default());
    rec
}

fn csv_line(fields: &[String]) -> Result<Vec<u8>, ServiceError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields).map_err(|e| ServiceError::Internal(format!("csv: {e}")))?;
    w.into_inner().map_err(|e| ServiceError::Internal(format!("csv: {e}")))
}

/// The export of one of `owner`'s campaigns: inline up to `inline_max` contacts, else a link.
pub async fn export(deps: &Deps, owner: &str, id: &str, inline_max: u64) -> Result<Export, ServiceError> {
    let c = owned(deps, owner, id).await?;
    let plan = plan(&c);
    let file_name = format!("campaign-{id}.csv");
    if c.counters.total <= inline_max {
        let mut contacts = deps.repo.all_contacts(id).await?;
        contacts.sort_by_key(|c| c.seq);
        let mut body = csv_line(&header(&plan))?;
        for ct in &contacts {
            body.extend(csv_line(&record(&plan, ct))?);
        }
        return Ok(Export::Csv { file_name, body });
    }
    let now = deps.clock.now();
    let key = format!("{}{}.csv", export_prefix(owner, id), now.format("%Y%m%dT%H%M%S%.3fZ"));
    let disposition = format!("attachment; filename=\"{file_name}\"");
    let mut writer = deps.blobs.start_object(&key, "text/csv; charset=utf-8", &disposition).await.map_err(blob_err)?;
    let written = async {
        writer.write(&csv_line(&header(&plan))?).await.map_err(blob_err)?;
        let mut cursor = None;
        let mut contacts = 0u64;
        loop {
            let (page, next) = deps.repo.list_contacts(id, None, PAGE, cursor).await?;
            let mut chunk = Vec::with_capacity(page.len() * 96);
            for ct in &page {
                chunk.extend(csv_line(&record(&plan, ct))?);
            }
            contacts += page.len() as u64;
            writer.write(&chunk).await.map_err(blob_err)?;
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok::<u64, ServiceError>(contacts),
            }
        }
    }
    .await;
    let contacts = match written {
        Ok(n) => n,
        Err(e) => {
            writer.abort().await;
            return Err(e);
        }
    };
    let bytes = writer.finish().await.map_err(blob_err)?;
    let url = deps.blobs.presign_get(&key, EXPORT_LINK_TTL).await.map_err(blob_err)?;
    let expires_at = now + chrono::Duration::from_std(EXPORT_LINK_TTL).unwrap_or_default();
    Ok(Export::Link(ExportLink { url, expires_at, file_name, contacts, bytes }))
}

fn blob_err(e: crate::adapters::s3::BlobError) -> ServiceError {
    ServiceError::Internal(format!("export to the bucket: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AgentSnapshot, ContactState, ImportState, SettingsInput};

    fn campaign(report: serde_json::Value) -> Campaign {
        let input = SettingsInput { agent_id: Some("a".into()), ..Default::default() };
        let settings = input.validate(Utc::now(), false).expect("settings");
        let agent = AgentSnapshot { id: "a".into(), name: "A".into(), prompt_text: "p".into() };
        let mut c = Campaign::new_draft("c", "o", settings, agent, ImportState::Imported, Utc::now());
        c.import_report = Some(report);
        c
    }

    fn contact() -> Contact {
        Contact {
            campaign_id: "c".into(),
            phone: "+12025550102".into(),
            phone_text: Some("(202) 555-0102".into()),
            name_parts: vec![],
            seq: 1,
            row: 3,
            name: Some("Bob".into()),
            metadata: [("company".to_string(), "=HYPERLINK(1)".to_string())].into_iter().collect(),
            timezone: None,
            location: Default::default(),
            state: ContactState::Completed,
            attempts: 1,
            next_attempt_at: None,
            lease_until: None,
            outcome: None,
            failure_reason: None,
            last_call_at: None,
            last_duration_seconds: Some(42),
            last_audit: Some("at 2026-01-14T18:00:00Z; zones America/New_York 2026-01-14 13:00 (number)".into()),
        }
    }

    #[test]
    fn the_files_columns_in_file_order_then_the_results() {
        // company, phone, name: the file's order, not ours.
        let c = campaign(serde_json::json!({
            "columns": [
                {"header": "Company", "role": "metadata", "key": "company"},
                {"header": "Phone Number", "role": "phone"},
                {"header": "Full Name", "role": "name"}
            ],
            "metadata_columns": ["company"], "name_column": "Full Name"
        }));
        let p = plan(&c);
        let h = header(&p);
        assert_eq!(h[..3], ["Company", "Phone Number", "Full Name"]);
        assert_eq!(h[3..], RESULT_COLUMNS);
        let r = record(&p, &contact());
        assert_eq!(r[..3], ["'=HYPERLINK(1)", "(202) 555-0102", "Bob"]);
        assert_eq!(r[3], "+12025550102");
        assert_eq!(r[8], "42");
        assert_eq!(r[9], "3");
        assert!(r[10].starts_with("at 2026-01-14T18:00:00Z; zones America/New_York"), "{}", r[10]);
    }

    #[test]
    fn first_and_last_names_go_back_to_their_columns() {
        let c = campaign(serde_json::json!({
            "columns": [
                {"header": "First", "role": "first_name"},
                {"header": "Last", "role": "last_name"},
                {"header": "Mobile", "role": "phone"}
            ],
            "metadata_columns": ["extension"]
        }));
        let mut ct = contact();
        ct.name_parts = vec!["Ann".into(), "Lee".into()];
        ct.metadata.insert("extension".into(), "12".into());
        let p = plan(&c);
        assert_eq!(header(&p)[..4], ["First", "Last", "Mobile", "extension"]);
        assert_eq!(record(&p, &ct)[..4], ["Ann", "Lee", "(202) 555-0102", "12"]);
    }

    #[test]
    fn an_old_report_without_columns_still_exports_the_phone_first() {
        let c = campaign(serde_json::json!({"metadata_columns": ["company"], "name_column": "name"}));
        let p = plan(&c);
        assert_eq!(header(&p)[..3], ["phone", "name", "company"]);
    }
}
