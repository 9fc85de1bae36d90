use crate::accounts::impl_accounts;
use crate::sql::impl_store;
use crate::unit::SqlitePools;
use crate::{Backend, Result};
use sqlx::Sqlite;
use std::path::Path;

/// The embedded default: one database file in WAL mode.
///
/// Writes go through a single connection, reads through a small pool of their own
/// (`unit::SqlitePools`). `synchronous = FULL` makes every durable commit reach the disk
/// before it returns: a webhook answered 2xx survives a power cut.
pub struct SqliteStore {
    /// The only way to the database: each unit of work names its scope (`unit`).
    pub(crate) pools: SqlitePools,
}

impl SqliteStore {
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

    pub async fn open(path: &Path) -> Result<Self> {
        Ok(Self {
            pools: SqlitePools::open(path).await?,
        })
    }

    pub(crate) async fn migrate_schema(&self) -> Result<()> {
        self.pools.migrate(&Self::MIGRATOR).await
    }

    /// One embedded file, no roles: nothing to write.
    pub(crate) async fn scope_key_writable(&self) -> Result<bool> {
        Ok(true)
    }
}

impl_store!(
    SqliteStore,
    Sqlite,
    Backend::Sqlite,
    // One writer connection makes this UPDATE atomic: no two claims can see the same row.
    claim_sql = crate::sql::claim_sql!("")
);

// A deleted person's or workspace's data leaves no copy in the files: `secure_delete`
// zeroes freed pages, and after such a delete the WAL (which still holds the old pages)
// is checkpointed and truncated (`SqlitePools::erased`).
impl_accounts!(SqliteStore, lock = "");

crate::ai::impl_ai!(SqliteStore, lock = "");
crate::sources::impl_sources!(SqliteStore, lock = "");
crate::billing::impl_billing!(SqliteStore);
crate::changelog::impl_changelog!(SqliteStore);
crate::analytics::impl_analytics!(SqliteStore);
