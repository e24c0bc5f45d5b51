//! `trellis bench review`: a full quarterly review of many partners over
//! many metric rows, beside one plain SQL aggregate over the same rows; and
//! single scorecards, beside the bare aggregate of one partner's rows.

use super::stats::{ms, print_table, print_targets, thousands, Run, Target};
use super::BenchDbArgs;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::SqlitePool;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{Quarter, Window};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, default_value_t = 100_000)]
    partners: u64,
    /// Metric rows, spread evenly over the partners and the last five quarters.
    #[arg(long, default_value_t = 10_000_000)]
    metrics: u64,
    /// Single scorecards to time.
    #[arg(long, default_value_t = 1_000)]
    scorecards: usize,
    #[command(flatten)]
    db: BenchDbArgs,
}

const TARGET_TOTAL: Duration = Duration::from_secs(10);
const TARGET_RATIO: f64 = 3.0;
const TARGET_SCORECARD: Duration = Duration::from_millis(5);

pub async fn run(args: Args) -> anyhow::Result<()> {
    let db = args.db.open().await?;
    let now = OffsetDateTime::now_utc();
    let quarter = Quarter::last_complete(now);
    let program = Program::default();
    let window = Window::ending_with(program.review.window, quarter);
    println!("trellis bench review");
    println!("  database  {} (WAL, synchronous = FULL)", db.url);
    let started = Instant::now();
    load(&db.reference, args.partners, args.metrics, &window, now).await?;
    println!(
        "  loaded    {} partners, {} metric rows in {:.1} s",
        thousands(args.partners),
        thousands(args.metrics),
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let groups = bare_aggregate(&db.reference, &window, None).await?;
    let bare = started.elapsed();
    let started = Instant::now();
    let review = db
        .store
        .create_review(&program, quarter, &Actor::System, now)
        .await?;
    let ours = started.elapsed();
    let started = Instant::now();
    db.store.evaluate(&program, quarter).await?;
    let evaluate = started.elapsed();
    let proposals = thousands(review.proposals.len() as u64);
    let line = |label: String, took| println!("{label:<52} {:>10} ms", ms(took));
    line(format!("review of {quarter}: {proposals} proposals"), ours);
    line("  of which reading and deciding".into(), evaluate);
    line(
        format!("reference: one GROUP BY ({} groups)", thousands(groups)),
        bare,
    );
    let ratio = ours.as_secs_f64() / bare.as_secs_f64().max(1e-9);
    println!("  ratio (ours / reference): {ratio:.2}");
    println!();

    let (cards, reference) =
        scorecards(&db, &program, &window, args.partners, args.scorecards, now).await?;
    print_table(&[&cards, &reference]);
    print_targets(&[
        Target {
            goal: "review under 10 s".into(),
            measured: format!("{:.2} s", ours.as_secs_f64()),
            met: ours < TARGET_TOTAL,
        },
        Target {
            goal: "within 3x of the bare aggregate".into(),
            measured: format!("{ratio:.2}x"),
            met: ratio <= TARGET_RATIO,
        },
        Target {
            goal: "scorecard p99 < 5 ms".into(),
            measured: format!("{} ms", ms(cards.percentile(99))),
            met: cards.percentile(99) < TARGET_SCORECARD,
        },
    ]);
    Ok(())
}

/// The metrics criteria of the default program read, with whether rows of
/// it name an item (certifications, proof) and how large a value is.
const METRICS: [(&str, bool, i64); 8] = [
    ("revenue.resold", false, 40_000),
    ("revenue.sourced", false, 30_000),
    ("revenue.influenced", false, 20_000),
    ("csat", false, 5),
    ("joint_customers", true, 1),
    ("certification", true, 1),
    ("validated_offering", true, 1),
    ("proof", true, 1),
];

/// Generates partners and metric rows inside SQLite (a recursive CTE), so
/// the load takes seconds, not the hours row-by-row inserts would.
async fn load(
    pool: &SqlitePool,
    partners: u64,
    metrics: u64,
    window: &Window,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) \
         INSERT INTO partners (name, kind, tier, created_at) \
         SELECT 'Bench Partner ' || i, \
         CASE i % 4 WHEN 0 THEN 'reseller' WHEN 1 THEN 'referral' WHEN 2 THEN 'service' ELSE 'isv' END, \
         CASE WHEN i % 10 = 0 THEN 'elite' WHEN i % 3 = 0 THEN 'select' ELSE 'registered' END, ?2 FROM n",
    )
    .bind(partners as i64)
    .bind(now.unix_timestamp() * 1_000_000)
    .execute(pool)
    .await?;
    let (first,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM partners")
        .fetch_one(pool)
        .await?;
    let start = window.start.unix_timestamp() * 1_000_000;
    let span = (window.end - window.start + time::Duration::days(90)).whole_microseconds() as i64;
    let per_partner = (metrics / partners.max(1)).max(1) as i64;
    let cases: Vec<String> = METRICS
        .iter()
        .enumerate()
        .map(|(k, (name, _, _))| format!("WHEN {k} THEN '{name}'"))
        .collect();
    let values: Vec<String> = METRICS
        .iter()
        .enumerate()
        .map(|(k, (_, _, v))| format!("WHEN {k} THEN {v}"))
        .collect();
    let items: Vec<String> = METRICS
        .iter()
        .enumerate()
        .filter(|(_, m)| m.1)
        .map(|(k, _)| k.to_string())
        .collect();
    let sql = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1) \
         INSERT INTO metrics (partner_id, metric, value, occurred_at, source_id, evidence, item, expires_on, recorded_at) \
         SELECT ?2 + i / ?3, CASE i % 8 {cases} END, \
         (CASE i % 8 {values} END) * (50 + (i * 7919) % 100) * 100, \
         ?4 + (i * 2654435761) % ?5, 'bench-' || i, \
         CASE WHEN i % 8 IN ({items}) THEN 'https://evidence.example/' || i END, \
         CASE WHEN i % 8 IN ({items}) THEN 'item-' || (i % 16) END, \
         CASE WHEN i % 8 IN ({items}) AND i % 5 = 0 THEN '2020-01-01' END, ?6 FROM n",
        cases = cases.join(" "),
        values = values.join(" "),
        items = items.join(", ")
    );
    sqlx::query(&sql)
        .bind(metrics as i64)
        .bind(first)
        .bind(per_partner)
        .bind(start - 90 * 86_400 * 1_000_000)
        .bind(span)
        .bind(now.unix_timestamp() * 1_000_000)
        .execute(pool)
        .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

