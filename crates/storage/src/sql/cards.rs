//! Cards: drafted, edited, dismissed, restored, taken back; with their revisions.

use crate::{CardChange, CardCreation, CardFilter, CardRecord, CardRevision, NewCard, Result};
use async_trait::async_trait;
use covalynce_domain::{CardId, WorkspaceId};

#[async_trait]
pub trait CardStore {
    /// Stores a drafted card for its event, counting it against the workspace's plan
    /// (`cards_used` < `card_limit`, atomically), and marks the event `drafted` — or
    /// `over_limit` with the reason, when the plan is used up. One transaction. A STRATEGY
    /// card only names the event that prompted it (which has its own card): refused, it
    /// leaves that event as it is.
    async fn create_card(&self, card: &NewCard) -> Result<CardCreation>;
    async fn list_cards(&self, ws: WorkspaceId, filter: &CardFilter) -> Result<Vec<CardRecord>>;
    async fn card(&self, ws: WorkspaceId, id: CardId) -> Result<Option<CardRecord>>;
    /// Replaces the card's variants (a PENDING card only) and records them as a new
    /// revision by `author`; earlier revisions, the drafted one first, are kept.
    async fn edit_card(
        &self,
        ws: WorkspaceId,
        id: CardId,
        variants: &std::collections::BTreeMap<String, String>,
        risk: covalynce_domain::Risk,
        risk_reasons: &[String],
        author: &str,
    ) -> Result<CardChange>;
    /// Records who confirmed that the secret a PENDING card's commit text leaked was
    /// rotated, with the light judged again without it.
    async fn confirm_rotated(
        &self,
        ws: WorkspaceId,
        id: CardId,
        by: &str,
        risk: covalynce_domain::Risk,
        risk_reasons: &[String],
    ) -> Result<CardChange>;
    /// PENDING → DISMISSED.
    async fn dismiss_card(&self, ws: WorkspaceId, id: CardId) -> Result<CardChange>;
    /// DISMISSED → PENDING: a dismissal taken back.
    async fn restore_card(&self, ws: WorkspaceId, id: CardId) -> Result<CardChange>;
    /// APPROVED → PENDING while none of its publications has started: they and their
    /// jobs are withdrawn.
    async fn unapprove_card(&self, ws: WorkspaceId, id: CardId) -> Result<CardChange>;
    async fn card_revisions(&self, ws: WorkspaceId, id: CardId) -> Result<Vec<CardRevision>>;
}

