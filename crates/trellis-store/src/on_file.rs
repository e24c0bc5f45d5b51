//! The accounts a batch of drafts links to, looked up on a reader before
//! the write and brought up to date inside it (bulk imports on SQLite).
//!
//! Finding each draft's account (by domain, else the oldest with its name
//! key) cost a 100,000-row import 2.3 s of the single writer's time: two
//! index seeks a draft, while every other writer waits. On SQLite the seeks
//! can run on a reader while the writer registers the batch before. Accounts
//! are never changed or deleted, and their ids follow commit order (one
//! writer at a time, each new id above every id committed before), so a
//! snapshot whose largest id is `seen` holds every account up to `seen`.
//! The writer then reads only the accounts after `seen`, a few hundred rows
//! in id order, and lets them win where the rule says. PostgreSQL's ids come
//! from a sequence and commit out of order, so there the writer seeks.

use crate::accounts::{self, account_from_row, Linked};
use crate::db::{Backend, Store, Tx};
use crate::error::Result;
use crate::records::AccountRecord;
use crate::rows::RowExt;
use std::collections::HashMap;
use trellis_domain::dedupe::WebDomain;

/// Each draft's account as a reader's snapshot held them, and the largest
/// account id in that snapshot.
pub(crate) struct OnFile {
    linked: Vec<Linked>,
    seen: i64,
}

impl Store {
    /// Each key's account on file now, in the keys' order, for the writer
    /// to bring up to date; `None` where ids do not follow commit order
    /// (PostgreSQL), and the writer must seek.
    pub(crate) async fn on_file(
        &self,
        keys: &[(&str, Option<&WebDomain>)],
    ) -> Result<Option<OnFile>> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        // One read transaction: the largest id and the lookups see the
        // same snapshot.
        let mut tx = self.reader.begin().await?;
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS seen FROM accounts")
            .fetch_one(&mut *tx)
            .await?;
        let seen = row.int("seen")?;
        let linked = accounts::find_exact_many(&mut tx, keys).await?;
        tx.rollback().await?;
        Ok(Some(OnFile { linked, seen }))
    }
}

impl OnFile {
    /// The keys' accounts as of now, inside the write transaction: an
    /// account added since the snapshot wins on its domain, or on its name
    /// key where the snapshot had no account by either.
    pub(crate) async fn up_to_date(
        self,
        tx: &mut Tx,
        keys: &[(&str, Option<&WebDomain>)],
    ) -> Result<Vec<Linked>> {
        let rows = sqlx::query("SELECT * FROM accounts WHERE id > $1 ORDER BY id")
            .bind(self.seen)
            .fetch_all(&mut **tx)
            .await?;
        let mut by_domain: HashMap<String, AccountRecord> = HashMap::new();
        let mut by_name: HashMap<String, AccountRecord> = HashMap::new();
        for row in &rows {
            let account = account_from_row(row)?;
            if let Some(domain) = &account.domain {
                by_domain.insert(domain.clone(), account.clone());
            }
            // In id order, so the first with a key is the oldest.
            by_name.entry(row.text("name_key")?).or_insert(account);
        }
        Ok(self
            .linked
            .into_iter()
            .zip(keys)
            .map(|(then, (key, domain))| match then {
                Some((account, "domain")) => Some((account, "domain")),
                then => domain
                    .and_then(|d| by_domain.get(d.as_str()))
                    .map(|a| (a.clone(), "domain"))
                    .or(then)
                    .or_else(|| by_name.get(*key).map(|a| (a.clone(), "name"))),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{find_exact_many, NewAccount};
    use time::OffsetDateTime;
    use trellis_domain::dedupe::CompanyName;

    fn accounts(names: &[(&str, Option<&str>)]) -> Vec<NewAccount> {
        names
            .iter()
            .map(|(name, domain)| NewAccount {
                name: CompanyName::parse(name).expect("name"),
                domain: domain.map(|d| WebDomain::parse(d).expect("domain")),
                source: "test".into(),
            })
            .collect()
    }

    #[tokio::test]
    async fn accounts_added_since_the_snapshot_link_as_a_seek_in_the_write_finds_them() {
        let store = Store::connect("sqlite::memory:").await.expect("store");
        let now = OffsetDateTime::UNIX_EPOCH;
        let before = [
            ("Acme", Some("acme.com")),
            ("Globex", None),
            ("Initech", None),
        ];
        let load = |names: &[(&str, Option<&str>)]| {
            let new = accounts(names);
            let store = store.clone();
            async move { store.load_accounts_bulk(&new, now).await }
        };
        load(&before).await.expect("accounts");
        let domains: Vec<Option<WebDomain>> = ["acme.com", "", "initech.com", "", "umbrella.com"]
            .iter()
            .map(|d| WebDomain::parse(d).ok())
            .collect();
        let keys = ["acme", "globex", "initech", "hooli", "umbrella"];
        let keys: Vec<_> = keys
            .iter()
            .copied()
            .zip(domains.iter().map(Option::as_ref))
            .collect();
        let on_file = store.on_file(&keys).await.expect("lookup").expect("sqlite");
        let then = on_file.linked.clone();

        // Since the snapshot: an older name keeps its link, a domain wins
        // over a name, and the oldest of new names wins.
        let since = [
            ("Globex", None),
            ("Initech Labs", Some("initech.com")),
            ("Hooli", None),
            ("Hooli", None),
        ];
        load(&since).await.expect("accounts since");
        let mut tx = store.write().await.expect("write");
        let now_linked = on_file
            .up_to_date(&mut tx, &keys)
            .await
            .expect("brought up");
        let sought = find_exact_many(&mut tx, &keys).await.expect("seeks");
        assert_eq!(now_linked, sought);

        let how = |linked: &[Linked]| -> Vec<Option<(i64, &str)>> {
            linked
                .iter()
                .map(|l| l.as_ref().map(|(a, how)| (a.id.0, *how)))
                .collect()
        };
        assert_eq!(
            how(&then),
            [
                Some((1, "domain")),
                Some((2, "name")),
                Some((3, "name")),
                None,
                None
            ]
        );
        assert_eq!(
            how(&now_linked),
            [
                Some((1, "domain")),
                Some((2, "name")),
                Some((5, "domain")),
                Some((6, "name")),
                None
            ]
        );
    }
}
