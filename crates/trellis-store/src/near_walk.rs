//! Near names of many keys at once (bulk imports), found by reading each
//! name index once from end to end instead of seeking into it four times a
//! key.
//!
//! For a key, the fuzzy search reads the [`NEIGHBOURS`] entries at or after
//! it and the [`NEIGHBOURS`] before it, in the key index and in the
//! reversed-key index ([`accounts::near_many`]). When the keys are many
//! beside the accounts, those windows cover much of each index anyway, and
//! a seek per window costs more than reading the index in order. So the
//! keys are sorted, each index is read a page at a time in (key, id) order,
//! and every key's window is cut from the entries as they pass: the same
//! entries the seeks read (SQLite orders equal keys by id, as this does),
//! scored the same way, but each index entry read once.

use crate::accounts::{self, NearName, NEIGHBOURS};
use crate::error::{joined, Result, StoreError};
use crate::rows::RowExt;
use sqlx::{AnyConnection, AnyPool};
use std::collections::VecDeque;
use std::sync::Arc;
use trellis_domain::dedupe::{reversed_key, NameProbe};
use trellis_domain::ids::AccountId;

/// Index entries one statement reads: about 1.5 MB of text.
const PAGE: usize = 50_000;

/// Walking the indexes pays once the accounts are fewer than this many per
/// key: a key's four seeks cost about as much as reading this many entries
/// in order (`trellis bench csv` measures both sides).
const ACCOUNTS_PER_KEY: i64 = 64;

/// An index entry: the account, its key as that index holds it, and the
/// key itself (the same text on the key side). Shared, not copied: each
/// entry lies in a few keys' windows, and on the reversed side it is
/// turned back once, not once a window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    id: AccountId,
    form: Arc<str>,
    key: Arc<str>,
}

/// Whether [`similar`] beats seeking for `keys` keys: the accounts (never
/// deleted, so the largest id counts them) are few enough per key.
pub(crate) async fn worth_it(conn: &mut AnyConnection, keys: usize) -> Result<bool> {
    let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS accounts FROM accounts")
        .fetch_one(&mut *conn)
        .await?;
    let per_key = i64::try_from(keys).unwrap_or(i64::MAX);
    Ok(row.int("accounts")? <= per_key.saturating_mul(ACCOUNTS_PER_KEY))
}

/// The near names of each key, in the keys' order, as
/// [`accounts::near_many`] finds them with no account left out: both
/// indexes walked at once on two readers.
pub(crate) async fn similar(
    pool: &AnyPool,
    keys: Vec<String>,
    threshold: f64,
) -> Result<Vec<Vec<NearName>>> {
    let keys = Arc::new(keys);
    let walk = |side: Side| {
        let (pool, keys) = (pool.clone(), Arc::clone(&keys));
        tokio::spawn(async move {
            let mut conn = pool.acquire().await?;
            walk(&mut conn, side, &keys, threshold).await
        })
    };
    let (by_key, by_rkey) = (walk(Side::Key), walk(Side::Rkey));
    let (by_key, by_rkey) = (joined(by_key.await)?, joined(by_rkey.await)?);
    Ok(by_key
        .into_iter()
        .zip(by_rkey)
        .map(|(mut found, more)| {
            found.extend(more);
            accounts::ranked(found)
        })
        .collect())
}

/// The two name indexes.
#[derive(Debug, Clone, Copy)]
enum Side {
    Key,
    Rkey,
}

impl Side {
    fn column(self) -> &'static str {
        match self {
            Side::Key => "name_key",
            Side::Rkey => "name_rkey",
        }
    }

    /// A key as this side's index holds it (reversing is its own inverse).
    fn form(self, key: &str) -> String {
        match self {
            Side::Key => key.to_owned(),
            Side::Rkey => reversed_key(key),
        }
    }

    /// An entry of this side's index, from the form it holds.
    fn entry(self, id: AccountId, form: &str) -> Entry {
        let form: Arc<str> = Arc::from(form);
        let key = match self {
            Side::Key => Arc::clone(&form),
            Side::Rkey => Arc::from(reversed_key(&form)),
        };
        Entry { id, form, key }
    }
}

