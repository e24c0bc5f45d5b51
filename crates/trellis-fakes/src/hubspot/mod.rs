//! A local HubSpot: the CRM v3 objects, properties and search endpoints and
//! the v4 default associations, on 127.0.0.1 with records in memory.
//!
//! It follows HubSpot's documented contract closely enough that the real
//! client works against it unchanged: `Authorization: Bearer` (a 401 in
//! HubSpot's shape otherwise), batches of at most 100 inputs, upserts by a
//! unique property answering `new: true` on creation, HubSpot's 400 for
//! unknown properties (`PROPERTY_DOESNT_EXIST`), picklist values
//! (`INVALID_OPTION`) and a new deal without `dealname`, `pipeline` and
//! `dealstage`, paged lists, search (pages of 200, 10,000 results at most),
//! `X-HubSpot-RateLimit-*` headers and a 429 past a configured limit.
//!
//! Tests script faults (429 bursts, 500s, slow answers, connections dropped
//! after the request was applied), read counters, inspect what was stored,
//! and change records as a sales rep would.

mod api;
mod connection;
mod query;
mod reply;
mod schema;
mod store;
mod traffic;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use schema::{Property, PropertyKind, DEAL_STAGES};
pub use store::StoredRecord;
pub use traffic::{Endpoint, Fault, RateLimit};

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct HubSpotOptions {
    /// The only bearer token accepted.
    pub token: String,
    /// HubSpot's burst limit; `None`: unlimited, without rate-limit headers.
    pub rate_limit: Option<RateLimit>,
    /// When every input of a batch upsert carries an `objectWriteTraceId`,
    /// refuse bad inputs one by one in a 207 (as HubSpot documents for batch
    /// create) instead of refusing the whole batch with a 400.
    pub multi_status: bool,
    /// Properties added to objects beyond the defaults (deals and companies
    /// with HubSpot's usual properties and the Trellis ones). Naming another
    /// object creates it.
    pub properties: Vec<(String, Property)>,
}

impl Default for HubSpotOptions {
    fn default() -> HubSpotOptions {
        HubSpotOptions {
            token: "fake-hubspot-token".into(),
            rate_limit: None,
            multi_status: false,
            properties: Vec::new(),
        }
    }
}

impl HubSpotOptions {
    pub fn with_property(mut self, object: &str, property: Property) -> HubSpotOptions {
        self.properties.push((object.to_owned(), property));
        self
    }

    pub fn with_rate_limit(mut self, max: u32, interval: Duration) -> HubSpotOptions {
        self.rate_limit = Some(RateLimit { max, interval });
        self
    }

    pub fn with_multi_status(mut self) -> HubSpotOptions {
        self.multi_status = true;
        self
    }
}

/// A running fake; it stops when dropped.
pub struct FakeHubSpot {
    shared: Arc<api::Shared>,
    address: SocketAddr,
    server: JoinHandle<()>,
}

impl FakeHubSpot {
    /// Serves on a free port of 127.0.0.1. Panics if no port can be bound,
    /// which only a broken test machine does.
    pub async fn start(options: HubSpotOptions) -> FakeHubSpot {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free local port for the fake HubSpot");
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        let crm = store::Crm::new(options.properties, options.multi_status);
        let traffic = traffic::Traffic::new(options.rate_limit);
        let shared = Arc::new(api::Shared::new(options.token, crm, traffic));
        let app = api::router(Arc::clone(&shared))
            .into_make_service_with_connect_info::<connection::Connection>();
        let server = tokio::spawn(async move {
            // Serving ends only when the task is aborted.
            let _ = axum::serve(connection::Listener(listener), app).await;
        });
        FakeHubSpot {
            shared,
            address,
            server,
        }
    }

    /// `http://127.0.0.1:<port>`, for `[crm] base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Queues a fault for the next request, whatever its endpoint.
    pub fn inject(&self, fault: Fault) {
        self.shared.traffic().inject(None, fault);
    }

    /// Queues a fault for the next request to `endpoint`.
    pub fn inject_on(&self, endpoint: Endpoint, fault: Fault) {
        self.shared.traffic().inject(Some(endpoint), fault);
    }

    /// Requests received at `endpoint`, refused ones included.
    pub fn calls(&self, endpoint: &Endpoint) -> u64 {
        self.shared.traffic().calls(endpoint)
    }

    pub fn total_calls(&self) -> u64 {
        self.shared.traffic().total_calls()
    }

    /// Requests answered 429, injected or earned.
    pub fn rate_limited(&self) -> u64 {
        self.shared.traffic().rate_limited
    }

    /// Records created by upserts.
    pub fn created(&self) -> u64 {
        self.shared.crm().created
    }

    /// Records updated by upserts.
    pub fn updated(&self) -> u64 {
        self.shared.crm().updated
    }

    /// Every record of `object`, by id.
    pub fn records(&self, object: &str) -> Vec<StoredRecord> {
        self.shared.crm().snapshot(object)
    }

    /// The record of `object` whose unique `property` is `value`.
    pub fn find(&self, object: &str, property: &str, value: &str) -> Option<StoredRecord> {
        self.shared.crm().find(object, property, value)
    }

    /// Associated (from id, to id) pairs.
    pub fn associations(&self, from: &str, to: &str) -> Vec<(String, String)> {
        self.shared.crm().associations(from, to)
    }

    /// Creates a record directly (no validation, no call counted); its id.
    pub fn seed(&self, object: &str, properties: &[(&str, &str)]) -> String {
        let values: BTreeMap<String, String> = properties
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.shared.crm().seed(object, values).to_string()
    }

    /// Sets a property as a sales rep would, moving `hs_lastmodifieddate`
    /// forward. `false` when there is no such record.
    pub fn edit(&self, object: &str, id: &str, property: &str, value: &str) -> bool {
        let Ok(id) = id.parse() else {
            return false;
        };
        self.shared.crm().edit(object, id, property, value)
    }
}

impl Drop for FakeHubSpot {
    fn drop(&mut self) {
        self.server.abort();
    }
}
