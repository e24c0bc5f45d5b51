//! Where a partner stands between reviews: its tier, grace and exception,
//! its scorecard, and the moves new measurements cause at once (upgrades
//! and nudges). Downgrades wait for a review.

use super::observe;
use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events;
use crate::partners::partner_from_row;
use crate::rows::{micros, parse_day, RowExt};
use serde::Serialize;
use sqlx::AnyConnection;
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::PartnerId;
use trellis_domain::partner::Partner;
use trellis_domain::program::Program;
use trellis_domain::tiering::{
    nudge_due, propose, scorecard, Action, Observed, Quarter, Scorecard, Standing, Window,
};

/// A tier held by hand until a date.
#[derive(Debug, Clone, Serialize)]
pub struct TierException {
    pub id: i64,
    pub tier: String,
    pub previous_tier: String,
    pub reason: String,
    pub ends_on: Date,
}

/// A partner with its tier state.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerStanding {
    pub partner: Partner,
    /// The quarter whose review granted grace, while in grace.
    pub grace_quarter: Option<String>,
    /// Overall progress to the next tier when last computed, in thousandths.
    pub progress_permille: i64,
    pub exception: Option<TierException>,
}

impl PartnerStanding {
    /// The state the review rules read, on `today`.
    pub fn standing(&self, today: Date) -> Standing {
        Standing {
            tier: self.partner.tier.clone(),
            in_grace: self.grace_quarter.is_some(),
            exception: self
                .exception
                .as_ref()
                .filter(|e| e.ends_on > today)
                .map(|e| (e.tier.clone(), e.ends_on)),
        }
    }
}

impl Store {
    /// A partner's scorecard now, over the program's rolling window.
    pub async fn scorecard(
        &self,
        program: &Program,
        partner: PartnerId,
        now: OffsetDateTime,
    ) -> Result<(PartnerStanding, Scorecard)> {
        let mut conn = self.reader.acquire().await?;
        let standing = load(&mut conn, partner).await?;
        let window = Window::current(program.review.window, now);
        let observed =
            observe::one(&mut conn, program, partner, standing.partner.kind, &window).await?;
        let card = scorecard(
            program,
            standing.partner.kind,
            &standing.partner.tier,
            &observed,
            &window,
        );
        Ok((standing, card))
    }
}

pub(crate) async fn load(conn: &mut AnyConnection, id: PartnerId) -> Result<PartnerStanding> {
    let row = sqlx::query("SELECT * FROM partners WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("partner"))?;
    let exception = sqlx::query(
        "SELECT * FROM tier_exceptions WHERE partner_id = $1 AND ended_at IS NULL \
         ORDER BY id DESC LIMIT 1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(PartnerStanding {
        partner: partner_from_row(&row)?,
        grace_quarter: row.opt_text("grace_quarter")?,
        progress_permille: row.int("progress_permille")?,
        exception: exception.as_ref().map(exception_from_row).transpose()?,
    })
}

pub(crate) fn exception_from_row(row: &sqlx::any::AnyRow) -> Result<TierException> {
    Ok(TierException {
        id: row.int("id")?,
        tier: row.text("tier")?,
        previous_tier: row.text("previous_tier")?,
        reason: row.text("reason")?,
        ends_on: parse_day(&row.text("ends_on")?)?,
    })
}

/// Re-reads a partner's criteria after new measurements, inside `tx`: moves
/// it up at once when it meets every criterion of a higher tier (with
/// `auto_upgrade`), and records a nudge when its progress to the next tier
/// crosses the threshold. Returns the events it appended.
pub(crate) async fn reevaluate(
    tx: &mut Tx,
    program: &Program,
    partner: PartnerId,
    now: OffsetDateTime,
) -> Result<Vec<NewEvent>> {
    let standing = load(tx, partner).await?;
    let kind = standing.partner.kind;
    let window = Window::current(program.review.window, now);
    let observed = observe::one(tx, program, partner, kind, &window).await?;
    let mut events = Vec::new();
    let mut tier = standing.partner.tier.clone();
    let mut before = standing.progress_permille;
    if let Some(upgrade) = upgrade(program, &standing, &observed, &window, now) {
        tier = upgrade.to.clone();
        before = 0;
        events.push(upgrade.event(partner));
    }
    let card = scorecard(program, kind, &tier, &observed, &window);
    let after = permille(card.progress_to_next);
    if let Some(next) = card.next_tier.as_ref() {
        if nudge_due(program, before as f64 / 1000.0, card.progress_to_next) {
            events.push(nudge(partner, next, after, &card));
        }
    }
    save(tx, partner, &tier, &standing.partner.tier, after, now).await?;
    events::append(tx, &Actor::System, now, &events).await?;
    Ok(events)
}

/// An upgrade decided between reviews.
struct Upgrade {
    from: String,
    to: String,
    reasons: Vec<String>,
}

impl Upgrade {
    fn event(&self, partner: PartnerId) -> NewEvent {
        let why = format!(
            "moved up from {} to {}: {}",
            self.from,
            self.to,
            self.reasons.join("; ")
        );
        let change = Change::TierChanged {
            from: self.from.clone(),
            to: self.to.clone(),
            how: "upgrade".into(),
            criteria: self.reasons.clone(),
        };
        NewEvent::new(change, why).on_partner(partner)
    }
}

/// The upgrade the review rules would propose today, if any, when the
/// program moves partners up without waiting for a review.
fn upgrade(
    program: &Program,
    standing: &PartnerStanding,
    observed: &BTreeMap<String, Observed>,
    window: &Window,
    now: OffsetDateTime,
) -> Option<Upgrade> {
    if !program.review.auto_upgrade {
        return None;
    }
    let next_review = Quarter::containing(now.date()).end();
    let state = standing.standing(now.date());
    let proposal = propose(
        program,
        standing.partner.kind,
        &state,
        observed,
        window,
        next_review,
    );
    (proposal.action == Action::Upgrade).then_some(Upgrade {
        from: proposal.current_tier,
        to: proposal.proposed_tier,
        reasons: proposal.reasons,
    })
}

fn nudge(partner: PartnerId, next: &str, progress: i64, card: &Scorecard) -> NewEvent {
    let why = format!(
        "{}% of the way to {next}; still to do: {}",
        progress / 10,
        card.missing.join("; ")
    );
    let change = Change::Nudged {
        next_tier: next.to_owned(),
        progress_permille: progress,
        missing: card.missing.clone(),
    };
    NewEvent::new(change, why).on_partner(partner)
}

/// Progress 0..1 in thousandths, as stored.
fn permille(progress: f64) -> i64 {
    (progress.clamp(0.0, 1.0) * 1000.0).round() as i64
}

/// Writes the tier and progress back; a new tier starts its own clock and
/// ends any grace.
async fn save(
    tx: &mut Tx,
    partner: PartnerId,
    tier: &str,
    old_tier: &str,
    progress: i64,
    now: OffsetDateTime,
) -> Result<()> {
    let moved = tier != old_tier;
    sqlx::query(
        "UPDATE partners SET tier = $2, progress_permille = $3, \
         tier_since = CASE WHEN $4 THEN $5 ELSE tier_since END, \
         grace_quarter = CASE WHEN $4 THEN NULL ELSE grace_quarter END WHERE id = $1",
    )
    .bind(partner.0)
    .bind(tier)
    .bind(progress)
    .bind(moved)
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
