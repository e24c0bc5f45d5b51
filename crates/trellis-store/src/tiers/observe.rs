//! What the criteria read: each partner's metric rows folded over a window.
//!
//! The folding happens in SQL, grouped by partner and metric over the
//! covering index, because a review reads every partner at once and
//! shipping millions of rows out of the database would cost far more than
//! adding them up inside it. Window sums and active items are two
//! statements, so a review runs them side by side on two connections; the
//! same statements, filtered to one partner, serve a scorecard, so the two
//! can never disagree.

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::rows::{micros, RowExt};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};
use std::collections::{BTreeMap, HashMap};
use time::{Date, OffsetDateTime};
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_domain::tiering::{applicable, Aggregate, Criterion, Observed, Quantity, Window};

/// The metric criteria read that no one posts: the store computes it from
/// the partner's open registrations.
pub const HYGIENE: &str = "registration_hygiene";
/// A floor below any stored time (`i64::MIN` itself would be read as a
/// wider number than BIGINT by PostgreSQL).
const EARLIEST: i64 = i64::MIN + 1;
/// Evidence shown per criterion on a scorecard, newest first.
const EVIDENCE_SHOWN: usize = 10;

/// One partner's rows of one metric, folded.
#[derive(Debug, Default, Clone)]
struct Folded {
    /// Sum of the values inside the window.
    total: Quantity,
    /// Rows inside the window.
    count: i64,
    /// Distinct items still active at the window's end.
    items: i64,
    /// The newest value inside the window, for `latest` criteria.
    latest: Option<(OffsetDateTime, Quantity)>,
}

/// Folded metrics per partner.
type Folds = HashMap<PartnerId, HashMap<String, Folded>>;

/// A partner's open registrations: how many, and the share that is tidy.
#[derive(Debug, Clone, Copy)]
struct Open {
    count: i64,
    hygiene: Quantity,
}

/// What was measured: folded metrics and open registrations per partner.
#[derive(Debug, Default)]
pub(crate) struct Measured {
    folds: Folds,
    open: HashMap<PartnerId, Open>,
}

impl Measured {
    /// What each criterion applying to a partner of `kind` reads; a partner
    /// with no rows reads zero everywhere.
    pub(crate) fn observed(
        &self,
        program: &Program,
        partner: PartnerId,
        kind: PartnerKind,
    ) -> BTreeMap<String, Observed> {
        let empty = HashMap::new();
        let metrics = self.folds.get(&partner).unwrap_or(&empty);
        let hygiene = self.open.get(&partner).map(|open| open.hygiene);
        observe(program, kind, metrics, hygiene)
    }

    /// How many open registrations a partner has: the hygiene pass counts
    /// them anyway, so a list of partners gets them without another pass.
    pub(crate) fn open_registrations(&self, partner: PartnerId) -> i64 {
        self.open.get(&partner).map_or(0, |open| open.count)
    }
}

/// What every criterion of the program reads for one partner, with the
/// evidence behind each.
pub(crate) async fn one(
    conn: &mut AnyConnection,
    program: &Program,
    partner: PartnerId,
    kind: PartnerKind,
    window: &Window,
) -> Result<BTreeMap<String, Observed>> {
    let only = Some(partner);
    let mut folds = sums(conn, window, only).await?;
    merge_items(&mut folds, items(conn, program, window, only).await?);
    add_latest(conn, program, window, only, &mut folds).await?;
    let open = open_registrations(conn, only, "").await?;
    let measured = Measured { folds, open };
    let mut observed = measured.observed(program, partner, kind);
    attach_evidence(conn, program, partner, window, &mut observed).await?;
    Ok(observed)
}

