//! `/api/v1/intake/*`: channel entry points that arrive over HTTP with a
//! staff token (bulk files; raw mail from an MTA pipe or a provider's
//! raw-MIME forwarding).

use crate::auth::Caller;
use crate::auth::Staff;
use crate::intake::csv::{CsvReport, Importer};
use crate::intake::email::{self, EmailAnswer};
use crate::problem::{ApiError, ApiResult};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Multipart, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use trellis_domain::ids::PartnerId;
use utoipa::IntoParams;

/// The largest CSV upload: 100,000 generous rows.
pub const CSV_LIMIT: usize = 32 * 1024 * 1024;

#[derive(Deserialize, IntoParams)]
pub struct CsvQuery {
    /// The partner the rows are for (staff); a partner token implies it.
    partner_id: Option<i64>,
}

/// Bulk-register from a CSV file (multipart field `file`).
///
/// Answers one result per row (`registered`, `duplicate`, `invalid`,
/// `refused`) as JSON, or as CSV with `Accept: text/csv`. A file that is
/// not CSV, or holds more than 100,000 rows, is refused whole.
#[utoipa::path(post, path = "/api/v1/intake/csv", tag = "intake", params(CsvQuery),
    request_body(content = String, content_type = "multipart/form-data"),
    responses((status = 200, body = CsvReport), (status = 413, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn csv(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(query): Query<CsvQuery>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> ApiResult<Response> {
    let partner = match (caller.partner_scope(), query.partner_id) {
        (Some(own), None) => own,
        (Some(own), Some(id)) if id == own.0 => own,
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "partner_id",
                "a partner token uploads for its own partner only",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "partner_id",
                "is required with a staff token",
            ))
        }
        (None, Some(id)) => state.store.partner(PartnerId(id)).await?.id,
    };
    let file = file_field(&mut multipart).await?;
    let importer = Importer {
        store: &state.store,
        program: &state.program,
        partner,
        actor: caller.actor(),
        now: state.clock.now(),
    };
    let report = importer.import(file.as_slice(), |_, _| {}).await?;
    let wants_csv = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/csv"));
    Ok(if wants_csv {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.to_csv()?,
        )
            .into_response()
    } else {
        Json(report).into_response()
    })
}

/// The bytes of the multipart field `file`.
async fn file_field(multipart: &mut Multipart) -> ApiResult<Vec<u8>> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "the upload is larger than the {} MiB a file may be",
            CSV_LIMIT / 1024 / 1024
        ))
    };
    while let Some(field) = multipart.next_field().await.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => ApiError::BadRequest(format!(
            "the upload is not valid multipart form data: {}",
            e.body_text()
        )),
    })? {
        if field.name() == Some("file") {
            return field
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                    _ => ApiError::BadRequest(e.body_text()),
                });
        }
    }
    Err(ApiError::invalid(
        "file",
        "send the CSV as the multipart field named \"file\"",
    ))
}

/// Register from a raw RFC 5322 message (`Content-Type: message/rfc822`).
///
/// The sender gets the same reply by mail; the answer here says what
/// happened: `registered` with the case number, `incomplete` with what is
/// missing, or `refused`.
#[utoipa::path(post, path = "/api/v1/intake/email", tag = "intake",
    request_body(content = String, content_type = "message/rfc822"),
    responses((status = 200, body = EmailAnswer), (status = 413, body = crate::problem::Problem), (status = 422, body = crate::problem::Problem)))]
pub async fn email(
    State(state): State<AppState>,
    _staff: Staff,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<EmailAnswer>> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("message/rfc822") {
        return Err(ApiError::UnsupportedMediaType(
            "send the raw message with 'Content-Type: message/rfc822'".into(),
        ));
    }
    email::process(&state, &body).await.map(Json)
}
