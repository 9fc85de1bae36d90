use crate::accounts::impl_accounts;
use crate::scope::ScopeKey;
use crate::sql::impl_store;
use crate::unit::PgPools;
use crate::{Backend, Result};
use sqlx::Postgres;

/// PostgreSQL, for teams running several replicas against one database.
pub struct PgStore {
    /// The only way to the database: each unit of work names its scope (`unit`).
    pub(crate) pools: PgPools,
}

impl PgStore {
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = PgPools::MIGRATOR;

    pub(crate) async fn migrate_schema(&self) -> Result<()> {
        self.pools.migrate().await
    }

    pub(crate) async fn scope_key_writable(&self) -> Result<bool> {
        self.pools.scope_key_writable().await
    }

    /// Connects as the runtime role (`url`). `owner_url`, when given, is only used by
    /// [`crate::Store::migrate`].
    pub async fn connect(url: &str, scope_key: ScopeKey, owner_url: Option<&str>) -> Result<Self> {
        Ok(Self {
            pools: PgPools::connect(url, scope_key, owner_url).await?,
        })
    }
}

impl_store!(
    PgStore,
    Postgres,
    Backend::Postgres,
    // SKIP LOCKED: replicas claiming at the same moment take different rows instead of
    // queueing behind each other's locks.
    claim_sql = crate::sql::claim_sql!(" FOR UPDATE SKIP LOCKED")
);

impl_accounts!(PgStore, lock = " FOR UPDATE");
crate::ai::impl_ai!(PgStore, lock = " FOR UPDATE");
crate::sources::impl_sources!(PgStore, lock = " FOR UPDATE");
crate::billing::impl_billing!(PgStore);
crate::changelog::impl_changelog!(PgStore);
crate::analytics::impl_analytics!(PgStore);
