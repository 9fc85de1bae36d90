//! Publications: one per approved card and channel, sent exactly once (begin → sent posts → result).

use crate::{Approval, Begin, PublicationChange, PublicationRecord, Result};
use async_trait::async_trait;
use covalynce_domain::{CardId, WorkspaceId};

#[async_trait]
pub trait PublicationStore {
    /// PENDING → APPROVED for a card that is not red, with one queued publication (and its
    /// publish job, due at `publish_at`) per channel. One transaction.
    /// PENDING → APPROVED with one publication per channel, each due at its own time
    /// (`schedule`: channel → Unix ms), and its publish job; the card's `publish_at` is
    /// the earliest. A red card is refused.
    async fn approve_card(
        &self,
        ws: WorkspaceId,
        id: CardId,
        schedule: &[(covalynce_domain::ChannelId, i64)],
    ) -> Result<Approval>;
    /// The workspace's publications waiting for their time (queued, of approved cards),
    /// soonest first.
    async fn queue(&self, ws: WorkspaceId) -> Result<Vec<crate::Queued>>;
    /// The due times of a channel's queued publications at or after `from`: the slots
    /// already given.
    async fn taken_slots(
        &self,
        ws: WorkspaceId,
        channel: covalynce_domain::ChannelId,
        from: i64,
    ) -> Result<Vec<i64>>;
    /// Takes one queued publication off the queue (it and its jobs are deleted): the card
    /// is PENDING again when it was its last, else settles with its other publications.
    /// Conflict when it is no longer queued or a worker is sending it.
    async fn withdraw_publication(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::PublicationId,
    ) -> Result<PublicationChange>;
    /// Moves a queued publication (and its job) to `at`; the card's `publish_at` follows
    /// its earliest. Conflict when it is no longer queued or its job was already taken.
    async fn reschedule_publication(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::PublicationId,
        at: i64,
    ) -> Result<PublicationChange>;
    async fn publication(
        &self,
        id: covalynce_domain::PublicationId,
    ) -> Result<Option<PublicationRecord>>;
    async fn card_publications(&self, card: CardId) -> Result<Vec<PublicationRecord>>;
    /// The publications of several of the workspace's cards in one query (pages that list
    /// cards with where they went).
    async fn publications_of_cards(
        &self,
        ws: WorkspaceId,
        cards: &[CardId],
    ) -> Result<Vec<PublicationRecord>>;
    /// Records a publication's state (`published`, `failed`, `unknown`, or `queued` again
    /// with a note when it will be retried) and settles the card (see `SETTLE_CARD`); a
    /// published one also marks its channel's last success.
    async fn set_publication(
        &self,
        id: covalynce_domain::PublicationId,
        status: covalynce_domain::PublicationStatus,
        url: Option<&str>,
        error: Option<&str>,
    ) -> Result<()>;
    /// Records the posts of a thread its platform took so far, durably, before the next is
    /// sent: a publication cut off mid-thread resumes after them.
    async fn record_sent_posts(
        &self,
        id: covalynce_domain::PublicationId,
        posts: &[covalynce_domain::SentPost],
    ) -> Result<()>;
    /// A publication found still `publishing` (its sender stopped mid-send) is sent again:
    /// that is another attempt, and `note` says what the repeat may have caused. False when
    /// it is no longer `publishing`. Durable before it returns.
    async fn resume_publication(
        &self,
        id: covalynce_domain::PublicationId,
        note: &str,
    ) -> Result<bool>;
    /// queued → publishing, taking a slot of the channel's daily cap (UTC day) in the same
    /// transaction; durable before it returns.
    async fn begin_publication(
        &self,
        id: covalynce_domain::PublicationId,
        daily_cap: Option<i64>,
    ) -> Result<Begin>;
    async fn workspace_publication(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::PublicationId,
    ) -> Result<Option<PublicationRecord>>;
    /// A failed or unknown publication is queued again (same idempotency key) with a new
    /// job; its card is APPROVED again.
    async fn retry_publication(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::PublicationId,
    ) -> Result<PublicationChange>;
    /// An unknown publication is marked published: a person checked that it went out.
    async fn confirm_publication(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::PublicationId,
    ) -> Result<PublicationChange>;
}

