//! Partners and the people who work for them.

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events;
use crate::rows::{list_json, micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use trellis_domain::channels::{NotifyVia, SlackWebhook};
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

impl NewPartner {
    /// A partner of `kind` in `tier` with no mail domains, regions or
    /// segments yet: what imports, benchmarks and tests start from.
    pub fn plain(
        name: impl Into<String>,
        kind: PartnerKind,
        tier: impl Into<String>,
    ) -> NewPartner {
        NewPartner {
            name: name.into(),
            kind,
            tier: tier.into(),
            email_domains: vec![],
            regions: vec![],
            segments: vec![],
        }
    }
}

/// How a partner hears of its registrations. The webhook is a secret:
/// it is read for delivery and otherwise shown only as a hint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartnerChannels {
    pub notify_via: NotifyVia,
    pub slack_webhook: Option<SlackWebhook>,
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

fn channels_from_row(row: &AnyRow) -> Result<PartnerChannels> {
    let corrupt = |e: trellis_domain::channels::ChannelError| {
        StoreError::Corrupt(format!("a partner's notify channels: {e}"))
    };
    let notify_via = NotifyVia::parse(&row.text("notify_via")?).map_err(corrupt)?;
    let slack_webhook = match row.opt_text("slack_webhook_url")? {
        Some(url) => Some(SlackWebhook::parse(&url).map_err(corrupt)?),
        None => None,
    };
    Ok(PartnerChannels {
        notify_via,
        slack_webhook,
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

/// The channels a partner chose, and its people's addresses (for
/// messages about its own records only), in one statement.
pub(crate) async fn reach(
    conn: &mut sqlx::AnyConnection,
    partner: PartnerId,
) -> Result<(NotifyVia, Vec<String>)> {
    let rows = sqlx::query(
        "SELECT p.notify_via, u.email FROM partners p \
         LEFT JOIN partner_users u ON u.partner_id = p.id WHERE p.id = $1 ORDER BY u.id",
    )
    .bind(partner.0)
    .fetch_all(&mut *conn)
    .await?;
    let first = rows.first().ok_or(StoreError::NotFound("partner"))?;
    let via = first.parsed("notify_via", |text| NotifyVia::parse(text).ok())?;
    let mut emails = Vec::with_capacity(rows.len());
    for row in &rows {
        emails.extend(row.opt_text("email")?);
    }
    Ok((via, emails))
}

impl Store {
    /// A partner that hears of its registrations by mail only.
    pub async fn create_partner(
        &self,
        new: &NewPartner,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Partner> {
        self.create_partner_with(new, &PartnerChannels::default(), actor, now)
            .await
    }

    /// A partner with the channels it chose, in one transaction.
    pub async fn create_partner_with(
        &self,
        new: &NewPartner,
        channels: &PartnerChannels,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Partner> {
        let mut tx = self.write().await?;
        let row = sqlx::query(
            "INSERT INTO partners (name, kind, tier, email_domains, regions, segments, created_at, \
             notify_via, slack_webhook_url) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&new.name)
        .bind(new.kind.as_str())
        .bind(&new.tier)
        .bind(list_json(&new.email_domains))
        .bind(list_json(&new.regions))
        .bind(list_json(&new.segments))
        .bind(micros(now))
        .bind(channels.notify_via.as_str())
        .bind(channels.slack_webhook.as_ref().map(SlackWebhook::expose))
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
        let rows = self.partner_rows(after, limit).await?;
        rows.iter().map(partner_from_row).collect()
    }

    /// [`Store::partners`] with the channels each chose.
    pub async fn partners_with_channels(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(Partner, PartnerChannels)>> {
        let rows = self.partner_rows(after, limit).await?;
        rows.iter()
            .map(|row| Ok((partner_from_row(row)?, channels_from_row(row)?)))
            .collect()
    }

    async fn partner_rows(&self, after: i64, limit: i64) -> Result<Vec<AnyRow>> {
        Ok(
            sqlx::query("SELECT * FROM partners WHERE id > $1 ORDER BY id LIMIT $2")
                .bind(after)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?,
        )
    }

    /// How a partner hears of its registrations.
    pub async fn partner_channels(&self, id: PartnerId) -> Result<PartnerChannels> {
        let row = sqlx::query("SELECT notify_via, slack_webhook_url FROM partners WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound("partner"))?;
        channels_from_row(&row)
    }

    /// Replaces how a partner hears of its registrations, recording the
    /// change (whether a webhook is set, never the URL).
    pub async fn set_partner_channels(
        &self,
        id: PartnerId,
        channels: &PartnerChannels,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE partners SET notify_via = $2, slack_webhook_url = $3 WHERE id = $1",
        )
        .bind(id.0)
        .bind(channels.notify_via.as_str())
        .bind(channels.slack_webhook.as_ref().map(SlackWebhook::expose))
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("partner"));
        }
        let via = channels.notify_via.as_str();
        let hook = if channels.slack_webhook.is_some() {
            "a Slack webhook is set"
        } else {
            "no Slack webhook is set"
        };
        let event = NewEvent::new(
            Change::NotifyChannelsSet {
                notify_via: via.to_owned(),
                slack_webhook: channels.slack_webhook.is_some(),
            },
            format!("the partner now hears of its registrations by {via}; {hook}"),
        )
        .on_partner(id);
        events::append(&mut tx, actor, now, &[event]).await?;
        tx.commit().await?;
        Ok(())
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
