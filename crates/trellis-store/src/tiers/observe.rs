//! What the criteria read: each partner's metric rows folded over a window.
//!
//! The folding happens in SQL, one pass over the covering index grouped by
//! partner and metric, because a review reads every partner at once and
//! shipping millions of rows out of the database would cost far more than
//! adding them up inside it. The same statement, filtered to one partner,
//! serves a scorecard, so the two can never disagree.

use crate::error::Result;
use crate::rows::{micros, RowExt};
use sqlx::any::AnyArguments;
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

/// What every criterion of the program reads for one partner, with the
/// evidence behind each.
pub(crate) async fn one(
    conn: &mut AnyConnection,
    program: &Program,
    partner: PartnerId,
    kind: PartnerKind,
    window: &Window,
) -> Result<BTreeMap<String, Observed>> {
    let folds = fold_rows(conn, program, window, Some(partner)).await?;
    let hygiene = hygiene(conn, Some(partner)).await?;
    let empty = HashMap::new();
    let metrics = folds.get(&partner).unwrap_or(&empty);
    let mut observed = observe(program, kind, metrics, hygiene.get(&partner).copied());
    attach_evidence(conn, program, partner, window, &mut observed).await?;
    Ok(observed)
}

/// What every criterion reads for every partner (a review), without
/// evidence. Partners with no rows read zero everywhere.
pub(crate) async fn all(
    conn: &mut AnyConnection,
    program: &Program,
    partners: &[(PartnerId, PartnerKind)],
    window: &Window,
) -> Result<HashMap<PartnerId, BTreeMap<String, Observed>>> {
    let folds = fold_rows(conn, program, window, None).await?;
    let hygiene = hygiene(conn, None).await?;
    let empty = HashMap::new();
    Ok(partners
        .iter()
        .map(|&(id, kind)| {
            let metrics = folds.get(&id).unwrap_or(&empty);
            (
                id,
                observe(program, kind, metrics, hygiene.get(&id).copied()),
            )
        })
        .collect())
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

/// Sums, counts and active items per partner and metric, in one statement;
/// then the newest value of metrics that `latest` criteria read.
async fn fold_rows(
    conn: &mut AnyConnection,
    program: &Program,
    window: &Window,
    partner: Option<PartnerId>,
) -> Result<Folds> {
    let sql = format!(
        "SELECT partner_id, metric, \
         CAST(SUM(CASE WHEN occurred_at >= $1 THEN value ELSE 0 END) AS BIGINT) AS total, \
         COUNT(CASE WHEN occurred_at >= $1 THEN 1 END) AS n, \
         COUNT(DISTINCT CASE WHEN item IS NOT NULL AND (expires_on IS NULL OR expires_on >= $3) \
         AND occurred_at >= {} THEN item END) AS items \
         FROM metrics WHERE {} occurred_at < $2 AND (occurred_at >= $1 OR item IS NOT NULL) \
         GROUP BY partner_id, metric",
        item_age_floor(program, window),
        only(partner, 4)
    );
    let query = sqlx::query(&sql)
        .bind(micros(window.start))
        .bind(micros(window.end))
        .bind(as_of(window).to_string());
    let rows = bind_partner(query, partner).fetch_all(&mut *conn).await?;
    let mut folds = Folds::new();
    for row in &rows {
        let folded = Folded {
            total: Quantity::from_scaled(row.int("total")?),
            count: row.int("n")?,
            items: row.int("items")?,
            latest: None,
        };
        let metrics = folds.entry(PartnerId(row.int("partner_id")?)).or_default();
        metrics.insert(row.text("metric")?, folded);
    }
    add_latest(conn, program, window, partner, &mut folds).await?;
    Ok(folds)
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

/// Registration hygiene per partner: the share of its open registrations
/// that name a customer contact and record a next step. A partner with no
/// open registration has nothing untidy, so it has no entry (read as 1).
async fn hygiene(
    conn: &mut AnyConnection,
    partner: Option<PartnerId>,
) -> Result<HashMap<PartnerId, Quantity>> {
    let sql = format!(
        "SELECT partner_id, COUNT(*) AS open, \
         COUNT(CASE WHEN deal_next_step IS NOT NULL AND contact_name <> '' THEN 1 END) AS tidy \
         FROM registrations WHERE {} status IN ('submitted', 'more_info', 'approved') \
         GROUP BY partner_id",
        only(partner, 1)
    );
    let rows = bind_partner(sqlx::query(&sql), partner)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let (open, tidy) = (row.int("open")?, row.int("tidy")?);
            let share = Quantity::from_scaled(tidy * Quantity::SCALE / open.max(1));
            Ok((PartnerId(row.int("partner_id")?), share))
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
