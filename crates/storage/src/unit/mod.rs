//! The one way a statement reaches the database: a unit of work (a transaction) that has
//! named whose rows it may touch.
//!
//! The connection pools are private to this module's backends ([`SqlitePools`],
//! [`PgPools`]), so a store method cannot run a query without first choosing a
//! [`Scope`]: the tenant scope is applied by construction, not by a rule in a document.
//! On PostgreSQL the scope is proven to row level security (`scope.rs`, migrations 0006
//! and 0013) before the transaction is handed out; SQLite has no such layer, so there the
//! scope is the application's own `workspace_id = $1` in each query.
//!
//! A unit owns its connection ([`Tx`] is `'static`): committing or rolling back gives the
//! connection back to its pool, so a method that must write again afterwards (SQLite has
//! one writer) simply opens another unit.

mod postgres;
mod sqlite;

pub(crate) use postgres::PgPools;
pub(crate) use sqlite::SqlitePools;

use covalynce_domain::WorkspaceId;

/// A scoped transaction. Dropped without `commit`, it rolls back.
pub(crate) type Tx<DB> = sqlx::Transaction<'static, DB>;

/// Whose rows a unit of work may see and change.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// Work on behalf of one workspace: its rows only.
    Workspace(WorkspaceId),
    /// The few paths that must look across workspaces before they know one: the job
    /// queue, token and session lookups, webhook receipt, sign-up, key rotation.
    System,
}

impl Scope {
    /// The value of `covalynce.scope` the policies compare `workspace_id` with.
    pub(crate) fn setting(self) -> String {
        match self {
            Scope::Workspace(id) => id.to_string(),
            Scope::System => "*".to_owned(),
        }
    }
}
