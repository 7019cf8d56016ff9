//! Read-only views the dashboard needs: a campaign's call attempts (one contact's, or all of
//! them for the calls-over-time chart) and a contact search. Both are Queries on the campaign's
//! partition (`C#<id>`); neither writes.

use super::error::{RepoError, classify};
use super::keys::*;
use super::page::{encode_cursor, last_sort_key};
use super::records::{AttemptRecord, ContactRecord, parse_item};
use super::{Repo, s};
use crate::domain::Contact;

impl Repo {
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
