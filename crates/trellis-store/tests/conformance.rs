//! The store's contract, on every backend: concurrent writers, several
//! stores (processes) on one database, and durability of what committed.

use std::sync::Arc;
use time::OffsetDateTime;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_store::{NewPartner, RegistrationFilter, Store, StoreError};
use trellis_testkit::{backends, draft, start_time, Db, FreshDb};

async fn partners(store: &Store, n: usize) -> Vec<PartnerId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let new = NewPartner {
            name: format!("Partner {i}"),
            kind: PartnerKind::Reseller,
            tier: "registered".into(),
            email_domains: vec![],
            regions: vec![],
            segments: vec![],
        };
        ids.push(
            store
                .create_partner(&new, &Actor::System, start_time())
                .await
                .expect("partner")
                .id,
        );
    }
    ids
}

/// Registers `company` once per partner, all at the same moment, through
/// the given stores in turn; returns how many succeeded.
async fn race(
    stores: &[Store],
    partners: &[PartnerId],
    company: &str,
    domains: &[Option<&str>],
) -> usize {
    let program = Arc::new(Program::default());
    let mut tasks = Vec::new();
    for (i, partner) in partners.iter().enumerate() {
        let store = stores[i % stores.len()].clone();
        let (program, draft) = (
            program.clone(),
            draft(*partner, company, domains[i % domains.len()]),
        );
        tasks.push(tokio::spawn(async move {
            store
                .register(
                    &draft,
                    &program,
                    &Actor::System,
                    OffsetDateTime::now_utc(),
                    None,
                )
                .await
        }));
    }
    let mut created = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(_) => created += 1,
            Err(StoreError::Domain(_)) => {}
            Err(e) => panic!("unexpected store error: {e}"),
        }
    }
    created
}

async fn assert_one_conflict_holding_all(store: &Store, db: Db, expected: usize) {
    let all = store
        .registrations(&RegistrationFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(all.len(), expected, "{db:?}");
    let accounts: std::collections::BTreeSet<_> = all.iter().map(|r| r.account_id).collect();
    assert_eq!(
        accounts.len(),
        1,
        "{db:?}: every claim linked to one account: {accounts:?}"
    );
    let conflicts = store.conflicts(None, 0, 10).await.expect("conflicts");
    assert_eq!(
        conflicts.len(),
        1,
        "{db:?}: exactly one conflict: {conflicts:?}"
    );
    assert_eq!(
        conflicts[0].registrations.len(),
        expected,
        "{db:?}: every claimant is in it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_claims_by_different_partners_share_one_account_and_one_conflict() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let ids = partners(&store, 8).await;
        let created = race(
            std::slice::from_ref(&store),
            &ids,
            "Acme Corp",
            &[Some("acme.com"), None],
        )
        .await;
        assert_eq!(created, 8, "{db:?}");
        assert_one_conflict_holding_all(&store, db, 8).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_claims_by_one_partner_create_exactly_one() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let ids = partners(&store, 1).await;
        let created = race(
            std::slice::from_ref(&store),
            &[ids[0]; 8],
            "Globex",
            &[Some("globex.com")],
        )
        .await;
        assert_eq!(created, 1, "{db:?}: the others got 409");
    }
}

/// Several `trellis serve` processes on one PostgreSQL: separate stores
/// (separate pools) race on the same account.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_stores_on_one_postgres_database_stay_consistent() {
    if !backends().contains(&Db::Postgres) {
        return;
    }
    let fresh = FreshDb::new(Db::Postgres).await;
    let mut stores = Vec::new();
    for _ in 0..3 {
        stores.push(Store::connect(&fresh.url).await.expect("store"));
    }
    let ids = partners(&stores[0], 9).await;
    for round in 0..5 {
        let company = format!("Initech {round}");
        let domain = format!("initech{round}.com");
        let created = race(&stores, &ids, &company, &[Some(domain.as_str()), None]).await;
        assert_eq!(created, 9, "round {round}");
    }
    let conflicts = stores[0].conflicts(None, 0, 50).await.expect("conflicts");
    assert_eq!(
        conflicts.len(),
        5,
        "one conflict per account: {conflicts:?}"
    );
    assert!(
        conflicts.iter().all(|c| c.registrations.len() == 9),
        "{conflicts:?}"
    );
}

#[tokio::test]
async fn migrations_are_idempotent_and_data_survives_reconnecting() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let ids = partners(&store, 1).await;
        let program = Program::default();
        let done = store
            .register(
                &draft(ids[0], "Hooli", Some("hooli.com")),
                &program,
                &Actor::System,
                start_time(),
                None,
            )
            .await
            .expect("register");
        store.close().await;
        let again = Store::connect(&fresh.url)
            .await
            .expect("reconnect and migrate again");
        let read = again
            .registration(done.registration.id, None)
            .await
            .expect("read");
        assert_eq!(read, done.registration, "{db:?}");
    }
}

#[tokio::test]
async fn an_in_memory_sqlite_store_keeps_its_data_for_its_lifetime() {
    let store = Store::connect("sqlite::memory:")
        .await
        .expect("memory store");
    let ids = partners(&store, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(store.partners(0, 10).await.expect("list").len(), ids.len());
}
