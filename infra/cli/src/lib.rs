//! The operator CLI's library side: the local system (`campaigns dev`, end-to-end tests).

pub mod fixtures;
pub mod local;
pub mod web;
