//! Registering many drafts in one transaction with few statements.
//!
//! On SQLite every statement is a hand-off to the database's own thread and
//! back, and a registration written one statement at a time spent most of
//! its time in those hand-offs, not in SQLite. Most drafts of a batch
//! contest nothing: no active claim holds the account they link to, and no
//! other draft of the batch reaches it. Those are registered together:
//! their accounts looked up in one statement, and new accounts, contacts,
//! registrations and events each written in a few multi-row statements. The
//! rest (an active claim on the account, or two drafts of the batch on one
//! company) go one at a time, after them, through the path that refuses a
//! second claim and opens conflicts, so each sees everything before it.

use crate::accounts::{self, Linked, NearName};
use crate::db::{Store, Tx};
use crate::error::{Result, StoreError};
use crate::events::{self, Stamped};
use crate::group_commit::{end_savepoint, open_savepoint, savepoint, settle_savepoint, Ran};
use crate::idempotency::{self, RequestKey};
use crate::on_file::OnFile;
use crate::registrations::{
    account_created, company_keys, exact_lookups, insert_many, new_account, on_case,
    submitted_event, NewRow, Registered, ACTIVE,
};
use crate::rows::{fetch_for_ids, RowExt};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::oneshot;
use trellis_domain::event::{Actor, NewEvent};
use trellis_domain::ids::AccountId;
use trellis_domain::program::Program;
use trellis_domain::registration::Draft;

/// A draft to register, with who sent it and when, and the near names
/// found for it on a reader before the write.
#[derive(Clone)]
pub(crate) struct Submission {
    pub draft: Draft,
    pub similar: Vec<NearName>,
    pub actor: Actor,
    pub now: OffsetDateTime,
}

/// A registration waiting for SQLite's committer, with the request key
/// kept in its transaction and where its answer goes.
pub(crate) struct Queued {
    pub store: Store,
    pub submission: Submission,
    pub program: Arc<Program>,
    pub request: Option<RequestKey>,
    pub reply: oneshot::Sender<Result<Registered>>,
}

impl Queued {
    /// Whether the two can share a batch: one batch runs one program.
    pub(crate) fn same_program(&self, other: &Queued) -> bool {
        Arc::ptr_eq(&self.program, &other.program)
    }
}

/// Registers gathered registrations as one batch in a savepoint (`opened`:
/// the transaction opened one no unit has used yet). Should the batch fail
/// (a database error, or a request key taken meanwhile), each runs again
/// alone, so one bad registration never fails the others.
pub(crate) async fn run_queued(
    tx: &mut Tx,
    gathered: Vec<Queued>,
    opened: &mut bool,
) -> Result<Vec<Ran>> {
    if gathered.len() > 1 {
        open_savepoint(tx, opened).await?;
        let batch = keyed(&gathered);
        let done = gathered[0]
            .store
            .register_keyed(tx, batch, &gathered[0].program)
            .await;
        settle_savepoint(tx, done.is_ok()).await?;
        if let Ok(results) = done {
            let replies = gathered.into_iter().map(|queued| queued.reply);
            return Ok(replies
                .zip(results)
                .map(|(reply, r)| Ran::new(r, reply))
                .collect());
        }
    }
    let mut ran = Vec::with_capacity(gathered.len());
    for queued in gathered {
        open_savepoint(tx, opened).await?;
        let batch = keyed(std::slice::from_ref(&queued));
        let result = queued
            .store
            .register_keyed(tx, batch, &queued.program)
            .await;
        let result = result.and_then(only);
        settle_savepoint(tx, result.is_ok()).await?;
        ran.push(Ran::new(result, queued.reply));
    }
    Ok(ran)
}

fn keyed(queued: &[Queued]) -> Vec<(Submission, Option<RequestKey>)> {
    queued
        .iter()
        .map(|q| (q.submission.clone(), q.request.clone()))
        .collect()
}

/// The one answer of a batch of one.
pub(crate) fn only(mut answers: Vec<Result<Registered>>) -> Result<Registered> {
    answers
        .pop()
        .unwrap_or_else(|| Err(StoreError::Corrupt("a registration went unanswered".into())))
}

