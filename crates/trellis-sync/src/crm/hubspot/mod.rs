//! HubSpot: a registration becomes a record of `[crm] object` (deals by
//! default) and its account a company, both written by batch upsert on
//! unique properties that hold the Trellis ids, then associated with each
//! other. Stage changes and meetings are read back by CRM search, or pushed
//! by HubSpot's webhooks ([`webhook`]).
//!
//! Contracts followed (HubSpot's developer documentation, CRM v3 and
//! associations v4):
//! - `Authorization: Bearer <token>`, a private app's access token or an
//!   OAuth access token alike;
//! - batch upserts take at most 100 inputs, each `{idProperty, id,
//!   properties, objectWriteTraceId}`, and answer `results` carrying the
//!   record's `id` and `new: true` when it was created; a 207 names failed
//!   inputs by their `objectWriteTraceId`; a 400 refuses the whole batch;
//! - a 429 body names its `policyName` (`TEN_SECONDLY_ROLLING`, `DAILY`);
//!   answers carry `X-HubSpot-RateLimit-Remaining` and
//!   `X-HubSpot-RateLimit-Interval-Milliseconds`;
//! - every error body has `message` and `correlationId`, which the errors
//!   here repeat so HubSpot's support can find the call.
//!
//! Every call this connector makes is safe to repeat (upserts by unique
//! property, default associations, reads), which is why a dropped connection
//! or a timeout is simply retried.

mod client;
mod dates;
mod error;
mod read;
mod upsert;
pub mod webhook;

use std::time::Duration;

use trellis_domain::program::CrmConfig;

use super::{Crm, CrmAccount, CrmChange, CrmError, Outcome, Page, Record};
use client::Client;

/// The most inputs a HubSpot batch upsert takes.
pub const BATCH_LIMIT: usize = 100;
pub use upsert::ASSOCIATION_BATCH_LIMIT;

/// The HubSpot connector. Cheap to share: calls take `&self` and may run
/// concurrently; they share one connection pool and one rate-limit pace.
pub struct HubSpot {
    config: CrmConfig,
    client: Client,
}

impl HubSpot {
    /// A connector for the `[crm]` mapping, calling `config.base_url` with
    /// `token` (a private app access token or an OAuth access token). The
    /// token is sent only in the `Authorization` header and never logged.
    pub fn new(config: &CrmConfig, token: String) -> HubSpot {
        HubSpot {
            config: config.clone(),
            client: Client::new(&config.base_url, token),
        }
    }

    /// How long one HTTP request may take before it counts as failed and is
    /// retried (30 s unless set).
    pub fn with_timeout(mut self, timeout: Duration) -> HubSpot {
        self.client.set_timeout(timeout);
        self
    }

    /// The company property holding the account's name (`[crm.account_fields]
    /// company`, HubSpot's `name` when unmapped).
    fn account_name_property(&self) -> &str {
        self.account_property("company", "name")
    }

    /// The company property holding the account's web domain.
    fn account_domain_property(&self) -> &str {
        self.account_property("domain", "domain")
    }

    fn account_property<'a>(&'a self, field: &str, default: &'a str) -> &'a str {
        self.config
            .account_fields
            .get(field)
            .map_or(default, String::as_str)
    }
}

impl std::fmt::Debug for HubSpot {
    /// Names where it calls and what it writes; never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSpot")
            .field("base_url", &self.config.base_url)
            .field("object", &self.config.object)
            .field("account_object", &self.config.account_object)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Crm for HubSpot {
    fn batch_limit(&self) -> usize {
        BATCH_LIMIT
    }

    async fn upsert(&self, records: &[Record]) -> Result<Vec<Outcome>, CrmError> {
        self.upsert_records(records).await
    }

    async fn properties(&self, object: &str) -> Result<Vec<String>, CrmError> {
        self.property_names(object).await
    }

    async fn accounts(&self, cursor: Option<&str>) -> Result<Page<CrmAccount>, CrmError> {
        self.account_page(cursor).await
    }

    async fn changes(&self, cursor: Option<&str>) -> Result<Page<CrmChange>, CrmError> {
        self.change_page(cursor).await
    }

    fn calls(&self) -> u64 {
        self.client.calls()
    }
}
