//! What the partner portal needs from the database: sign-in links mailed to
//! partner users, the sessions they open, and the partner's own open
//! registrations and recent decisions. Sign-in itself is shared with the
//! staff workspace (`sessions.rs`).

use crate::db::Store;
use crate::error::Result;
use crate::events::{event_from_row, EventRecord};
use crate::partners::PartnerUser;
use crate::records::RegistrationRecord;
use crate::registrations::{from_row, ACTIVE};
use crate::sessions::{NewSession, PORTAL};
use time::OffsetDateTime;
use trellis_domain::ids::{PartnerId, PartnerUserId};

/// The event kinds a partner reads as decisions about it: on its
/// registrations, its conflicts and its tier.
const DECISIONS: &str =
    "('approved', 'declined', 'info_requested', 'expired', 'conflict_resolved', \
                          'tier_changed', 'reviewed', 'appeal_decided', 'exception_granted')";

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
}
