//! `POST /webhooks/hubspot/crm`: HubSpot tells of deal stage changes and
//! meetings as they happen. The delivery must carry a valid signature v3
//! (the app's client secret) and arrive once: a captured request sent again
//! is refused 401, as a bad signature is, and changes nothing.

use super::inbound::apply_changes;
use crate::intake::hubspot::verify;
use crate::intake::{header, refuse_replay};
use crate::problem::ApiError;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Serialize;
use trellis_domain::program::CrmProvider;
use trellis_sync::crm::hubspot::webhook::{parse_webhook, ChangedValue, WebhookChange};
use trellis_sync::crm::CrmChange;

#[derive(Debug, Serialize)]
pub struct Applied {
    /// Registrations the delivery changed (a repeat of a change applied
    /// before changes nothing).
    pub applied: u64,
}

pub async fn hubspot(
    State(state): State<AppState>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Applied>, ApiError> {
    let link = state
        .crm
        .clone()
        .filter(|link| link.config.provider == CrmProvider::Hubspot)
        .ok_or_else(|| {
            ApiError::NotFound(
                "no HubSpot CRM is configured: add [crm] provider = \"hubspot\"".into(),
            )
        })?;
    verify(&state, &uri, &headers, &body)?;
    let signature = header(&headers, "x-hubspot-signature-v3");
    refuse_replay(&state, "hubspot", signature).await?;
    let changes =
        parse_webhook(&link.config, &body).map_err(|e| ApiError::invalid("body", e.to_string()))?;
    let changes: Vec<CrmChange> = changes.into_iter().map(change_of).collect();
    let applied = apply_changes(&state, &link, &changes).await?;
    Ok(Json(Applied { applied }))
}

fn change_of(change: WebhookChange) -> CrmChange {
    let (stage, meeting_at) = match change.value {
        ChangedValue::Stage(stage) => (Some(stage), None),
        ChangedValue::Meeting(at) => (None, at),
    };
    CrmChange {
        record_id: change.record_id,
        external_id: None,
        stage,
        meeting_at,
        changed_at: change.occurred_at,
    }
}
