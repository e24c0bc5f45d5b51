//! Registrations: intake into the core, reads, and the row mapping.

use crate::accounts::{self, NearName, NewAccount};
use crate::conflicts;
use crate::db::{Store, Tx};
use crate::error::{joined, Result, StoreError};
use crate::events;
use crate::idempotency::RequestKey;
use crate::near_walk;
use crate::on_file::OnFile;
use crate::records::{AccountRecord, ConflictRecord, DealRecord, RegistrationRecord};
use crate::register_batch::{only, Queued, Submission};
use crate::rows::{from_micros, micros, opt_micros, parse_day, placeholders_from, Marks, RowExt};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;
use std::collections::HashMap;
use std::sync::Arc;
use time::OffsetDateTime;
use tokio::sync::{oneshot, Semaphore};
use trellis_domain::conflict::{competes, same_segment};
use trellis_domain::dedupe::WebDomain;
use trellis_domain::event::{Actor, Change, NewEvent};
use trellis_domain::ids::{AccountId, CaseNumber, ConflictId, PartnerId, RegistrationId};
use trellis_domain::lifecycle::{self, Command};
use trellis_domain::program::Program;
use trellis_domain::registration::{Channel, Draft, Lifecycle, Market, RegistrationKind, Status};
use trellis_domain::values::{Currency, Money, Text};
use trellis_domain::DomainError;

/// What intake answers: the new registration, the account it linked to, and
/// what the checks found.
#[derive(Debug, Clone)]
pub struct Registered {
    pub registration: RegistrationRecord,
    pub account: AccountRecord,
    /// `domain`, `name`, or `None` when a new account was created.
    pub matched_on: Option<&'static str>,
    /// Near names other than the linked account; [`Store::candidates`]
    /// reads their names where they are shown.
    pub possible_duplicates: Vec<NearName>,
    pub conflict: Option<ConflictRecord>,
}

/// Drafts with the near names found for each, waiting to be registered,
/// and perhaps the accounts a reader found for them (`on_file.rs`).
pub struct Prepared {
    drafts: Vec<Draft>,
    similar: Vec<Vec<NearName>>,
    on_file: Option<OnFile>,
}

impl Prepared {
    /// The near names found for each draft, in the drafts' order.
    pub fn near_names(&self) -> &[Vec<NearName>] {
        &self.similar
    }

    /// The drafts and their near names in batches of `size`, in order: an
    /// import looks up every row at once and registers a batch at a time.
    fn into_batches(self, size: usize) -> Vec<Prepared> {
        let mut batches = Vec::new();
        let mut pairs = self.drafts.into_iter().zip(self.similar).peekable();
        while pairs.peek().is_some() {
            let (drafts, similar) = pairs.by_ref().take(size.max(1)).unzip();
            batches.push(Prepared {
                drafts,
                similar,
                on_file: None,
            });
        }
        batches
    }
}

/// Which registrations a list shows.
#[derive(Debug, Clone, Default)]
pub struct RegistrationFilter {
    pub status: Option<Status>,
    pub partner_id: Option<PartnerId>,
    pub account_id: Option<AccountId>,
    /// Only ids greater than this (keyset pagination).
    pub after: i64,
    pub limit: i64,
}

/// Drafts whose near names one statement looks up in a bulk import: they
/// share a round trip to the database thread (8 instead of 32 made a
/// 100,000-row import about 5% slower), and a batch of 1,000 still makes
/// 32 statements to spread over the cores.
const SIMILAR_PER_STATEMENT: usize = 32;

/// How many statements of a bulk lookup run at once: one a core. Each
/// keeps a reader's thread and then a runtime thread busy; more only queue
/// for the same cores (with a statement on every reader, a 100,000-row
/// import took a quarter longer).
fn lookups_at_once() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

pub(crate) const ACTIVE: &str = "('submitted', 'more_info', 'approved')";

