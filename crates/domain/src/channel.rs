//! A channel's kind, settings and secrets as types: one enum per kind, shared by channel
//! creation (the API), storage (a stored value no version wrote is refused when read,
//! never defaulted), credential renewal and `publishing` (which sends with them).
//!
//! Settings are the channel's `config` column: shown to members, never secret. Secrets are
//! sealed by the server before they are stored; only their plain JSON shape lives here.
//! Both keep the JSON shape earlier releases wrote, so stored channels read unchanged.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of channel that publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Outbox,
    Webhook,
    Slack,
    Discord,
    Mastodon,
    Linkedin,
    X,
    Bluesky,
    /// The workspace's public changelog page and feeds, on this server.
    Changelog,
    /// The release notes of a GitHub repository's release for the card's tag.
    GithubRelease,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 10] = [
        ChannelKind::Outbox,
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Mastodon,
        ChannelKind::Linkedin,
        ChannelKind::X,
        ChannelKind::Bluesky,
        ChannelKind::Changelog,
        ChannelKind::GithubRelease,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The platform's name, as people write it.
    pub fn label(self) -> &'static str {
        match self {
            ChannelKind::Outbox => "the outbox",
            ChannelKind::Webhook => "the webhook",
            ChannelKind::Slack => "Slack",
            ChannelKind::Discord => "Discord",
            ChannelKind::Mastodon => "Mastodon",
            ChannelKind::Linkedin => "LinkedIn",
            ChannelKind::X => "X",
            ChannelKind::Bluesky => "Bluesky",
            ChannelKind::Changelog => "the changelog",
            ChannelKind::GithubRelease => "GitHub Releases",
        }
    }

    /// Whether it takes only release cards (its text is the release notes).
    pub fn release_only(self) -> bool {
        matches!(self, ChannelKind::Changelog | ChannelKind::GithubRelease)
    }

    /// The platform's name as a heading or a default channel name ("Outbox", "X"):
    /// [`label`](Self::label) without its article.
    pub fn heading(self) -> &'static str {
        match self {
            ChannelKind::Outbox => "Outbox",
            ChannelKind::Webhook => "Webhook",
            ChannelKind::Changelog => "Changelog",
            other => other.label(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Outbox => "outbox",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Mastodon => "mastodon",
            ChannelKind::Linkedin => "linkedin",
            ChannelKind::X => "x",
            ChannelKind::Bluesky => "bluesky",
            ChannelKind::Changelog => "changelog",
            ChannelKind::GithubRelease => "github_release",
        }
    }

    /// Whether its tokens can be renewed by Covalynce (X, LinkedIn, Bluesky sessions).
    pub fn has_tokens(self) -> bool {
        // Every kind named: a new one says whether its tokens expire (and then implements
        // `renew` in `publishing`).
        match self {
            ChannelKind::Linkedin | ChannelKind::X | ChannelKind::Bluesky => true,
            ChannelKind::Outbox
            | ChannelKind::Webhook
            | ChannelKind::Slack
            | ChannelKind::Discord
            | ChannelKind::Mastodon
            | ChannelKind::Changelog
            | ChannelKind::GithubRelease => false,
        }
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which drafted variant a channel that takes any text sends (outbox, webhook).
fn default_variant() -> String {
    "linkedin".to_owned()
}

/// An outbox's file when none is named.
pub const OUTBOX_FILE: &str = "outbox.jsonl";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxSettings {
    /// A file name in the workspace's own folder of the server's data dir (none:
    /// [`OUTBOX_FILE`]). Outboxes that named a path stored none, and show none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default = "default_variant")]
    pub variant: String,
    /// A path on the server, as outboxes stored before they were confined: such a channel
    /// is stopped at start and cannot publish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSettings {
    pub url: String,
    #[serde(default = "default_variant")]
    pub variant: String,
}

/// Slack and Discord: the incoming webhook's URL is the credential; this is it masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingWebhookSettings {
    pub webhook: String,
}

fn default_max_characters() -> u64 {
    500
}

