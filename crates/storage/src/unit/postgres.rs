//! PostgreSQL's connections: one pool shared by readers and writers (PostgreSQL has no
//! single-writer constraint), every unit of work proven to row level security first; and
//! the setup the tables' owner does (migrations, grants, the scope key).

use super::{Scope, Tx};
use crate::Result;
use crate::scope::ScopeKey;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres};
use std::time::Duration;

pub(crate) struct PgPools {
    pool: PgPool,
    /// Proves each transaction's scope to the policies (migration 0013).
    scope_key: ScopeKey,
    /// The role that owns the tables: it migrates, grants the runtime role what it may do
    /// and stores the scope key. `None`: the runtime role does all of that itself.
    owner_url: Option<String>,
}

/// Serialises what `migrate` does after the migrator (grants, the key) across processes:
/// concurrent GRANTs on one table can fail with "tuple concurrently updated".
const SETUP_LOCK: i64 = 0x636f_7661_6c79_6e63; // "covalync"

/// How long a caller waits for a pooled connection before the database counts as
/// unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

impl PgPools {
    pub(crate) const MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

    /// Connects as the runtime role (`url`). `owner_url`, when given, is only used by
    /// [`crate::Store::migrate`].
    pub(crate) async fn connect(
        url: &str,
        scope_key: ScopeKey,
        owner_url: Option<&str>,
    ) -> Result<Self> {
        let mut probe = probe(url).await?;
        let bypass: Option<bool> = sqlx::query_scalar(
            "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
        )
        .fetch_optional(&mut probe)
        .await?;
        if bypass == Some(true) {
            tracing::warn!(
                "connected to PostgreSQL as a superuser or a role with BYPASSRLS: row level \
                 security (one workspace can never read another's rows, even through a bug) \
                 does not apply; run Covalynce as an ordinary role that owns nothing, with \
                 the tables' owner in --database-owner-url"
            );
        }
        let _ = probe.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A request waits at most this for a connection (a ping included): with the
            // database unreachable, callers get a 503 within 2 s instead of hanging 30 s.
            // The pool reconnects by itself once it answers again.
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await?;
        Ok(Self {
            pool,
            scope_key,
            owner_url: owner_url
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
        })
    }

