//! Appeals: a partner contests a published review decision with a message
//! and evidence, within the program's appeal window; staff uphold or reject
//! it with a reason, and an upheld appeal restores what the decision took.

use super::exceptions::move_tier;
use super::reviews;
use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::events;
use crate::rows::{list_json, micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::Action;
use trellis_domain::DomainError;

#[derive(Debug, Clone, Serialize)]
pub struct AppealRecord {
    pub id: i64,
    pub review_id: i64,
    pub partner_id: PartnerId,
    pub message: String,
    pub evidence_urls: Vec<String>,
    /// `open`, `upheld` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
}

impl Store {
    /// Files a partner's appeal of its decision in a published review.
    pub async fn file_appeal(
        &self,
        program: &Program,
        partner: PartnerId,
        review_id: i64,
        message: &str,
        evidence_urls: &[String],
        now: OffsetDateTime,
    ) -> Result<AppealRecord> {
        let mut tx = self.write().await?;
        let review = reviews::load(&mut tx, review_id).await?;
        let Some(published) = review.published_at else {
            return Err(StoreError::conflict(format!(
                "review {review_id} is a draft: appeal its decision once it is published"
            )));
        };
        if !review.proposals.iter().any(|p| p.partner_id == partner) {
            return Err(StoreError::NotFound("review decision"));
        }
        let deadline = published + time::Duration::days(i64::from(program.review.appeal_days));
        if now > deadline {
            return Err(DomainError::field(
                "review_id",
                format!(
                    "the appeal window for review {review_id} closed on {}",
                    deadline.date()
                ),
            )
            .into());
        }
        let inserted = sqlx::query(
            "INSERT INTO appeals (review_id, partner_id, message, evidence_urls, status, created_at) \
             VALUES ($1, $2, $3, $4, 'open', $5) RETURNING *",
        )
        .bind(review_id)
        .bind(partner.0)
        .bind(message)
        .bind(list_json(evidence_urls))
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from);
        let appeal = match inserted {
            Err(e) if e.is_unique_violation() => {
                return Err(StoreError::conflict(format!(
                    "review {review_id} was already appealed by this partner"
                )))
            }
            other => from_row(&other?)?,
        };
        let change = Change::AppealFiled {
            appeal_id: appeal.id,
            review_id,
        };
        let why = format!("appealed the review of {}: {message}", review.quarter);
        events::append(
            &mut tx,
            &Actor::Partner {
                partner_id: partner,
            },
            now,
            &[NewEvent::new(change, why).on_partner(partner)],
        )
        .await?;
        tx.commit().await?;
        Ok(appeal)
    }

    /// Decides an open appeal. Upheld, the partner gets back the tier the
    /// review took (and leaves grace); rejected, the decision stands. With
    /// `review`, an appeal against another review is not found.
    pub async fn decide_appeal(
        &self,
        id: i64,
        review: Option<i64>,
        upheld: bool,
        reason: &str,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<AppealRecord> {
        let mut tx = self.write().await?;
        let appeal = load(&mut tx, id).await?;
        if review.is_some_and(|review| review != appeal.review_id) {
            return Err(StoreError::NotFound("appeal"));
        }
        if appeal.status != "open" {
            return Err(StoreError::conflict(format!(
                "appeal {id} was already decided ({})",
                appeal.status
            )));
        }
        let decision = if upheld { "upheld" } else { "rejected" };
        sqlx::query("UPDATE appeals SET status = $2, reason = $3, decided_at = $4 WHERE id = $1")
            .bind(id)
            .bind(decision)
            .bind(reason)
            .bind(micros(now))
            .execute(&mut *tx)
            .await?;
        let partner = appeal.partner_id;
        let change = Change::AppealDecided {
            appeal_id: id,
            decision: decision.into(),
        };
        let mut log = vec![
            NewEvent::new(change, format!("appeal {id} {decision}: {reason}")).on_partner(partner),
        ];
        if upheld {
            let review = reviews::load(&mut tx, appeal.review_id).await?;
            let decided = review
                .proposals
                .iter()
                .find(|p| p.partner_id == partner)
                .ok_or(StoreError::NotFound("review decision"))?;
            let tier = sqlx::query("SELECT tier FROM partners WHERE id = $1")
                .bind(partner.0)
                .fetch_one(&mut *tx)
                .await?
                .text("tier")?;
            let restored = &decided.proposal.current_tier;
            log.extend(move_tier(&mut tx, partner, &tier, restored, "appeal", reason, now).await?);
            if decided.proposal.action == Action::Grace {
                sqlx::query("UPDATE partners SET grace_quarter = NULL WHERE id = $1")
                    .bind(partner.0)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        events::append(&mut tx, actor, now, &log).await?;
        let appeal = load(&mut tx, id).await?;
        tx.commit().await?;
        Ok(appeal)
    }
}

impl Store {
    /// The appeals of one review, oldest first.
    pub async fn review_appeals(&self, review: i64, limit: i64) -> Result<Vec<AppealRecord>> {
        let rows = sqlx::query("SELECT * FROM appeals WHERE review_id = $1 ORDER BY id LIMIT $2")
            .bind(review)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(from_row).collect()
    }
}

async fn load(conn: &mut sqlx::AnyConnection, id: i64) -> Result<AppealRecord> {
    let row = sqlx::query("SELECT * FROM appeals WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("appeal"))?;
    from_row(&row)
}

pub(crate) fn from_row(row: &AnyRow) -> Result<AppealRecord> {
    Ok(AppealRecord {
        id: row.int("id")?,
        review_id: row.int("review_id")?,
        partner_id: PartnerId(row.int("partner_id")?),
        message: row.text("message")?,
        evidence_urls: row.list("evidence_urls")?,
        status: row.text("status")?,
        reason: row.opt_text("reason")?,
        created_at: row.at("created_at")?,
        decided_at: row.opt_at("decided_at")?,
    })
}
