//! Domain types shared by every stage of the pipeline.
//!
//! Values here are parsed at the edge (HTTP, CLI, webhook payloads) and are valid by
//! construction afterwards: a `RepoSlug` always names a plausible GitHub repository, a
//! `WorkspaceSlug` is always URL- and CLI-safe, an `EventKind` is always one we handle.

mod account;
pub mod change;
pub mod channel;
mod commit;
mod event;
pub mod facts;
mod ids;
mod job;
mod notes;
mod plan;
pub mod schedule;
mod settings;
mod slug;
mod source;
mod symbol;
mod tag;
pub mod time;

pub use account::{Email, Role};
pub use channel::{ChannelConfig, ChannelKind, ChannelSecrets, ChannelSettings};
pub use commit::Commit;
pub use event::{
    CardCategory, CardStatus, ChannelStatus, EventKind, EventStatus, JobKind, NewEvent,
    PublicationStatus, Risk, SentPost, SourceKind,
};
pub use facts::{EventFacts, Work};
pub use ids::{
    AuditId, CardId, ChannelId, DeliveryId, EventId, Id, InvitationId, JobId, PublicationId,
    SourceId, TokenId, UserId, WorkspaceId,
};
pub use job::Job;
pub use notes::notes_file_rank;
pub use plan::{Limits, Plan, next_month_start};
pub use settings::{Privacy, Voice};
pub use slug::{ParseError, RepoSlug, WorkspaceSlug};
pub use source::{Gate, GateConfig, GateState, PollState, SourceSettings};
pub use symbol::{Change, FileAnalysis, SymbolChange, SymbolKind};
pub use tag::{is_main_product, is_prerelease, package_tag, released_as};

/// Milliseconds since the Unix epoch, UTC. Stored as BIGINT on both databases so that the
/// same comparison SQL works everywhere and no timezone can sneak in.
pub type UnixMillis = i64;

pub fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
