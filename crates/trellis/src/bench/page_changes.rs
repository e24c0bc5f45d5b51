//! The real changes `bench pages` makes through the store before each
//! answer timed "after a change": a pending registration approved or
//! declined, a running one won or lost, picked at random across the loaded
//! years, in turn; once those run out (the demo has few), a new lead. So the
//! time measured includes finding the days a change touched and counting
//! them again.

use anyhow::Context;
use sqlx::SqlitePool;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use trellis_domain::dedupe::{CompanyName, Email, WebDomain};
use trellis_domain::event::Actor;
use trellis_domain::ids::{PartnerId, RegistrationId};
use trellis_domain::lifecycle::Command;
use trellis_domain::program::Program;
use trellis_domain::registration::{Channel, Draft, Market, RegistrationKind};
use trellis_domain::values::{Currency, Money, Text};
use trellis_store::Store;

pub struct Changes {
    store: Store,
    program: Arc<Program>,
    partner: PartnerId,
    picked: Mutex<VecDeque<(RegistrationId, Command)>>,
    /// Leads registered so far, each on a company of its own.
    registered: AtomicU64,
}

/// Pending registrations to decide, and approved ones to close whose
/// deadlines hold until `?1` (an hour on, past the bench's end), outside any
/// conflict so that no policy refuses the change; `?2` of each at most.
const PENDING: &str = "SELECT id FROM registrations WHERE status = 'submitted' \
     AND conflict_id IS NULL ORDER BY random() LIMIT ?2";
const RUNNING: &str = "SELECT id FROM registrations WHERE status = 'approved' \
     AND conflict_id IS NULL AND hold_until > ?1 \
     AND (first_meeting_at IS NOT NULL OR meeting_due > ?1) ORDER BY random() LIMIT ?2";

impl Changes {
    /// Picks up to `count` registrations to change from `pool`'s data; the
    /// leads registered later are `partner`'s.
    pub async fn pick(
        pool: &SqlitePool,
        store: &Store,
        program: &Program,
        partner: PartnerId,
        count: usize,
    ) -> anyhow::Result<Changes> {
        let later = OffsetDateTime::now_utc().unix_timestamp() * 1_000_000 + 3_600_000_000;
        let ids = |sql| async move {
            let ids: Vec<(i64,)> = sqlx::query_as(sql)
                .bind(later)
                .bind(count.div_ceil(2) as i64)
                .fetch_all(pool)
                .await?;
            anyhow::Ok(ids.into_iter().map(|(id,)| RegistrationId(id)))
        };
        let reason = Text::parse("reason", "Out of territory")?;
        let amount = Money {
            minor: 1_250_000,
            currency: Currency::parse("EUR")?,
        };
        let mut decided = ids(PENDING).await?.enumerate().map(|(i, id)| match i % 2 {
            0 => (id, Command::Approve { hold_days: None }),
            _ => (
                id,
                Command::Decline {
                    reason: reason.clone(),
                },
            ),
        });
        let mut closed = ids(RUNNING).await?.enumerate().map(|(i, id)| match i % 2 {
            0 => (
                id,
                Command::Win {
                    amount: Some(amount),
                },
            ),
            _ => (id, Command::Lose { reason: None }),
        });
        // A decision and a close in turn while both last.
        let mut picked = VecDeque::new();
        loop {
            let (decide, close) = (decided.next(), closed.next());
            if decide.is_none() && close.is_none() {
                break;
            }
            picked.extend(decide.into_iter().chain(close));
        }
        Ok(Changes {
            store: store.clone(),
            program: Arc::new(program.clone()),
            partner,
            picked: Mutex::new(picked),
            registered: AtomicU64::new(0),
        })
    }

    /// Makes the next change.
    pub async fn make(&self) -> anyhow::Result<()> {
        let now = OffsetDateTime::now_utc();
        let next = self
            .picked
            .lock()
            .ok()
            .and_then(|mut picked| picked.pop_front());
        let Some((id, command)) = next else {
            return self.register(now).await;
        };
        self.store
            .apply(id, command, None, &self.program, &Actor::System, now)
            .await
            .with_context(|| format!("changing registration {}", id.0))?;
        Ok(())
    }

    async fn register(&self, now: OffsetDateTime) -> anyhow::Result<()> {
        let n = self.registered.fetch_add(1, Ordering::Relaxed);
        let draft = Draft {
            partner_id: self.partner,
            kind: RegistrationKind::Lead,
            channel: Channel::Api,
            company_name: CompanyName::parse(&format!("Bench Change {n} Holdings"))?,
            domain: Some(WebDomain::parse(&format!("bench-change-{n}.com"))?),
            contact_name: Text::parse("contact_name", "Pat Change")?,
            contact_email: Email::parse(&format!("pat@bench-change-{n}.com"))?,
            use_case: None,
            market: Market::default(),
            deal: None,
        };
        let actor = Actor::System;
        self.store
            .register(&draft, &self.program, &actor, now, None)
            .await
            .context("registering a lead")?;
        Ok(())
    }
}
