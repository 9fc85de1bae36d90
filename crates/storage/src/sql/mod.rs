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
    time_zone: String,
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
            time_zone: covalynce_domain::schedule::Zone::parse(&r.time_zone)
                .map_err(|e| StoreError::Corrupt(format!("workspace time zone: {e}")))?,
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
                .map_err(|e| unreadable("source settings", &e))?,
            sealed_token: r.token,
            hook_id: r.hook_id,
            poll_state: r
                .poll_state
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| unreadable("source poll state", &e))?,
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
    secret_rotated_by: Option<String>,
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
            // A gate no version wrote is reported, never read as "not held".
            gate: r
                .gate
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| unreadable("card gate", &e))?,
            secret_rotated_by: r.secret_rotated_by,
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
    slots: String,
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
            slots: covalynce_domain::schedule::Slots::parse(&r.slots)
                .map_err(|e| StoreError::Corrupt(format!("channel posting times: {e}")))?,
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
    due_at: Option<i64>,
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
            due_at: r.due_at,
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

/// The sources of a list across workspaces (what the watcher and the poller walk): one
/// whose stored record no version wrote is left out and reported, so one bad row cannot
/// stop every other workspace's sources. (Read alone, that source is still an error.)
pub(crate) fn readable_sources(rows: Vec<SourceRow>) -> Vec<Source> {
    rows.into_iter()
        .filter_map(|row| {
            let id = row.id.clone();
            Source::try_from(row)
                .inspect_err(|e| tracing::warn!(source = %id, error = %e, "a source that does not read is skipped"))
                .ok()
        })
        .collect()
}

/// Lock order for a batch: deliveries sorted by (source, guid) so two replicas committing
/// overlapping batches take row locks in the same order and cannot deadlock each other.
pub(crate) fn lock_order(batch: &[PreparedIngest]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..batch.len()).collect();
    let key = |i: usize| (batch[i].item.source_id, &batch[i].item.guid);
    order.sort_by(|&a, &b| key(a).cmp(&key(b)));
    order
}

pub(crate) const WORKSPACE_COLS: &str = "id, slug, plan, card_limit, cards_used, voice, created_at, halted_at, trust_after, trust_channels, trust_streak, ai_privacy, seat_limit, period_end, billing, time_zone";
pub(crate) const SOURCE_COLS: &str = "id, workspace_id, kind, repo, path, secret, cursor, created_at, last_delivery_at, settings, token, hook_id, poll_state, poll_after";
pub(crate) const EVENT_COLS: &str = "id, source_id, delivery_id, kind, dedup_key, repo, title, data, status, status_reason, occurred_at, created_at";
pub(crate) const CARD_COLS: &str = "id, event_id, source_id, category, status, title, content, variants, risk, risk_reasons, publish_at, created_at, updated_at, drafted_by, draft_note, gate, secret_rotated_by";
pub(crate) const CHANNEL_COLS: &str = "id, workspace_id, kind, name, config, credentials, status, created_at, paused_until, cap_day, cap_count, last_error, last_error_at, last_success_at, slots";

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

/// A card's `publish_at` follows its publications: the earliest due time of those left
/// (sent or waiting), or what it was for those made before publications had their own.
pub(crate) const CARD_PUBLISH_AT: &str = "UPDATE cards SET publish_at = COALESCE(
        (SELECT MIN(due_at) FROM publications WHERE card_id = $1), publish_at)
     WHERE id = $1";

/// A publish job for publication `$3` in workspace `$2`, due at `$4`.
pub(crate) const ENQUEUE_PUBLISH: &str =
    "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, created_at, updated_at)
     VALUES ($1, $2, 'publish', $3, $4, $4, $4)";
pub(crate) const PUBLICATION_COLS: &str = "id, workspace_id, card_id, channel_id, status, idempotency_key, url, error, attempts, published_at, sent_posts, due_at";
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

/// A stored JSON record no version wrote, reported without its values (serde's message
/// quotes them, and a record may hold what must never reach a log).
pub(crate) fn unreadable(what: &str, e: &serde_json::Error) -> StoreError {
    StoreError::Corrupt(format!(
        "{what} does not read ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    ))
}

/// Locks workspace `$ws`'s row for the rest of the unit of work `$tx`, so units that read
/// and then write one of its records queue one behind the other. `$lock`: the backend's
/// row lock (`FOR UPDATE` on PostgreSQL; empty on SQLite, whose one writer serializes
/// write units already).
macro_rules! lock_workspace {
    ($tx:ident, $ws:expr, $lock:literal) => {
        sqlx::query(concat!("SELECT id FROM workspaces WHERE id = $1", $lock))
            .bind($ws.to_string())
            .fetch_optional(&mut *$tx)
            .await?;
    };
}
pub(crate) use lock_workspace;

/// A typed record as the JSON text a column stores.
pub(crate) fn json_text(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("not storable: {e}")))
}

pub(crate) mod cards;
pub(crate) mod channels;
pub(crate) mod events;
pub(crate) mod jobs;
pub(crate) mod publications;
pub(crate) mod workspaces;

/// Expands the shared [`crate::Store`] implementation for one backend: the life cycle here,
/// each aggregate's queries in its own module.
/// `$store` must have `pools` of the backend's type (`unit`: every query runs in a unit
/// of work that named its scope) and a `MIGRATOR`.
macro_rules! impl_store {
    ($store:ty, $db:ty, $backend:expr, claim_sql = $claim_sql:expr) => {
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
                let applied = self.pools.applied_migrations().await?;
                let known = Self::MIGRATOR.iter().count() as i64;
                if applied < known {
                    return Err($crate::StoreError::Unavailable(format!(
                        "{applied} of {known} migrations applied"
                    )));
                }
                Ok(())
            }

            async fn close(&self) {
                self.pools.close().await;
            }
        }

        $crate::sql::workspaces::impl_workspaces!($store, $db);
        $crate::sql::events::impl_events!($store, $db);
        $crate::sql::cards::impl_cards!($store, $db);
        $crate::sql::channels::impl_channels!($store, $db);
        $crate::sql::publications::impl_publications!($store, $db);
        $crate::sql::jobs::impl_jobs!($store, $db, claim_sql = $claim_sql);
    };
}

pub(crate) use impl_store;
