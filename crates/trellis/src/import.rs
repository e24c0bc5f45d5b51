//! `trellis import accounts FILE.csv`: the vendor's existing customers and
//! prospects, so dedupe runs against the real customer base.

use crate::DbArgs;
use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use trellis_domain::dedupe::{CompanyName, WebDomain};
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_server::intake::csv::Importer;
use trellis_store::{NewAccount, Store};

/// Rows written per transaction.
const BATCH: usize = 2_000;

#[derive(clap::Subcommand)]
pub enum ImportCommand {
    /// Register leads from a CSV for one partner; prints one result per row
    /// (row, status, case_number, reason) as CSV, and a summary.
    Registrations {
        file: PathBuf,
        /// The partner the rows are for.
        #[arg(long)]
        partner: i64,
        /// The program file whose rules apply (the default program if absent).
        #[arg(long, env = "TRELLIS_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Record tier metrics from a CSV with the API's fields as columns
    /// (partner_id, metric, value, occurred_at, source_id, evidence_url,
    /// evidence_id, item, expires_on, credit); repeats of a source_id are
    /// skipped.
    Metrics {
        file: PathBuf,
        /// The program file whose criteria the metrics feed.
        #[arg(long, env = "TRELLIS_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
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
        ImportCommand::Registrations {
            file,
            partner,
            config,
            db,
        } => {
            let program = program_or_default(config.as_deref())?;
            import_registrations(&db.open().await?, &program, PartnerId(partner), &file).await
        }
        ImportCommand::Metrics { file, config, db } => {
            let program = program_or_default(config.as_deref())?;
            crate::import_metrics::run(&db.open().await?, &program, &file).await
        }
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

/// The program file's rules, or the built-in program without one.
fn program_or_default(config: Option<&std::path::Path>) -> anyhow::Result<Program> {
    config.map_or_else(|| Ok(Program::default()), crate::load_program)
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
    new_account(name, domain_col.and_then(|c| record.get(c)), "import")
}

/// An account from outside (a file, the CRM), validated as every account
/// is; the error says what is wrong with it.
pub fn new_account(name: &str, domain: Option<&str>, source: &str) -> Result<NewAccount, String> {
    let name = CompanyName::parse(name).map_err(|e| e.to_string())?;
    let domain = match domain.map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => Some(WebDomain::parse(d).map_err(|e| e.to_string())?),
        None => None,
    };
    Ok(NewAccount {
        name,
        domain,
        source: source.into(),
    })
}

pub async fn flush(
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

/// Imports registrations, printing the per-row table to stdout and the
/// summary to stderr, with a progress bar on a terminal.
async fn import_registrations(
    store: &Store,
    program: &Program,
    partner: PartnerId,
    file: &PathBuf,
) -> anyhow::Result<()> {
    let partner = store
        .partner(partner)
        .await
        .with_context(|| format!("partner {partner}"))?;
    let bytes = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let importer = Importer {
        store,
        program,
        partner: partner.id,
        actor: Actor::Partner {
            partner_id: partner.id,
        },
        now: time::OffsetDateTime::now_utc(),
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = importer
        .import(std::io::BufReader::new(bytes), |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.detail()))?;
    bar.finish_and_clear();
    print!(
        "{}",
        report.to_csv().map_err(|e| anyhow::anyhow!(e.detail()))?
    );
    let s = &report.summary;
    eprintln!(
        "{}: {} rows for {}: {} registered, {} duplicate, {} invalid, {} refused",
        file.display(),
        s.rows,
        partner.name,
        s.registered,
        s.duplicate,
        s.invalid,
        s.refused
    );
    Ok(())
}
