//! Publishing: putting an approved card on a channel, exactly once.
//!
//! A stored channel is opened into a [`Target`] (its kind, settings and unsealed secrets,
//! parsed once); [`Target::publish`] sends one publication and says how it went in terms
//! the publisher job can act on: sent (with the post's URL and any pause the platform asked
//! for), worth retrying later, permanently refused (with the platform's own words), or
//! outcome unknown (the request may have reached a platform that cannot be asked).
//!
//! The publisher job (in the server) records a publication as `publishing` before calling
//! a target and the outcome after. What happens to a publication found still `publishing`
//! (the process died mid-send) is the target's [`Recovery`]: replayed where a repeat with
//! the same idempotency key is harmless, otherwise left for a person to check.

pub mod bluesky;
pub mod changelog;
pub mod discord;
pub mod github_release;
pub mod guard;
pub mod image;
pub mod linkedin;
pub mod mastodon;
pub mod outbox;
pub mod platform;
pub mod preview;
pub mod slack;
pub mod webhook;
pub mod x;

pub use covalynce_domain::SentPost;
use std::collections::BTreeMap;
use std::time::Duration;

pub use guard::Http;
pub use platform::{Look, Target, look, renew};
pub use reqwest::Url;

pub use covalynce_domain::channel::{ChannelConfig, ChannelKind, ChannelSecrets, ChannelSettings};

/// One approved card, as a channel needs it.
#[derive(Debug, Clone, Copy)]
pub struct Post<'a> {
    /// The publication (a UUIDv7): Bluesky's record key is made from it.
    pub publication_id: &'a str,
    pub card_id: &'a str,
    pub channel_id: &'a str,
    /// Unique per (card, channel): sent where the platform takes one, so a repeat after a
    /// crash is recognised as the same publication.
    pub idempotency_key: &'a str,
    pub title: &'a str,
    /// MKT, ENG or STRATEGY.
    pub category: &'a str,
    /// Channel kind (linkedin, x, …) → text.
    pub variants: &'a BTreeMap<String, String>,
    /// Release notes (markdown).
    pub release_notes: &'a str,
    /// The source's id for the work (`push:owner/name:SHA`, …).
    pub source: &'a str,
    /// The release the card is about, when it is one (a tag or a release).
    pub release: Option<Release<'a>>,
    /// The release's image, for channels that carry media ([`Target::takes_media`]): on
    /// the first post of a thread.
    pub image: Option<PostImage<'a>>,
    /// The posts of this publication its platform already took (a thread cut off by a
    /// crash, a refusal or a rate limit; sending resumes after them), and where each post
    /// it takes is recorded before the next is sent.
    pub progress: &'a dyn Progress,
}

/// An image a post carries, with the words that describe it to people who cannot see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostImage<'a> {
    pub png: &'a [u8],
    pub alt: &'a str,
    /// Where it is seen on this server without signing in, when the server has a public
    /// address (Slack shows images by address only).
    pub url: Option<&'a str>,
}

/// The release a card is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Release<'a> {
    /// The tag as written (`v2.3.0`).
    pub version: &'a str,
    /// The project's own name.
    pub project: &'a str,
    /// The release's page, when there is one.
    pub url: Option<&'a str>,
}

/// Where a publisher records the posts of a thread as its platform takes them, durably and
/// before it sends the next, so that a publication cut off mid-thread resumes after the
/// last recorded post and no post goes out twice.
pub trait Progress: Sync {
    /// The posts taken so far, in order (as last recorded).
    fn sent(&self) -> Vec<SentPost>;
    /// `posts`: every post taken so far, in order.
    fn record<'a>(
        &'a self,
        posts: &'a [SentPost],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>>;
    /// Keeps a changelog entry in the workspace's own store (the changelog channel), keyed
    /// by its version; returns where the entry is seen. Only the publisher's store can.
    fn shelve<'a>(
        &'a self,
        _entry: &'a changelog::Entry,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<changelog::Shelved, String>> + Send + 'a>,
    > {
        Box::pin(async { Err("nothing here keeps changelog entries".to_owned()) })
    }
}

impl std::fmt::Debug for dyn Progress + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Progress({} sent)", self.sent().len())
    }
}

/// Records nothing (a test message, a channel that posts one message).
pub struct Unrecorded;

