//! Read-only views the dashboard needs: a campaign's call attempts (one contact's, or all of
//! them for the calls-over-time chart) and a contact search, Queries on the campaign's
//! partition (`C#<id>`); and the owner's recent calls across campaigns, a Query on gsi1
//! (`K#<owner>`). None writes.

use super::campaigns::MAX_PAGE;
use super::error::{RepoError, classify};
use super::keys::*;
use super::page::{decode_cursor, encode_cursor, last_key_attribute, last_sort_key};
use super::records::{AttemptRecord, ContactRecord, attr, parse_item};
use super::{Repo, s};
use crate::domain::{Contact, Outcome};

/// Rounds of reading an outcome-filtered calls page may take to fill up (each reads at most
/// 200 calls), so a rare outcome costs a bounded number of requests per page.
const CALL_FILTER_ROUNDS: usize = 10;

/// What a recent-calls row needs of an attempt item: everything but the audit (a few KB each;
/// the attempts route shows it).
const CALL_ATTRIBUTES: [&str; 21] = [
    PK,
    SK,
    "entity",
    "campaign_id",
    attr::PHONE,
    "n",
    attr::CHARGED,
    attr::RELEASED,
    attr::STARTED_MS,
    attr::CALL_SID,
    attr::CALL_STATUS,
    attr::SEQ_NO,
    attr::TERMINAL,
    attr::DURATION,
    attr::ANSWERED_BY,
    attr::OUTCOME,
    attr::ENDED_MS,
    "campaign_name",
    "contact_name",
    attr::TWILIO_ERROR,
    GSI1_SK,
];

