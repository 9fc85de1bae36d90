//! What goes in and comes out of the store. Records are read back into domain types, so a
//! row that does not parse is an error here, not a surprise three layers up.

use covalynce_domain::{
    CardCategory, CardId, CardStatus, ChannelId, ChannelStatus, DeliveryId, EventId, EventKind,
    JobId, NewEvent, PublicationId, PublicationStatus, Risk, SourceId, SourceKind, TokenId,
    UnixMillis, WorkspaceId, WorkspaceSlug,
};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub slug: WorkspaceSlug,
    pub plan: covalynce_domain::Plan,
    pub card_limit: i64,
    pub cards_used: i64,
    pub voice: covalynce_domain::Voice,
    pub created_at: UnixMillis,
    /// Set while the emergency stop is on: nothing is published.
    pub halted_at: Option<UnixMillis>,
    /// Auto-approve green cards once this many consecutive approvals needed no edit;
    /// `None`: review everything (the default).
    pub trust_after: Option<i64>,
    /// Where auto-approved cards go (channel ids).
    pub trust_channels: Vec<String>,
    /// Consecutive approvals of cards nobody edited.
    pub trust_streak: i64,
    /// What may leave the machine for AI drafting: offline, messages or diffs.
    pub ai_privacy: covalynce_domain::Privacy,
    /// Members (with open invitations) the plan allows.
    pub seat_limit: i64,
    /// When the current usage period ends (`cards_used` then starts again at 0); `None`
    /// until the first card starts one.
    pub period_end: Option<UnixMillis>,
    /// The subscription as the payment provider last told it: `provider`, `customer`,
    /// `subscription`, `status`, `updated_at` (the provider's time, ms).
    pub billing: Option<serde_json::Value>,
    /// Where posting slots are read and times are typed.
    pub time_zone: covalynce_domain::schedule::Zone,
}

impl Workspace {
    /// Cards used in the current period as of `now` (a period that has ended counts 0).
    pub fn cards_used_at(&self, now: UnixMillis) -> i64 {
        match self.period_end {
            Some(end) if end <= now => 0,
            _ => self.cards_used,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: TokenId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Hex SHA-256 of the token text.
    pub token_hash: String,
    pub prefix: String,
    pub role: covalynce_domain::Role,
    /// The person it acts for; `None` for operator tokens made with the CLI.
    pub user_id: Option<covalynce_domain::UserId>,
}

#[derive(Debug, Clone)]
pub struct NewSource {
    pub id: SourceId,
    pub workspace_id: WorkspaceId,
    pub kind: SourceKind,
    pub repo: Option<String>,
    pub path: Option<String>,
    /// Already sealed by the caller; the store never sees a secret in the clear.
    pub sealed_secret: Option<Vec<u8>>,
    /// Where a GitHub repository stands, why the source works as it does, its CI gate.
    pub settings: covalynce_domain::SourceSettings,
    /// The sealed GitHub token the source polls and reads diffs with.
    pub sealed_token: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: SourceId,
    pub workspace_id: WorkspaceId,
    pub kind: SourceKind,
    pub repo: Option<String>,
    pub path: Option<String>,
    pub sealed_secret: Option<Vec<u8>>,
    pub cursor: Option<String>,
    pub created_at: UnixMillis,
    pub last_delivery_at: Option<UnixMillis>,
    pub settings: covalynce_domain::SourceSettings,
    pub sealed_token: Option<Vec<u8>>,
    /// The repository webhook Covalynce created on GitHub (removed with the source).
    pub hook_id: Option<i64>,
    /// Where polling left off: ETag, interval, backoff (JSON), and when it may poll next.
    pub poll_state: Option<covalynce_domain::PollState>,
    pub poll_after: Option<UnixMillis>,
}

/// What a verified delivery turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryOutcome {
    Events,
    Ignored,
    Ping,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryOutcome::Events => "events",
            DeliveryOutcome::Ignored => "ignored",
            DeliveryOutcome::Ping => "ping",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "events" => Some(Self::Events),
            "ignored" => Some(Self::Ignored),
            "ping" => Some(Self::Ping),
            _ => None,
        }
    }
}

/// One verified delivery to store, with the events it carries.
#[derive(Debug, Clone)]
pub struct Ingest {
    pub workspace_id: WorkspaceId,
    pub source_id: SourceId,
    /// The sender's delivery id (`X-GitHub-Delivery`); unique per source.
    pub guid: String,
    pub event_name: String,
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    pub body: Vec<u8>,
    pub events: Vec<NewEvent>,
    pub received_at: UnixMillis,
}

