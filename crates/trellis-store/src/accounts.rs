//! Accounts and dedupe: every registration links to one account, found by
//! exact domain or exact normalized name; near names are offered to staff as
//! possible duplicates and never merged silently.

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::records::AccountRecord;
use crate::rows::{micros, RowExt};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;
use time::OffsetDateTime;
use trellis_domain::dedupe::{name_similarity, reversed_key, CompanyName, WebDomain};
use trellis_domain::ids::AccountId;

/// How many sorted neighbours each side of a key the fuzzy search reads.
const NEIGHBOURS: i64 = 16;
/// How many possible duplicates an answer lists at most.
const MAX_CANDIDATES: usize = 5;

/// An account to create (import, API, or a registration for a new company).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: CompanyName,
    pub domain: Option<WebDomain>,
    pub source: String,
}

/// A possible duplicate: an account whose name is close to the one given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub account_id: AccountId,
    pub name: String,
    pub domain: Option<String>,
    /// Name similarity from 0 to 1.
    pub score: f64,
}

/// The answer to "which account is this?".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountMatch {
    /// The account the keys match exactly, if any.
    pub linked: Option<AccountRecord>,
    /// How it matched: `domain` or `name`.
    pub matched_on: Option<&'static str>,
    pub candidates: Vec<Candidate>,
}

pub(crate) fn account_from_row(row: &AnyRow) -> Result<AccountRecord> {
    Ok(AccountRecord {
        id: AccountId(row.int("id")?),
        name: row.text("name")?,
        domain: row.opt_text("domain")?,
        source: row.text("source")?,
        created_at: row.at("created_at")?,
    })
}

/// The account with this domain, or else the oldest with this name key.
pub(crate) async fn find_exact(
    conn: &mut AnyConnection,
    key: &str,
    domain: Option<&WebDomain>,
) -> Result<Option<(AccountRecord, &'static str)>> {
    if let Some(domain) = domain {
        let row = sqlx::query("SELECT * FROM accounts WHERE domain = $1")
            .bind(domain.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(row) = row {
            return Ok(Some((account_from_row(&row)?, "domain")));
        }
    }
    let row = sqlx::query("SELECT * FROM accounts WHERE name_key = $1 ORDER BY id LIMIT 1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| account_from_row(&r).map(|a| (a, "name")))
        .transpose()
}

/// Accounts whose names are close to `key`, best first.
///
/// Scanning millions of names is out of the question, so candidates come
/// from the sorted neighbourhood of the key in two indexes: the key itself
/// (names that agree at the start) and the reversed key (names that agree at
/// the end, catching a typo up front). Four bounded range scans in one query,
/// then each candidate is scored.
pub(crate) async fn fuzzy(
    conn: &mut AnyConnection,
    key: &str,
    threshold: f64,
    exclude: Option<AccountId>,
) -> Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT * FROM (SELECT id, name, name_key, domain FROM accounts WHERE name_key >= $1 ORDER BY name_key LIMIT $3) a \
         UNION \
         SELECT * FROM (SELECT id, name, name_key, domain FROM accounts WHERE name_key < $1 ORDER BY name_key DESC LIMIT $3) b \
         UNION \
         SELECT * FROM (SELECT id, name, name_key, domain FROM accounts WHERE name_rkey >= $2 ORDER BY name_rkey LIMIT $3) c \
         UNION \
         SELECT * FROM (SELECT id, name, name_key, domain FROM accounts WHERE name_rkey < $2 ORDER BY name_rkey DESC LIMIT $3) d",
    )
    .bind(key)
    .bind(reversed_key(key))
    .bind(NEIGHBOURS)
    .fetch_all(&mut *conn)
    .await?;
    let mut candidates = Vec::new();
    for row in rows {
        let id = AccountId(row.int("id")?);
        let score = name_similarity(key, &row.text("name_key")?);
        if Some(id) != exclude && score >= threshold {
            candidates.push(Candidate {
                account_id: id,
                name: row.text("name")?,
                domain: row.opt_text("domain")?,
                score: (score * 1000.0).round() / 1000.0,
            });
        }
    }
    candidates.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.account_id.cmp(&b.account_id))
    });
    candidates.truncate(MAX_CANDIDATES);
    Ok(candidates)
}

/// Inserts an account; a taken domain is reported as a conflict.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    new: &NewAccount,
    now: OffsetDateTime,
) -> Result<AccountRecord> {
    let key = new.name.key();
    let inserted = sqlx::query(
        "INSERT INTO accounts (name, name_key, name_rkey, domain, source, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(new.name.as_str())
    .bind(&key)
    .bind(reversed_key(&key))
    .bind(new.domain.as_ref().map(|d| d.as_str()))
    .bind(&new.source)
    .bind(micros(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(StoreError::from);
    let row = match inserted {
        Err(e) if e.is_unique_violation() => {
            return Err(StoreError::conflict(format!(
                "an account with the domain {} already exists",
                new.domain.as_ref().map(|d| d.as_str()).unwrap_or_default()
            )))
        }
        other => other?,
    };
    Ok(AccountRecord {
        id: AccountId(row.int("id")?),
        name: new.name.as_str().to_owned(),
        domain: new.domain.as_ref().map(|d| d.as_str().to_owned()),
        source: new.source.clone(),
        created_at: now,
    })
}

impl Store {
    /// The exact match for a name and domain, and near names.
    pub async fn match_account(
        &self,
        name: &CompanyName,
        domain: Option<&WebDomain>,
        threshold: f64,
    ) -> Result<AccountMatch> {
        let mut conn = self.reader.acquire().await?;
        let key = name.key();
        let exact = find_exact(&mut conn, &key, domain).await?;
        let exclude = exact.as_ref().map(|(a, _)| a.id);
        let candidates = fuzzy(&mut conn, &key, threshold, exclude).await?;
        let (linked, matched_on) = exact.map_or((None, None), |(a, how)| (Some(a), Some(how)));
        Ok(AccountMatch {
            linked,
            matched_on,
            candidates,
        })
    }

    /// Creates one account, refusing one whose domain or exact name exists.
    pub async fn create_account(
        &self,
        new: &NewAccount,
        now: OffsetDateTime,
    ) -> Result<AccountRecord> {
        let mut tx = self.write().await?;
        let key = new.name.key();
        if let Some((existing, how)) = find_exact(&mut tx, &key, new.domain.as_ref()).await? {
            return Err(StoreError::conflict(format!(
                "account {} ({}) already exists with the same {how}",
                existing.id, existing.name
            )));
        }
        let account = insert(&mut tx, new, now).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// Imports accounts in one transaction per `batch`, skipping rows whose
    /// domain or exact name is already known. Returns (created, skipped).
    pub async fn import_accounts(
        &self,
        batch: &[NewAccount],
        now: OffsetDateTime,
    ) -> Result<(u64, u64)> {
        let mut tx = self.write().await?;
        let (mut created, mut skipped) = (0, 0);
        for new in batch {
            if find_exact(&mut tx, &new.name.key(), new.domain.as_ref())
                .await?
                .is_some()
            {
                skipped += 1;
            } else {
                insert(&mut tx, new, now).await?;
                created += 1;
            }
        }
        tx.commit().await?;
        Ok((created, skipped))
    }

    pub async fn account(&self, id: AccountId) -> Result<AccountRecord> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        account_from_row(&row)
    }
}
