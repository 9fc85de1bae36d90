use crate::accounts::impl_accounts;
use crate::sql::impl_store;
use crate::{Backend, Result};
use sqlx::Sqlite;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// The embedded default: one database file in WAL mode.
///
/// Writes go through a single connection (SQLite has one writer anyway; queueing in the
/// pool is cheaper than spinning on SQLITE_BUSY), reads through a small pool of their own.
/// `synchronous = FULL` makes every commit durable before it returns: a webhook answered
/// 2xx survives a power cut.
pub struct SqliteStore {
    pub(crate) write: SqlitePool,
    pub(crate) read: SqlitePool,
    /// The `synchronous` mode the one writer connection is in, so switching costs a
    /// statement only when the mode actually changes.
    writer_mode: AtomicU8,
}

const MODE_UNKNOWN: u8 = 0;
const MODE_FULL: u8 = 1;
const MODE_NORMAL: u8 = 2;

impl SqliteStore {
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

    pub async fn open(path: &Path) -> Result<Self> {
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
            // One long-lived writer: `writer_mode` describes this connection. (A recycled
            // one would start in FULL, which is always safe, only slower.)
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
        Ok(Self {
            write,
            read,
            writer_mode: AtomicU8::new(MODE_UNKNOWN),
        })
    }

    /// The writer, set to fsync on commit: for what must survive a power cut once it has
    /// been acknowledged (deliveries, user actions).
    pub(crate) async fn durable_conn(&self) -> Result<PoolConnection<Sqlite>> {
        self.writer_in_mode(MODE_FULL, "PRAGMA synchronous = FULL")
            .await
    }

    /// The writer, without an fsync per commit: for job bookkeeping, which is at-least-once
    /// by design (a lost claim or completion just runs an idempotent job again). WAL keeps
    /// commits in order, so the next durable commit makes these durable too.
    pub(crate) async fn relaxed_conn(&self) -> Result<PoolConnection<Sqlite>> {
        self.writer_in_mode(MODE_NORMAL, "PRAGMA synchronous = NORMAL")
            .await
    }

    async fn writer_in_mode(
        &self,
        mode: u8,
        pragma: &'static str,
    ) -> Result<PoolConnection<Sqlite>> {
        // The pool has one connection, so holding it serialises access to `writer_mode`.
        let mut conn = self.write.acquire().await?;
        if self.writer_mode.load(Ordering::Acquire) != mode {
            // Unknown while switching: if this future is dropped mid-way, the next caller
            // sets the mode again instead of trusting a stale value.
            self.writer_mode.store(MODE_UNKNOWN, Ordering::Release);
            sqlx::query(pragma).execute(&mut *conn).await?;
            self.writer_mode.store(mode, Ordering::Release);
        }
        Ok(conn)
    }
}

impl_store!(
    SqliteStore,
    Sqlite,
    Backend::Sqlite,
    // One writer connection makes this UPDATE atomic: no two claims can see the same row.
    claim_sql = crate::sql::claim_sql!(""),
    row_security = false
);

impl SqliteStore {
    /// SQLite ignores the scope key (no roles, no row level security): `scoped` never
    /// asks for it. A random one keeps the shared code's types whole.
    pub(crate) fn scope_key(&self) -> &crate::scope::ScopeKey {
        static UNUSED: std::sync::OnceLock<crate::scope::ScopeKey> = std::sync::OnceLock::new();
        UNUSED.get_or_init(crate::scope::ScopeKey::random)
    }

    pub(crate) async fn migrate_schema(&self) -> Result<()> {
        Self::MIGRATOR.run(&self.write).await?;
        Ok(())
    }

    /// One embedded file, no roles: nothing to write.
    pub(crate) async fn scope_key_writable(&self) -> Result<bool> {
        Ok(true)
    }
}

// A deleted person's or workspace's data leaves no copy in the files: `secure_delete`
// zeroes freed pages, and after such a delete the WAL (which still holds the old pages)
// is checkpointed and truncated.
impl_accounts!(
    SqliteStore,
    lock = "",
    erase = Some("PRAGMA wal_checkpoint(TRUNCATE)")
);

crate::ai::impl_ai!(SqliteStore);
crate::sources::impl_sources!(SqliteStore);
crate::billing::impl_billing!(SqliteStore);
crate::analytics::impl_analytics!(SqliteStore);