/// The queries, once for both backends (`impl_store!`).
macro_rules! impl_publications {
    ($store:ty, $db:ty) => {
        impl $store {
            /// The queued publish jobs of publication `id` (read as jobs, never matched by
            /// payload text), and whether a worker holds one now.
            async fn publish_jobs(
                tx: &mut $crate::unit::Tx<$db>,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<(Vec<String>, bool)> {
                let jobs: Vec<(String, String, String)> = sqlx::query_as(
                    "SELECT id, payload, status FROM jobs
                     WHERE workspace_id = $1 AND kind = 'publish' AND status IN ('queued', 'running')",
                )
                .bind(ws.to_string())
                .fetch_all(&mut **tx)
                .await?;
                let kind = covalynce_domain::JobKind::Publish.as_str();
                let mut queued = Vec::new();
                let mut running = false;
                for (job, payload, status) in jobs {
                    let decoded = serde_json::from_str(&payload)
                        .ok()
                        .and_then(|p| covalynce_domain::Job::decode(kind, &p).ok());
                    if matches!(decoded, Some(covalynce_domain::Job::Publish { publication }) if publication == id) {
                        if status == "running" {
                            running = true;
                        } else {
                            queued.push(job);
                        }
                    }
                }
                Ok((queued, running))
            }

            /// A person acts on a settled publication: `retry` (failed or unknown → queued,
            /// with a new job; the card is APPROVED again) or confirm (unknown → published:
            /// they checked and it is there).
            async fn resolve_publication(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
                retry: bool,
            ) -> $crate::Result<$crate::PublicationChange> {
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let card: Option<String> = if retry {
                    sqlx::query_scalar(
                        "UPDATE publications SET status = 'queued', error = NULL
                         WHERE id = $1 AND workspace_id = $2 AND status IN ('failed', 'unknown')
                           AND EXISTS (SELECT 1 FROM channels WHERE id = publications.channel_id AND status <> 'deleted')
                         RETURNING card_id",
                    )
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                } else {
                    sqlx::query_scalar(
                        "UPDATE publications SET status = 'published', error = NULL, published_at = $3
                         WHERE id = $1 AND workspace_id = $2 AND status = 'unknown' RETURNING card_id",
                    )
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .bind(now)
                    .fetch_optional(&mut *tx)
                    .await?
                };
                let Some(card) = card else {
                    tx.rollback().await?;
                    return Ok(match $crate::PublicationStore::workspace_publication(self, ws, id).await? {
                        Some(p) => $crate::PublicationChange::Conflict(p.status),
                        None => $crate::PublicationChange::NotFound,
                    });
                };
                sqlx::query($crate::sql::SETTLE_CARD)
                    .bind(now)
                    .bind(&card)
                    .execute(&mut *tx)
                    .await?;
                if retry {
                    sqlx::query($crate::sql::ENQUEUE_PUBLISH)
                        .bind(covalynce_domain::JobId::new().to_string())
                        .bind(ws.to_string())
                        .bind(covalynce_domain::Job::Publish { publication: id }.payload())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(match $crate::PublicationStore::workspace_publication(self, ws, id).await? {
                    Some(p) => $crate::PublicationChange::Done(Box::new(p)),
                    None => $crate::PublicationChange::NotFound,
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::PublicationStore for $store {
            async fn approve_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
                schedule: &[(covalynce_domain::ChannelId, i64)],
            ) -> $crate::Result<$crate::Approval> {
                let now = covalynce_domain::now_millis();
                let publish_at = schedule.iter().map(|(_, at)| *at).min().unwrap_or(now);
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let approved: Option<String> = sqlx::query_scalar(
                    "UPDATE cards SET status = 'APPROVED', publish_at = $1, updated_at = $2
                     WHERE id = $3 AND workspace_id = $4 AND status = 'PENDING'
                       AND (risk IS NULL OR risk <> 'red')
                     RETURNING id",
                )
                .bind(publish_at)
                .bind(now)
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if approved.is_none() {
                    tx.rollback().await?;
                    return Ok(match $crate::CardStore::card(self, ws, id).await? {
                        None => $crate::Approval::NotFound,
                        Some(c) if c.status == covalynce_domain::CardStatus::Pending => $crate::Approval::Red,
                        Some(c) => $crate::Approval::Conflict(c.status),
                    });
                }
                for (channel, due_at) in schedule {
                    let known: Option<String> = sqlx::query_scalar(
                        "SELECT id FROM channels WHERE id = $1 AND workspace_id = $2 AND status = 'active'",
                    )
                    .bind(channel.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                    if known.is_none() {
                        tx.rollback().await?;
                        return Ok($crate::Approval::UnknownChannel(*channel));
                    }
                    let publication = covalynce_domain::PublicationId::new();
                    sqlx::query(
                        "INSERT INTO publications (id, workspace_id, card_id, channel_id, idempotency_key, created_at, due_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(publication.to_string())
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(channel.to_string())
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(now)
                    .bind(*due_at)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, created_at, updated_at)
                         VALUES ($1, $2, 'publish', $3, $4, $5, $5)",
                    )
                    .bind(covalynce_domain::JobId::new().to_string())
                    .bind(ws.to_string())
                    .bind(covalynce_domain::Job::Publish { publication }.payload())
                    .bind(*due_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(match $crate::CardStore::card(self, ws, id).await? {
                    Some(c) => $crate::Approval::Approved(Box::new(c)),
                    None => $crate::Approval::NotFound,
                })
            }

            async fn queue(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::Queued>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let cols: Vec<String> = $crate::sql::PUBLICATION_COLS
                    .split(", ")
                    .map(|c| format!("p.{c}"))
                    .collect();
                let sql = format!(
                    "SELECT {}, c.title, COALESCE(p.due_at, c.publish_at, p.created_at) AS due
                     FROM publications p JOIN cards c ON c.id = p.card_id
                     WHERE p.workspace_id = $1 AND p.status = 'queued' AND c.status = 'APPROVED'
                     ORDER BY due, p.id",
                    cols.join(", ")
                );
                use sqlx::Row as _;
                let raw = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(ws.to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut out = Vec::with_capacity(raw.len());
                for r in raw {
                    let row = <$crate::sql::PublicationRow as sqlx::FromRow<_>>::from_row(&r)?;
                    out.push($crate::Queued {
                        publication: row.try_into()?,
                        card_title: r.try_get("title")?,
                        due_at: r.try_get("due")?,
                    });
                }
                Ok(out)
            }

            async fn taken_slots(
                &self,
                ws: covalynce_domain::WorkspaceId,
                channel: covalynce_domain::ChannelId,
                from: i64,
            ) -> $crate::Result<Vec<i64>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let taken: Vec<i64> = sqlx::query_scalar(
                    "SELECT due_at FROM publications
                     WHERE workspace_id = $1 AND channel_id = $2 AND status = 'queued'
                       AND due_at IS NOT NULL AND due_at >= $3",
                )
                .bind(ws.to_string())
                .bind(channel.to_string())
                .bind(from)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(taken)
            }

            async fn withdraw_publication(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<$crate::PublicationChange> {
                let Some(before) = self.workspace_publication(ws, id).await? else {
                    return Ok($crate::PublicationChange::NotFound);
                };
                let now = covalynce_domain::now_millis();
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let (queued, running) = Self::publish_jobs(&mut tx, ws, id).await?;
                let deleted: Option<String> = if running {
                    None
                } else {
                    sqlx::query_scalar(
                        "DELETE FROM publications WHERE id = $1 AND workspace_id = $2 AND status = 'queued'
                         RETURNING card_id",
                    )
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?
                };
                let Some(card) = deleted else {
                    tx.rollback().await?;
                    let status = match self.workspace_publication(ws, id).await? {
                        Some(p) if p.status == covalynce_domain::PublicationStatus::Queued => {
                            covalynce_domain::PublicationStatus::Publishing
                        }
                        Some(p) => p.status,
                        None => return Ok($crate::PublicationChange::NotFound),
                    };
                    return Ok($crate::PublicationChange::Conflict(status));
                };
                for job in queued {
                    let gone = sqlx::query("DELETE FROM jobs WHERE id = $1 AND status = 'queued'")
                        .bind(job)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if gone == 0 {
                        // A worker took it meanwhile: it may be sending the post now.
                        tx.rollback().await?;
                        return Ok($crate::PublicationChange::Conflict(
                            covalynce_domain::PublicationStatus::Publishing,
                        ));
                    }
                }
                let left: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM publications WHERE card_id = $1")
                        .bind(&card)
                        .fetch_one(&mut *tx)
                        .await?;
                if left == 0 {
                    sqlx::query(
                        "UPDATE cards SET status = 'PENDING', publish_at = NULL, updated_at = $1
                         WHERE id = $2 AND status = 'APPROVED'",
                    )
                    .bind(now)
                    .bind(&card)
                    .execute(&mut *tx)
                    .await?;
                } else {
                    sqlx::query($crate::sql::SETTLE_CARD)
                        .bind(now)
                        .bind(&card)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query($crate::sql::CARD_PUBLISH_AT)
                        .bind(&card)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok($crate::PublicationChange::Done(Box::new(before)))
            }

            async fn reschedule_publication(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
                at: i64,
            ) -> $crate::Result<$crate::PublicationChange> {
                let mut tx = self.pools.write($crate::unit::Scope::Workspace(ws)).await?;
                let card: Option<String> = sqlx::query_scalar(
                    "UPDATE publications SET due_at = $1
                     WHERE id = $2 AND workspace_id = $3 AND status = 'queued'
                       AND EXISTS (SELECT 1 FROM cards WHERE id = publications.card_id AND status = 'APPROVED')
                     RETURNING card_id",
                )
                .bind(at)
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                let Some(card) = card else {
                    tx.rollback().await?;
                    return Ok(match self.workspace_publication(ws, id).await? {
                        Some(p) => $crate::PublicationChange::Conflict(p.status),
                        None => $crate::PublicationChange::NotFound,
                    });
                };
                // Its jobs move with it. One a worker holds may be sending it now: the time
                // can no longer change. None at all: it is held (emergency stop, disabled
                // channel), and whatever queues it again reads the new time.
                let (queued, running) = Self::publish_jobs(&mut tx, ws, id).await?;
                if running {
                    tx.rollback().await?;
                    return Ok($crate::PublicationChange::Conflict(
                        covalynce_domain::PublicationStatus::Publishing,
                    ));
                }
                for job in queued {
                    let moved = sqlx::query("UPDATE jobs SET run_at = $1, updated_at = $2 WHERE id = $3 AND status = 'queued'")
                        .bind(at)
                        .bind(covalynce_domain::now_millis())
                        .bind(job)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                    if moved == 0 {
                        // A worker took it meanwhile.
                        tx.rollback().await?;
                        return Ok($crate::PublicationChange::Conflict(
                            covalynce_domain::PublicationStatus::Publishing,
                        ));
                    }
                }
                sqlx::query($crate::sql::CARD_PUBLISH_AT)
                .bind(&card)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(match self.workspace_publication(ws, id).await? {
                    Some(p) => $crate::PublicationChange::Done(Box::new(p)),
                    None => $crate::PublicationChange::NotFound,
                })
            }

            async fn publication(
                &self,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<Option<$crate::PublicationRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::PublicationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM publications WHERE id = $1",
                    $crate::sql::PUBLICATION_COLS
                )))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn card_publications(
                &self,
                card: covalynce_domain::CardId,
            ) -> $crate::Result<Vec<$crate::PublicationRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let rows: Vec<$crate::sql::PublicationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM publications WHERE card_id = $1 ORDER BY id",
                    $crate::sql::PUBLICATION_COLS
                )))
                .bind(card.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn publications_of_cards(
                &self,
                ws: covalynce_domain::WorkspaceId,
                cards: &[covalynce_domain::CardId],
            ) -> $crate::Result<Vec<$crate::PublicationRecord>> {
                let mut out = Vec::new();
                if cards.is_empty() {
                    return Ok(out);
                }
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                // Chunks keep the placeholder count far below either backend's limit.
                for chunk in cards.chunks(500) {
                    let placeholders: Vec<String> =
                        (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                    let sql = format!(
                        "SELECT {} FROM publications WHERE workspace_id = $1 AND card_id IN ({}) ORDER BY card_id, id",
                        $crate::sql::PUBLICATION_COLS,
                        placeholders.join(", ")
                    );
                    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ws.to_string());
                    for card in chunk {
                        query = query.bind(card.to_string());
                    }
                    let rows: Vec<$crate::sql::PublicationRow> = query.fetch_all(&mut *tx).await?;
                    out.extend($crate::sql::collect(rows)?);
                }
                tx.commit().await?;
                Ok(out)
            }

            async fn set_publication(
                &self,
                id: covalynce_domain::PublicationId,
                status: covalynce_domain::PublicationStatus,
                url: Option<&str>,
                error: Option<&str>,
            ) -> $crate::Result<()> {
                let now = covalynce_domain::now_millis();
                // Durable: "publishing" must be on disk before the remote call, and the
                // outcome before the job is done.
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let settled: Option<(String, String)> = sqlx::query_as(
                    "UPDATE publications SET status = $1, url = COALESCE($2, url), error = $3,
                            attempts = attempts + CASE WHEN $1 = 'publishing' THEN 1 ELSE 0 END,
                            published_at = CASE WHEN $1 = 'published' THEN $4 ELSE published_at END
                     WHERE id = $5 RETURNING card_id, channel_id",
                )
                .bind(status.as_str())
                .bind(url)
                .bind(error)
                .bind(now)
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if let Some((card, channel)) = settled {
                    if status == covalynce_domain::PublicationStatus::Published {
                        // The channel's health, in the same commit as the post it is about.
                        sqlx::query("UPDATE channels SET last_success_at = $1 WHERE id = $2")
                            .bind(now)
                            .bind(channel)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query($crate::sql::SETTLE_CARD)
                        .bind(now)
                        .bind(card)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn record_sent_posts(
                &self,
                id: covalynce_domain::PublicationId,
                posts: &[covalynce_domain::SentPost],
            ) -> $crate::Result<()> {
                let json = serde_json::to_string(posts)
                    .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?;
                // Durable: the next post of the thread is sent only once this one is on disk.
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                sqlx::query("UPDATE publications SET sent_posts = $1 WHERE id = $2")
                    .bind(json)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn resume_publication(
                &self,
                id: covalynce_domain::PublicationId,
                note: &str,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let done = sqlx::query(
                    "UPDATE publications SET attempts = attempts + 1, error = $1
                     WHERE id = $2 AND status = 'publishing'",
                )
                .bind(note)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done == 1)
            }

            async fn begin_publication(
                &self,
                id: covalynce_domain::PublicationId,
                daily_cap: Option<i64>,
            ) -> $crate::Result<$crate::Begin> {
                let now = covalynce_domain::now_millis();
                let day = $crate::sql::utc_day(now);
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let started: Option<(String, i64)> = sqlx::query_as(
                    "UPDATE publications SET status = 'publishing', attempts = attempts + 1, error = NULL
                     WHERE id = $1 AND status = 'queued' RETURNING channel_id, attempts",
                )
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                let Some((channel, attempts)) = started else {
                    tx.rollback().await?;
                    return Ok($crate::Begin::NotQueued);
                };
                if attempts > 1 {
                    // A retry: the publication took its slot of the cap the first time.
                    tx.commit().await?;
                    return Ok($crate::Begin::Started);
                }
                // One guarded row update takes a slot of today's cap: atomic on both
                // backends, so concurrent publishers cannot overshoot it.
                let counted: Option<String> = sqlx::query_scalar(
                    "UPDATE channels SET cap_count = CASE WHEN cap_day = $2 THEN cap_count + 1 ELSE 1 END,
                                         cap_day = $2
                     WHERE id = $1 AND ($3 IS NULL OR cap_day IS NULL OR cap_day <> $2 OR cap_count < $3)
                     RETURNING id",
                )
                .bind(channel)
                .bind(day)
                .bind(daily_cap)
                .fetch_optional(&mut *tx)
                .await?;
                if counted.is_none() {
                    tx.rollback().await?;
                    return Ok($crate::Begin::CapReached);
                }
                tx.commit().await?;
                Ok($crate::Begin::Started)
            }

            async fn workspace_publication(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<Option<$crate::PublicationRecord>> {
                Ok(self.publication(id).await?.filter(|p| p.workspace_id == ws))
            }

            async fn retry_publication(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<$crate::PublicationChange> {
                self.resolve_publication(ws, id, true).await
            }

            async fn confirm_publication(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<$crate::PublicationChange> {
                self.resolve_publication(ws, id, false).await
            }
        }
    };
}

pub(crate) use impl_publications;