fn default_url_cost() -> u64 {
    23
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MastodonSettings {
    pub instance: String,
    #[serde(default)]
    pub account: String,
    /// The instance's own post length.
    #[serde(default = "default_max_characters")]
    pub max_characters: u64,
    /// What a link counts, whatever its length.
    #[serde(default = "default_url_cost")]
    pub characters_reserved_per_url: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedinSettings {
    pub api_base: String,
    /// `urn:li:person:…` or `urn:li:organization:…`.
    pub author: String,
    #[serde(default)]
    pub account: Option<String>,
    /// When the access token stops working (Unix ms), if known.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub renewable: bool,
    #[serde(default)]
    pub client_id: Option<String>,
    /// Where the OAuth token endpoint lives (`https://www.linkedin.com`, a test server).
    #[serde(default)]
    pub web_base: Option<String>,
    #[serde(default)]
    pub refresh_expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XSettings {
    pub api_base: String,
    /// The account's username, for the post's URL.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub renewable: bool,
    /// Post a text longer than 280 as a thread (else refuse it).
    #[serde(default)]
    pub thread: bool,
    /// Links go in a reply instead of the post.
    #[serde(default)]
    pub link_in_reply: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueskySettings {
    pub service: String,
    /// What it signs in with again when the session cannot be renewed.
    #[serde(default)]
    pub identifier: Option<String>,
    /// The handle.
    pub account: String,
    pub did: String,
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub renewable: bool,
    /// Where posts are seen (`https://bsky.app`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_base: Option<String>,
}

/// The public changelog takes no settings: what it shows is the workspace's (on or off,
/// which sources), and each entry is the card's release notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangelogSettings {}

/// A GitHub repository's releases, written with the token of the workspace's GitHub
/// source for it (copied, sealed, when the channel is made).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubReleaseSettings {
    pub api_base: String,
    /// `owner/name`.
    pub repo: String,
    /// The source whose token it took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A release that does not exist yet is made as a draft for a person to publish.
    #[serde(default)]
    pub draft: bool,
}

/// A channel's settings, one shape per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelSettings {
    Outbox(OutboxSettings),
    Webhook(WebhookSettings),
    Slack(IncomingWebhookSettings),
    Discord(IncomingWebhookSettings),
    Mastodon(MastodonSettings),
    Linkedin(LinkedinSettings),
    X(XSettings),
    Bluesky(BlueskySettings),
    Changelog(ChangelogSettings),
    GithubRelease(GithubReleaseSettings),
}

/// A channel's stored settings: its kind's own, and what every kind has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelConfig {
    pub settings: ChannelSettings,
    /// At most this many publications per UTC day.
    pub daily_cap: Option<i64>,
}

/// A channel's settings or secrets that do not read as its kind's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadChannel(pub String);

impl std::fmt::Display for BadChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadChannel {}

fn read<T: serde::de::DeserializeOwned>(
    kind: ChannelKind,
    what: &str,
    v: &Value,
) -> Result<T, BadChannel> {
    T::deserialize(v).map_err(|e| BadChannel(format!("the {kind} channel's {what}: {e}")))
}

fn write<T: Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("settings serialise to JSON")
}

impl ChannelConfig {
    pub fn new(settings: ChannelSettings) -> Self {
        Self {
            settings,
            daily_cap: None,
        }
    }

    /// The settings a channel of `kind` stored.
    pub fn parse(kind: ChannelKind, v: &Value) -> Result<Self, BadChannel> {
        let settings = match kind {
            ChannelKind::Outbox => ChannelSettings::Outbox(read(kind, "settings", v)?),
            ChannelKind::Webhook => ChannelSettings::Webhook(read(kind, "settings", v)?),
            ChannelKind::Slack => ChannelSettings::Slack(read(kind, "settings", v)?),
            ChannelKind::Discord => ChannelSettings::Discord(read(kind, "settings", v)?),
            ChannelKind::Mastodon => ChannelSettings::Mastodon(read(kind, "settings", v)?),
            ChannelKind::Linkedin => ChannelSettings::Linkedin(read(kind, "settings", v)?),
            ChannelKind::X => ChannelSettings::X(read(kind, "settings", v)?),
            ChannelKind::Bluesky => ChannelSettings::Bluesky(read(kind, "settings", v)?),
            ChannelKind::Changelog => {
                // `daily_cap` sits beside every kind's own settings.
                let mut own = v.clone();
                if let Some(o) = own.as_object_mut() {
                    o.remove("daily_cap");
                }
                ChannelSettings::Changelog(read(kind, "settings", &own)?)
            }
            ChannelKind::GithubRelease => {
                ChannelSettings::GithubRelease(read(kind, "settings", v)?)
            }
        };
        let daily_cap = match v.get("daily_cap") {
            None | Some(Value::Null) => None,
            Some(c) => Some(c.as_i64().filter(|c| *c > 0).ok_or_else(|| {
                BadChannel(format!(
                    "the {kind} channel's daily_cap is {c}, not a positive number"
                ))
            })?),
        };
        Ok(Self {
            settings,
            daily_cap,
        })
    }

    pub fn kind(&self) -> ChannelKind {
        self.settings.kind()
    }