/// Reads one index in order, a page at a time, and scores every key's
/// window of entries as it closes; answers in the keys' order.
async fn walk(
    conn: &mut AnyConnection,
    side: Side,
    keys: &[String],
    threshold: f64,
) -> Result<Vec<Vec<(f64, AccountId)>>> {
    let forms: Vec<String> = keys.iter().map(|k| side.form(k)).collect();
    let mut scored = vec![Vec::new(); keys.len()];
    let mut score = |at: usize, window: Vec<Entry>| {
        let near = window.into_iter().map(|e| (e.id, e.key));
        scored[at] = accounts::scored(&NameProbe::new(&keys[at]), None, near, threshold);
    };
    let mut windows = Windows::new(&forms);
    let sql = page_sql(side);
    let mut after = side.entry(AccountId(0), "");
    loop {
        let page = read_page(conn, side, &sql, &after).await?;
        let full = page.len() == PAGE;
        for entry in page {
            windows.feed(&entry, &mut score);
            after = entry;
        }
        if !full {
            break;
        }
    }
    windows.finish(&mut score);
    Ok(scored)
}

/// The next [`PAGE`] entries of `side`'s index after a (key, id), as one
/// text of `id key` lines.
fn page_sql(side: Side) -> String {
    let column = side.column();
    format!(
        "SELECT string_agg(id || ' ' || k, '\n') AS page FROM \
         (SELECT id, {column} AS k FROM accounts WHERE {column} >= $1 AND ({column} > $1 OR id > $2) \
         ORDER BY {column}, id LIMIT $3) entries"
    )
}

/// One page of entries in index order. The aggregate promises no order, so
/// the page is sorted here, by bytes as both databases order these keys.
async fn read_page(
    conn: &mut AnyConnection,
    side: Side,
    sql: &str,
    after: &Entry,
) -> Result<Vec<Entry>> {
    let row = sqlx::query(sql)
        .bind(after.form.to_string())
        .bind(after.id.0)
        .bind(PAGE as i64)
        .fetch_one(&mut *conn)
        .await?;
    let text = row.opt_text("page")?.unwrap_or_default();
    let mut page = text
        .lines()
        .map(|line| entry(side, line))
        .collect::<Result<Vec<Entry>>>()?;
    page.sort_unstable_by(|a, b| a.form.cmp(&b.form).then(a.id.cmp(&b.id)));
    Ok(page)
}

/// One line of a page: `42 acme widgets`.
fn entry(side: Side, line: &str) -> Result<Entry> {
    let corrupt = || StoreError::Corrupt(format!("index entry {line:?}"));
    let (id, form) = line.split_once(' ').ok_or_else(corrupt)?;
    let id = id.parse().map_err(|_| corrupt())?;
    Ok(side.entry(AccountId(id), form))
}

/// Cuts each key's window from index entries fed in order: the
/// [`NEIGHBOURS`] entries before the first entry at or after the key, and
/// [`NEIGHBOURS`] from it on.
struct Windows<'k> {
    forms: &'k [String],
    /// Key positions by key, and how many have been reached.
    order: Vec<usize>,
    reached: usize,
    /// The last [`NEIGHBOURS`] entries fed.
    behind: VecDeque<Entry>,
    /// Keys reached whose window still takes entries: the key's position,
    /// its window, and how many entries at or after the key it holds. Every
    /// open window takes each entry, so they close in the order they opened.
    open: VecDeque<(usize, Vec<Entry>, usize)>,
}

