//! A measurement as senders state it (the API's JSON body, or a row of
//! `trellis import metrics`), checked against the program before it is
//! recorded: both ways in refuse the same mistakes with the same words.

use crate::input::Checker;
use crate::problem::ApiResult;
use serde::Deserialize;
use time::{Date, OffsetDateTime};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{Aggregate, Quantity};
use trellis_domain::DomainError;
use trellis_store::{NewMetric, HYGIENE};
use utoipa::ToSchema;

/// How far ahead of the server's clock a measurement may be dated: senders'
/// clocks and time zones drift, a measurement from next week is a mistake.
const FUTURE_TOLERANCE: time::Duration = time::Duration::days(1);
/// Longest `source_id`, `item` or evidence accepted.
const MAX_TEXT: usize = 500;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricRequest {
    /// A metric some criterion reads (`revenue.resold`, `csat`, `certification`).
    metric: String,
    /// A number with at most four decimals (or the same as a string).
    #[schema(value_type = f64)]
    value: serde_json::Value,
    /// RFC 3339.
    occurred_at: String,
    /// The sender's id for this measurement; sending it again is a replay.
    source_id: String,
    evidence_url: Option<String>,
    /// The id of the evidence in another system, instead of a URL.
    evidence_id: Option<String>,
    /// What `count_distinct_active` counts: the certified person, the case study.
    item: Option<String>,
    /// The last day the item counts (YYYY-MM-DD).
    expires_on: Option<String>,
    /// Marks a negative revenue value as a credit note.
    #[serde(default)]
    credit: Option<bool>,
}

impl MetricRequest {
    /// The measurement for `partner`, or every problem with it.
    pub fn validate(
        self,
        program: &Program,
        partner: PartnerId,
        now: OffsetDateTime,
    ) -> ApiResult<NewMetric> {
        let mut c = Checker::default();
        let metric = known_metric(&mut c, program, &self.metric);
        let value = c.check("value", Quantity::from_json(&self.value));
        if let (Some(metric), Some(value)) = (&metric, value) {
            check_sign(&mut c, program, metric, value, self.credit.unwrap_or(false));
        }
        let occurred_at = c.check("occurred_at", rfc3339("occurred_at", &self.occurred_at));
        if occurred_at.is_some_and(|at| at > now + FUTURE_TOLERANCE) {
            c.fail(
                "occurred_at",
                "is in the future; date a measurement when it happened",
            );
        }
        let source_id = bounded(&mut c, "source_id", Some(self.source_id));
        let evidence = evidence(&mut c, self.evidence_url, self.evidence_id);
        let item = bounded(&mut c, "item", self.item);
        if let Some(metric) = &metric {
            if evidence.is_none() && program.metric_requires_evidence(metric) {
                c.fail("evidence_url", format!("{metric} is a capability metric and needs evidence: send evidence_url or evidence_id"));
            }
            if item.is_none() && counts_items(program, metric) {
                c.fail("item", format!("{metric} counts distinct items: name the item (the certified person, the case study)"));
            }
        }
        let expires_on = self
            .expires_on
            .as_deref()
            .and_then(|d| c.check("expires_on", day("expires_on", d)));
        c.finish(|| {
            Some(NewMetric {
                partner_id: partner,
                metric: metric?,
                value: value?,
                occurred_at: occurred_at?,
                source_id: source_id?,
                evidence,
                item,
                expires_on,
            })
        })
    }
}

/// A metric some criterion reads and that may be posted.
fn known_metric(c: &mut Checker, program: &Program, metric: &str) -> Option<String> {
    if metric == HYGIENE {
        c.fail(
            "metric",
            format!(
                "{HYGIENE} is computed from the partner's open registrations; it cannot be posted"
            ),
        );
        return None;
    }
    if program.known_metric(metric) {
        return Some(metric.to_owned());
    }
    let mut known: Vec<String> = program
        .criteria
        .iter()
        .flat_map(|cr| {
            let parts = cr.weights.keys().map(|k| format!("{}.{k}", cr.metric));
            std::iter::once(cr.metric.clone()).chain(parts)
        })
        .filter(|m| m != HYGIENE)
        .collect();
    known.sort();
    known.dedup();
    c.fail(
        "metric",
        format!(
            "no criterion reads '{metric}': use one of {}",
            known.join(", ")
        ),
    );
    None
}

/// Negative values are credit notes against a summed metric, and must say so.
fn check_sign(c: &mut Checker, program: &Program, metric: &str, value: Quantity, credit: bool) {
    if value >= Quantity::ZERO {
        return;
    }
    let summed = program
        .criteria_reading(metric)
        .all(|cr| cr.aggregate == Aggregate::Sum);
    match (summed, credit) {
        (true, true) => {}
        (true, false) => c.fail(
            "value",
            "is negative: a credit note must say so with \"credit\": true",
        ),
        (false, _) => c.fail("value", format!("{metric} cannot be negative")),
    }
}

fn counts_items(program: &Program, metric: &str) -> bool {
    program
        .criteria_reading(metric)
        .any(|cr| cr.aggregate == Aggregate::CountDistinctActive)
}

fn bounded(c: &mut Checker, field: &str, value: Option<String>) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    if value.chars().count() > MAX_TEXT || value.chars().any(char::is_control) {
        c.fail(
            field,
            format!("must be at most {MAX_TEXT} characters, without control characters"),
        );
        return None;
    }
    Some(value)
}

/// The evidence: an http(s) URL, or an id in another system.
fn evidence(c: &mut Checker, url: Option<String>, id: Option<String>) -> Option<String> {
    if let Some(url) = bounded(c, "evidence_url", url) {
        return match reqwest::Url::parse(&url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(url),
            _ => {
                c.fail("evidence_url", "must be an http or https URL");
                None
            }
        };
    }
    bounded(c, "evidence_id", id)
}

fn rfc3339(field: &'static str, text: &str) -> Result<OffsetDateTime, DomainError> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| {
            DomainError::field(
                field,
                "must be an RFC 3339 time such as 2026-11-25T09:30:00Z",
            )
        })
}

pub(crate) fn day(field: &'static str, text: &str) -> Result<Date, DomainError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format)
        .map_err(|_| DomainError::field(field, "must be a date such as 2027-03-31"))
}
