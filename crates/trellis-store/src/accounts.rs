//! Accounts and dedupe: every registration links to one account, found by
//! exact domain or exact normalized name; near names are offered to staff as
//! possible duplicates and never merged silently.

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::records::AccountRecord;
use crate::rows::{fetch_for_ids, micros, Marks, RowExt};
use serde::Serialize;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection};
use std::collections::HashMap;
use time::OffsetDateTime;
use trellis_domain::dedupe::{reversed_key, CompanyName, NameProbe, WebDomain};
use trellis_domain::ids::AccountId;

/// How many sorted neighbours each side of a key the fuzzy search reads.
pub(crate) const NEIGHBOURS: usize = 16;
/// How many possible duplicates an answer lists at most.
const MAX_CANDIDATES: usize = 5;
/// Values [`bind_account`] binds per account row.
const ACCOUNT_VALUES: usize = 6;

/// An account to create (import, API, or a registration for a new company).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub name: CompanyName,
    pub domain: Option<WebDomain>,
    pub source: String,
}

/// A near name as intake finds it: an account whose name is close to the
/// one given, and how close. Its name and domain are read only where
/// someone will see them ([`Store::candidates`]): an import of 100,000 rows
/// counts its near names but shows none, and reading them took it 1.5 s.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NearName {
    pub account_id: AccountId,
    /// Name similarity from 0 to 1.
    pub score: f64,
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

/// The account a draft links to, if one is on file, and how it matched
/// (`domain` or `name`).
pub(crate) type Linked = Option<(AccountRecord, &'static str)>;

/// The account with this domain, or else the oldest with this name key.
pub(crate) async fn find_exact(
    conn: &mut AnyConnection,
    key: &str,
    domain: Option<&WebDomain>,
) -> Result<Linked> {
    Ok(find_exact_many(conn, &[(key, domain)])
        .await?
        .pop()
        .flatten())
}

/// Values [`find_exact_many`] binds per key: the domain and the name key.
const EXACT_VALUES: usize = 2;

/// For each name key and domain, in their order, the account with this
/// domain, or else the oldest with this name key, and how it matched.
/// Every lookup of a statement goes in one: inside a write transaction
/// every round trip to the database holds up every other writer.
pub(crate) async fn find_exact_many(
    conn: &mut AnyConnection,
    keys: &[(&str, Option<&WebDomain>)],
) -> Result<Vec<Linked>> {
    let mut found = Vec::with_capacity(keys.len());
    let marks = Marks::of(conn);
    for chunk in keys.chunks(marks.rows_per_statement(EXACT_VALUES)) {
        let n = chunk.len();
        let sql = format!(
            "SELECT *, 'domain' AS matched_on FROM accounts WHERE domain IN ({}) \
             UNION ALL \
             SELECT *, 'name' AS matched_on FROM accounts WHERE id IN \
             (SELECT MIN(id) FROM accounts WHERE name_key IN ({}) GROUP BY name_key)",
            marks.list(1, n),
            marks.list(n + 1, n)
        );
        let query = chunk.iter().fold(sqlx::query(&sql), |q, (_, domain)| {
            q.bind(domain.map(WebDomain::as_str))
        });
        let rows = chunk
            .iter()
            .fold(query, |q, (key, _)| q.bind(*key))
            .fetch_all(&mut *conn)
            .await?;
        let (mut by_domain, mut by_name) = (HashMap::new(), HashMap::new());
        for row in &rows {
            let account = account_from_row(row)?;
            match row.text("matched_on")?.as_str() {
                "domain" => by_domain.insert(account.domain.clone().unwrap_or_default(), account),
                _ => by_name.insert(row.text("name_key")?, account),
            };
        }
        found.extend(chunk.iter().map(|(key, domain)| {
            let on_domain = domain.and_then(|d| by_domain.get(d.as_str()));
            on_domain
                .map(|a| (a.clone(), "domain"))
                .or_else(|| by_name.get(*key).map(|a| (a.clone(), "name")))
        }));
    }
    Ok(found)
}

/// Accounts whose names are close to `key`, best first, with their names.
async fn fuzzy(
    conn: &mut AnyConnection,
    key: &str,
    threshold: f64,
    exclude: Option<AccountId>,
) -> Result<Vec<Candidate>> {
    let mut found = fuzzy_many(conn, &[(key.to_owned(), exclude)], threshold).await?;
    Ok(found.pop().unwrap_or_default())
}

/// [`near_many`] with the names and domains of the accounts found.
pub(crate) async fn fuzzy_many(
    conn: &mut AnyConnection,
    keys: &[(String, Option<AccountId>)],
    threshold: f64,
) -> Result<Vec<Vec<Candidate>>> {
    let near = near_many(conn, keys, threshold).await?;
    described(conn, near).await
}

/// Accounts whose names are close to each key (leaving out the account
/// given with it), best first, in the keys' order.
///
/// Scanning millions of names is out of the question, so candidates come
/// from the sorted neighbourhood of the key in two indexes: the key itself
/// (names that agree at the start) and the reversed key (names that agree at
/// the end, catching a typo up front). Four bounded range scans per key in
/// one query read only the indexes (on SQLite the row id is in every index),
/// and each neighbour is scored on its key alone: reading name and domain
/// for all 64 neighbours cost 64 random row lookups and most of a
/// registration's time in the database, so only the few that pass are
/// read, and only where they are shown ([`described`]).
pub(crate) async fn near_many(
    conn: &mut AnyConnection,
    keys: &[(String, Option<AccountId>)],
    threshold: f64,
) -> Result<Vec<Vec<NearName>>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let near = neighbours(conn, keys.iter().map(|(key, _)| key.as_str())).await?;
    Ok(keys
        .iter()
        .zip(near)
        .map(|((key, exclude), near)| {
            ranked(scored(&NameProbe::new(key), *exclude, near, threshold))
        })
        .collect())
}