/// What every partner measured (a review). The window sums, the active
/// items and the hygiene each take a full pass, so they run at once, each
/// on a reader of its own.
pub(crate) async fn all(store: &Store, program: &Program, window: &Window) -> Result<Measured> {
    let pool = &store.reader;
    let index = store.open_tidy_index();
    let (mut folds, active, open) = tokio::try_join!(
        async { sums(&mut *pool.acquire().await?, window, None).await },
        async { items(&mut *pool.acquire().await?, program, window, None).await },
        async { open_registrations(&mut *pool.acquire().await?, None, index).await },
    )?;
    merge_items(&mut folds, active);
    add_latest(
        &mut *pool.acquire().await?,
        program,
        window,
        None,
        &mut folds,
    )
    .await?;
    Ok(Measured { folds, open })
}

/// Turns folded metrics into each applicable criterion's value.
fn observe(
    program: &Program,
    kind: PartnerKind,
    metrics: &HashMap<String, Folded>,
    hygiene: Option<Quantity>,
) -> BTreeMap<String, Observed> {
    applicable(&program.criteria, kind)
        .map(|criterion| {
            let value = value_of(criterion, metrics, hygiene);
            let observed = Observed {
                value,
                evidence: Vec::new(),
            };
            (criterion.id.clone(), observed)
        })
        .collect()
}

fn value_of(
    criterion: &Criterion,
    metrics: &HashMap<String, Folded>,
    hygiene: Option<Quantity>,
) -> Quantity {
    let folded = metrics.get(&criterion.metric).cloned().unwrap_or_default();
    match criterion.aggregate {
        Aggregate::Sum => {
            let weighted = criterion.weights.iter().map(|(part, weight)| {
                let name = format!("{}.{part}", criterion.metric);
                let total = metrics.get(&name).map_or(Quantity::ZERO, |f| f.total);
                total.weighted(*weight)
            });
            weighted.fold(folded.total, |sum, part| sum + part)
        }
        Aggregate::Average => Quantity::mean(folded.total, folded.count).unwrap_or_default(),
        Aggregate::Latest if criterion.metric == HYGIENE => hygiene.unwrap_or(Quantity::ONE),
        Aggregate::Latest => folded.latest.map(|(_, v)| v).unwrap_or_default(),
        Aggregate::CountDistinctActive => Quantity::from_units(folded.items),
    }
}

/// The partner filter of a statement, as parameter `$n`, or nothing for
/// every partner. Written in or left out rather than `($n IS NULL OR ...)`,
/// which would keep the database from using the partner index.
fn only(partner: Option<PartnerId>, n: usize) -> String {
    match partner {
        Some(_) => format!("partner_id = ${n} AND"),
        None => String::new(),
    }
}

/// Binds the partner of [`only`] when there is one; its parameter is the
/// last of each statement, so it is bound last.
fn bind_partner<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    partner: Option<PartnerId>,
) -> Query<'q, Any, AnyArguments<'q>> {
    match partner {
        Some(p) => query.bind(p.0),
        None => query,
    }
}

/// The day items must still be active on: the window's last day.
fn as_of(window: &Window) -> Date {
    (window.end - time::Duration::microseconds(1)).date()
}

/// Sums and counts of the rows inside the window, per partner and metric.
async fn sums(
    conn: &mut AnyConnection,
    window: &Window,
    partner: Option<PartnerId>,
) -> Result<Folds> {
    let inner = format!(
        "SELECT partner_id, metric, CAST(SUM(value) AS BIGINT) AS total, COUNT(*) AS n \
         FROM metrics WHERE {} occurred_at >= $1 AND occurred_at < $2 GROUP BY partner_id, metric",
        only(partner, 3)
    );
    let sql = packed(&inner, "metric || ' ' || total || ' ' || n");
    let query = sqlx::query(&sql)
        .bind(micros(window.start))
        .bind(micros(window.end));
    let rows = bind_partner(query, partner).fetch_all(&mut *conn).await?;
    let mut folds = Folds::new();
    for (partner, metric, numbers) in unpack(&rows)? {
        let folded = Folded {
            total: Quantity::from_scaled(numbers[0]),
            count: numbers[1],
            ..Folded::default()
        };
        folds.entry(partner).or_default().insert(metric, folded);
    }
    Ok(folds)
}

