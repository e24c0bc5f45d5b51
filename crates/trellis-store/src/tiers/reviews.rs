//! Quarterly reviews: every partner read on the window ending with the
//! quarter, a proposal each (upgrade, hold, grace, downgrade) that staff
//! may adjust with a reason, and publication, which applies them all at
//! once with the decision date.

use super::observe;
use super::standing::{self, PartnerStanding};
use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events;
use crate::partners::partner_from_row;
use crate::rows::{list_json, micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::HashMap;
use time::OffsetDateTime;
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{propose, Action, Proposal, Quarter, Window};

/// Proposals written per statement.
const PROPOSAL_ROWS: usize = 100;
/// Values bound per proposal row.
const PROPOSAL_VALUES: usize = 7;

/// One partner's proposal in a review.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalRecord {
    pub partner_id: PartnerId,
    #[serde(flatten)]
    pub proposal: Proposal,
    /// Why staff changed the proposal, if they did.
    pub adjusted_reason: Option<String>,
}

/// A review and its proposals.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewRecord {
    pub id: i64,
    pub quarter: String,
    /// `draft` or `published`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    pub proposals: Vec<ProposalRecord>,
}

/// A staff change to one proposal.
#[derive(Debug, Clone)]
pub struct Adjustment {
    pub proposed_tier: String,
    pub action: Action,
    pub recovery_plan: Option<Vec<String>>,
    pub reason: String,
}

impl Store {
    /// Every partner's proposal for the window ending with `quarter`, read
    /// in one pass over the metrics; stores nothing (simulations use it with
    /// other criteria).
    pub async fn evaluate(
        &self,
        program: &Program,
        quarter: Quarter,
    ) -> Result<Vec<(PartnerId, Proposal)>> {
        let window = Window::ending_with(program.review.window, quarter);
        let (standings, measured) = tokio::try_join!(
            async { all_standings(&mut *self.reader.acquire().await?).await },
            observe::all(self, program, &window),
        )?;
        let last_day = quarter.end().previous_day().unwrap_or(quarter.end());
        let next_review = quarter.next().end();
        Ok(standings
            .iter()
            .map(|s| {
                let (id, kind) = (s.partner.id, s.partner.kind);
                let seen = measured.observed(program, id, kind);
                let state = s.standing(last_day);
                (
                    id,
                    propose(program, kind, &state, &seen, &window, next_review),
                )
            })
            .collect())
    }

    /// Runs a review of `quarter` and keeps it as a draft for staff.
    pub async fn create_review(
        &self,
        program: &Program,
        quarter: Quarter,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<ReviewRecord> {
        if !quarter.has_ended(now) {
            return Err(StoreError::Domain(trellis_domain::DomainError::field(
                "quarter",
                format!(
                    "{quarter} has not ended; a review reads complete quarters (the last one is {})",
                    Quarter::last_complete(now)
                ),
            )));
        }
        let proposals = self.evaluate(program, quarter).await?;
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "INSERT INTO reviews (quarter, status, created_by, created_at) \
             VALUES ($1, 'draft', $2, $3) RETURNING id",
        )
        .bind(quarter.to_string())
        .bind(actor.label())
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let id = row.int("id")?;
        for chunk in proposals.chunks(PROPOSAL_ROWS) {
            insert_proposals(&mut tx, id, chunk).await?;
        }
        tx.commit().await?;
        let proposals = proposals
            .into_iter()
            .map(|(partner_id, proposal)| ProposalRecord {
                partner_id,
                proposal,
                adjusted_reason: None,
            });
        Ok(ReviewRecord {
            id,
            quarter: quarter.to_string(),
            status: "draft".into(),
            created_at: now,
            published_at: None,
            proposals: proposals.collect(),
        })
    }

    pub async fn review(&self, id: i64) -> Result<ReviewRecord> {
        let mut conn = self.reader.acquire().await?;
        load(&mut conn, id).await
    }

    /// Changes one proposal of a draft review, with the reason.
    pub async fn adjust_proposal(
        &self,
        review: i64,
        partner: PartnerId,
        adjustment: &Adjustment,
    ) -> Result<ReviewRecord> {
        let mut tx = self.write().await?;
        let current = load(&mut tx, review).await?;
        refuse_published(&current)?;
        let plan = adjustment.recovery_plan.as_deref().map(list_json);
        let updated = sqlx::query(
            "UPDATE review_proposals SET proposed_tier = $3, action = $4, adjusted_reason = $5, \
             recovery_plan = COALESCE($6, recovery_plan) WHERE review_id = $1 AND partner_id = $2",
        )
        .bind(review)
        .bind(partner.0)
        .bind(&adjustment.proposed_tier)
        .bind(adjustment.action.as_str())
        .bind(&adjustment.reason)
        .bind(plan)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound("proposal"));
        }
        let record = load(&mut tx, review).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Applies every proposal of a draft review with today's date: tiers
    /// move, grace starts or ends, and each partner gets the decision as an
    /// event. A review is published once; a quarter has one published review.
    pub async fn publish_review(
        &self,
        id: i64,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<ReviewRecord> {
        let mut tx = self.write().await?;
        let review = load(&mut tx, id).await?;
        refuse_published(&review)?;
        let published =
            sqlx::query("UPDATE reviews SET status = 'published', published_at = $2 WHERE id = $1")
                .bind(id)
                .bind(micros(now))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::from);
        if let Err(e) = published {
            return Err(match e.is_unique_violation() {
                true => StoreError::conflict(format!(
                    "a review of {} is already published",
                    review.quarter
                )),
                false => e,
            });
        }
        apply_all(&mut tx, &review, now).await?;
        let log: Vec<NewEvent> = review
            .proposals
            .iter()
            .map(|p| decision_event(&review, p))
            .collect();
        for chunk in log.chunks(PROPOSAL_ROWS) {
            events::append(&mut tx, actor, now, chunk).await?;
        }
        let record = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(record)
    }
}

