//! The one place channel kinds meet. Each kind's module implements [`Platform`] for its
//! opened channel; the [`platforms!`] list below names each kind once, and from that list
//! come [`Target`] and every dispatch on it. Adding a kind is: its `ChannelKind` (with
//! settings and secrets) in `domain`, one module here that implements `Platform`, and its
//! line in the list — the `match` on `ChannelKind` in `Target::open` does not compile
//! until the line is there.

use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelKind, ChannelSecrets, ChannelSettings, Failure, Http};
use crate::{Post, Recovery, Sent};

/// What is known when a stored channel is opened besides its own row.
pub struct Opening<'a> {
    /// The server's folder for the channel's workspace (where an outbox's file lives).
    pub outbox_dir: &'a std::path::Path,
}

/// How a platform shows a post, for the review to show it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// Text as written, markup shown raw (a file, a JSON body, release notes).
    Plain,
    /// Slack's mrkdwn: `*bold*`, `_italic_`, `~struck~`.
    SlackMrkdwn,
    /// Discord's markdown: `**bold**`, `__underline__`, `*italic*`, `~~struck~~`.
    DiscordMarkdown,
    /// Plain text folded after its first lines behind "…see more" (LinkedIn).
    Folded,
    /// Plain text with a card under it for its last link (X, Bluesky, Mastodon).
    LinkCard,
}

/// What a channel kind does. Implemented once per kind, by its own module.
pub(crate) trait Platform: Sized {
    /// How a crashed send of this kind is recovered.
    const RECOVERY: Recovery;
    /// What a publication sent again after a crash says (for [`Recovery::Replay`]).
    const REPLAY_NOTE: &'static str = NO_KEY;
    /// Whether its posts carry the release image.
    const TAKES_MEDIA: bool = false;
    /// How the platform shows a post.
    const LOOK: Look = Look::Plain;

    /// A stored channel of this kind: its settings and unsealed secrets (another kind's are
    /// refused with [`mismatch`]).
    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        at: &Opening<'_>,
    ) -> Result<Self, String>;

    /// Sends one publication.
    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure>;

    /// Checks the channel works; says what was done.
    async fn test(&self, http: &Http, channel_id: &str) -> Result<String, Failure>;

    /// What a channel with `settings` (of this kind) sends for `card`, or why the platform
    /// would refuse it.
    fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String>;

    /// New credentials for a channel whose access token is about to end or was refused:
    /// its secrets and settings (a new expiry) as they should be stored. The caller holds
    /// the lease that makes this the only renewal in flight (refresh tokens are single-use
    /// on some platforms) and stores the answer before using it. Kinds whose credentials
    /// do not expire keep this default.
    async fn renew(
        _http: &Http,
        settings: &ChannelSettings,
        _secrets: ChannelSecrets,
    ) -> Result<(ChannelSecrets, ChannelSettings), Failure> {
        Err(broken(format!(
            "the {} channel's tokens cannot be renewed",
            settings.kind().label()
        )))
    }
}

/// A failure that no retry mends: the channel must be connected again.
pub(crate) fn broken(message: impl Into<String>) -> Failure {
    Failure::Permanent {
        message: message.into(),
        channel_broken: true,
    }
}

/// The replay note of kinds that are never sent again.
const NO_KEY: &str = "not sent again: these platforms take no idempotency key";

/// What "Send test" posts where the platform shows a test message.
pub(crate) const TEST_MESSAGE: &str = "Covalynce is connected: approved cards will be posted here.";

/// Settings of another kind handed to a kind's preview (the dispatch never does this).
pub(crate) fn not_mine(settings: &ChannelSettings) -> String {
    format!(
        "a {} channel's settings were read as another kind's",
        settings.kind().as_str()
    )
}

/// A channel's settings and secrets of two different kinds.
pub(crate) fn mismatch(config: &ChannelConfig, secrets: &ChannelSecrets) -> String {
    format!(
        "the {} channel's stored credentials are {}'s",
        config.kind().as_str(),
        secrets.kind().label()
    )
}

/// A URL from a channel's settings, or why it is not one.
pub(crate) fn url(kind: ChannelKind, raw: &str, name: &str) -> Result<crate::Url, String> {
    crate::Url::parse(raw)
        .map_err(|e| format!("the {} channel's {name} is invalid: {e}", kind.as_str()))
}

