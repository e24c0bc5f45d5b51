//! Timed work derived from the registrations themselves: a response SLA
//! that passed, a first meeting coming due. Nothing is scheduled in memory;
//! each run finds what is due from the stored dates, records it with an
//! event (which is also how a later run knows it was done) and queues the
//! messages in the same transaction, so a restart neither loses nor
//! repeats one.

use crate::db::Store;
use crate::error::Result;
use crate::events;
use crate::recipients::{self, Audience, TeamChannels};
use crate::rows::{micros, RowExt};
use sqlx::any::AnyRow;
use time::{Duration, OffsetDateTime};
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::{CaseNumber, PartnerId, RegistrationId};
use trellis_domain::program::Program;
use trellis_notices::{Case, Escalation, MeetingReminder, Notice};

/// Registrations handled per run of each kind; the next run takes the rest.
const BATCH: i64 = 200;

/// One registration a timer found due.
struct Due {
    id: RegistrationId,
    partner: PartnerId,
    partner_name: String,
    tier: String,
    company: String,
    at: OffsetDateTime,
}

impl Store {
    /// Records each registration still waiting for a decision past its
    /// response SLA (the partner's tier's, where the program sets one) and
    /// tells the partner team on its channels. Returns how many.
    pub async fn escalate_overdue(
        &self,
        program: &Program,
        team: &TeamChannels,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let mut waiting = Vec::new();
        for (sla_hours, tiers) in tiers_by_response_sla(program) {
            let condition = format!("r.status = 'submitted' AND r.submitted_at <= $1 AND {tiers}");
            let since = now - Duration::hours(i64::from(sla_hours));
            waiting.extend(
                self.due(&condition, since, "r.submitted_at", "response_sla_breached")
                    .await?,
            );
        }
        let mut escalated = 0;
        for due in waiting {
            let sla_hours = program.response_sla_hours_for(&due.tier);
            let change = Change::ResponseSlaBreached { sla_hours };
            let why = format!(
                "{} has waited more than {sla_hours} hours for a decision",
                CaseNumber(due.id)
            );
            let notice = Notice::Escalation(Escalation {
                case: due.case(),
                partner: due.partner_name.clone(),
                sla_hours,
                submitted: due.at.date(),
            });
            let told = (Audience::Team(team), &notice, program);
            escalated += u64::from(self.record(&due, change, why, told, now).await?);
        }
        Ok(escalated)
    }

    /// Reminds each partner whose approved registration's first meeting is
    /// due within the program's reminder days and not yet logged. Returns
    /// how many registrations were reminded of.
    pub async fn remind_meetings(&self, program: &Program, now: OffsetDateTime) -> Result<u64> {
        let ahead = Duration::days(i64::from(program.notify.meeting_reminder_days));
        let coming = self
            .due(
                "r.status = 'approved' AND r.first_meeting_at IS NULL AND r.meeting_due <= $1",
                now + ahead,
                "r.meeting_due",
                "meeting_reminded",
            )
            .await?;
        let mut reminded = 0;
        for due in coming.into_iter().filter(|d| d.at > now) {
            let change = Change::MeetingReminded {
                meeting_due: due.at,
            };
            let why = format!(
                "{}: first meeting due by {}",
                CaseNumber(due.id),
                due.at.date()
            );
            let notice = Notice::MeetingReminder(MeetingReminder {
                case: due.case(),
                meeting_due: due.at.date(),
            });
            let told = (Audience::Partner(due.partner), &notice, program);
            reminded += u64::from(self.record(&due, change, why, told, now).await?);
        }
        Ok(reminded)
    }

    /// Registrations matching `condition` (`$1` is `bound`) with no event of
    /// `kind` yet, oldest `at` first.
    async fn due(
        &self,
        condition: &str,
        bound: OffsetDateTime,
        at: &str,
        kind: &str,
    ) -> Result<Vec<Due>> {
        let sql = format!(
            "SELECT r.id, r.partner_id, p.name AS partner_name, p.tier, r.company_name, {at} AS at \
             FROM registrations r JOIN partners p ON p.id = r.partner_id WHERE {condition} \
             AND NOT EXISTS (SELECT 1 FROM events e WHERE e.registration_id = r.id AND e.kind = $2) \
             ORDER BY {at} LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(bound))
            .bind(kind)
            .bind(BATCH)
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(due_from_row).collect()
    }

    /// Records the event and tells its audience in one transaction, unless
    /// another process recorded it first. Returns whether this one did.
    async fn record(
        &self,
        due: &Due,
        change: Change,
        why: String,
        (audience, notice, program): (Audience<'_>, &Notice, &Program),
        now: OffsetDateTime,
    ) -> Result<bool> {
        let kind = change.kind();
        let mut tx = self.write().await?;
        self.lock_keys(&mut tx, &[&format!("{kind}:{}", due.id)])
            .await?;
        let done =
            sqlx::query("SELECT 1 AS done FROM events WHERE registration_id = $1 AND kind = $2")
                .bind(due.id.0)
                .bind(kind)
                .fetch_optional(&mut *tx)
                .await?;
        if done.is_some() {
            return Ok(false);
        }
        let event = NewEvent::new(change, why)
            .on_registration(due.id)
            .on_partner(due.partner);
        events::append(&mut tx, &Actor::System, now, &[event]).await?;
        recipients::tell(&mut tx, audience, notice, &program.name, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

impl Due {
    fn case(&self) -> Case {
        Case {
            number: CaseNumber(self.id),
            company: self.company.clone(),
        }
    }
}

fn due_from_row(row: &AnyRow) -> Result<Due> {
    Ok(Due {
        id: RegistrationId(row.int("id")?),
        partner: PartnerId(row.int("partner_id")?),
        partner_name: row.text("partner_name")?,
        tier: row.text("tier")?,
        company: row.text("company_name")?,
        at: row.at("at")?,
    })
}

/// The response SLAs in force and, for each, a condition on `p.tier` that
/// picks the partners it applies to: the tiers with a faster SLA of their
/// own, and everyone else (other tiers, and a tier the program no longer
/// names) under the program's. Each SLA is looked up on its own, so a
/// backlog under a slow SLA never holds back a breach under a fast one.
/// Tier ids are validated slugs (`[a-z0-9-]+`), safe to write as literals.
fn tiers_by_response_sla(program: &Program) -> Vec<(u32, String)> {
    let default = program.registration.response_sla_hours;
    let mut own: std::collections::BTreeMap<u32, Vec<&str>> = Default::default();
    for tier in &program.tiers {
        let hours = program.response_sla_hours_for(&tier.id);
        if hours != default {
            own.entry(hours).or_default().push(&tier.id);
        }
    }
    let quoted = |tiers: &[&str]| {
        tiers
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let overridden: Vec<&str> = own.values().flatten().copied().collect();
    let everyone_else = match overridden.is_empty() {
        true => "TRUE".to_owned(),
        false => format!("p.tier NOT IN ({})", quoted(&overridden)),
    };
    let mut groups: Vec<(u32, String)> = own
        .iter()
        .map(|(hours, tiers)| (*hours, format!("p.tier IN ({})", quoted(tiers))))
        .collect();
    groups.push((default, everyone_else));
    groups
}
