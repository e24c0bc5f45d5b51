//! The metrics page's figures kept per day, on every backend: after each
//! real change made through the store (and each move of the clock), the
//! figures a process kept and brought up to date must equal the figures
//! counted afresh by a process that kept nothing.

use sqlx::Connection as _;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use trellis_domain::event::Actor;
use trellis_domain::ids::{ConflictId, PartnerId, RegistrationId};
use trellis_domain::lifecycle::Command;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_domain::registration::{Market, Status};
use trellis_domain::values::{Currency, Money, Text};
use trellis_store::{
    Asked, MetricDays, NewPartner, RegistrationFilter, RegistrationRecord, Span, Store, StoreError,
};
use trellis_testkit::{backends, draft, start_time, Db, FreshDb};

/// Days of history built before the changes.
const HISTORY: i64 = 150;

/// A store with a program and four partners, at a moment of its own.
struct World {
    db: Db,
    store: Store,
    program: Arc<Program>,
    partners: Vec<PartnerId>,
    now: OffsetDateTime,
}

/// A rule refusing a step is part of the story (a claim lost to a
/// conflict, say); anything else fails the test.
fn allowed<T>(result: Result<T, StoreError>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(StoreError::Domain(_)) => None,
        Err(e) => panic!("store error: {e}"),
    }
}

fn text(value: &str) -> Text {
    Text::parse("reason", value).expect("text")
}

impl World {
    async fn new(db: Db, fresh: &FreshDb) -> World {
        let store = Store::connect(&fresh.url).await.expect("store");
        let now = start_time() - Duration::days(HISTORY);
        let mut partners = Vec::new();
        for name in ["Northwind", "Gamma", "Delta", "Omega"] {
            let new = NewPartner::plain(name, PartnerKind::Reseller, "registered");
            let partner = store.create_partner(&new, &Actor::System, now).await;
            partners.push(partner.expect("partner").id);
        }
        World {
            db,
            store,
            program: Arc::new(Program::default()),
            partners,
            now,
        }
    }

    async fn register(&self, partner: usize, n: i64) -> Option<RegistrationRecord> {
        let domain = format!("company{n}.com");
        let mut lead = draft(
            self.partners[partner],
            &format!("Company {n}"),
            Some(&domain),
        );
        let pick = |labels: &[&str]| {
            let label = labels[n as usize % labels.len()];
            (!label.is_empty()).then(|| label.to_owned())
        };
        lead.market = Market {
            segment: pick(&["enterprise", "smb", ""]),
            region: pick(&["emea", "amer", "apac", "emea", ""]),
            product: pick(&["core", "addon"]),
        };
        let registered = self
            .store
            .register(&lead, &self.program, &Actor::System, self.now, None)
            .await;
        allowed(registered).map(|r| r.registration)
    }

    async fn apply(&self, id: RegistrationId, command: Command) -> Option<RegistrationRecord> {
        let (program, actor) = (&self.program, &Actor::System);
        allowed(
            self.store
                .apply(id, command, None, program, actor, self.now)
                .await,
        )
    }

    async fn with_status(&self, status: Status) -> Vec<RegistrationRecord> {
        let filter = RegistrationFilter {
            status: Some(status),
            limit: 500,
            ..Default::default()
        };
        self.store.registrations(&filter).await.expect("list")
    }

    /// The periods the page offers, and one reaching past the history.
    fn asked(&self) -> Vec<Asked> {
        let today = self.now.date();
        let quarter = today.replace_day(1).expect("first") - Duration::days(40);
        [29, 89, 364, 1000]
            .into_iter()
            .map(|days| today - Duration::days(days))
            .chain([quarter])
            .map(|first| Asked {
                span: Span { first, last: today },
                now: self.now,
                meeting_sla: Duration::days(self.program.registration.meeting_sla_days.into()),
                top: 3,
            })
            .collect()
    }

    /// The kept figures are exactly the figures counted afresh.
    async fn check(&self, kept: &MetricDays, after: &str) {
        for asked in self.asked() {
            let kept = kept.figures(&self.store, &asked).await.expect("kept");
            let fresh = MetricDays::default().figures(&self.store, &asked).await;
            let span = asked.span;
            assert_eq!(
                kept,
                fresh.expect("fresh"),
                "{:?} after {after}: {span:?}",
                self.db
            );
        }
    }
}

