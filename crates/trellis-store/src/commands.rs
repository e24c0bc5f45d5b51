//! Commands on an existing registration: decisions, answers, meetings,
//! outcomes, and expiry. Each runs the pure lifecycle rule, writes the new
//! state with its event, and lets the conflict rules react, in one transaction.

use crate::conflicts;
use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events;
use crate::recipients::{self, Audience};
use crate::records::RegistrationRecord;
use crate::registrations::{load, save_life};
use crate::rows::micros;
use crate::rows::RowExt as _;
use crate::tiers::{self, NewMetric};
use time::OffsetDateTime;
use trellis_domain::conflict::Trigger;
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::{PartnerId, RegistrationId};
use trellis_domain::lifecycle::{self, Command};
use trellis_domain::program::Program;
use trellis_domain::tiering::Quantity;
use trellis_notices::{self as notices, Case, Notice};

/// The notice for changes the partner must act on or hear of: decisions,
/// expiry, and a close it did not make itself; none for what it did itself
/// (answers, meetings, its own close). About this registration only.
fn partner_notice(record: &RegistrationRecord, change: &Change, actor: &Actor) -> Option<Notice> {
    let case = Case {
        number: record.case_number(),
        company: record.company_name.clone(),
    };
    let by_partner = matches!(actor, Actor::Partner { .. });
    Some(match change {
        Change::Approved {
            hold_until,
            meeting_due,
            hold_days,
        } => Notice::Approved(notices::Approved {
            case,
            hold_days: *hold_days,
            hold_until: hold_until.date(),
            meeting_due: meeting_due.date(),
        }),
        Change::Declined { reason } => Notice::Declined(notices::Declined {
            case,
            reason: reason.clone(),
        }),
        Change::InfoRequested { question } => Notice::InfoRequested(notices::InfoRequested {
            case,
            question: question.clone(),
        }),
        Change::Expired { reason } => Notice::Expired(notices::Expired {
            case,
            reason: reason.clone(),
        }),
        Change::Won { amount, currency } if !by_partner => Notice::Won(notices::Won {
            case,
            amount: amount.as_ref().map(|a| match currency {
                Some(c) => format!("{a} {c}"),
                None => a.clone(),
            }),
        }),
        Change::Lost { reason } if !by_partner => Notice::Lost(notices::Lost {
            case,
            reason: reason.clone(),
        }),
        _ => return None,
    })
}

/// The metric a registration outcome feeds, so tier criteria count won
/// deals and first meetings without anyone entering them again: a won deal
/// is sourced revenue, a first meeting one more meeting. Keyed by the
/// registration, so replaying the outcome never counts twice.
fn outcome_metric(record: &RegistrationRecord, change: &str) -> Option<NewMetric> {
    let case = record.case_number().to_string();
    let (metric, value, at) = match change {
        "won" => {
            let amount = record.life.won_amount.as_ref()?;
            let value = Quantity::parse(&amount.decimal()).ok()?;
            ("revenue.sourced", value, record.life.closed_at?)
        }
        "meeting_logged" => (
            "first_meetings",
            Quantity::ONE,
            record.life.first_meeting_at?,
        ),
        _ => return None,
    };
    Some(NewMetric {
        partner_id: record.partner_id,
        metric: metric.into(),
        value,
        occurred_at: at,
        source_id: format!("{case}:{change}"),
        evidence: Some(case.clone()),
        item: Some(case),
        expires_on: None,
    })
}

/// Expiries handled per sweep transaction, so a large backlog never holds
/// the write lock for long.
const SWEEP_BATCH: i64 = 200;

