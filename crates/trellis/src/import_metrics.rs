//! `trellis import metrics FILE.csv`: measurements in bulk (revenue from
//! the finance system, certifications from the training platform), checked
//! row by row exactly as the API checks one, and idempotent by `source_id`,
//! so importing the same file twice records nothing new.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashSet;
use std::path::Path;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_server::metric_input::MetricRequest;
use trellis_store::{NewMetric, Store, StoreError};

/// Rows recorded per transaction.
const BATCH: usize = 2_000;
/// Rejected rows printed; the count covers the rest.
const SHOWN: usize = 20;

/// A metrics row: the API's body plus the partner it is for.
#[derive(serde::Deserialize)]
struct Row {
    partner_id: i64,
    #[serde(flatten)]
    request: MetricRequest,
}

#[derive(Default)]
pub struct MetricsReport {
    pub recorded: usize,
    pub repeats: usize,
    /// (spreadsheet row number, reason).
    pub rejected: Vec<(u64, String)>,
}

pub async fn run(store: &Store, program: &Program, file: &Path) -> anyhow::Result<()> {
    let report = import(store, program, file).await?;
    println!(
        "{}: {} metrics recorded, {} already recorded, {} rows rejected",
        file.display(),
        report.recorded,
        report.repeats,
        report.rejected.len()
    );
    for (row, reason) in report.rejected.iter().take(SHOWN) {
        println!("  row {row}: {reason}");
    }
    Ok(())
}

pub async fn import(
    store: &Store,
    program: &Program,
    file: &Path,
) -> anyhow::Result<MetricsReport> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("opening {}", file.display()))?
        .len();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let bar = bar(size);
    let mut report = MetricsReport::default();
    let mut partners = Partners::default();
    let mut batch = Vec::with_capacity(BATCH);
    let now = time::OffsetDateTime::now_utc();
    let mut rows = reader.deserialize::<Row>();
    let mut line = 1;
    while let Some(row) = rows.next() {
        line += 1;
        match checked(store, program, &mut partners, row, now).await? {
            Ok(metric) => batch.push(metric),
            Err(reason) => report.rejected.push((line, reason)),
        }
        if batch.len() == BATCH {
            flush(store, program, &mut batch, &mut report, now).await?;
            bar.set_position(rows.reader().position().byte());
        }
    }
    flush(store, program, &mut batch, &mut report, now).await?;
    bar.finish_and_clear();
    Ok(report)
}

/// One row checked: the measurement, or why the row was refused. Only a
/// database failure is an error of the whole import.
async fn checked(
    store: &Store,
    program: &Program,
    partners: &mut Partners,
    row: Result<Row, csv::Error>,
    now: time::OffsetDateTime,
) -> anyhow::Result<Result<NewMetric, String>> {
    let row = match row {
        Ok(row) => row,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let partner = PartnerId(row.partner_id);
    if !partners.exists(store, partner).await? {
        return Ok(Err(format!("partner_id: no partner has the id {partner}")));
    }
    Ok(row
        .request
        .validate(program, partner, now)
        .map_err(|e| e.detail()))
}

async fn flush(
    store: &Store,
    program: &Program,
    batch: &mut Vec<NewMetric>,
    report: &mut MetricsReport,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    let added = store.record_metrics(batch, program, now).await?;
    report.recorded += added;
    report.repeats += batch.len() - added;
    batch.clear();
    Ok(())
}

/// Partner ids already looked up, so a file of many rows per partner asks
/// the database once each.
#[derive(Default)]
struct Partners {
    known: HashSet<PartnerId>,
    unknown: HashSet<PartnerId>,
}

impl Partners {
    async fn exists(&mut self, store: &Store, id: PartnerId) -> anyhow::Result<bool> {
        if self.known.contains(&id) {
            return Ok(true);
        }
        if self.unknown.contains(&id) {
            return Ok(false);
        }
        let found = match store.partner(id).await {
            Ok(_) => true,
            Err(StoreError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        match found {
            true => self.known.insert(id),
            false => self.unknown.insert(id),
        };
        Ok(found)
    }
}

fn bar(bytes: u64) -> ProgressBar {
    let bar = ProgressBar::new(bytes);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}