impl Progress for Unrecorded {
    fn sent(&self) -> Vec<SentPost> {
        Vec::new()
    }
    fn record<'a>(
        &'a self,
        _: &'a [SentPost],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(async { Ok(()) })
    }
}

/// Sends `posts` in order, each a reply to the one before (`one(n, text, root, parent)`
/// sends post `n` from 0), starting after the posts `post.progress` says went out already, and
/// records each before the next. A post that fails stops the thread: the failure says how
/// much is out, and the next attempt resumes at that post.
pub(crate) async fn send_thread<F, Fut>(
    platform: &str,
    posts: &[String],
    post: &Post<'_>,
    mut one: F,
) -> Result<Sent, Failure>
where
    F: FnMut(usize, String, Option<SentPost>, Option<SentPost>) -> Fut,
    Fut: std::future::Future<Output = Result<(SentPost, Option<i64>), Failure>>,
{
    let total = posts.len();
    let mut done: Vec<SentPost> = post.progress.sent();
    if done.len() > total {
        // Everything (and more) went out before: nothing to send again.
        done.truncate(total);
    }
    let mut pause_until = None;
    for (n, text) in posts.iter().enumerate().skip(done.len()) {
        let sent = one(n, text.clone(), done.first().cloned(), done.last().cloned())
            .await
            .map_err(|e| e.after_posts(platform, done.len(), total, done.first()))?;
        pause_until = sent.1.or(pause_until);
        done.push(sent.0);
        post.progress.record(&done).await.map_err(|e| Failure::Unknown {
            message: format!(
                "post {} of {total} is on {platform}, but Covalynce could not record it ({e}); look at the account, then retry or confirm the publication",
                done.len()
            ),
        })?;
    }
    Ok(Sent {
        url: done.first().and_then(|p| p.url.clone()),
        pause_until,
        note: None,
    })
}

impl Post<'_> {
    /// The text drafted for `variant`, else LinkedIn's (the fullest), else any.
    pub fn text_for(&self, variant: &str) -> &str {
        preview::pick(self.variants, variant).map_or(self.title, |(_, text)| text)
    }
}

/// A publication that went out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sent {
    /// Where it can be seen, when the platform says.
    pub url: Option<String>,
    /// The platform asked for no more requests before this time (Unix ms): its rate-limit
    /// headers said the budget is spent.
    pub pause_until: Option<i64>,
    /// It went out, with something a person should know (a link reply that failed).
    pub note: Option<String>,
}

/// Why a publication did not go out (or may not have).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// Not published; worth trying again (rate limited, the platform is down, the network
    /// failed before the request was sent). `after`: the wait the platform asked for.
    #[error("{message}")]
    Retry {
        message: String,
        after: Option<Duration>,
    },
    /// Not published, and trying again cannot help until a person changes something.
    /// `channel_broken`: the channel itself no longer works (revoked, deleted, archived).
    #[error("{message}")]
    Permanent {
        message: String,
        channel_broken: bool,
    },
    /// The request may have reached a platform that cannot be asked whether it did: a
    /// person has to look before it is sent again.
    #[error("{message}")]
    Unknown { message: String },
    /// Not published: the platform refused the access token as expired or revoked. Where
    /// the channel holds a refresh token, renewing it and sending again may work;
    /// otherwise a person must connect the account again.
    #[error("{message}")]
    Expired { message: String },
}

impl Failure {
    /// The same failure, saying which posts of a thread went out before it: `done` of
    /// `total` (nothing is added for a single post or the first of a thread).
    fn after_posts(
        self,
        platform: &str,
        done: usize,
        total: usize,
        first: Option<&SentPost>,
    ) -> Self {
        if done == 0 {
            return self;
        }
        let at = first
            .and_then(|p| p.url.as_deref())
            .map(|u| format!(" ({u})"))
            .unwrap_or_default();
        let out = if done == 1 {
            format!("post 1 of {total} is on {platform}{at}")
        } else {
            format!("posts 1–{done} of {total} are on {platform}{at}")
        };
        let next = done + 1;
        let say =
            |m: String| format!("{out}; post {next}: {m}; sending again resumes at post {next}");
        match self {
            Failure::Retry { message, after } => Failure::Retry {
                message: say(message),
                after,
            },
            Failure::Permanent {
                message,
                channel_broken,
            } => Failure::Permanent {
                message: say(message),
                channel_broken,
            },
            Failure::Unknown { message } => Failure::Unknown {
                message: format!("{out}; post {next} may or may not be: {message}"),
            },
            Failure::Expired { message } => Failure::Expired { message },
        }
    }

