//! Connecting a channel: a member's request (`CreateChannel`, the API's body and the
//! channels page's form) → the settings and credentials of one kind, each checked with
//! its platform where it has one (the Mastodon account exists, the LinkedIn member and
//! X account answer to the token, Bluesky signs in with an app password), every address
//! checked to be public unless the operator allows private ones. One match arm per kind:
//! a new kind adds its arm here, its settings in `domain::channel`, its `publishing`
//! module and its form.

use crate::AppError;
use covalynce_domain::channel::{
    AccessToken, BlueskySession, BlueskySettings, IncomingWebhookSettings, LinkedinSettings,
    MastodonSettings, OAuthTokens, OutboxSettings, SigningSecret, WebhookSettings, WebhookUrl,
    XSettings,
};
use covalynce_domain::{ChannelKind, ChannelSecrets, ChannelSettings};
use covalynce_publishing::{Url, guard};
use serde::Deserialize;

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CreateChannel {
    /// `outbox`, `webhook`, `slack`, `discord`, `mastodon`, `linkedin`, `x`, `bluesky`,
    /// `changelog` or `github_release`.
    pub kind: String,
    pub name: Option<String>,
    /// outbox: a file name (e.g. `launches.jsonl`; default `outbox.jsonl`), written in
    /// this workspace's own folder in the server's data dir. Members never name a path on
    /// the server.
    pub file: Option<String>,
    /// No longer accepted (422): outboxes take a `file` name instead.
    #[schema(deprecated)]
    pub path: Option<String>,
    /// outbox and webhook: which drafted variant is the post's `text` (default `linkedin`).
    pub variant: Option<String>,
    /// webhook: where to POST (https; private addresses only if the operator allows them).
    pub url: Option<String>,
    /// webhook: the HMAC-SHA256 signing secret; omit it and one is generated and shown once.
    pub secret: Option<String>,
    /// slack and discord: the incoming webhook URL.
    pub webhook_url: Option<String>,
    /// mastodon: the instance, e.g. `https://mastodon.social` (also accepted as
    /// `instance_url`).
    #[serde(alias = "instance_url")]
    pub instance: Option<String>,
    /// mastodon: an access token with the `write:statuses` and `write:media` scopes (Preferences →
    /// Development → New application). linkedin: a member token with `w_member_social`
    /// (or `w_organization_social` for a page). Stored encrypted.
    pub access_token: Option<String>,
    /// linkedin: who posts, `urn:li:person:ID` (the `sub` of `/v2/userinfo`) or
    /// `urn:li:organization:ID`.
    pub author: Option<String>,
    /// linkedin: the API's address (default `https://api.linkedin.com`; a test server).
    pub api_base: Option<String>,
    /// linkedin: the token's lifetime in seconds, when known (60 days for member tokens):
    /// the channel warns before it ends and stops when it has.
    pub expires_in: Option<i64>,
    /// At most this many publications per UTC day; more wait for the next day.
    pub daily_cap: Option<i64>,
    /// x and linkedin: the OAuth 2.0 refresh token, so Covalynce can renew the access
    /// token (X: `offline.access`, single-use, rotated on every renewal; LinkedIn: apps
    /// approved for programmatic refresh, 365 days). Stored encrypted.
    pub refresh_token: Option<String>,
    /// linkedin: seconds left on the refresh token, when known: the channel warns before
    /// it ends.
    pub refresh_token_expires_in: Option<i64>,
    /// x and linkedin: the OAuth client that granted the tokens (needed to renew them);
    /// default: the operator's app (`--x-client-id`, `--linkedin-client-id`).
    pub client_id: Option<String>,
    /// x and linkedin: that client's secret (X: for confidential clients). Stored
    /// encrypted.
    pub client_secret: Option<String>,
    /// x: post a text longer than 280 as a thread (default false: refuse it).
    pub thread: Option<bool>,
    /// x: put links in a reply instead of the post (links cost far more on X's API).
    pub link_in_reply: Option<bool>,
    /// bluesky: the account's PDS or entryway (default `https://bsky.social`).
    pub service: Option<String>,
    /// bluesky: the handle (`ada.bsky.social`), DID or email to sign in with.
    pub identifier: Option<String>,
    /// bluesky: an app password (Settings → Privacy and security → App passwords), never
    /// the account's password. Stored encrypted; used again only if the session cannot be
    /// renewed.
    pub app_password: Option<String>,
    /// github_release: the workspace's GitHub source (its id) whose repository's releases
    /// get the notes, with its token (the token needs `contents: write`).
    pub source: Option<String>,
    /// github_release: make a release that does not exist yet as a draft (default false:
    /// published).
    pub draft: Option<bool>,
}

