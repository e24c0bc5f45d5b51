//! `POST /services/oauth2/token`: the client credentials and JWT bearer
//! grants, answered as Salesforce answers them.

use super::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// An OAuth error: `error` and `error_description`.
type Denial = (&'static str, &'static str);

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    let verdict = match field("grant_type") {
        "client_credentials" => {
            client_credentials(&shared, field("client_id"), field("client_secret"))
        }
        JWT_BEARER => jwt_bearer(&shared, field("assertion")),
        _ => Err(("unsupported_grant_type", "grant type not supported")),
    };
    match verdict {
        Ok(()) => Json(issue(&shared)).into_response(),
        Err((error, description)) => (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": error, "error_description": description })),
        )
            .into_response(),
    }
}

fn client_credentials(shared: &Shared, client_id: &str, secret: &str) -> Result<(), Denial> {
    if client_id != shared.client_id {
        return Err(("invalid_client_id", "client identifier invalid"));
    }
    if secret != shared.client_secret {
        return Err(("invalid_client", "invalid client credentials"));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
}

/// Checks the assertion's RS256 signature against the app's certificate
/// key, then its issuer (the app), audience (the login URL), expiry and
/// subject (a user the app may act for).
fn jwt_bearer(shared: &Shared, assertion: &str) -> Result<(), Denial> {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[&shared.login_url]);
    validation.set_issuer(&[&shared.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Claims>(assertion, &shared.public_key, &validation)
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidIssuer => ("invalid_client_id", "client identifier invalid"),
            ErrorKind::InvalidAudience => ("invalid_grant", "audience is invalid"),
            ErrorKind::ExpiredSignature => ("invalid_grant", "expired authorization code"),
            _ => ("invalid_grant", "invalid assertion"),
        })?
        .claims;
    if claims.sub != shared.username {
        return Err(("invalid_grant", "user hasn't approved this consumer"));
    }
    Ok(())
}

fn issue(shared: &Shared) -> serde_json::Value {
    let mut state = shared.lock();
    state.issued += 1;
    let token = format!("00DFAKE000000001!session{:06}", state.issued);
    state.sessions.insert(token.clone());
    let issued_at = (state.now().unix_timestamp_nanos() / 1_000_000).to_string();
    json!({
        "access_token": token,
        "instance_url": shared.instance_url,
        "id": format!("{}/id/00DFAKE000000001AAA/005FAKE000000001AAA", shared.login_url),
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": "ZmFrZS1zaWduYXR1cmU=",
        "scope": "api",
    })
}
