use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
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
    WorkspaceId,
    /// A place work comes from (a GitHub repository's webhook, a local git repository).
    SourceId,
    /// One webhook delivery as received.
    DeliveryId,
    /// A normalized piece of shipped work (push, tag, release, merged PR, CI run).
    EventId,
    /// A durable unit of background work.
    JobId,
    /// An API token (its secret is never stored, only a hash).
    TokenId,
    /// A card in the review stack.
    CardId,
    /// Where approved cards are published.
    ChannelId,
    /// One card on one channel: the unit that is published exactly once.
    PublicationId,
    /// A person who signs in; belongs to workspaces through memberships.
    UserId,
    /// An invitation link to join a workspace with a role.
    InvitationId,
    /// One entry of the audit log.
    AuditId,
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