/// The candidates of each list of near names, in its order: their names
/// and domains read once each, in as few statements as the ids allow.
async fn described(
    conn: &mut AnyConnection,
    near: Vec<Vec<NearName>>,
) -> Result<Vec<Vec<Candidate>>> {
    let mut ids: Vec<AccountId> = near.iter().flatten().map(|n| n.account_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = names_by_id(conn, &ids).await?;
    let candidate = |near: NearName| {
        let (name, domain) = names.get(&near.account_id)?;
        Some(Candidate {
            account_id: near.account_id,
            name: name.clone(),
            domain: domain.clone(),
            score: near.score,
        })
    };
    Ok(near
        .into_iter()
        .map(|found| found.into_iter().filter_map(&candidate).collect())
        .collect())
}

/// The neighbours whose names score at least `threshold` against the
/// probe's, rounded to three places, leaving out `exclude`.
pub(crate) fn scored<K: AsRef<str>>(
    probe: &NameProbe<'_>,
    exclude: Option<AccountId>,
    near: impl IntoIterator<Item = (AccountId, K)>,
    threshold: f64,
) -> Vec<(f64, AccountId)> {
    near.into_iter()
        .filter(|(id, _)| Some(*id) != exclude)
        .filter_map(|(id, other)| {
            let score = probe.similarity_from(other.as_ref(), threshold)?;
            Some(((score * 1000.0).round() / 1000.0, id))
        })
        .collect()
}

/// The best of one key's scored neighbours, best first, each account once.
pub(crate) fn ranked(mut scored: Vec<(f64, AccountId)>) -> Vec<NearName> {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    // An account found by both its key and its reversed key counts once.
    scored.dedup_by_key(|(_, id)| *id);
    scored.truncate(MAX_CANDIDATES);
    scored
        .into_iter()
        .map(|(score, account_id)| NearName { account_id, score })
        .collect()
}

/// For each key, the id and name key of the `NEIGHBOURS` accounts either
/// side of it in the key index and in the reversed-key index, read from the
/// indexes alone. They come back as one text, a line per neighbour
/// (`n side id key`, `n` the key's position; names hold no control
/// characters): one row instead of sixty-four per key saves a hand-off
/// between threads per row in the SQLite driver.
async fn neighbours<'k>(
    conn: &mut AnyConnection,
    keys: impl ExactSizeIterator<Item = &'k str>,
) -> Result<Vec<Vec<(AccountId, String)>>> {
    let count = keys.len();
    let sql = neighbours_sql(count);
    let query = keys.fold(sqlx::query(&sql), |q, key| {
        q.bind(key.to_owned()).bind(reversed_key(key))
    });
    let row = query.bind(NEIGHBOURS as i64).fetch_one(&mut *conn).await?;
    let mut found = vec![Vec::new(); count];
    for line in row.opt_text("found")?.unwrap_or_default().lines() {
        let (n, neighbour) = neighbour(line)?;
        found
            .get_mut(n)
            .ok_or_else(|| StoreError::Corrupt(format!("neighbour line {line:?}")))?
            .push(neighbour);
    }
    Ok(found)
}

