//! Connecting, migrating, and the few places SQLite and PostgreSQL differ.

use crate::error::Result;
use crate::group_commit::{GroupCommit, Unit};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// Which database a store speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The store: a connection pool for reads and one for writes.
///
/// On SQLite the write pool holds a single connection, so writers queue in
/// the pool instead of failing with `SQLITE_BUSY`, and every write
/// transaction is serialized. On PostgreSQL both are the same pool and
/// writers that touch the same account serialize on advisory locks.
#[derive(Clone)]
pub struct Store {
    pub(crate) reader: AnyPool,
    pub(crate) writer: AnyPool,
    pub(crate) backend: Backend,
    /// SQLite only: where single-unit writes queue to share a commit.
    pub(crate) group: Option<GroupCommit>,
}

pub(crate) type Tx = Transaction<'static, sqlx::Any>;

impl Store {
    /// Connects to `url` (`sqlite://path`, `sqlite::memory:`, `postgres://...`)
    /// and runs pending migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let store = match backend {
            Backend::Sqlite => Self::connect_sqlite(url).await?,
            Backend::Postgres => Self::connect_postgres(url).await?,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn connect_sqlite(url: &str) -> Result<Store> {
        let memory = url.contains(":memory:") || url.contains("mode=memory");
        let url = sqlite_url(url);
        let options = AnyConnectOptions::from_str(&url)?;
        // An in-memory database exists once per connection, so it gets one
        // connection for everything. A file gets more readers than cores:
        // a dedupe lookup spends much of its time waiting for hand-offs to
        // its connection's thread, and with four, lookups queued for one.
        let readers = if memory { 1 } else { 8 };
        // Nor may that connection ever be recycled, or the data goes with it.
        let writer_options = options.clone();
        let (group, writer) = GroupCommit::start(move || {
            sqlite_pool(1, WRITER_PRAGMAS)
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with(writer_options)
        })
        .await?;
        let reader = if memory {
            writer.clone()
        } else {
            let reader = sqlite_pool(readers, READER_PRAGMAS)
                .connect_with(options)
                .await?;
            let checkpoints = group.checkpoints();
            checkpoints.spawn(reader.clone(), group.liveness());
            reader
        };
        Ok(Store {
            reader,
            writer,
            backend: Backend::Sqlite,
            group: Some(group),
        })
    }

    async fn connect_postgres(url: &str) -> Result<Store> {
        let pool = AnyPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        Ok(Store {
            reader: pool.clone(),
            writer: pool,
            backend: Backend::Postgres,
            group: None,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator
            .run(&self.writer)
            .await
            .map_err(|e| crate::StoreError::Database(e.into()))
    }

    /// Starts a write transaction.
    pub(crate) async fn write(&self) -> Result<Tx> {
        if let Some(group) = &self.group {
            group.checkpoints().soon();
        }
        Ok(self.writer.begin().await?)
    }

    /// Runs a write unit atomically and durably: on SQLite in the next
    /// group commit, on PostgreSQL in a transaction of its own.
    pub(crate) async fn write_unit<T: Send + 'static>(&self, unit: Unit<T>) -> Result<T> {
        if let Some(group) = &self.group {
            return group.write(unit).await;
        }
        let mut tx = self.write().await?;
        let value = unit(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Serializes concurrent writers on the same keys (account domain and
    /// name) until the transaction ends, so two partners registering one
    /// account at the same moment still see each other. SQLite needs nothing:
    /// its single write connection already serializes every writer.
    pub(crate) async fn lock_keys(&self, tx: &mut Tx, keys: &[&str]) -> Result<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let mut hashes: Vec<i64> = keys.iter().map(|k| lock_hash(k)).collect();
        // Taking locks in one global order rules out deadlocks.
        hashes.sort_unstable();
        hashes.dedup();
        for hash in hashes {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(hash)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// What a claiming subquery adds so concurrent processes skip rows
    /// another has locked (PostgreSQL); SQLite's single writer needs nothing.
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// What names the index that counts every partner's open registrations
    /// (migration 0014) where the planner needs telling: SQLite's prefers
    /// the status index and then reads the table for each row, ten times
    /// slower at a million registrations; PostgreSQL chooses well itself.
    pub(crate) fn open_tidy_index(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "",
            Backend::Sqlite => " INDEXED BY registrations_open_tidy",
        }
    }

    /// Closes every connection (tests and shutdown).
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}

/// The writer's own settings. A page cache of 64 MiB (a negative size
/// counts KiB): its pages stay valid across commits (it made them), and
/// every registration descends several indexes at random places, which
/// with SQLite's default of 2 MiB a bulk import read back from the
/// operating system statement after statement. And checkpoints only as a
/// backstop: they run beside it, after writes (`checkpoint.rs`), but under
/// writes that never pause those never catch up, and a log that is never
/// copied back to its end is never restarted either: loading five million
/// accounts grew it to 25 GB. Past 16,384 pages (64 MiB) the writer's
/// commits checkpoint too, so the log stays near that size.
const WRITER_PRAGMAS: &str = "PRAGMA cache_size = -65536; PRAGMA wal_autocheckpoint = 16384;";
/// A reader's page cache, 8 MiB: room for the upper levels of every index a
/// lookup descends at five million accounts. A reader drops its cache
/// whenever another connection has committed.
const READER_PRAGMAS: &str = "PRAGMA cache_size = -8192;";

fn sqlite_pool(size: u32, own_pragmas: &'static str) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(size)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(60))
        // A ping before each use is a round trip to the connection's thread
        // and tells nothing: an in-process connection that failed fails its
        // next statement just as clearly.
        .test_before_acquire(false)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; FULL makes every
                // acknowledged commit durable even against power loss; the
                // busy timeout covers other processes such as `trellis token`.
                // Savepoint journals stay in memory rather than spill to
                // temporary files. No memory map: SQLite drops a
                // connection's whole map at the first read after any commit,
                // and under steady writes eight readers spent their time
                // unmapping and faulting pages back in.
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                     PRAGMA temp_store = MEMORY;",
                )
                .await?;
                conn.execute(own_pragmas).await?;
                Ok(())
            })
        })
}

/// Accepts `sqlite://file.db`, `sqlite:file.db` and `sqlite::memory:`, and
/// asks SQLite to create a missing file.
fn sqlite_url(url: &str) -> String {
    if url.contains(":memory:") || url.contains("mode=") {
        return url.to_owned();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

/// A stable 64-bit key for `pg_advisory_xact_lock` (FNV-1a: the same in
/// every process and every release, unlike std's randomized hasher).
fn lock_hash(key: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

impl Store {
    /// Checks the database answers (health checks).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}