impl Store {
    /// [`Store::register_batch`], keeping each registered draft's request
    /// key in the same transaction, so a retried request never registers
    /// twice.
    pub(crate) async fn register_keyed(
        &self,
        tx: &mut Tx,
        batch: Vec<(Submission, Option<RequestKey>)>,
        program: &Program,
    ) -> Result<Vec<Result<Registered>>> {
        let (submissions, requests): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
        let moments: Vec<OffsetDateTime> = submissions.iter().map(|s| s.now).collect();
        let results = self.register_batch(tx, submissions, None, program).await?;
        for ((result, request), now) in results.iter().zip(&requests).zip(moments) {
            if let (Ok(registered), Some(request)) = (result, request) {
                idempotency::reserve(tx, request, registered.registration.id, now).await?;
            }
        }
        Ok(results)
    }

    /// Registers every submission inside `tx`, answering in their order. A
    /// refused draft leaves the others standing; a database failure fails
    /// the batch. `on_file`: their accounts as a reader found them, if it
    /// looked.
    pub(crate) async fn register_batch(
        &self,
        tx: &mut Tx,
        batch: Vec<Submission>,
        on_file: Option<OnFile>,
        program: &Program,
    ) -> Result<Vec<Result<Registered>>> {
        let keys: Vec<String> = batch.iter().map(|s| s.draft.company_name.key()).collect();
        let linked = self.link_all(tx, &batch, &keys, on_file).await?;
        let claimed = accounts_claimed(tx, &linked).await?;
        let contested = contested(&batch, &keys, &linked, &claimed);
        let mut answers: Vec<Option<Result<Registered>>> = batch.iter().map(|_| None).collect();
        let plain: Vec<usize> = (0..batch.len()).filter(|&i| !contested[i]).collect();
        let registered = self
            .register_uncontested(tx, &batch, &plain, &linked, program)
            .await?;
        for (&at, registered) in plain.iter().zip(registered) {
            answers[at] = Some(Ok(registered));
        }
        // A lone draft needs no savepoint: its unit already is one.
        let alone = batch.len() == 1;
        for (at, submission) in batch.into_iter().enumerate() {
            if contested[at] {
                answers[at] = Some(
                    self.register_contested(tx, submission, program, alone)
                        .await?,
                );
            }
        }
        Ok(answers.into_iter().flatten().collect())
    }

    /// Each draft's account on file, if any: what a reader found brought
    /// up to date, or else sought here. On PostgreSQL the drafts' keys are
    /// locked first, then the accounts found, each set in one order, as a
    /// lone registration takes them.
    async fn link_all(
        &self,
        tx: &mut Tx,
        batch: &[Submission],
        keys: &[String],
        on_file: Option<OnFile>,
    ) -> Result<Vec<Linked>> {
        let locks: Vec<String> = batch
            .iter()
            .zip(keys)
            .flat_map(|(s, key)| company_keys(&s.draft, key))
            .collect();
        self.lock_all(tx, &locks).await?;
        let lookups = exact_lookups(keys, batch.iter().map(|s| &s.draft));
        let linked = match on_file {
            Some(on_file) => on_file.up_to_date(tx, &lookups).await?,
            None => accounts::find_exact_many(tx, &lookups).await?,
        };
        let accounts = linked
            .iter()
            .flatten()
            .map(|(a, _)| format!("account:{}", a.id));
        self.lock_all(tx, &accounts.collect::<Vec<_>>()).await?;
        Ok(linked)
    }

