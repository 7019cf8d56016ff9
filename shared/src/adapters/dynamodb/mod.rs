//! The DynamoDB adapter: one table, keys in [`keys`], item shapes in [`records`].
//!
//! Methods are grouped by capability in submodules: campaigns and agents (the API), contacts
//! (ingest and listing), dialing (leases, slots, call status, watchdog).

pub mod aimd;
pub mod campaigns;
pub mod compliance;
pub mod contacts;
pub mod dial;
pub mod dnc;
pub mod error;
pub mod history;
pub mod keys;
pub mod page;
pub mod rate;
pub mod records;
pub mod schema;
pub mod tick;
pub mod waiting;

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

pub use error::RepoError;

/// The repository over the one table. Cheap to clone (the SDK client is an `Arc` inside;
/// clones share the bulk writer's concurrency controller, as they share the table's capacity).
#[derive(Clone, Debug)]
pub struct Repo {
    pub(crate) client: Client,
    pub(crate) table: String,
    /// The bulk writer's concurrency (`contacts::write_all`), adapted to throttles.
    pub(crate) writes: Arc<Mutex<aimd::Aimd>>,
}

impl Repo {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self::with_write_concurrency(client, table, contacts::WRITE_CONCURRENCY)
    }

    /// A repository whose bulk writer starts and stays within `cfg` (figures and tests:
    /// `AimdConfig::fixed(4)` is the writer before it adapted).
    pub fn with_write_concurrency(client: Client, table: impl Into<String>, cfg: aimd::AimdConfig) -> Self {
        Self { client, table: table.into(), writes: Arc::new(Mutex::new(aimd::Aimd::new(cfg))) }
    }

    /// What the bulk writer's concurrency controller did so far.
    pub fn write_concurrency(&self) -> aimd::AimdStats {
        self.writes.lock().unwrap_or_else(|p| p.into_inner()).stats()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// One item by key, strongly consistent, as its record type; `None` when absent.
    pub(crate) async fn get_record<T: serde::de::DeserializeOwned>(&self, pk: String, sk: String) -> Result<Option<T>, RepoError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(pk))
            .key(keys::SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(error::classify)?;
        out.item.map(records::parse_item::<T>).transpose()
    }
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
