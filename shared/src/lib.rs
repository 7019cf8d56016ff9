//! The bulk-campaigns library: everything the three Lambda functions, the dev server and the
//! operator CLI share. The binaries only wire it.
//!
//! Without the default `aws` feature only the pure parts are built (`domain`, the webhook
//! signature in `twilio::signature`, the parser re-export): the fuzz targets use that.

#[cfg(feature = "aws")]
pub mod adapters;
#[cfg(feature = "aws")]
pub mod config;
pub mod domain;
#[cfg(feature = "aws")]
pub mod http;
/// The contact parser lives in its own crate (`parser/`, no AWS); re-exported under its old path.
pub use contacts_parser as import;
#[cfg(feature = "aws")]
pub mod ports;
#[cfg(feature = "aws")]
pub mod service;
#[cfg(feature = "aws")]
pub mod telemetry;
pub mod twilio;
#[cfg(feature = "aws")]
pub mod wiring;