    fn permanent(message: impl Into<String>) -> Self {
        Failure::Permanent {
            message: message.into(),
            channel_broken: false,
        }
    }

    pub fn broken(message: impl Into<String>) -> Self {
        Failure::Permanent {
            message: message.into(),
            channel_broken: true,
        }
    }

    fn retry(message: impl Into<String>, after: Option<Duration>) -> Self {
        Failure::Retry {
            message: message.into(),
            after,
        }
    }

    /// A request that is safe to repeat (a read, a token exchange) failed to get an
    /// answer: refused by the guard, or worth trying again.
    fn unanswered(e: reqwest::Error, platform: &str) -> Self {
        match guard::SendError::from_reqwest(e, platform) {
            guard::SendError::Refused(m) => Failure::broken(m),
            guard::SendError::NotSent(m) | guard::SendError::MaybeSent(m) => {
                Failure::retry(m, None)
            }
        }
    }

    /// A post without an idempotency key failed to get an answer: if it may have arrived,
    /// a person must look (`where_` says where) before it is sent again.
    fn unanswered_post(e: reqwest::Error, platform: &str, where_: &str) -> Self {
        match guard::SendError::from_reqwest(e, platform) {
            guard::SendError::Refused(m) => Failure::broken(m),
            guard::SendError::NotSent(m) => Failure::retry(m, None),
            guard::SendError::MaybeSent(m) => Failure::Unknown {
                message: format!("{m}; {where_}, then retry or confirm the publication"),
            },
        }
    }
}

