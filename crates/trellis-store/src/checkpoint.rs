//! SQLite: the write-ahead log copied into the database file away from the
//! writer.
//!
//! By default the connection that commits also checkpoints, once the log
//! passes 1,000 pages: that commit copies the log into the database file
//! and waits for the disk again before it answers. A bulk import dirtied
//! more pages than that in every batch, so every one of its commits paid
//! for a checkpoint, a third of the time it held the writer. Here the
//! writer never checkpoints (`wal_autocheckpoint = 0`, set in `db.rs`);
//! this task runs a passive checkpoint on a reader connection every
//! [`INTERVAL`] instead, which neither waits for nor blocks the writer or
//! the readers.

use crate::group_commit::Liveness;
use sqlx::AnyPool;
use std::time::Duration;
use tokio::time::MissedTickBehavior;

/// How often the log is copied back: often enough that it stays a few
/// megabytes under steady writes; a checkpoint with nothing to copy costs
/// a reader a few microseconds.
const INTERVAL: Duration = Duration::from_millis(250);

/// Checkpoints through `reader` for as long as the store's committer runs
/// (`writer`) and the pool is open.
pub(crate) fn spawn(reader: AnyPool, writer: Liveness) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if !writer.alive() || reader.is_closed() {
                return;
            }
            let done = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&reader)
                .await;
            if let Err(e) = done {
                tracing::warn!(error = %e, "a checkpoint of the write-ahead log failed");
            }
        }
    });
}
