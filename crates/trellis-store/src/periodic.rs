//! Periodic messages: each partner's weekly status summary, and the partner
//! team's reminder that a quarter's review is due. Each is done once per
//! period: claiming its key in `timers_done` and queueing its messages
//! happen in one transaction, so two processes, or a restart, never send
//! one twice.

use crate::db::{Store, Tx};
use crate::error::Result;
use crate::recipients::{self, Audience, TeamChannels};
use crate::rows::{micros, RowExt};
use time::OffsetDateTime;
use trellis_domain::ids::{CaseNumber, PartnerId, RegistrationId};
use trellis_domain::program::Program;
use trellis_domain::tiering::Quarter;
use trellis_notices::{Case, Notice, ReviewDue, Standing, SummaryRow, WeeklySummary};

/// Partners summarised per run; the next run takes the rest.
const BATCH: i64 = 200;

impl Store {
    /// Sends each partner with open registrations its weekly summary, once
    /// per ISO week, on the channels it chose. Returns how many partners.
    pub async fn send_weekly_summaries(
        &self,
        program: &Program,
        now: OffsetDateTime,
    ) -> Result<u64> {
        let (year, week, _) = now.to_iso_week_date();
        let period = format!("{year}-W{week:02}");
        let rows = sqlx::query(
            "SELECT p.id, p.name FROM partners p WHERE EXISTS (SELECT 1 FROM registrations r \
             WHERE r.partner_id = p.id AND r.status IN ('submitted', 'more_info', 'approved')) \
             AND NOT EXISTS (SELECT 1 FROM timers_done t WHERE t.key = 'weekly:' || p.id || ':' || $1) \
             ORDER BY p.id LIMIT $2",
        )
        .bind(&period)
        .bind(BATCH)
        .fetch_all(&self.reader)
        .await?;
        let mut sent = 0;
        for row in &rows {
            let partner = PartnerId(row.int("id")?);
            let notice = Notice::WeeklySummary(WeeklySummary {
                partner: row.text("name")?,
                period: period.clone(),
                rows: self.summary(partner, now).await?,
            });
            let key = format!("weekly:{partner}:{period}");
            let told = (Audience::Partner(partner), &notice, program);
            sent += u64::from(self.once(&key, told, now).await?);
        }
        Ok(sent)
    }

    /// Reminds the partner team, once per quarter, that the last complete
    /// quarter's review is not published yet. Returns whether it did.
    pub async fn remind_review(
        &self,
        program: &Program,
        team: &TeamChannels,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if team.is_empty() {
            return Ok(false);
        }
        let quarter = Quarter::last_complete(now);
        let published =
            sqlx::query("SELECT id FROM reviews WHERE quarter = $1 AND status = 'published'")
                .bind(quarter.to_string())
                .fetch_optional(&self.reader)
                .await?;
        if published.is_some() {
            return Ok(false);
        }
        let notice = Notice::ReviewDue(ReviewDue {
            quarter: quarter.to_string(),
        });
        let told = (Audience::Team(team), &notice, program);
        self.once(&format!("review:{quarter}"), told, now).await
    }

    /// Claims `key` and tells the audience in one transaction; false when
    /// the key was already claimed (by this process earlier, or another).
    async fn once(
        &self,
        key: &str,
        (audience, notice, program): (Audience<'_>, &Notice, &Program),
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if !claim(&mut tx, key, now).await? {
            return Ok(false);
        }
        recipients::tell(&mut tx, audience, notice, &program.name, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A partner's open registrations and where each stands.
    async fn summary(&self, partner: PartnerId, now: OffsetDateTime) -> Result<Vec<SummaryRow>> {
        let rows = sqlx::query(
            "SELECT id, company_name, status, hold_until, meeting_due, first_meeting_at FROM registrations \
             WHERE partner_id = $1 AND status IN ('submitted', 'more_info', 'approved') ORDER BY id",
        )
        .bind(partner.0)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SummaryRow {
                    case: Case {
                        number: CaseNumber(RegistrationId(row.int("id")?)),
                        company: row.text("company_name")?,
                    },
                    standing: standing(row, now)?,
                })
            })
            .collect()
    }
}

/// Where an open registration stands: waiting, asked, or approved with the
/// days left on its protection and before its first meeting is due.
fn standing(row: &sqlx::any::AnyRow, now: OffsetDateTime) -> Result<Standing> {
    let days = |at: OffsetDateTime| (at - now).whole_days().max(0);
    Ok(match row.text("status")?.as_str() {
        "submitted" => Standing::Waiting,
        "more_info" => Standing::MoreInfo,
        _ => Standing::Approved {
            held_days: row.opt_at("hold_until")?.map_or(0, days),
            meeting_in_days: match row.opt_at("first_meeting_at")? {
                None => row.opt_at("meeting_due")?.map(days),
                Some(_) => None,
            },
        },
    })
}

/// Inserts the key; false when it exists. A concurrent claimer of the same
/// key waits for this transaction and then finds it.
async fn claim(tx: &mut Tx, key: &str, now: OffsetDateTime) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO timers_done (key, done_at) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
