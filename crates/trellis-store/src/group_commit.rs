//! Group commit for SQLite: concurrent write units share one durable commit.
//!
//! SQLite runs one writer at a time, and with `synchronous = FULL` every
//! commit waits for the disk. Given one transaction each, concurrent
//! registrations would queue behind one another's disk flushes. Here they
//! queue on a channel instead: a committer thread takes whatever units are
//! waiting, runs each in its own savepoint (a refused unit rolls back alone
//! and leaves the others standing), commits once, and only then answers
//! every caller. Each unit stays atomic, and an answer still means "on
//! disk": the durability of one transaction each, at the price of one flush
//! per group. PostgreSQL groups commits itself, so it never comes here.
//!
//! Registrations queued one behind another are gathered into one batch
//! (`register_batch`), which writes them in a few multi-row statements
//! instead of a handful of statements each.

use crate::checkpoint::Checkpoints;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::register_batch::{self, Queued};
use sqlx::AnyPool;
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// A future borrowing the transaction it runs in.
pub(crate) type TxFuture<'t, T> = Pin<Box<dyn Future<Output = T> + Send + 't>>;

/// A write unit: runs in the transaction it is given and never commits.
pub(crate) type Unit<T> = Box<dyn for<'t> FnOnce(&'t mut Tx) -> TxFuture<'t, Result<T>> + Send>;

/// The most units one commit carries: enough that a queue of waiting
/// requests drains in a few flushes, few enough that the first in a group
/// does not wait long for the last.
const MAX_GROUP: usize = 64;
/// Units that may wait for the committer before callers wait to queue.
const QUEUE: usize = 1024;

/// A unit with its result type erased: it runs, then waits to be answered
/// with the group's commit result.
type Job = Box<dyn for<'t> FnOnce(&'t mut Tx) -> TxFuture<'t, Ran> + Send>;

/// Answers a caller with the group commit's outcome (`Err` holds why the
/// commit failed).
pub(crate) type Answer = Box<dyn FnOnce(std::result::Result<(), &str>) + Send>;

/// What a job left behind until the commit.
pub(crate) struct Ran {
    /// Whether its savepoint stands (false: rolled back).
    pub kept: bool,
    /// Sends the caller its result once the commit's outcome is known.
    pub answer: Answer,
}

impl Ran {
    /// What a job that produced `result` leaves: the caller hears `result`
    /// once the commit stands, or that the commit failed.
    pub(crate) fn new<T: Send + 'static>(
        result: Result<T>,
        reply: oneshot::Sender<Result<T>>,
    ) -> Ran {
        Ran {
            kept: result.is_ok(),
            answer: Box::new(move |commit| {
                let result = match (result, commit) {
                    (Ok(_), Err(why)) => Err(StoreError::CommitFailed(why.to_owned())),
                    (result, _) => result,
                };
                // A caller that went away no longer needs its answer.
                let _ = reply.send(result);
            }),
        }
    }
}

/// What waits for the committer.
enum Work {
    Unit(Job),
    /// A registration, gathered with those queued right behind it.
    Register(Box<Queued>),
}

/// The channel to the committer thread; dropping the last one stops it.
#[derive(Clone)]
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Work>,
    /// Where every write asks for the log to be checkpointed.
    checkpoints: Checkpoints,
}

