//! `trellis import accounts FILE.csv`: the vendor's existing customers and
//! prospects, so dedupe runs against the real customer base.

use crate::DbArgs;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use trellis_domain::dedupe::{CompanyName, WebDomain};
use trellis_store::{NewAccount, Store};

/// Rows written per transaction.
const BATCH: usize = 2_000;

#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// Import accounts from a CSV with a name column (`name`, `company`,
    /// `company_name`, `account`) and an optional domain column (`domain`,
    /// `website`, `company_domain`, `url`).
    Accounts {
        file: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
}

pub async fn run(command: ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Accounts { file, db } => {
            let store = db.open().await?;
            let report = import_accounts(&store, &file).await?;
            println!(
                "{}: {} accounts created, {} already known, {} rows rejected",
                file.display(),
                report.created,
                report.skipped,
                report.rejected.len()
            );
            for (row, reason) in report.rejected.iter().take(20) {
                println!("  row {row}: {reason}");
            }
            Ok(())
        }
    }
}

#[derive(Default)]
pub struct ImportReport {
    pub created: u64,
    pub skipped: u64,
    /// (spreadsheet row number, reason) of rows that were not imported.
    pub rejected: Vec<(u64, String)>,
}

/// Finds a column by its normalized header among accepted names.
fn column(headers: &csv::StringRecord, names: &[&str]) -> Option<usize> {
    let norm = |h: &str| {
        h.trim()
            .trim_start_matches('\u{feff}')
            .to_lowercase()
            .replace([' ', '-'], "_")
    };
    headers
        .iter()
        .position(|h| names.contains(&norm(h).as_str()))
}

pub async fn import_accounts(store: &Store, file: &PathBuf) -> anyhow::Result<ImportReport> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(file)
        .with_context(|| format!("opening {}", file.display()))?;
    let headers = reader.headers().context("reading the header row")?.clone();
    let Some(name_col) = column(
        &headers,
        &["name", "company", "company_name", "account", "account_name"],
    ) else {
        bail!(
            "{}: no company name column: name one column 'name' or 'company_name'",
            file.display()
        );
    };
    let domain_col = column(
        &headers,
        &["domain", "website", "company_domain", "url", "web_site"],
    );
    let bar = progress(std::fs::metadata(file).map(|m| m.len()).unwrap_or(0));
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(BATCH);
    let now = time::OffsetDateTime::now_utc();
    for (index, record) in reader.records().enumerate() {
        let row = index as u64 + 2;
        match record
            .map_err(|e| e.to_string())
            .and_then(|r| account_from(&r, name_col, domain_col))
        {
            Ok(account) => batch.push(account),
            Err(reason) => report.rejected.push((row, reason)),
        }
        if batch.len() == BATCH {
            flush(store, &mut batch, &mut report, now).await?;
            bar.set_position(row);
        }
    }
    flush(store, &mut batch, &mut report, now).await?;
    bar.finish_and_clear();
    Ok(report)
}

fn account_from(
    record: &csv::StringRecord,
    name_col: usize,
    domain_col: Option<usize>,
) -> Result<NewAccount, String> {
    let name = record.get(name_col).unwrap_or_default();
    let name = CompanyName::parse(name).map_err(|e| e.to_string())?;
    let domain = match domain_col
        .and_then(|c| record.get(c))
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(d) => Some(WebDomain::parse(d).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(NewAccount {
        name,
        domain,
        source: "import".into(),
    })
}

async fn flush(
    store: &Store,
    batch: &mut Vec<NewAccount>,
    report: &mut ImportReport,
    now: time::OffsetDateTime,
) -> anyhow::Result<()> {
    let (created, skipped) = store.import_accounts(batch, now).await?;
    report.created += created;
    report.skipped += skipped;
    batch.clear();
    Ok(())
}

/// A progress bar on a terminal, nothing otherwise. Counts rows.
pub fn progress(_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} rows {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}
