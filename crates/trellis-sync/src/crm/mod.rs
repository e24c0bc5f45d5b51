//! One trait over the CRMs Trellis keeps in step with. A connector turns
//! batches of mapped records into the vendor's batch upserts (keyed by the
//! Trellis ids, so a repeat is harmless), reads the vendor's property list
//! for `trellis crm check`, pages through its accounts for `trellis crm
//! pull accounts`, and reads back stage changes and meetings.

pub mod hubspot;
pub mod salesforce;

use std::collections::BTreeMap;
use std::time::Duration;
use time::OffsetDateTime;
use trellis_domain::program::{CrmConfig, CrmProvider};

/// One registration as the CRM should see it, already mapped to the CRM's
/// property names (see `[crm.fields]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The Trellis registration id, written to the `id_property`.
    pub external_id: String,
    /// The CRM's own id, once an earlier sync learned it.
    pub record_id: Option<String>,
    /// CRM property name to value. Dates are `YYYY-MM-DD`, instants RFC
    /// 3339, amounts plain decimals in major units (`1234.50`).
    pub properties: BTreeMap<String, String>,
    /// The account (company) the registration is about, upserted first and
    /// associated with the record.
    pub account: AccountRecord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The Trellis account id, written to the `account_id_property`.
    pub external_id: String,
    pub properties: BTreeMap<String, String>,
}

/// What became of one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Created or updated; the CRM's id for it.
    Synced { record_id: String },
    /// The CRM refused this record (a missing required property, a bad
    /// picklist value): sending it again will not help. The CRM's words.
    Rejected { message: String },
}

/// Why a whole call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// Try again later: 429, 5xx, a timeout, a dropped connection. When the
    /// CRM said how long to wait (`Retry-After`), `retry_after` says so.
    #[error("the CRM is unavailable: {message}")]
    Unavailable {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The CRM refused the call itself (bad credentials, missing scope, an
    /// object that does not exist): a person must fix the configuration.
    #[error("the CRM refused the call: {message}")]
    Refused { message: String },
}

/// A page of results and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `None` on the last page. For [`Crm::changes`], the cursor to resume
    /// from next time even when this page was the last.
    pub next: Option<String>,
}

/// A company or account as the CRM holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmAccount {
    pub record_id: String,
    pub name: String,
    pub domain: Option<String>,
}

/// A registration's record as it changed in the CRM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmChange {
    pub record_id: String,
    /// The Trellis registration id, when the record carries one.
    pub external_id: Option<String>,
    /// The record's stage (`stage_property`), if it has one.
    pub stage: Option<String>,
    /// When the first meeting happened (`meeting_property`), if set.
    pub meeting_at: Option<OffsetDateTime>,
    pub changed_at: OffsetDateTime,
}

/// A CRM Trellis keeps in step with.
#[async_trait::async_trait]
pub trait Crm: Send + Sync {
    /// The most records one upsert call carries (HubSpot 100, Salesforce 200).
    fn batch_limit(&self) -> usize;

    /// Creates or updates each record and its account, by external id.
    /// Answers one outcome per record, in order, or why the call failed as
    /// a whole (then nothing can be assumed written, and the batch is sent
    /// again later: upserts make that harmless).
    async fn upsert(&self, records: &[Record]) -> Result<Vec<Outcome>, CrmError>;

    /// The property (field) names the CRM has on `object`.
    async fn properties(&self, object: &str) -> Result<Vec<String>, CrmError>;

    /// One page of the CRM's accounts, from `cursor` (`None`: the first).
    async fn accounts(&self, cursor: Option<&str>) -> Result<Page<CrmAccount>, CrmError>;

    /// Registration records changed after `cursor` (`None`: from the
    /// beginning), oldest first.
    async fn changes(&self, cursor: Option<&str>) -> Result<Page<CrmChange>, CrmError>;

    /// HTTP calls made so far, for the benchmark and for staff.
    fn calls(&self) -> u64;
}

/// The properties the mapping names that the CRM lacks, per object, as
/// `object: property` lines; empty when the mapping is sound. For
/// `trellis crm check` and start-up.
pub async fn missing_properties(
    crm: &dyn Crm,
    config: &CrmConfig,
) -> Result<Vec<String>, CrmError> {
    let mut missing = Vec::new();
    let objects = [
        (&config.object, config.record_properties()),
        (&config.account_object, config.account_properties()),
    ];
    for (object, wanted) in objects {
        let known = crm.properties(object).await?;
        missing.extend(
            wanted
                .into_iter()
                .filter(|name| !known.iter().any(|k| k == name))
                .map(|name| format!("{object}: {name}")),
        );
    }
    Ok(missing)
}

/// The program's CRM, with its secrets from the environment:
/// `TRELLIS_HUBSPOT_TOKEN` for HubSpot; for Salesforce the client id and
/// either the client secret or the JWT key file (see
/// [`salesforce::Credentials::from_env`]).
pub fn connect(config: &CrmConfig) -> anyhow::Result<std::sync::Arc<dyn Crm>> {
    Ok(match config.provider {
        CrmProvider::Hubspot => {
            let token = std::env::var(HUBSPOT_TOKEN)
                .ok()
                .filter(|token| !token.is_empty())
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{HUBSPOT_TOKEN} is not set: set it to the private app's access token (or an OAuth access token)"
                    )
                })?;
            std::sync::Arc::new(hubspot::HubSpot::new(config, token))
        }
        CrmProvider::Salesforce => {
            let credentials = salesforce::Credentials::from_env(config)?;
            std::sync::Arc::new(salesforce::Salesforce::new(config, credentials))
        }
    })
}

/// Where the HubSpot token comes from.
pub const HUBSPOT_TOKEN: &str = "TRELLIS_HUBSPOT_TOKEN";