impl Ingest {
    /// Does the CPU work of storing this delivery — compressing the raw body, serialising
    /// event data — so it happens on the caller's task, in parallel, and not on the one
    /// writer that commits batches.
    pub fn prepare(mut self) -> Result<PreparedIngest, crate::StoreError> {
        let raw = std::mem::take(&mut self.body);
        let event_data = self
            .events
            .iter()
            .map(|e| {
                // Facts of another kind than the event's would not read back.
                if !e.facts.work.fits(e.kind) {
                    return Err(crate::StoreError::Corrupt(format!(
                        "a {} event with facts of another kind",
                        e.kind.as_str()
                    )));
                }
                serde_json::to_string(&e.facts)
                    .map_err(|e| crate::StoreError::Corrupt(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PreparedIngest {
            size: raw.len() as i64,
            // Raw payloads are verbose JSON: LZ4 keeps them ~3x smaller on disk, which is
            // most of what a commit writes.
            body: lz4_flex::block::compress_prepend_size(&raw),
            event_data,
            item: self,
        })
    }
}

/// An [`Ingest`] ready to write (see [`Ingest::prepare`]).
#[derive(Debug, Clone)]
pub struct PreparedIngest {
    pub(crate) item: Ingest,
    /// LZ4 block with the raw size prepended.
    pub(crate) body: Vec<u8>,
    pub(crate) size: i64,
    /// Each event's `data` as JSON text, in order.
    pub(crate) event_data: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: EventId,
    pub kind: EventKind,
    /// False when the same work was already stored by an earlier delivery.
    pub new: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    /// The delivery id was seen before: nothing new was stored.
    Duplicate,
    Stored {
        delivery_id: DeliveryId,
        events: Vec<StoredEvent>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub source_id: SourceId,
    pub guid: String,
    pub event_name: String,
    pub outcome: DeliveryOutcome,
    pub reason: Option<String>,
    pub size: i64,
    pub received_at: UnixMillis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub id: EventId,
    pub source_id: SourceId,
    pub delivery_id: Option<DeliveryId>,
    pub kind: EventKind,
    pub dedup_key: String,
    pub repo: String,
    pub title: String,
    pub facts: covalynce_domain::EventFacts,
    pub status: covalynce_domain::EventStatus,
    pub status_reason: Option<String>,
    pub occurred_at: Option<UnixMillis>,
    pub created_at: UnixMillis,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub kind: Option<EventKind>,
    pub status: Option<covalynce_domain::EventStatus>,
    /// Only events older than this one (ids sort by creation).
    pub before: Option<EventId>,
    /// Only this repository's (`owner/name`, compared without regard to ASCII case): what
    /// a job compares an event with, without a busy neighbour's events crowding it out of
    /// the page.
    pub repo: Option<String>,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Done,
        JobStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub workspace_id: Option<WorkspaceId>,
    pub job: covalynce_domain::Job,
    pub run_at: UnixMillis,
    pub max_attempts: i64,
}

/// A job this worker now holds until `locked_until`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub workspace_id: Option<WorkspaceId>,
    /// Kept as text: a job written by a newer version may name a kind this one lacks.
    pub kind: String,
    pub payload: serde_json::Value,
    /// Including this run.
    pub attempts: i64,
    pub max_attempts: i64,
}

impl ClaimedJob {
    /// What the job is, or why it cannot be run (an unknown kind, a payload without its id).
    pub fn job(&self) -> std::result::Result<covalynce_domain::Job, String> {
        covalynce_domain::Job::decode(&self.kind, &self.payload)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: UnixMillis,
    pub locked_by: Option<String>,
    pub last_error: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: UnixMillis,
    pub finished_at: Option<UnixMillis>,
}

/// How a run of a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Done,
    /// Not run: waits until `at` (a rate-limit pause, a daily cap) without counting as an
    /// attempt; `note` says why meanwhile.
    Defer {
        note: String,
        at: UnixMillis,
    },
    /// Runs again at `at` (Unix ms), with `error` visible meanwhile.
    Retry {
        error: String,
        at: UnixMillis,
    },
    /// Will not run again.
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobFinish {
    pub id: JobId,
    pub outcome: JobOutcome,
}

/// A drafted card to store; its event's `dedup_key` is its `source_id`, so an event makes
/// at most one card (the founding schema's `unique(user_id, source_id)`).
#[derive(Debug, Clone)]
pub struct NewCard {
    pub workspace_id: WorkspaceId,
    pub event_id: EventId,
    pub source_key: String,
    pub category: CardCategory,
    pub title: String,
    pub content: String,
    /// Channel name → text.
    pub variants: std::collections::BTreeMap<String, String>,
    pub risk: Risk,
    pub risk_reasons: Vec<String>,
    /// `offline`, or `provider/model` when an AI's text was kept.
    pub drafted_by: String,
    /// Why the offline draft stands although AI drafting is on.
    pub draft_note: Option<String>,
    /// The CI gate's state; `Some` for a card created HELD, `None` for one that goes
    /// straight to the stack.
    pub gate: Option<covalynce_domain::Gate>,
    /// The AI calls made drafting it, written in the card's transaction (with the new
    /// card's id; with none when no card is created).
    pub ai_calls: Vec<crate::NewAiCall>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CardCreation {
    Created(CardId),
    /// The event already has its card (a re-run of the job).
    Exists(CardId),
    /// The plan's card limit is used up: no card, nothing consumed.
    OverLimit {
        plan: String,
        limit: i64,
        used: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardRecord {
    pub id: CardId,
    pub event_id: Option<EventId>,
    pub source_key: String,
    pub category: CardCategory,
    pub status: CardStatus,
    pub title: String,
    pub content: String,
    pub variants: std::collections::BTreeMap<String, String>,
    pub risk: Option<Risk>,
    pub risk_reasons: Vec<String>,
    pub publish_at: Option<UnixMillis>,
    pub created_at: UnixMillis,
    pub updated_at: UnixMillis,
    /// `offline`, or the `provider/model` whose text the card carries.
    pub drafted_by: String,
    /// Why the offline draft stands although AI drafting is on.
    pub draft_note: Option<String>,
    /// The CI gate's state; `Some` for a card created HELD, `None` for one that goes
    /// straight to the stack.
    pub gate: Option<covalynce_domain::Gate>,
    /// Who confirmed that a secret its commit text leaked was rotated.
    pub secret_rotated_by: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CardFilter {
    pub status: Option<CardStatus>,
    pub before: Option<CardId>,
    pub limit: i64,
}

/// The result of a review action on a card.
#[derive(Debug, Clone, PartialEq)]
pub enum CardChange {
    Done(Box<CardRecord>),
    NotFound,
    /// The card is not in a status that allows this action.
    Conflict(CardStatus),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardRevision {
    pub revision: i64,
    pub variants: std::collections::BTreeMap<String, String>,
    pub author: String,
    pub created_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct NewChannel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    /// Non-secret settings, which say the channel's kind.
    pub config: covalynce_domain::ChannelConfig,
    /// Sealed by the caller.
    pub sealed_credentials: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChannelRecord {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub kind: covalynce_domain::ChannelKind,
    pub name: String,
    pub config: covalynce_domain::ChannelConfig,
    #[serde(skip)]
    pub sealed_credentials: Option<Vec<u8>>,
    pub status: ChannelStatus,
    pub created_at: UnixMillis,
    /// The platform asked for no requests before this time.
    pub paused_until: Option<UnixMillis>,
    /// Publications started today (UTC), against the channel's daily cap.
    pub sent_today: i64,
    /// Why the channel stopped working, until it works again.
    pub last_error: Option<String>,
    pub last_error_at: Option<UnixMillis>,
    /// When it last published or passed a test.
    pub last_success_at: Option<UnixMillis>,
    /// When it posts what is approved without a time (empty: at once).
    pub slots: covalynce_domain::schedule::Slots,
}

/// Starting a publication (queued → publishing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    Started,
    /// The channel's daily cap is used up for today (UTC).
    CapReached,
    /// It was not queued (already started, settled or withdrawn).
    NotQueued,
}

/// A person's action on one publication.
#[derive(Debug, Clone, PartialEq)]
pub enum PublicationChange {
    Done(Box<PublicationRecord>),
    NotFound,
    Conflict(PublicationStatus),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Approval {
    Approved(Box<CardRecord>),
    NotFound,
    Conflict(CardStatus),
    /// Red cards cannot be published without an edit.
    Red,
    UnknownChannel(ChannelId),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicationRecord {
    pub id: PublicationId,
    pub workspace_id: WorkspaceId,
    pub card_id: CardId,
    pub channel_id: ChannelId,
    pub status: PublicationStatus,
    pub idempotency_key: String,
    pub url: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub published_at: Option<UnixMillis>,
    /// The posts of a thread its platform took so far, in order (empty until one is sent;
    /// a single post is recorded too).
    pub sent_posts: Vec<covalynce_domain::SentPost>,
    /// When it is due to go out (none for those made before publications had their own).
    pub due_at: Option<UnixMillis>,
}

/// A publication waiting for its time, as the queue lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queued {
    pub publication: PublicationRecord,
    pub card_title: String,
    /// When it goes out (its own due time, else its card's).
    pub due_at: UnixMillis,
}