    async fn lock_all(&self, tx: &mut Tx, keys: &[String]) -> Result<()> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.lock_keys(tx, &keys).await
    }

    /// Registers the drafts at `plain` (none contests its account) in a few
    /// multi-row statements; answers in their order.
    async fn register_uncontested(
        &self,
        tx: &mut Tx,
        batch: &[Submission],
        plain: &[usize],
        linked: &[Linked],
        program: &Program,
    ) -> Result<Vec<Registered>> {
        let fresh: Vec<_> = plain
            .iter()
            .filter(|&&at| linked[at].is_none())
            .map(|&at| (new_account(&batch[at].draft), batch[at].now))
            .collect();
        let fresh: Vec<_> = fresh.iter().map(|(new, now)| (new, *now)).collect();
        let mut created = accounts::insert_many(tx, &fresh).await?.into_iter();
        let mut found = Vec::with_capacity(plain.len());
        for &at in plain {
            found.push(match &linked[at] {
                Some((account, how)) => (account.clone(), Some(*how)),
                None => (created.next().ok_or_else(unanswered)?, None),
            });
        }
        let rows: Vec<NewRow> = plain
            .iter()
            .zip(&found)
            .map(|(&at, (account, _))| NewRow {
                draft: &batch[at].draft,
                account: account.id,
                at: batch[at].now,
            })
            .collect();
        let registrations = insert_many(tx, &rows).await?;
        let mut answers = Vec::with_capacity(plain.len());
        let mut logs = Vec::with_capacity(plain.len());
        for ((&at, (account, matched_on)), registration) in
            plain.iter().zip(found).zip(registrations)
        {
            let submission = &batch[at];
            let possible_duplicates: Vec<NearName> = submission
                .similar
                .iter()
                .filter(|c| c.account_id != account.id)
                .copied()
                .collect();
            let mut log: Vec<NewEvent> = matched_on
                .is_none()
                .then(|| account_created(&account))
                .into_iter()
                .collect();
            log.push(submitted_event(&registration, &possible_duplicates));
            on_case(&mut log, &registration);
            logs.push(log);
            answers.push(Registered {
                registration,
                account,
                matched_on,
                possible_duplicates,
                conflict: None,
            });
        }
        let stamped: Vec<Stamped> = plain
            .iter()
            .zip(&logs)
            .flat_map(|(&at, log)| {
                let (actor, at) = (&batch[at].actor, batch[at].now);
                log.iter().map(move |event| Stamped { actor, at, event })
            })
            .collect();
        events::append_stamped(tx, &stamped).await?;
        for (answer, &at) in answers.iter_mut().zip(plain) {
            let registration = answer.registration.clone();
            answer.registration = self
                .auto_approve(tx, registration, program, batch[at].now)
                .await?;
        }
        Ok(answers)
    }

    /// Registers one draft that contests its account, in a savepoint of its
    /// own unless it is `alone`: a refusal leaves the rest standing.
    async fn register_contested(
        &self,
        tx: &mut Tx,
        submission: Submission,
        program: &Program,
        alone: bool,
    ) -> Result<Result<Registered>> {
        let Submission {
            draft,
            similar,
            actor,
            now,
        } = submission;
        if !alone {
            savepoint(tx).await?;
        }
        let result = self
            .register_in(tx, &draft, similar, program, &actor, now)
            .await;
        if let Err(e @ (StoreError::Database(_) | StoreError::Corrupt(_))) = result {
            return Err(e);
        }
        if !alone {
            end_savepoint(tx, result.is_ok()).await?;
        }
        Ok(result)
    }
}

fn unanswered() -> StoreError {
    StoreError::Corrupt("an account insert answered fewer rows than it was given".into())
}

/// The linked accounts that an active registration already claims.
async fn accounts_claimed(tx: &mut Tx, linked: &[Linked]) -> Result<HashSet<AccountId>> {
    let ids: Vec<i64> = linked.iter().flatten().map(|(a, _)| a.id.0).collect();
    let rows = fetch_for_ids(tx, &ids, |list| {
        format!("SELECT DISTINCT account_id FROM registrations WHERE account_id IN ({list}) AND status IN {ACTIVE}")
    })
    .await?;
    rows.iter()
        .map(|row| Ok(AccountId(row.int("account_id")?)))
        .collect()
}

/// Which drafts contest their account: an active claim holds it, or
/// another draft of the batch shares its name key, its domain or its
/// account on file.
fn contested(
    batch: &[Submission],
    keys: &[String],
    linked: &[Linked],
    claimed: &HashSet<AccountId>,
) -> Vec<bool> {
    let marks = |at: usize| {
        let mut marks = company_keys(&batch[at].draft, &keys[at]);
        if let Some((account, _)) = &linked[at] {
            marks.push(format!("account:{}", account.id));
        }
        marks
    };
    let mut seen: HashMap<String, usize> = HashMap::new();
    for at in 0..batch.len() {
        for mark in marks(at) {
            *seen.entry(mark).or_default() += 1;
        }
    }
    (0..batch.len())
        .map(|at| {
            let on_claimed = linked[at]
                .as_ref()
                .is_some_and(|(a, _)| claimed.contains(&a.id));
            on_claimed || marks(at).iter().any(|mark| seen[mark] > 1)
        })
        .collect()
}
