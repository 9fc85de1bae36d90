//! What the zero-input sources keep besides events: a GitHub source's settings, webhook
//! and polling state, a cache of GitHub's immutable answers, and the CI gate's held cards.

use crate::{CardRecord, EventRecord, NewSource, Result, Source};
use async_trait::async_trait;
use covalynce_domain::{CardId, SourceId, UnixMillis, WorkspaceId};

/// What adding a local git source did.
#[derive(Debug)]
pub enum GitSourceInsert {
    Inserted(Source),
    /// The workspace's source at that path, which was there first.
    Exists(Source),
}

#[async_trait]
pub trait SourceStore {
    async fn insert_source(&self, source: &NewSource) -> Result<Source>;
    /// A local git source, unless the workspace has one at the same path already (checked
    /// and inserted in one unit of work, so two members adding a path at once make one).
    async fn insert_git_source(&self, source: &NewSource) -> Result<GitSourceInsert>;
    /// The workspace's source for events posted to the API: its first generic source, or
    /// `source` inserted as that (checked and inserted in one unit of work, so two first
    /// submissions at once make one).
    async fn api_source(&self, source: &NewSource) -> Result<Source>;
    /// A source by id alone: webhook senders authenticate with the source's secret, not a
    /// token, so this is the one lookup that is not scoped to a workspace.
    async fn source(&self, id: SourceId) -> Result<Option<Source>>;
    async fn workspace_source(&self, ws: WorkspaceId, id: SourceId) -> Result<Option<Source>>;
    async fn list_sources(&self, ws: WorkspaceId) -> Result<Vec<Source>>;
    /// Every local git source, in every workspace: what the watcher polls.
    async fn git_sources(&self) -> Result<Vec<Source>>;
    /// Where a watcher or poller left off (opaque to the store).
    async fn set_source_cursor(&self, id: SourceId, cursor: &str) -> Result<()>;
    /// Removes a source (its deliveries and events go with it; cards stay) and returns
    /// what it was, so the caller can remove what the source made elsewhere (a webhook).
    async fn delete_source(&self, ws: WorkspaceId, id: SourceId) -> Result<Option<Source>>;
    /// Replaces a source's settings. False when there is no such source here.
    async fn set_source_settings(
        &self,
        ws: WorkspaceId,
        id: SourceId,
        settings: &covalynce_domain::SourceSettings,
    ) -> Result<bool>;
    /// The webhook Covalynce created on GitHub for the source (None: none, it polls).
    async fn set_source_hook(&self, id: SourceId, hook_id: Option<i64>) -> Result<()>;
    /// GitHub sources with a token whose next poll is due at `now`, in every workspace.
    async fn sources_due_for_poll(&self, now: UnixMillis) -> Result<Vec<Source>>;
    /// Where polling left off, and when it may poll again.
    async fn set_poll_state(
        &self,
        id: SourceId,
        state: &covalynce_domain::PollState,
        poll_after: UnixMillis,
    ) -> Result<()>;
    /// The event stored under a dedup key (`generic:…`, `push:owner/name:SHA`).
    async fn event_by_key(&self, ws: WorkspaceId, key: &str) -> Result<Option<EventRecord>>;
    async fn github_cache_get(&self, ws: WorkspaceId, key: &str) -> Result<Option<Vec<u8>>>;
    async fn github_cache_put(&self, ws: WorkspaceId, key: &str, body: &[u8]) -> Result<()>;
    /// Lets the workspace use local git repositories at or below `path` (canonical; the
    /// operator's `covalynce paths allow`). Allowing twice is one allowance.
    async fn allow_path(&self, ws: WorkspaceId, path: &str) -> Result<()>;
    /// Takes an allowance back; false when there was none.
    async fn revoke_path(&self, ws: WorkspaceId, path: &str) -> Result<bool>;
    /// What the operator allowed the workspace, sorted.
    async fn allowed_paths(&self, ws: WorkspaceId) -> Result<Vec<String>>;
    /// The workspace's HELD cards, oldest first.
    async fn held_cards(&self, ws: WorkspaceId) -> Result<Vec<CardRecord>>;
    /// Records a held card's gate state; `release` moves it to PENDING (the stack).
    /// False when the card is no longer HELD.
    async fn update_gate(
        &self,
        ws: WorkspaceId,
        card: CardId,
        gate: &covalynce_domain::Gate,
        release: bool,
    ) -> Result<bool>;
}