/// Distinct items still active at the window's end, per partner and metric:
/// recorded before the end, not expired, and not older than a criterion's
/// `max_age_days`, wherever they started.
async fn items(
    conn: &mut AnyConnection,
    program: &Program,
    window: &Window,
    partner: Option<PartnerId>,
) -> Result<Vec<(PartnerId, String, Vec<i64>)>> {
    let inner = format!(
        "SELECT partner_id, metric, COUNT(DISTINCT item) AS items FROM metrics \
         WHERE {} item IS NOT NULL AND occurred_at < $1 AND (expires_on IS NULL OR expires_on >= $2) \
         AND occurred_at >= {} GROUP BY partner_id, metric",
        only(partner, 3),
        item_age_floor(program, window)
    );
    let sql = packed(&inner, "metric || ' ' || items");
    let query = sqlx::query(&sql)
        .bind(micros(window.end))
        .bind(as_of(window).to_string());
    let rows = bind_partner(query, partner).fetch_all(&mut *conn).await?;
    unpack(&rows)
}

/// Wraps a statement grouped by partner and metric so each partner comes
/// back as one row, its metrics one line each (`line` builds the line).
/// Fewer, longer rows: the driver's cost is per row, and a review reads
/// every partner's half dozen metrics.
fn packed(inner: &str, line: &str) -> String {
    format!("SELECT partner_id, string_agg({line}, '\n') AS packed FROM ({inner}) g GROUP BY partner_id")
}

/// The rows of [`packed`]: partner, metric, and the numbers after it.
fn unpack(rows: &[AnyRow]) -> Result<Vec<(PartnerId, String, Vec<i64>)>> {
    let mut out = Vec::new();
    for row in rows {
        let partner = PartnerId(row.int("partner_id")?);
        for line in row.text("packed")?.lines() {
            let corrupt = || StoreError::Corrupt(format!("packed metric line {line:?}"));
            let mut parts = line.split(' ');
            let metric = parts.next().ok_or_else(corrupt)?.to_owned();
            let numbers = parts
                .map(|n| n.parse().map_err(|_| corrupt()))
                .collect::<Result<Vec<i64>>>()?;
            out.push((partner, metric, numbers));
        }
    }
    Ok(out)
}

fn merge_items(folds: &mut Folds, active: Vec<(PartnerId, String, Vec<i64>)>) {
    for (partner, metric, numbers) in active {
        let folded = folds.entry(partner).or_default().entry(metric).or_default();
        folded.items = numbers[0];
    }
}

/// The earliest `occurred_at` an item may have to count, per metric: a
/// criterion with `max_age_days` (recent proof) forgets older items. Metric
/// names are validated slugs and the bounds integers, so they are written
/// into the statement rather than bound, keeping it one statement whatever
/// the number of criteria.
fn item_age_floor(program: &Program, window: &Window) -> String {
    let arms: Vec<String> = program
        .criteria
        .iter()
        .filter_map(|c| {
            let days = c.max_age_days?;
            let floor = window.end - time::Duration::days(i64::from(days));
            Some(format!(
                "WHEN '{}' THEN {}",
                c.metric.replace('\'', "''"),
                micros(floor)
            ))
        })
        .collect();
    match arms.is_empty() {
        true => EARLIEST.to_string(),
        false => format!("CASE metric {} ELSE {EARLIEST} END", arms.join(" ")),
    }
}

