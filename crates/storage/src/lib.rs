//! Storage: one interface ([`Store`]), two implementations — SQLite (the embedded default,
//! one WAL file in the data dir) and PostgreSQL (for several replicas). Each has its own
//! migrations; the SQL they share is written once (see `sql.rs`).
//!
//! Webhook deliveries are written through [`IngestWriter`], which commits concurrent
//! deliveries together so each one is durable before it is answered without paying one
//! fsync per request.

pub mod accounts;
pub mod ai;
pub mod analytics;
pub mod billing;
mod ingest;
mod model;
mod postgres;
mod scope;
pub mod sources;
mod sql;
mod sqlite;
pub mod testing;

use async_trait::async_trait;
use covalynce_domain::{CardId, EventId, JobId, SourceId, TokenId, WorkspaceId, WorkspaceSlug};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use accounts::*;
pub use ai::{AiCallRecord, AiProviderRecord, AiStore, NewAiCall, NewAiProvider};
pub use analytics::{AnalyticsStore, DayFacts, FirstPublication};
pub use billing::{BillingApplied, BillingStore, BillingUpdate};
pub use ingest::IngestWriter;
pub use model::*;
pub use postgres::PgStore;
pub use scope::{SCOPE_KEY_CONTEXT, ScopeKey};
pub use sources::SourceStore;
pub use sql::utc_day;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database could not be reached or could not take the work now (connection
    /// refused or lost, no connection within the pool's short wait, SQLite's file locked
    /// by another process): worth a 503 and a retry, not a 500.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => match e {
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => true,
                // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with their extended codes.
                sqlx::Error::Database(db) => db
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
                _ => false,
            },
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Everything the pipeline persists. Every read that serves a user takes the caller's
/// workspace, so one workspace can never see another's rows.
#[async_trait]
pub trait Store:
    Accounts + AiStore + SourceStore + BillingStore + AnalyticsStore + Send + Sync + 'static
{
    fn backend(&self) -> Backend;

    /// Applies pending migrations. Safe to run from several processes at once.
    ///
    /// On PostgreSQL, with an owner URL ([`Connect::owner_url`]): migrates as the owner,
    /// grants the runtime role row access to every table but the scope key's, and stores
    /// the scope key. Without one: the runtime role migrates only when something is
    /// pending (and says to give the owner URL when it may not), and stores the key when
    /// it may. Then checks that this store's scope key is the database's: a mismatch is an
    /// error, since no transaction would see a row.
    async fn migrate(&self) -> Result<()>;
    /// Whether this store may change the database's scope key (`keys rotate` asks before
    /// it makes a new secret key). Always true on SQLite.
    async fn may_replace_scope_key(&self) -> Result<bool>;
    /// Ok when the database answers and every migration this binary knows is applied.
    async fn ready(&self) -> Result<()>;
    async fn close(&self);

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

    async fn insert_token(&self, token: &NewToken) -> Result<TokenId>;
    /// The workspace of a live (not revoked) token, by the token's hash.
    async fn workspace_for_token(&self, token_hash: &str) -> Result<Option<Workspace>>;

    async fn insert_source(&self, source: &NewSource) -> Result<Source>;
    /// A source by id alone: webhook senders authenticate with the source's secret, not a
    /// token, so this is the one lookup that is not scoped to a workspace.
    async fn source(&self, id: SourceId) -> Result<Option<Source>>;
    async fn workspace_source(&self, ws: WorkspaceId, id: SourceId) -> Result<Option<Source>>;
    async fn list_sources(&self, ws: WorkspaceId) -> Result<Vec<Source>>;
    /// Every local git source, in every workspace: what the watcher polls.
    async fn git_sources(&self) -> Result<Vec<Source>>;
    /// Where a watcher or poller left off (opaque to the store).
    async fn set_source_cursor(&self, id: SourceId, cursor: &str) -> Result<()>;

    /// Stores deliveries and their events in one transaction, deduplicating by delivery id
    /// and by the events' own keys, and enqueues each new event's next job.
    /// Returns one outcome per input, in input order.
    async fn ingest(&self, batch: &[PreparedIngest]) -> Result<Vec<IngestOutcome>>;

    async fn list_deliveries(
        &self,
        ws: WorkspaceId,
        source: Option<SourceId>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>>;
    async fn delivery_body(&self, ws: WorkspaceId, guid: &str) -> Result<Option<Vec<u8>>>;

    async fn list_events(&self, ws: WorkspaceId, filter: &EventFilter) -> Result<Vec<EventRecord>>;
    async fn event(&self, ws: WorkspaceId, id: EventId) -> Result<Option<EventRecord>>;
    async fn event_by_id(&self, id: EventId) -> Result<Option<EventRecord>>;
    async fn set_event_status(
        &self,
        id: EventId,
        status: covalynce_domain::EventStatus,
        reason: Option<&str>,
    ) -> Result<()>;
    /// Stores a drafted card for its event, counting it against the workspace's plan
    /// (`cards_used` < `card_limit`, atomically), and marks the event `drafted` — or
    /// `over_limit` with the reason, when the plan is used up. One transaction.
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
    /// PENDING → DISMISSED.
    async fn dismiss_card(&self, ws: WorkspaceId, id: CardId) -> Result<CardChange>;
    /// DISMISSED → PENDING: a dismissal taken back.
    async fn restore_card(&self, ws: WorkspaceId, id: CardId) -> Result<CardChange>;
    /// APPROVED → PENDING while none of its publications has started: they and their
    /// jobs are withdrawn.
    async fn unapprove_card(&self, ws: WorkspaceId, id: CardId) -> Result<CardChange>;
    async fn card_revisions(&self, ws: WorkspaceId, id: CardId) -> Result<Vec<CardRevision>>;

    async fn insert_channel(&self, channel: &NewChannel) -> Result<ChannelRecord>;
    /// The workspace's channels, deleted ones left out.
    async fn list_channels(&self, ws: WorkspaceId) -> Result<Vec<ChannelRecord>>;
    /// A channel by id alone, deleted ones included (the publisher's view).
    async fn channel(&self, id: covalynce_domain::ChannelId) -> Result<Option<ChannelRecord>>;
    /// One of the workspace's channels, unless deleted.
    async fn workspace_channel(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::ChannelId,
    ) -> Result<Option<ChannelRecord>>;
    /// Disables every active outbox channel whose settings name a path on the server (made
    /// before outboxes were confined to the data dir), with `reason` as its last error, in
    /// every workspace; returns how many. Run at start, so such a channel stops visibly
    /// instead of waiting for its next publication to fail.
    async fn stop_outboxes_naming_paths(&self, reason: &str) -> Result<u64>;

    /// Enables, disables or deletes a channel and returns it as it now is; None when the
    /// workspace has no such (undeleted) channel. Enabling queues again what waited while it was disabled; deleting erases its
    /// credentials and fails what was still queued for it (history stays).
    async fn set_channel_status(
        &self,
        ws: WorkspaceId,
        id: covalynce_domain::ChannelId,
        status: covalynce_domain::ChannelStatus,
    ) -> Result<Option<ChannelRecord>>;
    /// Records a pause the platform asked for and why the channel stopped working (None:
    /// it works); `succeeded`: it just published or passed a test.
    async fn set_channel_health(
        &self,
        id: covalynce_domain::ChannelId,
        paused_until: Option<i64>,
        last_error: Option<&str>,
        succeeded: bool,
    ) -> Result<()>;
    /// Takes the channel's credential-refresh lease until `until` (Unix ms) unless another
    /// holder's lease is still running. Only the holder trades the refresh token: X's are
    /// single-use, and two refreshes at once (two workers, two replicas) would burn the
    /// whole token family. False: someone else is refreshing.
    async fn lease_credential_refresh(
        &self,
        id: covalynce_domain::ChannelId,
        until: i64,
    ) -> Result<bool>;
    /// Stores rotated credentials (sealed) and the channel's settings, and ends the lease —
    /// only if the stored credentials are still `expected` (compare-and-set: a sealed blob
    /// is never sealed twice the same). False: they changed meanwhile, nothing written.
    async fn rotate_credentials(
        &self,
        id: covalynce_domain::ChannelId,
        expected: &[u8],
        sealed: &[u8],
        config: &covalynce_domain::ChannelConfig,
    ) -> Result<bool>;
    /// Ends the lease without a change (the refresh failed).
    async fn release_credential_refresh(&self, id: covalynce_domain::ChannelId) -> Result<()>;
    /// PENDING → APPROVED for a card that is not red, with one queued publication (and its
    /// publish job, due at `publish_at`) per channel. One transaction.
    async fn approve_card(
        &self,
        ws: WorkspaceId,
        id: CardId,
        channels: &[covalynce_domain::ChannelId],
        publish_at: i64,
    ) -> Result<Approval>;
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

    async fn enqueue_job(&self, job: &NewJob) -> Result<JobId>;
    /// Takes up to `limit` runnable jobs (queued and due, or running with an expired
    /// lease) for `worker`, leasing them for `lease_ms`. A job is held by one worker at a
    /// time, across processes.
    async fn claim_jobs(&self, worker: &str, limit: i64, lease_ms: i64) -> Result<Vec<ClaimedJob>>;
    /// Records how each of `worker`'s runs ended, in one commit. Each answer is false when
    /// the worker no longer held that job (its lease expired and another took it).
    async fn finish_jobs(&self, worker: &str, results: &[JobFinish]) -> Result<Vec<bool>>;
    /// [`Store::finish_jobs`] for one successful run.
    async fn complete_job(&self, id: JobId, worker: &str) -> Result<bool> {
        let done = self
            .finish_jobs(
                worker,
                &[JobFinish {
                    id,
                    outcome: JobOutcome::Done,
                }],
            )
            .await?;
        Ok(done[0])
    }
    /// Records the error; the job runs again at `retry_at`, or fails for good when `None`.
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool> {
        let outcome = match retry_at {
            Some(at) => JobOutcome::Retry {
                error: error.to_owned(),
                at,
            },
            None => JobOutcome::Failed {
                error: error.to_owned(),
            },
        };
        Ok(self
            .finish_jobs(worker, &[JobFinish { id, outcome }])
            .await?[0])
    }
    /// Extends the leases of running jobs that `worker` still holds to `lease_ms` from now:
    /// a worker renews while it works, so a lease can be short and a crashed worker's
    /// jobs are taken over within seconds.
    async fn renew_leases(&self, worker: &str, ids: &[JobId], lease_ms: i64) -> Result<()>;
    /// Gives a job back unfinished (shutdown): it runs again at once, and this attempt
    /// does not count.
    async fn release_job(&self, id: JobId, worker: &str) -> Result<bool>;
    async fn list_jobs(
        &self,
        ws: WorkspaceId,
        status: Option<JobStatus>,
        limit: i64,
    ) -> Result<Vec<JobRecord>>;
    async fn job(&self, id: JobId) -> Result<Option<JobRecord>>;
    /// Jobs per status across all workspaces, for metrics.
    async fn job_counts(&self) -> Result<Vec<(JobStatus, i64)>>;
}

/// Where the store is and what it needs to open it: see [`open`].
#[derive(Clone)]
pub struct Connect {
    /// `postgres://…` (or `postgresql://…`) selects PostgreSQL, `sqlite://…` a SQLite file,
    /// and `None` the SQLite file in `data_dir`. On PostgreSQL, the role the server runs
    /// as: it should own nothing (see `owner_url`).
    pub database_url: Option<String>,
    /// PostgreSQL only: the role that owns the tables. [`Store::migrate`] migrates as it,
    /// grants the runtime role what it may do, and stores the scope key. Ignored by SQLite.
    pub owner_url: Option<String>,
    pub data_dir: PathBuf,
    /// PostgreSQL only: proves each transaction's scope to row level security (derived
    /// from the server's secret key, [`ScopeKey::derive`]). SQLite (one embedded file, no
    /// roles, no row level security) ignores it.
    pub scope_key: ScopeKey,
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connect")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("owner_url", &self.owner_url.as_deref().map(redact_url))
            .field("data_dir", &self.data_dir)
            .field("scope_key", &self.scope_key)
            .finish()
    }
}

