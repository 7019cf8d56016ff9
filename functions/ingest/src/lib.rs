//! The ingest function's handler: S3 ObjectCreated events on `uploads/` → contacts.

use aws_lambda_events::s3::S3Event;
use chrono::Utc;
use lambda_runtime::{Error, LambdaEvent};
use shared::service::import::{IngestResult, ingest_object_with};
use shared::wiring::IngestDeps;
use tracing::{error, info};

/// S3 event keys are URL-encoded, with spaces as '+'.
pub fn decode_key(raw: &str) -> String {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("k={}", raw.replace('&', "%26").replace('=', "%3D")))
        .ok()
        .and_then(|mut v| v.pop())
        .map(|(_, k)| k)
        .unwrap_or_else(|| raw.to_string())
}

/// Handle every record; a storage failure fails the invocation (so the event is retried and
/// the idempotent import runs again), a bad file or foreign key does not.
pub async fn handle(deps: &IngestDeps, event: LambdaEvent<S3Event>) -> Result<Vec<String>, Error> {
    let mut results = Vec::new();
    let mut failed = 0;
    for record in event.payload.records {
        let Some(raw) = record.s3.object.key.as_deref() else { continue };
        let key = decode_key(raw);
        let span = tracing::info_span!("ingest", key = %key);
        let _g = span.enter();
        match ingest_object_with(&deps.repo, &deps.blobs, &key, &deps.limits, &deps.timing, Utc::now()).await {
            Ok(IngestResult::Imported(o)) => {
                info!(imported = o.imported, duplicates = o.duplicates, invalid = o.invalid, write_requests = o.write_requests, "imported");
                results.push(format!("imported {}", o.imported));
            }
            Ok(IngestResult::Rejected(reason)) => results.push(format!("rejected: {reason}")),
            Ok(IngestResult::Refused(reason)) => results.push(format!("refused: {reason}")),
            Ok(IngestResult::AlreadyImporting) => results.push("already importing".into()),
            Ok(IngestResult::Superseded) => results.push("superseded by a newer upload".into()),
            Err(e) => {
                error!(error = %e, "import failed");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} object(s) could not be imported; the event will be retried").into());
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_decoded() {
        assert_eq!(super::decode_key("uploads/alice/c1/my+list%281%29.csv"), "uploads/alice/c1/my list(1).csv");
        assert_eq!(super::decode_key("uploads/a/b/x.csv"), "uploads/a/b/x.csv");
    }
}
