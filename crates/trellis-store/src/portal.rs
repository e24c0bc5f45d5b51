//! What the partner portal needs from the database: sign-in links mailed to
//! partner users, the sessions they open, and the partner's own
//! registrations, decisions, review decisions and appeals. Every read takes
//! the partner and filters on it in SQL, so no page can show another
//! partner's rows. Sign-in itself is shared with the staff workspace
//! (`sessions.rs`).

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::events::{event_from_row, EventRecord};
use crate::partners::PartnerUser;
use crate::records::RegistrationRecord;
use crate::registrations::{from_row, ACTIVE};
use crate::rows::RowExt;
use crate::sessions::{NewSession, PORTAL};
use crate::tiers::appeals::{self, AppealRecord};
use crate::tiers::reviews::{proposal_from_row, ProposalRecord};
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::ids::{PartnerId, PartnerUserId, RegistrationId};

/// The event kinds a partner reads as decisions about it: on its
/// registrations, its conflicts and its tier.
const DECISIONS: &str =
    "('approved', 'declined', 'info_requested', 'expired', 'conflict_resolved', \
                          'tier_changed', 'reviewed', 'appeal_decided', 'exception_granted')";

/// A partner's decisions in published reviews, with the review's quarter
/// and date; drafts are staff's business until published.
const REVIEW_DECISIONS: &str = "SELECT p.*, r.quarter, r.published_at FROM review_proposals p \
     JOIN reviews r ON r.id = p.review_id WHERE p.partner_id = $1 AND r.status = 'published'";

/// A published review's decision about one partner, as that partner reads it.
#[derive(Debug, Clone)]
pub struct ReviewDecision {
    pub review_id: i64,
    /// `2025-Q4`.
    pub quarter: String,
    /// The appeal window runs from this date.
    pub published_at: OffsetDateTime,
    pub proposal: ProposalRecord,
}

impl Store {
    /// Stores a sign-in link for `user`, valid until `expires_at`.
    pub async fn create_sign_in_link(
        &self,
        secret: &str,
        user: PartnerUserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        self.create_link(&PORTAL, secret, user.0, now, expires_at)
            .await
    }

    /// Spends a sign-in link and, if it was still valid, opens `session`
    /// for its user: a link opens one session at most.
    pub async fn redeem_sign_in_link(
        &self,
        link: &str,
        session: &NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<PartnerUser>> {
        match self.redeem_link(&PORTAL, link, session, now).await? {
            Some(user) => self.partner_user(PartnerUserId(user)).await.map(Some),
            None => Ok(None),
        }
    }

    /// The partner user a session secret belongs to, unless it is unknown,
    /// expired or ended.
    pub async fn portal_session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PartnerUser>> {
        match self.session_user(&PORTAL, secret, now).await? {
            Some(user) => self.partner_user(PartnerUserId(user)).await.map(Some),
            None => Ok(None),
        }
    }

    /// Ends a session: its cookie opens nothing any more.
    pub async fn end_portal_session(&self, secret: &str) -> Result<()> {
        self.end_session(&PORTAL, secret).await
    }

    /// A partner's active registrations, newest first.
    pub async fn open_registrations(
        &self,
        partner: PartnerId,
        limit: i64,
    ) -> Result<Vec<RegistrationRecord>> {
        let sql = format!(
            "SELECT * FROM registrations WHERE partner_id = $1 AND status IN {ACTIVE} ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(partner.0)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The latest decisions about a partner, newest first.
    pub async fn partner_decisions(
        &self,
        partner: PartnerId,
        limit: i64,
    ) -> Result<Vec<EventRecord>> {
        let sql = format!(
            "SELECT * FROM events WHERE partner_id = $1 AND kind IN {DECISIONS} ORDER BY id DESC LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(partner.0)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// A partner's registrations of every status, newest first, from just
    /// below `before` when given: keyset paging over `(partner_id, id)`.
    pub async fn partner_registrations(
        &self,
        partner: PartnerId,
        before: Option<RegistrationId>,
        limit: i64,
    ) -> Result<Vec<RegistrationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM registrations WHERE partner_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        )
        .bind(partner.0)
        .bind(before.map_or(i64::MAX, |b| b.0))
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// A partner's decisions in published reviews, newest first.
    pub async fn review_decisions(
        &self,
        partner: PartnerId,
        limit: i64,
    ) -> Result<Vec<ReviewDecision>> {
        let sql = format!("{REVIEW_DECISIONS} ORDER BY p.review_id DESC LIMIT $2");
        let rows = sqlx::query(&sql)
            .bind(partner.0)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(decision_from_row).collect()
    }

    /// A partner's decision in one published review; "not found" when the
    /// review is a draft, unknown, or decided nothing about this partner.
    pub async fn review_decision(&self, partner: PartnerId, review: i64) -> Result<ReviewDecision> {
        let sql = format!("{REVIEW_DECISIONS} AND p.review_id = $2");
        let row = sqlx::query(&sql)
            .bind(partner.0)
            .bind(review)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound("review decision"))?;
        decision_from_row(&row)
    }

    /// A partner's appeals, newest first.
    pub async fn partner_appeals(
        &self,
        partner: PartnerId,
        limit: i64,
    ) -> Result<Vec<AppealRecord>> {
        let rows =
            sqlx::query("SELECT * FROM appeals WHERE partner_id = $1 ORDER BY id DESC LIMIT $2")
                .bind(partner.0)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(appeals::from_row).collect()
    }
}

fn decision_from_row(row: &AnyRow) -> Result<ReviewDecision> {
    Ok(ReviewDecision {
        review_id: row.int("review_id")?,
        quarter: row.text("quarter")?,
        published_at: row.at("published_at")?,
        proposal: proposal_from_row(row)?,
    })
}