/// One registration a day, a second partner's claim on an older account
/// every tenth day, and each registration decided, met, closed or left as
/// its number says, all in order of time.
async fn build_history(world: &mut World) -> Vec<ConflictId> {
    let mut days: Vec<Option<RegistrationRecord>> = Vec::new();
    let mut conflicts = Vec::new();
    let start = world.now;
    for day in 0..HISTORY {
        world.now = start + Duration::days(day) + Duration::hours(9);
        days.push(world.register(day as usize % 4, day).await);
        if day % 10 == 5 {
            let claim = world.register((day as usize + 1) % 4, day - 5).await;
            conflicts.extend(claim.and_then(|c| c.conflict_id));
        }
        world.now += Duration::hours(1 + day % 5);
        if let Some(submitted) = on(&days, day - 2) {
            world.apply(submitted, decision(day - 2)).await;
        }
        world.now = start + Duration::days(day) + Duration::hours(15);
        if let Some(approved) = on(&days, day - 6).filter(|_| day % 3 != 0) {
            let held_at = world.now;
            world.apply(approved, Command::LogMeeting { held_at }).await;
        }
        world.now += Duration::hours(1);
        if let Some(running) = on(&days, day - 30) {
            world.apply(running, close(day)).await;
        }
        world.now += Duration::hours(1);
        world
            .store
            .expire_due(&world.program, world.now)
            .await
            .expect("sweep");
    }
    conflicts
}

/// The registration of a day of the history, if that day had one.
fn on(days: &[Option<RegistrationRecord>], day: i64) -> Option<RegistrationId> {
    let registered = days.get(usize::try_from(day).ok()?)?;
    registered.as_ref().map(|r| r.id)
}

/// Most registrations are approved; some declined, asked about, or left.
fn decision(n: i64) -> Command {
    match n % 7 {
        0..=3 => Command::Approve { hold_days: None },
        4 => Command::Decline {
            reason: text("Out of territory"),
        },
        5 => Command::RequestInfo {
            question: text("Which team?"),
        },
        _ => Command::Approve {
            hold_days: Some(30),
        },
    }
}

/// Won in euros or dollars, won without an amount, or lost.
fn close(n: i64) -> Command {
    let money = |code| Money {
        minor: 100_000 + n * 1_000,
        currency: Currency::parse(code).expect("currency"),
    };
    match n % 4 {
        0 => Command::Win {
            amount: Some(money("EUR")),
        },
        1 => Command::Win {
            amount: Some(money("USD")),
        },
        2 => Command::Win { amount: None },
        _ => Command::Lose {
            reason: Some(text("Budget cut")),
        },
    }
}

/// Staff settle the latest open conflict that still has an active claim.
async fn resolve_by_hand(world: &World, conflicts: &[ConflictId]) -> bool {
    for &conflict in conflicts.iter().rev() {
        let record = world.store.conflict(conflict).await.expect("conflict");
        for &claim in record
            .registrations
            .iter()
            .filter(|_| record.status == "open")
        {
            let member = world.store.registration(claim, None).await.expect("claim");
            if member.life.status.is_active() {
                let (program, actor, reason) = (&world.program, &Actor::System, text("Met first"));
                let settled = world
                    .store
                    .resolve_conflict(conflict, claim, &reason, program, actor, world.now)
                    .await;
                return allowed(settled).is_some();
            }
        }
    }
    false
}

/// Decisions, an answer, a meeting and closes on registrations of every
/// age, each checked.
async fn decide_and_close(world: &mut World, kept: &MetricDays) {
    let pending = world.with_status(Status::Submitted).await;
    let (oldest, newest) = (pending[0].id, pending[pending.len() - 1].id);
    world
        .apply(oldest, Command::Approve { hold_days: None })
        .await;
    world.check(kept, "an old registration approved").await;
    world.now += Duration::hours(1);
    let reason = text("Not a fit");
    world.apply(newest, Command::Decline { reason }).await;
    world.check(kept, "a registration declined").await;

    let asked = world.with_status(Status::MoreInfo).await;
    let message = text("The platform team");
    world
        .apply(asked[0].id, Command::ProvideInfo { message })
        .await;
    world.check(kept, "a question answered").await;

    let approved = world.with_status(Status::Approved).await;
    let unmet = approved
        .iter()
        .rev()
        .find(|r| r.life.first_meeting_at.is_none());
    let unmet = unmet.expect("an approval with no meeting").id;
    let held_at = world.now;
    world.apply(unmet, Command::LogMeeting { held_at }).await;
    world.check(kept, "a first meeting").await;
    world.apply(approved[0].id, close(0)).await;
    world.check(kept, "a win").await;
    world.apply(approved[1].id, close(3)).await;
    world.check(kept, "a loss").await;
}

