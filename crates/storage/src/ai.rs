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

/// One change to a workspace's chain, made in one unit of work (the chain read and written
/// together, the workspace's row locked on PostgreSQL), so two owners changing the chain at
/// once cannot lose either change.
#[derive(Debug, Clone)]
pub enum ChainEdit {
    /// Appends a provider, unless the chain already holds `most`.
    Add {
        provider: NewAiProvider,
        most: usize,
    },
    /// Takes out the provider at `index` (0 is asked first).
    Remove { index: usize },
}

/// What a [`ChainEdit`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum ChainEdited {
    /// The chain as it now stands, and the model of a provider taken out.
    Done {
        chain: Vec<NewAiProvider>,
        removed: Option<String>,
    },
    /// The chain holds `most` already: nothing was added.
    Full,
    /// There is no provider at that index: nothing was removed.
    NoSuchProvider,
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
    /// Adds or removes one provider (see [`ChainEdit`]).
    async fn edit_ai_chain(&self, ws: WorkspaceId, edit: ChainEdit) -> Result<ChainEdited>;
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

/// A workspace's providers, in the order they are asked (`$1`: the workspace).
pub(crate) const CHAIN_SQL: &str = "SELECT id, position, kind, model, base_url, api_key, created_at
     FROM ai_providers WHERE workspace_id = $1 ORDER BY position";

/// Replaces a workspace's chain in the open unit of work `$tx`.
macro_rules! write_chain {
    ($tx:ident, $ws:expr, $chain:expr) => {{
        let now = covalynce_domain::now_millis();
        sqlx::query("DELETE FROM ai_providers WHERE workspace_id = $1")
            .bind($ws.to_string())
            .execute(&mut *$tx)
            .await?;
        for (position, p) in $chain.iter().enumerate() {
            sqlx::query(
                "INSERT INTO ai_providers (id, workspace_id, position, kind, model, base_url, api_key, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind($ws.to_string())
            .bind(position as i64)
            .bind(&p.kind)
            .bind(&p.model)
            .bind(&p.base_url)
            .bind(p.sealed_key.as_deref())
            .bind(now)
            .execute(&mut *$tx)
            .await?;
        }
    }};
}
pub(crate) use write_chain;

/// `$lock`: the backend's row lock for a SELECT (`FOR UPDATE` on PostgreSQL).
macro_rules! impl_ai {
    ($store:ty, lock = $lock:literal) => {
        #[async_trait::async_trait]
        impl $crate::AiStore for $store {
            async fn ai_chain(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::AiProviderRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::ai::AiProviderRow> = sqlx::query_as($crate::ai::CHAIN_SQL)
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
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                $crate::ai::write_chain!(tx, ws, chain);
                tx.commit().await?;
                Ok(())
            }

            async fn edit_ai_chain(
                &self,
                ws: covalynce_domain::WorkspaceId,
                edit: $crate::ChainEdit,
            ) -> $crate::Result<$crate::ChainEdited> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                // Concurrent edits of one workspace's chain queue on its row.
                $crate::sql::lock_workspace!(tx, ws, $lock);
                let rows: Vec<$crate::ai::AiProviderRow> = sqlx::query_as($crate::ai::CHAIN_SQL)
                    .bind(ws.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                let mut chain: Vec<$crate::NewAiProvider> = rows
                    .into_iter()
                    .map(|row| {
                        let p = $crate::AiProviderRecord::from(row);
                        $crate::NewAiProvider {
                            kind: p.kind,
                            model: p.model,
                            base_url: p.base_url,
                            sealed_key: p.sealed_key,
                        }
                    })
                    .collect();
                // Nothing changes on the early returns: the unit rolls back when dropped.
                let removed = match edit {
                    $crate::ChainEdit::Add { provider, most } => {
                        if chain.len() >= most {
                            return Ok($crate::ChainEdited::Full);
                        }
                        chain.push(provider);
                        None
                    }
                    $crate::ChainEdit::Remove { index } => {
                        if index >= chain.len() {
                            return Ok($crate::ChainEdited::NoSuchProvider);
                        }
                        Some(chain.remove(index).model)
                    }
                };
                $crate::ai::write_chain!(tx, ws, &chain);
                tx.commit().await?;
                Ok($crate::ChainEdited::Done { chain, removed })
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