fn refuse_published(review: &ReviewRecord) -> Result<()> {
    match review.status.as_str() {
        "published" => Err(StoreError::conflict(format!(
            "review {} of {} is already published; its decisions stand, and a partner may appeal them",
            review.id, review.quarter
        ))),
        _ => Ok(()),
    }
}

/// Every decision of a review, applied in three set-based statements
/// whatever the number of partners: tiers that move (with the date), grace
/// for those granted it, and grace ended for everyone else.
async fn apply_all(tx: &mut Tx, review: &ReviewRecord, now: OffsetDateTime) -> Result<()> {
    sqlx::query(
        "UPDATE partners SET tier = (SELECT proposed_tier FROM review_proposals p \
         WHERE p.review_id = $1 AND p.partner_id = partners.id), tier_since = $2 \
         WHERE id IN (SELECT partner_id FROM review_proposals \
         WHERE review_id = $1 AND proposed_tier <> current_tier)",
    )
    .bind(review.id)
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE partners SET grace_quarter = $2 WHERE id IN (SELECT partner_id FROM \
         review_proposals WHERE review_id = $1 AND action = 'grace')",
    )
    .bind(review.id)
    .bind(review.quarter.as_str())
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE partners SET grace_quarter = NULL WHERE grace_quarter IS NOT NULL AND id IN \
         (SELECT partner_id FROM review_proposals WHERE review_id = $1 AND action <> 'grace')",
    )
    .bind(review.id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn decision_event(review: &ReviewRecord, p: &ProposalRecord) -> NewEvent {
    let proposal = &p.proposal;
    let mut why = format!(
        "review of {}: {} ({} to {}): {}",
        review.quarter,
        proposal.action.as_str(),
        proposal.current_tier,
        proposal.proposed_tier,
        proposal.reasons.join("; ")
    );
    if let Some(reason) = &p.adjusted_reason {
        why.push_str(&format!("; adjusted by staff: {reason}"));
    }
    let change = Change::Reviewed {
        review_id: review.id,
        quarter: review.quarter.clone(),
        action: proposal.action.as_str().into(),
        from: proposal.current_tier.clone(),
        to: proposal.proposed_tier.clone(),
        recovery_plan: proposal.recovery_plan.clone(),
    };
    NewEvent::new(change, why).on_partner(p.partner_id)
}

async fn insert_proposals(tx: &mut Tx, review: i64, chunk: &[(PartnerId, Proposal)]) -> Result<()> {
    let rows: Vec<String> = (0..chunk.len())
        .map(|row| {
            let params: Vec<String> = (1..=PROPOSAL_VALUES)
                .map(|col| format!("${}", row * PROPOSAL_VALUES + col))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO review_proposals (review_id, partner_id, current_tier, proposed_tier, action, \
         reasons, recovery_plan) VALUES {}",
        rows.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for (partner, p) in chunk {
        query = query
            .bind(review)
            .bind(partner.0)
            .bind(p.current_tier.clone())
            .bind(p.proposed_tier.clone())
            .bind(p.action.as_str())
            .bind(list_json(&p.reasons))
            .bind(list_json(&p.recovery_plan));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

pub(crate) async fn load(conn: &mut sqlx::AnyConnection, id: i64) -> Result<ReviewRecord> {
    let row = sqlx::query("SELECT * FROM reviews WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("review"))?;
    let rows =
        sqlx::query("SELECT * FROM review_proposals WHERE review_id = $1 ORDER BY partner_id")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(ReviewRecord {
        id,
        quarter: row.text("quarter")?,
        status: row.text("status")?,
        created_at: row.at("created_at")?,
        published_at: row.opt_at("published_at")?,
        proposals: rows.iter().map(proposal_from_row).collect::<Result<_>>()?,
    })
}

pub(crate) fn proposal_from_row(row: &AnyRow) -> Result<ProposalRecord> {
    let action = row.parsed("action", Action::parse)?;
    Ok(ProposalRecord {
        partner_id: PartnerId(row.int("partner_id")?),
        proposal: Proposal {
            current_tier: row.text("current_tier")?,
            proposed_tier: row.text("proposed_tier")?,
            action,
            reasons: row.list("reasons")?,
            recovery_plan: row.list("recovery_plan")?,
        },
        adjusted_reason: row.opt_text("adjusted_reason")?,
    })
}

/// Every partner with its grace and open exception, for a review.
pub(crate) async fn all_standings(conn: &mut sqlx::AnyConnection) -> Result<Vec<PartnerStanding>> {
    let partners = sqlx::query("SELECT * FROM partners ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    let exceptions = sqlx::query("SELECT * FROM tier_exceptions WHERE ended_at IS NULL")
        .fetch_all(&mut *conn)
        .await?;
    let mut open: HashMap<i64, _> = HashMap::new();
    for row in &exceptions {
        open.insert(row.int("partner_id")?, standing::exception_from_row(row)?);
    }
    partners
        .iter()
        .map(|row| {
            let partner = partner_from_row(row)?;
            Ok(PartnerStanding {
                grace_quarter: row.opt_text("grace_quarter")?,
                progress_permille: row.int("progress_permille")?,
                exception: open.remove(&partner.id.0),
                partner,
            })
        })
        .collect()
}