/// Inserts a source in the open unit of work `$tx`; the source as stored.
macro_rules! insert_source_row {
    ($tx:ident, $s:expr) => {{
        let s: &$crate::NewSource = $s;
        let now = covalynce_domain::now_millis();
        sqlx::query(
            "INSERT INTO sources (id, workspace_id, kind, repo, path, secret, created_at, settings, token)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(s.id.to_string())
        .bind(s.workspace_id.to_string())
        .bind(s.kind.as_str())
        .bind(s.repo.as_deref())
        .bind(s.path.as_deref())
        .bind(s.sealed_secret.as_deref())
        .bind(now)
        .bind($crate::sql::json_text(&s.settings)?)
        .bind(s.sealed_token.as_deref())
        .execute(&mut *$tx)
        .await?;
        $crate::Source {
            id: s.id,
            workspace_id: s.workspace_id,
            kind: s.kind,
            repo: s.repo.clone(),
            path: s.path.clone(),
            sealed_secret: s.sealed_secret.clone(),
            cursor: None,
            created_at: now,
            last_delivery_at: None,
            settings: s.settings.clone(),
            sealed_token: s.sealed_token.clone(),
            hook_id: None,
            poll_state: None,
            poll_after: None,
        }
    }};
}
pub(crate) use insert_source_row;

/// One implementation for both pools, like `impl_store!`. `$lock`: the backend's row lock
/// for a SELECT (`FOR UPDATE` on PostgreSQL; SQLite's one writer needs none).
macro_rules! impl_sources {
    ($store:ty, lock = $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::SourceStore for $store {
            async fn insert_source(&self, s: &$crate::NewSource) -> $crate::Result<$crate::Source> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(s.workspace_id)).await?;
                let source = $crate::sources::insert_source_row!(tx, s);
                tx.commit().await?;
                Ok(source)
            }

            async fn insert_git_source(
                &self,
                s: &$crate::NewSource,
            ) -> $crate::Result<$crate::GitSourceInsert> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(s.workspace_id)).await?;
                // Two members adding the same path at once queue on the workspace's row,
                // so the second sees the first's source.
                $crate::sql::lock_workspace!(tx, s.workspace_id, $lock);
                let existing: Option<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sources WHERE workspace_id = $1 AND kind = 'git' AND path = $2",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(s.workspace_id.to_string())
                    .bind(s.path.as_deref())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    tx.commit().await?;
                    return Ok($crate::GitSourceInsert::Exists(row.try_into()?));
                }
                let source = $crate::sources::insert_source_row!(tx, s);
                tx.commit().await?;
                Ok($crate::GitSourceInsert::Inserted(source))
            }

            async fn api_source(&self, s: &$crate::NewSource) -> $crate::Result<$crate::Source> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(s.workspace_id)).await?;
                // Two first submissions at once queue on the workspace's row, so the second
                // finds the first's source.
                $crate::sql::lock_workspace!(tx, s.workspace_id, $lock);
                let existing: Option<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sources WHERE workspace_id = $1 AND kind = 'generic'
                         ORDER BY created_at, id LIMIT 1",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(s.workspace_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                let source = match existing {
                    Some(row) => row.try_into()?,
                    None => $crate::sources::insert_source_row!(tx, s),
                };
                tx.commit().await?;
                Ok(source)
            }

            async fn source(
                &self,
                id: covalynce_domain::SourceId,
            ) -> $crate::Result<Option<$crate::Source>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sources WHERE id = $1",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn workspace_source(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::SourceId,
            ) -> $crate::Result<Option<$crate::Source>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sources WHERE id = $1 AND workspace_id = $2",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn list_sources(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::Source>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sources WHERE workspace_id = $1 ORDER BY id",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(ws.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn git_sources(&self) -> $crate::Result<Vec<$crate::Source>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let rows: Vec<$crate::sql::SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM sources WHERE kind = 'git' ORDER BY id",
                    $crate::sql::SOURCE_COLS
                )))
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::sql::readable_sources(rows))
            }

            async fn set_source_cursor(
                &self,
                id: covalynce_domain::SourceId,
                cursor: &str,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE sources SET cursor = $1 WHERE id = $2")
                    .bind(cursor)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delete_source(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::SourceId,
            ) -> $crate::Result<Option<$crate::Source>> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM sources WHERE id = $1 AND workspace_id = $2 RETURNING {}",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn allow_path(
                &self,
                ws: covalynce_domain::WorkspaceId,
                path: &str,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                sqlx::query(
                    "INSERT INTO allowed_paths (workspace_id, path, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (workspace_id, path) DO NOTHING",
                )
                .bind(ws.to_string())
                .bind(path)
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn revoke_path(
                &self,
                ws: covalynce_domain::WorkspaceId,
                path: &str,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let gone =
                    sqlx::query("DELETE FROM allowed_paths WHERE workspace_id = $1 AND path = $2")
                        .bind(ws.to_string())
                        .bind(path)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                tx.commit().await?;
                Ok(gone > 0)
            }

            async fn allowed_paths(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<String>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let paths: Vec<String> = sqlx::query_scalar(
                    "SELECT path FROM allowed_paths WHERE workspace_id = $1 ORDER BY path",
                )
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(paths)
            }

            async fn set_source_settings(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::SourceId,
                settings: &covalynce_domain::SourceSettings,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let done = sqlx::query(
                    "UPDATE sources SET settings = $1 WHERE id = $2 AND workspace_id = $3",
                )
                .bind($crate::sql::json_text(settings)?)
                .bind(id.to_string())
                .bind(ws.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done == 1)
            }

            async fn set_source_hook(
                &self,
                id: covalynce_domain::SourceId,
                hook_id: Option<i64>,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE sources SET hook_id = $1 WHERE id = $2")
                    .bind(hook_id)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn sources_due_for_poll(
                &self,
                now: covalynce_domain::UnixMillis,
            ) -> $crate::Result<Vec<$crate::Source>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let rows: Vec<$crate::sql::SourceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM sources
                         WHERE kind = 'github' AND token IS NOT NULL
                           AND (poll_after IS NULL OR poll_after <= $1)
                         ORDER BY poll_after, id",
                        $crate::sql::SOURCE_COLS
                    )))
                    .bind(now)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok($crate::sql::readable_sources(rows))
            }

            async fn set_poll_state(
                &self,
                id: covalynce_domain::SourceId,
                state: &covalynce_domain::PollState,
                poll_after: covalynce_domain::UnixMillis,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE sources SET poll_state = $1, poll_after = $2 WHERE id = $3")
                    .bind($crate::sql::json_text(state)?)
                    .bind(poll_after)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn event_by_key(
                &self,
                ws: covalynce_domain::WorkspaceId,
                key: &str,
            ) -> $crate::Result<Option<$crate::EventRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::EventRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM events WHERE workspace_id = $1 AND dedup_key = $2",
                        $crate::sql::EVENT_COLS
                    )))
                    .bind(ws.to_string())
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn github_cache_get(
                &self,
                ws: covalynce_domain::WorkspaceId,
                key: &str,
            ) -> $crate::Result<Option<Vec<u8>>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let body: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT body FROM github_cache WHERE workspace_id = $1 AND key = $2",
                )
                .bind(ws.to_string())
                .bind(key)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(body)
            }

            async fn github_cache_put(
                &self,
                ws: covalynce_domain::WorkspaceId,
                key: &str,
                body: &[u8],
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::Workspace(ws)).await?;
                sqlx::query(
                    "INSERT INTO github_cache (workspace_id, key, body, created_at)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id, key) DO NOTHING",
                )
                .bind(ws.to_string())
                .bind(key)
                .bind(body)
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn held_cards(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::CardRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM cards WHERE workspace_id = $1 AND status = 'HELD' ORDER BY id",
                    $crate::sql::CARD_COLS
                )))
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn update_gate(
                &self,
                ws: covalynce_domain::WorkspaceId,
                card: covalynce_domain::CardId,
                gate: &covalynce_domain::Gate,
                release: bool,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let done = sqlx::query(
                    "UPDATE cards SET gate = $1, updated_at = $2,
                            status = CASE WHEN $3 THEN 'PENDING' ELSE status END
                     WHERE id = $4 AND workspace_id = $5 AND status = 'HELD'",
                )
                .bind($crate::sql::json_text(gate)?)
                .bind(covalynce_domain::now_millis())
                .bind(release)
                .bind(card.to_string())
                .bind(ws.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done == 1)
            }
        }
    };
}

pub(crate) use impl_sources;