impl Repo {
    /// The owner's calls across every campaign, newest first: the attempt items in gsi1 under
    /// `K#<owner>` (written by the claim). With `outcome`, only the calls that ended so; the
    /// filter applies after DynamoDB's Limit, so this reads on (at most `CALL_FILTER_ROUNDS`
    /// requests) until the page is full. The cursor is the gsi1 sort key of the last call
    /// returned, so a page cut short skips nothing. A cursor that is not one of these keys is
    /// `NotFound`.
    pub async fn list_calls(
        &self,
        owner: &str,
        outcome: Option<Outcome>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<(Vec<AttemptRecord>, Option<String>), RepoError> {
        let limit = limit.clamp(1, MAX_PAGE) as usize;
        let pk = owner_calls_pk(owner);
        let mut start = match cursor {
            None => None,
            Some(c) => Some(decode_cursor(c, "").filter(|sort| call_key(sort).is_some()).ok_or(RepoError::NotFound)?),
        };
        let projection = (0..CALL_ATTRIBUTES.len()).map(|i| format!("#a{i}")).collect::<Vec<_>>().join(", ");
        let mut out: Vec<AttemptRecord> = Vec::with_capacity(limit);
        for _ in 0..CALL_FILTER_ROUNDS {
            let want = limit - out.len();
            let read = if outcome.is_some() { (want * 4).clamp(25, 200) } else { want };
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#gpk = :gpk")
                .expression_attribute_names("#gpk", GSI1_PK)
                .expression_attribute_values(":gpk", s(&pk))
                .projection_expression(&projection)
                .scan_index_forward(false)
                .limit(read as i32);
            for (i, name) in CALL_ATTRIBUTES.iter().enumerate() {
                q = q.expression_attribute_names(format!("#a{i}"), *name);
            }
            if let Some(o) = outcome {
                q = q
                    .filter_expression("#out = :out")
                    .expression_attribute_names("#out", attr::OUTCOME)
                    .expression_attribute_values(":out", s(o.as_str()));
            }
            if let Some(sort) = &start {
                let (table_pk, table_sk) = call_key(sort).ok_or(RepoError::NotFound)?;
                q = q
                    .exclusive_start_key(PK, s(table_pk))
                    .exclusive_start_key(SK, s(table_sk))
                    .exclusive_start_key(GSI1_PK, s(&pk))
                    .exclusive_start_key(GSI1_SK, s(sort));
            }
            let page = q.send().await.map_err(classify)?;
            for item in page.items.unwrap_or_default() {
                out.push(parse_item::<AttemptRecord>(item)?);
            }
            let stopped_at = last_key_attribute(page.last_evaluated_key, GSI1_SK);
            if out.len() >= limit {
                // More follow when DynamoDB stopped early or this page read past the limit.
                let more = stopped_at.is_some() || out.len() > limit;
                out.truncate(limit);
                let next = if more { out.last().and_then(|a| a.gsi1sk.as_deref()).map(encode_cursor) } else { None };
                return Ok((out, next));
            }
            match stopped_at {
                None => return Ok((out, None)),
                Some(sort) => start = Some(sort),
            }
        }
        Ok((out, start.map(|sort| encode_cursor(&sort))))
    }

    /// Attempts in key order (by phone, then attempt number): one contact's when `phone` is
    /// given, else the whole campaign's. A bad cursor is `NotFound`.
    pub async fn list_attempts(
        &self,
        campaign_id: &str,
        phone: Option<&str>,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<AttemptRecord>, Option<String>), RepoError> {
        let prefix = match phone {
            Some(p) => format!("{ATTEMPT_PREFIX}{p}#"),
            None => ATTEMPT_PREFIX.to_string(),
        };
        let start = Repo::cursor_start(cursor.as_deref(), &prefix)?;
        let page = self
            .prefix_query(&campaign_pk(campaign_id), &prefix, limit, start)
            .send()
            .await
            .map_err(classify)?;
        let items = page
            .items
            .unwrap_or_default()
            .into_iter()
            .map(parse_item::<AttemptRecord>)
            .collect::<Result<Vec<_>, _>>()?;
        let next = last_sort_key(page.last_evaluated_key).map(|sk| encode_cursor(&sk));
        Ok((items, next))
    }

    /// Contacts whose phone contains `digits` (when non-empty) or whose name contains `text`
    /// as typed, in lower case or capitalised (DynamoDB's `contains` is case-sensitive). A
    /// filtered Query: it reads up to `limit` items per page from the partition and keeps the
    /// matches, so a page may be short and still have a cursor. A bad cursor is `NotFound`.
    pub async fn search_contacts(
        &self,
        campaign_id: &str,
        text: &str,
        limit: u32,
        cursor: Option<String>,
    ) -> Result<(Vec<Contact>, Option<String>), RepoError> {
        let start = Repo::cursor_start(cursor.as_deref(), CONTACT_PREFIX)?;
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let lower = text.to_lowercase();
        let capital = {
            let mut cs = lower.chars();
            cs.next()
                .map(|f| f.to_uppercase().chain(cs).collect::<String>())
                .unwrap_or_default()
        };
        let mut filter =
            "contains(#nm, :t) OR contains(#nm, :lo) OR contains(#nm, :cap)".to_string();
        let mut q = self
            .prefix_query(&campaign_pk(campaign_id), CONTACT_PREFIX, limit, start)
            .expression_attribute_names("#nm", "name")
            .expression_attribute_values(":t", s(text))
            .expression_attribute_values(":lo", s(lower))
            .expression_attribute_values(":cap", s(capital));
        if !digits.is_empty() {
            filter.push_str(" OR contains(#ph, :d)");
            q = q
                .expression_attribute_names("#ph", "phone")
                .expression_attribute_values(":d", s(digits));
        }
        q = q.filter_expression(filter);
        let page = q.send().await.map_err(classify)?;
        let mut out = Vec::new();
        for item in page.items.unwrap_or_default() {
            out.push(parse_item::<ContactRecord>(item)?.into());
        }
        let next = last_sort_key(page.last_evaluated_key).map(|sk| encode_cursor(&sk));
        Ok((out, next))
    }
}
