//! JSON in and out with problem+json errors instead of axum's plain text.

use crate::problem::ApiError;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A JSON body whose rejections are [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters whose rejections are [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// Parses a body read as bytes (when the raw bytes are needed too, as for
/// `Idempotency-Key`), with the same errors as [`Json`].
pub fn parse<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<T, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as JSON with 'Content-Type: application/json'".into(),
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            ApiError::invalid(if path == "." { "body" } else { &path }, inner.to_string())
        } else {
            ApiError::BadRequest(format!("the body is not valid JSON: {inner}"))
        }
    })
}