impl Store {
    /// Registers a draft: links or creates its account, refuses a partner's
    /// second active claim, opens or joins a conflict, all in one transaction.
    /// With a request key, the key is kept in the same transaction, so a
    /// retried request can never register twice.
    pub async fn register(
        &self,
        draft: &Draft,
        program: &Arc<Program>,
        actor: &Actor,
        now: OffsetDateTime,
        request: Option<&RequestKey>,
    ) -> Result<Registered> {
        let submission = Submission {
            draft: draft.clone(),
            similar: self.similar_names(draft, program).await?,
            actor: actor.clone(),
            now,
        };
        let (program, request) = (Arc::clone(program), request.cloned());
        if let Some(group) = &self.group {
            let (reply, answer) = oneshot::channel();
            let store = self.clone();
            let queued = Queued {
                store,
                submission,
                program,
                request,
                reply,
            };
            return group.register(queued, answer).await;
        }
        let store = self.clone();
        self.write_unit(Box::new(move |tx| {
            Box::pin(async move {
                let batch = vec![(submission, request)];
                only(store.register_keyed(tx, batch, &program).await?)
            })
        }))
        .await
    }

    /// Looks up the near names of many drafts (bulk imports), ready for
    /// [`Store::register_many`] or [`Store::register_in_batches`]. On
    /// readers: the writer is not held up while they are scored.
    pub async fn prepare_many(&self, drafts: Vec<Draft>, program: &Program) -> Result<Prepared> {
        let similar = self.similar_names_of_all(&drafts, program).await?;
        Ok(Prepared {
            drafts,
            similar,
            on_file: None,
        })
    }

    /// Registers prepared drafts `size` at a time, a write unit a batch, a
    /// reader finding each batch's accounts while the writer registers the
    /// batch before; `done` hears each batch's answers, in order.
    pub async fn register_in_batches(
        &self,
        prepared: Prepared,
        size: usize,
        program: &Program,
        actor: &Actor,
        now: OffsetDateTime,
        mut done: impl FnMut(Vec<Result<Registered>>),
    ) -> Result<()> {
        let find = |batch: Prepared| {
            let store = self.clone();
            tokio::spawn(async move { store.find_accounts(batch).await })
        };
        let mut batches = prepared.into_batches(size).into_iter();
        let mut next = batches.next().map(find);
        while let Some(found) = next.take() {
            let batch = joined(found.await)?;
            next = batches.next().map(find);
            done(self.register_many(batch, program, actor, now).await?);
        }
        Ok(())
    }

    /// Looks up on a reader the account each draft links to, so that the
    /// writer only brings the answer up to date (SQLite; see `on_file.rs`).
    async fn find_accounts(&self, mut prepared: Prepared) -> Result<Prepared> {
        let keys: Vec<String> = prepared
            .drafts
            .iter()
            .map(|d| d.company_name.key())
            .collect();
        let lookups = exact_lookups(&keys, &prepared.drafts);
        prepared.on_file = self.on_file(&lookups).await?;
        Ok(prepared)
    }