    /// As stored and shown: the kind's settings, with `daily_cap` beside them.
    pub fn to_value(&self) -> Value {
        let mut v = match &self.settings {
            ChannelSettings::Outbox(s) => write(s),
            ChannelSettings::Webhook(s) => write(s),
            ChannelSettings::Slack(s) | ChannelSettings::Discord(s) => write(s),
            ChannelSettings::Mastodon(s) => write(s),
            ChannelSettings::Linkedin(s) => write(s),
            ChannelSettings::X(s) => write(s),
            ChannelSettings::Bluesky(s) => write(s),
            ChannelSettings::Changelog(s) => write(s),
            ChannelSettings::GithubRelease(s) => write(s),
        };
        if let Some(cap) = self.daily_cap {
            v["daily_cap"] = cap.into();
        }
        v
    }

    /// Whether Covalynce renews its tokens before they end.
    pub fn renewable(&self) -> bool {
        self.token_life().is_some_and(|(renewable, _)| renewable)
    }

    /// When its access token stops working (Unix ms), if known.
    pub fn expires_at(&self) -> Option<i64> {
        self.token_life().and_then(|(_, expires_at)| expires_at)
    }

    /// For a kind whose access token expires: whether Covalynce renews it, and when it
    /// ends. Every kind is named (no `_`): a new one says here whether its tokens expire.
    fn token_life(&self) -> Option<(bool, Option<i64>)> {
        match &self.settings {
            ChannelSettings::Linkedin(s) => Some((s.renewable, s.expires_at)),
            ChannelSettings::X(s) => Some((s.renewable, s.expires_at)),
            ChannelSettings::Bluesky(s) => Some((s.renewable, s.expires_at)),
            ChannelSettings::Outbox(_)
            | ChannelSettings::Webhook(_)
            | ChannelSettings::Slack(_)
            | ChannelSettings::Discord(_)
            | ChannelSettings::Mastodon(_)
            | ChannelSettings::Changelog(_)
            | ChannelSettings::GithubRelease(_) => None,
        }
    }

    /// By when someone must connect the channel again (Unix ms), and what runs out then, if
    /// anything known does: a channel that renews its own token runs out only when what
    /// renews it does (LinkedIn's refresh token; X's and Bluesky's renew for as long as
    /// they are used).
    pub fn reconnect_by(&self) -> Option<(i64, Expiring)> {
        if self.renewable() {
            match &self.settings {
                ChannelSettings::Linkedin(s) => {
                    s.refresh_expires_at.map(|at| (at, Expiring::RefreshToken))
                }
                _ => None,
            }
        } else {
            self.expires_at().map(|at| (at, Expiring::AccessToken))
        }
    }
}

/// What of a channel's credentials runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiring {
    AccessToken,
    RefreshToken,
}

impl Expiring {
    pub fn as_str(self) -> &'static str {
        match self {
            Expiring::AccessToken => "the token",
            Expiring::RefreshToken => "the refresh token",
        }
    }
}

impl ChannelSettings {
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelSettings::Outbox(_) => ChannelKind::Outbox,
            ChannelSettings::Webhook(_) => ChannelKind::Webhook,
            ChannelSettings::Slack(_) => ChannelKind::Slack,
            ChannelSettings::Discord(_) => ChannelKind::Discord,
            ChannelSettings::Mastodon(_) => ChannelKind::Mastodon,
            ChannelSettings::Linkedin(_) => ChannelKind::Linkedin,
            ChannelSettings::X(_) => ChannelKind::X,
            ChannelSettings::Bluesky(_) => ChannelKind::Bluesky,
            ChannelSettings::Changelog(_) => ChannelKind::Changelog,
            ChannelSettings::GithubRelease(_) => ChannelKind::GithubRelease,
        }
    }
}

/// An OAuth 2.0 grant: the access token, and what renews it when the channel can.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokens {
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// The secret of the client that granted them (a public client has none).
    #[serde(default)]
    pub client_secret: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlueskySession {
    /// Used again only when the session cannot be renewed.
    pub app_password: String,
    pub access_jwt: String,
    #[serde(default)]
    pub refresh_jwt: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningSecret {
    pub secret: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookUrl {
    pub url: String,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessToken {
    pub token: String,
}

/// A channel's credentials, one shape per kind, as they are sealed. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum ChannelSecrets {
    /// An outbox needs none.
    Outbox,
    Webhook(SigningSecret),
    Slack(WebhookUrl),
    Discord(WebhookUrl),
    Mastodon(AccessToken),
    Linkedin(OAuthTokens),
    X(OAuthTokens),
    Bluesky(BlueskySession),
    /// The changelog is this server's own page: no credentials.
    Changelog,
    GithubRelease(AccessToken),
}

impl std::fmt::Debug for ChannelSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelSecrets::{}(…)", self.kind())
    }
}

