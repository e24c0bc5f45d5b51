//! What the staff workspace lists: the registrations waiting on a decision,
//! oldest first a page at a time; conflicts with their claims; and what is
//! shown beside them (partners, staff users' names, near accounts). Each
//! list costs a fixed number of indexed statements whatever its length, so
//! a page never asks the database once per row.

use crate::accounts::{self, Candidate};
use crate::conflicts::conflict_from_row;
use crate::db::Store;
use crate::error::Result;
use crate::events::{event_from_row, EventRecord};
use crate::partners::partner_from_row;
use crate::records::{ConflictRecord, RegistrationRecord};
use crate::registrations::from_row;
use crate::rows::{placeholders, RowExt};
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};
use trellis_domain::dedupe::CompanyName;
use trellis_domain::ids::{ConflictId, PartnerId, RegistrationId};
use trellis_domain::partner::Partner;
use trellis_domain::registration::Status;

/// A conflict and every registration in it, oldest first.
#[derive(Debug, Clone)]
pub struct ConflictClaims {
    pub conflict: ConflictRecord,
    pub claims: Vec<RegistrationRecord>,
}

/// Distinct values, for an `IN` list.
fn distinct<T: Ord + Copy>(values: impl IntoIterator<Item = T>) -> Vec<T> {
    values
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Rows whose `column` is one of `ids`, by `sql_before_in` `IN (...)`
/// `sql_after`; none for no ids.
async fn rows_in(
    conn: &mut AnyConnection,
    (sql_before_in, sql_after): (&str, &str),
    ids: &[i64],
) -> Result<Vec<AnyRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{sql_before_in} IN ({}) {sql_after}",
        placeholders(ids.len())
    );
    let query = ids.iter().fold(sqlx::query(&sql), |q, id| q.bind(*id));
    Ok(query.fetch_all(&mut *conn).await?)
}

/// Attaches each conflict's claims, read in one statement.
async fn with_claims(conn: &mut AnyConnection, rows: &[AnyRow]) -> Result<Vec<ConflictClaims>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.int("id")).collect::<Result<_>>()?;
    let claims = rows_in(
        conn,
        (
            "SELECT * FROM registrations WHERE conflict_id",
            "ORDER BY id",
        ),
        &ids,
    )
    .await?;
    let claims: Vec<RegistrationRecord> = claims.iter().map(from_row).collect::<Result<_>>()?;
    rows.iter()
        .map(|row| {
            let id = ConflictId(row.int("id")?);
            let mine: Vec<RegistrationRecord> = claims
                .iter()
                .filter(|c| c.conflict_id == Some(id))
                .cloned()
                .collect();
            let conflict = conflict_from_row(row, mine.iter().map(|c| c.id).collect())?;
            Ok(ConflictClaims {
                conflict,
                claims: mine,
            })
        })
        .collect()
}

impl Store {
    /// Registrations in `status`, oldest submitted first, starting after
    /// the registration `after` (keyset pagination on submitted time and
    /// id, read along one index).
    pub async fn decision_queue(
        &self,
        status: Status,
        after: Option<RegistrationId>,
        limit: i64,
    ) -> Result<Vec<RegistrationRecord>> {
        let rows = match after {
            None => {
                sqlx::query(
                    "SELECT * FROM registrations WHERE status = $1 \
                     ORDER BY submitted_at, id LIMIT $2",
                )
                .bind(status.as_str())
                .bind(limit)
                .fetch_all(&self.reader)
                .await?
            }
            Some(after) => {
                sqlx::query(
                    "SELECT * FROM registrations WHERE status = $1 \
                     AND (submitted_at, id) > ((SELECT submitted_at FROM registrations WHERE id = $2), $2) \
                     ORDER BY submitted_at, id LIMIT $3",
                )
                .bind(status.as_str())
                .bind(after.0)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    /// The conflicts with these ids, with their claims.
    pub async fn conflicts_with_claims(&self, ids: &[ConflictId]) -> Result<Vec<ConflictClaims>> {
        let mut conn = self.reader.acquire().await?;
        let ids = distinct(ids.iter().map(|c| c.0));
        let rows = rows_in(
            &mut conn,
            ("SELECT * FROM conflicts WHERE id", "ORDER BY id"),
            &ids,
        )
        .await?;
        with_claims(&mut conn, &rows).await
    }

    /// Open conflicts, oldest first, after the conflict `after`.
    pub async fn open_conflicts(&self, after: i64, limit: i64) -> Result<Vec<ConflictClaims>> {
        let mut conn = self.reader.acquire().await?;
        let rows = sqlx::query(
            "SELECT * FROM conflicts WHERE status = 'open' AND id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        with_claims(&mut conn, &rows).await
    }

    /// The most recently settled conflicts, latest first.
    pub async fn settled_conflicts(&self, limit: i64) -> Result<Vec<ConflictClaims>> {
        let mut conn = self.reader.acquire().await?;
        let rows = sqlx::query(
            "SELECT * FROM conflicts WHERE status = 'resolved' ORDER BY resolved_at DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
        with_claims(&mut conn, &rows).await
    }

    /// Partners by id, for the names and tiers beside a list.
    pub async fn partners_by_ids(
        &self,
        ids: impl IntoIterator<Item = PartnerId>,
    ) -> Result<HashMap<PartnerId, Partner>> {
        let mut conn = self.reader.acquire().await?;
        let ids = distinct(ids.into_iter().map(|p| p.0));
        let rows = rows_in(&mut conn, ("SELECT * FROM partners WHERE id", ""), &ids).await?;
        rows.iter()
            .map(|row| partner_from_row(row).map(|p| (p.id, p)))
            .collect()
    }

    /// Staff users' names by id, for who did what in a history.
    pub async fn staff_names(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, String>> {
        let mut conn = self.reader.acquire().await?;
        let ids = distinct(ids);
        let rows = rows_in(
            &mut conn,
            ("SELECT id, name FROM staff_users WHERE id", ""),
            &ids,
        )
        .await?;
        rows.iter()
            .map(|row| Ok((row.int("id")?, row.text("name")?)))
            .collect()
    }

    /// Accounts with names close to each registration's company name, other
    /// than its own account: the possible duplicates intake found, looked
    /// up again (accounts may have come since), for all in one statement.
    pub async fn similar_accounts(
        &self,
        records: &[RegistrationRecord],
        threshold: f64,
    ) -> Result<HashMap<RegistrationId, Vec<Candidate>>> {
        // Stored names were validated on the way in; one that no longer
        // parses is simply not looked up.
        let keyed: Vec<(RegistrationId, (String, _))> = records
            .iter()
            .filter_map(|r| {
                let key = CompanyName::parse(&r.company_name).ok()?.key();
                Some((r.id, (key, Some(r.account_id))))
            })
            .collect();
        let keys: Vec<_> = keyed.iter().map(|(_, k)| k.clone()).collect();
        let mut conn = self.reader.acquire().await?;
        let found = accounts::fuzzy_many(&mut conn, &keys, threshold).await?;
        Ok(keyed.into_iter().map(|(id, _)| id).zip(found).collect())
    }

    /// A registration's history with its conflict's (the other claimants
    /// joining, the settlement), oldest first.
    pub async fn registration_timeline(
        &self,
        id: RegistrationId,
        conflict: Option<ConflictId>,
    ) -> Result<Vec<EventRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM events WHERE registration_id = $1 \
             UNION SELECT * FROM events WHERE conflict_id = $2 ORDER BY id",
        )
        .bind(id.0)
        .bind(conflict.map(|c| c.0))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }
}
