//! The CRM sync queue on every backend: every change to a registration
//! makes it pending, claims never overlap (several stores on one
//! PostgreSQL), a change racing a send leaves the row pending, and
//! rejections and refusals end as dead letters staff can retry.

use std::collections::HashSet;
use std::sync::Arc;
use time::Duration;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::lifecycle::Command;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_store::{NewPartner, Store, SyncResult};
use trellis_testkit::{backends, draft, start_time, stores_on_one_postgres, Db, FreshDb};

async fn partner(store: &Store) -> PartnerId {
    let new = NewPartner::plain("Northwind", PartnerKind::Reseller, "registered");
    store
        .create_partner(&new, &Actor::System, start_time())
        .await
        .expect("partner")
        .id
}

async fn register(store: &Store, partner: PartnerId, n: usize) {
    let program = Arc::new(Program::default());
    for i in 0..n {
        let company = format!("Company {i}");
        let domain = format!("company{i}.com");
        store
            .register(
                &draft(partner, &company, Some(&domain)),
                &program,
                &Actor::System,
                start_time(),
                None,
            )
            .await
            .expect("registered");
    }
}

/// A fresh store holding `count` registrations, each waiting to be sent.
async fn queue_of(db: Db, count: usize) -> (FreshDb, Store) {
    let fresh = FreshDb::new(db).await;
    let store = Store::connect(&fresh.url).await.expect("store");
    let partner = partner(&store).await;
    register(&store, partner, count).await;
    (fresh, store)
}

fn synced(id: &str) -> SyncResult {
    SyncResult::Synced {
        record_id: id.into(),
    }
}

#[tokio::test]
async fn each_change_makes_a_registration_pending_until_its_latest_version_is_sent() {
    for db in backends() {
        let (_fresh, store) = queue_of(db, 1).await;
        let now = start_time();
        let batch = store.claim_crm_batch(now, 100).await.expect("claim");
        assert_eq!(batch.len(), 1, "{db:?}");
        assert!(
            store
                .claim_crm_batch(now, 100)
                .await
                .expect("claim")
                .is_empty(),
            "{db:?}: claimed once"
        );
        let id = batch[0].registration.id;
        assert_eq!(batch[0].fields()["company"], "Company 0");
        assert_eq!(batch[0].fields()["partner"], "Northwind");

        // Approved while the first version is in flight: sending that
        // version leaves the row pending for the newer one.
        let approve = Command::Approve { hold_days: None };
        store
            .apply(id, approve, None, &Program::default(), &Actor::System, now)
            .await
            .expect("approved");
        store
            .settle_crm_batch(&[(&batch[0], synced("deal-1"))], now)
            .await
            .expect("settled");
        let states = store.crm_states(&[id]).await.expect("states");
        assert_eq!(states[&id.0].state, "pending", "{db:?}");
        assert_eq!(states[&id.0].record_id.as_deref(), Some("deal-1"));

        let again = store.claim_crm_batch(now, 100).await.expect("claim");
        assert_eq!(again[0].registration.life.status.as_str(), "approved");
        assert_eq!(again[0].record_id.as_deref(), Some("deal-1"));
        store
            .settle_crm_batch(&[(&again[0], synced("deal-1"))], now)
            .await
            .expect("settled");
        assert_eq!(
            store.crm_states(&[id]).await.expect("states")[&id.0].state,
            "synced"
        );
        assert_eq!(
            store
                .registration_of_crm_record("deal-1")
                .await
                .expect("lookup"),
            Some(id)
        );
        let lag = store.sync_lag().await.expect("lag");
        assert_eq!((lag.pending, lag.synced, lag.failed), (0, 1, 0), "{db:?}");
    }
}

#[tokio::test]
async fn rejections_become_dead_letters_and_outages_wait_with_backoff() {
    for db in backends() {
        let (_fresh, store) = queue_of(db, 2).await;
        let now = start_time();
        let batch = store.claim_crm_batch(now, 100).await.expect("claim");
        let rejected = SyncResult::Rejected {
            message: "Property values were not valid: dealstage".into(),
        };
        store
            .settle_crm_batch(&[(&batch[0], rejected)], now)
            .await
            .expect("settled");
        store
            .retry_crm_batch(&batch[1..], "the CRM is unavailable: 503", false, None, now)
            .await
            .expect("retried");
        assert!(
            store
                .claim_crm_batch(now, 100)
                .await
                .expect("claim")
                .is_empty(),
            "{db:?}: backing off"
        );
        let later = store
            .claim_crm_batch(now + Duration::seconds(7), 100)
            .await
            .expect("claim");
        assert_eq!(later.len(), 1, "{db:?}: due again after the first delay");
        assert_eq!(later[0].attempts, 1);

        let dead = store.crm_dead_letters().await.expect("dead");
        assert_eq!(dead.len(), 1, "{db:?}");
        assert!(dead[0].error.as_deref().unwrap_or("").contains("dealstage"));
        let id = format!("crm-{}", dead[0].event_id);
        assert!(store.retry_dead_letter(&id, now).await.expect("retry"));
        assert!(
            !store.retry_dead_letter(&id, now).await.expect("retry"),
            "no longer dead"
        );
        assert!(!store.retry_dead_letter("crm-x", now).await.expect("retry"));
        let retried = store.claim_crm_batch(now, 100).await.expect("claim");
        assert_eq!(retried.len(), 1, "{db:?}: the dead letter is due again");
        assert_eq!(retried[0].registration.id.0, dead[0].registration_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_stores_claim_disjoint_batches() {
    let Some((_fresh, stores)) = stores_on_one_postgres(3).await else {
        return;
    };
    let partner = partner(&stores[0]).await;
    register(&stores[0], partner, 60).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for store in stores {
        let seen = seen.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let batch = store.claim_crm_batch(start_time(), 7).await.expect("claim");
                if batch.is_empty() {
                    return;
                }
                let ids = batch.iter().map(|item| item.registration.id.0);
                seen.lock().expect("lock").extend(ids);
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let seen = seen.lock().expect("lock");
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!(
        (seen.len(), distinct.len()),
        (60, 60),
        "each row claimed by exactly one store"
    );
}
