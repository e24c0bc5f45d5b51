//! The store's contract, on every backend: concurrent writers, several
//! stores (processes) on one database, and durability of what committed.

use std::sync::Arc;
use time::OffsetDateTime;
use trellis_domain::dedupe::CompanyName;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_store::{NearName, NewAccount, NewPartner, RegistrationFilter, Store, StoreError};
use trellis_testkit::{backends, draft, start_time, stores_on_one_postgres, Db, FreshDb};

async fn partners(store: &Store, n: usize) -> Vec<PartnerId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let new = NewPartner::plain(format!("Partner {i}"), PartnerKind::Reseller, "registered");
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
    let Some((_fresh, stores)) = stores_on_one_postgres(3).await else {
        return;
    };
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
        let program = Arc::new(Program::default());
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

async fn partner_with_domain(store: &Store, name: &str, domain: &str) -> PartnerId {
    let new = NewPartner {
        name: name.into(),
        kind: PartnerKind::Referral,
        tier: "registered".into(),
        email_domains: vec![domain.into()],
        regions: vec![],
        segments: vec![],
    };
    store
        .create_partner(&new, &Actor::System, start_time())
        .await
        .expect("partner")
        .id
}

#[tokio::test]
async fn senders_are_found_by_user_email_or_partner_domain_and_domains_belong_to_one_partner() {
    use trellis_domain::dedupe::Email;
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let northwind = partner_with_domain(&store, "Northwind", "northwind.com").await;
        let email = |s: &str| Email::parse(s).expect("email");
        let user = store
            .add_partner_user(
                northwind,
                "Nora",
                &email("nora@gmail.com"),
                &Actor::System,
                start_time(),
            )
            .await
            .expect("user");

        let by_user = store
            .sender(&email("nora@gmail.com"))
            .await
            .expect("lookup")
            .expect("known");
        assert_eq!(
            (by_user.partner.id, by_user.user.map(|u| u.id)),
            (northwind, Some(user.id)),
            "{db:?}"
        );
        let by_domain = store
            .sender(&email("sam@eu.northwind.com"))
            .await
            .expect("lookup")
            .expect("known");
        assert_eq!(
            (by_domain.partner.id, by_domain.user.map(|u| u.id)),
            (northwind, None),
            "{db:?}"
        );
        assert!(
            store
                .sender(&email("eve@gmail.com"))
                .await
                .expect("lookup")
                .is_none(),
            "{db:?}"
        );

        let new = NewPartner {
            name: "Copycat".into(),
            kind: PartnerKind::Isv,
            tier: "registered".into(),
            email_domains: vec!["northwind.com".into()],
            regions: vec![],
            segments: vec![],
        };
        let taken = store
            .create_partner(&new, &Actor::System, start_time())
            .await;
        assert!(
            matches!(taken, Err(StoreError::Domain(_))),
            "{db:?}: {taken:?}"
        );
        assert_eq!(
            store.partners(0, 10).await.expect("list").len(),
            1,
            "{db:?}: nothing half-created"
        );
    }
}