    /// Registers many drafts in one write unit (bulk imports): a refused
    /// draft leaves the others standing, and the batch shares a single
    /// commit. A database failure fails the whole batch, and nothing of it
    /// is kept. Answers in the drafts' order. On SQLite the unit runs on
    /// the committer, beside the writer connection's thread.
    pub async fn register_many(
        &self,
        prepared: Prepared,
        program: &Program,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Vec<Result<Registered>>> {
        let Prepared {
            drafts,
            similar,
            on_file,
        } = prepared;
        let batch = drafts
            .into_iter()
            .zip(similar)
            .map(|(draft, similar)| Submission {
                draft,
                similar,
                actor: actor.clone(),
                now,
            })
            .collect();
        let (store, program) = (self.clone(), program.clone());
        self.write_unit(Box::new(move |tx| {
            Box::pin(async move { store.register_batch(tx, batch, on_file, &program).await })
        }))
        .await
    }

    /// Near names, looked up on a reader before the write transaction: they
    /// are advice for staff, so they need not be serialized with writers,
    /// and scoring them off the single writer keeps it free for the rest.
    async fn similar_names(&self, draft: &Draft, program: &Program) -> Result<Vec<NearName>> {
        let mut conn = self.reader.acquire().await?;
        let key = [(draft.company_name.key(), None)];
        let threshold = program.dedupe.fuzzy_threshold;
        let mut found = accounts::near_many(&mut conn, &key, threshold).await?;
        Ok(found.pop().unwrap_or_default())
    }

    /// Near names of many drafts (bulk imports), in the drafts' order.
    /// Against few accounts per draft, both name indexes are read once
    /// from end to end (`near_walk.rs`); otherwise a few drafts to a
    /// statement of seeks, as many statements at once as there are cores.
    async fn similar_names_of_all(
        &self,
        drafts: &[Draft],
        program: &Program,
    ) -> Result<Vec<Vec<NearName>>> {
        let threshold = program.dedupe.fuzzy_threshold;
        if near_walk::worth_it(&mut *self.reader.acquire().await?, drafts.len()).await? {
            let keys = drafts.iter().map(|d| d.company_name.key()).collect();
            return near_walk::similar(&self.reader, keys, threshold).await;
        }
        let at_once = Arc::new(Semaphore::new(lookups_at_once()));
        let lookups: Vec<_> = drafts
            .chunks(SIMILAR_PER_STATEMENT)
            .map(|chunk| {
                let keys: Vec<_> = chunk.iter().map(|d| (d.company_name.key(), None)).collect();
                let store = self.clone();
                let at_once = at_once.clone();
                tokio::spawn(async move {
                    let _turn = at_once.acquire_owned().await;
                    let mut conn = store.reader.acquire().await?;
                    accounts::near_many(&mut conn, &keys, threshold).await
                })
            })
            .collect();
        let mut similar = Vec::with_capacity(drafts.len());
        for lookup in lookups {
            similar.extend(joined(lookup.await)?);
        }
        Ok(similar)
    }

    /// Registers one draft that may contest an account: the path that
    /// refuses a partner's second claim and opens or joins conflicts.
    pub(crate) async fn register_in(
        &self,
        tx: &mut Tx,
        draft: &Draft,
        similar: Vec<NearName>,
        program: &Program,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<Registered> {
        self.lock_draft_keys(tx, draft).await?;
        let mut log = Vec::new();
        let (account, matched_on) = link_account(tx, draft, &mut log, now).await?;
        // Claims that reach this account by another key (a name without a
        // domain, say) serialize here, on the same lock commands take.
        self.lock_keys(tx, &[&format!("account:{}", account.id)])
            .await?;
        let possible_duplicates: Vec<NearName> = similar
            .into_iter()
            .filter(|c| c.account_id != account.id)
            .collect();
        // An account this transaction created has no registrations yet.
        let members = match matched_on {
            Some(_) => active_on_account(tx, account.id).await?,
            None => Vec::new(),
        };
        refuse_second_claim(draft, &members, program)?;

        let registration = insert(tx, draft, account.id, now).await?;
        log.push(submitted_event(&registration, &possible_duplicates));
        let conflict = claim(tx, draft, &registration, &members, program, &mut log, now).await?;
        on_case(&mut log, &registration);
        events::append(tx, actor, now, &log).await?;
        // Joining a conflict set the row's conflict and nothing else;
        // otherwise it is as inserted.
        let registration = match conflict {
            Some(id) => RegistrationRecord {
                conflict_id: Some(id),
                ..registration
            },
            // Auto-approval is for clean registrations: a conflict needs a person.
            None => self.auto_approve(tx, registration, program, now).await?,
        };
        let conflict = match conflict {
            Some(id) => Some(conflicts::load_conflict(tx, id).await?),
            None => None,
        };
        Ok(Registered {
            registration,
            account,
            matched_on,
            possible_duplicates,
            conflict,
        })
    }

    /// Approves a clean registration at once when the program says so.
    pub(crate) async fn auto_approve(
        &self,
        tx: &mut Tx,
        registration: RegistrationRecord,
        program: &Program,
        now: OffsetDateTime,
    ) -> Result<RegistrationRecord> {
        if !program.registration.auto_approve {
            return Ok(registration);
        }
        let approve = Command::Approve { hold_days: None };
        self.apply_in(tx, registration, approve, program, &Actor::System, now)
            .await
    }

    /// Serializes registrations that could create the same account: they
    /// share its domain or its normalized name.
    async fn lock_draft_keys(&self, tx: &mut Tx, draft: &Draft) -> Result<()> {
        let locks = company_keys(draft, &draft.company_name.key());
        let locks: Vec<&str> = locks.iter().map(String::as_str).collect();
        self.lock_keys(tx, &locks).await
    }

    /// One registration; a partner-scoped caller sees only its own.
    pub async fn registration(
        &self,
        id: RegistrationId,
        scope: Option<PartnerId>,
    ) -> Result<RegistrationRecord> {
        let mut conn = self.reader.acquire().await?;
        let record = load(&mut conn, id).await?;
        if scope.is_some_and(|p| p != record.partner_id) {
            return Err(StoreError::NotFound("registration"));
        }
        Ok(record)
    }

    pub async fn registrations(
        &self,
        filter: &RegistrationFilter,
    ) -> Result<Vec<RegistrationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM registrations WHERE id > $1 \
             AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR partner_id = $3) AND ($4 IS NULL OR account_id = $4) \
             ORDER BY id LIMIT $5",
        )
        .bind(filter.after)
        .bind(filter.status.map(Status::as_str))
        .bind(filter.partner_id.map(|p| p.0))
        .bind(filter.account_id.map(|a| a.0))
        .bind(filter.limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// A partner's registrations of any status, newest first.
    pub async fn recent_registrations(
        &self,
        partner: PartnerId,
        limit: i64,
    ) -> Result<Vec<RegistrationRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM registrations WHERE partner_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(partner.0)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Other active registrations on an account, for the "who else" panel.
    pub async fn active_registrations_on(
        &self,
        account: AccountId,
    ) -> Result<Vec<RegistrationRecord>> {
        let mut conn = self.reader.acquire().await?;
        active_on_account(&mut conn, account).await
    }
}

async fn link_account(
    tx: &mut Tx,
    draft: &Draft,
    log: &mut Vec<NewEvent>,
    now: OffsetDateTime,
) -> Result<(AccountRecord, Option<&'static str>)> {
    let key = draft.company_name.key();
    if let Some((account, how)) = accounts::find_exact(tx, &key, draft.domain.as_ref()).await? {
        return Ok((account, Some(how)));
    }
    let account = accounts::insert(tx, &new_account(draft), now).await?;
    log.push(account_created(&account));
    Ok((account, None))
}

/// What identifies the company a draft names, given its name key: the
/// keys that serialize writers and that tell drafts of one batch apart.
pub(crate) fn company_keys(draft: &Draft, name_key: &str) -> Vec<String> {
    let mut keys = vec![format!("name:{name_key}")];
    if let Some(domain) = &draft.domain {
        keys.push(format!("domain:{}", domain.as_str()));
    }
    keys
}

/// Each draft's name key (given, in the drafts' order) and domain, as the
/// exact-account lookups take them.
pub(crate) fn exact_lookups<'d>(
    keys: &'d [String],
    drafts: impl IntoIterator<Item = &'d Draft>,
) -> Vec<(&'d str, Option<&'d WebDomain>)> {
    keys.iter()
        .zip(drafts)
        .map(|(key, draft)| (key.as_str(), draft.domain.as_ref()))
        .collect()
}