    /// A unit of work that may touch `scope`'s rows only: the scope and its proof
    /// (migration 0013) are set first, local to the transaction, so a pooled connection
    /// never carries one workspace's scope into another's query. The token is a bind
    /// parameter, so BEGIN and this are two round trips: inlined in BEGIN's text, it would
    /// show in pg_stat_activity to every session of the role.
    pub(crate) async fn write(&self, scope: Scope) -> Result<Tx<Postgres>> {
        let mut tx = self.pool.begin().await?;
        let setting = scope.setting();
        let token = self.scope_key.token(&setting);
        sqlx::query(crate::scope::PROOF_SQL)
            .bind(&setting)
            .bind(&token[..])
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// The same as [`Self::write`]: one pool serves both.
    pub(crate) async fn read(&self, scope: Scope) -> Result<Tx<Postgres>> {
        self.write(scope).await
    }

    /// The same as [`Self::write`]: relaxing `synchronous_commit` on a pooled session
    /// would leak into whatever borrows the connection next.
    pub(crate) async fn relaxed(&self, scope: Scope) -> Result<Tx<Postgres>> {
        self.write(scope).await
    }

    /// How many migrations have been applied (the readiness check).
    pub(crate) async fn applied_migrations(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Dead rows of a deleted person or workspace are removed by (auto)vacuum.
    pub(crate) async fn erased(&self) -> Result<()> {
        Ok(())
    }

    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    /// Migrations, grants and the scope key; then proof that this server's scope key is
    /// the database's.
    pub(crate) async fn migrate(&self) -> Result<()> {
        let runtime: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&self.pool)
            .await?;
        match &self.owner_url {
            Some(owner_url) => {
                // A pool of one: the migrator takes a pool (or a connection, but that
                // trips async_trait's lifetimes).
                let _ = probe(owner_url).await?.close().await;
                let owner = PgPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(owner_url)
                    .await?;
                let result = async {
                    Self::MIGRATOR.run(&owner).await?;
                    let mut conn = owner.acquire().await?;
                    setup_as_owner(&mut conn, &runtime, &self.scope_key).await
                }
                .await;
                owner.close().await;
                result?;
            }
            None => {
                if self.pending_migrations().await? {
                    Self::MIGRATOR.run(&self.pool).await.map_err(|e| {
                        let text = e.to_string();
                        if text.contains("permission denied") || text.contains("must be owner") {
                            crate::StoreError::Unavailable(format!(
                                "migrations are pending and the role {runtime:?} may not apply \
                                 them ({text}): give the URL of the role that owns the tables \
                                 with --database-owner-url or COVALYNCE_DATABASE_OWNER_URL"
                            ))
                        } else {
                            e.into()
                        }
                    })?;
                }
                // One role that owns everything (as before there were two): it keeps the
                // key itself. A runtime role that owns nothing leaves the key to the owner.
                if self.scope_key_writable().await? {
                    let mut conn = self.pool.acquire().await?;
                    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                    sqlx::query("SELECT pg_advisory_xact_lock($1)")
                        .bind(SETUP_LOCK)
                        .execute(&mut *tx)
                        .await?;
                    store_key(&mut tx, &self.scope_key).await?;
                    tx.commit().await?;
                }
            }
        }
        self.check_scope().await?;
        let owns: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'cards' \
             AND relnamespace = to_regnamespace(current_schema()) \
             AND pg_has_role(current_user, relowner, 'USAGE'))",
        )
        .fetch_one(&self.pool)
        .await?;
        if owns {
            tracing::warn!(
                "the runtime role {runtime:?} owns the tables: row level security still \
                 confines every query to its workspace, but the database cannot stop an \
                 injected statement from lifting it (ALTER TABLE … NO FORCE ROW LEVEL \
                 SECURITY, or reading the scope key); run as a role that owns nothing and \
                 give the owner's URL in --database-owner-url / COVALYNCE_DATABASE_OWNER_URL"
            );
        }
        Ok(())
    }

    /// Whether a migration this binary knows is not applied yet (checked first, so a
    /// runtime role that may not migrate starts when there is nothing to do).
    async fn pending_migrations(&self) -> Result<bool> {
        let table: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await?;
        if table.is_none() {
            return Ok(true);
        }
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?;
        Ok(Self::MIGRATOR
            .iter()
            .any(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version)))
    }

    /// Whether this store may write the database's scope key: it was given the owner's
    /// URL, or its own role may update the key table (one role owns everything).
    pub(crate) async fn scope_key_writable(&self) -> Result<bool> {
        if self.owner_url.is_some() {
            return Ok(true);
        }
        Ok(sqlx::query_scalar(
            "SELECT to_regclass('covalynce_scope_key') IS NULL \
             OR has_table_privilege('covalynce_scope_key', 'UPDATE')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// The self-check: a system-scoped transaction must see the system scope.
    async fn check_scope(&self) -> Result<()> {
        let mut tx = self.write(Scope::System).await?;
        let scope: Option<String> = sqlx::query_scalar("SELECT covalynce_scope()")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        if scope.as_deref() != Some("*") {
            return Err(crate::StoreError::Unavailable(
                "the database's scope key does not match this server's secret key: run \
                 `covalynce migrate` with the owner URL (--database-owner-url or \
                 COVALYNCE_DATABASE_OWNER_URL) and this server's secret key"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// One plain connection: the pool retries a refused connection until its acquire timeout,
/// but a wrong URL should be reported now, not in 30 seconds.
async fn probe(url: &str) -> Result<PgConnection> {
    Ok(
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(url))
            .await
            .map_err(|_| {
                crate::StoreError::Unavailable("PostgreSQL did not answer within 10 s".into())
            })??,
    )
}

/// As the owner, after the migrator: the runtime role gets to read and write rows (never
/// the key table, never DDL), and the key is stored. One transaction, under a lock.
async fn setup_as_owner(owner: &mut PgConnection, runtime: &str, key: &ScopeKey) -> Result<()> {
    let mut tx = sqlx::Connection::begin(&mut *owner).await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SETUP_LOCK)
        .execute(&mut *tx)
        .await?;
    let me: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(&mut *tx)
        .await?;
    if me != runtime {
        // The statements are made by format('%I'), which quotes every identifier.
        let grants: Vec<String> = sqlx::query_scalar(
            "SELECT CASE c.relname
                        WHEN 'covalynce_scope_key' THEN format('REVOKE ALL ON %I.%I FROM %I', n.nspname, c.relname, $1)
                        WHEN '_sqlx_migrations' THEN format('GRANT SELECT ON %I.%I TO %I', n.nspname, c.relname, $1)
                        ELSE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO %I', n.nspname, c.relname, $1)
                    END
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
               AND pg_has_role(current_user, c.relowner, 'USAGE')
             UNION ALL
             SELECT format('GRANT USAGE ON SEQUENCE %I.%I TO %I', n.nspname, c.relname, $1)
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = current_schema() AND c.relkind = 'S'
               AND pg_has_role(current_user, c.relowner, 'USAGE')",
        )
        .bind(runtime)
        .fetch_all(&mut *tx)
        .await?;
        for grant in grants {
            sqlx::query(sqlx::AssertSqlSafe(grant))
                .execute(&mut *tx)
                .await?;
        }
    }
    store_key(&mut tx, key).await?;
    tx.commit().await?;
    Ok(())
}

async fn store_key(tx: &mut PgConnection, key: &ScopeKey) -> Result<()> {
    sqlx::query(
        "INSERT INTO covalynce_scope_key (id, key) VALUES (true, $1)
         ON CONFLICT (id) DO UPDATE SET key = EXCLUDED.key",
    )
    .bind(&key.as_bytes()[..])
    .execute(tx)
    .await?;
    Ok(())
}
