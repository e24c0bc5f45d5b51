//! A local fake Salesforce org: a login host and an instance host on
//! 127.0.0.1, with OAuth 2.0 (client credentials and JWT bearer, verified
//! with the test key pair in `fixtures/`), sObject Collections upserts by
//! External ID, describe, the SOQL the connector sends, `nextRecordsUrl`
//! batches, `Sforce-Limit-Info` and the daily request limit, all in memory.
//! Tests script faults per endpoint and play a sales rep editing records.

mod api;
mod listener;
mod oauth;
mod schema;
mod soql;
mod store;

pub use schema::{default_objects, Field, FieldKind, SObject};

use jsonwebtoken::DecodingKey;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use store::Store;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The test-only RSA private key whose public half the fake trusts for the
/// JWT bearer flow. It is public: never use it outside tests.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("../../fixtures/salesforce-test-key.pem");
/// The same key as a file, for `TRELLIS_SALESFORCE_KEY_FILE`.
pub const TEST_PRIVATE_KEY_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/salesforce-test-key.pem"
);
const TEST_PUBLIC_KEY_PEM: &str = include_str!("../../fixtures/salesforce-test-key.pub.pem");

/// The org, its connected app and its integration user.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    pub client_id: String,
    pub client_secret: String,
    /// The user the JWT bearer flow may act for.
    pub username: String,
    /// The PEM public key JWT assertions must verify against.
    pub public_key_pem: String,
    /// API requests allowed before `REQUEST_LIMIT_EXCEEDED`.
    pub daily_limit: u64,
    /// Records per query batch before `nextRecordsUrl` (2000 in Salesforce).
    pub query_batch: usize,
    pub objects: Vec<SObject>,
}

impl Default for FakeOptions {
    fn default() -> FakeOptions {
        FakeOptions {
            client_id: "3MVG9fake.client.id".into(),
            client_secret: "fake-client-secret".into(),
            username: "trellis@example.com".into(),
            public_key_pem: TEST_PUBLIC_KEY_PEM.into(),
            daily_limit: 15_000,
            query_batch: 2000,
            objects: default_objects(),
        }
    }
}

/// What a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Token,
    Upsert,
    Describe,
    /// A query and its later batches.
    Query,
    /// Any other path (answered 404).
    Other,
}

impl Endpoint {
    fn of(path: &str) -> Endpoint {
        if path.ends_with("/oauth2/token") {
            Endpoint::Token
        } else if path.contains("/composite/sobjects/") {
            Endpoint::Upsert
        } else if path.ends_with("/describe") {
            Endpoint::Describe
        } else if path.contains("/query") {
            Endpoint::Query
        } else {
            Endpoint::Other
        }
    }
}

/// How the next request to an endpoint goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally (to let a call through before the next fault).
    Pass,
    /// Answer this status with Salesforce's error body (500, 503).
    Status(u16),
    /// Answer 503 with `Retry-After` in seconds.
    RetryAfter(u64),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// Do the work, then close the connection without answering.
    Drop,
}

/// Records created and updated by upserts and edits so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
}

/// A running fake org. Dropping it stops its listeners.
pub struct FakeSalesforce {
    shared: Arc<Shared>,
    listeners: Vec<JoinHandle<()>>,
}