impl<'k> Windows<'k> {
    fn new(forms: &'k [String]) -> Windows<'k> {
        let mut order: Vec<usize> = (0..forms.len()).collect();
        order.sort_unstable_by(|&a, &b| forms[a].cmp(&forms[b]));
        Windows {
            forms,
            order,
            reached: 0,
            behind: VecDeque::with_capacity(NEIGHBOURS + 1),
            open: VecDeque::new(),
        }
    }

    /// Takes the next entry; `done` hears each window that closes.
    fn feed(&mut self, entry: &Entry, done: &mut impl FnMut(usize, Vec<Entry>)) {
        while let Some(&at) = self.order.get(self.reached) {
            if *self.forms[at] > *entry.form {
                break;
            }
            let mut window = Vec::with_capacity(2 * NEIGHBOURS);
            window.extend(self.behind.iter().cloned());
            self.open.push_back((at, window, 0));
            self.reached += 1;
        }
        for (_, window, taken) in &mut self.open {
            window.push(entry.clone());
            *taken += 1;
        }
        while self
            .open
            .front()
            .is_some_and(|(_, _, taken)| *taken == NEIGHBOURS)
        {
            if let Some((at, window, _)) = self.open.pop_front() {
                done(at, window);
            }
        }
        self.behind.push_back(entry.clone());
        if self.behind.len() > NEIGHBOURS {
            self.behind.pop_front();
        }
    }

    /// The index has ended: every window still open closes as it is, and
    /// keys past the last entry get the entries before them.
    fn finish(mut self, done: &mut impl FnMut(usize, Vec<Entry>)) {
        for (at, window, _) in self.open.drain(..) {
            done(at, window);
        }
        for &at in &self.order[self.reached..] {
            done(at, self.behind.iter().cloned().collect());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Vec<Entry> {
        let mut all: Vec<Entry> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Side::Key.entry(AccountId(i as i64 + 1), k))
            .collect();
        all.sort_by(|a, b| a.form.cmp(&b.form).then(a.id.cmp(&b.id)));
        all
    }

    /// The windows the seeks read: entries at or after the key, and before it.
    fn seeks(all: &[Entry], key: &str) -> Vec<Entry> {
        let at = all.partition_point(|e| &*e.form < key);
        let before = all[at.saturating_sub(NEIGHBOURS)..at].iter();
        let after = all[at..].iter().take(NEIGHBOURS);
        let mut window: Vec<Entry> = before.chain(after).cloned().collect();
        window.sort();
        window
    }

    fn walked(all: &[Entry], forms: &[String]) -> Vec<Vec<Entry>> {
        let mut found = vec![Vec::new(); forms.len()];
        let mut done = |at: usize, mut window: Vec<Entry>| {
            window.sort();
            found[at] = window;
        };
        let mut windows = Windows::new(forms);
        for entry in all {
            windows.feed(entry, &mut done);
        }
        windows.finish(&mut done);
        found
    }

    #[test]
    fn each_key_gets_the_window_its_seeks_would_read() {
        let names: Vec<String> = (0..200)
            .map(|i| format!("acme {:03}", i * 7 % 200))
            .collect();
        let mut keys: Vec<&str> = names.iter().map(String::as_str).collect();
        // Equal keys are ordered by id, as SQLite's index orders them.
        keys.extend(["acme 050", "acme 050", "acme 050"]);
        let all = entries(&keys);
        let forms: Vec<String> = [
            "",
            "acme 000",
            "acme 050",
            "acme 0505",
            "acme 1",
            "zzz",
            "acme 199",
        ]
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
        let found = walked(&all, &forms);
        for (form, window) in forms.iter().zip(found) {
            assert_eq!(window, seeks(&all, form), "window of {form:?}");
        }
    }

    #[test]
    fn keys_beyond_a_short_index_see_all_of_it() {
        let all = entries(&["b", "d"]);
        let forms = vec!["a".to_owned(), "c".to_owned(), "e".to_owned()];
        for window in walked(&all, &forms) {
            assert_eq!(window, all);
        }
        assert_eq!(walked(&[], &forms), vec![Vec::<Entry>::new(); 3]);
    }

    #[test]
    fn a_page_line_names_its_account_and_key() {
        let key = entry(Side::Key, "42 acme widgets").unwrap();
        assert_eq!((key.id, &*key.form), (AccountId(42), "acme widgets"));
        assert_eq!(key.key, key.form);
        let rkey = entry(Side::Rkey, "42 stegdiw emca").unwrap();
        assert_eq!((&*rkey.form, &*rkey.key), ("stegdiw emca", "acme widgets"));
        assert!(entry(Side::Key, "acme").is_err());
        assert!(entry(Side::Key, "x acme").is_err());
    }
}
