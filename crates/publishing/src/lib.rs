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
pub mod preview;
pub mod slack;
pub mod webhook;
pub mod x;

pub use covalynce_domain::SentPost;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use guard::Http;
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

/// A channel ready to publish: its kind, settings and secrets, parsed.
#[derive(Clone)]
pub enum Target {
    Outbox {
        path: PathBuf,
        variant: String,
    },
    Webhook {
        url: Url,
        secret: Vec<u8>,
        variant: String,
    },
    Slack {
        url: Url,
    },
    Discord {
        url: Url,
    },
    Mastodon {
        instance: Url,
        token: String,
        max_characters: usize,
        per_url: usize,
    },
    Linkedin {
        api: Url,
        token: String,
        /// `urn:li:person:…` or `urn:li:organization:…`.
        author: String,
        /// When the token stops working (Unix ms), if known.
        expires_at: Option<i64>,
    },
    X {
        api: Url,
        token: String,
        /// The account's username, for the post's URL.
        username: Option<String>,
        options: x::Options,
    },
    Bluesky {
        service: Url,
        did: String,
        handle: String,
        access_jwt: String,
        /// Where posts are seen (`https://bsky.app`).
        web: String,
    },
    Changelog,
    GithubRelease(github_release::Repo),
}

impl std::fmt::Debug for Target {
    // Webhook URLs of Slack and Discord are credentials: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind().as_str())
    }
}

