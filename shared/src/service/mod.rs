//! Use cases.
pub mod import;
pub mod dial;
pub mod watchdog;
pub mod campaigns;
pub mod export;
pub mod history;
pub mod dnc;
