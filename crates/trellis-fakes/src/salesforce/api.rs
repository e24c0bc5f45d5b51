//! The REST routes: the token endpoint on the login host; sObject
//! Collections upserts, describe and SOQL queries on the instance. Every
//! request first passes the gate, which injects scripted faults, checks the
//! bearer token and the daily request limit, and stamps `Sforce-Limit-Info`.

use super::listener::HangUp;
use super::{oauth, Endpoint, Fault, Shared};
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Extension, Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// The most records one collection call takes.
const COLLECTION_LIMIT: usize = 200;

/// The login host serves only sign-in.
pub(super) fn login(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

/// The org's instance serves sign-in (My Domain) and the data API.
pub(super) fn instance(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/data/{version}/composite/sobjects/{object}/{key}",
            patch(upsert),
        )
        .route(
            "/services/data/{version}/sobjects/{object}/describe",
            get(describe),
        )
        .route("/services/data/{version}/query", get(query))
        .route("/services/data/{version}/query/{locator}", get(query_more))
        .fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), gate))
        .with_state(shared)
}

/// Salesforce's error answer: `[{"message": ..., "errorCode": ...}]`.
pub(super) fn error(status: u16, code: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!([{ "message": message, "errorCode": code }]);
    (status, Json(body)).into_response()
}

async fn gate(
    State(shared): State<Arc<Shared>>,
    Extension(hang_up): Extension<HangUp>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = Endpoint::of(request.uri().path());
    let fault = shared.arrive(endpoint);
    if let Some(Fault::Slow(delay)) = fault {
        tokio::time::sleep(delay).await;
    }
    let mut response = match fault {
        Some(Fault::Status(status)) => scripted(status, None),
        Some(Fault::RetryAfter(seconds)) => scripted(503, Some(seconds)),
        _ if endpoint == Endpoint::Token => next.run(request).await,
        _ => match shared.admit(request.headers()) {
            Ok(()) => next.run(request).await,
            Err((status, code, message)) => error(status, code, message),
        },
    };
    if fault == Some(Fault::Drop) {
        // Whatever the handler did stays done; the client hears nothing.
        hang_up.now();
        return std::future::pending().await;
    }
    if endpoint != Endpoint::Token {
        let (used, limit) = shared.usage();
        if let Ok(value) = HeaderValue::from_str(&format!("api-usage={used}/{limit}")) {
            response.headers_mut().insert("sforce-limit-info", value);
        }
    }
    response
}

fn scripted(status: u16, retry_after: Option<u64>) -> Response {
    let (code, message) = match status {
        503 => ("SERVER_UNAVAILABLE", "Server unavailable"),
        _ => (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567890-12345 (-1234567890)",
        ),
    };
    let mut response = error(status, code, message);
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

#[derive(serde::Deserialize)]
struct Collection {
    #[serde(rename = "allOrNone", default)]
    all_or_none: bool,
    records: Vec<Value>,
}

async fn upsert(
    State(shared): State<Arc<Shared>>,
    Path((version, object, key)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !is_version(&version) {
        return not_found();
    }
    let collection: Collection = match serde_json::from_slice(&body) {
        Ok(collection) => collection,
        Err(parse) => return error(400, "JSON_PARSER_ERROR", &parse.to_string()),
    };
    if collection.records.len() > COLLECTION_LIMIT {
        let message = "record limit reached. cannot submit more than 200 records into this call";
        return error(400, "EXCEEDED_ID_LIMIT", message);
    }
    if collection.all_or_none {
        let message = "allOrNone: true is not implemented by the fake Salesforce";
        return error(400, "FUNCTIONALITY_NOT_ENABLED", message);
    }
    let mut state = shared.lock();
    let now = state.now();
    state
        .upserts
        .push((object.clone(), collection.records.len()));
    match state.store.upsert(&object, &key, &collection.records, now) {
        Ok(results) => Json(results).into_response(),
        Err((status, code, message)) => error(status, code, &message),
    }
}

async fn describe(
    State(shared): State<Arc<Shared>>,
    Path((version, object)): Path<(String, String)>,
) -> Response {
    let state = shared.lock();
    match state.store.object(&object) {
        Some(schema) if is_version(&version) => Json(schema.describe()).into_response(),
        _ => not_found(),
    }
}

async fn query(
    State(shared): State<Arc<Shared>>,
    Path(version): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(soql) = params.get("q") else {
        return error(400, "MALFORMED_QUERY", "A query string has to be specified");
    };
    let parsed = match super::soql::parse(soql) {
        Ok(parsed) => parsed,
        Err((code, message)) => return error(400, code, &message),
    };
    let mut state = shared.lock();
    match state.store.select(&parsed, &version) {
        Ok(records) => {
            Json(state.first_batch(records, &version, shared.batch_size)).into_response()
        }
        Err((code, message)) => error(400, code, &message),
    }
}

async fn query_more(
    State(shared): State<Arc<Shared>>,
    Path((version, locator)): Path<(String, String)>,
) -> Response {
    let batch = locator
        .rsplit_once('-')
        .and_then(|(id, offset)| Some((id, offset.parse().ok()?)))
        .and_then(|(id, offset)| {
            shared
                .lock()
                .later_batch(id, offset, &version, shared.batch_size)
        });
    match batch {
        Some(batch) => Json(batch).into_response(),
        None => error(400, "INVALID_QUERY_LOCATOR", "invalid query locator"),
    }
}

fn not_found() -> Response {
    error(404, "NOT_FOUND", "The requested resource does not exist")
}

/// `v61.0`.
fn is_version(text: &str) -> bool {
    text.strip_prefix('v')
        .and_then(|number| number.split_once('.'))
        .is_some_and(|(major, minor)| {
            !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) && minor == "0"
        })
}

/// The bearer token of a request, if it carries one.
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}