/// The account a registration's draft names, when none matched it.
pub(crate) fn new_account(draft: &Draft) -> NewAccount {
    NewAccount {
        name: draft.company_name.clone(),
        domain: draft.domain.clone(),
        source: "registration".into(),
    }
}

/// Why an account appeared: a registration named a company not on file.
pub(crate) fn account_created(account: &AccountRecord) -> NewEvent {
    NewEvent::new(
        Change::AccountCreated {
            name: account.name.clone(),
            domain: account.domain.clone(),
        },
        "no account matched the domain or the normalized company name",
    )
    .on_account(account.id)
}

/// Files a registration's events under its case, partner and account.
pub(crate) fn on_case(log: &mut [NewEvent], registration: &RegistrationRecord) {
    for event in log {
        event.registration_id.get_or_insert(registration.id);
        event.partner_id.get_or_insert(registration.partner_id);
        event.account_id.get_or_insert(registration.account_id);
    }
}

/// A partner may hold one active claim per account (per segment and product
/// under `split_by_segment`): a second one answers with the existing case.
fn refuse_second_claim(
    draft: &Draft,
    members: &[RegistrationRecord],
    program: &Program,
) -> Result<()> {
    let split = program.registration.conflict_policy
        == trellis_domain::program::ConflictPolicy::SplitBySegment;
    let existing = members.iter().find(|m| {
        m.partner_id == draft.partner_id && (!split || same_segment(&draft.market, &m.market))
    });
    match existing {
        Some(m) => Err(StoreError::Domain(DomainError::AlreadyRegistered {
            existing: m.case_number(),
            status: m.life.status.as_str(),
        })),
        None => Ok(()),
    }
}

