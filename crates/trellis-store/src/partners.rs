//! Partners and the people who work for them.

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events;
use crate::rows::{list_json, micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::dedupe::Email;
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::{PartnerId, PartnerUserId};
use trellis_domain::partner::{Partner, PartnerKind};

/// A partner to create, validated by the caller.
#[derive(Debug, Clone)]
pub struct NewPartner {
    pub name: String,
    pub kind: PartnerKind,
    pub tier: String,
    pub email_domains: Vec<String>,
    pub regions: Vec<String>,
    pub segments: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerUser {
    pub id: PartnerUserId,
    pub partner_id: PartnerId,
    pub name: String,
    pub email: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

pub(crate) fn partner_from_row(row: &AnyRow) -> Result<Partner> {
    Ok(Partner {
        id: PartnerId(row.int("id")?),
        name: row.text("name")?,
        kind: row.parsed("kind", PartnerKind::parse)?,
        tier: row.text("tier")?,
        email_domains: row.list("email_domains")?,
        regions: row.list("regions")?,
        segments: row.list("segments")?,
    })
}

pub(crate) fn user_from_row(row: &AnyRow) -> Result<PartnerUser> {
    Ok(PartnerUser {
        id: PartnerUserId(row.int("id")?),
        partner_id: PartnerId(row.int("partner_id")?),
        name: row.text("name")?,
        email: row.text("email")?,
        created_at: row.at("created_at")?,
    })
}

/// A partner's people's addresses, for messages about its own records only.
pub(crate) async fn user_emails(
    conn: &mut sqlx::AnyConnection,
    partner: PartnerId,
) -> Result<Vec<String>> {
    let rows = sqlx::query("SELECT email FROM partner_users WHERE partner_id = $1 ORDER BY id")
        .bind(partner.0)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|row| row.text("email")).collect()
}

impl Store {
    pub async fn create_partner(
        &self,
        new: &NewPartner,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Partner> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "INSERT INTO partners (name, kind, tier, email_domains, regions, segments, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(&new.tier)
        .bind(list_json(&new.email_domains))
        .bind(list_json(&new.regions))
        .bind(list_json(&new.segments))
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let id = PartnerId(row.int("id")?);
        claim_domains(&mut tx, id, &new.email_domains).await?;
        let event = NewEvent::new(
            Change::PartnerCreated {
                name: new.name.clone(),
            },
            format!(
                "{} joined the program as a {} partner",
                new.name,
                new.kind.as_str()
            ),
        )
        .on_partner(id);
        events::append(&mut tx, actor, now, &[event]).await?;
        tx.commit().await?;
        Ok(Partner {
            id,
            name: new.name.clone(),
            kind: new.kind,
            tier: new.tier.clone(),
            email_domains: new.email_domains.clone(),
            regions: new.regions.clone(),
            segments: new.segments.clone(),
        })
    }

    pub async fn partner(&self, id: PartnerId) -> Result<Partner> {
        let row = sqlx::query("SELECT * FROM partners WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound("partner"))?;
        partner_from_row(&row)
    }

    /// Partners by id, a page at a time.
    pub async fn partners(&self, after: i64, limit: i64) -> Result<Vec<Partner>> {
        let rows = sqlx::query("SELECT * FROM partners WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(partner_from_row).collect()
    }

    pub async fn partner_user(&self, id: PartnerUserId) -> Result<PartnerUser> {
        let row = sqlx::query("SELECT * FROM partner_users WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound("partner user"))?;
        user_from_row(&row)
    }

    pub async fn add_partner_user(
        &self,
        partner_id: PartnerId,
        name: &str,
        email: &Email,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<PartnerUser> {
        self.partner(partner_id).await?;
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO partner_users (partner_id, name, email, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(partner_id.0)
        .bind(name)
        .bind(email.as_str())
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from);
        let row = match inserted {
            Err(e) if e.is_unique_violation() => {
                return Err(StoreError::conflict(format!(
                    "{email} is already a user of a partner"
                )))
            }
            other => other?,
        };
        let event = NewEvent::new(
            Change::PartnerUserAdded {
                email: email.to_string(),
            },
            format!("{name} <{email}> was added as a partner user"),
        )
        .on_partner(partner_id);
        events::append(&mut tx, actor, now, &[event]).await?;
        tx.commit().await?;
        Ok(PartnerUser {
            id: PartnerUserId(row.int("id")?),
            partner_id,
            name: name.to_owned(),
            email: email.to_string(),
            created_at: now,
        })
    }
}

/// Records which partner each mail domain speaks for. A domain belongs to
/// one partner only: otherwise a sender could register for either.
async fn claim_domains(tx: &mut Tx, partner: PartnerId, domains: &[String]) -> Result<()> {
    for domain in domains {
        let inserted =
            sqlx::query("INSERT INTO partner_domains (domain, partner_id) VALUES ($1, $2)")
                .bind(domain)
                .bind(partner.0)
                .execute(&mut **tx)
                .await
                .map_err(StoreError::from);
        match inserted {
            Err(e) if e.is_unique_violation() => {
                return Err(StoreError::conflict(format!(
                    "the mail domain {domain} already belongs to another partner"
                )))
            }
            other => other?,
        };
    }
    Ok(())
}