impl GroupCommit {
    /// Starts the committer on a thread of its own, so that a busy request
    /// runtime never keeps it from the writer connection between statements,
    /// and opens the writer pool (`open`) from that thread; answers with
    /// the pool once it is open.
    ///
    /// Every statement is a hand-off between this thread and the thread
    /// sqlx runs the connection on, and back. Across two cores each
    /// hand-off wakes a sleeping core, which on a virtual machine took 100
    /// to 500 µs; on one core it is a switch between two threads, under
    /// 100 µs. So the committer keeps to one core, and the connection's
    /// thread, started from here, inherits it.
    pub(crate) async fn start<F, Fut>(open: F) -> Result<(GroupCommit, AnyPool)>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = sqlx::Result<AnyPool>>,
    {
        let (jobs, queue) = mpsc::channel(QUEUE);
        // Timers for the pool's timeouts, and no I/O driver: SQLite's
        // connections answer over channels, and a thread that parks without
        // one wakes more cheaply, which it does several times a registration.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .map_err(sqlx::Error::Io)?;
        let (opened, writer) = oneshot::channel();
        std::thread::Builder::new()
            .name("trellis-commit".into())
            .spawn(move || {
                keep_to_one_core();
                runtime.block_on(async move {
                    let writer = match open().await {
                        Ok(writer) => writer,
                        Err(e) => return drop(opened.send(Err(e))),
                    };
                    if opened.send(Ok(writer.clone())).is_ok() {
                        run(writer, queue).await;
                    }
                })
            })
            .map_err(sqlx::Error::Io)?;
        let not_started = || StoreError::CommitFailed("the committer did not start".into());
        let writer = writer.await.map_err(|_| not_started())??;
        let checkpoints = Checkpoints::default();
        Ok((GroupCommit { jobs, checkpoints }, writer))
    }

    pub(crate) fn checkpoints(&self) -> &Checkpoints {
        &self.checkpoints
    }

    /// Whether the committer still runs, without keeping it running.
    pub(crate) fn liveness(&self) -> Liveness {
        Liveness(self.jobs.downgrade())
    }

    /// Runs `unit` in the next group and answers once that group's commit
    /// is durable, or with the reason it is not.
    pub(crate) async fn write<T: Send + 'static>(&self, unit: Unit<T>) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |tx| Box::pin(async move { Ran::new(unit(tx).await, reply) }));
        self.send(Work::Unit(job), answer).await
    }

    /// Registers `queued` in the next group, in one batch with the
    /// registrations queued beside it; answers once the commit is durable.
    pub(crate) async fn register(
        &self,
        queued: Queued,
        answer: oneshot::Receiver<Result<crate::Registered>>,
    ) -> Result<crate::Registered> {
        self.send(Work::Register(Box::new(queued)), answer).await
    }

    async fn send<T>(&self, work: Work, answer: oneshot::Receiver<Result<T>>) -> Result<T> {
        // A dropped job or a stopped committer wrote nothing.
        let unwritten = || StoreError::CommitFailed("the write could not start".into());
        self.jobs.send(work).await.map_err(|_| unwritten())?;
        self.checkpoints.soon();
        answer.await.map_err(|_| unwritten())?
    }
}

/// Tells whether a store's committer still runs: it stops once every
/// handle to the store is gone.
pub(crate) struct Liveness(mpsc::WeakSender<Work>);

impl Liveness {
    pub(crate) fn alive(&self) -> bool {
        self.0.upgrade().is_some()
    }
}

/// Pins the calling thread to the last core it may run on (the first is
/// where the kernel tends to take interrupts). With a single core there is
/// nothing to choose, and a refusal leaves the thread free to move: both
/// only cost speed.
fn keep_to_one_core() {
    let last = core_affinity::get_core_ids().and_then(|cores| cores.into_iter().last());
    if let Some(core) = last {
        if !core_affinity::set_for_current(core) {
            tracing::debug!("the committer could not be kept to one core");
        }
    }
}

/// The committer: one group at a time, for as long as any store is open.
async fn run(writer: AnyPool, mut queue: mpsc::Receiver<Work>) {
    while let Some(first) = queue.recv().await {
        match group(&writer, first, &mut queue).await {
            Ok(ran) => ran.into_iter().for_each(|job| (job.answer)(Ok(()))),
            Err((ran, e)) => {
                tracing::error!(error = %e, "a group commit failed");
                let why = e.to_string();
                ran.into_iter().for_each(|job| (job.answer)(Err(&why)));
            }
        }
    }
}

