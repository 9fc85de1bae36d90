//! AI drafting's storage: each workspace's provider chain (keys sealed by the caller), and
//! the ledger of every AI call with its tokens, cost, latency and outcome.

use crate::Result;
use async_trait::async_trait;
use covalynce_domain::{CardId, UnixMillis, WorkspaceId};

#[derive(Debug, Clone, PartialEq)]
pub struct NewAiProvider {
    /// openai, anthropic or gemini.
    pub kind: String,
    pub model: String,
    pub base_url: String,
    pub sealed_key: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AiProviderRecord {
    pub id: String,
    /// 0 is asked first.
    pub position: i64,
    pub kind: String,
    pub model: String,
    pub base_url: String,
    pub sealed_key: Option<Vec<u8>>,
    pub created_at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAiCall {
    pub workspace_id: WorkspaceId,
    pub card_id: Option<CardId>,
    pub provider: String,
    pub model: String,
    /// draft or refine.
    pub purpose: String,
    pub channel: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    /// used, rejected or failed.
    pub outcome: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AiCallRecord {
    pub id: String,
    pub card_id: Option<String>,
    pub provider: String,
    pub model: String,
    pub purpose: String,
    pub channel: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    pub outcome: String,
    pub detail: Option<String>,
    pub created_at: i64,
}

#[async_trait]
pub trait AiStore {
    /// The workspace's providers, in the order they are asked.
    async fn ai_chain(&self, ws: WorkspaceId) -> Result<Vec<AiProviderRecord>>;
    /// Replaces the chain (empty: no AI).
    async fn set_ai_chain(&self, ws: WorkspaceId, chain: &[NewAiProvider]) -> Result<()>;
    /// What may leave the machine for AI drafting (the schema checks it too).
    async fn set_ai_privacy(
        &self,
        ws: WorkspaceId,
        privacy: covalynce_domain::Privacy,
    ) -> Result<()>;
    async fn record_ai_calls(&self, calls: &[NewAiCall]) -> Result<()>;
    /// Calls in `[from, to)`, newest first.
    async fn ai_calls(
        &self,
        ws: WorkspaceId,
        from: UnixMillis,
        to: UnixMillis,
        limit: i64,
    ) -> Result<Vec<AiCallRecord>>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct AiProviderRow {
    id: String,
    position: i64,
    kind: String,
    model: String,
    base_url: String,
    api_key: Option<Vec<u8>>,
    created_at: i64,
}

impl From<AiProviderRow> for AiProviderRecord {
    fn from(r: AiProviderRow) -> Self {
        Self {
            id: r.id,
            position: r.position,
            kind: r.kind,
            model: r.model,
            base_url: r.base_url,
            sealed_key: r.api_key,
            created_at: r.created_at,
        }
    }
}

/// One implementation for both pools, like `impl_store!`.
/// Inserts ledger rows in an open transaction: `create_card` writes the drafting calls in
/// the card's own transaction, so a card is never visible without what it cost. `card`
/// (an `Option<CardId>`) overrides each call's own card id when set.
macro_rules! insert_ai_calls {
    ($tx:ident, $calls:expr, $card:expr, $now:expr) => {
        for c in $calls {
            let card: Option<covalynce_domain::CardId> = $card;
            sqlx::query(
                "INSERT INTO ai_calls (id, workspace_id, card_id, provider, model, purpose, channel,
                                       tokens_in, tokens_out, cost_micros, latency_ms, outcome, detail, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(c.workspace_id.to_string())
            .bind(card.or(c.card_id).map(|c| c.to_string()))
            .bind(&c.provider)
            .bind(&c.model)
            .bind(&c.purpose)
            .bind(c.channel.as_deref())
            .bind(c.tokens_in)
            .bind(c.tokens_out)
            .bind(c.cost_micros)
            .bind(c.latency_ms)
            .bind(&c.outcome)
            .bind(c.detail.as_deref())
            .bind($now)
            .execute(&mut *$tx)
            .await?;
        }
    };
}
pub(crate) use insert_ai_calls;

macro_rules! impl_ai {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::AiStore for $store {
            async fn ai_chain(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::AiProviderRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::ai::AiProviderRow> = sqlx::query_as(
                    "SELECT id, position, kind, model, base_url, api_key, created_at
                     FROM ai_providers WHERE workspace_id = $1 ORDER BY position",
                )
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(rows.into_iter().map(Into::into).collect())
            }

            async fn set_ai_chain(
                &self,
                ws: covalynce_domain::WorkspaceId,
                chain: &[$crate::NewAiProvider],
            ) -> $crate::Result<()> {
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                sqlx::query("DELETE FROM ai_providers WHERE workspace_id = $1")
                    .bind(ws.to_string())
                    .execute(&mut *tx)
                    .await?;
                for (position, p) in chain.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO ai_providers (id, workspace_id, position, kind, model, base_url, api_key, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(uuid::Uuid::now_v7().to_string())
                    .bind(ws.to_string())
                    .bind(position as i64)
                    .bind(&p.kind)
                    .bind(&p.model)
                    .bind(&p.base_url)
                    .bind(p.sealed_key.as_deref())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn set_ai_privacy(
                &self,
                ws: covalynce_domain::WorkspaceId,
                privacy: covalynce_domain::Privacy,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                sqlx::query("UPDATE workspaces SET ai_privacy = $1 WHERE id = $2")
                    .bind(privacy.as_str())
                    .bind(ws.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn record_ai_calls(&self, calls: &[$crate::NewAiCall]) -> $crate::Result<()> {
                let Some(first) = calls.first() else {
                    return Ok(());
                };
                let now = covalynce_domain::now_millis();
                let mut tx = self
                    .pools
                    .relaxed($crate::unit::Scope::Workspace(first.workspace_id))
                    .await?;
                $crate::ai::insert_ai_calls!(tx, calls, None, now);
                tx.commit().await?;
                Ok(())
            }

            async fn ai_calls(
                &self,
                ws: covalynce_domain::WorkspaceId,
                from: covalynce_domain::UnixMillis,
                to: covalynce_domain::UnixMillis,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::AiCallRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::AiCallRecord> = sqlx::query_as(
                    "SELECT id, card_id, provider, model, purpose, channel, tokens_in, tokens_out,
                            cost_micros, latency_ms, outcome, detail, created_at
                     FROM ai_calls
                     WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
                     ORDER BY created_at DESC, id DESC LIMIT $4",
                )
                .bind(ws.to_string())
                .bind(from)
                .bind(to)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(rows)
            }
        }
    };
}
pub(crate) use impl_ai;
