//! The bulk-campaigns library: everything the three Lambda functions, the dev server and the
//! operator CLI share. The binaries only wire it.

pub mod adapters;
pub mod config;
pub mod domain;
pub mod http;
pub mod import;
pub mod ports;
pub mod service;
pub mod telemetry;
pub mod twilio;
pub mod wiring;
