//! `trellis bench registrations`: partners registering over HTTP against a
//! database of many accounts, beside the bare cost of committing the same
//! rows one transaction each on the same file.

use super::companies::Company;
use super::stats::{ms, print_table, print_targets, thousands, Run, Target};
use super::{drive, progress, BenchDb, BenchDbArgs};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::de::IgnoredAny;
use serde::Deserialize;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Column, Sqlite, SqlitePool, TypeInfo, ValueRef};
use sqlx::{Row, Transaction};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use trellis_domain::event::Actor;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_domain::values::{Currency, Money};
use trellis_server::clock::Clock;
use trellis_server::AppState;
use trellis_store::{NewPartner, Role, Store};

#[derive(clap::Args)]
pub struct Args {
    /// Accounts on file before the run (what dedupe searches).
    #[arg(long, default_value_t = 1_000_000)]
    accounts: u64,
    /// Registrations to send.
    #[arg(long, default_value_t = 20_000)]
    registrations: usize,
    /// Concurrent HTTP clients, each with its own keep-alive connection;
    /// also the number of tasks running the reference.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[command(flatten)]
    db: BenchDbArgs,
}

const PARTNERS: usize = 50;
/// Share of registrations naming an account already on file.
const EXISTING_PERCENT: usize = 70;
/// One in this many registrations on existing accounts is a second
/// partner's claim, so channel conflicts open as they do in real programs.
const SECOND_CLAIM_EVERY: usize = 9;
/// Share of registrations that are deals (with an amount) rather than leads.
const DEAL_PERCENT: u32 = 40;
/// The bench fails when more than this many registrations per thousand do
/// not answer 201.
const MAX_FAILED_PER_MILLE: usize = 1;
const TARGET_RATE: f64 = 2_000.0;
const TARGET_P99: Duration = Duration::from_millis(20);
const TARGET_RATIO: f64 = 0.5;
/// Where the reference copies the registrations: a table with the same
/// columns, constraints and indexes.
const CLONE: &str = "bench_registrations";

/// One registration to send.
struct Job {
    partner: usize,
    /// Whether the company is on file, so dedupe must link it.
    on_file: bool,
    /// Whether another partner claims the same account, so a conflict opens.
    second_claim: bool,
    body: String,
}

/// Loads the accounts, posts the registrations, replays their rows as the
/// reference, and prints both with the targets.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    println!("trellis bench registrations");
    println!("  database  {} (WAL, synchronous = FULL)", db.url);
    db.load_and_report(args.accounts).await?;
    let program = Program::default();
    let tokens = partners(&db.store, &program).await?;
    let jobs = Arc::new(plan(args.accounts, args.registrations)?);
    let (last_account, last_registration) = last_ids(&db.reference).await?;
    let (ours, outcomes) = post_all(&db, program, tokens, &jobs, args.concurrency).await?;
    let reference = bare_inserts(&db.reference, last_registration, args.concurrency).await?;
    report(&ours, &reference, &check(&jobs, &outcomes, last_account))
}

/// The partners, each with one partner token; returns the token secrets.
async fn partners(store: &Store, program: &Program) -> anyhow::Result<Vec<String>> {
    let now = OffsetDateTime::now_utc();
    let mut tokens = Vec::with_capacity(PARTNERS);
    for i in 0..PARTNERS {
        let new = NewPartner::plain(
            format!("Bench Partner {i:02}"),
            PartnerKind::ALL[i % PartnerKind::ALL.len()],
            program.lowest_tier().id.clone(),
        );
        let partner = store.create_partner(&new, &Actor::System, now).await?;
        let secret = trellis_server::tokens::new_secret();
        store
            .create_token(
                &secret,
                Role::Partner,
                Some(partner.id),
                "trellis bench",
                now,
            )
            .await?;
        tokens.push(secret);
    }
    Ok(tokens)
}

/// Who registers what, in a shuffled order: distinct accounts on file,
/// some of them claimed by a second partner (never twice by one), and new
/// companies (indexes past the loaded ones).
fn plan(accounts: u64, registrations: usize) -> anyhow::Result<Vec<Job>> {
    let mut rng = StdRng::seed_from_u64(20_260_105);
    let existing = registrations * EXISTING_PERCENT / 100;
    let seconds = existing / SECOND_CLAIM_EVERY;
    let distinct = existing - seconds;
    if distinct as u64 > accounts {
        anyhow::bail!("{registrations} registrations need at least {distinct} accounts");
    }
    let picked = rand::seq::index::sample(&mut rng, accounts as usize, distinct);
    let mut jobs = Vec::with_capacity(registrations);
    for (k, account) in picked.iter().enumerate() {
        let first = rng.random_range(0..PARTNERS);
        let company = Company::at(account as u64)?;
        jobs.push(job(&mut rng, first, &company, true)?);
        if k < seconds {
            let second = (first + rng.random_range(1..PARTNERS)) % PARTNERS;
            let mut claim = job(&mut rng, second, &company, true)?;
            claim.second_claim = true;
            jobs.push(claim);
        }
    }
    for index in accounts..accounts + (registrations - existing) as u64 {
        let partner = rng.random_range(0..PARTNERS);
        jobs.push(job(&mut rng, partner, &Company::at(index)?, false)?);
    }
    jobs.shuffle(&mut rng);
    Ok(jobs)
}

