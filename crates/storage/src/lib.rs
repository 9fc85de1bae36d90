//! Storage: one interface ([`Store`]), two implementations — SQLite (the embedded default,
//! one WAL file in the data dir) and PostgreSQL (for several replicas). Each has its own
//! migrations; the SQL they share is written once (see `sql.rs`).
//!
//! Webhook deliveries are written through [`IngestWriter`], which commits concurrent
//! deliveries together so each one is durable before it is answered without paying one
//! fsync per request.

pub mod accounts;
pub mod ai;
pub mod analytics;
pub mod billing;
pub mod changelog;
mod ingest;
mod model;
mod postgres;
mod scope;
pub mod sources;
mod sql;
mod sqlite;
pub mod testing;
mod unit;

use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use accounts::*;
pub use ai::{
    AiCallRecord, AiProviderRecord, AiStore, ChainEdit, ChainEdited, NewAiCall, NewAiProvider,
};
pub use analytics::{AnalyticsStore, DayFacts, FirstPublication};
pub use billing::{BillingApplied, BillingStore, BillingUpdate};
pub use changelog::{
    ChangelogEntry, ChangelogPage, ChangelogSetting, ChangelogStore, NewChangelogEntry,
};
pub use ingest::IngestWriter;
pub use model::*;
pub use postgres::PgStore;
pub use scope::{SCOPE_KEY_CONTEXT, ScopeKey};
pub use sources::{GitSourceInsert, SourceStore};
pub use sql::utc_day;
pub use sql::{
    cards::CardStore, channels::ChannelStore, events::EventStore, jobs::JobStore,
    publications::PublicationStore, workspaces::WorkspaceStore,
};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database could not be reached or could not take the work now (connection
    /// refused or lost, no connection within the pool's short wait, SQLite's file locked
    /// by another process): worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
                sqlx::Error::Database(db) => db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
                _ => false,
            },
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Everything the pipeline persists, one trait per aggregate (each with its queries in
/// `sql/`); this one adds the store's own life cycle. Every read that serves a user takes
/// the caller's workspace, so one workspace can never see another's rows, and every query
/// runs in a unit of work that named its scope (`unit`).
#[async_trait]
pub trait Store:
    Accounts
    + AiStore
    + SourceStore
    + BillingStore
    + ChangelogStore
    + AnalyticsStore
    + WorkspaceStore
    + EventStore
    + CardStore
    + ChannelStore
    + PublicationStore
    + JobStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;
    /// Applies pending migrations. Safe to run from several processes at once.
    ///
    /// On PostgreSQL, with an owner URL ([`Connect::owner_url`]): migrates as the owner,
    /// grants the runtime role row access to every table but the scope key's, and stores
    /// the scope key. Without one: the runtime role migrates only when something is
    /// pending (and says to give the owner URL when it may not), and stores the key when
    /// it may. Then checks that this store's scope key is the database's: a mismatch is an
    /// error, since no transaction would see a row.
    async fn migrate(&self) -> Result<()>;
    /// Whether this store may change the database's scope key (`keys rotate` asks before
    /// it makes a new secret key). Always true on SQLite.
    async fn may_replace_scope_key(&self) -> Result<bool>;
    /// Ok when the database answers and every migration this binary knows is applied.
    async fn ready(&self) -> Result<()>;
    async fn close(&self);
}

/// Where the store is and what it needs to open it: see [`open`].
#[derive(Clone)]
pub struct Connect {
    /// `postgres://…` (or `postgresql://…`) selects PostgreSQL, `sqlite://…` a SQLite file,
    /// and `None` the SQLite file in `data_dir`. On PostgreSQL, the role the server runs
    /// as: it should own nothing (see `owner_url`).
    pub database_url: Option<String>,
    /// PostgreSQL only: the role that owns the tables. [`Store::migrate`] migrates as it,
    /// grants the runtime role what it may do, and stores the scope key. Ignored by SQLite.
    pub owner_url: Option<String>,
    pub data_dir: PathBuf,
    /// PostgreSQL only: proves each transaction's scope to row level security (derived
    /// from the server's secret key, [`ScopeKey::derive`]). SQLite (one embedded file, no
    /// roles, no row level security) ignores it.
    pub scope_key: ScopeKey,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("owner_url", &self.owner_url.as_deref().map(redact_url))
            .field("data_dir", &self.data_dir)
            .field("scope_key", &self.scope_key)
            .finish()
    }
}

impl Connect {
    pub fn new(database_url: Option<&str>, data_dir: &Path, scope_key: ScopeKey) -> Self {
        Self {
            database_url: database_url.map(str::to_owned),
            owner_url: None,
            data_dir: data_dir.to_owned(),
            scope_key,
        }
    }

    pub fn owner_url(mut self, owner_url: Option<&str>) -> Self {
        self.owner_url = owner_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        self
    }
}

/// Opens the store [`Connect`] names.
pub async fn open(c: &Connect) -> Result<Arc<dyn Store>> {
    match c
        .database_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            if let Some(owner) = &c.owner_url
                && !(owner.starts_with("postgres://") || owner.starts_with("postgresql://"))
            {
                return Err(StoreError::Unavailable(format!(
                    "the owner URL {:?} is not a postgres://… URL",
                    redact_url(owner)
                )));
            }
            Ok(Arc::new(
                PgStore::connect(url, c.scope_key.clone(), c.owner_url.as_deref()).await?,
            ))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
        }
        Some(other) => Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme in {:?}: use postgres://… or sqlite://…",
            redact_url(other)
        ))),
        None => {
            std::fs::create_dir_all(&c.data_dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create data directory {}: {e}",
                    c.data_dir.display()
                ))
            })?;
            Ok(Arc::new(
                SqliteStore::open(&c.data_dir.join("covalynce.db")).await?,
            ))
        }
    }
}

/// A database URL fit for logs and error messages: any password is replaced.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((auth, host)) = rest.split_once('@')
    {
        let user = auth.split(':').next().unwrap_or_default();
        if auth.contains(':') {
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_in_messages_never_carry_passwords() {
        assert_eq!(
            super::redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            super::redact_url("postgres://app@db/x"),
            "postgres://app@db/x"
        );
    }
}
