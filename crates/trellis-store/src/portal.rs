//! What the partner portal needs from the database: sign-in links mailed to
//! partner users, the sessions they open, and the partner's own open
//! registrations and recent decisions. Link and session secrets are stored
//! only as hashes ([`token_hash`]), like every other token.

use crate::db::Store;
use crate::error::Result;
use crate::events::{event_from_row, EventRecord};
use crate::partners::PartnerUser;
use crate::records::RegistrationRecord;
use crate::registrations::{from_row, ACTIVE};
use crate::rows::{micros, RowExt};
use crate::tokens::{spend_user_secret, token_hash};
use time::OffsetDateTime;
use trellis_domain::ids::{PartnerId, PartnerUserId};

/// The event kinds a partner reads as decisions about it: on its
/// registrations, its conflicts and its tier.
const DECISIONS: &str =
    "('approved', 'declined', 'info_requested', 'expired', 'conflict_resolved', \
                          'tier_changed', 'reviewed', 'appeal_decided', 'exception_granted')";

/// A session secret and how long it lasts, as the sign-in that opens it
/// chose them.
pub struct NewSession<'a> {
    pub secret: &'a str,
    pub expires_at: OffsetDateTime,
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
        sqlx::query("INSERT INTO portal_sign_in_links (token_hash, partner_user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(secret))
            .bind(user.0)
            .bind(micros(now))
            .bind(micros(expires_at))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Spends a sign-in link and, if it was still valid, opens `session`
    /// for its user in the same transaction, so a link opens one session
    /// at most. The link is spent whether or not it was still valid.
    pub async fn redeem_sign_in_link(
        &self,
        link: &str,
        session: &NewSession<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<PartnerUser>> {
        let mut tx = self.write().await?;
        let Some(user) =
            spend_user_secret(&mut tx, "portal_sign_in_links", "token_hash", link, now).await?
        else {
            tx.commit().await?;
            return Ok(None);
        };
        sqlx::query("INSERT INTO portal_sessions (token_hash, partner_user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash(session.secret))
            .bind(user.0)
            .bind(micros(now))
            .bind(micros(session.expires_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.partner_user(user).await.map(Some)
    }

    /// The partner user a session secret belongs to, unless it is unknown,
    /// expired or ended.
    pub async fn portal_session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<Option<PartnerUser>> {
        let row = sqlx::query(
            "SELECT partner_user_id FROM portal_sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash(secret))
        .bind(micros(now))
        .fetch_optional(&self.reader)
        .await?;
        match row {
            Some(r) => Ok(Some(
                self.partner_user(PartnerUserId(r.int("partner_user_id")?))
                    .await?,
            )),
            None => Ok(None),
        }
    }

    /// Ends a session: its cookie opens nothing any more.
    pub async fn end_portal_session(&self, secret: &str) -> Result<()> {
        sqlx::query("DELETE FROM portal_sessions WHERE token_hash = $1")
            .bind(token_hash(secret))
            .execute(&self.writer)
            .await?;
        Ok(())
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
}