const FIRST_NAMES: [&str; 8] = [
    "Jordan", "Priya", "Lena", "Tomás", "Aiko", "Samuel", "Chloé", "Mateo",
];
const LAST_NAMES: [&str; 8] = [
    "Lee", "Nair", "Fischer", "García", "Tanaka", "Okafor", "Dubois", "Rossi",
];

/// A registration as a partner's integration would post it: the name with
/// another legal form than the CRM's, the web site as a URL, and for deals
/// an exact decimal amount.
fn job(rng: &mut StdRng, partner: usize, company: &Company, on_file: bool) -> anyhow::Result<Job> {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let mut body = serde_json::json!({
        "company_name": company.name_as_typed()?.as_str(),
        "company_domain": format!("https://www.{}/", company.domain),
        "contact_name": format!("{first} {last}"),
        "contact_email": format!("{}@{}", first.to_lowercase(), company.domain),
        "use_case": "Consolidating three regional tools onto one platform",
        "consent": true,
    });
    if rng.random_ratio(DEAL_PERCENT, 100) {
        let amount = Money {
            minor: rng.random_range(5_000..250_000) * 100,
            currency: Currency::parse("EUR")?,
        };
        let close = OffsetDateTime::now_utc().date() + time::Duration::days(90);
        body["kind"] = "deal".into();
        body["stage"] = "Discovery".into();
        body["amount"] = amount.decimal().into();
        body["currency"] = "EUR".into();
        body["expected_close_date"] = close.to_string().into();
    }
    Ok(Job {
        partner,
        on_file,
        second_claim: false,
        body: body.to_string(),
    })
}

/// The newest account and registration ids before the run: accounts past
/// the first were created by it, registrations past the second are its own.
async fn last_ids(pool: &SqlitePool) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM accounts), \
         (SELECT COALESCE(MAX(id), 0) FROM registrations)",
    )
    .fetch_one(pool)
    .await?)
}

/// What one request answered.
struct Outcome {
    job: usize,
    latency: Duration,
    answer: Result<Created, String>,
}

/// The parts of a 201 answer the checks read.
#[derive(Deserialize)]
struct Created {
    account_id: i64,
    conflict: Option<IgnoredAny>,
}

/// What every client task shares.
struct Shared {
    url: String,
    tokens: Vec<String>,
    jobs: Arc<Vec<Job>>,
    bar: ProgressBar,
}

/// Starts the real server on a free port and posts every job from
/// `concurrency` clients; returns the run and each request's outcome.
async fn post_all(
    db: &BenchDb,
    program: Program,
    tokens: Vec<String>,
    jobs: &Arc<Vec<Job>>,
    concurrency: usize,
) -> anyhow::Result<(Run, Vec<Outcome>)> {
    let state = AppState::new(db.store.clone(), program, Clock::system());
    // The expiry sweep is not what is measured: once an hour keeps it out.
    let server =
        trellis_server::start(state, "127.0.0.1:0".parse()?, Duration::from_secs(3600)).await?;
    let shared = Arc::new(Shared {
        url: format!("http://{}/api/v1/registrations", server.addr),
        tokens,
        jobs: jobs.clone(),
        bar: progress(jobs.len() as u64, "registrations"),
    });
    let (elapsed, outcomes) = drive(jobs.len(), concurrency, || {
        let client = reqwest::Client::new();
        let shared = shared.clone();
        move |job| {
            let (client, shared) = (client.clone(), shared.clone());
            async move { post(&client, &shared, job).await }
        }
    })
    .await?;
    server.task.abort();
    shared.bar.finish_and_clear();
    let latencies = outcomes.iter().map(|o| o.latency).collect();
    let label = format!("POST /api/v1/registrations, {concurrency} clients");
    Ok((Run::new(label, elapsed, latencies), outcomes))
}