/// What connecting needs from the server: its HTTP client (the SSRF guard), whether the
/// operator allows private addresses, and the operator's own OAuth apps.
pub struct Platforms<'a> {
    pub http: &'a guard::Http,
    pub allow_private: bool,
    /// GitHub's API (a local server in tests).
    pub github_api: String,
    /// Unseals a GitHub source's token for a `github_release` channel.
    pub secrets: Option<&'a crate::secrets::SecretBox>,
    pub linkedin: Option<&'a OAuthApp>,
    pub x: Option<&'a OAuthApp>,
}

/// An OAuth app the operator registered with a platform (`--linkedin-client-id`,
/// `--x-client-id`): "Connect LinkedIn" / "Connect X", and renewing their tokens. The
/// secret never prints.
#[derive(Clone)]
pub struct OAuthApp {
    pub client_id: String,
    /// Empty for a public client (X with PKCE only).
    pub client_secret: String,
    /// Where people authorize and codes are exchanged (`https://www.linkedin.com`).
    pub web_base: String,
    /// The platform's API (`https://api.linkedin.com`).
    pub api_base: String,
}

impl std::fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("web_base", &self.web_base)
            .finish_non_exhaustive()
    }
}

/// A channel ready to store: settings, secrets to seal, and a generated secret to show once.
pub struct Connected {
    pub settings: ChannelSettings,
    pub secrets: ChannelSecrets,
    pub generated: Option<String>,
}

/// A GitHub source's repository and its token, for a `github_release` channel.
pub struct GithubGrant {
    pub repo: String,
    pub source: String,
    pub token: String,
}

