//! Workspaces: their settings (voice, trust policy, emergency stop) and API tokens.

use crate::{NewToken, Result, Workspace};
use async_trait::async_trait;
use covalynce_domain::{TokenId, WorkspaceId, WorkspaceSlug};

#[async_trait]
pub trait WorkspaceStore {
    async fn ensure_workspace(&self, slug: &WorkspaceSlug) -> Result<Workspace>;
    async fn workspace(&self, id: WorkspaceId) -> Result<Option<Workspace>>;
    /// Emergency stop on (nothing publishes) or off (what was held is queued again; returns
    /// how many publications resume).
    async fn set_emergency_stop(&self, id: WorkspaceId, on: bool) -> Result<usize>;
    /// The trust policy: `after` = None reviews everything.
    async fn set_trust_policy(
        &self,
        id: WorkspaceId,
        after: Option<i64>,
        channels: &[String],
    ) -> Result<()>;
    /// Counts an approval toward (or, when the card was edited, resets) the trust streak.
    async fn record_approval(&self, id: WorkspaceId, edited: bool) -> Result<()>;
    /// How drafts sound.
    async fn set_workspace_voice(
        &self,
        id: WorkspaceId,
        voice: covalynce_domain::Voice,
    ) -> Result<()>;
    async fn set_time_zone(
        &self,
        id: WorkspaceId,
        zone: &covalynce_domain::schedule::Zone,
    ) -> Result<()>;
    async fn insert_token(&self, token: &NewToken) -> Result<TokenId>;
    /// The workspace of a live (not revoked) token, by the token's hash.
    async fn workspace_for_token(&self, token_hash: &str) -> Result<Option<Workspace>>;
}

/// The queries, once for both backends (`impl_store!`).
macro_rules! impl_workspaces {
    ($store:ty, $db:ty) => {

        #[async_trait::async_trait]
        impl $crate::WorkspaceStore for $store {
            async fn ensure_workspace(
                &self,
                slug: &covalynce_domain::WorkspaceSlug,
            ) -> $crate::Result<$crate::Workspace> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query(
                    "INSERT INTO workspaces (id, slug, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (slug) DO NOTHING",
                )
                .bind(covalynce_domain::WorkspaceId::new().to_string())
                .bind(slug.as_str())
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?;
                let row: $crate::sql::WorkspaceRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM workspaces WHERE slug = $1",
                    $crate::sql::WORKSPACE_COLS
                )))
                .bind(slug.as_str())
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                row.try_into()
            }

            async fn workspace(
                &self,
                id: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Option<$crate::Workspace>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(id)).await?;
                let row: Option<$crate::sql::WorkspaceRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM workspaces WHERE id = $1",
                        $crate::sql::WORKSPACE_COLS
                    )))
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_workspace_voice(
                &self,
                id: covalynce_domain::WorkspaceId,
                voice: covalynce_domain::Voice,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(id)).await?;
                sqlx::query("UPDATE workspaces SET voice = $1 WHERE id = $2")
                    .bind(voice.as_str())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_time_zone(
                &self,
                id: covalynce_domain::WorkspaceId,
                zone: &covalynce_domain::schedule::Zone,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(id)).await?;
                sqlx::query("UPDATE workspaces SET time_zone = $1 WHERE id = $2")
                    .bind(zone.name())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn set_emergency_stop(
                &self,
                id: covalynce_domain::WorkspaceId,
                on: bool,
            ) -> $crate::Result<usize> {
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(id)).await?;
                sqlx::query("UPDATE workspaces SET halted_at = $1 WHERE id = $2")
                    .bind(on.then_some(now))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                let mut resumed = 0;
                if !on {
                    // Publications held while stopped go out now, one job each; those
                    // scheduled for later (or still in their undo window) keep their time.
                    let held: Vec<(String, Option<i64>)> = sqlx::query_as(
                        "SELECT p.id, COALESCE(p.due_at, c.publish_at) FROM publications p JOIN cards c ON c.id = p.card_id
                         WHERE p.workspace_id = $1 AND p.status = 'queued' AND c.status = 'APPROVED'",
                    )
                    .bind(id.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                    for (p, publish_at) in held {
                        sqlx::query($crate::sql::ENQUEUE_PUBLISH)
                        .bind(covalynce_domain::JobId::new().to_string())
                        .bind(id.to_string())
                        .bind($crate::sql::publish_job(&p)?)
                        .bind(publish_at.unwrap_or(now).max(now))
                        .execute(&mut *tx)
                        .await?;
                        resumed += 1;
                    }
                }
                tx.commit().await?;
                Ok(resumed)
            }

            async fn set_trust_policy(
                &self,
                id: covalynce_domain::WorkspaceId,
                after: Option<i64>,
                channels: &[String],
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(id)).await?;
                sqlx::query("UPDATE workspaces SET trust_after = $1, trust_channels = $2 WHERE id = $3")
                    .bind(after)
                    .bind(serde_json::to_string(channels).unwrap_or_else(|_| "[]".into()))
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_approval(
                &self,
                id: covalynce_domain::WorkspaceId,
                edited: bool,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(id)).await?;
                sqlx::query(
                    "UPDATE workspaces SET trust_streak = CASE WHEN $1 THEN 0 ELSE trust_streak + 1 END WHERE id = $2",
                )
                .bind(edited)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn insert_token(
                &self,
                t: &$crate::NewToken,
            ) -> $crate::Result<covalynce_domain::TokenId> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(t.workspace_id)).await?;
                sqlx::query(
                    "INSERT INTO api_tokens (id, workspace_id, name, token_hash, prefix, created_at, role, user_id)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(t.id.to_string())
                .bind(t.workspace_id.to_string())
                .bind(&t.name)
                .bind(&t.token_hash)
                .bind(&t.prefix)
                .bind(covalynce_domain::now_millis())
                .bind(t.role.as_str())
                .bind(t.user_id.map(|u| u.to_string()))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(t.id)
            }

            async fn workspace_for_token(
                &self,
                token_hash: &str,
            ) -> $crate::Result<Option<$crate::Workspace>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::WorkspaceRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    $crate::accounts::workspace_cols!(),
                    " FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL"
                ))
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }
        }
    };
}

pub(crate) use impl_workspaces;
