//! The CRM sync queue. A trigger on the event log keeps one `crm_sync` row
//! per registration (see migration 0006); here a dispatching process claims
//! due rows in batches, reads each registration as it is now, and settles
//! what the CRM answered. A claim lapses if its process dies, so a batch in
//! flight is sent again rather than lost; the CRM upserts by the Trellis id,
//! so sending again creates nothing twice.

use crate::claims::Queue;
use crate::db::Store;
use crate::error::Result;
use crate::records::RegistrationRecord;
use crate::retry::retry_delay;
use crate::rows::{micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};
use trellis_domain::ids::RegistrationId;

/// The sync queue, oldest due first.
const QUEUE: Queue = Queue {
    table: "crm_sync",
    key: "registration_id",
    pending: "state = 'pending'",
    order: "next_at",
    returning: "registration_id",
};

/// How long a claim keeps other processes off a batch being sent: a
/// dead process's batch waits this long for another. A call outliving its
/// claim costs at most a repeat, which upserts make harmless.
const CLAIM: Duration = Duration::seconds(30);
/// The first retry's delay; each further one doubles it, up to [`MAX_DELAY`].
const FIRST_RETRY: Duration = Duration::seconds(5);
/// A CRM that is down for an hour is retried every few minutes, not left
/// for a day: events wait and go out soon after it returns.
const MAX_DELAY: Duration = Duration::minutes(5);
/// Refusals of the call itself (credentials, scopes) become a dead letter
/// after this many attempts; outages never do.
const MAX_REFUSALS: i64 = 8;

/// A registration claimed for sending, as it is now.
#[derive(Debug, Clone)]
pub struct SyncItem {
    pub registration: RegistrationRecord,
    pub partner_name: String,
    /// The version this snapshot reflects: what settling marks as sent.
    pub version: i64,
    /// The CRM's id, when an earlier sync learned it.
    pub record_id: Option<String>,
    pub attempts: i64,
}

/// How a registration stands with the CRM, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrmState {
    pub record_id: Option<String>,
    /// `pending`, `synced` or `failed`.
    pub state: String,
    pub error: Option<String>,
}

/// A registration the CRM would not take, or that kept being refused.
#[derive(Debug, Clone, Serialize)]
pub struct CrmDeadLetter {
    /// The latest event on the registration: what a retry names.
    pub event_id: i64,
    pub registration_id: i64,
    pub attempts: i64,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub changed_at: OffsetDateTime,
}

/// Staff's view of the sync: how much waits and how late it runs.
#[derive(Debug, Clone, Serialize)]
pub struct SyncLag {
    pub pending: i64,
    pub failed: i64,
    pub synced: i64,
    /// When the oldest change still waiting happened.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_pending_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_synced_at: Option<OffsetDateTime>,
}

/// What the CRM made of one item of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncResult {
    Synced { record_id: String },
    Rejected { message: String },
}

impl Store {
    /// Claims up to `limit` registrations due for sending and reads them as
    /// they are now. Several processes may call this at once: each row is
    /// claimed by one of them.
    pub async fn claim_crm_batch(&self, now: OffsetDateTime, limit: i64) -> Result<Vec<SyncItem>> {
        let rows = self.claim_due(&QUEUE, now, CLAIM, limit).await?;
        let ids: Vec<i64> = rows
            .iter()
            .map(|row| row.int("registration_id"))
            .collect::<Result<_>>()?;
        self.crm_items(&ids).await
    }

    /// Drops every claim when this is the only process that sends: on
    /// SQLite one process runs the queue, so a claim found at start-up was
    /// left by one that died, and its batch need not wait for it to lapse.
    /// On PostgreSQL other processes may be sending; claims lapse instead.
    pub async fn release_orphaned_crm_claims(&self) -> Result<u64> {
        if self.backend != crate::db::Backend::Sqlite {
            return Ok(0);
        }
        let done =
            sqlx::query("UPDATE crm_sync SET claimed_until = NULL WHERE claimed_until IS NOT NULL")
                .execute(&self.writer)
                .await?;
        Ok(done.rows_affected())
    }