#[tokio::test]
async fn figures_kept_per_day_equal_figures_counted_afresh_after_every_change() {
    for db in backends() {
        let fresh = FreshDb::new(db).await;
        let mut world = World::new(db, &fresh).await;
        let kept = MetricDays::default();
        // Kept from the very start: every day of the history is a change.
        world.check(&kept, "nothing").await;
        let conflicts = build_history(&mut world).await;
        world.now += Duration::hours(3);
        world.check(&kept, "the history").await;
        let year = &world.asked()[2];
        let figures = kept.figures(&world.store, year).await.expect("figures");
        assert!(
            figures.meetings.iter().any(|d| d.waiting > 0),
            "{figures:?}"
        );
        assert!(
            figures.conflicts.iter().any(|d| d.by_rule > 0),
            "{figures:?}"
        );
        assert_eq!(figures.won_volume.len(), 3, "{figures:?}");
        assert!(!figures.holds_by_region.is_empty(), "{figures:?}");
        assert_eq!(figures.approvals_by_partner.len(), 3, "{figures:?}");

        decide_and_close(&mut world, &kept).await;
        world.now += Duration::hours(2);
        assert!(
            resolve_by_hand(&world, &conflicts).await,
            "{db:?}: none to resolve"
        );
        world.check(&kept, "a conflict resolved by staff").await;
        for old in [3, 40, 41] {
            world.register(2, old).await;
            world.check(&kept, "a registration on an old account").await;
        }
        for (moved, hours) in [("an hour", 1), ("past midnight", 20), ("three days", 72)] {
            world.now += Duration::hours(hours);
            world
                .check(&kept, &format!("the clock moved {moved}"))
                .await;
        }
        let sweep = world.store.expire_due(&world.program, world.now).await;
        assert!(sweep.expect("sweep") > 0, "{db:?}: something expired");
        world.check(&kept, "the expiry sweep").await;
    }
}

/// PostgreSQL numbers events as they are inserted, not as they commit: a
/// slow writer's change, committed after a later one was already read,
/// must still be found.
#[tokio::test]
async fn a_change_committed_after_a_later_one_is_still_read() {
    if !backends().contains(&Db::Postgres) {
        return;
    }
    let fresh = FreshDb::new(Db::Postgres).await;
    let mut world = World::new(Db::Postgres, &fresh).await;
    let kept = MetricDays::default();
    let first = world.register(0, 1).await.expect("first");
    world.now += Duration::days(2);
    let second = world.register(1, 2).await.expect("second");
    world.check(&kept, "two registrations").await;

    let mut slow = sqlx::PgConnection::connect(&fresh.url)
        .await
        .expect("connect");
    let mut slow = slow.begin().await.expect("begin");
    let at = world.now.unix_timestamp() * 1_000_000;
    sqlx::query(
        "UPDATE registrations SET status = 'declined', first_response_at = $2 WHERE id = $1",
    )
    .bind(first.id.0)
    .bind(at)
    .execute(&mut *slow)
    .await
    .expect("decline");
    sqlx::query(
        "INSERT INTO events (at, actor, kind, registration_id, why, data) \
         VALUES ($1, 'system', 'declined', $2, 'declined by a slow writer', '{}')",
    )
    .bind(at)
    .bind(first.id.0)
    .execute(&mut *slow)
    .await
    .expect("event");
    world
        .apply(second.id, Command::Approve { hold_days: None })
        .await;
    world.check(&kept, "a later change committed first").await;
    slow.commit().await.expect("commit");
    world
        .check(&kept, "the earlier change committed last")
        .await;
}