impl ChannelSecrets {
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelSecrets::Outbox => ChannelKind::Outbox,
            ChannelSecrets::Webhook(_) => ChannelKind::Webhook,
            ChannelSecrets::Slack(_) => ChannelKind::Slack,
            ChannelSecrets::Discord(_) => ChannelKind::Discord,
            ChannelSecrets::Mastodon(_) => ChannelKind::Mastodon,
            ChannelSecrets::Linkedin(_) => ChannelKind::Linkedin,
            ChannelSecrets::X(_) => ChannelKind::X,
            ChannelSecrets::Bluesky(_) => ChannelKind::Bluesky,
            ChannelSecrets::Changelog => ChannelKind::Changelog,
            ChannelSecrets::GithubRelease(_) => ChannelKind::GithubRelease,
        }
    }

    /// The secrets a channel of `kind` sealed (their plain JSON); an outbox's are none.
    pub fn parse(kind: ChannelKind, plain: Option<&[u8]>) -> Result<Self, BadChannel> {
        let v: Value = match plain {
            None if kind == ChannelKind::Outbox => return Ok(ChannelSecrets::Outbox),
            None if kind == ChannelKind::Changelog => return Ok(ChannelSecrets::Changelog),
            None => return Err(BadChannel(format!("the {kind} channel has no credentials"))),
            Some(bytes) => serde_json::from_slice(bytes).map_err(|_| {
                BadChannel(format!("the {kind} channel's credentials are not JSON"))
            })?,
        };
        Ok(match kind {
            ChannelKind::Outbox => ChannelSecrets::Outbox,
            ChannelKind::Webhook => ChannelSecrets::Webhook(read_secret(kind, &v)?),
            ChannelKind::Slack => ChannelSecrets::Slack(read_secret(kind, &v)?),
            ChannelKind::Discord => ChannelSecrets::Discord(read_secret(kind, &v)?),
            ChannelKind::Mastodon => ChannelSecrets::Mastodon(read_secret(kind, &v)?),
            ChannelKind::Linkedin => ChannelSecrets::Linkedin(read_secret(kind, &v)?),
            ChannelKind::X => ChannelSecrets::X(read_secret(kind, &v)?),
            ChannelKind::Bluesky => ChannelSecrets::Bluesky(read_secret(kind, &v)?),
            ChannelKind::Changelog => ChannelSecrets::Changelog,
            ChannelKind::GithubRelease => ChannelSecrets::GithubRelease(read_secret(kind, &v)?),
        })
    }

    /// The plain JSON to seal; none for an outbox.
    pub fn to_json(&self) -> Option<Vec<u8>> {
        let v = match self {
            ChannelSecrets::Outbox | ChannelSecrets::Changelog => return None,
            ChannelSecrets::Webhook(s) => write(s),
            ChannelSecrets::Slack(s) | ChannelSecrets::Discord(s) => write(s),
            ChannelSecrets::Mastodon(s) | ChannelSecrets::GithubRelease(s) => write(s),
            ChannelSecrets::Linkedin(s) | ChannelSecrets::X(s) => write(s),
            ChannelSecrets::Bluesky(s) => write(s),
        };
        Some(serde_json::to_vec(&v).expect("secrets serialise to JSON"))
    }
}

fn read_secret<T: serde::de::DeserializeOwned>(
    kind: ChannelKind,
    v: &Value,
) -> Result<T, BadChannel> {
    // Serde's message may quote the value it could not read: a secret never reaches an
    // error, so only the kind is named.
    T::deserialize(v).map_err(|_| {
        BadChannel(format!(
            "the {kind} channel's credentials are not a {kind} channel's"
        ))
    })
}

impl Serialize for ChannelKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for ChannelConfig {
    /// As stored and shown (see [`ChannelConfig::to_value`]).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The Channels page says by when to connect again: what runs out first that
    /// Covalynce cannot renew.
    #[test]
    fn a_channel_is_connected_again_when_what_renews_it_runs_out() {
        let config = |kind, v| ChannelConfig::parse(kind, &v).expect("a stored shape");
        let linkedin = |renewable: bool| {
            config(
                ChannelKind::Linkedin,
                json!({"api_base": "https://api.linkedin.com", "author": "urn:li:person:1", "expires_at": 10, "renewable": renewable, "refresh_expires_at": 20}),
            )
        };
        assert_eq!(
            linkedin(false).reconnect_by(),
            Some((10, Expiring::AccessToken))
        );
        assert_eq!(
            linkedin(true).reconnect_by(),
            Some((20, Expiring::RefreshToken))
        );
        // X and Bluesky renew for as long as they are used; a webhook never runs out.
        let x = config(
            ChannelKind::X,
            json!({"api_base": "https://api.x.com", "expires_at": 10, "renewable": true}),
        );
        assert_eq!(x.reconnect_by(), None);
        let slack = config(
            ChannelKind::Slack,
            json!({"webhook": "https://hooks.slack.com/services/T0/B0/x"}),
        );
        assert_eq!(slack.reconnect_by(), None);
    }