/// Runs `first` and the work that queues meanwhile, up to [`MAX_GROUP`]
/// callers, each unit in a savepoint, and commits them. On a database
/// failure the whole group is rolled back and returned with the error; work
/// that never ran is dropped, which answers its caller that nothing was
/// written.
async fn group(
    writer: &AnyPool,
    first: Work,
    queue: &mut mpsc::Receiver<Work>,
) -> std::result::Result<Vec<Ran>, (Vec<Ran>, StoreError)> {
    let mut ran = Vec::new();
    let mut tx = writer
        .begin_with(BEGIN)
        .await
        .map_err(|e| (vec![], e.into()))?;
    let mut opened = true;
    let mut next = Some(first);
    let mut registered = false;
    while let Some(work) = next.take() {
        registered |= matches!(work, Work::Register(_));
        let done = match work {
            Work::Unit(job) => unit(&mut tx, job, &mut opened).await.map(|done| vec![done]),
            Work::Register(first) => {
                let gathered = gather(
                    *first,
                    queue,
                    MAX_GROUP.saturating_sub(ran.len()),
                    &mut next,
                );
                register_batch::run_queued(&mut tx, gathered, &mut opened).await
            }
        };
        match done {
            Ok(done) => ran.extend(done),
            Err(e) => return Err((ran, e)),
        }
        // A batch of registrations closes the group: those queued while it
        // ran make the next batch whole, rather than a second small one here.
        if next.is_none() && ran.len() < MAX_GROUP && !registered {
            next = queue.try_recv().ok();
        }
    }
    match tx.commit().await {
        Ok(()) => Ok(ran),
        Err(e) => Err((ran, e.into())),
    }
}

/// Runs one unit in a savepoint of its own.
async fn unit(tx: &mut Tx, job: Job, opened: &mut bool) -> Result<Ran> {
    open_savepoint(tx, opened).await?;
    let done = job(tx).await;
    settle_savepoint(tx, done.kept).await?;
    Ok(done)
}

/// `first` and the registrations queued right behind it under the same
/// program, up to `room`; other work met on the way is left in `next`.
fn gather(
    first: Queued,
    queue: &mut mpsc::Receiver<Work>,
    room: usize,
    next: &mut Option<Work>,
) -> Vec<Queued> {
    let mut gathered = vec![first];
    while gathered.len() < room {
        match queue.try_recv() {
            Ok(Work::Register(queued)) if queued.same_program(&gathered[0]) => {
                gathered.push(*queued)
            }
            Ok(other) => {
                *next = Some(other);
                break;
            }
            Err(_) => break,
        }
    }
    gathered
}

/// Opens a group's transaction together with the savepoint its first unit
/// runs in: one round trip to the connection's thread for both.
const BEGIN: &str = "BEGIN; SAVEPOINT unit";

/// Opens a savepoint for the next unit, unless the transaction was opened
/// with one that no unit has used yet (`opened`, which this clears).
pub(crate) async fn open_savepoint(tx: &mut Tx, opened: &mut bool) -> Result<()> {
    if !std::mem::take(opened) {
        savepoint(tx).await?;
    }
    Ok(())
}

/// Ends a unit's savepoint on the committer: undoes what the unit wrote
/// unless it is kept. A kept savepoint is left open: the group's commit
/// keeps it with everything else, and a release would be one more round
/// trip. A later unit's savepoint nests inside it and is the one that
/// `ROLLBACK TO` and `RELEASE` name.
pub(crate) async fn settle_savepoint(tx: &mut Tx, keep: bool) -> Result<()> {
    if !keep {
        sqlx::raw_sql("ROLLBACK TO SAVEPOINT unit; RELEASE SAVEPOINT unit")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Opens a savepoint: what a unit writes after it can be undone alone.
pub(crate) async fn savepoint(tx: &mut Tx) -> Result<()> {
    sqlx::query("SAVEPOINT unit").execute(&mut **tx).await?;
    Ok(())
}

/// Keeps what the unit wrote since [`savepoint`], or undoes it.
pub(crate) async fn end_savepoint(tx: &mut Tx, keep: bool) -> Result<()> {
    if !keep {
        sqlx::query("ROLLBACK TO SAVEPOINT unit")
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query("RELEASE SAVEPOINT unit")
        .execute(&mut **tx)
        .await?;
    Ok(())
}