impl Connect {
    pub fn new(database_url: Option<&str>, data_dir: &Path, scope_key: ScopeKey) -> Self {
        Self {
            database_url: database_url.map(str::to_owned),
            owner_url: None,
            data_dir: data_dir.to_owned(),
            scope_key,
        }
    }

    pub fn owner_url(mut self, owner_url: Option<&str>) -> Self {
        self.owner_url = owner_url
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        self
    }
}

/// Opens the store [`Connect`] names.
pub async fn open(c: &Connect) -> Result<Arc<dyn Store>> {
    match c
        .database_url
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            if let Some(owner) = &c.owner_url
                && !(owner.starts_with("postgres://") || owner.starts_with("postgresql://"))
            {
                return Err(StoreError::Unavailable(format!(
                    "the owner URL {:?} is not a postgres://… URL",
                    redact_url(owner)
                )));
            }
            Ok(Arc::new(
                PgStore::connect(url, c.scope_key.clone(), c.owner_url.as_deref()).await?,
            ))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
        }
        Some(other) => Err(StoreError::Unavailable(format!(
            "unsupported database URL scheme in {:?}: use postgres://… or sqlite://…",
            redact_url(other)
        ))),
        None => {
            std::fs::create_dir_all(&c.data_dir).map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot create data directory {}: {e}",
                    c.data_dir.display()
                ))
            })?;
            Ok(Arc::new(
                SqliteStore::open(&c.data_dir.join("covalynce.db")).await?,
            ))
        }
    }
}

/// A database URL fit for logs and error messages: any password is replaced.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((auth, host)) = rest.split_once('@')
    {
        let user = auth.split(':').next().unwrap_or_default();
        if auth.contains(':') {
            return format!("{scheme}://{user}:***@{host}");
        }
    }
    url.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_urls_in_messages_never_carry_passwords() {
        assert_eq!(
            super::redact_url("postgres://app:hunter2@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(
            super::redact_url("postgres://app@db/x"),
            "postgres://app@db/x"
        );
    }
}
