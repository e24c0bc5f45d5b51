//! `trellis bench`: each benchmark prints its figure beside the bare
//! reference operation measured in the same run, on the same database file,
//! because a shared two-core machine is too noisy to compare against a
//! number measured another day.

mod companies;
mod crm_sync;
mod csv_import;
mod dedupe;
mod page_changes;
mod pages;
mod registrations;
mod review;
mod stats;

use anyhow::{bail, Context};
use companies::Company;
use indicatif::{ProgressBar, ProgressStyle};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::future::Future;
use std::io::IsTerminal;
use std::ops::Range;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use trellis_store::{NewAccount, Store};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Registrations per second through the HTTP API, beside bare one-row
    /// transactions on the same database.
    Registrations(registrations::Args),
    /// Account matching latency, beside a bare indexed domain lookup.
    Dedupe(dedupe::Args),
    /// A bulk CSV upload into a database of many accounts, beside parsing
    /// the same file alone.
    Csv(csv_import::Args),
    /// A quarterly review of many partners over many metric rows, beside one
    /// plain SQL aggregate over the same rows; and single scorecards.
    Review(review::Args),
    /// Syncing many registrations to a local fake HubSpot, beside the
    /// fewest calls its batch limits allow and the bare connector.
    Crm(crm_sync::Args),
    /// Server answers to every staff and portal page over the demo data or
    /// many registrations, beside `GET /healthz`.
    Pages(pages::Args),
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Registrations(args) => registrations::run(args).await,
        BenchCommand::Dedupe(args) => dedupe::run(args).await,
        BenchCommand::Csv(args) => csv_import::run(args).await,
        BenchCommand::Review(args) => review::run(args).await,
        BenchCommand::Crm(args) => crm_sync::run(args).await,
        BenchCommand::Pages(args) => pages::run(args).await,
    }
}

/// Accounts generated per bulk-load transaction: large enough that commits
/// are rare, small enough that a batch in flight stays a few megabytes.
const LOAD_BATCH: u64 = 50_000;

/// Where a benchmark runs. Deliberately not `DATABASE_URL`: a benchmark
/// loads millions of rows and must never land in a real database by accident.
#[derive(clap::Args)]
pub struct BenchDbArgs {
    /// A new or empty SQLite database, `sqlite://PATH` (default: a fresh
    /// file in a temporary directory, removed afterwards).
    #[arg(long = "db")]
    url: Option<String>,
}

/// The database under test: the store the application uses, and a plain
/// sqlx pool on the same file for the reference operations.
pub struct BenchDb {
    pub store: Store,
    pub reference: SqlitePool,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl BenchDbArgs {
    /// Opens (and migrates) the database; refuses one that already has
    /// accounts, since the generated ones would collide with them.
    pub async fn open(&self) -> anyhow::Result<BenchDb> {
        let (url, dir) = match &self.url {
            Some(url) => (url.clone(), None),
            None => {
                let dir = tempfile::tempdir().context("creating a temporary directory")?;
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                (url, Some(dir))
            }
        };
        if !url.starts_with("sqlite:") || url.contains(":memory:") {
            bail!("benchmarks run on a SQLite file: pass --db sqlite://PATH");
        }
        let store = Store::connect(&url)
            .await
            .with_context(|| format!("opening {url}"))?;
        let reference = reference_pool(&url).await?;
        let (has_accounts,): (bool,) = sqlx::query_as("SELECT EXISTS (SELECT 1 FROM accounts)")
            .fetch_one(&reference)
            .await?;
        if has_accounts {
            bail!("{url} already has accounts: benchmarks need a new or empty database");
        }
        Ok(BenchDb {
            store,
            reference,
            url,
            _dir: dir,
        })
    }
}

/// One connection with the durability the store gives its own (WAL,
/// `synchronous = FULL`), so a reference commit costs what a store commit
/// does. One, like the store's writer: SQLite runs one writer at a time, and
/// more connections would only add `SQLITE_BUSY` retries.
async fn reference_pool(url: &str) -> anyhow::Result<SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

impl BenchDb {
    /// Loads `count` accounts and prints how long that took.
    pub async fn load_and_report(&self, count: u64) -> anyhow::Result<()> {
        let load = self.load_accounts(count).await?;
        let rate = (count as f64 / load.as_secs_f64().max(1e-9)).round() as u64;
        println!(
            "  accounts  {} loaded in {:.1} s ({} per second)",
            stats::thousands(count),
            load.as_secs_f64(),
            stats::thousands(rate)
        );
        Ok(())
    }

    /// Loads the companies with indexes `0..count` as accounts through
    /// `Store::load_accounts_bulk`, generating the next batch on another
    /// thread while the current one is written. Returns the wall time.
    pub async fn load_accounts(&self, count: u64) -> anyhow::Result<Duration> {
        let bar = progress(count, "accounts loaded");
        let (sender, mut batches) = mpsc::channel(2);
        let started = Instant::now();
        let generator = tokio::task::spawn_blocking(move || generate(count, &sender));
        let now = time::OffsetDateTime::now_utc();
        while let Some(batch) = batches.recv().await {
            let batch: Vec<NewAccount> = batch?;
            self.store.load_accounts_bulk(&batch, now).await?;
            bar.inc(batch.len() as u64);
        }
        generator.await?;
        // The store leaves most checkpoints to a task beside the writer; the
        // load's log is copied back now, so that a run measures its own
        // work and not the tail of the load's.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.reference)
            .await?;
        bar.finish_and_clear();
        Ok(started.elapsed())
    }
}

/// Sends the accounts of companies `0..count` in batches, stopping at the
/// first error (sent on) or when the receiver has gone.
fn generate(count: u64, sender: &mpsc::Sender<anyhow::Result<Vec<NewAccount>>>) {
    for start in (0..count).step_by(LOAD_BATCH as usize) {
        let batch = batch(start..(start + LOAD_BATCH).min(count));
        let failed = batch.is_err();
        if sender.blocking_send(batch).is_err() || failed {
            return;
        }
    }
}

/// The accounts of some companies, sorted by name key: rows inserted in key
/// order land beside each other in the name index (and, domains being
/// spelled like names, mostly in the domain index), so a batch touches
/// fewer pages. Only the load is faster; the rows are the same.
fn batch(companies: Range<u64>) -> anyhow::Result<Vec<NewAccount>> {
    let mut accounts = companies
        .map(|i| Company::at(i)?.account())
        .collect::<anyhow::Result<Vec<_>>>()?;
    accounts.sort_by_cached_key(|a| a.name.key());
    Ok(accounts)
}

/// Runs operations `0..count` from `concurrency` tasks, each task taking the
/// next index until none is left, so a slow operation never idles the rest.
/// `new_op` makes each task's operation (its own HTTP client, say). Returns
/// the wall time and every result.
pub async fn drive<Op, Fut, T>(
    count: usize,
    concurrency: usize,
    new_op: impl Fn() -> Op,
) -> anyhow::Result<(Duration, Vec<T>)>
where
    Op: Fn(usize) -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send,
    T: Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (op, next) = (new_op(), next.clone());
            tokio::spawn(async move {
                let mut results = Vec::new();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    if index >= count {
                        return results;
                    }
                    results.push(op(index).await);
                }
            })
        })
        .collect();
    let mut results = Vec::with_capacity(count);
    for task in tasks {
        results.extend(task.await?);
    }
    Ok((started.elapsed(), results))
}

/// A progress bar on stderr when it is a terminal; hidden otherwise, so
/// redirected output holds only the report.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = format!("{{bar:40}} {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})");
    let style =
        ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(len).with_style(style)
}
