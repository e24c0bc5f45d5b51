//! The fake's HTTP side: HubSpot's paths, the bearer token, the rate limit
//! and injected faults, around the in-memory [`Crm`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use tokio::time::Instant;

use super::connection::Connection;
use super::reply::Reply;
use super::store::Crm;
use super::traffic::{Endpoint, Fault, Traffic};

/// State shared by the handlers and [`super::FakeHubSpot`].
pub(crate) struct Shared {
    token: String,
    crm: Mutex<Crm>,
    traffic: Mutex<Traffic>,
}

type Headers = Vec<(&'static str, String)>;

impl Shared {
    pub fn new(token: String, crm: Crm, traffic: Traffic) -> Shared {
        Shared {
            token,
            crm: Mutex::new(crm),
            traffic: Mutex::new(traffic),
        }
    }

    pub fn crm(&self) -> MutexGuard<'_, Crm> {
        self.crm.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn traffic(&self) -> MutexGuard<'_, Traffic> {
        self.traffic.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the call, checks the token, applies faults and the rate limit,
    /// then does `work` on the records.
    async fn serve(
        &self,
        connection: &Connection,
        endpoint: Endpoint,
        headers: &HeaderMap,
        work: impl FnOnce(&mut Crm) -> Reply,
    ) -> Response {
        let (fault, rate_headers) = match self.admit(&endpoint, headers) {
            Ok(admitted) => admitted,
            Err((reply, headers)) => return respond(reply, headers),
        };
        let reply = work(&mut self.crm());
        match fault {
            Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
            Some(Fault::DropConnection) => connection.cut(),
            _ => {}
        }
        respond(reply, rate_headers)
    }

    fn admit(
        &self,
        endpoint: &Endpoint,
        headers: &HeaderMap,
    ) -> Result<(Option<Fault>, Headers), (Reply, Headers)> {
        let mut traffic = self.traffic();
        traffic.count(endpoint);
        let expected = format!("Bearer {}", self.token);
        if headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
            return Err((Reply::unauthorized(), Vec::new()));
        }
        let fault = traffic.take_fault(endpoint);
        // HubSpot's search has its own limit and sends no rate-limit headers.
        let rate = match endpoint {
            Endpoint::Search(_) => None,
            _ => Some(traffic.rate(Instant::now())),
        };
        let allowed = rate.as_ref().is_none_or(|r| r.allowed);
        let rate_headers = rate.map(|r| r.headers).unwrap_or_default();
        match fault {
            Some(Fault::RateLimited { retry_after_secs }) => {
                traffic.rate_limited += 1;
                let mut headers = rate_headers;
                headers.extend(retry_after_secs.map(|s| (RETRY_AFTER.as_str(), s.to_string())));
                Err((Reply::rate_limited(), headers))
            }
            Some(Fault::ServerError) => Err((Reply::server_error(), rate_headers)),
            Some(Fault::MissingScopes) => {
                Err((Reply::missing_scopes(&endpoint.scope()), rate_headers))
            }
            _ if !allowed => {
                traffic.rate_limited += 1;
                Err((Reply::rate_limited(), rate_headers))
            }
            fault => Ok((fault, rate_headers)),
        }
    }
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/crm/v3/objects/{object}/batch/upsert", post(upsert))
        .route("/crm/v3/objects/{object}/search", post(search))
        .route("/crm/v3/objects/{object}", get(list))
        .route("/crm/v3/properties/{object}", get(properties))
        .route(
            "/crm/v4/associations/{from}/{to}/batch/associate/default",
            post(associate),
        )
        .fallback(|| async {
            respond(
                Reply::error(
                    axum::http::StatusCode::NOT_FOUND,
                    "NOT_FOUND",
                    "This fake does not serve that path",
                ),
                Vec::new(),
            )
        })
        .with_state(shared)
}

type SharedState = State<Arc<Shared>>;
type Conn = ConnectInfo<Connection>;

async fn upsert(
    State(shared): SharedState,
    ConnectInfo(connection): Conn,
    Path(object): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = Endpoint::Upsert(object.clone());
    shared
        .serve(&connection, endpoint, &headers, |crm| {
            crm.upsert(&object, &body)
        })
        .await
}

async fn search(
    State(shared): SharedState,
    ConnectInfo(connection): Conn,
    Path(object): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = Endpoint::Search(object.clone());
    shared
        .serve(&connection, endpoint, &headers, |crm| {
            crm.search(&object, &body)
        })
        .await
}

async fn list(
    State(shared): SharedState,
    ConnectInfo(connection): Conn,
    Path(object): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let endpoint = Endpoint::List(object.clone());
    shared
        .serve(&connection, endpoint, &headers, |crm| {
            crm.list(&object, &query)
        })
        .await
}

async fn properties(
    State(shared): SharedState,
    ConnectInfo(connection): Conn,
    Path(object): Path<String>,
    headers: HeaderMap,
) -> Response {
    let endpoint = Endpoint::Properties(object.clone());
    shared
        .serve(&connection, endpoint, &headers, |crm| {
            crm.properties(&object)
        })
        .await
}

async fn associate(
    State(shared): SharedState,
    ConnectInfo(connection): Conn,
    Path((from, to)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = Endpoint::Associate(from.clone(), to.clone());
    shared
        .serve(&connection, endpoint, &headers, |crm| {
            crm.associate(&from, &to, &body)
        })
        .await
}

fn respond(reply: Reply, headers: Headers) -> Response {
    let mut response = (reply.status, Json(reply.body)).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    response
}
