//! Drafting: release notes and per-channel posts from a [`Changeset`], offline and
//! deterministic (same input, same words).
//!
//! Public entry: [`draft`]. Each channel's text is fitted to that platform's rule (X: 280
//! weighted, URLs 23; Bluesky: 300 graphemes; Mastodon: 500, URLs 23; LinkedIn: 3000;
//! Discord: 2000; Slack: 3000 of our own choosing) by dropping the least important lines
//! first, never by cutting a sentence when a line can go instead. On X, Bluesky and
//! Mastodon, a release that does not fit one post becomes a numbered thread instead
//! ([`thread`]).

mod length;
mod notes;
mod posts;
pub mod thread;

use covalynce_understanding::{Changeset, HouseStyle};
use serde::{Deserialize, Serialize};

pub use length::{grapheme_count, mastodon_length, x_weighted_length};
pub use notes::release_notes;
pub use posts::{names_something, says_something};

/// How posts sound (a workspace setting, defined with the others in `domain`).
pub use covalynce_domain::Voice;

/// Where a post goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Linkedin,
    X,
    Mastodon,
    Bluesky,
    Slack,
    Discord,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::Linkedin,
        Channel::X,
        Channel::Mastodon,
        Channel::Bluesky,
        Channel::Slack,
        Channel::Discord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Linkedin => "linkedin",
            Channel::X => "x",
            Channel::Mastodon => "mastodon",
            Channel::Bluesky => "bluesky",
            Channel::Slack => "slack",
            Channel::Discord => "discord",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// How the platform counts a post, as the editor explains it beside its counter.
    pub fn counting_rule(self) -> &'static str {
        match self {
            Channel::X => {
                "weighted: most characters 1, CJK and emoji 2, every link 23; a line of three dashes (---) starts the next post of a thread"
            }
            Channel::Bluesky => {
                "graphemes: what a reader sees as one character; a line of three dashes (---) starts the next post of a thread"
            }
            Channel::Mastodon => {
                "characters, every link 23; a line of three dashes (---) starts the next post of a thread"
            }
            Channel::Linkedin | Channel::Slack | Channel::Discord => "characters",
        }
    }

    /// A text as this platform would take it: its longest post (each post of a thread must
    /// fit) and how many posts it is (one where the platform does not thread).
    pub fn measure(self, text: &str) -> (usize, usize) {
        let posts = thread::posts(text);
        let longest = posts.iter().map(|p| self.length(p)).max().unwrap_or(0);
        (longest, if self.threads() { posts.len() } else { 1 })
    }

    /// The platform's name, as people write it.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Linkedin => "LinkedIn",
            Channel::X => "X",
            Channel::Mastodon => "Mastodon",
            Channel::Bluesky => "Bluesky",
            Channel::Slack => "Slack",
            Channel::Discord => "Discord",
        }
    }

    /// The platform's limit, in the platform's own unit (see [`Channel::length`]).
    pub fn limit(self) -> usize {
        match self {
            Channel::Linkedin => 3000,
            Channel::X => 280,
            Channel::Mastodon => 500,
            Channel::Bluesky => 300,
            Channel::Slack => 3000,
            Channel::Discord => 2000,
        }
    }

    /// Whether a post too long for one becomes a thread of replies there.
    pub fn threads(self) -> bool {
        matches!(self, Channel::X | Channel::Bluesky | Channel::Mastodon)
    }

    /// Length as the platform counts it (of one post: see [`thread::over_limit`] for a
    /// variant that may be a thread).
    pub fn length(self, text: &str) -> usize {
        match self {
            Channel::X => x_weighted_length(text),
            Channel::Bluesky => grapheme_count(text),
            Channel::Mastodon => mastodon_length(text),
            Channel::Linkedin | Channel::Slack | Channel::Discord => text.chars().count(),
        }
    }
}

/// What the drafts are about, beyond the commits themselves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// How the project calls itself: the name in its manifest or README title, else
    /// `owner/name` or the repository's directory name.
    pub project: String,
    /// The tag or version, when drafting a release.
    pub version: Option<String>,
    /// The branch the changes landed on, when drafting a push (never guessed).
    #[serde(default)]
    pub branch: Option<String>,
    /// A link for readers: the release page, else the compare view, else the repository.
    pub url: Option<String>,
    /// `YYYY-MM-DD` of the release, for the notes' heading.
    pub date: Option<String>,
    /// How the project's own release notes select and cite. `None` lists and cites
    /// everything (a team's view of a push); releases without past notes get
    /// [`HouseStyle::default`].
    #[serde(default)]
    pub style: Option<HouseStyle>,
    /// Hashtags (without `#`) from the project's language and topics; none when unknown.
    #[serde(default)]
    pub hashtags: Vec<String>,
}

/// Everything drafted for one change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drafts {
    pub release_notes: String,
    /// One post per channel, each within its limit; on X, Bluesky and Mastodon possibly a
    /// thread (posts separated by [`thread::BREAK`] lines), each post within the limit.
    pub posts: std::collections::BTreeMap<Channel, String>,
}

pub fn draft(changes: &Changeset, ctx: &Context, voice: Voice) -> Drafts {
    Drafts {
        release_notes: release_notes(changes, ctx),
        posts: Channel::ALL
            .into_iter()
            .map(|c| (c, posts::post(changes, ctx, voice, c)))
            .collect(),
    }
}
