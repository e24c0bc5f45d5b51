//! Sends the CRM sync queue: each sender claims a batch (as many records as
//! one call carries), upserts it, and settles each record by what the CRM
//! answered. Several senders run at once, in this process and in others on
//! the same database; a claim keeps them off each other's rows.

use super::records::record_of;
use super::CrmLink;
use crate::AppState;
use std::sync::Arc;
use trellis_store::{StoreError, SyncResult};
use trellis_sync::crm::{CrmError, Outcome};

/// Starts `link.workers` senders that run until the process ends (none:
/// this process leaves sending to others on the same database).
pub fn spawn(state: AppState, link: Arc<CrmLink>) {
    for _ in 0..link.workers {
        let (state, link) = (state.clone(), link.clone());
        tokio::spawn(async move {
            loop {
                match sync_once(&state, &link).await {
                    Ok(0) => tokio::time::sleep(link.idle).await,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "crm sync: the queue could not be read; retrying");
                        tokio::time::sleep(link.idle).await;
                    }
                }
            }
        });
    }
}

/// Claims and sends one batch; returns how many registrations it carried
/// (0: nothing was due).
pub async fn sync_once(state: &AppState, link: &CrmLink) -> Result<usize, StoreError> {
    let limit = link.crm.batch_limit() as i64;
    let items = state
        .store
        .claim_crm_batch(state.clock.now(), limit)
        .await?;
    if items.is_empty() {
        return Ok(0);
    }
    let records: Vec<_> = items
        .iter()
        .map(|item| record_of(item, &link.config))
        .collect();
    let answer = link.crm.upsert(&records).await;
    let now = state.clock.now();
    match answer {
        Ok(outcomes) if outcomes.len() == items.len() => {
            let settled: Vec<_> = items
                .iter()
                .zip(outcomes)
                .map(|(item, outcome)| (item, result_of(outcome)))
                .collect();
            let rejected = settled
                .iter()
                .filter(|(_, r)| matches!(r, SyncResult::Rejected { .. }))
                .count();
            if rejected > 0 {
                tracing::warn!(
                    rejected,
                    "crm sync: the CRM rejected records; see the dead letters"
                );
            }
            state.store.settle_crm_batch(&settled, now).await?;
        }
        Ok(outcomes) => {
            let error = format!(
                "the CRM connector answered {} outcomes for {} records",
                outcomes.len(),
                items.len()
            );
            state
                .store
                .retry_crm_batch(&items, &error, true, None, now)
                .await?;
        }
        Err(e) => {
            tracing::warn!(error = %e, records = items.len(), "crm sync: batch not sent; it will be retried");
            let (refused, retry_after) = match &e {
                CrmError::Unavailable { retry_after, .. } => (false, *retry_after),
                CrmError::Refused { .. } => (true, None),
            };
            let retry_after = retry_after.and_then(|d| time::Duration::try_from(d).ok());
            let error = e.to_string();
            state
                .store
                .retry_crm_batch(&items, &error, refused, retry_after, now)
                .await?;
        }
    }
    Ok(items.len())
}

fn result_of(outcome: Outcome) -> SyncResult {
    match outcome {
        Outcome::Synced { record_id } => SyncResult::Synced { record_id },
        Outcome::Rejected { message } => SyncResult::Rejected { message },
    }
}
