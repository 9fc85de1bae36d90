use serde::{Deserialize, Serialize};

/// The kinds of shipped work Covalynce understands. Everything a source reports is either
/// one of these or ignored at the edge with a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Commits pushed to the default branch.
    Push,
    /// A tag was created (by `create` or by pushing the tag).
    Tag,
    /// A release was published.
    Release,
    /// A pull request was merged.
    PullRequestMerged,
    /// A CI workflow run completed; kept to gate announcements on green builds.
    CiRun,
    /// A tracked issue (Jira, or any tool through `POST /api/v1/events`) reached done.
    IssueDone,
    /// A deployment finished (reported through `POST /api/v1/events`).
    Deploy,
    /// Any other shipped change a tool reports with a title and a body.
    Change,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Push,
        EventKind::Tag,
        EventKind::Release,
        EventKind::PullRequestMerged,
        EventKind::CiRun,
        EventKind::IssueDone,
        EventKind::Deploy,
        EventKind::Change,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::Tag => "tag",
            EventKind::Release => "release",
            EventKind::PullRequestMerged => "pull_request_merged",
            EventKind::CiRun => "ci_run",
            EventKind::IssueDone => "issue_done",
            EventKind::Deploy => "deploy",
            EventKind::Change => "change",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The step a new event of this kind sets in motion. CI results are not announced
    /// themselves; they decide whether cards held by the CI gate go to the stack.
    pub fn next_job(self) -> Option<JobKind> {
        match self {
            EventKind::CiRun => Some(JobKind::CiGate),
            _ => Some(JobKind::DraftEvent),
        }
    }
}

/// Where a source's work comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A GitHub repository: webhooks, polling, or both.
    Github,
    /// A local git repository, watched on disk.
    Git,
    /// A Jira Cloud site delivering issue webhooks.
    Jira,
    /// Events any tool posts to `POST /api/v1/events`.
    Generic,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Github,
        SourceKind::Git,
        SourceKind::Jira,
        SourceKind::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Github => "github",
            SourceKind::Git => "git",
            SourceKind::Jira => "jira",
            SourceKind::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A piece of shipped work as the pipeline sees it, before it is stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewEvent {
    pub kind: EventKind,
    /// The source's own identity for this work (`push:owner/name:SHA`, `release:owner/name:ID`):
    /// the same work reported twice, by two deliveries or two event types, is stored once.
    pub dedup_key: String,
    /// `owner/name` for GitHub sources, the repository's directory for local ones.
    pub repo: String,
    /// One human line: the head commit's subject, the tag, the release or PR title.
    pub title: String,
    /// When the work happened, as the source says (milliseconds, UTC), if it says.
    pub occurred_at: Option<i64>,
    /// The normalized facts drafting needs (commits, refs, URLs), never the raw payload.
    pub facts: crate::EventFacts,
}

/// Kinds of background work. Stored as text in the job table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Turn a stored event into a card.
    DraftEvent,
    /// Publish one card on one channel.
    Publish,
    /// A CI run finished: release (green) or annotate (red) the cards held for its commit.
    CiGate,
}

impl JobKind {
    pub const ALL: [JobKind; 3] = [JobKind::DraftEvent, JobKind::Publish, JobKind::CiGate];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::DraftEvent => "draft_event",
            JobKind::Publish => "publish",
            JobKind::CiGate => "ci_gate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("bogus"), None);
    }

    #[test]
    fn only_announceable_work_starts_drafting() {
        assert_eq!(EventKind::CiRun.next_job(), Some(JobKind::CiGate));
        assert_eq!(EventKind::Push.next_job(), Some(JobKind::DraftEvent));
        assert_eq!(EventKind::Release.next_job(), Some(JobKind::DraftEvent));
    }
}

/// What a card is for (the founding document's categories).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum CardCategory {
    /// A post for the outside world.
    #[serde(rename = "MKT")]
    Mkt,
    /// Release notes or a note for the team.
    #[serde(rename = "ENG")]
    Eng,
    /// A suggestion drawn from patterns across changes.
    #[serde(rename = "STRATEGY")]
    Strategy,
}

impl CardCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            CardCategory::Mkt => "MKT",
            CardCategory::Eng => "ENG",
            CardCategory::Strategy => "STRATEGY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CardCategory::Mkt, CardCategory::Eng, CardCategory::Strategy]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// What became of an event: `new` until the drafting job has looked at it, then `drafted`