impl Target {
    /// A stored channel, ready to send: its settings, its unsealed secrets (the same kind's:
    /// anything else is refused), and for an outbox `outbox_dir`, the server's folder for
    /// the channel's workspace, where its file lives.
    pub fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        outbox_dir: &std::path::Path,
    ) -> Result<Self, String> {
        let kind = config.kind();
        let url = |raw: &str, name: &str| {
            Url::parse(raw)
                .map_err(|e| format!("the {} channel's {name} is invalid: {e}", kind.as_str()))
        };
        use ChannelSecrets as S;
        use ChannelSettings as C;
        Ok(match (&config.settings, secrets) {
            (C::Outbox(o), S::Outbox) => {
                if o.path.is_some() {
                    return Err(outbox::LEGACY_PATH.to_owned());
                }
                let file =
                    outbox::OutboxFile::parse(o.file.as_deref().unwrap_or(outbox::DEFAULT_FILE))?;
                Target::Outbox {
                    path: file.within(outbox_dir),
                    variant: o.variant.clone(),
                }
            }
            (C::Webhook(w), S::Webhook(s)) => Target::Webhook {
                url: url(&w.url, "url")?,
                secret: s.secret.clone().into_bytes(),
                variant: w.variant.clone(),
            },
            (C::Slack(_), S::Slack(s)) => Target::Slack {
                url: url(&s.url, "url")?,
            },
            (C::Discord(_), S::Discord(s)) => Target::Discord {
                url: url(&s.url, "url")?,
            },
            (C::Mastodon(m), S::Mastodon(s)) => Target::Mastodon {
                instance: url(&m.instance, "instance")?,
                token: s.token.clone(),
                max_characters: m.max_characters as usize,
                per_url: m.characters_reserved_per_url as usize,
            },
            (C::Linkedin(l), S::Linkedin(s)) => Target::Linkedin {
                api: url(&l.api_base, "api_base")?,
                token: s.access_token.clone(),
                author: l.author.clone(),
                expires_at: l.expires_at,
            },
            (C::X(x), S::X(s)) => Target::X {
                api: url(&x.api_base, "api_base")?,
                token: s.access_token.clone(),
                username: x.account.clone(),
                options: x::Options {
                    thread: x.thread,
                    link_in_reply: x.link_in_reply,
                },
            },
            (C::Bluesky(b), S::Bluesky(s)) => Target::Bluesky {
                service: url(&b.service, "service")?,
                did: b.did.clone(),
                handle: b.account.clone(),
                access_jwt: s.access_jwt.clone(),
                web: b
                    .web_base
                    .clone()
                    .unwrap_or_else(|| bluesky::WEB_BASE.to_owned()),
            },
            (C::Changelog(_), S::Changelog) => Target::Changelog,
            (C::GithubRelease(g), S::GithubRelease(s)) => {
                let (owner, name) = g.repo.split_once('/').ok_or_else(|| {
                    format!(
                        "the github_release channel's repo {:?} is not owner/name",
                        g.repo
                    )
                })?;
                Target::GithubRelease(github_release::Repo {
                    api: url(&g.api_base, "api_base")?,
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                    token: s.token.clone(),
                    draft: g.draft,
                })
            }
            _ => {
                return Err(format!(
                    "the {} channel's stored credentials are {}'s",
                    kind.as_str(),
                    secrets.kind().label()
                ));
            }
        })
    }

    pub fn kind(&self) -> ChannelKind {
        match self {
            Target::Outbox { .. } => ChannelKind::Outbox,
            Target::Webhook { .. } => ChannelKind::Webhook,
            Target::Slack { .. } => ChannelKind::Slack,
            Target::Discord { .. } => ChannelKind::Discord,
            Target::Mastodon { .. } => ChannelKind::Mastodon,
            Target::Linkedin { .. } => ChannelKind::Linkedin,
            Target::X { .. } => ChannelKind::X,
            Target::Bluesky { .. } => ChannelKind::Bluesky,
            Target::Changelog => ChannelKind::Changelog,
            Target::GithubRelease(_) => ChannelKind::GithubRelease,
        }
    }

    /// Whether its posts carry the release image (uploaded with them, alt text set).
    pub fn takes_media(&self) -> bool {
        matches!(
            self,
            Target::Bluesky { .. }
                | Target::Mastodon { .. }
                | Target::X { .. }
                | Target::Linkedin { .. }
                | Target::Discord { .. }
                | Target::Slack { .. }
        )
    }

    pub fn recovery(&self) -> Recovery {
        match self {
            // The outbox checks for the key under a lock; webhook receivers are told to
            // deduplicate by it (`Idempotency-Key`, `X-Covalynce-Delivery`).
            Target::Outbox { .. } | Target::Webhook { .. } => Recovery::Replay,
            // Mastodon keeps the Idempotency-Key for an hour and answers a repeat with the
            // status it already made.
            Target::Mastodon { .. } => Recovery::Replay,
            // Bluesky takes no key, but the record key is the publication's own: a repeat
            // cannot make a second post, and finds the first by its key.
            Target::Bluesky { .. } => Recovery::Replay,
            // The entry is keyed by its version: written again, it is the same entry.
            Target::Changelog => Recovery::Replay,
            // The release is looked up by its tag before it is made: a repeat edits the
            // one the first attempt made, to the same text.
            Target::GithubRelease(_) => Recovery::Replay,
            // Incoming webhooks take no key and cannot be read back.
            // LinkedIn and X take no key either.
            Target::Slack { .. }
            | Target::Discord { .. }
            | Target::Linkedin { .. }
            | Target::X { .. } => Recovery::AskAPerson,
        }
    }

    /// What a publication sent again after a crash says (for [`Recovery::Replay`] kinds):
    /// whether the repeat can have reached anyone twice.
    pub fn replay_note(&self) -> &'static str {
        match self {
            Target::Outbox { .. } => {
                "sent again after Covalynce stopped mid-send; the outbox kept one line (its key was checked)"
            }
            Target::Webhook { .. } => {
                "sent again after Covalynce stopped mid-send, with the same Idempotency-Key: the receiver may have seen it twice and should drop the repeat"
            }
            Target::Mastodon { .. } => {
                "sent again after Covalynce stopped mid-send, with the same Idempotency-Key: Mastodon answers a repeat with the status it already made"
            }
            Target::Bluesky { .. } => {
                "sent again after Covalynce stopped mid-send: the post's record key is the publication's own, so there is one post"
            }
            Target::Changelog => {
                "written again after Covalynce stopped mid-send: the entry is keyed by its version, so there is one"
            }
            Target::GithubRelease(_) => {
                "written again after Covalynce stopped mid-send: the release was looked up by its tag first, so there is one"
            }
            Target::Slack { .. }
            | Target::Discord { .. }
            | Target::Linkedin { .. }
            | Target::X { .. } => "not sent again: these platforms take no idempotency key",
        }
    }

    /// Sends one publication.
    pub async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        match self {
            Target::Outbox { path, variant } => outbox::publish(path, variant, post).await,
            Target::Webhook {
                url,
                secret,
                variant,
            } => webhook::publish(http, url, secret, variant, post).await,
            Target::Slack { url } => {
                slack::publish(http, url, post.text_for("slack"), post.image).await
            }
            Target::Discord { url } => {
                discord::publish(http, url, post.text_for("discord"), post.image).await
            }
            Target::Mastodon {
                instance,
                token,
                max_characters,
                per_url,
            } => {
                let limits = mastodon::Limits {
                    max_characters: *max_characters,
                    per_url: *per_url,
                };
                mastodon::publish(
                    http,
                    instance,
                    token,
                    &limits,
                    post.text_for("mastodon"),
                    post,
                )
                .await
            }
            Target::Linkedin {
                api,
                token,
                author,
                expires_at,
            } => {
                linkedin::publish(
                    http,
                    api,
                    token,
                    author,
                    *expires_at,
                    post.text_for("linkedin"),
                    post.image,
                )
                .await
            }
            Target::X {
                api,
                token,
                username,
                options,
            } => {
                x::publish(
                    http,
                    api,
                    token,
                    username.as_deref(),
                    post.text_for("x"),
                    *options,
                    post,
                )
                .await
            }
            Target::Bluesky {
                service,
                did,
                handle,
                access_jwt,
                web,
            } => {
                let rkey = bluesky::record_key(post.publication_id).ok_or_else(|| {
                    Failure::permanent(format!(
                        "the publication id {} is not a UUIDv7, so no record key can be made from it",
                        post.publication_id
                    ))
                })?;
                let account = bluesky::Account {
                    service,
                    did,
                    handle,
                    access_jwt,
                    web,
                };
                bluesky::publish(http, &account, post.text_for("bluesky"), &rkey, post).await
            }
            Target::Changelog => changelog::publish(post).await,
            Target::GithubRelease(repo) => github_release::publish(http, repo, post).await,
        }
    }

    /// Checks the channel works, sending a test message where the platform shows one.
    /// Returns what was done, for the person who asked.
    pub async fn test(&self, http: &Http, channel_id: &str) -> Result<String, Failure> {
        const TEST: &str = "Covalynce is connected: approved cards will be posted here.";
        match self {
            Target::Outbox { path, .. } => outbox::check_writable(path).await,
            Target::Webhook { url, secret, .. } => {
                webhook::ping(http, url, secret, channel_id).await
            }
            Target::Slack { url } => slack::publish(http, url, TEST, None)
                .await
                .map(|_| "sent a test message to Slack".to_owned()),
            Target::Discord { url } => discord::publish(http, url, TEST, None)
                .await
                .map(|_| "sent a test message to Discord".to_owned()),
            // A status would be public: checking the account and the token is the test.
            Target::Mastodon {
                instance, token, ..
            } => mastodon::account(http, instance, token).await.map(|a| {
                format!(
                    "connected as @{} (posts up to {} characters)",
                    a.acct, a.max_characters
                )
            }),
            // A post would be public: checking the member and the token is the test.
            Target::Linkedin { api, token, .. } => linkedin::member(http, api, token)
                .await
                .map(|(_, name)| format!("connected as {name} on LinkedIn")),
            // A post would be public: checking the account and the token is the test.
            Target::X { api, token, .. } => x::me(http, api, token)
                .await
                .map(|(_, username)| format!("connected as @{username} on X")),
            // A post would be public: checking the session is the test.
            Target::Bluesky {
                service,
                access_jwt,
                ..
            } => bluesky::whoami(http, service, access_jwt)
                .await
                .map(|handle| format!("connected as @{handle} on Bluesky")),
            Target::GithubRelease(repo) => github_release::reach(http, repo).await,
            // The changelog is this server's own page: there is nothing to reach.
            Target::Changelog => Ok(
                "the changelog is on this server: approved release cards appear on its public page once an owner turns it on"
                    .to_owned(),
            ),
        }
    }
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
        let Target::Outbox { path, .. } = open(json!({"file": "launches.jsonl"})).unwrap() else {
            panic!("an outbox")
        };
        assert_eq!(path, dir.join("launches.jsonl"));
        let Target::Outbox { path, .. } = open(json!({})).unwrap() else {
            panic!("an outbox")
        };
        assert_eq!(path, dir.join("outbox.jsonl"));
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