/// The queries, once for both backends (`impl_store!`).
macro_rules! impl_cards {
    ($store:ty, $db:ty) => {
        impl $store {
            /// `from` → `to` for one card, or why not.
            async fn move_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
                from: &'static str,
                to: &'static str,
            ) -> $crate::Result<$crate::CardChange> {
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let updated: Option<String> = sqlx::query_scalar(
                    "UPDATE cards SET status = $1, updated_at = $2
                     WHERE id = $3 AND workspace_id = $4 AND status = $5 RETURNING id",
                )
                .bind(to)
                .bind(now)
                .bind(id.to_string())
                .bind(ws.to_string())
                .bind(from)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                use $crate::CardStore as _;
                Ok(match (updated, self.card(ws, id).await?) {
                    (Some(_), Some(card)) => $crate::CardChange::Done(Box::new(card)),
                    (None, Some(card)) => $crate::CardChange::Conflict(card.status),
                    (_, None) => $crate::CardChange::NotFound,
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::CardStore for $store {
            async fn create_card(
                &self,
                card: &$crate::NewCard,
            ) -> $crate::Result<$crate::CardCreation> {
                let now = covalynce_domain::now_millis();
                let ws = card.workspace_id.to_string();
                // Relaxed like other job output: if a crash loses this commit, it also loses
                // the job's completion (WAL keeps order), so the job drafts again.
                let mut tx = self.pools.relaxed($crate::unit::Scope::Workspace(card.workspace_id)).await?;
                // The quota first: it is the write that takes SQLite's lock, and it is
                // atomic, so two drafters cannot both take the last card. A usage period
                // that has ended starts again (a billing provider's invoice may move the
                // end to the paid period's later).
                sqlx::query(
                    "UPDATE workspaces SET cards_used = 0, period_end = $2
                     WHERE id = $1 AND (period_end IS NULL OR period_end <= $3)",
                )
                .bind(&ws)
                .bind(covalynce_domain::next_month_start(now))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                let counted: Option<i64> = sqlx::query_scalar(
                    "UPDATE workspaces SET cards_used = cards_used + 1
                     WHERE id = $1 AND cards_used < card_limit RETURNING cards_used",
                )
                .bind(&ws)
                .fetch_optional(&mut *tx)
                .await?;
                let existing: Option<String> = sqlx::query_scalar(
                    "SELECT id FROM cards WHERE workspace_id = $1 AND source_id = $2",
                )
                .bind(&ws)
                .bind(&card.source_key)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(id) = existing {
                    tx.rollback().await?;
                    if !card.ai_calls.is_empty() {
                        $crate::AiStore::record_ai_calls(self, &card.ai_calls).await?;
                    }
                    return Ok($crate::CardCreation::Exists($crate::sql::parse_id(
                        &id,
                        covalynce_domain::CardId::parse,
                    )?));
                }
                if counted.is_none() {
                    let (plan, limit, used): (String, i64, i64) = sqlx::query_as(
                        "SELECT plan, card_limit, cards_used FROM workspaces WHERE id = $1",
                    )
                    .bind(&ws)
                    .fetch_one(&mut *tx)
                    .await?;
                    // The event's own card refused: the event says so, in the same
                    // transaction. A STRATEGY suggestion only names the event that
                    // prompted it; that event has its own card and keeps its status.
                    if card.category != covalynce_domain::CardCategory::Strategy {
                        sqlx::query("UPDATE events SET status = 'over_limit', status_reason = $1 WHERE id = $2")
                            .bind(format!(
                                "not drafted: the {plan} plan allows {limit} cards and {used} are used; raise the limit or upgrade, then redraft"
                            ))
                            .bind(card.event_id.to_string())
                            .execute(&mut *tx)
                            .await?;
                    }
                    $crate::ai::insert_ai_calls!(tx, &card.ai_calls, None, now);
                    tx.commit().await?;
                    return Ok($crate::CardCreation::OverLimit { plan, limit, used });
                }
                let id = covalynce_domain::CardId::new();
                let variants = serde_json::to_string(&card.variants)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                let reasons = serde_json::to_string(&card.risk_reasons)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                sqlx::query(
                    "INSERT INTO cards (id, workspace_id, source_id, event_id, category, status, title, content,
                                        variants, risk, risk_reasons, created_at, updated_at, drafted_by, draft_note, gate)
                     VALUES ($1, $2, $3, $4, $5, $14, $6, $7, $8, $9, $10, $11, $11, $12, $13, $15)",
                )
                .bind(id.to_string())
                .bind(&ws)
                .bind(&card.source_key)
                .bind(card.event_id.to_string())
                .bind(card.category.as_str())
                .bind(&card.title)
                .bind(&card.content)
                .bind(&variants)
                .bind(card.risk.as_str())
                .bind(&reasons)
                .bind(now)
                .bind(&card.drafted_by)
                .bind(card.draft_note.as_deref())
                .bind(if card.gate.is_some() { "HELD" } else { "PENDING" })
                .bind(card.gate.as_ref().map($crate::sql::json_text).transpose()?)
                .execute(&mut *tx)
                .await?;
                // Revision 1 is what was drafted; edits add revisions and keep it.
                sqlx::query(
                    "INSERT INTO card_revisions (id, card_id, revision, variants, author, created_at)
                     VALUES ($1, $2, 1, $3, 'drafter', $4)",
                )
                .bind(covalynce_domain::CardId::new().to_string())
                .bind(id.to_string())
                .bind(&variants)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE events SET status = 'drafted', status_reason = NULL WHERE id = $1")
                    .bind(card.event_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                $crate::ai::insert_ai_calls!(tx, &card.ai_calls, Some(id), now);
                tx.commit().await?;
                Ok($crate::CardCreation::Created(id))
            }

            async fn list_cards(
                &self,
                ws: covalynce_domain::WorkspaceId,
                f: &$crate::CardFilter,
            ) -> $crate::Result<Vec<$crate::CardRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM cards
                     WHERE workspace_id = $1 AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR id < $3)
                     ORDER BY id DESC LIMIT $4",
                    $crate::sql::CARD_COLS
                )))
                .bind(ws.to_string())
                .bind(f.status.map(|s| s.as_db()))
                .bind(f.before.map(|b| b.to_string()))
                .bind(f.limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
            ) -> $crate::Result<Option<$crate::CardRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::CardRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM cards WHERE id = $1 AND workspace_id = $2",
                    $crate::sql::CARD_COLS
                )))
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn edit_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
                variants: &std::collections::BTreeMap<String, String>,
                risk: covalynce_domain::Risk,
                risk_reasons: &[String],
                author: &str,
            ) -> $crate::Result<$crate::CardChange> {
                let now = covalynce_domain::now_millis();
                let json = serde_json::to_string(variants)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                let reasons = serde_json::to_string(risk_reasons)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                // The guarded UPDATE first: it takes the write lock and decides the race.
                let updated: Option<String> = sqlx::query_scalar(
                    "UPDATE cards SET variants = $1, risk = $2, risk_reasons = $3, updated_at = $4
                     WHERE id = $5 AND workspace_id = $6 AND status = 'PENDING' RETURNING id",
                )
                .bind(&json)
                .bind(risk.as_str())
                .bind(&reasons)
                .bind(now)
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if updated.is_none() {
                    tx.rollback().await?;
                    return Ok(match self.card(ws, id).await? {
                        Some(card) => $crate::CardChange::Conflict(card.status),
                        None => $crate::CardChange::NotFound,
                    });
                }
                sqlx::query(
                    "INSERT INTO card_revisions (id, card_id, revision, variants, author, created_at)
                     SELECT $1, $2, COALESCE(MAX(revision), 0) + 1, $3, $4, $5
                     FROM card_revisions WHERE card_id = $2",
                )
                .bind(covalynce_domain::CardId::new().to_string())
                .bind(id.to_string())
                .bind(&json)
                .bind(author)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(match self.card(ws, id).await? {
                    Some(card) => $crate::CardChange::Done(Box::new(card)),
                    None => $crate::CardChange::NotFound,
                })
            }

            async fn confirm_rotated(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
                by: &str,
                risk: covalynce_domain::Risk,
                risk_reasons: &[String],
            ) -> $crate::Result<$crate::CardChange> {
                let now = covalynce_domain::now_millis();
                let reasons = serde_json::to_string(risk_reasons)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let updated: Option<String> = sqlx::query_scalar(
                    "UPDATE cards SET secret_rotated_by = $1, risk = $2, risk_reasons = $3, updated_at = $4
                     WHERE id = $5 AND workspace_id = $6 AND status = 'PENDING' RETURNING id",
                )
                .bind(by)
                .bind(risk.as_str())
                .bind(&reasons)
                .bind(now)
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(match (updated, self.card(ws, id).await?) {
                    (Some(_), Some(card)) => $crate::CardChange::Done(Box::new(card)),
                    (None, Some(card)) => $crate::CardChange::Conflict(card.status),
                    (_, None) => $crate::CardChange::NotFound,
                })
            }

            async fn dismiss_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
            ) -> $crate::Result<$crate::CardChange> {
                self.move_card(ws, id, "PENDING", "DISMISSED").await
            }

            async fn restore_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
            ) -> $crate::Result<$crate::CardChange> {
                self.move_card(ws, id, "DISMISSED", "PENDING").await
            }

            async fn unapprove_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
            ) -> $crate::Result<$crate::CardChange> {
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                // Only while nothing has started: a publication being written cannot be
                // called back.
                let back: Option<String> = sqlx::query_scalar(
                    "UPDATE cards SET status = 'PENDING', publish_at = NULL, updated_at = $1
                     WHERE id = $2 AND workspace_id = $3 AND status = 'APPROVED'
                       AND NOT EXISTS (SELECT 1 FROM publications
                                       WHERE card_id = $2 AND status <> 'queued')
                     RETURNING id",
                )
                .bind(now)
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if back.is_some() {
                    let publications: Vec<String> =
                        sqlx::query_scalar("SELECT id FROM publications WHERE card_id = $1")
                            .bind(id.to_string())
                            .fetch_all(&mut *tx)
                            .await?;
                    // The workspace's queued publish jobs, read as jobs: those of this
                    // card's publications go (never matched by payload text, which an
                    // older version may have written differently).
                    let queued: Vec<(String, String)> = sqlx::query_as(
                        "SELECT id, payload FROM jobs
                         WHERE workspace_id = $1 AND kind = 'publish' AND status = 'queued'",
                    )
                    .bind(ws.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                    let publications: std::collections::HashSet<covalynce_domain::PublicationId> =
                        publications
                            .iter()
                            .filter_map(|p| covalynce_domain::PublicationId::parse(p))
                            .collect();
                    let kind = covalynce_domain::JobKind::Publish.as_str();
                    for (job_id, payload) in queued {
                        let job = serde_json::from_str(&payload)
                            .ok()
                            .and_then(|p| covalynce_domain::Job::decode(kind, &p).ok());
                        let ours = matches!(
                            job,
                            Some(covalynce_domain::Job::Publish { publication })
                                if publications.contains(&publication)
                        );
                        if ours {
                            // Still queued: a job a worker claimed meanwhile is left to it
                            // (the card's status check above keeps it from publishing).
                            sqlx::query("DELETE FROM jobs WHERE id = $1 AND status = 'queued'")
                                .bind(job_id)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    sqlx::query("DELETE FROM publications WHERE card_id = $1")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(match (back, self.card(ws, id).await?) {
                    (Some(_), Some(card)) => $crate::CardChange::Done(Box::new(card)),
                    (None, Some(card)) => $crate::CardChange::Conflict(card.status),
                    (_, None) => $crate::CardChange::NotFound,
                })
            }

            async fn card_revisions(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
            ) -> $crate::Result<Vec<$crate::CardRevision>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<(i64, String, String, i64)> = sqlx::query_as(
                    "SELECT r.revision, r.variants, r.author, r.created_at
                     FROM card_revisions r JOIN cards c ON c.id = r.card_id
                     WHERE r.card_id = $1 AND c.workspace_id = $2 ORDER BY r.revision",
                )
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(revision, variants, author, created_at)| {
                        Ok($crate::CardRevision {
                            revision,
                            variants: serde_json::from_str(&variants)
                                .map_err(|e| $crate::StoreError::Corrupt(format!("revision: {e}")))?,
                            author,
                            created_at,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_cards;