/// Puts the new registration in conflict with the other partners' active
/// claims that compete with it under the program's policy.
async fn claim(
    tx: &mut Tx,
    draft: &Draft,
    registration: &RegistrationRecord,
    members: &[RegistrationRecord],
    program: &Program,
    log: &mut Vec<NewEvent>,
    now: OffsetDateTime,
) -> Result<Option<ConflictId>> {
    let policy = program.registration.conflict_policy;
    let competitors: Vec<_> = members
        .iter()
        .filter(|m| competes(policy, draft.partner_id, &draft.market, &m.as_member()))
        .collect();
    conflicts::open_or_join(tx, registration, &competitors, program, log, now).await
}

pub(crate) fn submitted_event(reg: &RegistrationRecord, duplicates: &[NearName]) -> NewEvent {
    let mut why = format!(
        "{} registered {} through {}",
        reg.case_number(),
        reg.company_name,
        reg.channel.as_str()
    );
    if !duplicates.is_empty() {
        why.push_str(&format!(
            "; {} similar account name(s) await staff review",
            duplicates.len()
        ));
    }
    NewEvent::new(
        Change::Submitted {
            channel: reg.channel.as_str().into(),
            registration_kind: reg.kind.as_str().into(),
        },
        why,
    )
    .on_registration(reg.id)
}

pub(crate) async fn active_on_account(
    conn: &mut sqlx::AnyConnection,
    account: AccountId,
) -> Result<Vec<RegistrationRecord>> {
    let sql = format!(
        "SELECT * FROM registrations WHERE account_id = $1 AND status IN {ACTIVE} ORDER BY id"
    );
    let rows = sqlx::query(&sql)
        .bind(account.0)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// A registration to insert: its draft, the account it links to, and when.
pub(crate) struct NewRow<'a> {
    pub draft: &'a Draft,
    pub account: AccountId,
    pub at: OffsetDateTime,
}

/// Values bound per contact row and per registration row.
const CONTACT_VALUES: usize = 4;
const REGISTRATION_VALUES: usize = 21;

/// Inserts registrations on accounts that differ from one another, each
/// with its contact, in as few statements as binding allows; the records
/// as stored, in the order given.
pub(crate) async fn insert_many(
    tx: &mut Tx,
    rows: &[NewRow<'_>],
) -> Result<Vec<RegistrationRecord>> {
    let contacts = upsert_contacts(tx, rows).await?;
    let mut records = Vec::with_capacity(rows.len());
    let marks = Marks::of(tx);
    for chunk in rows.chunks(marks.rows_per_statement(REGISTRATION_VALUES)) {
        let sql = format!(
            "INSERT INTO registrations (partner_id, account_id, contact_id, kind, channel, status, company_name, \
             company_domain, contact_name, contact_email, use_case, segment, region, product, deal_stage, deal_amount, \
             deal_currency, deal_close_date, deal_next_step, submitted_at, updated_at) VALUES {} RETURNING id, account_id",
            marks.rows(chunk.len(), REGISTRATION_VALUES)
        );
        let query = chunk.iter().try_fold(sqlx::query(&sql), |q, row| {
            let contact = contacts.get(&row.account).copied().ok_or_else(|| {
                StoreError::Corrupt(format!("no contact returned for account {}", row.account))
            })?;
            Ok::<_, StoreError>(bind_registration(q, row, contact))
        })?;
        // RETURNING promises no order, so each id is known by its account.
        let ids = query
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| Ok((AccountId(row.int("account_id")?), row.int("id")?)))
            .collect::<Result<HashMap<_, _>>>()?;
        for row in chunk {
            let id = ids.get(&row.account).copied().ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "no registration returned for account {}",
                    row.account
                ))
            })?;
            records.push(inserted(row, RegistrationId(id))?);
        }
    }
    Ok(records)
}

/// The record of the registration inserted from `row` as `id`, as the
/// table now holds it: submitted, in no conflict, its times to the
/// microsecond. Built from what was bound rather than read back: reading
/// every column of a thousand new rows copied each value twice more, on
/// the writer's thread and on the committer's.
fn inserted(row: &NewRow<'_>, id: RegistrationId) -> Result<RegistrationRecord> {
    let draft = row.draft;
    let at = from_micros(micros(row.at))?;
    let text = |t: &Text| t.as_str().to_owned();
    Ok(RegistrationRecord {
        id,
        partner_id: draft.partner_id,
        account_id: row.account,
        conflict_id: None,
        kind: draft.kind,
        channel: draft.channel,
        company_name: draft.company_name.as_str().to_owned(),
        company_domain: draft.domain.as_ref().map(|d| d.as_str().to_owned()),
        contact_name: text(&draft.contact_name),
        contact_email: draft.contact_email.as_str().to_owned(),
        use_case: draft.use_case.as_ref().map(text),
        market: draft.market.clone(),
        deal: draft.deal.as_ref().map(|d| DealRecord {
            stage: text(&d.stage),
            amount: d.amount,
            expected_close: d.expected_close,
            next_step: d.next_step.as_ref().map(text),
        }),
        life: Lifecycle::submitted(at),
        updated_at: at,
    })
}