impl FakeSalesforce {
    /// Binds a login host and an instance host on 127.0.0.1.
    ///
    /// # Panics
    /// When no local port can be bound or `public_key_pem` is not a PEM RSA
    /// public key: the test cannot run.
    pub async fn start(options: FakeOptions) -> FakeSalesforce {
        let bind = || TcpListener::bind("127.0.0.1:0");
        let login = bind().await.expect("bind the fake login host");
        let instance = bind().await.expect("bind the fake instance host");
        let url = |listener: &TcpListener| {
            let address = listener.local_addr().expect("a bound address");
            format!("http://{address}")
        };
        let public_key = DecodingKey::from_rsa_pem(options.public_key_pem.as_bytes())
            .expect("public_key_pem is a PEM RSA public key");
        let shared = Arc::new(Shared {
            login_url: url(&login),
            instance_url: url(&instance),
            client_id: options.client_id,
            client_secret: options.client_secret,
            username: options.username,
            public_key,
            batch_size: options.query_batch.max(1),
            state: Mutex::new(State::new(Store::new(options.objects), options.daily_limit)),
        });
        let listeners = vec![
            listener::serve(login, api::login(Arc::clone(&shared))),
            listener::serve(instance, api::instance(Arc::clone(&shared))),
        ];
        FakeSalesforce { shared, listeners }
    }

    /// Where clients sign in (`[crm.salesforce] login_url`).
    pub fn login_url(&self) -> &str {
        &self.shared.login_url
    }

    /// The org's own host, which the token answer names.
    pub fn instance_url(&self) -> &str {
        &self.shared.instance_url
    }

    /// The next requests to `endpoint` meet these faults, one each, in order.
    pub fn inject(&self, endpoint: Endpoint, faults: impl IntoIterator<Item = Fault>) {
        self.shared
            .lock()
            .faults
            .entry(endpoint)
            .or_default()
            .extend(faults);
    }

    /// Ends every session, as a timeout or a revoked token would: the next
    /// API call answers 401 `INVALID_SESSION_ID`.
    pub fn expire_sessions(&self) {
        self.shared.lock().sessions.clear();
    }

    /// Requests `endpoint` received, faults and refusals included.
    pub fn calls(&self, endpoint: Endpoint) -> u64 {
        self.shared
            .lock()
            .calls
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// The size of each upsert call `object` received, in order.
    pub fn upsert_sizes(&self, object: &str) -> Vec<usize> {
        let state = self.shared.lock();
        let sizes = state.upserts.iter().filter(|(name, _)| name == object);
        sizes.map(|(_, size)| *size).collect()
    }

    pub fn counts(&self) -> Counts {
        let state = self.shared.lock();
        Counts {
            created: state.store.created,
            updated: state.store.updated,
        }
    }

    /// Every stored record of `object` with its `Id`, `CreatedDate` and
    /// `SystemModstamp`, oldest first.
    pub fn records(&self, object: &str) -> Vec<Map<String, Value>> {
        self.shared.lock().store.snapshot(object)
    }

    /// (requests counted today, daily limit), as `Sforce-Limit-Info` says.
    pub fn api_usage(&self) -> (u64, u64) {
        self.shared.usage()
    }

    /// Changes fields of the `object` record whose External ID is
    /// `external_id`, as a sales rep would in Salesforce (with the same
    /// validation), bumping its `SystemModstamp`.
    pub fn edit(&self, object: &str, external_id: &str, changes: Value) -> Result<(), String> {
        let Value::Object(changes) = changes else {
            return Err("changes must be a JSON object of fields".into());
        };
        let mut state = self.shared.lock();
        let now = state.now();
        state.store.edit(object, external_id, changes, now)
    }

    /// From now on every write is stamped `at`, so records saved together
    /// share a `SystemModstamp`.
    pub fn freeze_clock(&self, at: OffsetDateTime) {
        self.shared.lock().clock = Some(at);
    }
}

impl Drop for FakeSalesforce {
    fn drop(&mut self) {
        for listener in &self.listeners {
            listener.abort();
        }
    }
}

/// What the handlers share.
struct Shared {
    login_url: String,
    instance_url: String,
    client_id: String,
    client_secret: String,
    username: String,
    public_key: DecodingKey,
    batch_size: usize,
    state: Mutex<State>,
}

struct State {
    store: Store,
    sessions: HashSet<String>,
    issued: u64,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    calls: HashMap<Endpoint, u64>,
    usage: u64,
    daily_limit: u64,
    clock: Option<OffsetDateTime>,
    /// Query results still being read through `nextRecordsUrl`.
    locators: HashMap<String, Vec<Value>>,
    issued_locators: u64,
    /// (object, records) of each upsert call.
    upserts: Vec<(String, usize)>,
}

impl Shared {
    /// A poisoned lock only means another test thread panicked; the state
    /// is still what it was.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a request and takes its scripted fault, if any.
    fn arrive(&self, endpoint: Endpoint) -> Option<Fault> {
        let mut state = self.lock();
        *state.calls.entry(endpoint).or_default() += 1;
        let fault = state.faults.get_mut(&endpoint)?.pop_front();
        fault.filter(|fault| *fault != Fault::Pass)
    }