/// The statement [`neighbours`] runs for `count` keys: key `n` binds its key
/// and reversed key as `$2n+1` and `$2n+2`, and the last parameter is how
/// many neighbours each scan reads.
fn neighbours_sql(count: usize) -> String {
    let limit = 2 * count + 1;
    let scans: Vec<String> = (0..count)
        .map(|n| {
            let (key, rkey) = (2 * n + 1, 2 * n + 2);
            format!(
                "SELECT * FROM (SELECT {n} AS n, id, name_key AS k, 'key' AS side FROM accounts WHERE name_key >= ${key} ORDER BY name_key LIMIT ${limit}) a{n} \
                 UNION ALL \
                 SELECT * FROM (SELECT {n}, id, name_key, 'key' FROM accounts WHERE name_key < ${key} ORDER BY name_key DESC LIMIT ${limit}) b{n} \
                 UNION ALL \
                 SELECT * FROM (SELECT {n}, id, name_rkey, 'rkey' FROM accounts WHERE name_rkey >= ${rkey} ORDER BY name_rkey LIMIT ${limit}) c{n} \
                 UNION ALL \
                 SELECT * FROM (SELECT {n}, id, name_rkey, 'rkey' FROM accounts WHERE name_rkey < ${rkey} ORDER BY name_rkey DESC LIMIT ${limit}) d{n}"
            )
        })
        .collect();
    format!(
        "SELECT string_agg(n || ' ' || side || ' ' || id || ' ' || k, '\n') AS found FROM ({}) found",
        scans.join(" UNION ALL ")
    )
}

/// One line of [`neighbours`]: `0 key 42 acme widgets` or `0 rkey 42 stegdiw emca`.
fn neighbour(line: &str) -> Result<(usize, (AccountId, String))> {
    let corrupt = || StoreError::Corrupt(format!("neighbour line {line:?}"));
    let mut parts = line.splitn(4, ' ');
    let (Some(n), Some(side), Some(id), Some(stored)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(corrupt());
    };
    let n = n.parse().map_err(|_| corrupt())?;
    let id = AccountId(id.parse().map_err(|_| corrupt())?);
    // Reversing is its own inverse: the reversed key gives the key.
    let key = match side {
        "rkey" => reversed_key(stored),
        _ => stored.to_owned(),
    };
    Ok((n, (id, key)))
}

/// The name and domain of accounts by id, in as few statements as their
/// number allows.
async fn names_by_id(
    conn: &mut AnyConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, (String, Option<String>)>> {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    let rows = fetch_for_ids(conn, &ids, |list| {
        format!("SELECT id, name, domain FROM accounts WHERE id IN ({list})")
    })
    .await?;
    rows.iter()
        .map(|row| {
            let names = (row.text("name")?, row.opt_text("domain")?);
            Ok((AccountId(row.int("id")?), names))
        })
        .collect()
}

/// `INSERT INTO accounts` with `rows` rows of parameters, in the column
/// order [`bind_account`] binds: one text for the single insert and the
/// bulk load, so the two can never disagree.
fn insert_sql(marks: Marks, rows: usize) -> String {
    format!(
        "INSERT INTO accounts (name, name_key, name_rkey, domain, source, created_at) VALUES {}",
        marks.rows(rows, ACCOUNT_VALUES)
    )
}

/// Binds one account's six values, keys derived here so that every way in
/// stores the same normalized and reversed key.
fn bind_account<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    new: &'q NewAccount,
    now: OffsetDateTime,
) -> Query<'q, Any, AnyArguments<'q>> {
    let key = new.name.key();
    let rkey = reversed_key(&key);
    query
        .bind(new.name.as_str())
        .bind(key)
        .bind(rkey)
        .bind(new.domain.as_ref().map(|d| d.as_str()))
        .bind(new.source.as_str())
        .bind(micros(now))
}