    /// Every shape a release of Covalynce stored reads back, and is written again as it
    /// was: channels made before these types existed keep working and look the same.
    #[test]
    fn the_shapes_earlier_releases_stored_read_and_write_unchanged() {
        let settings = [
            (
                ChannelKind::Outbox,
                json!({"file": "outbox.jsonl", "variant": "linkedin"}),
            ),
            (
                ChannelKind::Outbox,
                json!({"path": "/home/ada/out.jsonl", "variant": "x"}),
            ),
            (
                ChannelKind::Webhook,
                json!({"url": "https://example.com/in", "variant": "linkedin", "daily_cap": 5}),
            ),
            (
                ChannelKind::Slack,
                json!({"webhook": "https://hooks.slack.com/services/T0/B0/…"}),
            ),
            (
                ChannelKind::Discord,
                json!({"webhook": "https://discord.com/api/webhooks/1/…"}),
            ),
            (
                ChannelKind::Mastodon,
                json!({"instance": "https://mastodon.social", "account": "ada", "max_characters": 500, "characters_reserved_per_url": 23}),
            ),
            (
                ChannelKind::Linkedin,
                json!({"api_base": "https://api.linkedin.com", "author": "urn:li:person:1", "account": "Ada", "expires_at": 1, "renewable": false, "client_id": null, "web_base": null, "refresh_expires_at": null}),
            ),
            (
                ChannelKind::X,
                json!({"api_base": "https://api.x.com", "account": "ada", "user_id": "1", "expires_at": null, "client_id": null, "renewable": false, "thread": false, "link_in_reply": true}),
            ),
            (
                ChannelKind::Bluesky,
                json!({"service": "https://bsky.social", "identifier": "ada.bsky.social", "account": "ada.bsky.social", "did": "did:plc:ada", "expires_at": 2, "renewable": true}),
            ),
            (ChannelKind::Changelog, json!({})),
            (ChannelKind::Changelog, json!({"daily_cap": 3})),
            (
                ChannelKind::GithubRelease,
                json!({"api_base": "https://api.github.com", "repo": "acme/rocket", "source": "0190a0a0-0000-7000-8000-000000000000", "draft": true}),
            ),
        ];
        for (kind, v) in settings {
            let config = ChannelConfig::parse(kind, &v).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(config.kind(), kind);
            assert_eq!(config.to_value(), v, "{kind}");
        }
        let secrets = [
            (ChannelKind::Webhook, json!({"secret": "s"})),
            (
                ChannelKind::Slack,
                json!({"url": "https://hooks.slack.com/services/T0/B0/x"}),
            ),
            (ChannelKind::Mastodon, json!({"token": "t"})),
            (
                ChannelKind::Linkedin,
                json!({"access_token": "a", "refresh_token": null, "client_secret": null}),
            ),
            (
                ChannelKind::X,
                json!({"access_token": "a", "refresh_token": "r", "client_secret": null}),
            ),
            (
                ChannelKind::Bluesky,
                json!({"app_password": "p", "access_jwt": "a", "refresh_jwt": "r"}),
            ),
        ];
        for (kind, v) in secrets {
            let plain = serde_json::to_vec(&v).unwrap();
            let parsed = ChannelSecrets::parse(kind, Some(&plain)).unwrap();
            assert_eq!(parsed.kind(), kind);
            let again: Value = serde_json::from_slice(&parsed.to_json().unwrap()).unwrap();
            assert_eq!(again, v, "{kind}");
        }
        // What no release wrote is refused, not defaulted.
        assert!(ChannelConfig::parse(ChannelKind::Slack, &json!({})).is_err());
        assert!(
            ChannelConfig::parse(
                ChannelKind::Bluesky,
                &json!({"service": "https://bsky.social"})
            )
            .is_err()
        );
        assert!(ChannelSecrets::parse(ChannelKind::Mastodon, None).is_err());
        assert_eq!(
            ChannelSecrets::parse(ChannelKind::Outbox, None).unwrap(),
            ChannelSecrets::Outbox
        );
    }
}
