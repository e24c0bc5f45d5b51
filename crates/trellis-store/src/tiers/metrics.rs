//! Metric rows: the measurements tier criteria read, each idempotent by the
//! sender's source id, so a retried post or a re-imported file never counts
//! twice.

use super::standing;
use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::rows::{micros, parse_day, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::{Date, OffsetDateTime};
use trellis_domain::event::NewEvent;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::Quantity;

/// A measurement to record, validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMetric {
    pub partner_id: PartnerId,
    pub metric: String,
    pub value: Quantity,
    pub occurred_at: OffsetDateTime,
    pub source_id: String,
    /// A URL or an id of the proof behind it.
    pub evidence: Option<String>,
    /// What `count_distinct_active` counts: the certified person, the case
    /// study.
    pub item: Option<String>,
    /// The last day the item counts.
    pub expires_on: Option<Date>,
}

/// A stored measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRecord {
    pub id: i64,
    pub partner_id: PartnerId,
    pub metric: String,
    pub value: Quantity,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub source_id: String,
    pub evidence: Option<String>,
    pub item: Option<String>,
    pub expires_on: Option<Date>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl MetricRecord {
    /// Whether `new` says the same thing, so a repeat is a replay.
    fn same_as(&self, new: &NewMetric) -> bool {
        self.partner_id == new.partner_id
            && self.metric == new.metric
            && self.value == new.value
            && self.occurred_at == new.occurred_at
            && self.evidence == new.evidence
            && self.item == new.item
            && self.expires_on == new.expires_on
    }
}

/// What recording a measurement did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// Stored, with the tier events it caused (an upgrade, a nudge).
    New {
        metric: MetricRecord,
        events: Vec<NewEvent>,
    },
    /// The same source id with the same content was already stored.
    Repeat(MetricRecord),
}

impl Store {
    /// Records a measurement and re-reads the partner's criteria in the
    /// same transaction, so an upgrade it earns happens with it. A source id
    /// already stored with other content is refused.
    pub async fn record_metric(
        &self,
        new: &NewMetric,
        program: &Program,
        now: OffsetDateTime,
    ) -> Result<Recorded> {
        let mut tx = self.write().await?;
        self.lock_keys(&mut tx, &[&format!("partner:{}", new.partner_id)])
            .await?;
        if let Some(existing) = by_source(&mut tx, &new.source_id).await? {
            return repeat(existing, new);
        }
        let metric = insert(&mut tx, new, now).await?;
        let events = standing::reevaluate(&mut tx, program, new.partner_id, now).await?;
        tx.commit().await?;
        Ok(Recorded::New { metric, events })
    }

    /// Records a batch of measurements in one transaction (imports): repeats
    /// of stored rows are skipped, a source id reused with other content
    /// refuses the whole batch, and each partner touched is re-read once at
    /// the end. Returns how many rows were new.
    pub async fn record_metrics(
        &self,
        batch: &[NewMetric],
        program: &Program,
        now: OffsetDateTime,
    ) -> Result<usize> {
        let mut tx = self.write().await?;
        let mut partners: Vec<PartnerId> = batch.iter().map(|m| m.partner_id).collect();
        partners.sort_unstable();
        partners.dedup();
        let keys: Vec<String> = partners.iter().map(|p| format!("partner:{p}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.lock_keys(&mut tx, &keys).await?;
        let mut added = 0;
        for new in batch {
            match by_source(&mut tx, &new.source_id).await? {
                Some(existing) => {
                    repeat(existing, new)?;
                }
                None => {
                    insert(&mut tx, new, now).await?;
                    added += 1;
                }
            }
        }
        for partner in partners {
            standing::reevaluate(&mut tx, program, partner, now).await?;
        }
        tx.commit().await?;
        Ok(added)
    }

    /// A partner's measurements, newest first.
    pub async fn metrics_of(&self, partner: PartnerId, limit: i64) -> Result<Vec<MetricRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM metrics WHERE partner_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
        )
        .bind(partner.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }
}

/// A repeat is a replay when it says the same thing, and refused otherwise.
fn repeat(existing: MetricRecord, new: &NewMetric) -> Result<Recorded> {
    if existing.same_as(new) {
        return Ok(Recorded::Repeat(existing));
    }
    Err(StoreError::conflict(format!(
        "source_id {} was already recorded with other content (metric {} of partner {}); \
         send a new source_id for a new measurement",
        existing.source_id, existing.metric, existing.partner_id
    )))
}

/// Records an outcome the registration core already knows (a won deal, a
/// first meeting) as a metric inside the command's transaction, then
/// re-reads the partner, so no one enters it twice.
pub(crate) async fn record_outcome(
    tx: &mut Tx,
    new: &NewMetric,
    program: &Program,
    now: OffsetDateTime,
) -> Result<Vec<NewEvent>> {
    if by_source(tx, &new.source_id).await?.is_some() {
        return Ok(Vec::new());
    }
    insert(tx, new, now).await?;
    standing::reevaluate(tx, program, new.partner_id, now).await
}

async fn by_source(tx: &mut Tx, source: &str) -> Result<Option<MetricRecord>> {
    let row = sqlx::query("SELECT * FROM metrics WHERE source_id = $1")
        .bind(source)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(from_row).transpose()
}

async fn insert(tx: &mut Tx, new: &NewMetric, now: OffsetDateTime) -> Result<MetricRecord> {
    let row = sqlx::query(
        "INSERT INTO metrics (partner_id, metric, value, occurred_at, source_id, evidence, item, \
         expires_on, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.partner_id.0)
    .bind(&new.metric)
    .bind(new.value.scaled())
    .bind(micros(new.occurred_at))
    .bind(&new.source_id)
    .bind(new.evidence.as_deref())
    .bind(new.item.as_deref())
    .bind(new.expires_on.map(|d| d.to_string()))
    .bind(micros(now))
    .fetch_one(&mut **tx)
    .await?;
    Ok(MetricRecord {
        id: row.int("id")?,
        partner_id: new.partner_id,
        metric: new.metric.clone(),
        value: new.value,
        occurred_at: new.occurred_at,
        source_id: new.source_id.clone(),
        evidence: new.evidence.clone(),
        item: new.item.clone(),
        expires_on: new.expires_on,
        recorded_at: now,
    })
}

fn from_row(row: &AnyRow) -> Result<MetricRecord> {
    Ok(MetricRecord {
        id: row.int("id")?,
        partner_id: PartnerId(row.int("partner_id")?),
        metric: row.text("metric")?,
        value: Quantity::from_scaled(row.int("value")?),
        occurred_at: row.at("occurred_at")?,
        source_id: row.text("source_id")?,
        evidence: row.opt_text("evidence")?,
        item: row.opt_text("item")?,
        expires_on: row
            .opt_text("expires_on")?
            .map(|d| parse_day(&d))
            .transpose()?,
        recorded_at: row.at("recorded_at")?,
    })
}
