//! The SQL both backends share, written once.
//!
//! SQLite (3.35+) and PostgreSQL agree on `$N` placeholders, `ON CONFLICT … DO NOTHING`
//! and `RETURNING`, and the schema keeps to TEXT, BIGINT and BLOB/BYTEA, so most queries
//! are identical text. `impl_store!` expands the one implementation for each pool type;
//! the only backend-specific statement is the job claim, passed in by each backend.

use crate::model::*;
use crate::{Result, StoreError};
use covalynce_domain::{
    DeliveryId, EventFacts, EventId, EventKind, JobId, SourceId, SourceKind, WorkspaceId,
    WorkspaceSlug,
};

#[derive(sqlx::FromRow)]
pub(crate) struct WorkspaceRow {
    id: String,
    slug: String,
    plan: String,
    card_limit: i64,
    cards_used: i64,
    voice: String,
    created_at: i64,
    halted_at: Option<i64>,
    trust_after: Option<i64>,
    trust_channels: String,
    trust_streak: i64,
    ai_privacy: String,
    seat_limit: i64,
    period_end: Option<i64>,
    billing: Option<String>,
}

impl TryFrom<WorkspaceRow> for Workspace {
    type Error = StoreError;
    fn try_from(r: WorkspaceRow) -> Result<Self> {
        Ok(Workspace {
            id: parse_id(&r.id, WorkspaceId::parse)?,
            slug: WorkspaceSlug::parse(&r.slug).map_err(|e| StoreError::Corrupt(e.0))?,
            // A value no version wrote is corruption to report, not a default to fall back on.
            plan: covalynce_domain::Plan::parse(&r.plan)
                .ok_or_else(|| StoreError::Corrupt(format!("workspace plan {:?}", r.plan)))?,
            card_limit: r.card_limit,
            cards_used: r.cards_used,
            voice: covalynce_domain::Voice::parse(&r.voice)
                .ok_or_else(|| StoreError::Corrupt(format!("workspace voice {:?}", r.voice)))?,
            created_at: r.created_at,
            halted_at: r.halted_at,
            trust_after: r.trust_after,
            trust_channels: serde_json::from_str(&r.trust_channels)
                .map_err(|e| StoreError::Corrupt(format!("trust channels: {e}")))?,
            trust_streak: r.trust_streak,
            ai_privacy: covalynce_domain::Privacy::parse(&r.ai_privacy).ok_or_else(|| {
                StoreError::Corrupt(format!("workspace AI privacy {:?}", r.ai_privacy))
            })?,
            seat_limit: r.seat_limit,
            period_end: r.period_end,
            billing: r
                .billing
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("billing: {e}")))?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct SourceRow {
    id: String,
    workspace_id: String,
    kind: String,
    repo: Option<String>,
    path: Option<String>,
    secret: Option<Vec<u8>>,
    cursor: Option<String>,
    created_at: i64,
    last_delivery_at: Option<i64>,
    settings: String,
    token: Option<Vec<u8>>,
    hook_id: Option<i64>,
    poll_state: Option<String>,
    poll_after: Option<i64>,
}

impl TryFrom<SourceRow> for Source {
    type Error = StoreError;
    fn try_from(r: SourceRow) -> Result<Self> {
        Ok(Source {
            id: parse_id(&r.id, SourceId::parse)?,
            workspace_id: parse_id(&r.workspace_id, WorkspaceId::parse)?,
            kind: SourceKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("source kind {:?}", r.kind)))?,
            repo: r.repo,
            path: r.path,
            sealed_secret: r.secret,
            cursor: r.cursor,
            created_at: r.created_at,
            last_delivery_at: r.last_delivery_at,
            settings: serde_json::from_str(&r.settings)
                .map_err(|e| StoreError::Corrupt(format!("source settings: {e}")))?,
            sealed_token: r.token,
            hook_id: r.hook_id,
            poll_state: r
                .poll_state
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("source poll state: {e}")))?,
            poll_after: r.poll_after,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct DeliveryRow {
    id: String,
    source_id: String,
    guid: String,
    event_name: String,
    outcome: String,
    reason: Option<String>,
    size: i64,
    received_at: i64,
}

impl TryFrom<DeliveryRow> for DeliveryRecord {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self> {
        Ok(DeliveryRecord {
            id: parse_id(&r.id, DeliveryId::parse)?,
            source_id: parse_id(&r.source_id, SourceId::parse)?,
            guid: r.guid,
            event_name: r.event_name,
            outcome: DeliveryOutcome::parse(&r.outcome)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery outcome {:?}", r.outcome)))?,
            reason: r.reason,
            size: r.size,
            received_at: r.received_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: String,
    source_id: String,
    delivery_id: Option<String>,
    kind: String,
    dedup_key: String,
    repo: String,
    title: String,
    data: String,
    status: String,
    status_reason: Option<String>,
    occurred_at: Option<i64>,
    created_at: i64,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self> {
        let kind = EventKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("event kind {:?}", r.kind)))?;
        Ok(EventRecord {
            id: parse_id(&r.id, EventId::parse)?,
            source_id: parse_id(&r.source_id, SourceId::parse)?,
            delivery_id: r
                .delivery_id
                .as_deref()
                .map(|d| parse_id(d, DeliveryId::parse))
                .transpose()?,
            kind,
            facts: EventFacts::parse(kind, &parse_json(&r.data)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            dedup_key: r.dedup_key,
            repo: r.repo,
            title: r.title,
            status: covalynce_domain::EventStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("event status {:?}", r.status)))?,
            status_reason: r.status_reason,
            occurred_at: r.occurred_at,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CardRow {
    id: String,
    event_id: Option<String>,
    source_id: String,
    category: String,
    status: String,
    title: String,
    content: String,
    variants: String,
    risk: Option<String>,
    risk_reasons: String,
    publish_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    drafted_by: String,
    draft_note: Option<String>,
    gate: Option<String>,
}

impl TryFrom<CardRow> for CardRecord {
    type Error = StoreError;
    fn try_from(r: CardRow) -> Result<Self> {
        Ok(CardRecord {
            id: parse_id(&r.id, covalynce_domain::CardId::parse)?,
            event_id: r
                .event_id
                .as_deref()
                .map(|e| parse_id(e, EventId::parse))
                .transpose()?,
            source_key: r.source_id,
            category: covalynce_domain::CardCategory::parse(&r.category)
                .ok_or_else(|| StoreError::Corrupt(format!("card category {:?}", r.category)))?,
            status: covalynce_domain::CardStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("card status {:?}", r.status)))?,
            title: r.title,
            content: r.content,
            variants: serde_json::from_str(&r.variants)
                .map_err(|e| StoreError::Corrupt(format!("card variants: {e}")))?,
            risk: r.risk.as_deref().and_then(covalynce_domain::Risk::parse),
            risk_reasons: serde_json::from_str(&r.risk_reasons)
                .map_err(|e| StoreError::Corrupt(format!("card risk reasons: {e}")))?,
            publish_at: r.publish_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            drafted_by: r.drafted_by,
            draft_note: r.draft_note,
            gate: r.gate.as_deref().and_then(|g| serde_json::from_str(g).ok()),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChannelRow {
    id: String,
    workspace_id: String,
    kind: String,
    name: String,
    config: String,
    credentials: Option<Vec<u8>>,
    status: String,
    created_at: i64,
    paused_until: Option<i64>,
    cap_day: Option<i64>,
    cap_count: i64,
    last_error: Option<String>,
    last_error_at: Option<i64>,
    last_success_at: Option<i64>,
}

impl TryFrom<ChannelRow> for ChannelRecord {
    type Error = StoreError;
    fn try_from(r: ChannelRow) -> Result<Self> {
        let kind = covalynce_domain::ChannelKind::parse(&r.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("channel kind {:?}", r.kind)))?;
        Ok(ChannelRecord {
            id: parse_id(&r.id, covalynce_domain::ChannelId::parse)?,
            workspace_id: parse_id(&r.workspace_id, WorkspaceId::parse)?,
            kind,
            name: r.name,
            config: covalynce_domain::ChannelConfig::parse(kind, &parse_json(&r.config)?)
                .map_err(|e| StoreError::Corrupt(e.0))?,
            sealed_credentials: r.credentials,
            status: covalynce_domain::ChannelStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("channel status {:?}", r.status)))?,
            created_at: r.created_at,
            paused_until: r.paused_until,
            sent_today: match r.cap_day {
                Some(day) if day == utc_day(covalynce_domain::now_millis()) => r.cap_count,
                _ => 0,
            },
            last_error: r.last_error,
            last_error_at: r.last_error_at,
            last_success_at: r.last_success_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PublicationRow {
    id: String,
    workspace_id: String,
    card_id: String,
    channel_id: String,
    status: String,
    idempotency_key: String,
    url: Option<String>,
    error: Option<String>,
    attempts: i64,
    published_at: Option<i64>,
    sent_posts: String,
}

impl TryFrom<PublicationRow> for PublicationRecord {
    type Error = StoreError;
    fn try_from(r: PublicationRow) -> Result<Self> {
        Ok(PublicationRecord {
            id: parse_id(&r.id, covalynce_domain::PublicationId::parse)?,
            workspace_id: parse_id(&r.workspace_id, WorkspaceId::parse)?,
            card_id: parse_id(&r.card_id, covalynce_domain::CardId::parse)?,
            channel_id: parse_id(&r.channel_id, covalynce_domain::ChannelId::parse)?,
            status: covalynce_domain::PublicationStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("publication status {:?}", r.status)))?,
            idempotency_key: r.idempotency_key,
            url: r.url,
            error: r.error,
            attempts: r.attempts,
            published_at: r.published_at,
            sent_posts: serde_json::from_str(&r.sent_posts).map_err(|e| {
                StoreError::Corrupt(format!("publication {}'s sent posts: {e}", r.id))
            })?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ClaimRow {
    id: String,
    workspace_id: Option<String>,
    kind: String,
    payload: String,
    attempts: i64,
    max_attempts: i64,
}

impl TryFrom<ClaimRow> for ClaimedJob {
    type Error = StoreError;
    fn try_from(r: ClaimRow) -> Result<Self> {
        Ok(ClaimedJob {
            id: parse_id(&r.id, JobId::parse)?,
            workspace_id: r
                .workspace_id
                .as_deref()
                .map(|w| parse_id(w, WorkspaceId::parse))
                .transpose()?,
            kind: r.kind,
            payload: parse_json(&r.payload)?,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct JobRow {
    id: String,
    kind: String,
    status: String,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    locked_by: Option<String>,
    last_error: Option<String>,
    payload: String,
    created_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;
    fn try_from(r: JobRow) -> Result<Self> {
        Ok(JobRecord {
            id: parse_id(&r.id, JobId::parse)?,
            kind: r.kind,
            status: JobStatus::parse(&r.status)
                .ok_or_else(|| StoreError::Corrupt(format!("job status {:?}", r.status)))?,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            run_at: r.run_at,
            locked_by: r.locked_by,
            last_error: r.last_error,
            payload: parse_json(&r.payload)?,
            created_at: r.created_at,
            finished_at: r.finished_at,
        })
    }
}

pub(crate) fn decode_body(body: Vec<u8>, encoding: &str) -> Result<Vec<u8>> {
    match encoding {
        "identity" => Ok(body),
        "lz4" => lz4_flex::block::decompress_size_prepended(&body)
            .map_err(|e| StoreError::Corrupt(format!("stored delivery body: {e}"))),
        other => Err(StoreError::Corrupt(format!("body encoding {other:?}"))),
    }
}

pub(crate) fn parse_id<T>(s: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(s).ok_or_else(|| StoreError::Corrupt(format!("id {s:?}")))
}

/// The stored payload of the job that publishes `publication` (an id read from a row).
pub(crate) fn publish_job(publication: &str) -> Result<String> {
    let publication = parse_id(publication, covalynce_domain::PublicationId::parse)?;
    Ok(covalynce_domain::Job::Publish { publication }.payload())
}

fn parse_json(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("stored JSON: {e}")))
}

pub(crate) fn collect<R, T>(rows: Vec<R>) -> Result<Vec<T>>
where
    T: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(T::try_from).collect()
}

/// Lock order for a batch: deliveries sorted by (source, guid) so two replicas committing
/// overlapping batches take row locks in the same order and cannot deadlock each other.
pub(crate) fn lock_order(batch: &[PreparedIngest]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    let key = |i: usize| (batch[i].item.source_id, &batch[i].item.guid);
    order.sort_by(|&a, &b| key(a).cmp(&key(b)));
    order
}

pub(crate) const WORKSPACE_COLS: &str = "id, slug, plan, card_limit, cards_used, voice, created_at, halted_at, trust_after, trust_channels, trust_streak, ai_privacy, seat_limit, period_end, billing";
pub(crate) const SOURCE_COLS: &str = "id, workspace_id, kind, repo, path, secret, cursor, created_at, last_delivery_at, settings, token, hook_id, poll_state, poll_after";
pub(crate) const EVENT_COLS: &str = "id, source_id, delivery_id, kind, dedup_key, repo, title, data, status, status_reason, occurred_at, created_at";
pub(crate) const CARD_COLS: &str = "id, event_id, source_id, category, status, title, content, variants, risk, risk_reasons, publish_at, created_at, updated_at, drafted_by, draft_note, gate";
pub(crate) const CHANNEL_COLS: &str = "id, workspace_id, kind, name, config, credentials, status, created_at, paused_until, cap_day, cap_count, last_error, last_error_at, last_success_at";

/// Days since 1970-01-01 UTC: the daily cap's "today".
pub fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}

/// Settles card `$2` from its publications (at time `$1`): APPROVED while any is still
/// queued, publishing or unknown; then PUBLISHED when all went out, PARTIAL when some did,
/// FAILED when none did. Only cards past approval move.
pub(crate) const SETTLE_CARD: &str = "UPDATE cards SET updated_at = $1, status = CASE
        WHEN EXISTS (SELECT 1 FROM publications WHERE card_id = $2
                     AND status IN ('queued', 'publishing', 'unknown')) THEN 'APPROVED'
        WHEN NOT EXISTS (SELECT 1 FROM publications WHERE card_id = $2 AND status <> 'published') THEN 'PUBLISHED'
        WHEN EXISTS (SELECT 1 FROM publications WHERE card_id = $2 AND status = 'published') THEN 'PARTIAL'
        ELSE 'FAILED' END
     WHERE id = $2 AND status IN ('APPROVED', 'PUBLISHED', 'PARTIAL', 'FAILED')";

/// A publish job for publication `$3` in workspace `$2`, due at `$4`.
pub(crate) const ENQUEUE_PUBLISH: &str =
    "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, created_at, updated_at)
     VALUES ($1, $2, 'publish', $3, $4, $4, $4)";
pub(crate) const PUBLICATION_COLS: &str = "id, workspace_id, card_id, channel_id, status, idempotency_key, url, error, attempts, published_at, sent_posts";
pub(crate) const JOB_COLS: &str = "id, kind, status, attempts, max_attempts, run_at, locked_by, last_error, payload, created_at, finished_at";

/// The job claim: due queued jobs, and running ones whose lease expired, oldest first.
/// `$lock` is the backend's row-locking clause for the inner SELECT.
macro_rules! claim_sql {
    ($lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1,
                    locked_by = $1, locked_until = $2, updated_at = $3
             WHERE id IN (
                 SELECT id FROM jobs
                 WHERE status IN ('queued', 'running')
                   AND ((status = 'queued' AND run_at <= $3)
                     OR (status = 'running' AND locked_until < $3))
                 ORDER BY run_at, id
                 LIMIT $4",
            $lock,
            ")
             RETURNING id, workspace_id, kind, payload, attempts, max_attempts"
        )
    };
}
pub(crate) use claim_sql;

/// Whose rows a unit of work may see and change. On PostgreSQL, row level security
/// (migrations 0006 and 0013) enforces it below the application's own
/// `workspace_id = $1`, believing a scope only with its proof (`scope.rs`); SQLite has no
/// such layer and ignores it.
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

/// Expands the shared [`crate::Store`] implementation for one backend.
/// `$store` must have `read` and `write` pools of the backend's type and a `MIGRATOR`.
/// `$row_security`: the backend enforces row level security, so each transaction begins
/// by naming its scope (`covalynce.scope`, local to the transaction).
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr, claim_sql = $claim_sql:expr, row_security = $row_security:expr) => {
        impl $store {
            /// Begins a transaction that may touch `scope`'s rows only. Every query runs in
            /// one: a query outside any scope sees no tenant row on PostgreSQL.
            pub(crate) async fn scoped<'c>(
                &self,
                conn: &'c mut sqlx::pool::PoolConnection<$db>,
                scope: $crate::sql::Scope,
            ) -> $crate::Result<sqlx::Transaction<'c, $db>> {
                let mut tx = sqlx::Connection::begin(&mut **conn).await?;
                if !$row_security {
                    return Ok(tx);
                }
                // The scope and its proof (migration 0013): the policies believe a scope
                // only with a proof made with the scope key, which the application's role
                // cannot read in the database. The token is a bind parameter, so BEGIN
                // and this are two round trips: inlined in BEGIN's text, it would show in
                // pg_stat_activity to every session of the role.
                let setting = scope.setting();
                let token = self.scope_key().token(&setting);
                sqlx::query($crate::scope::PROOF_SQL)
                    .bind(&setting)
                    .bind(&token[..])
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }

            /// `from` → `to` for one card, or why not.
            async fn move_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
                from: &'static str,
                to: &'static str,
            ) -> $crate::Result<$crate::CardChange> {
                let now = covalynce_domain::now_millis();
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                drop(conn);
                use $crate::Store as _;
                Ok(match (updated, self.card(ws, id).await?) {
                    (Some(_), Some(card)) => $crate::CardChange::Done(Box::new(card)),
                    (None, Some(card)) => $crate::CardChange::Conflict(card.status),
                    (_, None) => $crate::CardChange::NotFound,
                })
            }
        }

        #[async_trait::async_trait]
        impl $crate::Store for $store {
            fn backend(&self) -> $crate::Backend {
                $backend
            }

            async fn migrate(&self) -> $crate::Result<()> {
                self.migrate_schema().await
            }

            async fn may_replace_scope_key(&self) -> $crate::Result<bool> {
                self.scope_key_writable().await
            }

            async fn ready(&self) -> $crate::Result<()> {
                let applied: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM _sqlx_migrations WHERE success",
                )
                .fetch_one(&self.read)
                .await?;
                let known = Self::MIGRATOR.iter().count() as i64;
                if applied < known {
                    return Err($crate::StoreError::Unavailable(format!(
                        "{applied} of {known} migrations applied"
                    )));
                }
                Ok(())
            }

            async fn close(&self) {
                self.write.close().await;
                self.read.close().await;
            }

            async fn ensure_workspace(
                &self,
                slug: &covalynce_domain::WorkspaceSlug,
            ) -> $crate::Result<$crate::Workspace> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(id)).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(id)).await?;
                sqlx::query("UPDATE workspaces SET voice = $1 WHERE id = $2")
                    .bind(voice.as_str())
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(id)).await?;
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
                        "SELECT p.id, c.publish_at FROM publications p JOIN cards c ON c.id = p.card_id
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(id)).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(id)).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(t.workspace_id)).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let row: Option<$crate::sql::WorkspaceRow> = sqlx::query_as(
                    "SELECT w.id, w.slug, w.plan, w.card_limit, w.cards_used, w.voice, w.created_at, w.halted_at,
                            w.trust_after, w.trust_channels, w.trust_streak, w.ai_privacy,
                            w.seat_limit, w.period_end, w.billing
                     FROM api_tokens t JOIN workspaces w ON w.id = t.workspace_id
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
                )
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn insert_source(&self, s: &$crate::NewSource) -> $crate::Result<$crate::Source> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(s.workspace_id)).await?;
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
                .bind(s.settings.to_string())
                .bind(s.sealed_token.as_deref())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::Source {
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
                })
            }

            async fn source(
                &self,
                id: covalynce_domain::SourceId,
            ) -> $crate::Result<Option<$crate::Source>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let rows: Vec<$crate::sql::SourceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM sources WHERE kind = 'git' ORDER BY id",
                    $crate::sql::SOURCE_COLS
                )))
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn set_source_cursor(
                &self,
                id: covalynce_domain::SourceId,
                cursor: &str,
            ) -> $crate::Result<()> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                sqlx::query("UPDATE sources SET cursor = $1 WHERE id = $2")
                    .bind(cursor)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn ingest(
                &self,
                prepared: &[$crate::PreparedIngest],
            ) -> $crate::Result<Vec<$crate::IngestOutcome>> {
                use std::collections::HashMap;
                if prepared.is_empty() {
                    return Ok(Vec::new());
                }
                let batch: Vec<&$crate::Ingest> = prepared.iter().map(|p| &p.item).collect();
                // A few multi-row statements per batch, not a few per delivery: each
                // statement is a round trip to the database, and the batch is what waits.
                let order = $crate::sql::lock_order(prepared);
                let delivery_ids: Vec<covalynce_domain::DeliveryId> =
                    batch.iter().map(|_| covalynce_domain::DeliveryId::new()).collect();
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;

                let mut qb = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO deliveries (id, workspace_id, source_id, guid, event_name, outcome, reason, body, body_encoding, size, received_at) ",
                );
                qb.push_values(order.iter(), |mut row, &i| {
                    let d = &batch[i];
                    row.push_bind(delivery_ids[i].to_string())
                        .push_bind(d.workspace_id.to_string())
                        .push_bind(d.source_id.to_string())
                        .push_bind(d.guid.as_str())
                        .push_bind(d.event_name.clone())
                        .push_bind(d.outcome.as_str())
                        .push_bind(d.reason.clone())
                        .push_bind(prepared[i].body.as_slice())
                        .push_bind("lz4")
                        .push_bind(prepared[i].size)
                        .push_bind(d.received_at);
                });
                qb.push(" ON CONFLICT (source_id, guid) DO NOTHING RETURNING id");
                let inserted: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                let inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
                let is_new: Vec<bool> = delivery_ids
                    .iter()
                    .map(|id| inserted.contains(&id.to_string()))
                    .collect();

                // Events of the new deliveries, in lock order.
                struct Pending<'a> {
                    delivery: usize,
                    id: covalynce_domain::EventId,
                    event: &'a covalynce_domain::NewEvent,
                    data: &'a str,
                }
                let mut pending = Vec::new();
                for &i in &order {
                    if !is_new[i] {
                        continue;
                    }
                    for (e, data) in batch[i].events.iter().zip(&prepared[i].event_data) {
                        pending.push(Pending { delivery: i, id: covalynce_domain::EventId::new(), event: e, data });
                    }
                }
                let mut new_events = std::collections::HashSet::new();
                for chunk in pending.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO events (id, workspace_id, source_id, delivery_id, kind, dedup_key, repo, title, data, occurred_at, created_at) ",
                    );
                    qb.push_values(chunk.iter(), |mut row, p| {
                        let d = &batch[p.delivery];
                        row.push_bind(p.id.to_string())
                            .push_bind(d.workspace_id.to_string())
                            .push_bind(d.source_id.to_string())
                            .push_bind(delivery_ids[p.delivery].to_string())
                            .push_bind(p.event.kind.as_str())
                            .push_bind(p.event.dedup_key.clone())
                            .push_bind(p.event.repo.clone())
                            .push_bind(p.event.title.clone())
                            .push_bind(p.data)
                            .push_bind(p.event.occurred_at)
                            .push_bind(d.received_at);
                    });
                    qb.push(" ON CONFLICT (workspace_id, dedup_key) DO NOTHING RETURNING id");
                    let ids: Vec<String> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                    new_events.extend(ids);
                }

                // Each new event's next step, in the same transaction: no event without its job.
                let jobs: Vec<(&Pending, covalynce_domain::JobKind)> = pending
                    .iter()
                    .filter(|p| new_events.contains(&p.id.to_string()))
                    .filter_map(|p| p.event.kind.next_job().map(|k| (p, k)))
                    .collect();
                for chunk in jobs.chunks(500) {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, created_at, updated_at) ",
                    );
                    qb.push_values(chunk.iter(), |mut row, (p, kind)| {
                        let d = &batch[p.delivery];
                        row.push_bind(covalynce_domain::JobId::new().to_string())
                            .push_bind(d.workspace_id.to_string())
                            .push_bind(kind.as_str())
                            .push_bind(covalynce_domain::Job::DraftEvent { event: p.id }.payload())
                            .push_bind(d.received_at)
                            .push_bind(d.received_at)
                            .push_bind(d.received_at);
                    });
                    qb.build().execute(&mut *tx).await?;
                }

                // Events that were already stored (by an earlier delivery, or by another
                // delivery in this batch): point at the stored one.
                let mut existing: HashMap<(covalynce_domain::WorkspaceId, &str), covalynce_domain::EventId> = HashMap::new();
                for p in pending.iter().filter(|p| !new_events.contains(&p.id.to_string())) {
                    let ws = batch[p.delivery].workspace_id;
                    if existing.contains_key(&(ws, p.event.dedup_key.as_str())) {
                        continue;
                    }
                    let id: String = sqlx::query_scalar(
                        "SELECT id FROM events WHERE workspace_id = $1 AND dedup_key = $2",
                    )
                    .bind(ws.to_string())
                    .bind(p.event.dedup_key.clone())
                    .fetch_one(&mut *tx)
                    .await?;
                    existing.insert(
                        (ws, p.event.dedup_key.as_str()),
                        $crate::sql::parse_id(&id, covalynce_domain::EventId::parse)?,
                    );
                }

                let mut touched: Vec<(covalynce_domain::SourceId, i64)> = Vec::new();
                for (i, d) in batch.iter().enumerate().filter(|(i, _)| is_new[*i]) {
                    let _ = i;
                    match touched.iter_mut().find(|(s, _)| *s == d.source_id) {
                        Some((_, at)) => *at = (*at).max(d.received_at),
                        None => touched.push((d.source_id, d.received_at)),
                    }
                }
                touched.sort();
                for (source, at) in touched {
                    sqlx::query(
                        "UPDATE sources SET last_delivery_at = $1
                         WHERE id = $2 AND (last_delivery_at IS NULL OR last_delivery_at < $1)",
                    )
                    .bind(at)
                    .bind(source.to_string())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;

                let mut outcomes = vec![$crate::IngestOutcome::Duplicate; batch.len()];
                let mut events_of: Vec<Vec<$crate::StoredEvent>> = vec![Vec::new(); batch.len()];
                for p in &pending {
                    let new = new_events.contains(&p.id.to_string());
                    let id = if new {
                        p.id
                    } else {
                        existing[&(batch[p.delivery].workspace_id, p.event.dedup_key.as_str())]
                    };
                    events_of[p.delivery].push($crate::StoredEvent { id, kind: p.event.kind, new });
                }
                for (i, events) in events_of.into_iter().enumerate() {
                    if is_new[i] {
                        outcomes[i] = $crate::IngestOutcome::Stored { delivery_id: delivery_ids[i], events };
                    }
                }
                Ok(outcomes)
            }

            async fn list_deliveries(
                &self,
                ws: covalynce_domain::WorkspaceId,
                source: Option<covalynce_domain::SourceId>,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::DeliveryRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::DeliveryRow> = sqlx::query_as(
                    "SELECT id, source_id, guid, event_name, outcome, reason,
                            size, received_at
                     FROM deliveries
                     WHERE workspace_id = $1 AND ($2 IS NULL OR source_id = $2)
                     ORDER BY id DESC LIMIT $3",
                )
                .bind(ws.to_string())
                .bind(source.map(|s| s.to_string()))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn delivery_body(
                &self,
                ws: covalynce_domain::WorkspaceId,
                guid: &str,
            ) -> $crate::Result<Option<Vec<u8>>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let row: Option<(Vec<u8>, String)> = sqlx::query_as(
                    "SELECT body, body_encoding FROM deliveries WHERE workspace_id = $1 AND guid = $2",
                )
                .bind(ws.to_string())
                .bind(guid)
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(|(body, encoding)| $crate::sql::decode_body(body, &encoding)).transpose()
            }

            async fn list_events(
                &self,
                ws: covalynce_domain::WorkspaceId,
                f: &$crate::EventFilter,
            ) -> $crate::Result<Vec<$crate::EventRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::EventRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM events
                     WHERE workspace_id = $1
                       AND ($2 IS NULL OR kind = $2)
                       AND ($3 IS NULL OR status = $3)
                       AND ($4 IS NULL OR id < $4)
                     ORDER BY id DESC LIMIT $5",
                    $crate::sql::EVENT_COLS
                )))
                .bind(ws.to_string())
                .bind(f.kind.map(|k| k.as_str()))
                .bind(f.status.map(|s| s.as_str()))
                .bind(f.before.map(|b| b.to_string()))
                .bind(f.limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn event(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::EventId,
            ) -> $crate::Result<Option<$crate::EventRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::EventRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM events WHERE id = $1 AND workspace_id = $2",
                        $crate::sql::EVENT_COLS
                    )))
                    .bind(id.to_string())
                    .bind(ws.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn event_by_id(
                &self,
                id: covalynce_domain::EventId,
            ) -> $crate::Result<Option<$crate::EventRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let row: Option<$crate::sql::EventRow> =
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "SELECT {} FROM events WHERE id = $1",
                        $crate::sql::EVENT_COLS
                    )))
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn set_event_status(
                &self,
                id: covalynce_domain::EventId,
                status: covalynce_domain::EventStatus,
                reason: Option<&str>,
            ) -> $crate::Result<()> {
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                sqlx::query("UPDATE events SET status = $1, status_reason = $2 WHERE id = $3")
                    .bind(status.as_str())
                    .bind(reason)
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_card(
                &self,
                card: &$crate::NewCard,
            ) -> $crate::Result<$crate::CardCreation> {
                let now = covalynce_domain::now_millis();
                let ws = card.workspace_id.to_string();
                // Relaxed like other job output: if a crash loses this commit, it also loses
                // the job's completion (WAL keeps order), so the job drafts again.
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(card.workspace_id)).await?;
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
                    // SQLite has one writer connection: give it back before the ledger
                    // write takes it.
                    drop(conn);
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
                    sqlx::query("UPDATE events SET status = 'over_limit', status_reason = $1 WHERE id = $2")
                        .bind(format!(
                            "not drafted: the {plan} plan allows {limit} cards and {used} are used; raise the limit or upgrade, then redraft"
                        ))
                        .bind(card.event_id.to_string())
                        .execute(&mut *tx)
                        .await?;
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
                .bind(card.gate.as_ref().map(|g| g.to_string()))
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                drop(conn);
                Ok(match self.card(ws, id).await? {
                    Some(card) => $crate::CardChange::Done(Box::new(card)),
                    None => $crate::CardChange::NotFound,
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                drop(conn);
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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

            async fn insert_channel(
                &self,
                c: &$crate::NewChannel,
            ) -> $crate::Result<$crate::ChannelRecord> {
                let now = covalynce_domain::now_millis();
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(c.workspace_id)).await?;
                sqlx::query(
                    "INSERT INTO channels (id, workspace_id, kind, name, config, credentials, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(c.id.to_string())
                .bind(c.workspace_id.to_string())
                .bind(c.config.kind().as_str())
                .bind(&c.name)
                .bind(c.config.to_value().to_string())
                .bind(c.sealed_credentials.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok($crate::ChannelRecord {
                    id: c.id,
                    workspace_id: c.workspace_id,
                    kind: c.config.kind(),
                    name: c.name.clone(),
                    config: c.config.clone(),
                    sealed_credentials: c.sealed_credentials.clone(),
                    status: covalynce_domain::ChannelStatus::Active,
                    created_at: now,
                    paused_until: None,
                    sent_today: 0,
                    last_error: None,
                    last_error_at: None,
                    last_success_at: None,
                })
            }

            async fn list_channels(
                &self,
                ws: covalynce_domain::WorkspaceId,
            ) -> $crate::Result<Vec<$crate::ChannelRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM channels WHERE workspace_id = $1 AND status <> 'deleted' ORDER BY id",
                    $crate::sql::CHANNEL_COLS
                )))
                .bind(ws.to_string())
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn channel(
                &self,
                id: covalynce_domain::ChannelId,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let row: Option<$crate::sql::ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM channels WHERE id = $1",
                    $crate::sql::CHANNEL_COLS
                )))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn approve_card(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::CardId,
                channels: &[covalynce_domain::ChannelId],
                publish_at: i64,
            ) -> $crate::Result<$crate::Approval> {
                let now = covalynce_domain::now_millis();
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                    drop(conn);
                    return Ok(match self.card(ws, id).await? {
                        None => $crate::Approval::NotFound,
                        Some(c) if c.status == covalynce_domain::CardStatus::Pending => $crate::Approval::Red,
                        Some(c) => $crate::Approval::Conflict(c.status),
                    });
                }
                for channel in channels {
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
                        "INSERT INTO publications (id, workspace_id, card_id, channel_id, idempotency_key, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(publication.to_string())
                    .bind(ws.to_string())
                    .bind(id.to_string())
                    .bind(channel.to_string())
                    .bind(uuid::Uuid::new_v4().to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, created_at, updated_at)
                         VALUES ($1, $2, 'publish', $3, $4, $5, $5)",
                    )
                    .bind(covalynce_domain::JobId::new().to_string())
                    .bind(ws.to_string())
                    .bind(covalynce_domain::Job::Publish { publication }.payload())
                    .bind(publish_at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                drop(conn);
                Ok(match self.card(ws, id).await? {
                    Some(c) => $crate::Approval::Approved(Box::new(c)),
                    None => $crate::Approval::NotFound,
                })
            }

            async fn publication(
                &self,
                id: covalynce_domain::PublicationId,
            ) -> $crate::Result<Option<$crate::PublicationRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
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

            async fn set_channel_health(
                &self,
                id: covalynce_domain::ChannelId,
                paused_until: Option<i64>,
                last_error: Option<&str>,
                succeeded: bool,
            ) -> $crate::Result<()> {
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                sqlx::query(
                    "UPDATE channels SET paused_until = $1, last_error = $2,
                            last_error_at = CASE WHEN $2 IS NULL THEN NULL ELSE $3 END,
                            last_success_at = CASE WHEN $5 THEN $3 ELSE last_success_at END
                     WHERE id = $4",
                )
                .bind(paused_until)
                .bind(last_error)
                .bind(covalynce_domain::now_millis())
                .bind(id.to_string())
                .bind(succeeded)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn lease_credential_refresh(
                &self,
                id: covalynce_domain::ChannelId,
                until: i64,
            ) -> $crate::Result<bool> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let taken = sqlx::query(
                    "UPDATE channels SET refresh_lease_until = $1
                     WHERE id = $2 AND (refresh_lease_until IS NULL OR refresh_lease_until <= $3)",
                )
                .bind(until)
                .bind(id.to_string())
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(taken)
            }

            async fn rotate_credentials(
                &self,
                id: covalynce_domain::ChannelId,
                expected: &[u8],
                sealed: &[u8],
                config: &covalynce_domain::ChannelConfig,
            ) -> $crate::Result<bool> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let swapped = sqlx::query(
                    "UPDATE channels SET credentials = $1, config = $2, refresh_lease_until = NULL
                     WHERE id = $3 AND credentials = $4",
                )
                .bind(sealed)
                .bind(config.to_value().to_string())
                .bind(id.to_string())
                .bind(expected)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                tx.commit().await?;
                Ok(swapped)
            }

            async fn release_credential_refresh(
                &self,
                id: covalynce_domain::ChannelId,
            ) -> $crate::Result<()> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                sqlx::query("UPDATE channels SET refresh_lease_until = NULL WHERE id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn stop_outboxes_naming_paths(&self, reason: &str) -> $crate::Result<u64> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                // The settings are JSON text: a stored outbox names either "file" or "path".
                let done = sqlx::query(
                    "UPDATE channels SET status = 'disabled', last_error = $1, last_error_at = $2
                     WHERE kind = 'outbox' AND status = 'active' AND config LIKE '%\"path\":%'",
                )
                .bind(reason)
                .bind(covalynce_domain::now_millis())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                Ok(done)
            }

            async fn set_channel_status(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::ChannelId,
                status: covalynce_domain::ChannelStatus,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                use covalynce_domain::ChannelStatus;
                let now = covalynce_domain::now_millis();
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let changed: Option<String> = sqlx::query_scalar(
                    "UPDATE channels SET status = $1,
                            credentials = CASE WHEN $1 = 'deleted' THEN NULL ELSE credentials END,
                            last_error = CASE WHEN $1 = 'active' THEN NULL ELSE last_error END
                     WHERE id = $2 AND workspace_id = $3 AND status <> 'deleted' RETURNING id",
                )
                .bind(status.as_str())
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                if changed.is_none() {
                    tx.rollback().await?;
                    return Ok(None);
                }
                match status {
                    ChannelStatus::Active => {
                        // Publications held while it was disabled go out now.
                        let held: Vec<String> = sqlx::query_scalar(
                            "SELECT p.id FROM publications p JOIN cards c ON c.id = p.card_id
                             WHERE p.channel_id = $1 AND p.status = 'queued' AND c.status = 'APPROVED'",
                        )
                        .bind(id.to_string())
                        .fetch_all(&mut *tx)
                        .await?;
                        for p in held {
                            sqlx::query($crate::sql::ENQUEUE_PUBLISH)
                                .bind(covalynce_domain::JobId::new().to_string())
                                .bind(ws.to_string())
                                .bind($crate::sql::publish_job(&p)?)
                                .bind(now)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    ChannelStatus::Deleted => {
                        let cards: Vec<String> = sqlx::query_scalar(
                            "UPDATE publications SET status = 'failed',
                                    error = 'the channel was deleted before this went out'
                             WHERE channel_id = $1 AND status = 'queued' RETURNING card_id",
                        )
                        .bind(id.to_string())
                        .fetch_all(&mut *tx)
                        .await?;
                        for card in cards {
                            sqlx::query($crate::sql::SETTLE_CARD)
                                .bind(now)
                                .bind(card)
                                .execute(&mut *tx)
                                .await?;
                        }
                    }
                    ChannelStatus::Disabled => {}
                }
                tx.commit().await?;
                drop(conn);
                self.channel(id).await
            }

            async fn workspace_channel(
                &self,
                ws: covalynce_domain::WorkspaceId,
                id: covalynce_domain::ChannelId,
            ) -> $crate::Result<Option<$crate::ChannelRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let row: Option<$crate::sql::ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM channels WHERE id = $1 AND workspace_id = $2 AND status <> 'deleted'",
                    $crate::sql::CHANNEL_COLS
                )))
                .bind(id.to_string())
                .bind(ws.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
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

            async fn enqueue_job(
                &self,
                job: &$crate::NewJob,
            ) -> $crate::Result<covalynce_domain::JobId> {
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let id = covalynce_domain::JobId::new();
                let now = covalynce_domain::now_millis();
                sqlx::query(
                    "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, max_attempts, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(id.to_string())
                .bind(job.workspace_id.map(|w| w.to_string()))
                .bind(job.job.kind().as_str())
                .bind(job.job.payload())
                .bind(job.run_at)
                .bind(job.max_attempts)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn claim_jobs(
                &self,
                worker: &str,
                limit: i64,
                lease_ms: i64,
            ) -> $crate::Result<Vec<$crate::ClaimedJob>> {
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                let rows: Vec<$crate::sql::ClaimRow> = sqlx::query_as($claim_sql)
                    .bind(worker)
                    .bind(now + lease_ms)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn finish_jobs(
                &self,
                worker: &str,
                results: &[$crate::JobFinish],
            ) -> $crate::Result<Vec<bool>> {
                let now = covalynce_domain::now_millis();
                let mut answers = vec![false; results.len()];
                if results.is_empty() {
                    return Ok(answers);
                }
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let done: Vec<String> = results
                    .iter()
                    .filter(|r| r.outcome == $crate::JobOutcome::Done)
                    .map(|r| r.id.to_string())
                    .collect();
                if !done.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE jobs SET status = 'done', finished_at = ",
                    );
                    qb.push_bind(now)
                        .push(", updated_at = ")
                        .push_bind(now)
                        .push(", locked_until = NULL, last_error = NULL WHERE status = 'running' AND locked_by = ")
                        .push_bind(worker.to_owned())
                        .push(" AND id IN (");
                    let mut ids = qb.separated(", ");
                    for id in &done {
                        ids.push_bind(id.clone());
                    }
                    qb.push(") RETURNING id");
                    let finished: std::collections::HashSet<String> =
                        qb.build_query_scalar().fetch_all(&mut *tx).await?.into_iter().collect();
                    for (answer, r) in answers.iter_mut().zip(results) {
                        if r.outcome == $crate::JobOutcome::Done {
                            *answer = finished.contains(&r.id.to_string());
                        }
                    }
                }
                for (answer, r) in answers.iter_mut().zip(results) {
                    let (status, run_at, finished, error, uncounted) = match &r.outcome {
                        $crate::JobOutcome::Done => continue,
                        $crate::JobOutcome::Defer { note, at } => ("queued", Some(*at), None, note, 1),
                        $crate::JobOutcome::Retry { error, at } => ("queued", Some(*at), None, error, 0),
                        $crate::JobOutcome::Failed { error } => ("failed", None, Some(now), error, 0),
                    };
                    let updated = sqlx::query(
                        "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), finished_at = $3,
                                last_error = $4, updated_at = $5, locked_until = NULL, attempts = attempts - $8
                         WHERE id = $6 AND locked_by = $7 AND status = 'running'",
                    )
                    .bind(status)
                    .bind(run_at)
                    .bind(finished)
                    .bind(error.as_str())
                    .bind(now)
                    .bind(r.id.to_string())
                    .bind(worker)
                    .bind(uncounted as i64)
                    .execute(&mut *tx)
                    .await?;
                    *answer = updated.rows_affected() == 1;
                }
                tx.commit().await?;
                Ok(answers)
            }

            async fn renew_leases(
                &self,
                worker: &str,
                ids: &[covalynce_domain::JobId],
                lease_ms: i64,
            ) -> $crate::Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                for id in ids {
                    sqlx::query(
                        "UPDATE jobs SET locked_until = $1
                         WHERE id = $2 AND locked_by = $3 AND status = 'running'",
                    )
                    .bind(now + lease_ms)
                    .bind(id.to_string())
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn release_job(
                &self,
                id: covalynce_domain::JobId,
                worker: &str,
            ) -> $crate::Result<bool> {
                let mut conn = self.relaxed_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                let done = sqlx::query(
                    "UPDATE jobs SET status = 'queued', run_at = $1, updated_at = $1,
                            attempts = attempts - 1, locked_by = NULL, locked_until = NULL
                     WHERE id = $2 AND locked_by = $3 AND status = 'running'",
                )
                .bind(now)
                .bind(id.to_string())
                .bind(worker)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_jobs(
                &self,
                ws: covalynce_domain::WorkspaceId,
                status: Option<$crate::JobStatus>,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::JobRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM jobs WHERE workspace_id = $1 AND ($2 IS NULL OR status = $2)
                     ORDER BY id DESC LIMIT $3",
                    $crate::sql::JOB_COLS
                )))
                .bind(ws.to_string())
                .bind(status.map(|s| s.as_str()))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn job(
                &self,
                id: covalynce_domain::JobId,
            ) -> $crate::Result<Option<$crate::JobRecord>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let row: Option<$crate::sql::JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!("SELECT {} FROM jobs WHERE id = $1", $crate::sql::JOB_COLS),
                ))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn job_counts(&self) -> $crate::Result<Vec<($crate::JobStatus, i64)>> {
                let mut conn = self.read.acquire().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::System).await?;
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                        .fetch_all(&mut *tx)
                        .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(s, n)| {
                        $crate::JobStatus::parse(&s)
                            .map(|s| (s, n))
                            .ok_or_else(|| $crate::StoreError::Corrupt(format!("job status {s:?}")))
                    })
                    .collect()
            }
        }

        impl $store {
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
                let mut conn = self.durable_conn().await?;
                let mut tx = self.scoped(&mut conn, $crate::sql::Scope::Workspace(ws)).await?;
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
                    drop(conn);
                    return Ok(match $crate::Store::workspace_publication(self, ws, id).await? {
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
                drop(conn);
                Ok(match $crate::Store::workspace_publication(self, ws, id).await? {
                    Some(p) => $crate::PublicationChange::Done(Box::new(p)),
                    None => $crate::PublicationChange::NotFound,
                })
            }
        }
    };
}

pub(crate) use impl_store;
