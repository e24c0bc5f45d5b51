//! Every partner's standing at once, for the staff workspace: the list of
//! partners with their progress, and tier mobility (who is close to a move,
//! who is in grace). Everything comes from the same all-partners pass a
//! review reads, so a page costs a bounded number of statements whatever
//! the number of partners.

use super::observe;
use super::reviews::all_standings;
use super::standing::PartnerStanding;
use crate::db::Store;
use crate::error::Result;
use crate::rows::RowExt;
use time::OffsetDateTime;
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{scorecard, Quarter, Scorecard, Window};

/// One partner as the partners list shows it.
#[derive(Debug, Clone)]
pub struct PartnerOverview {
    pub standing: PartnerStanding,
    /// Its scorecard now, over the program's rolling window.
    pub card: Scorecard,
    pub open_registrations: i64,
}

/// A partner kept in its tier by a review's grace, with what that review
/// said and what the partner has to reach.
#[derive(Debug, Clone)]
pub struct GraceRecord {
    pub partner_id: PartnerId,
    /// The quarter of the review that granted grace.
    pub quarter: Quarter,
    pub reasons: Vec<String>,
    pub recovery_plan: Vec<String>,
}

impl GraceRecord {
    /// Grace lasts until the next review, which reads the next quarter and
    /// can run once it ends.
    pub fn ends_on(&self) -> time::Date {
        self.quarter.next().end()
    }
}

impl Store {
    /// Every partner's scorecard now, ordered by id: the criteria of all of
    /// them read in one pass, the open registrations counted in it.
    pub async fn partner_overviews(
        &self,
        program: &Program,
        now: OffsetDateTime,
    ) -> Result<Vec<PartnerOverview>> {
        let window = Window::current(program.review.window, now);
        let (standings, measured) = tokio::try_join!(
            async { all_standings(&mut *self.reader.acquire().await?).await },
            observe::all(self, program, &window),
        )?;
        Ok(standings
            .into_iter()
            .map(|standing| {
                let partner = &standing.partner;
                let seen = measured.observed(program, partner.id, partner.kind);
                let card = scorecard(program, partner.kind, &partner.tier, &seen, &window);
                PartnerOverview {
                    open_registrations: measured.open_registrations(partner.id),
                    card,
                    standing,
                }
            })
            .collect())
    }

    /// The quarter the next review reads: the last complete one until its
    /// review is published, then the one under way.
    pub async fn next_review_quarter(&self, now: OffsetDateTime) -> Result<Quarter> {
        let last = Quarter::last_complete(now);
        let published =
            sqlx::query("SELECT id FROM reviews WHERE quarter = $1 AND status = 'published'")
                .bind(last.to_string())
                .fetch_optional(&self.reader)
                .await?;
        Ok(match published {
            Some(_) => last.next(),
            None => last,
        })
    }

    /// Every partner in grace, with the reasons and recovery plan of the
    /// published review that granted it.
    pub async fn partners_in_grace(&self) -> Result<Vec<GraceRecord>> {
        let rows = sqlx::query(
            "SELECT p.partner_id, r.quarter, p.reasons, p.recovery_plan FROM partners pa \
             JOIN reviews r ON r.quarter = pa.grace_quarter AND r.status = 'published' \
             JOIN review_proposals p ON p.review_id = r.id AND p.partner_id = pa.id \
             WHERE pa.grace_quarter IS NOT NULL ORDER BY p.partner_id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(GraceRecord {
                    partner_id: PartnerId(row.int("partner_id")?),
                    quarter: row.parsed("quarter", |q| Quarter::parse(q).ok())?,
                    reasons: row.list("reasons")?,
                    recovery_plan: row.list("recovery_plan")?,
                })
            })
            .collect()
    }
}