/// The request's kind, connected (`github`: the source a `github_release` channel writes
/// with, looked up by the use case).
pub async fn connect(
    req: &CreateChannel,
    platforms: &Platforms<'_>,
    github: Option<GithubGrant>,
) -> Result<Connected, AppError> {
    let kind = ChannelKind::parse(&req.kind).ok_or_else(|| {
        let known: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
        AppError::Invalid(format!(
            "kind must be one of {}; got {:?}",
            known.join(", "),
            req.kind
        ))
    })?;
    let allow_private = platforms.allow_private;
    let parsed = match kind {
        ChannelKind::Outbox => {
            if req.path.is_some() {
                return Err(AppError::Invalid(
                    "outbox channels no longer take a path on the server: name a file instead, e.g. {\"kind\": \"outbox\", \"file\": \"launches.jsonl\"}; it is written to this workspace's own folder in the server's data dir".into(),
                ));
            }
            let file = covalynce_publishing::outbox::OutboxFile::parse(
                req.file
                    .as_deref()
                    .unwrap_or(covalynce_publishing::outbox::DEFAULT_FILE),
            )
            .map_err(AppError::Invalid)?;
            Connected {
                settings: ChannelSettings::Outbox(OutboxSettings {
                    file: Some(file.as_str().to_owned()),
                    variant: variant(req)?,
                    path: None,
                }),
                secrets: ChannelSecrets::Outbox,
                generated: None,
            }
        }
        ChannelKind::GithubRelease => {
            let grant = github.ok_or_else(|| {
                AppError::Invalid(
                    "source is required: the id of this workspace's GitHub source whose releases get the notes".into(),
                )
            })?;
            let api = public_url(Some(&platforms.github_api), "api_base", allow_private).await?;
            Connected {
                settings: ChannelSettings::GithubRelease(
                    covalynce_domain::channel::GithubReleaseSettings {
                        api_base: api.as_str().trim_end_matches('/').to_owned(),
                        repo: grant.repo,
                        source: Some(grant.source),
                        draft: req.draft.unwrap_or(false),
                    },
                ),
                secrets: ChannelSecrets::GithubRelease(covalynce_domain::channel::AccessToken {
                    token: grant.token,
                }),
                generated: None,
            }
        }
        // This server's own page: nothing to reach, nothing to keep secret.
        ChannelKind::Changelog => Connected {
            settings: ChannelSettings::Changelog(Default::default()),
            secrets: ChannelSecrets::Changelog,
            generated: None,
        },
        ChannelKind::Webhook => {
            let url = public_url(req.url.as_deref(), "url", allow_private).await?;
            let (secret, generated) = signing_secret(req.secret.clone())?;
            Connected {
                settings: ChannelSettings::Webhook(WebhookSettings {
                    url: url.as_str().to_owned(),
                    variant: variant(req)?,
                }),
                secrets: ChannelSecrets::Webhook(SigningSecret { secret }),
                generated,
            }
        }
        ChannelKind::Mastodon => {
            // The cheap checks first: a missing token needs no lookup of the instance.
            if req.instance.is_none() {
                return Err(AppError::Invalid("instance is required".into()));
            }
            let token = &required(&req.access_token, "access_token")?;
            let instance = public_url(req.instance.as_deref(), "instance", allow_private).await?;
            // Connecting checks the token and reads the instance's own limits.
            let account = covalynce_publishing::mastodon::account(platforms.http, &instance, token)
                .await
                .map_err(|f| {
                    AppError::Invalid(format!("could not connect the Mastodon account: {f}"))
                })?;
            Connected {
                settings: ChannelSettings::Mastodon(MastodonSettings {
                    instance: instance.as_str().trim_end_matches('/').to_owned(),
                    account: account.acct,
                    max_characters: account.max_characters as u64,
                    characters_reserved_per_url: account.characters_reserved_per_url as u64,
                }),
                secrets: ChannelSecrets::Mastodon(AccessToken {
                    token: token.clone(),
                }),
                generated: None,
            }
        }
        ChannelKind::Linkedin => {
            let token = &required(&req.access_token, "access_token")?;
            let author = req
                .author
                .as_deref()
                .map(str::trim)
                .filter(|a| {
                    ["urn:li:person:", "urn:li:organization:"].iter().any(|p| {
                        a.strip_prefix(p)
                            .is_some_and(|id| !id.is_empty() && !id.contains(char::is_whitespace))
                    })
                })
                .ok_or_else(|| {
                    AppError::Invalid(
                        "author must be urn:li:person:ID or urn:li:organization:ID".into(),
                    )
                })?;
            let api =
                api_base(req, covalynce_publishing::linkedin::API_BASE, allow_private).await?;
            // Connecting checks the token and names the member.
            let (_, name) = covalynce_publishing::linkedin::member(platforms.http, &api, token)
                .await
                .map_err(|f| AppError::Invalid(format!("could not connect LinkedIn: {f}")))?;
            let token_ends = expires_at(req.expires_in, "expires_in")?;
            let refresh_ends =
                expires_at(req.refresh_token_expires_in, "refresh_token_expires_in")?;
            let refresh = given(&req.refresh_token);
            let operator = platforms.linkedin;
            let (client_id, client_secret) = client(req, operator);
            // Renewing needs the refresh token and the client that granted it.
            let renewable = refresh.is_some() && client_id.is_some() && client_secret.is_some();
            let web_base = match (&req.client_id, operator) {
                (None, Some(o)) => o.web_base.clone(),
                _ => covalynce_publishing::linkedin::WEB_BASE.to_owned(),
            };
            Connected {
                settings: ChannelSettings::Linkedin(LinkedinSettings {
                    api_base: api.as_str().trim_end_matches('/').to_owned(),
                    author: author.to_owned(),
                    account: Some(name),
                    expires_at: token_ends,
                    renewable,
                    client_id: client_id.filter(|_| renewable),
                    web_base: renewable.then_some(web_base),
                    refresh_expires_at: refresh_ends.filter(|_| renewable),
                }),
                secrets: ChannelSecrets::Linkedin(OAuthTokens {
                    access_token: token.clone(),
                    refresh_token: refresh.filter(|_| renewable),
                    client_secret: client_secret.filter(|_| renewable),
                }),
                generated: None,
            }
        }
        ChannelKind::X => {
            let token = required(&req.access_token, "access_token")?;
            let refresh = given(&req.refresh_token);
            let operator = platforms.x;
            let (client_id, client_secret) = client(req, operator);
            let api = api_base(req, covalynce_publishing::x::API_BASE, allow_private).await?;
            // Connecting checks the token and names the account.
            let (user_id, username) = covalynce_publishing::x::me(platforms.http, &api, &token)
                .await
                .map_err(|f| AppError::Invalid(format!("could not connect X: {f}")))?;
            let expires_at = expires_at(req.expires_in, "expires_in")?;
            Connected {
                settings: ChannelSettings::X(XSettings {
                    api_base: api.as_str().trim_end_matches('/').to_owned(),
                    account: Some(username),
                    user_id: Some(user_id),
                    expires_at,
                    renewable: refresh.is_some() && client_id.is_some(),
                    client_id,
                    thread: req.thread.unwrap_or(false),
                    link_in_reply: req.link_in_reply.unwrap_or(false),
                }),
                secrets: ChannelSecrets::X(OAuthTokens {
                    access_token: token,
                    refresh_token: refresh,
                    client_secret,
                }),
                generated: None,
            }
        }
        ChannelKind::Bluesky => {
            let identifier = required(&req.identifier, "identifier")?;
            let password = required(&req.app_password, "app_password")?;
            let service = public_url(
                Some(
                    req.service
                        .as_deref()
                        .unwrap_or(covalynce_publishing::bluesky::SERVICE),
                ),
                "service",
                allow_private,
            )
            .await?;
            // Connecting signs in once; the session is kept and renewed from then on.
            let session = covalynce_publishing::bluesky::create_session(
                platforms.http,
                &service,
                identifier.trim_start_matches('@'),
                &password,
            )
            .await
            .map_err(|f| AppError::Invalid(format!("could not connect Bluesky: {f}")))?;
            if !session.by_app_password() {
                return Err(AppError::Invalid(
                    "that is the account's own password: Covalynce keeps only app passwords (Bluesky → Settings → Privacy and security → App passwords), which can post but cannot change the account".into(),
                ));
            }
            Connected {
                settings: ChannelSettings::Bluesky(BlueskySettings {
                    service: service.as_str().trim_end_matches('/').to_owned(),
                    identifier: Some(identifier.trim_start_matches('@').to_owned()),
                    expires_at: session.expires_at(),
                    account: session.handle,
                    did: session.did,
                    renewable: true,
                    web_base: None,
                }),
                secrets: ChannelSecrets::Bluesky(BlueskySession {
                    app_password: password,
                    access_jwt: session.access_jwt,
                    refresh_jwt: Some(session.refresh_jwt),
                }),
                generated: None,
            }
        }
        ChannelKind::Slack | ChannelKind::Discord => {
            let url = public_url(req.webhook_url.as_deref(), "webhook_url", allow_private).await?;
            if kind == ChannelKind::Discord && !url.path().contains("/webhooks/") {
                return Err(AppError::Invalid(
                    "webhook_url must be a Discord webhook URL (…/api/webhooks/ID/TOKEN)".into(),
                ));
            }
            let webhook = IncomingWebhookSettings {
                webhook: masked(&url),
            };
            let secret = WebhookUrl {
                url: url.as_str().to_owned(),
            };
            if kind == ChannelKind::Discord {
                Connected {
                    settings: ChannelSettings::Discord(webhook),
                    secrets: ChannelSecrets::Discord(secret),
                    generated: None,
                }
            } else {
                Connected {
                    settings: ChannelSettings::Slack(webhook),
                    secrets: ChannelSecrets::Slack(secret),
                    generated: None,
                }
            }
        }
    };
    Ok(parsed)
}

