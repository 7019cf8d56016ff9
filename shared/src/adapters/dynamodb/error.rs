//! Storage errors, keeping the difference between an expected conflict and a real failure.

use aws_sdk_dynamodb::error::SdkError;
use aws_smithy_runtime_api::http::Response;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A condition failed: an expected outcome (someone else got there first, or the state
    /// does not allow it). Never retried blindly.
    #[error("condition failed")]
    Conflict,
    #[error("not found")]
    NotFound,
    /// DynamoDB asked us to slow down (throughput exceeded, throttling, transaction conflict
    /// that is worth retrying later).
    #[error("throttled: {0}")]
    Throttled(String),
    #[error("stored item is malformed: {0}")]
    Corrupt(String),
    #[error("dynamodb: {0}")]
    Sdk(String),
}

impl RepoError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Throttled(_))
    }
}

/// Map an SDK error, recognising conditional-check failures and throttling by their codes.
pub fn classify<E>(err: SdkError<E, Response>) -> RepoError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if let Some(service) = err.as_service_error() {
        let code = service.code().unwrap_or_default();
        if code == "ConditionalCheckFailedException" {
            return RepoError::Conflict;
        }
        if code == "TransactionCanceledException" {
            let msg = service.message().unwrap_or_default();
            // Reasons are listed per item; any ConditionalCheckFailed means the state moved on.
            if msg.contains("ConditionalCheckFailed") {
                return RepoError::Conflict;
            }
            return RepoError::Throttled(format!("transaction canceled: {msg}"));
        }
        if matches!(
            code,
            "ProvisionedThroughputExceededException"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TransactionConflictException"
                | "TransactionInProgressException"
                | "InternalServerError"
        ) {
            return RepoError::Throttled(code.to_string());
        }
        return RepoError::Sdk(format!("{code}: {}", service.message().unwrap_or_default()));
    }
    RepoError::Sdk(aws_smithy_types::error::display::DisplayErrorContext(&err).to_string())
}

impl From<serde_dynamo::Error> for RepoError {
    fn from(e: serde_dynamo::Error) -> Self {
        RepoError::Corrupt(e.to_string())
    }
}