/// Binds one registration's values, in the column order of [`insert_many`].
fn bind_registration<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    row: &NewRow<'q>,
    contact: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    let draft = row.draft;
    let deal = draft.deal.as_ref();
    query
        .bind(draft.partner_id.0)
        .bind(row.account.0)
        .bind(contact)
        .bind(draft.kind.as_str())
        .bind(draft.channel.as_str())
        .bind(Status::Submitted.as_str())
        .bind(draft.company_name.as_str())
        .bind(draft.domain.as_ref().map(|d| d.as_str()))
        .bind(draft.contact_name.as_str())
        .bind(draft.contact_email.as_str())
        .bind(draft.use_case.as_ref().map(|t| t.as_str()))
        .bind(draft.market.segment.as_deref())
        .bind(draft.market.region.as_deref())
        .bind(draft.market.product.as_deref())
        .bind(deal.map(|d| d.stage.as_str()))
        .bind(deal.map(|d| d.amount.minor))
        .bind(deal.map(|d| d.amount.currency.code().to_owned()))
        .bind(deal.map(|d| d.expected_close.to_string()))
        .bind(deal.and_then(|d| d.next_step.as_ref()).map(|t| t.as_str()))
        .bind(micros(row.at))
        .bind(micros(row.at))
}

/// Keeps each row's contact on its account (a known email keeps its id and
/// takes the name given now); the contact ids by account.
async fn upsert_contacts(tx: &mut Tx, rows: &[NewRow<'_>]) -> Result<HashMap<AccountId, i64>> {
    let mut ids = HashMap::with_capacity(rows.len());
    let marks = Marks::of(tx);
    for chunk in rows.chunks(marks.rows_per_statement(CONTACT_VALUES)) {
        let sql = format!(
            "INSERT INTO contacts (account_id, name, email, created_at) VALUES {} \
             ON CONFLICT (account_id, email) DO UPDATE SET name = excluded.name RETURNING id, account_id",
            marks.rows(chunk.len(), CONTACT_VALUES)
        );
        let query = chunk.iter().fold(sqlx::query(&sql), |q, row| {
            q.bind(row.account.0)
                .bind(row.draft.contact_name.as_str())
                .bind(row.draft.contact_email.as_str())
                .bind(micros(row.at))
        });
        for row in query.fetch_all(&mut **tx).await? {
            ids.insert(AccountId(row.int("account_id")?), row.int("id")?);
        }
    }
    Ok(ids)
}

/// Inserts one registration with its contact.
async fn insert(
    tx: &mut Tx,
    draft: &Draft,
    account: AccountId,
    now: OffsetDateTime,
) -> Result<RegistrationRecord> {
    let row = NewRow {
        draft,
        account,
        at: now,
    };
    insert_many(tx, &[row])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Corrupt("a registration insert returned no row".into()))
}

