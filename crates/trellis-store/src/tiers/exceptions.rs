//! Exceptions: a tier held by hand, always with a reason and an end date,
//! lapsing by itself when the date comes.

use super::observe;
use super::standing::{self, exception_from_row, TierException};
use crate::db::{Store, Tx};
use crate::error::Result;
use crate::events;
use crate::rows::{micros, RowExt};
use time::{Date, OffsetDateTime};
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::PartnerId;
use trellis_domain::program::Program;
use trellis_domain::tiering::{highest_qualified, Window};
use trellis_domain::DomainError;

/// A tier to hold by hand.
#[derive(Debug, Clone)]
pub struct NewException {
    pub partner_id: PartnerId,
    pub tier: String,
    pub reason: String,
    pub ends_on: Date,
}

impl Store {
    /// Holds a partner at a tier until `ends_on`, replacing any exception
    /// it had; the tier it falls back to is the one it had before the first.
    pub async fn grant_exception(
        &self,
        new: &NewException,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<TierException> {
        if new.ends_on <= now.date() {
            return Err(DomainError::field(
                "ends_on",
                "must be after today: an exception ends on a date to come",
            )
            .into());
        }
        let mut tx = self.write().await?;
        self.lock_keys(&mut tx, &[&format!("partner:{}", new.partner_id)])
            .await?;
        let standing = standing::load(&mut tx, new.partner_id).await?;
        let previous = match &standing.exception {
            Some(open) => {
                end(&mut tx, open.id, now).await?;
                open.previous_tier.clone()
            }
            None => standing.partner.tier.clone(),
        };
        let row = sqlx::query(
            "INSERT INTO tier_exceptions (partner_id, tier, previous_tier, reason, ends_on, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(new.partner_id.0)
        .bind(&new.tier)
        .bind(&previous)
        .bind(&new.reason)
        .bind(new.ends_on.to_string())
        .bind(micros(now))
        .fetch_one(&mut *tx)
        .await?;
        let exception = exception_from_row(&row)?;
        let granted = Change::ExceptionGranted {
            exception_id: exception.id,
            tier: exception.tier.clone(),
            ends_on: exception.ends_on.to_string(),
        };
        let why = format!(
            "{} held at {} until {}: {}",
            standing.partner.name, new.tier, new.ends_on, new.reason
        );
        let mut log = vec![NewEvent::new(granted, why).on_partner(new.partner_id)];
        log.extend(
            move_tier(
                &mut tx,
                new.partner_id,
                &standing.partner.tier,
                &new.tier,
                "exception",
                &new.reason,
                now,
            )
            .await?,
        );
        events::append(&mut tx, actor, now, &log).await?;
        tx.commit().await?;
        Ok(exception)
    }

    /// Ends every exception whose end date has come: each partner returns to
    /// the tier it had before, or the higher one its measurements now earn.
    /// Run by the background sweep; returns how many lapsed.
    pub async fn lapse_exceptions(&self, program: &Program, now: OffsetDateTime) -> Result<u64> {
        let due =
            sqlx::query("SELECT * FROM tier_exceptions WHERE ended_at IS NULL AND ends_on <= $1")
                .bind(now.date().to_string())
                .fetch_all(&self.reader)
                .await?;
        let mut lapsed = 0;
        for row in &due {
            let partner = PartnerId(row.int("partner_id")?);
            let mut tx = self.write().await?;
            self.lock_keys(&mut tx, &[&format!("partner:{partner}")])
                .await?;
            let standing = standing::load(&mut tx, partner).await?;
            // Another process may have lapsed or replaced it meanwhile.
            let Some(open) = standing.exception.filter(|e| e.ends_on <= now.date()) else {
                continue;
            };
            end(&mut tx, open.id, now).await?;
            let window = Window::current(program.review.window, now);
            let observed =
                observe::one(&mut tx, program, partner, standing.partner.kind, &window).await?;
            let earned = highest_qualified(program, standing.partner.kind, &observed);
            let back = higher(program, &open.previous_tier, earned);
            let change = Change::ExceptionLapsed {
                exception_id: open.id,
                tier: open.tier.clone(),
            };
            let why = format!(
                "the exception holding {} ended on {}",
                open.tier, open.ends_on
            );
            let mut log = vec![NewEvent::new(change, why).on_partner(partner)];
            let because =
                "back to the tier it held before the exception, or the one its measurements earn";
            log.extend(
                move_tier(
                    &mut tx,
                    partner,
                    &standing.partner.tier,
                    back,
                    "exception_lapsed",
                    because,
                    now,
                )
                .await?,
            );
            events::append(&mut tx, &Actor::System, now, &log).await?;
            tx.commit().await?;
            lapsed += 1;
        }
        Ok(lapsed)
    }
}

/// The higher of two tiers in the program's order (unknown ones lowest).
fn higher<'a>(program: &Program, a: &'a str, b: &'a str) -> &'a str {
    let rank = |id: &str| program.tiers.iter().position(|t| t.id == id);
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

async fn end(tx: &mut Tx, id: i64, now: OffsetDateTime) -> Result<()> {
    sqlx::query("UPDATE tier_exceptions SET ended_at = $2 WHERE id = $1")
        .bind(id)
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Sets a partner's tier, with the event saying how and why; nothing when
/// it does not change. Grace ends with any move.
pub(crate) async fn move_tier(
    tx: &mut Tx,
    partner: PartnerId,
    from: &str,
    to: &str,
    how: &str,
    why: &str,
    now: OffsetDateTime,
) -> Result<Option<NewEvent>> {
    if from == to {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE partners SET tier = $2, tier_since = $3, grace_quarter = NULL WHERE id = $1",
    )
    .bind(partner.0)
    .bind(to)
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    let change = Change::TierChanged {
        from: from.into(),
        to: to.into(),
        how: how.into(),
        criteria: vec![],
    };
    Ok(Some(
        NewEvent::new(change, format!("{from} to {to} ({how}): {why}")).on_partner(partner),
    ))
}
