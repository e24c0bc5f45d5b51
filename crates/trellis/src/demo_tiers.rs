//! The demo's tier data: a year and a quarter of measurements for every
//! partner, shaped by the program's own criteria, so scorecards, upgrades,
//! nudges and a draft review have something to show.

use rand::rngs::StdRng;
use rand::Rng;
use time::{Duration, OffsetDateTime};
use trellis_domain::event::Actor;
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::PartnerKind;
use trellis_domain::program::Program;
use trellis_domain::tiering::{applicable, Aggregate, Criterion, Quantity, Quarter};
use trellis_store::{NewMetric, Store, HYGIENE};

/// People, offerings and proof the demo names as items.
const ITEMS: &[&str] = &["ana", "ben", "chloe", "dev", "eli", "fatima", "gus"];

/// Records the measurements (partners that qualify move up as they land),
/// then drafts the review of the last complete quarter for staff to read.
pub async fn load(
    store: &Store,
    program: &Program,
    rng: &mut StdRng,
    partners: &[(PartnerId, PartnerKind)],
    now: OffsetDateTime,
) -> anyhow::Result<usize> {
    let mut batch = Vec::new();
    for &(partner, kind) in partners {
        // How strong this partner is, against the top tier's thresholds.
        let strength = rng.random_range(20..=130);
        for criterion in applicable(&program.criteria, kind) {
            batch.extend(measurements(rng, partner, criterion, strength, now));
        }
    }
    let recorded = store.record_metrics(&batch, program, now).await?;
    store
        .create_review(program, Quarter::last_complete(now), &Actor::System, now)
        .await?;
    Ok(recorded)
}

/// Rows for one criterion: its top threshold times `strength` percent,
/// spread over rows in the last fifteen months.
fn measurements(
    rng: &mut StdRng,
    partner: PartnerId,
    criterion: &Criterion,
    strength: i64,
    now: OffsetDateTime,
) -> Vec<NewMetric> {
    let Some(top) = criterion.thresholds.values().max().copied() else {
        return Vec::new();
    };
    let target = Quantity::from_scaled(top.scaled() * strength / 100);
    let row = |rng: &mut StdRng, metric: String, value, item: Option<&str>, n: usize| NewMetric {
        partner_id: partner,
        source_id: format!("demo-{partner}-{metric}-{n}"),
        occurred_at: now - Duration::days(rng.random_range(5..450)),
        evidence: item.map(|i| format!("https://evidence.example/{partner}/{metric}/{i}")),
        item: item.map(str::to_owned),
        expires_on: None,
        metric,
        value,
    };
    match criterion.aggregate {
        Aggregate::Sum => {
            let mut parts: Vec<String> = criterion
                .weights
                .keys()
                .map(|k| format!("{}.{k}", criterion.metric))
                .collect();
            if parts.is_empty() {
                parts.push(criterion.metric.clone());
            }
            (0..6)
                .map(|n| {
                    let metric = parts[n % parts.len()].clone();
                    row(
                        rng,
                        metric,
                        Quantity::from_scaled(target.scaled() / 5),
                        None,
                        n,
                    )
                })
                .collect()
        }
        Aggregate::Average | Aggregate::Latest if criterion.metric != HYGIENE => (0..3)
            .map(|n| row(rng, criterion.metric.clone(), target.min(top), None, n))
            .collect(),
        Aggregate::CountDistinctActive => {
            let count = (target.scaled() / Quantity::SCALE).clamp(0, ITEMS.len() as i64) as usize;
            (0..count)
                .map(|n| {
                    row(
                        rng,
                        criterion.metric.clone(),
                        Quantity::ONE,
                        Some(ITEMS[n]),
                        n,
                    )
                })
                .collect()
        }
        _ => Vec::new(),
    }
}