#[tokio::test]
async fn status_links_expire_and_slack_codes_are_single_use() {
    use time::Duration;
    use trellis_domain::dedupe::Email;
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let partner = partner_with_domain(&store, "Northwind", "northwind.com").await;
        let done = store
            .register(
                &draft(partner, "Acme", Some("acme.com")),
                &Arc::new(Program::default()),
                &Actor::System,
                start_time(),
                None,
            )
            .await
            .expect("register");
        let (now, later) = (start_time(), start_time() + Duration::days(30));
        store
            .create_status_link(
                "s3cret",
                done.registration.id,
                "nora@northwind.com",
                now,
                later,
            )
            .await
            .expect("link");
        let opened = store
            .status_link("s3cret", now + Duration::days(29))
            .await
            .expect("open");
        assert_eq!(
            opened,
            Some((done.registration.id, "nora@northwind.com".into())),
            "{db:?}"
        );
        assert_eq!(
            store.status_link("s3cret", later).await.expect("open"),
            None,
            "{db:?}: expired"
        );
        assert_eq!(
            store.status_link("guess", now).await.expect("open"),
            None,
            "{db:?}"
        );

        let email = Email::parse("nora@northwind.com").expect("email");
        let user = store
            .add_partner_user(partner, "Nora", &email, &Actor::System, now)
            .await
            .expect("user");
        store
            .create_slack_code("123456", user.id, now + Duration::minutes(15))
            .await
            .expect("code");
        let linked = store
            .redeem_slack_code("123456", "T1", "U1", now)
            .await
            .expect("redeem");
        assert_eq!(linked.id, user.id, "{db:?}");
        assert!(
            store
                .redeem_slack_code("123456", "T1", "U2", now)
                .await
                .is_err(),
            "{db:?}: single use"
        );
        assert_eq!(
            store
                .slack_user("T1", "U1")
                .await
                .expect("lookup")
                .map(|u| u.id),
            Some(user.id),
            "{db:?}"
        );
        store
            .create_slack_code("654321", user.id, now + Duration::minutes(15))
            .await
            .expect("code");
        assert!(
            store
                .redeem_slack_code("654321", "T1", "U3", now + Duration::minutes(16))
                .await
                .is_err(),
            "{db:?}: expired"
        );
    }
}

#[tokio::test]
async fn a_batch_keeps_its_good_rows_when_one_is_refused() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let ids = partners(&store, 1).await;
        let drafts = [
            draft(ids[0], "Acme", Some("acme.com")),
            draft(ids[0], "Acme Inc", Some("acme.com")),
            draft(ids[0], "Globex", Some("globex.com")),
        ];
        let program = Program::default();
        let prepared = store
            .prepare_many(drafts.to_vec(), &program)
            .await
            .expect("near names");
        let results = store
            .register_many(prepared, &program, &Actor::System, start_time())
            .await
            .expect("batch");
        let kept: Vec<bool> = results.iter().map(Result::is_ok).collect();
        assert_eq!(kept, [true, false, true], "{db:?}");
        let all = store
            .registrations(&RegistrationFilter {
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list");
        assert_eq!(all.len(), 2, "{db:?}");
        let events = store.events_of_kind("submitted").await.expect("events");
        assert_eq!(events.len(), 2, "{db:?}: the refused row left no event");
    }
}

/// What became of one draft, in terms two databases can compare: the
/// account it linked to (by name), how it matched, whether it joined a
/// conflict and with how many claims, and its case's history by kind; or
/// the refusal.
async fn outcome(
    store: &Store,
    result: Result<trellis_store::Registered, StoreError>,
) -> Result<(String, Option<&'static str>, Option<usize>, Vec<String>), String> {
    let registered = result.map_err(|e| e.to_string())?;
    let conflict = registered.conflict.map(|c| c.registrations.len());
    let history = store
        .registration_events(registered.registration.id)
        .await
        .expect("history");
    let kinds = history.into_iter().map(|e| e.kind).collect();
    Ok((
        registered.account.name,
        registered.matched_on,
        conflict,
        kinds,
    ))
}

/// A program with accounts on file and another partner's claim on one.
async fn claimed_program(store: &Store) -> Vec<PartnerId> {
    let ids = partners(store, 3).await;
    let on_file =
        [("Initech", "initech.com"), ("Umbrella", "umbrella.com")].map(|(name, domain)| {
            trellis_store::NewAccount {
                name: trellis_domain::dedupe::CompanyName::parse(name).expect("name"),
                domain: Some(trellis_domain::dedupe::WebDomain::parse(domain).expect("domain")),
                source: "import".into(),
            }
        });
    store
        .import_accounts(&on_file, start_time())
        .await
        .expect("accounts");
    let claim = draft(ids[1], "Initech", Some("initech.com"));
    let program = Arc::new(Program::default());
    store
        .register(&claim, &program, &Actor::System, start_time(), None)
        .await
        .expect("the standing claim");
    ids
}

