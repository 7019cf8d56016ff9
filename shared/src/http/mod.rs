//! The HTTP router (REST routes and Twilio webhooks).