    /// Lets an API request in: a live session and room under the limit.
    /// Otherwise the status, error code and message to answer.
    fn admit(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), (u16, &'static str, &'static str)> {
        let mut state = self.lock();
        let live = api::bearer(headers).is_some_and(|token| state.sessions.contains(token));
        if !live {
            return Err((401, "INVALID_SESSION_ID", "Session expired or invalid"));
        }
        if state.usage >= state.daily_limit {
            return Err((
                403,
                "REQUEST_LIMIT_EXCEEDED",
                "TotalRequests Limit exceeded.",
            ));
        }
        state.usage += 1;
        Ok(())
    }

    fn usage(&self) -> (u64, u64) {
        let state = self.lock();
        (state.usage, state.daily_limit)
    }
}

impl State {
    fn new(store: Store, daily_limit: u64) -> State {
        State {
            store,
            sessions: HashSet::new(),
            issued: 0,
            faults: HashMap::new(),
            calls: HashMap::new(),
            usage: 0,
            daily_limit,
            clock: None,
            locators: HashMap::new(),
            issued_locators: 0,
            upserts: Vec::new(),
        }
    }

    /// Salesforce keeps milliseconds.
    fn now(&self) -> OffsetDateTime {
        let now = self.clock.unwrap_or_else(OffsetDateTime::now_utc);
        let millis = now.millisecond();
        now.replace_nanosecond(u32::from(millis) * 1_000_000)
            .unwrap_or(now)
    }

    /// The first batch of a query's records, keeping the rest for
    /// `nextRecordsUrl`.
    fn first_batch(&mut self, records: Vec<Value>, version: &str, size: usize) -> Value {
        if records.len() <= size {
            return batch(&records, 0, size, version, None);
        }
        self.issued_locators += 1;
        let locator = format!("01gFAKE{:011}", self.issued_locators);
        let answer = batch(&records, 0, size, version, Some(&locator));
        self.locators.insert(locator, records);
        answer
    }

    /// The batch at `offset` of a kept query, forgetting it after the last.
    fn later_batch(
        &mut self,
        locator: &str,
        offset: usize,
        version: &str,
        size: usize,
    ) -> Option<Value> {
        let records = self.locators.get(locator)?;
        if offset >= records.len() {
            return None;
        }
        let answer = batch(records, offset, size, version, Some(locator));
        if offset + size >= records.len() {
            self.locators.remove(locator);
        }
        Some(answer)
    }
}

/// `{"totalSize", "done", "records", "nextRecordsUrl"}` for one batch.
fn batch(
    records: &[Value],
    offset: usize,
    size: usize,
    version: &str,
    locator: Option<&str>,
) -> Value {
    let end = records.len().min(offset + size);
    let done = end == records.len();
    let mut answer = json!({
        "totalSize": records.len(),
        "done": done,
        "records": &records[offset..end],
    });
    if let (false, Some(locator)) = (done, locator) {
        answer["nextRecordsUrl"] = json!(format!("/services/data/{version}/query/{locator}-{end}"));
    }
    answer
}

/// Salesforce's datetime form: `2026-11-25T10:00:00.000+0000`.
fn datetime(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+0000",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}
