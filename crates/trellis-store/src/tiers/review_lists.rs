//! Reviews as the staff workspace lists them: each with how many partners
//! it moves which way, and its proposals a page at a time with the
//! partners' names, so a review of thousands of partners opens as fast as
//! one of ten.

use super::reviews::proposal_from_row;
use super::ProposalRecord;
use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::ids::PartnerId;

/// A review with its proposals counted by action.
#[derive(Debug, Clone)]
pub struct ReviewSummary {
    pub id: i64,
    pub quarter: String,
    /// `draft` or `published`.
    pub status: String,
    pub created_at: OffsetDateTime,
    pub published_at: Option<OffsetDateTime>,
    pub partners: i64,
    pub upgrades: i64,
    pub holds: i64,
    pub graces: i64,
    pub downgrades: i64,
    /// Proposals staff changed, each with a reason.
    pub adjusted: i64,
}

/// A proposal with the name of its partner.
#[derive(Debug, Clone)]
pub struct NamedProposal {
    pub partner_name: String,
    pub record: ProposalRecord,
}

impl Store {
    /// Reviews newest first, those with an id below `before`.
    pub async fn review_summaries(&self, before: i64, limit: i64) -> Result<Vec<ReviewSummary>> {
        let rows = sqlx::query(
            "SELECT r.id, r.quarter, r.status, r.created_at, r.published_at, \
             COUNT(p.partner_id) AS partners, \
             COUNT(CASE WHEN p.action = 'upgrade' THEN 1 END) AS upgrades, \
             COUNT(CASE WHEN p.action = 'hold' THEN 1 END) AS holds, \
             COUNT(CASE WHEN p.action = 'grace' THEN 1 END) AS graces, \
             COUNT(CASE WHEN p.action = 'downgrade' THEN 1 END) AS downgrades, \
             COUNT(p.adjusted_reason) AS adjusted \
             FROM (SELECT * FROM reviews WHERE id < $1 ORDER BY id DESC LIMIT $2) r \
             LEFT JOIN review_proposals p ON p.review_id = r.id \
             GROUP BY r.id, r.quarter, r.status, r.created_at, r.published_at ORDER BY r.id DESC",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// One review's summary.
    pub async fn review_summary(&self, id: i64) -> Result<ReviewSummary> {
        let page = self.review_summaries(id.saturating_add(1), 1).await?;
        page.into_iter()
            .find(|review| review.id == id)
            .ok_or(StoreError::NotFound("review"))
    }

    /// A review's proposals by partner id, those after `after`.
    pub async fn review_proposals(
        &self,
        review: i64,
        after: PartnerId,
        limit: i64,
    ) -> Result<Vec<NamedProposal>> {
        let rows = sqlx::query(
            "SELECT p.*, pa.name FROM review_proposals p JOIN partners pa ON pa.id = p.partner_id \
             WHERE p.review_id = $1 AND p.partner_id > $2 ORDER BY p.partner_id LIMIT $3",
        )
        .bind(review)
        .bind(after.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(NamedProposal {
                    partner_name: row.text("name")?,
                    record: proposal_from_row(row)?,
                })
            })
            .collect()
    }
}

fn summary_from_row(row: &AnyRow) -> Result<ReviewSummary> {
    Ok(ReviewSummary {
        id: row.int("id")?,
        quarter: row.text("quarter")?,
        status: row.text("status")?,
        created_at: row.at("created_at")?,
        published_at: row.opt_at("published_at")?,
        partners: row.int("partners")?,
        upgrades: row.int("upgrades")?,
        holds: row.int("holds")?,
        graces: row.int("graces")?,
        downgrades: row.int("downgrades")?,
        adjusted: row.int("adjusted")?,
    })
}
