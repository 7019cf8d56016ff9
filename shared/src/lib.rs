//! The bulk-campaigns library: everything the three Lambda functions, the dev server and the
//! operator CLI share. The binaries only wire it.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod http;
/// The contact parser lives in its own crate (`parser/`, no AWS); re-exported under its old path.
pub use contacts_parser as import;
pub mod ports;
pub mod service;
pub mod telemetry;
pub mod twilio;
pub mod wiring;