#[tokio::test]
async fn a_batch_decides_every_draft_as_registering_them_one_by_one_does() {
    for db in backends() {
        let (one_by_one, batched) = (FreshDb::new(db).await, FreshDb::new(db).await);
        let (single, batch) = (
            Store::connect(&one_by_one.url).await.expect("store"),
            Store::connect(&batched.url).await.expect("store"),
        );
        let ids = claimed_program(&single).await;
        assert_eq!(claimed_program(&batch).await, ids, "{db:?}");
        let drafts = vec![
            draft(ids[0], "Globex", Some("globex.com")),
            draft(ids[0], "Initech Inc", Some("initech.com")),
            draft(ids[0], "Umbrella Corp", None),
            draft(ids[0], "Hooli", Some("hooli.com")),
            draft(ids[2], "Hooli Inc", Some("hooli.com")),
            draft(ids[2], "Vandelay Industries", Some("vandelay.com")),
            draft(ids[1], "Initech LLC", Some("initech.com")),
            draft(ids[2], "Globex Corporation", None),
        ];
        let program = Arc::new(Program::default());
        let mut one_at_a_time = Vec::new();
        for d in &drafts {
            let result = single
                .register(d, &program, &Actor::System, start_time(), None)
                .await;
            one_at_a_time.push(result);
        }
        // Histories are read once every draft is in, on both sides.
        let mut expected = Vec::new();
        for result in one_at_a_time {
            expected.push(outcome(&single, result).await);
        }
        let prepared = batch
            .prepare_many(drafts.clone(), &program)
            .await
            .expect("near names");
        let results = batch
            .register_many(prepared, &program, &Actor::System, start_time())
            .await
            .expect("batch");
        let mut got = Vec::new();
        for result in results {
            got.push(outcome(&batch, result).await);
        }
        for (n, (got, expected)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                got,
                expected,
                "{db:?}: draft {n} ({})",
                drafts[n].company_name.as_str()
            );
        }
        assert_eq!(got.len(), drafts.len(), "{db:?}");
        let refused = got.iter().filter(|o| o.is_err()).count();
        let in_conflict = got.iter().flatten().filter(|o| o.2.is_some()).count();
        assert_eq!((refused, in_conflict), (1, 3), "{db:?}: {got:#?}");
    }
}

#[tokio::test]
async fn one_request_key_registers_once_however_many_race_with_it() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let partner = partners(&store, 1).await[0];
        let program = Arc::new(Program::default());
        let key = trellis_store::RequestKey::new("partner:1".into(), "retry-1".into(), b"{}");
        let tasks: Vec<_> = [
            "Northwind",
            "Contoso",
            "Fabrikam",
            "Tailspin",
            "Wingtip",
            "Litware",
        ]
        .into_iter()
        .map(|company| {
            let (store, program, key) = (store.clone(), program.clone(), key.clone());
            let draft = draft(partner, company, None);
            tokio::spawn(async move {
                let now = OffsetDateTime::now_utc();
                store
                    .register(&draft, &program, &Actor::System, now, Some(&key))
                    .await
            })
        })
        .collect();
        let mut created = 0;
        for task in tasks {
            match task.await.expect("task") {
                Ok(_) => created += 1,
                Err(StoreError::Domain(e)) => {
                    assert!(e.to_string().contains("Idempotency-Key"), "{db:?}: {e}")
                }
                Err(e) => panic!("{db:?}: unexpected store error: {e}"),
            }
        }
        assert_eq!(created, 1, "{db:?}");
        let submitted = store.events_of_kind("submitted").await.expect("events");
        assert_eq!(submitted.len(), 1, "{db:?}: the refused ones left nothing");
    }
}

/// A deal with every optional field given, as a registration's answer must
/// describe it exactly as a later read does.
fn full_deal(
    partner: PartnerId,
    company: &str,
    domain: &str,
) -> trellis_domain::registration::Draft {
    use trellis_domain::registration::{DealDetails, Market, RegistrationKind};
    use trellis_domain::values::{Currency, Money, Text};
    let text = |value: &str| Text::parse("field", value).expect("text");
    let mut draft = draft(partner, company, Some(domain));
    draft.kind = RegistrationKind::Deal;
    draft.use_case = Some(text("Consolidating <b>regional</b> tools"));
    draft.market = Market {
        segment: Some("enterprise".into()),
        region: Some("emea".into()),
        product: Some("platform".into()),
    };
    draft.deal = Some(DealDetails {
        stage: text("proposal"),
        amount: Money::parse("12500.50", Currency::parse("EUR").expect("currency"))
            .expect("amount"),
        expected_close: time::macros::date!(2026 - 03 - 31),
        next_step: Some(text("Security review")),
    });
    draft
}

