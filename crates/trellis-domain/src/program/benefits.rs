//! `[benefits]`: what every partner gets, what each tier adds, and the
//! faster registration answers a tier may earn.
//!
//! `[benefits.tiers]` and `[benefits.response_sla_hours]` each replace the
//! built-in table as a whole when written, as `[[criteria]]` does.

use std::collections::BTreeMap;

use super::defaults::{default_benefits, BASE_BENEFITS, RESPONSE_SLA_HOURS};
use super::reader::{
    integer_value, strings_value, Diagnostics, Element, Named, Origin, Setting, TableReader,
};
use super::tiers::Ladder;
use crate::tiering::Benefits;

pub(crate) fn read(mut section: TableReader<'_, '_>, ladder: &Ladder) -> Benefits {
    let defaults = default_benefits(&ladder.tiers);
    let base = section.strings("base", &BASE_BENEFITS).value;
    let by_tier = section.map(
        "tiers",
        "a table of tier id = list of benefits",
        |d, tier, entry| {
            per_tier(d, tier, entry, ladder, |entry| {
                strings_value(&entry.span, entry.value).map_err(|(_, message)| message)
            })
        },
    );
    let response_sla_hours = section.map(
        "response_sla_hours",
        "a table of tier id = hours",
        |d, tier, entry| {
            per_tier(d, tier, entry, ladder, |entry| {
                integer_value(entry.value, &RESPONSE_SLA_HOURS)
            })
        },
    );
    section.finish();
    Benefits {
        base,
        by_tier: table_or(by_tier, defaults.by_tier),
        response_sla_hours: table_or(response_sla_hours, defaults.response_sla_hours),
    }
}

/// One entry of a table keyed by tier id, its value converted by `convert`.
fn per_tier<T>(
    diagnostics: &mut Diagnostics<'_>,
    tier: &str,
    entry: Element<'_, '_>,
    ladder: &Ladder,
    convert: impl FnOnce(&Element<'_, '_>) -> Result<T, String>,
) -> Option<T> {
    if !ladder.check(diagnostics, tier, &entry.key, &entry.span) {
        return None;
    }
    convert(&entry)
        .map_err(|message| diagnostics.error(&entry.span, &entry.key, message))
        .ok()
}

/// The table as written, or `default` when it was left out.
fn table_or<T>(
    written: Setting<Vec<Named<T>>>,
    default: BTreeMap<String, T>,
) -> BTreeMap<String, T> {
    match written.origin {
        Origin::Default => default,
        Origin::File(_) | Origin::Rejected => (written.value.into_iter())
            .map(|entry| (entry.name, entry.value))
            .collect(),
    }
}
