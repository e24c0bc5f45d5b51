//! `[[criteria]]`: what each tier asks of a partner.
//!
//! Criteria in a file replace the built-in set as a whole: merging would
//! leave a vendor unsure which checklist partners see. A file without any
//! keeps the built-in set.

use toml::de::DeValue;

use super::defaults::{default_criteria, MAX_AGE_DAYS};
use super::reader::{
    check_unique, is_lowercase_word, quantity_value, type_mismatch, Diagnostics, Element, Named,
    Origin, Setting, Span, TableReader,
};
use super::tiers::Ladder;
use super::{parse, ConfigErrors, ConfigIssue, Tier};
use crate::partner::PartnerKind;
use crate::tiering::{Aggregate, Bucket, Criterion, Quantity};

/// A criterion plus where its id was written, for the duplicate check.
struct Sourced {
    criterion: Criterion,
    id_key: String,
    id_span: Span,
}

/// Reads `criteria`, or the built-in set for the program's tiers.
pub(crate) fn read(document: &mut TableReader<'_, '_>, ladder: &Ladder) -> Vec<Criterion> {
    let criteria = document.array("criteria", "an array of [[criteria]] tables", |d, e| {
        read_criterion(d, e, ladder)
    });
    if let Origin::Default = criteria.origin {
        return default_criteria(&ladder.tiers);
    }
    let ids =
        (criteria.value.iter()).map(|c| (c.criterion.id.as_str(), c.id_key.as_str(), &c.id_span));
    check_unique(document.diagnostics(), "criterion id", ids);
    criteria.value.into_iter().map(|c| c.criterion).collect()
}

/// See [`super::Program::with_criteria_json`]: the JSON is written out as
/// the TOML a vendor would have typed, next to the program's tiers, and
/// read by [`parse::parse`], so both roads share every check.
pub(crate) fn from_json(
    tiers: &[Tier],
    criteria: &serde_json::Value,
) -> Result<Vec<Criterion>, ConfigErrors> {
    let unreadable = |error: &dyn std::fmt::Display| {
        let message = format!("cannot be read as criteria: {error}");
        ConfigErrors(vec![unplaced("criteria", message)])
    };
    let tiers = tiers.iter().map(|tier| {
        let fields = [("id", &tier.id), ("label", &tier.label)];
        let table = fields.map(|(key, value)| (key.to_owned(), toml::Value::from(value.as_str())));
        toml::Value::Table(table.into_iter().collect())
    });
    let mut document = toml::Table::new();
    document.insert("tiers".to_owned(), toml::Value::Array(tiers.collect()));
    let criteria = toml::Value::try_from(without_nulls(criteria)).map_err(|e| unreadable(&e))?;
    document.insert("criteria".to_owned(), criteria);
    let text = toml::to_string(&document).map_err(|e| unreadable(&e))?;
    match parse::parse(&text) {
        Ok(parsed) => Ok(parsed.program.criteria),
        Err(ConfigErrors(issues)) => Err(ConfigErrors(
            issues
                .into_iter()
                .map(|issue| unplaced(&issue.key, issue.message))
                .collect(),
        )),
    }
}