/// Inserts an account; a taken domain is reported as a conflict.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    new: &NewAccount,
    now: OffsetDateTime,
) -> Result<AccountRecord> {
    match insert_many(conn, &[(new, now)]).await {
        Err(e) if e.is_unique_violation() => Err(StoreError::conflict(format!(
            "an account with the domain {} already exists",
            new.domain.as_ref().map(|d| d.as_str()).unwrap_or_default()
        ))),
        inserted => inserted?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("an account insert returned no row".into())),
    }
}

/// Inserts accounts whose name keys differ from one another, in as few
/// statements as binding allows; their records in the order given.
pub(crate) async fn insert_many(
    conn: &mut AnyConnection,
    accounts: &[(&NewAccount, OffsetDateTime)],
) -> Result<Vec<AccountRecord>> {
    let mut records = Vec::with_capacity(accounts.len());
    let marks = Marks::of(conn);
    for chunk in accounts.chunks(marks.rows_per_statement(ACCOUNT_VALUES)) {
        let sql = format!("{} RETURNING id, name_key", insert_sql(marks, chunk.len()));
        let rows = chunk
            .iter()
            .fold(sqlx::query(&sql), |q, (new, at)| bind_account(q, new, *at))
            .fetch_all(&mut *conn)
            .await?;
        // RETURNING promises no order: each row is known by its name key.
        let ids = rows
            .iter()
            .map(|row| Ok((row.text("name_key")?, AccountId(row.int("id")?))))
            .collect::<Result<HashMap<_, _>>>()?;
        for (new, at) in chunk {
            let id = ids.get(&new.name.key()).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("no id returned for account {}", new.name.as_str()))
            })?;
            records.push(AccountRecord {
                id,
                name: new.name.as_str().to_owned(),
                domain: new.domain.as_ref().map(|d| d.as_str().to_owned()),
                source: new.source.clone(),
                created_at: *at,
            });
        }
    }
    Ok(records)
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

    /// Loads accounts known to be distinct, in one transaction of
    /// multi-row INSERTs, without the per-row exact-match lookups that
    /// `import_accounts` makes. Only for initial loads and benchmarks of
    /// generated or already deduplicated rows: a repeated domain fails the
    /// whole call (a unique violation) and a repeated name key goes in
    /// unnoticed, where an import would skip both.
    pub async fn load_accounts_bulk(
        &self,
        accounts: &[NewAccount],
        now: OffsetDateTime,
    ) -> Result<()> {
        let mut tx = self.write().await?;
        let marks = Marks::of(&tx);
        for chunk in accounts.chunks(marks.rows_per_statement(ACCOUNT_VALUES)) {
            let sql = insert_sql(marks, chunk.len());
            let query = chunk
                .iter()
                .fold(sqlx::query(&sql), |q, new| bind_account(q, new, now));
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The names and domains of near names found at intake, in their order.
    pub async fn candidates(&self, near: &[NearName]) -> Result<Vec<Candidate>> {
        let mut conn = self.reader.acquire().await?;
        let mut found = described(&mut conn, vec![near.to_vec()]).await?;
        Ok(found.pop().unwrap_or_default())
    }

    pub async fn account(&self, id: AccountId) -> Result<AccountRecord> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await?;
        account_from_row(&row.ok_or(StoreError::NotFound("account"))?)
    }
}
