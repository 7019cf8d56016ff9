//! The pure domain: values and decisions, no I/O. Everything here is unit-tested with plain
//! values and a chosen instant.

pub mod call;
pub mod campaign;
pub mod compliance;
pub mod contact;
pub mod error;
pub mod hours;
pub mod masking;
pub mod settings;
pub mod simulate;
pub mod twilio_errors;
pub mod waiting;

pub use call::{CallStatus, Outcome};
pub use campaign::{Action, AgentSnapshot, CallTotals, Campaign, CampaignState, Counters, ImportState, Stats};
pub use contact::{AfterCall, Contact, ContactState};
pub use error::FieldError;
pub use settings::{Settings, SettingsInput};
