//! Channel conflicts: opened at intake, settled by the program's policy as
//! claimants are approved, meet, or drop out, or by staff by hand.

use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events;
use crate::recipients::{self, Audience};
use crate::records::{ConflictRecord, RegistrationRecord};
use crate::registrations::{case_list, load, save_life, set_conflict};
use crate::rows::{micros, RowExt};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use trellis_domain::conflict::{self, Settlement, Trigger};
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::{AccountId, ConflictId, RegistrationId};
use trellis_domain::lifecycle::{self, Command};
use trellis_domain::program::Program;
use trellis_domain::values::Text;
use trellis_notices::{Case, ConflictOpened, Notice};

/// How the reason of a conflict resolved by hand begins, which is how the
/// metrics tell it from one the policy settled.
pub(crate) const BY_STAFF: &str = "resolved by staff";

/// Puts a new registration into conflict with its competitors: joins their
/// open conflict, or opens one, and tells each partner whose registration
/// is newly in conflict. Returns the conflict, if any.
pub(crate) async fn open_or_join(
    tx: &mut Tx,
    new: &RegistrationRecord,
    competitors: &[&RegistrationRecord],
    program: &Program,
    log: &mut Vec<NewEvent>,
    now: OffsetDateTime,
) -> Result<Option<ConflictId>> {
    if competitors.is_empty() {
        return Ok(None);
    }
    let claimed = case_list(competitors.iter().map(|c| c.id));
    if let Some(open) = open_conflict_of(tx, competitors).await? {
        set_conflict(tx, &[new.id], open).await?;
        let why = format!(
            "{} joined the channel conflict over this account with {claimed}",
            new.case_number()
        );
        log.push(
            NewEvent::new(Change::ConflictJoined { conflict_id: open }, why)
                .on_registration(new.id)
                .on_conflict(open),
        );
        tell_in_conflict(tx, new, program, now).await?;
        return Ok(Some(open));
    }
    let policy = program.registration.conflict_policy;
    let row = sqlx::query(
        "INSERT INTO conflicts (account_id, policy, status, opened_at) VALUES ($1, $2, 'open', $3) RETURNING id",
    )
    .bind(new.account_id.0)
    .bind(policy.as_str())
    .bind(micros(now))
    .fetch_one(&mut **tx)
    .await?;
    let id = ConflictId(row.int("id")?);
    let mut claimants: Vec<&RegistrationRecord> = competitors.to_vec();
    claimants.push(new);
    let members: Vec<RegistrationId> = claimants.iter().map(|c| c.id).collect();
    set_conflict(tx, &members, id).await?;
    for claimant in claimants {
        tell_in_conflict(tx, claimant, program, now).await?;
        let why = format!(
            "{} registered an account that {claimed} already claims; the {} policy decides",
            new.case_number(),
            policy.as_str()
        );
        let change = Change::ConflictOpened {
            conflict_id: id,
            registrations: members.clone(),
        };
        log.push(
            NewEvent::new(change, why)
                .on_registration(claimant.id)
                .on_partner(claimant.partner_id)
                .on_conflict(id),
        );
    }
    Ok(Some(id))
}

/// Tells the partner of `claimant` that its registration is in a
/// conflict: which of its own registrations and how the program decides,
/// never who else claims the account.
async fn tell_in_conflict(
    tx: &mut Tx,
    claimant: &RegistrationRecord,
    program: &Program,
    now: OffsetDateTime,
) -> Result<()> {
    let notice = Notice::ConflictOpened(ConflictOpened {
        case: Case {
            number: claimant.case_number(),
            company: claimant.company_name.clone(),
        },
        policy: program.registration.conflict_policy,
    });
    let partner = Audience::Partner(claimant.partner_id);
    recipients::tell(tx, partner, &notice, &program.name, now).await?;
    Ok(())
}

