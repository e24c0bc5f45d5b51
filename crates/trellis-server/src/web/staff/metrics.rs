//! `GET /staff/metrics`: registration metrics over a chosen period, each a
//! chart with its figures beside it, and `GET /staff/metrics/{name}.csv`:
//! one metric's figures as a spreadsheet file.

use super::periods::Period;
use super::reports::{Metric, Report, Table};
use super::{Frame, Section, StaffSignedIn};
use crate::web::render;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use trellis_store::StoreError;

#[derive(Deserialize)]
pub struct Choice {
    period: Option<String>,
}

/// The period asked for: the default when none is, an error naming the
/// choices when it is not one of them.
fn period(choice: &Choice) -> Result<Period, String> {
    match choice.period.as_deref() {
        None | Some("") => Ok(Period::DEFAULT),
        Some(asked) => Period::parse(asked).ok_or_else(|| {
            let names: Vec<&str> = Period::ALL.iter().map(|p| p.param()).collect();
            format!(
                "There is no period \"{asked}\": choose one of {}.",
                names.join(", ")
            )
        }),
    }
}

#[derive(Template)]
#[template(path = "staff_metrics.html")]
struct MetricsPage {
    frame: Frame,
    period: Period,
    periods: [Period; 4],
    problem: Option<String>,
    reports: Arc<Vec<Report>>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(computed): Extension<Arc<Computed>>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Query(choice): Query<Choice>,
) -> Response {
    let (chosen, problem) = match period(&choice) {
        Ok(chosen) => (chosen, None),
        Err(problem) => (Period::DEFAULT, Some(problem)),
    };
    let reports = match reports(&state, &computed, chosen).await {
        Ok(reports) => reports,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let (jar, frame) = Frame::new(&state, jar, &signed_in, Section::Metrics);
    let status = match problem {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = MetricsPage {
        frame,
        period: chosen,
        periods: Period::ALL,
        problem,
        reports,
    };
    (jar, render(status, &page, None)).into_response()
}

/// Figures already computed, per period, with what they were computed at:
/// the event log's version (every change appends an event) and the minute
/// (holds run out with time). While both stand the figures are exactly what
/// computing them again would give, so a page opened again, or by a
/// colleague, is answered from memory. Each process keeps its own.
#[derive(Default)]
pub struct Computed(Mutex<HashMap<Period, (Stamp, Reports)>>);

/// What figures were computed at: the event log's version and the minute.
type Stamp = (i64, i64);

/// Every metric's figures for one period, shared by the pages showing them.
type Reports = Arc<Vec<Report>>;

pub fn computed() -> Arc<Computed> {
    Arc::new(Computed::default())
}

/// Every metric over `period`: the kept figures when nothing changed
/// since, else computed afresh, the metrics side by side.
async fn reports(
    state: &AppState,
    computed: &Computed,
    period: Period,
) -> Result<Arc<Vec<Report>>, StoreError> {
    let now = state.clock.now();
    let stamp = (
        state.store.change_version().await?,
        now.unix_timestamp() / 60,
    );
    let kept = computed
        .0
        .lock()
        .ok()
        .and_then(|kept| kept.get(&period).cloned());
    if let Some((_, reports)) = kept.filter(|(at, _)| *at == stamp) {
        return Ok(reports);
    }
    let mut running = tokio::task::JoinSet::new();
    for (at, metric) in Metric::ALL.into_iter().enumerate() {
        let state = state.clone();
        running.spawn(async move { (at, metric.report(&state, period, now).await) });
    }
    let mut reports: Vec<Option<Report>> = Metric::ALL.iter().map(|_| None).collect();
    while let Some(done) = running.join_next().await {
        let (at, report) =
            done.map_err(|e| StoreError::Corrupt(format!("a metric failed: {e}")))?;
        reports[at] = Some(report?);
    }
    let reports = Arc::new(reports.into_iter().flatten().collect::<Vec<_>>());
    if let Ok(mut kept) = computed.0.lock() {
        kept.insert(period, (stamp, reports.clone()));
    }
    Ok(reports)
}

/// A CSV answer the browser saves, or a plain-text refusal.
pub async fn csv(
    State(state): State<AppState>,
    _signed_in: StaffSignedIn,
    Path(file): Path<String>,
    Query(choice): Query<Choice>,
) -> Response {
    let Some(metric) = file.strip_suffix(".csv").and_then(Metric::parse) else {
        return (StatusCode::NOT_FOUND, "No such metric.").into_response();
    };
    let chosen = match period(&choice) {
        Ok(chosen) => chosen,
        Err(problem) => return (StatusCode::UNPROCESSABLE_ENTITY, problem).into_response(),
    };
    let report = match metric.report(&state, chosen, state.clock.now()).await {
        Ok(report) => report,
        Err(e) => return crate::problem::ApiError::from(e).into_response(),
    };
    let body = match write_csv(&report.table) {
        Ok(body) => body,
        Err(e) => return crate::problem::ApiError::Internal(e.into()).into_response(),
    };
    let disposition = format!(
        "attachment; filename=\"{}-{}.csv\"",
        metric.name(),
        chosen.param()
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

fn write_csv(table: &Table) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(table.columns.iter().map(|c| defused(c).into_owned()))?;
    for row in &table.rows {
        out.write_record(row.iter().map(|c| defused(c).into_owned()))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// A cell a spreadsheet will not run as a formula: one starting with
/// `=`, `+`, `-` or `@` is prefixed with a single quote (OWASP's advice on
/// CSV injection), since names and segments are typed by partners.
fn defused(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_quotes_escaped() {
        let table = Table {
            columns: vec!["Partner".into(), "Submitted".into()],
            rows: vec![
                vec!["=HYPERLINK(\"x\")".into(), "3".into()],
                vec!["@sum".into(), "-1".into()],
                vec!["Plain, Inc.".into(), "+2".into()],
            ],
        };
        let text = String::from_utf8(write_csv(&table).expect("csv")).expect("utf-8");
        assert_eq!(
            text,
            "Partner,Submitted\n\"'=HYPERLINK(\"\"x\"\")\",3\n'@sum,'-1\n\"Plain, Inc.\",'+2\n"
        );
    }

    #[test]
    fn an_unknown_period_is_named_with_the_choices() {
        let asked = Choice {
            period: Some("week".into()),
        };
        assert_eq!(
            period(&asked),
            Err("There is no period \"week\": choose one of 30d, 90d, 365d, quarter.".into())
        );
        assert_eq!(period(&Choice { period: None }), Ok(Period::DEFAULT));
    }
}
