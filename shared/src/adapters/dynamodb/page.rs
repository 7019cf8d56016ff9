//! Paged Queries over one partition's items whose sort key starts with a prefix: the shape
//! shared by the contacts list, the contact search, the attempts list and the do-not-call list.
//!
//! A cursor is opaque to clients: base64url of the sort key of the last item read. A cursor is
//! accepted only when it decodes to a sort key under the Query's own prefix, so a cursor from
//! another list (or made up) is `RepoError::NotFound`, never a Query that starts elsewhere.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;

use super::error::RepoError;
use super::keys::{PK, SK};
use super::{Repo, s};

/// The longest sort key a cursor may carry (ours are a prefix and an E.164 number or less).
const MAX_CURSOR_KEY: usize = 256;

/// The cursor for the sort key of the last item read.
pub(crate) fn encode_cursor(sort_key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key.as_bytes())
}

/// The sort key a cursor names, when it is one of this list's (under `prefix`).
pub(crate) fn decode_cursor(cursor: &str, prefix: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim().as_bytes())
        .ok()?;
    let sk = String::from_utf8(bytes).ok()?;
    (sk.len() <= MAX_CURSOR_KEY && sk.starts_with(prefix)).then_some(sk)
}

/// The sort key DynamoDB stopped at (`LastEvaluatedKey`), if it stopped before the end.
pub(crate) fn last_sort_key(
    last_evaluated_key: Option<HashMap<String, AttributeValue>>,
) -> Option<String> {
    last_key_attribute(last_evaluated_key, SK)
}

/// One string attribute of the key DynamoDB stopped at: `SK` for a table Query, the index's
/// sort key attribute for an index Query.
pub(crate) fn last_key_attribute(
    last_evaluated_key: Option<HashMap<String, AttributeValue>>,
    name: &str,
) -> Option<String> {
    match last_evaluated_key?.remove(name)? {
        AttributeValue::S(sk) => Some(sk),
        _ => None,
    }
}

impl Repo {
    /// A Query for the items of partition `pk` whose sort key begins with `prefix`, in key
    /// order, at most `limit` (clamped to 1..=1000) items read, starting after `start` (a sort
    /// key from [`decode_cursor`] or [`last_sort_key`]). Callers add filters and projections.
    pub(crate) fn prefix_query(
        &self,
        pk: &str,
        prefix: &str,
        limit: u32,
        start: Option<String>,
    ) -> QueryFluentBuilder {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":p", s(prefix))
            .limit(limit.clamp(1, 1000) as i32);
        if let Some(sk) = start {
            q = q
                .exclusive_start_key(PK, s(pk))
                .exclusive_start_key(SK, s(sk));
        }
        q
    }

    /// The start key for a client's cursor: `Ok(None)` without one, `NotFound` for a cursor that
    /// is not this list's.
    pub(crate) fn cursor_start(
        cursor: Option<&str>,
        prefix: &str,
    ) -> Result<Option<String>, RepoError> {
        cursor
            .map(|c| decode_cursor(c, prefix).ok_or(RepoError::NotFound))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_foreign_keys() {
        let c = encode_cursor("P#+12025550123");
        assert_eq!(decode_cursor(&c, "P#").as_deref(), Some("P#+12025550123"));
        assert_eq!(
            decode_cursor(&c, "A#"),
            None,
            "a contacts cursor is not an attempts cursor"
        );
        assert_eq!(decode_cursor(&encode_cursor("META"), "P#"), None);
        assert_eq!(decode_cursor("!!!", "P#"), None);
        assert_eq!(
            decode_cursor(&encode_cursor(&format!("P#{}", "1".repeat(300))), "P#"),
            None
        );
        assert!(matches!(
            Repo::cursor_start(Some("!!!"), "P#"),
            Err(RepoError::NotFound)
        ));
        assert_eq!(Repo::cursor_start(None, "P#").unwrap(), None);
    }

    #[test]
    fn the_last_sort_key_is_read_from_the_last_evaluated_key() {
        let key = HashMap::from([(PK.to_string(), s("C#1")), (SK.to_string(), s("P#+1"))]);
        assert_eq!(last_sort_key(Some(key)).as_deref(), Some("P#+1"));
        assert_eq!(last_sort_key(None), None);
        let odd = HashMap::from([(SK.to_string(), AttributeValue::N("1".into()))]);
        assert_eq!(last_sort_key(Some(odd)), None);
    }
}
