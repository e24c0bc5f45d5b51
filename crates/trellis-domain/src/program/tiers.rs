//! Reads `tiers`, which a vendor may write as a list of labels (ids derived
//! from them) or as `[[tiers]]` tables when an id must differ from its label,
//! for example to keep partners attached to a tier after it is renamed.

use toml::de::{DeTable, DeValue};

use super::defaults::default_tiers;
use super::reader::{
    check_unique, is_lowercase_word, type_mismatch, Diagnostics, Element, Origin, Setting, Span,
    TableReader,
};
use super::Tier;

/// Beyond this, partners stop understanding what moves them up a tier.
const MAX_FOLLOWABLE_TIERS: usize = 4;

/// A tier plus the key its id came from, so a duplicate is reported where the
/// vendor can fix it.
struct SourcedTier {
    tier: Tier,
    id_key: String,
    id_span: Span,
}

/// The tiers other sections (criteria thresholds, benefits) may name.
pub(crate) struct Ladder {
    pub(crate) tiers: Vec<Tier>,
    /// False when `tiers` was rejected: names are then not checked against
    /// the tiers that survived, since the vendor has to fix `tiers` first.
    complete: bool,
}

impl Ladder {
    pub(crate) fn rank(&self, id: &str) -> Option<usize> {
        self.tiers.iter().position(|tier| tier.id == id)
    }

    /// Whether `id` may be used as a tier id, reporting at `key` when not.
    pub(crate) fn check(
        &self,
        diagnostics: &mut Diagnostics<'_>,
        id: &str,
        key: &str,
        span: &Span,
    ) -> bool {
        if !self.complete || self.rank(id).is_some() {
            return true;
        }
        let ids: Vec<&str> = self.tiers.iter().map(|tier| tier.id.as_str()).collect();
        let message = format!(
            "unknown tier `{id}`; the program's tiers are {}",
            ids.join(", ")
        );
        diagnostics.error(span, key, message);
        false
    }
}

/// Reads `tiers` from the document, or the default ladder when it is absent.
pub(crate) fn read(document: &mut TableReader<'_, '_>) -> Ladder {
    let tiers = document.array(
        "tiers",
        "an array of tier labels or [[tiers]] tables",
        read_tier,
    );
    match &tiers.origin {
        Origin::Default => {
            return Ladder {
                tiers: default_tiers(),
                complete: true,
            }
        }
        Origin::File(span) => check_count(document.diagnostics(), span, tiers.value.len()),
        // A rejected element was reported; counting the rest would mislead.
        Origin::Rejected => {}
    }
    // Duplicates among the accepted tiers are real problems either way.
    check_unique_ids(document.diagnostics(), &tiers.value);
    let complete = matches!(tiers.origin, Origin::File(_)) && !tiers.value.is_empty();
    let tiers = tiers.value.into_iter().map(|sourced| sourced.tier);
    Ladder {
        tiers: tiers.collect(),
        complete,
    }
}

fn read_tier<'i>(
    diagnostics: &mut Diagnostics<'i>,
    element: Element<'_, 'i>,
) -> Option<SourcedTier> {
    match element.value {
        DeValue::String(label) => tier_from_label(diagnostics, element.key, element.span, label),
        DeValue::Table(table) => tier_from_table(diagnostics, &element.key, &element.span, table),
        other => {
            let expected = "a tier label or a table with `id` and `label`";
            diagnostics.error(&element.span, &element.key, type_mismatch(expected, other));
            None
        }
    }
}

/// `tiers = ["Gold Plus"]`: the id is the label's slug.
fn tier_from_label(
    diagnostics: &mut Diagnostics<'_>,
    key: String,
    span: Span,
    label: &str,
) -> Option<SourcedTier> {
    let label = checked_label(diagnostics, &key, &span, label)?;
    let id = derived_id(diagnostics, &key, &span, &label)?;
    Some(SourcedTier {
        tier: Tier { id, label },
        id_key: key,
        id_span: span,
    })
}

/// `[[tiers]]` with a required `label` and an optional `id` that defaults to
/// the label's slug. Both keys are checked before giving up, so one run
/// reports both.
fn tier_from_table<'i>(
    diagnostics: &mut Diagnostics<'i>,
    key: &str,
    span: &Span,
    table: &DeTable<'i>,
) -> Option<SourcedTier> {
    let mut fields = TableReader::new(diagnostics, key.to_owned(), Some(table));
    let id = fields.string("id", "");
    let label = fields.string("label", "");
    fields.finish();

    let label_key = format!("{key}.label");
    let label = required_label(diagnostics, &label_key, span, label);
    let (id, id_key, id_span) = match id.origin {
        Origin::File(id_span) => {
            let id_key = format!("{key}.id");
            let id = checked_id(diagnostics, &id_key, &id_span, id.value)?;
            (id, id_key, id_span)
        }
        Origin::Default => {
            let (label, label_span) = label.as_ref()?;
            let id = derived_id(diagnostics, &label_key, label_span, label)?;
            (id, label_key, label_span.clone())
        }
        Origin::Rejected => return None,
    };
    Some(SourcedTier {
        tier: Tier {
            id,
            label: label?.0,
        },
        id_key,
        id_span,
    })
}

