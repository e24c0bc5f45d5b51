//! `GET /staff/partners`: every partner with its tier, kind, regions,
//! progress to the next tier and open registrations, filtered by a plain
//! GET form and sorted by name. The scorecards of all partners come from
//! one pass over the metrics (the one a review reads), never one per row.

use super::page::{answer, failed};
use super::{Frame, Section, StaffSignedIn};
use crate::web::tier_words::{percent, tier_label};
use crate::AppState;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Deserialize;
use std::collections::BTreeSet;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_store::PartnerOverview;

/// Partners listed per page.
const PAGE: usize = 100;

/// The filters, as the form sends them; empty means any.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filters {
    tier: String,
    kind: String,
    region: String,
    /// The id of the last partner of the previous page.
    after: Option<i64>,
}

impl Filters {
    fn keeps(&self, o: &PartnerOverview) -> bool {
        let p = &o.standing.partner;
        (self.tier.is_empty() || p.tier == self.tier)
            && (self.kind.is_empty() || p.kind.as_str() == self.kind)
            && (self.region.is_empty() || p.regions.contains(&self.region))
    }

    /// The query of the page after the one ending with `last`.
    fn next_page(&self, last: i64) -> String {
        let query = [
            ("tier", self.tier.as_str()),
            ("kind", self.kind.as_str()),
            ("region", self.region.as_str()),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in query.iter().filter(|(_, v)| !v.is_empty()) {
            out.append_pair(key, value);
        }
        out.append_pair("after", &last.to_string());
        out.finish()
    }
}

/// One option of a filter's select.
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

fn choices<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>, chosen: &str) -> Vec<Choice> {
    pairs
        .map(|(value, label)| Choice {
            value: value.to_owned(),
            label: label.to_owned(),
            selected: value == chosen,
        })
        .collect()
}

struct Row {
    id: i64,
    name: String,
    tier: String,
    in_grace: bool,
    kind: &'static str,
    regions: String,
    /// Whole percent toward the next tier; None at the top.
    progress: Option<u8>,
    next_tier: String,
    open_registrations: i64,
}

#[derive(Template)]
#[template(path = "staff_partners.html")]
struct PartnersPage {
    frame: Frame,
    tiers: Vec<Choice>,
    kinds: Vec<Choice>,
    regions: Vec<Choice>,
    rows: Vec<Row>,
    matching: usize,
    next_page: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    signed_in: StaffSignedIn,
    jar: CookieJar,
    Query(filters): Query<Filters>,
) -> Response {
    let program = &state.program;
    let overviews = match state
        .store
        .partner_overviews(program, state.clock.now())
        .await
    {
        Ok(all) => all,
        Err(e) => return failed(&state, e),
    };
    let all_regions: BTreeSet<&str> = (overviews.iter())
        .flat_map(|o| o.standing.partner.regions.iter().map(String::as_str))
        .collect();
    let regions = choices(all_regions.into_iter().map(|r| (r, r)), &filters.region);
    let mut kept: Vec<&PartnerOverview> = overviews.iter().filter(|o| filters.keeps(o)).collect();
    kept.sort_by_cached_key(|o| {
        (
            o.standing.partner.name.to_lowercase(),
            o.standing.partner.id.0,
        )
    });
    let matching = kept.len();
    let start = filters
        .after
        .and_then(|after| kept.iter().position(|o| o.standing.partner.id.0 == after))
        .map_or(0, |at| at + 1);
    let shown: Vec<&PartnerOverview> = kept.into_iter().skip(start).take(PAGE + 1).collect();
    let more = shown.len() > PAGE;
    let rows: Vec<Row> = shown.iter().take(PAGE).map(|o| row(program, o)).collect();
    let next_page = (more)
        .then(|| rows.last().map(|r| filters.next_page(r.id)))
        .flatten();
    let (jar, frame) = Frame::new(&state, jar, &signed_in, Section::Partners);
    let tiers = program.tiers.iter();
    let page = PartnersPage {
        frame,
        tiers: choices(
            tiers.map(|t| (t.id.as_str(), t.label.as_str())),
            &filters.tier,
        ),
        kinds: choices(
            PartnerKind::ALL.iter().map(|k| (k.as_str(), k.as_str())),
            &filters.kind,
        ),
        regions,
        rows,
        matching,
        next_page,
    };
    answer(jar, StatusCode::OK, &page)
}

fn row(program: &Program, o: &PartnerOverview) -> Row {
    let p = &o.standing.partner;
    let next = o.card.next_tier.as_deref();
    Row {
        id: p.id.0,
        name: p.name.clone(),
        tier: tier_label(program, &p.tier).to_owned(),
        in_grace: o.standing.grace_quarter.is_some(),
        kind: p.kind.as_str(),
        regions: p.regions.join(", "),
        progress: next.map(|_| percent(o.card.progress_to_next)),
        next_tier: next.map_or("", |t| tier_label(program, t)).to_owned(),
        open_registrations: o.open_registrations,
    }
}
