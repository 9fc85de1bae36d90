use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// What every id type has, for code that takes any of them: a URL's id is parsed once, by
/// one extractor, and text that is no id of its kind is "not found" in the words of its kind.
pub trait Id: Copy + fmt::Display + Send + Sync + 'static {
    /// What the id names, as a person says it: "card", "member".
    const NOUN: &'static str;
    /// The id in `s`, if `s` is one (see each type's `parse`).
    fn from_text(s: &str) -> Option<Self>;
}

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident = $noun:literal),* $(,)?) => {$(
        $(#[$doc])*
        ///
        /// A UUIDv7, so ids sort by creation time and can serve as pagination cursors.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Parses an id from text; anything but a UUID is rejected, so a malformed id
            /// in a URL is simply "not found" and never reaches a query.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::try_parse(s).ok().map(Self)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Id for $name {
            const NOUN: &'static str = $noun;
            fn from_text(s: &str) -> Option<Self> {
                Self::parse(s)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A workspace: the unit of tenancy. Every stored row belongs to exactly one.
    WorkspaceId = "workspace",
    /// A place work comes from (a GitHub repository's webhook, a local git repository).
    SourceId = "source",
    /// One webhook delivery as received.
    DeliveryId = "delivery",
    /// A normalized piece of shipped work (push, tag, release, merged PR, CI run).
    EventId = "event",
    /// A durable unit of background work.
    JobId = "job",
    /// An API token (its secret is never stored, only a hash).
    TokenId = "token",
    /// A card in the review stack.
    CardId = "card",
    /// Where approved cards are published.
    ChannelId = "channel",
    /// One card on one channel: the unit that is published exactly once.
    PublicationId = "publication",
    /// A person who signs in; belongs to workspaces through memberships.
    UserId = "member",
    /// An invitation link to join a workspace with a role.
    InvitationId = "invitation",
    /// One entry of the audit log.
    AuditId = "audit entry",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_sort_by_creation() {
        let a = EventId::new();
        let b = EventId::new();
        assert_eq!(EventId::parse(&a.to_string()), Some(a));
        assert!(
            a.to_string() < b.to_string(),
            "v7 ids are monotonic within a process"
        );
        assert_eq!(EventId::parse("not-a-uuid"), None);
        assert_eq!(EventId::parse("../../etc/passwd"), None);
    }
}