impl Store {
    /// Applies `command` to a registration. A partner-scoped caller may act
    /// only on its own registrations; anything else is "not found".
    pub async fn apply(
        &self,
        id: RegistrationId,
        command: Command,
        scope: Option<PartnerId>,
        program: &Program,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<RegistrationRecord> {
        let mut tx = self.write().await?;
        let record = self.load_locked(&mut tx, id).await?;
        if scope.is_some_and(|p| p != record.partner_id) {
            return Err(StoreError::NotFound("registration"));
        }
        // A deadline that passed is applied first and committed, so the
        // expiry stands; the command then meets the registration as it now
        // is, expired, and is refused by the same rule as any other.
        if let Some(reason) = lifecycle::due_expiry(&record.life, now) {
            let expire = Command::Expire { reason };
            let expired = self
                .apply_in(&mut tx, record, expire, program, &Actor::System, now)
                .await?;
            tx.commit().await?;
            lifecycle::apply(&expired.life, command, &program.registration, now)?;
            return Ok(expired);
        }
        let record = self
            .apply_in(&mut tx, record, command, program, actor, now)
            .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Loads a registration after taking the lock on its account, so every
    /// writer touching the account's registrations and conflicts queues.
    pub(crate) async fn load_locked(
        &self,
        tx: &mut Tx,
        id: RegistrationId,
    ) -> Result<RegistrationRecord> {
        let record = load(tx, id).await?;
        self.lock_keys(tx, &[&format!("account:{}", record.account_id)])
            .await?;
        load(tx, id).await
    }

    /// The body of [`Store::apply`] inside a transaction the caller owns.
    pub(crate) async fn apply_in(
        &self,
        tx: &mut Tx,
        record: RegistrationRecord,
        command: Command,
        program: &Program,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<RegistrationRecord> {
        if matches!(command, Command::Approve { .. }) {
            conflicts::check_approval(tx, &record, program).await?;
        }
        let trigger = match &command {
            Command::Approve { .. } => Some(Trigger::Approved(record.id)),
            Command::LogMeeting { held_at } => Some(Trigger::MeetingLogged {
                id: record.id,
                held_at: *held_at,
            }),
            _ => None,
        };
        let (life, change) = lifecycle::apply(&record.life, command, &program.registration, now)?;
        save_life(tx, record.id, &life, now).await?;
        let why = explain(&record, &change);
        let change_kind = change.kind();
        let notice = partner_notice(&record, &change, actor);
        let event = NewEvent::new(change, why)
            .on_registration(record.id)
            .on_partner(record.partner_id)
            .on_account(record.account_id);
        events::append(tx, actor, now, &[event]).await?;
        if let Some(notice) = notice {
            let partner = Audience::Partner(record.partner_id);
            recipients::tell(tx, partner, &notice, &program.name, now).await?;
        }
        let updated = load(tx, record.id).await?;
        conflicts::react(tx, &updated, trigger, program, now).await?;
        if let Some(outcome) = outcome_metric(&updated, change_kind) {
            tiers::record_outcome(tx, &outcome, program, now).await?;
        }
        load(tx, record.id).await
    }

    /// Expires one registration if a deadline has passed (correct on read).
    pub async fn expire_if_due(
        &self,
        id: RegistrationId,
        program: &Program,
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        let record = match self.load_locked(&mut tx, id).await {
            Err(StoreError::NotFound(_)) => return Ok(false),
            other => other?,
        };
        let Some(reason) = lifecycle::due_expiry(&record.life, now) else {
            return Ok(false);
        };
        self.apply_in(
            &mut tx,
            record,
            Command::Expire { reason },
            program,
            &Actor::System,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Expires every registration whose deadline passed before `now`; returns
    /// how many. Run by the background sweep and before lists are read.
    pub async fn expire_due(&self, program: &Program, now: OffsetDateTime) -> Result<u64> {
        let mut total = 0;
        loop {
            let rows = sqlx::query(
                "SELECT id FROM registrations WHERE expires_at < $1 ORDER BY expires_at LIMIT $2",
            )
            .bind(micros(now))
            .bind(SWEEP_BATCH)
            .fetch_all(&self.reader)
            .await?;
            let mut expired = 0;
            for row in &rows {
                if self
                    .expire_if_due(RegistrationId(row.int("id")?), program, now)
                    .await?
                {
                    expired += 1;
                }
            }
            total += expired;
            if (rows.len() as i64) < SWEEP_BATCH || expired == 0 {
                return Ok(total);
            }
        }
    }
}

/// The sentence stored with a lifecycle event.
fn explain(record: &RegistrationRecord, change: &Change) -> String {
    use trellis_domain::values::day;
    use Change as C;
    let case = record.case_number();
    match change {
        C::Approved {
            hold_until,
            meeting_due,
            hold_days,
        } => format!(
            "{case} approved: protected for {hold_days} days until {}; first meeting due by {}",
            day(*hold_until),
            day(*meeting_due)
        ),
        C::Declined { reason } => format!("{case} declined: {reason}"),
        C::InfoRequested { question } => format!("{case} needs more information: {question}"),
        C::InfoProvided { .. } => {
            format!("{case} answered the question and is back for a decision")
        }
        C::MeetingLogged { held_at } => {
            format!(
                "{case} logged its first meeting, held on {}; the protection is locked",
                day(*held_at)
            )
        }
        C::Won { amount, currency } => match (amount, currency) {
            (Some(a), Some(c)) => format!("{case} won, {a} {c}"),
            _ => format!("{case} won"),
        },
        C::Lost { .. } => format!("{case} lost"),
        C::Expired { reason } => format!("{case} expired: {reason}"),
        other => format!("{case}: {}", other.kind()),
    }
}