/// (it has its card), `skipped` (it makes no card, with the reason) or `over_limit` (the
/// plan's cards for the period were used up; kept, not drafted). A stored value no version
/// wrote is an error, never a silent default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    New,
    Drafted,
    Skipped,
    OverLimit,
}

impl EventStatus {
    pub const ALL: [EventStatus; 4] = [
        EventStatus::New,
        EventStatus::Drafted,
        EventStatus::Skipped,
        EventStatus::OverLimit,
    ];

    /// As stored and as the API spells it (`?status=over_limit`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::New => "new",
            EventStatus::Drafted => "drafted",
            EventStatus::Skipped => "skipped",
            EventStatus::OverLimit => "over_limit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The drafting job has decided about it: running the job again changes nothing.
    pub fn is_settled(self) -> bool {
        self != EventStatus::New
    }
}

/// Where a card is in review: PENDING → APPROVED → PUBLISHED / PARTIAL / FAILED, or
/// DISMISSED. PARTIAL: every channel is done, some published and some failed. Retrying a
/// failed publication takes a PARTIAL or FAILED card back to APPROVED. HELD: the CI gate
/// keeps it off the stack until CI for its commit is green (then it becomes PENDING).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CardStatus {
    Held,
    Pending,
    Approved,
    Published,
    Partial,
    Failed,
    Dismissed,
}

impl CardStatus {
    pub const ALL: [CardStatus; 7] = [
        CardStatus::Held,
        CardStatus::Pending,
        CardStatus::Approved,
        CardStatus::Published,
        CardStatus::Partial,
        CardStatus::Failed,
        CardStatus::Dismissed,
    ];

    /// As stored (the founding schema's upper case).
    pub fn as_db(self) -> &'static str {
        match self {
            CardStatus::Held => "HELD",
            CardStatus::Pending => "PENDING",
            CardStatus::Approved => "APPROVED",
            CardStatus::Published => "PUBLISHED",
            CardStatus::Partial => "PARTIAL",
            CardStatus::Failed => "FAILED",
            CardStatus::Dismissed => "DISMISSED",
        }
    }

    /// As the API and CLI spell it (`?status=pending`).
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Held => "held",
            CardStatus::Pending => "pending",
            CardStatus::Approved => "approved",
            CardStatus::Published => "published",
            CardStatus::Partial => "partial",
            CardStatus::Failed => "failed",
            CardStatus::Dismissed => "dismissed",
        }
    }

    /// Accepts either spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
    }
}

/// One card on one channel: queued → publishing → published / failed / unknown.
/// `unknown`: the request may have reached a platform that cannot be asked; a person checks
/// and then retries or confirms it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PublicationStatus {
    Queued,
    Publishing,
    Published,
    Failed,
    Unknown,
}

impl PublicationStatus {
    pub const ALL: [PublicationStatus; 5] = [
        PublicationStatus::Queued,
        PublicationStatus::Publishing,
        PublicationStatus::Published,
        PublicationStatus::Failed,
        PublicationStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PublicationStatus::Queued => "queued",
            PublicationStatus::Publishing => "publishing",
            PublicationStatus::Published => "published",
            PublicationStatus::Failed => "failed",
            PublicationStatus::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// One post of a publication that its platform took: what the next reply of a thread needs
/// and where the post is seen. A thread's publisher records each before sending the next,
/// so a publication cut off mid-thread resumes after the last one instead of repeating it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentPost {
    /// The platform's id: X's post id, Mastodon's status id, Bluesky's `at://` URI.
    pub id: String,
    /// Bluesky's content id of the record (a reply names its root's and parent's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// Where people see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Whether a channel publishes: `active`, `disabled` (publications wait until it is enabled
/// again) or `deleted` (gone from lists; its credentials are erased, its history kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelStatus {
    Active,
    Disabled,
    Deleted,
}

impl ChannelStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelStatus::Active => "active",
            ChannelStatus::Disabled => "disabled",
            ChannelStatus::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ChannelStatus::Active,
            ChannelStatus::Disabled,
            ChannelStatus::Deleted,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// The risk light on a draft.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Green,
    Yellow,
    /// Cannot be published without an edit.
    Red,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Green => "green",
            Risk::Yellow => "yellow",
            Risk::Red => "red",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Risk::Green, Risk::Yellow, Risk::Red]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}