    /// Registrations as the sync sends them, with their partner and sync
    /// row, read in one statement so each snapshot and its version agree.
    /// Claims nothing: the dispatcher claims first; benchmarks and support
    /// read without claiming.
    pub async fn crm_items(&self, ids: &[i64]) -> Result<Vec<SyncItem>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT r.*, p.name AS partner_name, s.version AS sync_version, s.record_id AS sync_record_id, \
             s.attempts AS sync_attempts FROM crm_sync s JOIN registrations r ON r.id = s.registration_id \
             JOIN partners p ON p.id = r.partner_id WHERE s.registration_id IN ({list}) ORDER BY r.id"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        rows.iter().map(item_from_row).collect()
    }

    /// Settles a batch the CRM answered: synced records remember their CRM
    /// id (and stay pending if they changed while in flight); rejected ones
    /// become dead letters with the CRM's words.
    pub async fn settle_crm_batch(
        &self,
        settled: &[(&SyncItem, SyncResult)],
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for (item, result) in settled {
            let query = match result {
                SyncResult::Synced { record_id } => sqlx::query(
                    "UPDATE crm_sync SET synced_version = $2, record_id = $3, last_error = NULL, attempts = 0, \
                     claimed_until = NULL, synced_at = $4, \
                     state = CASE WHEN version = $2 THEN 'synced' ELSE 'pending' END, \
                     next_at = $4, changed_at = CASE WHEN version = $2 THEN changed_at ELSE $4 END \
                     WHERE registration_id = $1",
                )
                .bind(item.registration.id.0)
                .bind(item.version)
                .bind(record_id.as_str())
                .bind(micros(now)),
                SyncResult::Rejected { message } => sqlx::query(
                    "UPDATE crm_sync SET state = CASE WHEN version = $2 THEN 'failed' ELSE 'pending' END, \
                     last_error = $3, attempts = attempts + 1, claimed_until = NULL, next_at = $4 \
                     WHERE registration_id = $1",
                )
                .bind(item.registration.id.0)
                .bind(item.version)
                .bind(message.as_str())
                .bind(micros(now)),
            };
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Puts a batch back after a failed call, due again after a delay that
    /// doubles each time (with jitter, so a CRM that comes back is not met
    /// by every batch at once), or after the CRM's own `Retry-After`. An
    /// outage never makes a dead letter; a refusal does, after
    /// [`MAX_REFUSALS`] attempts.
    pub async fn retry_crm_batch(
        &self,
        items: &[SyncItem],
        error: &str,
        refused: bool,
        retry_after: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        for item in items {
            let attempts = item.attempts + 1;
            let backoff = retry_delay(FIRST_RETRY, attempts, item.registration.id.0, MAX_DELAY);
            let delay = retry_after.map_or(backoff, |asked| asked.max(backoff));
            let state = if refused && attempts >= MAX_REFUSALS {
                "failed"
            } else {
                "pending"
            };
            sqlx::query(
                "UPDATE crm_sync SET attempts = $2, last_error = $3, next_at = $4, claimed_until = NULL, \
                 state = $5 WHERE registration_id = $1",
            )
            .bind(item.registration.id.0)
            .bind(attempts)
            .bind(error)
            .bind(micros(now + delay))
            .bind(state)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How each of `ids` stands with the CRM; registrations the CRM has
    /// not heard of yet are absent.
    pub async fn crm_states(&self, ids: &[RegistrationId]) -> Result<BTreeMap<i64, CrmState>> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let list = ids
            .iter()
            .map(|id| id.0.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT registration_id, record_id, state, last_error FROM crm_sync WHERE registration_id IN ({list})"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.reader).await?;
        rows.iter()
            .map(|row| {
                let state = CrmState {
                    record_id: row.opt_text("record_id")?,
                    state: row.text("state")?,
                    error: row.opt_text("last_error")?,
                };
                Ok((row.int("registration_id")?, state))
            })
            .collect()
    }

    /// Registrations the CRM would not take, most recent change first.
    pub async fn crm_dead_letters(&self) -> Result<Vec<CrmDeadLetter>> {
        let rows = sqlx::query(
            "SELECT event_id, registration_id, attempts, last_error, changed_at FROM crm_sync \
             WHERE state = 'failed' ORDER BY changed_at DESC, registration_id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CrmDeadLetter {
                    event_id: row.int("event_id")?,
                    registration_id: row.int("registration_id")?,
                    attempts: row.int("attempts")?,
                    error: row.opt_text("last_error")?,
                    changed_at: row.at("changed_at")?,
                })
            })
            .collect()
    }

    /// Sends a dead letter again, due now with fresh attempts, by the event
    /// that made it pending. Returns false when no dead letter has it.
    pub async fn retry_crm_dead_letter(&self, event_id: i64, now: OffsetDateTime) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE crm_sync SET state = 'pending', attempts = 0, next_at = $2, claimed_until = NULL \
             WHERE event_id = $1 AND state = 'failed'",
        )
        .bind(event_id)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sends every dead letter again (`trellis events retry --all`).
    pub async fn retry_all_crm_dead_letters(&self, now: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE crm_sync SET state = 'pending', attempts = 0, next_at = $1, claimed_until = NULL \
             WHERE state = 'failed'",
        )
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// The registration the CRM knows by `record_id`, for its webhooks.
    pub async fn registration_of_crm_record(
        &self,
        record_id: &str,
    ) -> Result<Option<RegistrationId>> {
        let row = sqlx::query("SELECT registration_id FROM crm_sync WHERE record_id = $1")
            .bind(record_id)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|row| row.int("registration_id").map(RegistrationId))
            .transpose()
    }

    pub async fn sync_lag(&self) -> Result<SyncLag> {
        let row = sqlx::query(
            "SELECT \
             COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS pending, \
             COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed, \
             COALESCE(SUM(CASE WHEN state = 'synced' THEN 1 ELSE 0 END), 0) AS synced, \
             MIN(CASE WHEN state = 'pending' THEN changed_at END) AS oldest, \
             MAX(synced_at) AS last_synced FROM crm_sync",
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(SyncLag {
            pending: row.int("pending")?,
            failed: row.int("failed")?,
            synced: row.int("synced")?,
            oldest_pending_since: row.opt_at("oldest")?,
            last_synced_at: row.opt_at("last_synced")?,
        })
    }

    /// Where reading changes back from the CRM resumes, if it ran before.
    pub async fn sync_cursor(&self, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT cursor FROM sync_cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|row| row.text("cursor")).transpose()
    }

    pub async fn set_sync_cursor(
        &self,
        name: &str,
        cursor: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sync_cursors (name, cursor, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(cursor)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

impl SyncItem {
    /// The registration's fields by their Trellis names (see
    /// `trellis_domain::program::RECORD_FIELDS`), as text the CRM takes:
    /// dates `YYYY-MM-DD`, instants RFC 3339, amounts in major units.
    /// Fields with no value are left out.
    pub fn fields(&self) -> BTreeMap<&'static str, String> {
        let r = &self.registration;
        let life = &r.life;
        let date = |at: Option<OffsetDateTime>| at.map(|at| at.date().to_string());
        let instant = |at: Option<OffsetDateTime>| {
            at.and_then(|at| {
                at.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
        };
        let amount = r.deal.as_ref().map(|deal| deal.amount).or(life.won_amount);
        let pairs: [(&'static str, Option<String>); 18] = [
            ("case_number", Some(r.case_number().to_string())),
            ("kind", Some(r.kind.as_str().to_owned())),
            ("status", Some(life.status.as_str().to_owned())),
            ("partner", Some(self.partner_name.clone())),
            ("partner_id", Some(r.partner_id.0.to_string())),
            ("company", Some(r.company_name.clone())),
            ("domain", r.company_domain.clone()),
            ("contact_name", Some(r.contact_name.clone())),
            ("contact_email", Some(r.contact_email.clone())),
            ("amount", amount.map(|money| money.decimal())),
            (
                "currency",
                amount.map(|money| money.currency.code().to_owned()),
            ),
            (
                "expected_close",
                r.deal.as_ref().map(|deal| deal.expected_close.to_string()),
            ),
            ("hold_until", date(life.hold_until)),
            ("meeting_due", date(life.meeting_due)),
            ("first_meeting_at", instant(life.first_meeting_at)),
            ("registered_at", instant(Some(life.submitted_at))),
            ("region", r.market.region.clone()),
            ("segment", r.market.segment.clone()),
        ];
        pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| (name, value)))
            .collect()
    }
}

fn item_from_row(row: &AnyRow) -> Result<SyncItem> {
    Ok(SyncItem {
        registration: crate::registrations::from_row(row)?,
        partner_name: row.text("partner_name")?,
        version: row.int("sync_version")?,
        record_id: row.opt_text("sync_record_id")?,
        attempts: row.int("sync_attempts")?,
    })
}