/// The label of a `[[tiers]]` table and its key's span. Unlike the id it has
/// no sensible default: partners would see a made-up name.
fn required_label(
    diagnostics: &mut Diagnostics<'_>,
    key: &str,
    table_span: &Span,
    label: Setting<String>,
) -> Option<(String, Span)> {
    match label.origin {
        Origin::File(span) => {
            checked_label(diagnostics, key, &span, &label.value).map(|label| (label, span))
        }
        Origin::Default => {
            diagnostics.error(table_span, key, "every tier needs a label");
            None
        }
        Origin::Rejected => None,
    }
}

/// Trims the label, since stray spaces would only show up in the UI.
fn checked_label(
    diagnostics: &mut Diagnostics<'_>,
    key: &str,
    span: &Span,
    label: &str,
) -> Option<String> {
    let label = label.trim();
    if label.is_empty() {
        diagnostics.error(span, key, "tier label must not be empty");
        return None;
    }
    Some(label.to_owned())
}

/// An explicit id is stored on every partner, so it is checked, never
/// silently rewritten.
fn checked_id(
    diagnostics: &mut Diagnostics<'_>,
    key: &str,
    span: &Span,
    id: String,
) -> Option<String> {
    if id.is_empty() {
        diagnostics.error(span, key, "tier id must not be empty");
        return None;
    }
    if !is_slug(&id) {
        let suggestion = match slug(&id) {
            hint if hint.is_empty() => String::new(),
            hint => format!(", such as `{hint}`"),
        };
        let message =
            format!("tier id `{id}` must be a lowercase slug of a-z, 0-9 and `-`{suggestion}");
        diagnostics.error(span, key, message);
        return None;
    }
    Some(id)
}

/// Derives an id from a label, warning when that loses letters: `Élite`
/// would silently become `lite`.
fn derived_id(
    diagnostics: &mut Diagnostics<'_>,
    key: &str,
    span: &Span,
    label: &str,
) -> Option<String> {
    let id = slug(label);
    if id.is_empty() {
        let message = format!(
            "cannot make a tier id from `{label}`, which has no ASCII letters or digits; \
             use a [[tiers]] table with an explicit id"
        );
        diagnostics.error(span, key, message);
        return None;
    }
    if label.chars().any(|c| c.is_alphanumeric() && !c.is_ascii()) {
        let message = format!(
            "tier id `{id}` made from `{label}` drops its non-ASCII characters; \
             use a [[tiers]] table to choose the id"
        );
        diagnostics.warn(span, key, message);
    }
    Some(id)
}

fn check_count(diagnostics: &mut Diagnostics<'_>, span: &Span, count: usize) {
    if count == 0 {
        diagnostics.error(span, "tiers", "a program needs at least one tier");
    }
    if count > MAX_FOLLOWABLE_TIERS {
        let message = format!(
            "programs with more than four tiers are hard for partners to follow (found {count})"
        );
        diagnostics.warn(span, "tiers", message);
    }
}

/// Ids key partners to tiers, so two tiers sharing one would merge them.
fn check_unique_ids(diagnostics: &mut Diagnostics<'_>, tiers: &[SourcedTier]) {
    let ids = tiers
        .iter()
        .map(|tier| (tier.tier.id.as_str(), tier.id_key.as_str(), &tier.id_span));
    check_unique(diagnostics, "tier id", ids);
}

/// `Gold Plus` -> `gold-plus`: ASCII letters and digits lowercased, every
/// other run of characters one `-`, none at either end.
fn slug(label: &str) -> String {
    label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

fn is_slug(id: &str) -> bool {
    is_lowercase_word(id, b"-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_cases() {
        let cases = [
            ("Registered", "registered"),
            ("Gold Plus", "gold-plus"),
            ("  Gold   Plus  ", "gold-plus"),
            ("Tier 2 / EMEA", "tier-2-emea"),
            ("gold-plus", "gold-plus"),
            ("Élite", "lite"),
            ("日本", ""),
            ("", ""),
        ];
        for (label, expected) in cases {
            assert_eq!(slug(label), expected, "{label:?}");
        }
    }

    #[test]
    fn is_slug_cases() {
        let cases = [
            ("gold", true),
            ("gold-plus", true),
            ("tier-2", true),
            ("-", true),
            ("", false),
            ("Gold", false),
            ("gold plus", false),
            ("gold_plus", false),
            ("élite", false),
        ];
        for (id, expected) in cases {
            assert_eq!(is_slug(id), expected, "{id:?}");
        }
    }
}