/// Sends one registration with its partner's token; the latency covers the
/// whole exchange, body included.
async fn post(client: &reqwest::Client, shared: &Shared, job: usize) -> Outcome {
    let Job { partner, body, .. } = &shared.jobs[job];
    let started = Instant::now();
    let response = client
        .post(&shared.url)
        .bearer_auth(&shared.tokens[*partner])
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.clone())
        .send()
        .await;
    let answer = match response {
        Ok(response) => {
            let status = response.status();
            match response.text().await {
                Ok(text) if status == reqwest::StatusCode::CREATED => {
                    serde_json::from_str(&text).map_err(|e| format!("201 with {e}: {text}"))
                }
                Ok(text) => Err(format!("{status}: {text}")),
                Err(e) => Err(format!("{status}, unreadable body: {e}")),
            }
        }
        Err(e) => Err(format!("no answer: {e}")),
    };
    let latency = started.elapsed();
    shared.bar.inc(1);
    Outcome {
        job,
        latency,
        answer,
    }
}

/// What the answers say about correctness, beside the speed.
struct Checks {
    total: usize,
    /// One example answer per failure, in order.
    failures: Vec<String>,
    /// Companies on file that got a new account, or new ones that did not.
    mislinked: usize,
    conflicts: usize,
    planned_conflicts: usize,
}

/// Compares each answer with the plan: a fast run that links wrongly or
/// misses conflicts measures nothing.
fn check(jobs: &[Job], outcomes: &[Outcome], last_account: i64) -> Checks {
    let mut checks = Checks {
        total: outcomes.len(),
        failures: vec![],
        mislinked: 0,
        conflicts: 0,
        planned_conflicts: jobs.iter().filter(|j| j.second_claim).count(),
    };
    for outcome in outcomes {
        match &outcome.answer {
            Ok(created) => {
                let linked = created.account_id <= last_account;
                checks.mislinked += usize::from(linked != jobs[outcome.job].on_file);
                checks.conflicts += usize::from(created.conflict.is_some());
            }
            Err(failure) => checks.failures.push(failure.clone()),
        }
    }
    checks
}

/// A value of a copied row: registrations hold only integers, text and nulls.
enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// The reference: the rows the run wrote, inserted again into a same-shaped
/// table, one transaction each, from as many tasks, on the same file.
async fn bare_inserts(pool: &SqlitePool, after: i64, concurrency: usize) -> anyhow::Result<Run> {
    clone_registrations(pool).await?;
    let (columns, rows) = copied_rows(pool, after).await?;
    let placeholders = vec!["?"; columns.len()].join(", ");
    let sql: Arc<str> = format!(
        "INSERT INTO {CLONE} ({}) VALUES ({placeholders})",
        columns.join(", ")
    )
    .into();
    let rows = Arc::new(rows);
    let (elapsed, latencies) = drive(rows.len(), concurrency, || {
        let (pool, rows, sql) = (pool.clone(), rows.clone(), sql.clone());
        move |row| {
            let (pool, rows, sql) = (pool.clone(), rows.clone(), sql.clone());
            async move { insert_row(&pool, &sql, &rows[row]).await }
        }
    })
    .await?;
    let latencies = latencies.into_iter().collect::<anyhow::Result<_>>()?;
    sqlx::query(&format!("DROP TABLE {CLONE}"))
        .execute(pool)
        .await?;
    Ok(Run::new(
        format!("reference: bare INSERT + COMMIT, {concurrency} tasks"),
        elapsed,
        latencies,
    ))
}