/// One plain aggregate over the window's rows: the sum per partner and
/// metric, every group fetched. Returns the number of groups.
async fn bare_aggregate(
    pool: &SqlitePool,
    window: &Window,
    partner: Option<i64>,
) -> anyhow::Result<u64> {
    let only = if partner.is_some() {
        "partner_id = ?3 AND"
    } else {
        ""
    };
    let sql = format!(
        "SELECT partner_id, metric, SUM(value) FROM metrics WHERE {only} occurred_at >= ?1 \
         AND occurred_at < ?2 GROUP BY partner_id, metric"
    );
    let mut query = sqlx::query_as::<_, (i64, String, i64)>(&sql)
        .bind(window.start.unix_timestamp() * 1_000_000)
        .bind(window.end.unix_timestamp() * 1_000_000);
    if let Some(id) = partner {
        query = query.bind(id);
    }
    Ok(query.fetch_all(pool).await?.len() as u64)
}

/// Scorecards of random partners one after another, and the bare
/// aggregate of the same partners' rows.
async fn scorecards(
    db: &super::BenchDb,
    program: &Program,
    window: &Window,
    partners: u64,
    count: usize,
    now: OffsetDateTime,
) -> anyhow::Result<(Run, Run)> {
    let (first,): (i64,) = sqlx::query_as("SELECT MIN(id) FROM partners")
        .fetch_one(&db.reference)
        .await?;
    let mut rng = StdRng::seed_from_u64(20_261_125);
    let picks: Vec<i64> = (0..count)
        .map(|_| first + rng.random_range(0..partners as i64))
        .collect();
    let mut ours = Vec::with_capacity(count);
    for &id in &picks {
        let started = Instant::now();
        db.store.scorecard(program, PartnerId(id), now).await?;
        ours.push(started.elapsed());
    }
    let mut bare = Vec::with_capacity(count);
    for &id in &picks {
        let started = Instant::now();
        bare_aggregate(&db.reference, window, Some(id)).await?;
        bare.push(started.elapsed());
    }
    Ok((
        Run::sequential("GET scorecard (store), one partner", ours),
        Run::sequential("reference: one partner's GROUP BY", bare),
    ))
}
