//! Periodic messages: each partner's weekly status summary, and the partner
//! team's reminder that a quarter's review is due. Each is done once per
//! period: claiming its key in `timers_done` and queueing its messages
//! happen in one transaction, so two processes, or a restart, never send
//! one twice.

use crate::db::{Store, Tx};
use crate::error::Result;
use crate::notify::{self, NewNotification};
use crate::partners::user_emails;
use crate::rows::{micros, RowExt};
use time::OffsetDateTime;
use trellis_domain::ids::{CaseNumber, PartnerId, RegistrationId};
use trellis_domain::program::Program;
use trellis_domain::tiering::Quarter;

/// Partners summarised per run; the next run takes the rest.
const BATCH: i64 = 200;

impl Store {
    /// Sends each partner with open registrations its weekly summary, once
    /// per ISO week, to each of its people. Returns how many partners.
    pub async fn send_weekly_summaries(&self, now: OffsetDateTime) -> Result<u64> {
        let (year, week, _) = now.to_iso_week_date();
        let period = format!("{year}-W{week:02}");
        let rows = sqlx::query(
            "SELECT p.id, p.name FROM partners p WHERE EXISTS (SELECT 1 FROM partner_users u \
             WHERE u.partner_id = p.id) AND EXISTS (SELECT 1 FROM registrations r WHERE r.partner_id = p.id \
             AND r.status IN ('submitted', 'more_info', 'approved')) AND NOT EXISTS (SELECT 1 FROM timers_done t \
             WHERE t.key = 'weekly:' || p.id || ':' || $1) ORDER BY p.id LIMIT $2",
        )
        .bind(&period)
        .bind(BATCH)
        .fetch_all(&self.reader)
        .await?;
        let mut sent = 0;
        for row in &rows {
            let partner = PartnerId(row.int("id")?);
            let body = self.summary(partner, &row.text("name")?, now).await?;
            let subject = format!("Your registrations this week ({period})");
            let emails = user_emails(&mut *self.reader.acquire().await?, partner).await?;
            let notes: Vec<_> = emails
                .into_iter()
                .map(|to| note("weekly_summary", to, subject.clone(), body.clone()))
                .collect();
            sent += u64::from(
                self.once(&format!("weekly:{partner}:{period}"), &notes, now)
                    .await?,
            );
        }
        Ok(sent)
    }

    /// Reminds the partner team, once per quarter, that the last complete
    /// quarter's review is not published yet. Returns whether it did.
    pub async fn remind_review(&self, program: &Program, now: OffsetDateTime) -> Result<bool> {
        let Some(to) = &program.notify.escalation_email else {
            return Ok(false);
        };
        let quarter = Quarter::last_complete(now);
        let published =
            sqlx::query("SELECT id FROM reviews WHERE quarter = $1 AND status = 'published'")
                .bind(quarter.to_string())
                .fetch_optional(&self.reader)
                .await?;
        if published.is_some() {
            return Ok(false);
        }
        let body = format!(
            "{quarter} has ended and its partner review is not published yet.\nNext step: run it \
             (POST /api/v1/reviews with {{\"quarter\": \"{quarter}\"}}), check the proposals, adjust any \
             with a reason, and publish.\n"
        );
        let subject = format!("The {quarter} partner review is due");
        let notes = [note("review_due", to.clone(), subject, body)];
        self.once(&format!("review:{quarter}"), &notes, now).await
    }

    /// Claims `key` and queues `notes` in one transaction; false when the
    /// key was already claimed (by this process earlier, or another).
    async fn once(
        &self,
        key: &str,
        notes: &[NewNotification],
        now: OffsetDateTime,
    ) -> Result<bool> {
        let mut tx = self.write().await?;
        if !claim(&mut tx, key, now).await? {
            return Ok(false);
        }
        notify::queue(&mut tx, notes, now, None).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A partner's open registrations in plain words: status, and the days
    /// left on a protection or before a first meeting is due.
    async fn summary(&self, partner: PartnerId, name: &str, now: OffsetDateTime) -> Result<String> {
        let rows = sqlx::query(
            "SELECT id, company_name, status, hold_until, meeting_due, first_meeting_at FROM registrations \
             WHERE partner_id = $1 AND status IN ('submitted', 'more_info', 'approved') ORDER BY id",
        )
        .bind(partner.0)
        .fetch_all(&self.reader)
        .await?;
        let mut text = format!("Open registrations of {name}:\n\n");
        for row in &rows {
            let case = CaseNumber(RegistrationId(row.int("id")?));
            let line = match row.text("status")?.as_str() {
                "submitted" => "waiting for the partner team's decision".to_owned(),
                "more_info" => {
                    "the partner team asked for more information: please answer".to_owned()
                }
                _ => protection(row, now)?,
            };
            text.push_str(&format!("- {case} {}: {line}\n", row.text("company_name")?));
        }
        Ok(text)
    }
}

/// What an approved registration's protection needs next.
fn protection(row: &sqlx::any::AnyRow, now: OffsetDateTime) -> Result<String> {
    let days = |at: OffsetDateTime| (at - now).whole_days().max(0);
    let held = row.opt_at("hold_until")?.map_or(0, days);
    Ok(match (row.opt_at("first_meeting_at")?, row.opt_at("meeting_due")?) {
        (None, Some(due)) => format!(
            "approved; log the first meeting within {} days to keep the protection ({held} days left)",
            days(due)
        ),
        _ => format!("approved and protected, {held} days left"),
    })
}

fn note(kind: &str, recipient: String, subject: String, body: String) -> NewNotification {
    NewNotification {
        kind: kind.into(),
        recipient,
        subject,
        body,
        in_reply_to: None,
        registration_id: None,
    }
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