/// The registrations after `after`, inserted again bare into a same-shaped
/// table in one transaction, as few statements as SQLite binds (the floor
/// under writing them durably at all: no accounts, contacts, events or
/// lookups); how long the inserts and the commit took.
pub(super) async fn bare_bulk_insert(pool: &SqlitePool, after: i64) -> anyhow::Result<Duration> {
    clone_registrations(pool).await?;
    let (columns, rows) = copied_rows(pool, after).await?;
    let started = Instant::now();
    let mut tx: Transaction<'_, Sqlite> = pool.begin().await?;
    let per_statement = (30_000 / columns.len().max(1)).max(1);
    for chunk in rows.chunks(per_statement) {
        let row = format!("({})", vec!["?"; columns.len()].join(", "));
        let sql = format!(
            "INSERT INTO {CLONE} ({}) VALUES {}",
            columns.join(", "),
            vec![row; chunk.len()].join(", ")
        );
        chunk
            .iter()
            .flatten()
            .fold(sqlx::query(&sql), bind)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let elapsed = started.elapsed();
    sqlx::query(&format!("DROP TABLE {CLONE}"))
        .execute(pool)
        .await?;
    Ok(elapsed)
}

/// Creates the reference table from the registrations table's own schema
/// text, so columns, foreign keys and indexes are the same.
async fn clone_registrations(pool: &SqlitePool) -> anyhow::Result<()> {
    sqlx::query(&format!("DROP TABLE IF EXISTS {CLONE}"))
        .execute(pool)
        .await?;
    let schema: Vec<(String,)> = sqlx::query_as(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'registrations' AND sql IS NOT NULL \
         ORDER BY type <> 'table'",
    )
    .fetch_all(pool)
    .await?;
    for (sql,) in schema {
        sqlx::query(&sql.replace("registrations", CLONE))
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// The column names (without `id`) and values of registrations after `after`.
async fn copied_rows(
    pool: &SqlitePool,
    after: i64,
) -> anyhow::Result<(Vec<String>, Vec<Vec<Cell>>)> {
    let rows = sqlx::query("SELECT * FROM registrations WHERE id > ? ORDER BY id")
        .bind(after)
        .fetch_all(pool)
        .await?;
    let Some(first) = rows.first() else {
        return Ok((vec![], vec![]));
    };
    let columns: Vec<usize> = (0..first.len())
        .filter(|&i| first.column(i).name() != "id")
        .collect();
    let names = columns
        .iter()
        .map(|&i| first.column(i).name().to_owned())
        .collect();
    let values = rows
        .iter()
        .map(|row| columns.iter().map(|&i| cell(row, i)).collect())
        .collect::<anyhow::Result<_>>()?;
    Ok((names, values))
}

/// One value of a row, read by its stored type (SQLite types values, not
/// columns), so the copy binds exactly what was stored.
fn cell(row: &SqliteRow, index: usize) -> anyhow::Result<Cell> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Cell::Null);
    }
    Ok(match raw.type_info().name() {
        "INTEGER" => Cell::Int(row.try_get(index)?),
        _ => Cell::Text(row.try_get(index)?),
    })
}

/// One row in its own transaction; returns how long it took, waiting for
/// the connection included, as a request's latency includes its wait.
async fn insert_row(pool: &SqlitePool, sql: &str, row: &[Cell]) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tx: Transaction<'_, Sqlite> = pool.begin().await?;
    row.iter()
        .fold(sqlx::query(sql), bind)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(started.elapsed())
}

/// Binds a copied value as what it was: NULL, integer or text.
fn bind<'q>(
    query: sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>,
    cell: &'q Cell,
) -> sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>> {
    match cell {
        Cell::Null => query.bind(None::<i64>),
        Cell::Int(v) => query.bind(*v),
        Cell::Text(s) => query.bind(s.as_str()),
    }
}

/// Prints the run beside its reference, the checks and the targets; fails
/// the bench when more than 0.1% of the registrations failed.
fn report(ours: &Run, reference: &Run, checks: &Checks) -> anyhow::Result<()> {
    println!(
        "  run       {} registrations, {} partners, {}% on accounts on file",
        thousands(checks.total as u64),
        PARTNERS,
        EXISTING_PERCENT
    );
    println!();
    print_table(&[ours, reference]);
    let ratio = ours.rate() / reference.rate();
    println!("  ratio (ours / reference): {ratio:.2}");
    println!();
    let count = |n: usize| thousands(n as u64);
    println!(
        "checks: {} not 201, {} linked to the wrong account, {} answers in conflict ({} planned)",
        count(checks.failures.len()),
        count(checks.mislinked),
        count(checks.conflicts),
        count(checks.planned_conflicts)
    );
    for failure in checks.failures.iter().take(5) {
        println!("  e.g. {failure}");
    }
    print_targets(&[
        Target {
            goal: format!("≥ {} registrations/s", thousands(TARGET_RATE as u64)),
            measured: format!("{:.0}/s", ours.rate()),
            met: ours.rate() >= TARGET_RATE,
        },
        Target {
            goal: format!("p99 < {} ms", TARGET_P99.as_millis()),
            measured: format!("{} ms", ms(ours.percentile(99))),
            met: ours.percentile(99) < TARGET_P99,
        },
        Target {
            goal: format!("ratio ≥ {TARGET_RATIO}"),
            measured: format!("{ratio:.2}"),
            met: ratio >= TARGET_RATIO,
        },
    ]);
    if checks.failures.len() * 1000 > checks.total * MAX_FAILED_PER_MILLE {
        anyhow::bail!(
            "{} of {} registrations failed (more than 0.1%)",
            checks.failures.len(),
            checks.total
        );
    }
    Ok(())
}
