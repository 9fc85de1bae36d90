//! SQLite's connections: one writer (SQLite has one writer anyway; queueing in the pool is
//! cheaper than spinning on SQLITE_BUSY) and a small pool of readers.

use super::{Scope, Tx};
use crate::Result;
use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

/// SQLite cannot change `synchronous` inside a transaction, so the mode is set in the same
/// `exec` as the `BEGIN` (one round trip to the connection's thread; setting it costs no
/// I/O).
const BEGIN_DURABLE: &str = "PRAGMA synchronous = FULL; BEGIN";
const BEGIN_RELAXED: &str = "PRAGMA synchronous = NORMAL; BEGIN";

pub(crate) struct SqlitePools {
    write: SqlitePool,
    read: SqlitePool,
}

impl SqlitePools {
    pub(crate) async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .pragma("secure_delete", "ON")
            // Another process (`covalynce watch` beside `serve`) may hold the write lock for
            // a short transaction; one that holds it longer makes the database unavailable
            // (503, retry) instead of keeping a request waiting.
            .busy_timeout(Duration::from_secs(1));
        // Checkpoints stay SQLite's automatic ones (every 1000 WAL pages, on commit):
        // measured with bench/ingest.sh, a background checkpointer or a larger threshold gave
        // no more throughput and a worse p99 (longer checkpoints stall the one writer).
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone().read_only(true))
            .await?;
        Ok(Self { write, read })
    }

    /// A read-only unit. SQLite has no row level security: the scope is named for the
    /// reader's sake and checked by each query's own `workspace_id`.
    pub(crate) async fn read(&self, _scope: Scope) -> Result<Tx<Sqlite>> {
        Ok(self.read.begin().await?)
    }

    /// A unit on the writer that fsyncs on commit: for what must survive a power cut once
    /// it has been acknowledged (deliveries, user actions).
    pub(crate) async fn write(&self, _scope: Scope) -> Result<Tx<Sqlite>> {
        Ok(self.write.begin_with(BEGIN_DURABLE).await?)
    }

    /// A unit on the writer without an fsync per commit: for job bookkeeping, which is
    /// at-least-once by design (a lost claim or completion just runs an idempotent job
    /// again). WAL keeps commits in order, so the next durable commit makes these durable
    /// too.
    pub(crate) async fn relaxed(&self, _scope: Scope) -> Result<Tx<Sqlite>> {
        Ok(self.write.begin_with(BEGIN_RELAXED).await?)
    }

    pub(crate) async fn migrate(&self, migrator: &sqlx::migrate::Migrator) -> Result<()> {
        migrator.run(&self.write).await?;
        Ok(())
    }

    /// How many migrations have been applied (the readiness check).
    pub(crate) async fn applied_migrations(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// After a person's or a workspace's rows are deleted: `secure_delete` zeroed the
    /// freed pages, but the WAL still holds the old ones until it is checkpointed and
    /// truncated. Outside any transaction: a checkpoint cannot run inside one.
    pub(crate) async fn erased(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}