/// The OAuth client that granted a channel's tokens: the one named in the request, or the
/// operator's app (an empty secret is a public client).
fn client(req: &CreateChannel, operator: Option<&OAuthApp>) -> (Option<String>, Option<String>) {
    match given(&req.client_id) {
        Some(id) => (Some(id), given(&req.client_secret)),
        None => (
            operator.map(|o| o.client_id.clone()),
            operator
                .map(|o| o.client_secret.clone())
                .filter(|s| !s.is_empty()),
        ),
    }
}

fn required(value: &Option<String>, name: &str) -> Result<String, AppError> {
    given(value).ok_or_else(|| AppError::Invalid(format!("{name} is required")))
}

/// `api_base`, or the platform's own address; public unless the operator allows private.
async fn api_base(
    req: &CreateChannel,
    default: &str,
    allow_private: bool,
) -> Result<Url, AppError> {
    public_url(
        Some(req.api_base.as_deref().unwrap_or(default)),
        "api_base",
        allow_private,
    )
    .await
}

/// When a token given with its lifetime (`expires_in`, seconds) stops working (Unix ms).
/// When a lifetime of `seconds` (the field `name`) ends, in Unix ms.
fn expires_at(seconds: Option<i64>, name: &str) -> Result<Option<i64>, AppError> {
    match seconds {
        Some(s) if s > 0 => Ok(Some(covalynce_domain::now_millis() + s * 1000)),
        Some(_) => Err(AppError::Invalid(format!("{name} must be positive"))),
        None => Ok(None),
    }
}

