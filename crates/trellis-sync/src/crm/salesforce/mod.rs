//! Salesforce through its documented REST API: OAuth 2.0 sign-in (client
//! credentials or JWT bearer), sObject Collections upserts keyed by External
//! ID fields, describe, and SOQL queries.
//!
//! Syncing N registrations over C distinct accounts costs one sign-in per
//! session plus ⌈C/200⌉ + ⌈N/200⌉ calls.

mod auth;
mod changes;
mod client;
mod error;
mod limits;
mod read;
mod retry;
mod upsert;

pub use auth::{Credentials, CredentialsError};

use super::{Crm, CrmAccount, CrmChange, CrmError, Outcome, Page, Record};
use client::Client;
use std::time::Duration;
use trellis_domain::program::CrmConfig;

/// A Salesforce org, as `[crm]` maps registrations onto it.
pub struct Salesforce {
    client: Client,
    config: CrmConfig,
    change_page: usize,
}

impl Salesforce {
    /// Signs in lazily, on the first call. Requests time out after 30
    /// seconds unless [`Salesforce::with_timeout`] says otherwise.
    pub fn new(config: &CrmConfig, credentials: Credentials) -> Salesforce {
        Salesforce {
            client: Client::new(&config.salesforce, credentials),
            config: config.clone(),
            change_page: changes::PAGE,
        }
    }

    /// How long one request may take before it counts as failed (and is
    /// tried again).
    pub fn with_timeout(mut self, timeout: Duration) -> Salesforce {
        self.client.set_timeout(timeout);
        self
    }

    /// How many changes one [`Crm::changes`] call reads (2000 unless told).
    pub fn with_change_page(mut self, changes: usize) -> Salesforce {
        self.change_page = changes.max(1);
        self
    }

    /// The org's API usage as the last answer reported it: (calls in the
    /// last 24 hours, daily allowance).
    pub fn api_usage(&self) -> Option<(u64, u64)> {
        self.client.api_usage()
    }
}

#[async_trait::async_trait]
impl Crm for Salesforce {
    fn batch_limit(&self) -> usize {
        upsert::BATCH_LIMIT
    }

    async fn upsert(&self, records: &[Record]) -> Result<Vec<Outcome>, CrmError> {
        upsert::upsert(&self.client, &self.config, records).await
    }

    async fn properties(&self, object: &str) -> Result<Vec<String>, CrmError> {
        read::properties(&self.client, object).await
    }

    async fn accounts(&self, cursor: Option<&str>) -> Result<Page<CrmAccount>, CrmError> {
        read::accounts(&self.client, &self.config, cursor).await
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<Page<CrmChange>, CrmError> {
        changes::changes(&self.client, &self.config, cursor, self.change_page).await
    }

    fn calls(&self) -> u64 {
        self.client.calls()
    }
}
