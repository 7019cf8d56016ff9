//! Placeholder, filled by the Twilio work.