fn variant(req: &CreateChannel) -> Result<String, AppError> {
    let variant = req.variant.clone().unwrap_or_else(|| "linkedin".into());
    if covalynce_drafting::Channel::parse(&variant).is_none() {
        return Err(AppError::Invalid(format!(
            "variant {variant:?} is not a channel kind (linkedin, x, mastodon, bluesky, slack, discord)"
        )));
    }
    Ok(variant)
}

async fn public_url(raw: Option<&str>, field: &str, allow_private: bool) -> Result<Url, AppError> {
    let raw = raw.ok_or_else(|| AppError::Invalid(format!("{field} is required")))?;
    let url = Url::parse(raw.trim())
        .map_err(|e| AppError::Invalid(format!("{field} is not a valid URL: {e}")))?;
    guard::check_resolved(&url, allow_private)
        .await
        .map_err(|r| AppError::Invalid(format!("{field}: {}", r.0)))?;
    Ok(url)
}

/// Enough of a credential-bearing URL to recognise it, none of the credential.
fn masked(url: &Url) -> String {
    format!(
        "{}://{}/…",
        url.scheme(),
        url.host_str().unwrap_or_default()
    )
}

/// A webhook's signing secret: the one given, or a new one (shown once).
pub fn signing_secret(given: Option<String>) -> Result<(String, Option<String>), AppError> {
    match given {
        Some(s) if s.is_empty() => Err(AppError::Invalid(
            "secret must not be empty (omit it to have one generated)".into(),
        )),
        Some(s) if s.len() > 1024 => Err(AppError::Invalid(
            "secret must be at most 1024 bytes".into(),
        )),
        Some(s) => Ok((s, None)),
        None => {
            let s = crate::tokens::random_secret();
            Ok((s.clone(), Some(s)))
        }
    }
}

/// A request or form field as given: trimmed, and none when left blank.
pub fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}