/// One part of a `multipart/form-data` body.
pub(crate) struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a str>,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// A `multipart/form-data` body: (its content type, the bytes). The boundary is long and
/// random, so it is in none of the parts.
pub(crate) fn multipart(parts: &[Part<'_>]) -> (String, Vec<u8>) {
    let boundary = format!("covalynce-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.bytes.len() + 200).sum());
    for part in parts {
        let filename = part
            .filename
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"{filename}\r\nContent-Type: {}\r\n\r\n",
                part.name, part.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(part.bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Sends a request that is safe to repeat (a read, a token exchange): refused by the guard,
/// the channel is broken; no answer, it is worth trying again.
pub(crate) async fn fetch(
    request: Result<reqwest::RequestBuilder, guard::Refused>,
    platform: &str,
) -> Result<reqwest::Response, Failure> {
    request
        .map_err(|r| Failure::broken(r.0))?
        .send()
        .await
        .map_err(|e| Failure::unanswered(e, platform))
}

/// What to do with a publication found still `publishing`: the process sending it stopped
/// before the outcome was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Send it again: the channel recognises the idempotency key and keeps one copy.
    Replay,
    /// The platform takes no key and cannot be asked: mark it `unknown` for a person.
    AskAPerson,
}

/// A platform's error body, fit to show on a card: one line, at most 300 characters.
pub(crate) fn snippet(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.chars().count() > 300 {
        format!("{}…", trimmed.chars().take(300).collect::<String>())
    } else {
        trimmed.to_owned()
    }
}

/// When a platform's rate limit resets (header `name`, epoch seconds), as a wait from now.
pub(crate) fn reset_wait(headers: &reqwest::header::HeaderMap, name: &str) -> Option<Duration> {
    let reset: i64 = headers.get(name)?.to_str().ok()?.trim().parse().ok()?;
    let wait_ms = (reset * 1000 - covalynce_domain::now_millis()).clamp(1_000, 86_400_000);
    Some(Duration::from_millis(wait_ms as u64))
}

/// `Retry-After` in seconds (the form Slack and Discord send; fractions allowed).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stored channel as the publisher reads it: its kind, settings and sealed secrets'
    /// plain JSON, each parsed as that kind's.
    fn open(kind: &str, config: Value, secrets: Option<Value>) -> Result<Target, String> {
        let dir = std::path::Path::new("/srv/covalynce/outbox/ws1");
        let kind = ChannelKind::parse(kind).ok_or_else(|| format!("no {kind} channels"))?;
        let config = ChannelConfig::parse(kind, &config).map_err(|e| e.to_string())?;
        let plain = secrets.map(|s| serde_json::to_vec(&s).unwrap());
        let secrets = ChannelSecrets::parse(kind, plain.as_deref()).map_err(|e| e.to_string())?;
        Target::open(&config, &secrets, dir)
    }

    use serde_json::{Value, json};

    #[test]
    fn stored_channels_open_into_targets_and_never_print_their_secrets() {
        let slack = open(
            "slack",
            json!({"webhook": "https://hooks.slack.com/services/T0/B0/…"}),
            Some(json!({"url": "https://hooks.slack.com/services/T0/B0/secretpart"})),
        )
        .unwrap();
        assert_eq!(slack.kind(), ChannelKind::Slack);
        assert_eq!(format!("{slack:?}"), "slack");
        assert_eq!(slack.recovery(), Recovery::AskAPerson);
        let err = open(
            "discord",
            json!({"webhook": "https://discord.com/api/webhooks/1/…"}),
            Some(json!({})),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "the discord channel's credentials are not a discord channel's"
        );
        assert!(open("fax", Value::Null, None).is_err());
        let hook = open(
            "webhook",
            json!({"url": "https://example.com/in"}),
            Some(json!({"secret": "s"})),
        )
        .unwrap();
        assert_eq!(hook.recovery(), Recovery::Replay);
        // A secret that does not read as its kind's is refused without quoting it.
        let err = open(
            "mastodon",
            json!({"instance": "https://mastodon.social", "account": "ada"}),
            Some(json!({"token": 12345678})),
        )
        .unwrap_err();
        assert!(!err.contains("12345678"), "{err}");
        // Settings a stored row must have are required, not defaulted.
        assert!(open("x", json!({}), Some(json!({"access_token": "t"}))).is_err());
        assert!(open("outbox", json!({"daily_cap": "many"}), None).is_err());
        // Secrets are never printed, whatever their kind.
        let secrets =
            ChannelSecrets::parse(ChannelKind::Mastodon, Some(br#"{"token": "hunter2"}"#)).unwrap();
        assert!(!format!("{secrets:?}").contains("hunter2"));
        // Settings and secrets of two kinds do not make a target.
        let config = ChannelConfig::parse(
            ChannelKind::Webhook,
            &json!({"url": "https://example.com/in"}),
        )
        .unwrap();
        let err = Target::open(
            &config,
            &ChannelSecrets::Outbox,
            std::path::Path::new("/srv"),
        )
        .unwrap_err();
        assert!(err.contains("the outbox"), "{err}");
    }

    #[test]
    fn stored_settings_read_back_as_they_were_written() {
        let v = json!({
            "api_base": "https://api.x.com",
            "account": "ada",
            "user_id": "42",
            "expires_at": 1700000000000i64,
            "client_id": "cid",
            "renewable": true,
            "thread": true,
            "link_in_reply": false,
            "daily_cap": 5,
        });
        let config = ChannelConfig::parse(ChannelKind::X, &v).unwrap();
        assert_eq!(config.daily_cap, Some(5));
        assert!(config.renewable());
        assert_eq!(config.to_value(), v);
    }

    #[test]
    fn an_outbox_writes_only_inside_its_workspace_folder() {
        let dir = std::path::Path::new("/srv/covalynce/outbox/ws1");
        let open = |config: Value| open("outbox", config, None);
        let Target::Outbox(o) = open(json!({"file": "launches.jsonl"})).unwrap() else {
            panic!("an outbox")
        };
        assert_eq!(o.path, dir.join("launches.jsonl"));
        let Target::Outbox(o) = open(json!({})).unwrap() else {
            panic!("an outbox")
        };
        assert_eq!(o.path, dir.join("outbox.jsonl"));
        // A channel stored before files were confined names a server path: it is refused,
        // not followed.
        let err = open(json!({"path": "/home/covalynce/.bashrc"})).unwrap_err();
        assert!(
            err.contains("delete it and add an outbox with a file name"),
            "{err}"
        );
        for bad in ["../x.jsonl", "/etc/cron.d/x", "a/b", ".bashrc", "..", ""] {
            assert!(open(json!({"file": bad})).is_err(), "{bad}");
        }
    }

    #[test]
    fn retry_after_is_read_in_seconds_with_fractions() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", "1.5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn error_bodies_are_shown_on_one_short_line() {
        assert_eq!(snippet("  channel_not_found\n"), "channel_not_found");
        let long = "x".repeat(400);
        assert_eq!(snippet(&long).chars().count(), 301);
    }
}