/// Fills in the newest value inside the window of each metric a `latest`
/// criterion reads from metric rows.
async fn add_latest(
    conn: &mut AnyConnection,
    program: &Program,
    window: &Window,
    partner: Option<PartnerId>,
    folds: &mut Folds,
) -> Result<()> {
    for metric in latest_metrics(program) {
        let sql = format!(
            "SELECT partner_id, value, occurred_at FROM metrics \
             WHERE {} metric = $1 AND occurred_at >= $2 AND occurred_at < $3",
            only(partner, 4)
        );
        let query = sqlx::query(&sql)
            .bind(metric)
            .bind(micros(window.start))
            .bind(micros(window.end));
        let rows = bind_partner(query, partner).fetch_all(&mut *conn).await?;
        for row in &rows {
            let seen = (
                row.at("occurred_at")?,
                Quantity::from_scaled(row.int("value")?),
            );
            let metrics = folds.entry(PartnerId(row.int("partner_id")?)).or_default();
            let folded = metrics.entry(metric.to_owned()).or_default();
            if folded.latest.is_none_or(|(at, _)| seen.0 >= at) {
                folded.latest = Some(seen);
            }
        }
    }
    Ok(())
}

/// Metrics that `latest` criteria read from rows (hygiene is computed).
fn latest_metrics(program: &Program) -> Vec<&str> {
    let mut metrics: Vec<&str> = program
        .criteria
        .iter()
        .filter(|c| c.aggregate == Aggregate::Latest && c.metric != HYGIENE)
        .map(|c| c.metric.as_str())
        .collect();
    metrics.sort_unstable();
    metrics.dedup();
    metrics
}

/// Open registrations per partner, with their hygiene: the share that name
/// a customer contact and record a next step. A partner with no open
/// registration has nothing untidy, so it has no entry (read as 1). The
/// tidy test is written exactly as the index `registrations_open_tidy`
/// holds it (migration 0014), so the count reads the index alone; `index`
/// names it where the planner needs telling.
async fn open_registrations(
    conn: &mut AnyConnection,
    partner: Option<PartnerId>,
    index: &str,
) -> Result<HashMap<PartnerId, Open>> {
    let sql = format!(
        "SELECT partner_id, COUNT(*) AS open, \
         SUM(CAST((deal_next_step IS NOT NULL AND contact_name <> '') AS INTEGER)) AS tidy \
         FROM registrations{index} WHERE {} status IN ('submitted', 'more_info', 'approved') \
         GROUP BY partner_id",
        only(partner, 1)
    );
    let rows = bind_partner(sqlx::query(&sql), partner)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let (open, tidy) = (row.int("open")?, row.int("tidy")?);
            let hygiene = Quantity::from_scaled(tidy * Quantity::SCALE / open.max(1));
            let counted = Open {
                count: open,
                hygiene,
            };
            Ok((PartnerId(row.int("partner_id")?), counted))
        })
        .collect()
}

/// The evidence (URLs or ids) of the rows behind each criterion: rows inside
/// the window, and items still active at its end.
async fn attach_evidence(
    conn: &mut AnyConnection,
    program: &Program,
    partner: PartnerId,
    window: &Window,
    observed: &mut BTreeMap<String, Observed>,
) -> Result<()> {
    let rows = sqlx::query(
        "SELECT metric, evidence FROM metrics WHERE partner_id = $1 AND evidence IS NOT NULL \
         AND occurred_at < $2 AND (occurred_at >= $3 \
         OR (item IS NOT NULL AND (expires_on IS NULL OR expires_on >= $4))) \
         ORDER BY occurred_at DESC, id DESC",
    )
    .bind(partner.0)
    .bind(micros(window.end))
    .bind(micros(window.start))
    .bind(as_of(window).to_string())
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        let metric = row.text("metric")?;
        for criterion in program.criteria_reading(&metric) {
            if let Some(seen) = observed.get_mut(&criterion.id) {
                let evidence = row.text("evidence")?;
                if seen.evidence.len() < EVIDENCE_SHOWN && !seen.evidence.contains(&evidence) {
                    seen.evidence.push(evidence);
                }
            }
        }
    }
    Ok(())
}