/// `criteria` without the object members set to null, which JSON clients
/// send for a key they leave out and TOML cannot hold.
fn without_nulls(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(members) => Value::Object(
            (members.iter())
                .filter(|(_, member)| !member.is_null())
                .map(|(key, member)| (key.clone(), without_nulls(member)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// An issue in input that is not a file, so it has no line or column.
fn unplaced(key: &str, message: String) -> ConfigIssue {
    ConfigIssue {
        line: 0,
        column: 0,
        key: key.to_owned(),
        message,
    }
}

fn read_criterion<'i>(
    diagnostics: &mut Diagnostics<'i>,
    element: Element<'_, 'i>,
    ladder: &Ladder,
) -> Option<Sourced> {
    let DeValue::Table(table) = element.value else {
        let message = type_mismatch("a [[criteria]] table", element.value);
        diagnostics.error(&element.span, &element.key, message);
        return None;
    };
    let mut fields = TableReader::new(diagnostics, element.key.clone(), Some(table));
    let written = Written::read(&mut fields, ladder);
    fields.finish();
    written.check(&mut Place {
        diagnostics,
        key: &element.key,
        span: &element.span,
    })
}

/// What to write when a required key is missing.
const NEEDS_ID: &str = "every criterion needs an id, such as `revenue`";
const NEEDS_LABEL: &str = "every criterion needs a label for partners to read";
const NEEDS_BUCKET: &str = "every criterion needs a bucket: outcome or capability";
const NEEDS_METRIC: &str = "a criterion without a metric cannot be measured; \
                            name the metric rows it reads, such as `revenue`";
const NEEDS_AGGREGATE: &str = "a criterion without an aggregate cannot be measured; \
                               write sum, average, latest or count_distinct_active";

/// Every key of one `[[criteria]]` table as written, before the checks
/// that involve several keys.
struct Written {
    id: Setting<String>,
    label: Setting<String>,
    bucket: Setting<Bucket>,
    metric: Setting<String>,
    aggregate: Setting<Aggregate>,
    thresholds: Setting<Vec<Named<Threshold>>>,
    kinds: Setting<Vec<String>>,
    weights: Setting<Vec<Named<Quantity>>>,
    requires_evidence: Setting<bool>,
    max_age_days: Setting<u32>,
}

impl Written {
    /// The placeholders given as defaults never reach a criterion: a
    /// required key left out is reported by [`Place::required`].
    fn read(fields: &mut TableReader<'_, '_>, ladder: &Ladder) -> Written {
        Written {
            id: fields.string("id", ""),
            label: fields.string("label", ""),
            bucket: fields.choice("bucket", Bucket::Outcome, &Bucket::ALL, Bucket::as_str),
            metric: fields.string("metric", ""),
            aggregate: fields.choice(
                "aggregate",
                Aggregate::Sum,
                &Aggregate::ALL,
                Aggregate::as_str,
            ),
            thresholds: fields.map(
                "thresholds",
                "a table of tier id = number",
                |d, name, entry| threshold(d, name, entry, ladder),
            ),
            kinds: fields.strings("kinds", &[]),
            weights: fields.map("weights", "a table of sub-metric = weight", weight),
            requires_evidence: fields.boolean("requires_evidence", false),
            max_age_days: fields.integer("max_age_days", *MAX_AGE_DAYS.end(), MAX_AGE_DAYS),
        }
    }

    /// Checks every key, reporting all problems before giving up.
    fn check(self, at: &mut Place<'_, '_>) -> Option<Sourced> {
        let id = at.required("id", self.id, NEEDS_ID);
        let id = id.filter(|(id, span)| checked_id(at, id, span));
        let label = at.required("label", self.label, NEEDS_LABEL);
        let label = label.and_then(|(label, span)| checked_label(at, &label, &span));
        let bucket = at.required("bucket", self.bucket, NEEDS_BUCKET);
        let metric = at.required("metric", self.metric, NEEDS_METRIC);
        let metric = metric.filter(|(metric, span)| checked_metric(at, metric, span));
        let aggregate = at.required("aggregate", self.aggregate, NEEDS_AGGREGATE);
        let aggregate = aggregate.map(|(aggregate, _)| aggregate);
        let thresholds = checked_thresholds(at, self.thresholds);
        let kinds = checked_kinds(at, self.kinds);
        let weights = only_with(at, "weights", self.weights, aggregate, Aggregate::Sum);
        let max_age_days = only_with(
            at,
            "max_age_days",
            self.max_age_days,
            aggregate,
            Aggregate::CountDistinctActive,
        );
        let bucket = bucket?.0;
        let requires_evidence = match self.requires_evidence.origin {
            Origin::File(_) => self.requires_evidence.value,
            Origin::Default | Origin::Rejected => bucket == Bucket::Capability,
        };
        let (id, id_span) = id?;
        let criterion = Criterion {
            id,
            label: label?,
            bucket,
            metric: metric?.0,
            aggregate: aggregate?,
            thresholds: thresholds?,
            kinds: kinds?,
            weights: (weights?.unwrap_or_default().into_iter())
                .map(|weight| (weight.name, weight.value))
                .collect(),
            requires_evidence,
            max_age_days: max_age_days?,
        };
        Some(Sourced {
            id_key: at.path("id"),
            id_span,
            criterion,
        })
    }
}

/// The `[[criteria]]` table being checked: where its own problems go.
struct Place<'d, 'i> {
    diagnostics: &'d mut Diagnostics<'i>,
    /// `criteria[2]`.
    key: &'d str,
    /// The table's span, for keys that are missing.
    span: &'d Span,
}

impl Place<'_, '_> {
    fn path(&self, field: &str) -> String {
        format!("{}.{field}", self.key)
    }

    fn error(&mut self, span: &Span, field: &str, message: impl Into<String>) {
        let key = self.path(field);
        self.diagnostics.error(span, &key, message);
    }

    /// The value of a key the criterion cannot do without, with its span;
    /// a missing one is reported at the table's first line.
    fn required<T>(
        &mut self,
        field: &str,
        setting: Setting<T>,
        missing: &str,
    ) -> Option<(T, Span)> {
        match setting.origin {
            Origin::File(span) => Some((setting.value, span)),
            Origin::Default => {
                let span = self.span.clone();
                self.error(&span, field, missing);
                None
            }
            Origin::Rejected => None,
        }
    }
}

/// A threshold with its tier's rank, for the ordering check; no rank when
/// `tiers` was rejected and tier ids are not checked.
struct Threshold {
    value: Quantity,
    rank: Option<usize>,
}

/// One `thresholds` entry: a tier of the program and a number.
fn threshold(
    diagnostics: &mut Diagnostics<'_>,
    tier: &str,
    entry: Element<'_, '_>,
    ladder: &Ladder,
) -> Option<Threshold> {
    if !ladder.check(diagnostics, tier, &entry.key, &entry.span) {
        return None;
    }
    match quantity_value(entry.value) {
        Ok(value) => Some(Threshold {
            value,
            rank: ladder.rank(tier),
        }),
        Err(message) => {
            diagnostics.error(&entry.span, &entry.key, message);
            None
        }
    }
}

/// One `weights` entry: the sub-metric `{metric}.{name}` and its weight.
fn weight(
    diagnostics: &mut Diagnostics<'_>,
    name: &str,
    entry: Element<'_, '_>,
) -> Option<Quantity> {
    let checked = if !is_lowercase_word(name, b"_") {
        Err(format!(
            "weight `{name}` must be lowercase a-z, 0-9 and `_`: it names the metric rows \
             `{{metric}}.{name}`"
        ))
    } else {
        quantity_value(entry.value).and_then(|weight| match weight < Quantity::ZERO {
            true => Err(format!("a weight must not be negative (found {weight})")),
            false => Ok(weight),
        })
    };
    checked
        .map_err(|message| diagnostics.error(&entry.span, &entry.key, message))
        .ok()
}

/// Ids key stored measurements, so they are checked, never rewritten.
fn checked_id(at: &mut Place<'_, '_>, id: &str, span: &Span) -> bool {
    let valid = is_lowercase_word(id, b"_-");
    if !valid {
        let message = format!("criterion id `{id}` must be lowercase a-z, 0-9, `_` and `-`");
        at.error(span, "id", message);
    }
    valid
}

fn checked_label(at: &mut Place<'_, '_>, label: &str, span: &Span) -> Option<String> {
    let label = label.trim();
    if label.is_empty() {
        at.error(span, "label", "criterion label must not be empty");
        return None;
    }
    Some(label.to_owned())
}

fn checked_metric(at: &mut Place<'_, '_>, metric: &str, span: &Span) -> bool {
    let valid = is_lowercase_word(metric, b"_.");
    if !valid {
        let message =
            format!("metric `{metric}` must be lowercase a-z, 0-9, `_` and `.`, such as `revenue`");
        at.error(span, "metric", message);
    }
    valid
}

/// At least one threshold, and none lower than a lower tier's: a partner
/// must never qualify for a tier while missing the one below it.
fn checked_thresholds(
    at: &mut Place<'_, '_>,
    thresholds: Setting<Vec<Named<Threshold>>>,
) -> Option<std::collections::BTreeMap<String, Quantity>> {
    let span = match thresholds.origin {
        Origin::File(span) => span,
        Origin::Default => {
            let message = "a criterion without thresholds asks nothing of any tier; \
                           write thresholds = { select = 100000 } with the program's tier ids";
            let table = at.span.clone();
            at.error(&table, "thresholds", message);
            return None;
        }
        Origin::Rejected => return None,
    };
    if thresholds.value.is_empty() {
        at.error(&span, "thresholds", "needs at least one tier id = number");
        return None;
    }
    let mut ranked: Vec<_> = (thresholds.value.iter())
        .filter_map(|entry| Some((entry.value.rank?, entry)))
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    let mut ordered = true;
    for pair in ranked.windows(2) {
        let ((_, lower), (_, higher)) = (pair[0], pair[1]);
        if higher.value.value < lower.value.value {
            let message = format!(
                "`{}` asks for {}, less than the {} asked by `{}` below it; \
                 a higher tier must not ask for less",
                higher.name, higher.value.value, lower.value.value, lower.name
            );
            at.error(
                &higher.span,
                &format!("thresholds.{}", higher.name),
                message,
            );
            ordered = false;
        }
    }
    let values = thresholds.value.into_iter();
    ordered.then(|| {
        values
            .map(|entry| (entry.name, entry.value.value))
            .collect()
    })
}

/// Partner kinds; none means every kind.
fn checked_kinds(at: &mut Place<'_, '_>, kinds: Setting<Vec<String>>) -> Option<Vec<PartnerKind>> {
    let span = match kinds.origin {
        Origin::File(span) => span,
        Origin::Default => return Some(Vec::new()),
        Origin::Rejected => return None,
    };
    let mut parsed = Vec::new();
    let mut valid = true;
    for kind in &kinds.value {
        match PartnerKind::parse(kind) {
            Some(kind) if parsed.contains(&kind) => {}
            Some(kind) => parsed.push(kind),
            None => {
                let accepted: Vec<&str> = PartnerKind::ALL.map(PartnerKind::as_str).to_vec();
                let message = format!(
                    "unknown partner kind `{kind}`; accepted kinds: {}",
                    accepted.join(", ")
                );
                at.error(&span, "kinds", message);
                valid = false;
            }
        }
    }
    valid.then_some(parsed)
}

/// A key that means something for one aggregate only. `Some(None)` when
/// absent; `None` when rejected, reported here when written for another
/// aggregate (not when the aggregate itself is missing: that is reported).
fn only_with<T>(
    at: &mut Place<'_, '_>,
    field: &str,
    setting: Setting<T>,
    aggregate: Option<Aggregate>,
    wanted: Aggregate,
) -> Option<Option<T>> {
    let span = match setting.origin {
        Origin::File(span) => span,
        Origin::Default => return Some(None),
        Origin::Rejected => return None,
    };
    match aggregate? {
        found if found == wanted => Some(Some(setting.value)),
        found => {
            let message = format!(
                "`{field}` applies only to aggregate = \"{}\"; this criterion uses \"{}\"",
                wanted.as_str(),
                found.as_str()
            );
            at.error(&span, field, message);
            None
        }
    }
}