pub(crate) async fn load(
    conn: &mut sqlx::AnyConnection,
    id: RegistrationId,
) -> Result<RegistrationRecord> {
    let row = sqlx::query("SELECT * FROM registrations WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("registration"))?;
    from_row(&row)
}

/// Writes a registration's lifecycle back, with the time the expiry sweep
/// must look at it next.
pub(crate) async fn save_life(
    tx: &mut Tx,
    id: RegistrationId,
    life: &Lifecycle,
    now: OffsetDateTime,
) -> Result<()> {
    sqlx::query(
        "UPDATE registrations SET status = $2, status_reason = $3, approved_at = $4, hold_until = $5, \
         meeting_due = $6, first_meeting_at = $7, closed_at = $8, won_amount = $9, won_currency = $10, expires_at = $11, updated_at = $12, \
         first_response_at = COALESCE(first_response_at, $13) WHERE id = $1",
    )
    .bind(id.0)
    .bind(life.status.as_str())
    .bind(life.status_reason.as_deref())
    .bind(opt_micros(life.approved_at))
    .bind(opt_micros(life.hold_until))
    .bind(opt_micros(life.meeting_due))
    .bind(opt_micros(life.first_meeting_at))
    .bind(opt_micros(life.closed_at))
    .bind(life.won_amount.map(|m| m.minor))
    .bind(life.won_amount.map(|m| m.currency.code().to_owned()))
    .bind(opt_micros(lifecycle::expires_at(life)))
    .bind(micros(now))
    .bind(is_response(life.status).then(|| micros(now)))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether reaching `status` answers the partner: a decision or a question.
/// The first such moment is kept as the registration's first response.
fn is_response(status: Status) -> bool {
    matches!(
        status,
        Status::Approved | Status::Declined | Status::MoreInfo
    )
}

/// Puts the registrations `ids` (a conflict's claimants: a handful) in
/// `conflict`, in one statement.
pub(crate) async fn set_conflict(
    tx: &mut Tx,
    ids: &[RegistrationId],
    conflict: ConflictId,
) -> Result<()> {
    let sql = format!(
        "UPDATE registrations SET conflict_id = $1 WHERE id IN ({})",
        placeholders_from(2, ids.len())
    );
    ids.iter()
        .fold(sqlx::query(&sql).bind(conflict.0), |q, id| q.bind(id.0))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(crate) fn from_row(row: &AnyRow) -> Result<RegistrationRecord> {
    let currency = row
        .opt_text("deal_currency")?
        .map(|c| Currency::parse(&c))
        .transpose()
        .map_err(corrupt)?;
    let deal = match (
        row.opt_text("deal_stage")?,
        row.opt_int("deal_amount")?,
        currency,
    ) {
        (Some(stage), Some(minor), Some(currency)) => Some(DealRecord {
            stage,
            amount: Money { minor, currency },
            expected_close: parse_day(&row.text("deal_close_date")?)?,
            next_step: row.opt_text("deal_next_step")?,
        }),
        _ => None,
    };
    let won_currency = row
        .opt_text("won_currency")?
        .map(|c| Currency::parse(&c))
        .transpose()
        .map_err(corrupt)?;
    let won_amount = match (row.opt_int("won_amount")?, won_currency) {
        (Some(minor), Some(currency)) => Some(Money { minor, currency }),
        _ => None,
    };
    Ok(RegistrationRecord {
        id: RegistrationId(row.int("id")?),
        partner_id: PartnerId(row.int("partner_id")?),
        account_id: AccountId(row.int("account_id")?),
        conflict_id: row.opt_int("conflict_id")?.map(ConflictId),
        kind: row.parsed("kind", RegistrationKind::parse)?,
        channel: row.parsed("channel", Channel::parse)?,
        company_name: row.text("company_name")?,
        company_domain: row.opt_text("company_domain")?,
        contact_name: row.text("contact_name")?,
        contact_email: row.text("contact_email")?,
        use_case: row.opt_text("use_case")?,
        market: Market {
            segment: row.opt_text("segment")?,
            region: row.opt_text("region")?,
            product: row.opt_text("product")?,
        },
        deal,
        life: Lifecycle {
            status: row.parsed("status", Status::parse)?,
            submitted_at: row.at("submitted_at")?,
            approved_at: row.opt_at("approved_at")?,
            hold_until: row.opt_at("hold_until")?,
            meeting_due: row.opt_at("meeting_due")?,
            first_meeting_at: row.opt_at("first_meeting_at")?,
            closed_at: row.opt_at("closed_at")?,
            status_reason: row.opt_text("status_reason")?,
            won_amount,
        },
        updated_at: row.at("updated_at")?,
    })
}

fn corrupt(e: trellis_domain::DomainError) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl RegistrationRecord {
    /// The view of this registration the conflict rules read.
    pub fn as_member(&self) -> trellis_domain::registration::Member {
        trellis_domain::registration::Member {
            id: self.id,
            partner_id: self.partner_id,
            account_id: self.account_id,
            conflict_id: self.conflict_id,
            market: self.market.clone(),
            life: self.life.clone(),
        }
    }
}

/// Case numbers for messages: `REG-000001, REG-000007`.
pub(crate) fn case_list(ids: impl IntoIterator<Item = RegistrationId>) -> String {
    ids.into_iter()
        .map(|id| CaseNumber(id).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
