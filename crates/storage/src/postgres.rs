use crate::accounts::impl_accounts;
use crate::sql::impl_store;
use crate::{Backend, Result};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres};
use std::time::Duration;

/// PostgreSQL, for teams running several replicas against one database.
pub struct PgStore {
    pub(crate) write: PgPool,
    /// The same pool as `write`: PostgreSQL has no single-writer constraint.
    pub(crate) read: PgPool,
}

impl PgStore {
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    pub async fn connect(url: &str) -> Result<Self> {
        // One plain connection first: the pool retries a refused connection until its
        // acquire timeout, but a wrong URL should be reported now, not in 30 seconds.
        let mut probe = tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url))
            .await
            .map_err(|_| {
                crate::StoreError::Unavailable("PostgreSQL did not answer within 10 s".into())
            })??;
        let bypass: Option<bool> = sqlx::query_scalar(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_optional(&mut probe)
        .await?;
        if bypass == Some(true) {
            tracing::warn!(
                "connected to PostgreSQL as a superuser or a role with BYPASSRLS: row level \
                 security (one workspace can never read another's rows, even through a bug) \
                 does not apply; run Covalynce as an ordinary role that owns its database"
            );
        }
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        Ok(Self {
            write: pool.clone(),
            read: pool,
        })
    }

    /// PostgreSQL commits durably and groups concurrent commits itself.
    pub(crate) async fn durable_conn(&self) -> Result<PoolConnection<Postgres>> {
        Ok(self.write.acquire().await?)
    }

    /// Same as durable: relaxing `synchronous_commit` on a pooled session would leak into
    /// whatever borrows the connection next.
    pub(crate) async fn relaxed_conn(&self) -> Result<PoolConnection<Postgres>> {
        Ok(self.write.acquire().await?)
    }
}

impl_store!(
    PgStore,
    Postgres,
    Backend::Postgres,
    // SKIP LOCKED: replicas claiming at the same moment take different rows instead of
    // queueing behind each other's locks.
    claim_sql = crate::sql::claim_sql!(" FOR UPDATE SKIP LOCKED"),
    // Local to the transaction: the setting never outlives the unit of work that set it,
    // so a pooled connection cannot carry one workspace's scope into another's query.
    row_security = true
);

// Dead rows of a deleted person or workspace are removed by (auto)vacuum.
impl_accounts!(PgStore, lock = " FOR UPDATE", erase = None);
crate::ai::impl_ai!(PgStore);
crate::sources::impl_sources!(PgStore);
crate::billing::impl_billing!(PgStore);
crate::analytics::impl_analytics!(PgStore);
