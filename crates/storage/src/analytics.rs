//! What analytics read: one UTC day's facts from the raw tables, and the daily roll-ups
//! kept once a day is settled.

use crate::Result;
use async_trait::async_trait;
use covalynce_domain::{UnixMillis, WorkspaceId};

/// A day's facts, counted where they happened: drafted by the card's creation, approved
/// by when its publications were made (not when a posting slot sends them), dismissed by
/// its last change, edited by a
/// person's revision, publications by when they went out (or failed), AI by the call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayFacts {
    pub drafted: i64,
    pub approved: i64,
    pub dismissed: i64,
    pub edited: i64,
    /// Per channel: (name, kind, published, failed).
    pub channels: Vec<(String, String, i64, i64)>,
    /// Cards first published this day.
    pub first_published: Vec<FirstPublication>,
    pub ai_cost_micros: i64,
    pub ai_calls: i64,
    /// Cards the AI calls were for.
    pub ai_cards: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FirstPublication {
    pub card_id: String,
    pub published_at: UnixMillis,
    /// When the work shipped: the event's own time (commit, release), else when it
    /// arrived, else the card's creation.
    pub shipped_at: UnixMillis,
    /// Revision 1 (the draft) and the last revision (what was approved), as JSON objects
    /// of channel → text.
    pub drafted: String,
    pub approved: String,
}

#[async_trait]
pub trait AnalyticsStore {
    /// The facts of `[from, to)` (one UTC day) from the raw tables.
    async fn day_facts(
        &self,
        ws: WorkspaceId,
        from: UnixMillis,
        to: UnixMillis,
    ) -> Result<DayFacts>;
    /// Stored roll-ups for days `from_day..=to_day` (days since 1970-01-01 UTC).
    async fn rollups(
        &self,
        ws: WorkspaceId,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<(i64, String)>>;
    async fn put_rollup(&self, ws: WorkspaceId, day: i64, data: &str) -> Result<()>;
}

/// One implementation for both pools, like `impl_store!`.
macro_rules! impl_analytics {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::analytics::AnalyticsStore for $store {
            async fn day_facts(
                &self,
                ws: covalynce_domain::WorkspaceId,
                from: covalynce_domain::UnixMillis,
                to: covalynce_domain::UnixMillis,
            ) -> $crate::Result<$crate::analytics::DayFacts> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let w = ws.to_string();
                let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
                let drafted = count(
                    "SELECT COUNT(*) FROM cards WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *tx)
                .await?;
                // Approved that day: when its publications were made (an approval taken
                // back leaves none), not when they are due (a posting slot may be days
                // later).
                let approved = count(
                    // Every status named, so (workspace, status, created_at) serves it.
                    "SELECT COUNT(DISTINCT card_id) FROM publications
                     WHERE workspace_id = $1
                       AND status IN ('queued', 'publishing', 'published', 'failed', 'unknown')
                       AND created_at >= $2 AND created_at < $3",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *tx)
                .await?;
                let dismissed = count(
                    "SELECT COUNT(*) FROM cards WHERE workspace_id = $1 AND status = 'DISMISSED'
                       AND updated_at >= $2 AND updated_at < $3",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *tx)
                .await?;
                let edited = count(
                    // Driven by the revisions' time range, not by every card of the workspace.
                    "SELECT COUNT(DISTINCT r.card_id) FROM card_revisions r
                     WHERE r.author <> 'drafter' AND r.created_at >= $2 AND r.created_at < $3
                       AND EXISTS (SELECT 1 FROM cards c WHERE c.id = r.card_id AND c.workspace_id = $1)",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *tx)
                .await?;
                let channels: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    // Published by when it went out, failed by when it was attempted: two
                    // index ranges.
                    "SELECT ch.name, ch.kind, CAST(SUM(p.published) AS BIGINT), CAST(SUM(p.failed) AS BIGINT)
                     FROM (SELECT channel_id, 1 AS published, 0 AS failed FROM publications
                           WHERE workspace_id = $1 AND status = 'published'
                             AND published_at >= $2 AND published_at < $3
                           UNION ALL
                           SELECT channel_id, 0, 1 FROM publications
                           WHERE workspace_id = $1 AND status = 'failed'
                             AND created_at >= $2 AND created_at < $3) p
                     JOIN channels ch ON ch.id = p.channel_id
                     GROUP BY ch.name, ch.kind ORDER BY ch.name",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *tx)
                .await?;
                let firsts: Vec<(String, i64, i64, Option<String>, Option<String>)> = sqlx::query_as(
                    "SELECT f.card_id, f.first, COALESCE(e.occurred_at, e.created_at, c.created_at),
                            (SELECT r.variants FROM card_revisions r WHERE r.card_id = f.card_id ORDER BY r.revision ASC LIMIT 1),
                            (SELECT r.variants FROM card_revisions r WHERE r.card_id = f.card_id ORDER BY r.revision DESC LIMIT 1)
                     FROM (SELECT d.card_id,
                                  (SELECT MIN(p.published_at) FROM publications p
                                   WHERE p.card_id = d.card_id AND p.status = 'published') AS first
                           FROM (SELECT DISTINCT card_id FROM publications
                                 WHERE workspace_id = $1 AND status = 'published'
                                   AND published_at >= $2 AND published_at < $3) d) f
                     JOIN cards c ON c.id = f.card_id
                     LEFT JOIN events e ON e.id = c.event_id
                     WHERE f.first >= $2 AND f.first < $3
                     ORDER BY f.first",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_all(&mut *tx)
                .await?;
                let (ai_cost_micros, ai_calls, ai_cards): (i64, i64, i64) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(cost_micros), 0) AS BIGINT), COUNT(*), COUNT(DISTINCT card_id)
                     FROM ai_calls WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3",
                )
                .bind(&w)
                .bind(from)
                .bind(to)
                .fetch_one(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::analytics::DayFacts {
                    drafted,
                    approved,
                    dismissed,
                    edited,
                    channels,
                    first_published: firsts
                        .into_iter()
                        .map(|(card_id, published_at, shipped_at, drafted, approved)| {
                            $crate::analytics::FirstPublication {
                                card_id,
                                published_at,
                                shipped_at,
                                drafted: drafted.unwrap_or_else(|| "{}".into()),
                                approved: approved.unwrap_or_else(|| "{}".into()),
                            }
                        })
                        .collect(),
                    ai_cost_micros,
                    ai_calls,
                    ai_cards,
                })
            }

            async fn rollups(
                &self,
                ws: covalynce_domain::WorkspaceId,
                from_day: i64,
                to_day: i64,
            ) -> $crate::Result<Vec<(i64, String)>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT day, data FROM analytics_daily
                     WHERE workspace_id = $1 AND day >= $2 AND day <= $3 ORDER BY day",
                )
                .bind(ws.to_string())
                .bind(from_day)
                .bind(to_day)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(rows)
            }

            async fn put_rollup(
                &self,
                ws: covalynce_domain::WorkspaceId,
                day: i64,
                data: &str,
            ) -> $crate::Result<()> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::Workspace(ws)).await?;
                sqlx::query(
                    "INSERT INTO analytics_daily (workspace_id, day, data, computed_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (workspace_id, day) DO UPDATE SET data = excluded.data, computed_at = excluded.computed_at",
                )
                .bind(ws.to_string())
                .bind(day)
                .bind(data)
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use impl_analytics;