#[tokio::test]
async fn a_registration_answers_with_the_record_as_stored() {
    // Nanoseconds the database does not keep: the answer must not keep them either.
    let at = start_time() + time::Duration::nanoseconds(123_456_789);
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let ids = partners(&store, 1).await;
        let program = Arc::new(Program::default());
        let single = store
            .register(
                &full_deal(ids[0], "Initech", "initech.com"),
                &program,
                &Actor::System,
                at,
                None,
            )
            .await
            .expect("register");
        let drafts = vec![
            full_deal(ids[0], "Hooli", "hooli.com"),
            full_deal(ids[0], "Globex", "globex.com"),
        ];
        let prepared = store
            .prepare_many(drafts, &program)
            .await
            .expect("near names");
        let batch = store
            .register_many(prepared, &program, &Actor::System, at)
            .await
            .expect("batch");
        let answers = std::iter::once(single.registration).chain(
            batch
                .into_iter()
                .map(|r| r.expect("registered").registration),
        );
        for answer in answers {
            let stored = store.registration(answer.id, None).await.expect("read");
            assert_eq!(answer, stored, "{db:?}");
        }
    }
}

/// Company names close to one another: every stem in several spellings.
fn near_names(stems: &[&str], spellings: usize) -> Vec<String> {
    let endings = ["", "s", "z", " group", " labs", "ix", " systems", " one"];
    stems
        .iter()
        .flat_map(|stem| {
            endings
                .iter()
                .take(spellings)
                .map(move |e| format!("{stem}{e}"))
        })
        .collect()
}

#[tokio::test]
async fn near_names_found_for_many_drafts_at_once_equal_those_found_one_at_a_time() {
    let stems = [
        "acme widget",
        "akme widget",
        "globex",
        "globx",
        "initech",
        "inetech",
        "umbrella",
        "umbrela",
        "hooli",
        "hooly",
        "vandelay",
        "vandalay",
        "stark industries",
        "wayne tech",
        "wonka",
        "wonkа",
        "soylent",
        "cyberdyne",
        "tyrell",
        "nakatomi",
    ];
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let store = Store::connect(&fresh.url).await.expect("store");
        let on_file: Vec<NewAccount> = near_names(&stems, 8)
            .iter()
            .map(|name| NewAccount {
                name: CompanyName::parse(name).expect("name"),
                domain: None,
                source: "test".into(),
            })
            .collect();
        store
            .load_accounts_bulk(&on_file, start_time())
            .await
            .expect("accounts");
        let partner = partners(&store, 1).await[0];
        // Drafts near the names on file but never equal to one, so no exact
        // match leaves an account out of the one-at-a-time answer; enough of
        // them (a tenth of the accounts) that the whole indexes are read.
        let drafts: Vec<_> = near_names(&stems, 8)
            .iter()
            .step_by(4)
            .map(|name| draft(partner, &format!("{name}x"), None))
            .collect();
        let program = Program::default();
        let threshold = program.dedupe.fuzzy_threshold;
        let prepared = store
            .prepare_many(drafts.clone(), &program)
            .await
            .expect("near names");
        let mut found_some = 0;
        for (d, together) in drafts.iter().zip(prepared.near_names()) {
            let alone = store
                .match_account(&d.company_name, None, threshold)
                .await
                .expect("match");
            assert!(
                alone.linked.is_none(),
                "{db:?}: {} is on file",
                d.company_name.as_str()
            );
            let alone: Vec<NearName> = alone
                .candidates
                .iter()
                .map(|c| NearName {
                    account_id: c.account_id,
                    score: c.score,
                })
                .collect();
            assert_eq!(together, &alone, "{db:?}: {}", d.company_name.as_str());
            found_some += usize::from(together.len() > 1);
        }
        assert!(
            found_some > drafts.len() / 2,
            "{db:?}: too few near names to compare"
        );
    }
}
