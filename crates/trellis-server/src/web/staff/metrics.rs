//! `GET /staff/metrics`: registration metrics over a chosen period, each a
//! chart with its figures beside it, and `GET /staff/metrics/{name}.csv`:
//! one metric's figures as a spreadsheet file.

use super::periods::{Buckets, Period};
use super::reports::{Metric, Report, Table, TOP};
use super::{Frame, Section, StaffSignedIn};
use crate::web::render;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use time::Duration;
use trellis_store::{Asked, Figures, StoreError};

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
    reports: [Report; 10],
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Query(choice): Query<Choice>,
) -> Response {
    let (chosen, problem) = match period(&choice) {
        Ok(chosen) => (chosen, None),
        Err(problem) => (Period::DEFAULT, Some(problem)),
    };
    let reports = match count(&state, chosen).await {
        Ok(counted) => Metric::ALL.map(|metric| counted.report(metric)),
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

/// A period's figures as of now, with what drawing them needs.
struct Counted {
    figures: Figures,
    buckets: Buckets,
    sla_days: u32,
}

impl Counted {
    fn report(&self, metric: Metric) -> Report {
        metric.report(&self.figures, &self.buckets, self.sla_days)
    }
}

/// The figures over `period` as of now, from the parts this process keeps
/// per day (`trellis_store::MetricDays`): a change costs only the days it
/// touched, and nothing shown is ever out of date.
async fn count(state: &AppState, period: Period) -> Result<Counted, StoreError> {
    let now = state.clock.now();
    let sla_days = state.program.registration.meeting_sla_days;
    let asked = Asked {
        span: period.span(now),
        now,
        meeting_sla: Duration::days(sla_days.into()),
        top: TOP,
    };
    Ok(Counted {
        figures: state.metric_days.figures(&state.store, &asked).await?,
        buckets: period.buckets(now),
        sla_days,
    })
}

/// Counts the longest period's figures once, in the background after a
/// start, so that the first page opened answers from memory (every other
/// period lies within it).
pub async fn warm(state: AppState) {
    let started = std::time::Instant::now();
    match count(&state, Period::Last365).await {
        Ok(_) => tracing::info!(
            ms = started.elapsed().as_millis(),
            "metrics counted per day"
        ),
        Err(e) => tracing::warn!(error = %e, "counting the metrics per day failed"),
    }
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
    let report = match count(&state, chosen).await {
        Ok(counted) => counted.report(metric),
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