macro_rules! platforms {
    ($($kind:ident => $module:ident :: $ty:ident),+ $(,)?) => {
        /// A channel ready to publish: its kind, settings and secrets, parsed.
        #[derive(Clone)]
        pub enum Target {
            $($kind(crate::$module::$ty)),+
        }

        impl Target {
            /// A stored channel, ready to send: its settings, its unsealed secrets (the same
            /// kind's: anything else is refused), and for an outbox `outbox_dir`, the
            /// server's folder for the channel's workspace, where its file lives.
            pub fn open(
                config: &ChannelConfig,
                secrets: &ChannelSecrets,
                outbox_dir: &std::path::Path,
            ) -> Result<Self, String> {
                let at = Opening { outbox_dir };
                match config.kind() {
                    $(ChannelKind::$kind => {
                        <crate::$module::$ty as Platform>::open(config, secrets, &at).map(Target::$kind)
                    })+
                }
            }

            pub fn kind(&self) -> ChannelKind {
                match self {
                    $(Target::$kind(_) => ChannelKind::$kind),+
                }
            }

            /// Whether its posts carry the release image (uploaded with them, alt text set).
            pub fn takes_media(&self) -> bool {
                match self {
                    $(Target::$kind(_) => <crate::$module::$ty as Platform>::TAKES_MEDIA),+
                }
            }

            pub fn recovery(&self) -> Recovery {
                match self {
                    $(Target::$kind(_) => <crate::$module::$ty as Platform>::RECOVERY),+
                }
            }

            /// What a publication sent again after a crash says (for [`Recovery::Replay`]
            /// kinds): whether the repeat can have reached anyone twice.
            pub fn replay_note(&self) -> &'static str {
                match self {
                    $(Target::$kind(_) => <crate::$module::$ty as Platform>::REPLAY_NOTE),+
                }
            }

            /// Sends one publication.
            pub async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
                match self {
                    $(Target::$kind(t) => t.publish(http, post).await),+
                }
            }

            /// Checks the channel works, sending a test message where the platform shows
            /// one. Returns what was done, for the person who asked.
            pub async fn test(&self, http: &Http, channel_id: &str) -> Result<String, Failure> {
                match self {
                    $(Target::$kind(t) => t.test(http, channel_id).await),+
                }
            }
        }

        /// What a channel with `settings` sends for `card` (see [`crate::preview::preview`]).
        pub(crate) fn preview(settings: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
            match settings.kind() {
                $(ChannelKind::$kind => <crate::$module::$ty as Platform>::preview(settings, card)),+
            }
        }

        /// A channel's credentials renewed by its platform (see `Platform::renew`): the
        /// secrets and settings to store. Secrets of another kind than the settings are
        /// refused as unrenewable.
        pub async fn renew(
            http: &Http,
            settings: &ChannelSettings,
            secrets: ChannelSecrets,
        ) -> Result<(ChannelSecrets, ChannelSettings), Failure> {
            if secrets.kind() != settings.kind() {
                return Err(broken(format!(
                    "the {} channel's tokens cannot be renewed",
                    settings.kind().label()
                )));
            }
            match settings.kind() {
                $(ChannelKind::$kind => <crate::$module::$ty as Platform>::renew(http, settings, secrets).await),+
            }
        }

        /// How a channel of `kind` shows a post.
        pub fn look(kind: ChannelKind) -> Look {
            match kind {
                $(ChannelKind::$kind => <crate::$module::$ty as Platform>::LOOK),+
            }
        }
    };
}

platforms! {
    Outbox => outbox::Outbox,
    Webhook => webhook::Webhook,
    Slack => slack::Slack,
    Discord => discord::Discord,
    Mastodon => mastodon::Mastodon,
    Linkedin => linkedin::Linkedin,
    X => x::X,
    Bluesky => bluesky::Bluesky,
    Changelog => changelog::Changelog,
    GithubRelease => github_release::Repo,
}

impl std::fmt::Debug for Target {
    // Webhook URLs of Slack and Discord are credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind().as_str())
    }
}
