//! Compliance: who may be called, when, and how often (invariants 4, 11, 12). Pure values and
//! decisions; the dialer asks [`evaluate`] before each claim and records its [`Audit`] on the
//! attempt, and the dry run (`domain::simulate`) asks the same function.
//!
//! - [`location`]: a contact's plausible zones and US states, each with its source.
//! - [`rules`]: the federal window and the stricter state rules, each with its source.
//! - [`policy`]: the campaign's compliance settings (only ever stricter).
//! - [`decide`]: every rule's verdict at an instant, and the decision.
//! - `audit`: the audit in one line (the export's column).

mod audit;
mod data;
pub mod decide;
pub mod location;
pub mod policy;
pub mod rules;

pub use decide::{
    Audit, CapCount, CapFacts, Decision, DncFacts, Evaluation, Prepared, Rule, RuleCheck, Verdict,
    blocked_window, cap_check, cap_per_24h, campaign_open_until, campaign_window,
    contact_waiting_for, decide, decide_prepared, evaluate, next_allowed, next_allowed_prepared,
    prepare, recipient_open_at, waiting_for,
};
pub use location::{Location, Source, SourcedState, SourcedZone, locate};
pub use policy::{FrequencyCap, RecipientHours, UnknownTimezone};

#[cfg(test)]
mod tests;