async fn open_conflict_of(
    conn: &mut AnyConnection,
    competitors: &[&RegistrationRecord],
) -> Result<Option<ConflictId>> {
    for id in competitors.iter().filter_map(|c| c.conflict_id) {
        if load_conflict(conn, id).await?.status == "open" {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Refuses an approval the policy does not allow yet (`first_registered`).
pub(crate) async fn check_approval(
    tx: &mut Tx,
    record: &RegistrationRecord,
    program: &Program,
) -> Result<()> {
    let Some(id) = record.conflict_id else {
        return Ok(());
    };
    if load_conflict(tx, id).await?.status != "open" {
        return Ok(());
    }
    let members = members(tx, id).await?;
    let members: Vec<_> = members.iter().map(RegistrationRecord::as_member).collect();
    Ok(conflict::check_approval(
        program.registration.conflict_policy,
        &members,
        record.id,
    )?)
}

/// Lets the policy react to what just happened to a conflict member.
pub(crate) async fn react(
    tx: &mut Tx,
    updated: &RegistrationRecord,
    trigger: Option<Trigger>,
    program: &Program,
    now: OffsetDateTime,
) -> Result<()> {
    let Some(id) = updated.conflict_id else {
        return Ok(());
    };
    let trigger = match trigger {
        Some(t) => t,
        None if !updated.life.status.is_active() => Trigger::MemberClosed,
        None => return Ok(()),
    };
    if load_conflict(tx, id).await?.status != "open" {
        return Ok(());
    }
    let records = members(tx, id).await?;
    let members: Vec<_> = records.iter().map(RegistrationRecord::as_member).collect();
    match conflict::settle(program.registration.conflict_policy, &members, &trigger) {
        Some(settlement) => {
            apply_settlement(tx, id, &settlement, program, &Actor::System, now).await
        }
        None => Ok(()),
    }
}

/// Declines the losers, closes the conflict, and explains it on every member.
async fn apply_settlement(
    tx: &mut Tx,
    id: ConflictId,
    settlement: &Settlement,
    program: &Program,
    actor: &Actor,
    now: OffsetDateTime,
) -> Result<()> {
    let decline_reason = format!("channel conflict settled: {}", settlement.reason);
    let mut log = Vec::new();
    for loser in &settlement.declined {
        let record = load(tx, *loser).await?;
        let command = Command::YieldConflict {
            reason: decline_reason.clone(),
        };
        let (life, change) = lifecycle::apply(&record.life, command, &program.registration, now)?;
        save_life(tx, record.id, &life, now).await?;
        let why = format!("{} declined: {decline_reason}", record.case_number());
        log.push(
            NewEvent::new(change, why)
                .on_registration(record.id)
                .on_partner(record.partner_id),
        );
    }
    sqlx::query("UPDATE conflicts SET status = 'resolved', winner_id = $2, reason = $3, resolved_at = $4 WHERE id = $1")
        .bind(id.0)
        .bind(settlement.winner.map(|w| w.0))
        .bind(&settlement.reason)
        .bind(micros(now))
        .execute(&mut **tx)
        .await?;
    for member in members(tx, id).await? {
        let change = Change::ConflictResolved {
            conflict_id: id,
            winner: settlement.winner,
            reason: settlement.reason.clone(),
        };
        let why = format!("channel conflict resolved: {}", settlement.reason);
        log.push(
            NewEvent::new(change, why)
                .on_registration(member.id)
                .on_partner(member.partner_id)
                .on_account(member.account_id)
                .on_conflict(id),
        );
    }
    events::append(tx, actor, now, &log).await
}

async fn members(conn: &mut AnyConnection, id: ConflictId) -> Result<Vec<RegistrationRecord>> {
    let rows = sqlx::query("SELECT id FROM registrations WHERE conflict_id = $1 ORDER BY id")
        .bind(id.0)
        .fetch_all(&mut *conn)
        .await?;
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        records.push(load(conn, RegistrationId(row.int("id")?)).await?);
    }
    Ok(records)
}

pub(crate) async fn load_conflict(
    conn: &mut AnyConnection,
    id: ConflictId,
) -> Result<ConflictRecord> {
    // The members come along as one text: one statement, where a second
    // would cost another round trip inside the registering transaction.
    let row = sqlx::query(
        "SELECT c.*, (SELECT string_agg(CAST(r.id AS TEXT), ',') FROM registrations r \
         WHERE r.conflict_id = c.id) AS members FROM conflicts c WHERE c.id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound("conflict"))?;
    let members = row.opt_text("members")?.unwrap_or_default();
    let mut ids = members
        .split(',')
        .filter(|id| !id.is_empty())
        .map(|id| id.parse().map(RegistrationId))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| StoreError::Corrupt(format!("conflict {} members {members:?}", id.0)))?;
    ids.sort_unstable();
    conflict_from_row(&row, ids)
}

pub(crate) fn conflict_from_row(
    row: &AnyRow,
    registrations: Vec<RegistrationId>,
) -> Result<ConflictRecord> {
    Ok(ConflictRecord {
        id: ConflictId(row.int("id")?),
        account_id: AccountId(row.int("account_id")?),
        policy: row.text("policy")?,
        status: row.text("status")?,
        winner_id: row.opt_int("winner_id")?.map(RegistrationId),
        reason: row.opt_text("reason")?,
        opened_at: row.at("opened_at")?,
        resolved_at: row.opt_at("resolved_at")?,
        registrations,
    })
}

impl Store {
    pub async fn conflict(&self, id: ConflictId) -> Result<ConflictRecord> {
        let mut conn = self.reader.acquire().await?;
        load_conflict(&mut conn, id).await
    }

    /// Conflicts by id, optionally only `open` or `resolved` ones.
    pub async fn conflicts(
        &self,
        status: Option<&str>,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ConflictRecord>> {
        let mut conn = self.reader.acquire().await?;
        let rows = sqlx::query("SELECT id FROM conflicts WHERE id > $1 AND ($2 IS NULL OR status = $2) ORDER BY id LIMIT $3")
            .bind(after)
            .bind(status)
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(load_conflict(&mut conn, ConflictId(row.int("id")?)).await?);
        }
        Ok(out)
    }

    /// Staff settle a conflict by hand: `winner` keeps its claim, every
    /// other active claimant is declined with the staff member's reason.
    pub async fn resolve_conflict(
        &self,
        id: ConflictId,
        winner: RegistrationId,
        reason: &Text,
        program: &Program,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<ConflictRecord> {
        let mut tx = self.write().await?;
        let conflict = load_conflict(&mut tx, id).await?;
        self.lock_keys(&mut tx, &[&format!("account:{}", conflict.account_id)])
            .await?;
        let conflict = load_conflict(&mut tx, id).await?;
        if conflict.status != "open" {
            return Err(StoreError::conflict(format!(
                "conflict {id} is already resolved: {}",
                conflict.reason.unwrap_or_default()
            )));
        }
        let records = members(&mut tx, id).await?;
        if !records
            .iter()
            .any(|r| r.id == winner && r.life.status.is_active())
        {
            return Err(StoreError::conflict(format!(
                "the winner must be an active registration in conflict {id}: one of {}",
                case_list(
                    records
                        .iter()
                        .filter(|r| r.life.status.is_active())
                        .map(|r| r.id)
                )
            )));
        }
        let members: Vec<_> = records.iter().map(RegistrationRecord::as_member).collect();
        let trigger = Trigger::Manual {
            winner,
            reason: format!(
                "{BY_STAFF} in favour of {}: {reason}",
                trellis_domain::ids::CaseNumber(winner)
            ),
        };
        if let Some(settlement) =
            conflict::settle(program.registration.conflict_policy, &members, &trigger)
        {
            apply_settlement(&mut tx, id, &settlement, program, actor, now).await?;
        }
        let resolved = load_conflict(&mut tx, id).await?;
        tx.commit().await?;
        Ok(resolved)
    }
}
