//! Errors of the domain: a bad field, an illegal transition.

use serde::Serialize;

/// A value the user supplied that is not acceptable, with the field it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct FieldError {
    pub field: Option<String>,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: Some(field.to_string()), message: message.into() }
    }
    pub fn general(message: impl Into<String>) -> Self {
        Self { field: None, message: message.into() }
    }
}
