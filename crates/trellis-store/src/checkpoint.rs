//! SQLite: the write-ahead log copied into the database file away from the
//! writer.
//!
//! By default the connection that commits also checkpoints, once the log
//! passes 1,000 pages: that commit copies the log into the database file
//! and waits for the disk again before it answers. A bulk import dirtied
//! more pages than that in every batch, so every one of its commits paid
//! for a checkpoint, a third of the time it held the writer. Here every
//! write asks for a checkpoint, and a task runs a passive one on a reader
//! connection [`DELAY`] later, which neither waits for nor blocks the
//! writer or the readers. Without writes nothing runs, so a database that
//! is only read never meets a checkpoint. The writer checkpoints itself
//! only once the log passes 64 MiB (`wal_autocheckpoint`, set in `db.rs`),
//! which writes that never pause reach.

use crate::group_commit::Liveness;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long after a write the log is copied back: the writes of that
/// while share one checkpoint, and under steady writes the log stays a few
/// megabytes.
const DELAY: Duration = Duration::from_millis(250);
/// How often an idle task looks whether its store is gone.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// Where writes ask for a checkpoint.
#[derive(Clone, Default)]
pub(crate) struct Checkpoints(Arc<Notify>);

impl Checkpoints {
    /// Asks for a checkpoint soon; many asks before it runs make one.
    pub(crate) fn soon(&self) {
        self.0.notify_one();
    }

    /// Checkpoints through `reader` when asked, for as long as the store's
    /// committer runs (`writer`) and the pool is open.
    pub(crate) fn spawn(&self, reader: AnyPool, writer: Liveness) {
        let asked = self.0.clone();
        tokio::spawn(async move {
            loop {
                let wanted = tokio::select! {
                    () = asked.notified() => true,
                    () = tokio::time::sleep(IDLE_CHECK) => false,
                };
                if !writer.alive() || reader.is_closed() {
                    return;
                }
                if wanted {
                    tokio::time::sleep(DELAY).await;
                    checkpoint(&reader).await;
                }
            }
        });
    }
}

async fn checkpoint(reader: &AnyPool) {
    let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(reader)
        .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "a checkpoint of the write-ahead log failed");
    }
}
