//! The append-only event log: written in the same transaction as the change
//! it explains, read back as a registration's or conflict's history.

use crate::db::{Store, Tx};
use crate::error::Result;
use crate::rows::{micros, Marks, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::event::{Actor, NewEvent};
use trellis_domain::ids::{PartnerId, RegistrationId};

/// An event as stored.
#[derive(Debug, Clone, Serialize)]
pub struct EventRecord {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub kind: String,
    pub registration_id: Option<i64>,
    pub partner_id: Option<i64>,
    pub account_id: Option<i64>,
    pub conflict_id: Option<i64>,
    pub why: String,
    pub data: serde_json::Value,
}

/// Values bound per event row.
const EVENT_VALUES: usize = 9;

/// An event with who made it and when: a batch of registrations carries
/// several actors and moments.
pub(crate) struct Stamped<'a> {
    pub actor: &'a Actor,
    pub at: OffsetDateTime,
    pub event: &'a NewEvent,
}

/// Appends `events` inside `tx`, stamped with `actor` and `now`.
pub(crate) async fn append(
    tx: &mut Tx,
    actor: &Actor,
    now: OffsetDateTime,
    events: &[NewEvent],
) -> Result<()> {
    let stamped: Vec<Stamped> = events
        .iter()
        .map(|event| Stamped {
            actor,
            at: now,
            event,
        })
        .collect();
    append_stamped(tx, &stamped).await
}

/// Appends stamped events inside `tx` in as few statements as binding
/// allows: each statement is a round trip to the database thread.
pub(crate) async fn append_stamped(tx: &mut Tx, events: &[Stamped<'_>]) -> Result<()> {
    let marks = Marks::of(tx);
    for chunk in events.chunks(marks.rows_per_statement(EVENT_VALUES)) {
        let sql = format!(
            "INSERT INTO events (at, actor, kind, registration_id, partner_id, account_id, conflict_id, why, data) VALUES {}",
            marks.rows(chunk.len(), EVENT_VALUES)
        );
        let mut query = sqlx::query(&sql);
        for Stamped { actor, at, event } in chunk {
            let data = serde_json::to_string(&event.change).unwrap_or_else(|_| "{}".into());
            query = query
                .bind(micros(*at))
                .bind(actor.label())
                .bind(event.change.kind())
                .bind(event.registration_id.map(|id| id.0))
                .bind(event.partner_id.map(|id| id.0))
                .bind(event.account_id.map(|id| id.0))
                .bind(event.conflict_id.map(|id| id.0))
                .bind(event.why.clone())
                .bind(data);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<EventRecord> {
    let data = serde_json::from_str(&row.text("data")?).unwrap_or(serde_json::Value::Null);
    Ok(EventRecord {
        id: row.int("id")?,
        at: row.at("at")?,
        actor: row.text("actor")?,
        kind: row.text("kind")?,
        registration_id: row.opt_int("registration_id")?,
        partner_id: row.opt_int("partner_id")?,
        account_id: row.opt_int("account_id")?,
        conflict_id: row.opt_int("conflict_id")?,
        why: row.text("why")?,
        data,
    })
}

impl Store {
    /// A registration's history, oldest first.
    pub async fn registration_events(&self, id: RegistrationId) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query("SELECT * FROM events WHERE registration_id = $1 ORDER BY id")
            .bind(id.0)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// A partner's tier history (upgrades, nudges, reviews, appeals,
    /// exceptions), newest first: events about the partner itself rather
    /// than one of its registrations.
    pub async fn partner_events(&self, partner: PartnerId, limit: i64) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM events WHERE partner_id = $1 AND registration_id IS NULL \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(partner.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// How far the event log has come: its latest id. Every change is
    /// recorded with an event, so figures computed at one version are still
    /// right while it stays the same.
    pub async fn change_version(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS version FROM events")
            .fetch_one(&self.reader)
            .await?;
        row.int("version")
    }

    /// Every event of one kind, oldest first (reports and tests).
    pub async fn events_of_kind(&self, kind: &str) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query("SELECT * FROM events WHERE kind = $1 ORDER BY id")
            .bind(kind)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from_row).collect()
    }
}
