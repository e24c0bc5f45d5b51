//! What the no-login channels need from the database: who a sender speaks
//! for, password-free status links, Slack users linked to partner users, and
//! the intake log that records every message and what became of it.

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::partners::{partner_from_row, user_from_row, PartnerUser};
use crate::rows::{micros, RowExt};
use crate::tokens::{spend_user_secret, token_hash};
use time::OffsetDateTime;
use trellis_domain::dedupe::{company_domain_from_email, Email};
use trellis_domain::ids::{PartnerUserId, RegistrationId};
use trellis_domain::partner::Partner;
use trellis_domain::registration::Channel;

/// The partner a sender speaks for: as a known partner user, or by the
/// sender's mail domain being one of the partner's.
#[derive(Debug, Clone)]
pub struct Sender {
    pub partner: Partner,
    pub user: Option<PartnerUser>,
}

/// One line of the intake log.
#[derive(Debug, Clone)]
pub struct IntakeEntry<'a> {
    pub channel: Channel,
    pub sender: &'a str,
    /// `registered`, `incomplete`, `refused`, `duplicate` or `invalid`.
    pub outcome: &'a str,
    pub registration: Option<RegistrationId>,
    pub detail: &'a str,
}

impl Store {
    pub async fn sender(&self, email: &Email) -> Result<Option<Sender>> {
        let row = sqlx::query("SELECT * FROM partner_users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.reader)
            .await?;
        if let Some(row) = row {
            let user = user_from_row(&row)?;
            let partner = self.partner(user.partner_id).await?;
            return Ok(Some(Sender {
                partner,
                user: Some(user),
            }));
        }
        let Some(domain) = company_domain_from_email(email) else {
            return Ok(None);
        };
        let row = sqlx::query("SELECT p.* FROM partners p JOIN partner_domains d ON d.partner_id = p.id WHERE d.domain = $1")
            .bind(domain.as_str())
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| {
            partner_from_row(&r).map(|partner| Sender {
                partner,
                user: None,
            })
        })
        .transpose()
    }

    /// Stores a status link for `registration`, valid until `expires_at`.
    pub async fn create_status_link(
        &self,
        secret: &str,
        registration: RegistrationId,
        email: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO status_links (token_hash, registration_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(token_hash(secret))
            .bind(registration.0)
            .bind(email)
            .bind(micros(now))
            .bind(micros(expires_at))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The registration a status link opens, and the address it was sent
    /// to, unless the link is unknown or expired.
    pub async fn status_link(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(RegistrationId, String)>> {
        let row = sqlx::query("SELECT registration_id, email FROM status_links WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash(secret))
            .bind(micros(now))
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| Ok((RegistrationId(r.int("registration_id")?), r.text("email")?)))
            .transpose()
    }

    /// Stores a one-time code that links a Slack user to `user`.
    pub async fn create_slack_code(
        &self,
        code: &str,
        user: PartnerUserId,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        sqlx::query("INSERT INTO slack_link_codes (code_hash, partner_user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(token_hash(code))
            .bind(user.0)
            .bind(micros(expires_at))
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Links a Slack user with a one-time code, which is spent whether or
    /// not it was still valid. Returns the partner user now linked.
    pub async fn redeem_slack_code(
        &self,
        code: &str,
        team: &str,
        slack_user: &str,
        now: OffsetDateTime,
    ) -> Result<PartnerUser> {
        let mut tx = self.write().await?;
        let user = spend_user_secret(
            &mut tx,
            "slack_link_codes",
            "code_hash",
            "partner_user_id",
            code,
            now,
        )
        .await?
        .ok_or_else(|| {
            StoreError::conflict(
                "that code is unknown, used or expired; get a new one from your status page",
            )
        })?;
        sqlx::query(
            "INSERT INTO slack_users (team_id, user_id, partner_user_id, linked_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (team_id, user_id) DO UPDATE SET partner_user_id = excluded.partner_user_id, linked_at = excluded.linked_at",
        )
        .bind(team)
        .bind(slack_user)
        .bind(user)
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.partner_user(PartnerUserId(user)).await
    }

    /// The partner user a Slack user is linked to.
    pub async fn slack_user(&self, team: &str, slack_user: &str) -> Result<Option<PartnerUser>> {
        let row = sqlx::query(
            "SELECT partner_user_id FROM slack_users WHERE team_id = $1 AND user_id = $2",
        )
        .bind(team)
        .bind(slack_user)
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

    /// Records what a channel received and what became of it.
    pub async fn log_intake(&self, entry: &IntakeEntry<'_>, now: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "INSERT INTO intake_log (channel, received_at, sender, outcome, registration_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry.channel.as_str())
        .bind(micros(now))
        .bind(entry.sender)
        .bind(entry.outcome)
        .bind(entry.registration.map(|r| r.0))
        .bind(entry.detail)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
