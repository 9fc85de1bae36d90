//! Channels: where approved cards are published. Credentials (webhook secrets, Slack and
//! Discord webhook URLs — the URL is the credential there) are sealed with AES-256-GCM and
//! never shown again; what the API shows is the channel's non-secret settings.

use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use covalynce_domain::channel::{
    AccessToken, BlueskySession, BlueskySettings, IncomingWebhookSettings, LinkedinSettings,
    MastodonSettings, OAuthTokens, OutboxSettings, SigningSecret, WebhookSettings, WebhookUrl,
    XSettings,
};
use covalynce_domain::{ChannelId, ChannelSecrets, ChannelSettings, ChannelStatus};
use covalynce_publishing::{ChannelKind, Url, guard};
use covalynce_storage::ChannelRecord;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default, utoipa::ToSchema)]
pub struct CreateChannel {
    /// `outbox`, `webhook`, `slack`, `discord`, `mastodon`, `linkedin`, `x` or `bluesky`.
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
    /// mastodon: an access token with the `write:statuses` scope (Preferences →
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
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// Non-secret settings; credentials are never shown.
    pub config: serde_json::Value,
    /// active, disabled (publications wait) or deleted.
    #[schema(value_type = String, example = "active")]
    pub status: ChannelStatus,
    /// Publications started today (UTC), against `config.daily_cap`.
    pub sent_today: i64,
    /// The platform asked for no requests before this time.
    pub paused_until: Option<String>,
    /// Why the channel stopped working (a revoked webhook, an archived channel).
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    /// When it last published or passed a test.
    pub last_success_at: Option<String>,
    pub created_at: String,
    /// Only in the creation answer of a webhook channel whose secret was generated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<ChannelRecord> for ChannelView {
    fn from(c: ChannelRecord) -> Self {
        Self {
            id: c.id.to_string(),
            kind: c.kind.as_str().to_owned(),
            name: c.name,
            config: c.config.to_value(),
            status: c.status,
            sent_today: c.sent_today,
            paused_until: c
                .paused_until
                .filter(|u| *u > covalynce_domain::now_millis())
                .map(time),
            last_error: c.last_error,
            last_error_at: c.last_error_at.map(time),
            last_success_at: c.last_success_at.map(time),
            created_at: time(c.created_at),
            secret: None,
        }
    }
}

/// A channel ready to store: settings, secrets to seal, and a generated secret to show once.
struct Parsed {
    settings: ChannelSettings,
    secrets: ChannelSecrets,
    generated: Option<String>,
}

/// Add a channel. Kinds: `outbox`, `webhook` (`url`, `secret`), `slack` and `discord`
/// (`webhook_url`).
#[utoipa::path(post, operation_id = "channels_create", path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    request_body = CreateChannel,
    responses((status = 201, body = Data<ChannelView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    ApiJson(req): ApiJson<CreateChannel>,
) -> Result<(StatusCode, Json<Data<ChannelView>>), ApiError> {
    let kind = ChannelKind::parse(&req.kind).ok_or_else(|| {
        let known: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::Validation(format!(
            "kind must be one of {}; got {:?}",
            known.join(", "),
            req.kind
        ))
    })?;
    let allow_private = state.http().allows_private();
    let parsed = match kind {
        ChannelKind::Outbox => {
            if req.path.is_some() {
                return Err(ApiError::Validation(
                    "outbox channels no longer take a path on the server: name a file instead, e.g. {\"kind\": \"outbox\", \"file\": \"launches.jsonl\"}; it is written to this workspace's own folder in the server's data dir".into(),
                ));
            }
            let file = covalynce_publishing::outbox::OutboxFile::parse(
                req.file
                    .as_deref()
                    .unwrap_or(covalynce_publishing::outbox::DEFAULT_FILE),
            )
            .map_err(ApiError::Validation)?;
            Parsed {
                settings: ChannelSettings::Outbox(OutboxSettings {
                    file: Some(file.as_str().to_owned()),
                    variant: variant(&req)?,
                    path: None,
                }),
                secrets: ChannelSecrets::Outbox,
                generated: None,
            }
        }
        ChannelKind::Webhook => {
            let url = public_url(req.url.as_deref(), "url", allow_private).await?;
            let (secret, generated) = super::signing_secret(req.secret.clone())?;
            Parsed {
                settings: ChannelSettings::Webhook(WebhookSettings {
                    url: url.as_str().to_owned(),
                    variant: variant(&req)?,
                }),
                secrets: ChannelSecrets::Webhook(SigningSecret { secret }),
                generated,
            }
        }
        ChannelKind::Mastodon => {
            // The cheap checks first: a missing token needs no lookup of the instance.
            if req.instance.is_none() {
                return Err(ApiError::Validation("instance is required".into()));
            }
            let token = &required(&req.access_token, "access_token")?;
            let instance = public_url(req.instance.as_deref(), "instance", allow_private).await?;
            // Connecting checks the token and reads the instance's own limits.
            let account = covalynce_publishing::mastodon::account(state.http(), &instance, token)
                .await
                .map_err(|f| {
                    ApiError::Validation(format!("could not connect the Mastodon account: {f}"))
                })?;
            Parsed {
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
                    ApiError::Validation(
                        "author must be urn:li:person:ID or urn:li:organization:ID".into(),
                    )
                })?;
            let api = api_base(
                &req,
                covalynce_publishing::linkedin::API_BASE,
                allow_private,
            )
            .await?;
            // Connecting checks the token and names the member.
            let (_, name) = covalynce_publishing::linkedin::member(state.http(), &api, token)
                .await
                .map_err(|f| ApiError::Validation(format!("could not connect LinkedIn: {f}")))?;
            let token_ends = expires_at(req.expires_in, "expires_in")?;
            let refresh_ends =
                expires_at(req.refresh_token_expires_in, "refresh_token_expires_in")?;
            let refresh = super::given(&req.refresh_token);
            let operator = state.security().config.linkedin.as_ref();
            let (client_id, client_secret) = client(&req, operator);
            // Renewing needs the refresh token and the client that granted it.
            let renewable = refresh.is_some() && client_id.is_some() && client_secret.is_some();
            let web_base = match (&req.client_id, operator) {
                (None, Some(o)) => o.web_base.clone(),
                _ => covalynce_publishing::linkedin::WEB_BASE.to_owned(),
            };
            Parsed {
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
            let refresh = super::given(&req.refresh_token);
            let operator = state.security().config.x.as_ref();
            let (client_id, client_secret) = client(&req, operator);
            let api = api_base(&req, covalynce_publishing::x::API_BASE, allow_private).await?;
            // Connecting checks the token and names the account.
            let (user_id, username) = covalynce_publishing::x::me(state.http(), &api, &token)
                .await
                .map_err(|f| ApiError::Validation(format!("could not connect X: {f}")))?;
            let expires_at = expires_at(req.expires_in, "expires_in")?;
            Parsed {
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
                state.http(),
                &service,
                identifier.trim_start_matches('@'),
                &password,
            )
            .await
            .map_err(|f| ApiError::Validation(format!("could not connect Bluesky: {f}")))?;
            if !session.by_app_password() {
                return Err(ApiError::Validation(
                    "that is the account's own password: Covalynce keeps only app passwords (Bluesky → Settings → Privacy and security → App passwords), which can post but cannot change the account".into(),
                ));
            }
            Parsed {
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
                return Err(ApiError::Validation(
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
                Parsed {
                    settings: ChannelSettings::Discord(webhook),
                    secrets: ChannelSecrets::Discord(secret),
                    generated: None,
                }
            } else {
                Parsed {
                    settings: ChannelSettings::Slack(webhook),
                    secrets: ChannelSecrets::Slack(secret),
                    generated: None,
                }
            }
        }
    };
    let sealed_credentials = parsed.secrets.to_json().map(|s| state.secrets().seal(&s));
    let channel = state
        .app()
        .create_channel(
            &auth.acting()?,
            covalynce_app::channels::NewChannelRequest {
                name: req.name.clone(),
                daily_cap: req.daily_cap,
                settings: parsed.settings,
                sealed_credentials,
            },
        )
        .await?;
    let mut view = ChannelView::from(channel);
    view.secret = parsed.generated;
    Ok((StatusCode::CREATED, Json(Data { data: view })))
}

/// The OAuth client that granted a channel's tokens: the one named in the request, or the
/// operator's app (an empty secret is a public client).
fn client(
    req: &CreateChannel,
    operator: Option<&crate::auth::OAuthApp>,
) -> (Option<String>, Option<String>) {
    match super::given(&req.client_id) {
        Some(id) => (Some(id), super::given(&req.client_secret)),
        None => (
            operator.map(|o| o.client_id.clone()),
            operator
                .map(|o| o.client_secret.clone())
                .filter(|s| !s.is_empty()),
        ),
    }
}

fn required(value: &Option<String>, name: &str) -> Result<String, ApiError> {
    super::given(value).ok_or_else(|| ApiError::Validation(format!("{name} is required")))
}

/// `api_base`, or the platform's own address; public unless the operator allows private.
async fn api_base(
    req: &CreateChannel,
    default: &str,
    allow_private: bool,
) -> Result<Url, ApiError> {
    public_url(
        Some(req.api_base.as_deref().unwrap_or(default)),
        "api_base",
        allow_private,
    )
    .await
}

/// When a token given with its lifetime (`expires_in`, seconds) stops working (Unix ms).
/// When a lifetime of `seconds` (the field `name`) ends, in Unix ms.
fn expires_at(seconds: Option<i64>, name: &str) -> Result<Option<i64>, ApiError> {
    match seconds {
        Some(s) if s > 0 => Ok(Some(covalynce_domain::now_millis() + s * 1000)),
        Some(_) => Err(ApiError::Validation(format!("{name} must be positive"))),
        None => Ok(None),
    }
}

fn variant(req: &CreateChannel) -> Result<String, ApiError> {
    let variant = req.variant.clone().unwrap_or_else(|| "linkedin".into());
    if covalynce_drafting::Channel::parse(&variant).is_none() {
        return Err(ApiError::Validation(format!(
            "variant {variant:?} is not a channel kind (linkedin, x, mastodon, bluesky, slack, discord)"
        )));
    }
    Ok(variant)
}

async fn public_url(raw: Option<&str>, field: &str, allow_private: bool) -> Result<Url, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::Validation(format!("{field} is required")))?;
    let url = Url::parse(raw.trim())
        .map_err(|e| ApiError::Validation(format!("{field} is not a valid URL: {e}")))?;
    guard::check_resolved(&url, allow_private)
        .await
        .map_err(|r| ApiError::Validation(format!("{field}: {}", r.0)))?;
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

/// The workspace's channels.
#[utoipa::path(get, operation_id = "channels_list", path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    responses((status = 200, body = List<ChannelView>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
) -> Result<Json<List<ChannelView>>, ApiError> {
    let channels = state.store().list_channels(ws.id).await?;
    Ok(Json(List::page(
        channels.into_iter().map(ChannelView::from).collect(),
        0,
        |c| c.id.clone(),
    )))
}

async fn find(
    state: &AppState,
    ws: covalynce_domain::WorkspaceId,
    id: &str,
) -> Result<ChannelRecord, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no channel {id:?} in this workspace"));
    let channel_id = ChannelId::parse(id).ok_or_else(not_found)?;
    state
        .store()
        .workspace_channel(ws, channel_id)
        .await?
        .ok_or_else(not_found)
}

/// One channel.
#[utoipa::path(get, operation_id = "channels_get", path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<ChannelView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
    Path(id): Path<String>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    Ok(Json(Data {
        data: find(&state, ws.id, &id).await?.into(),
    }))
}

/// Stop publishing to a channel: its publications wait (queued) until it is enabled.
#[utoipa::path(post, operation_id = "channels_disable", path = "/api/v1/channels/{id}/disable", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<ChannelView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn disable(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Path(id): Path<String>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    let channel = state.app().disable_channel(&auth.acting()?, &id).await?;
    Ok(Json(Data {
        data: channel.into(),
    }))
}

/// Publish to a channel again: what waited while it was disabled goes out now. Also clears
/// the channel's last error (after fixing it, say).
#[utoipa::path(post, operation_id = "channels_enable", path = "/api/v1/channels/{id}/enable", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<ChannelView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn enable(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Path(id): Path<String>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    let channel = state
        .app()
        .enable_channel(&auth.acting()?, &id, &ChannelPublisher::new(&state))
        .await?;
    Ok(Json(Data {
        data: channel.into(),
    }))
}

/// Delete a channel: its credentials are erased, what was still queued for it fails, and
/// what it published stays on the cards.
#[utoipa::path(delete, operation_id = "channels_delete", path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app().delete_channel(&auth.acting()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The server's side of the channel use cases: a stored channel opened with the server's
/// key, and sent to with its HTTP client (renewing a self-renewing channel's expired token
/// first, rather than reporting the expiry as a fault).
pub struct ChannelPublisher {
    ctx: crate::jobs::Context,
}

impl ChannelPublisher {
    pub fn new(state: &AppState) -> Self {
        Self {
            ctx: state.jobs_context(),
        }
    }
}

impl covalynce_app::channels::Publisher for ChannelPublisher {
    fn check(&self, channel: &ChannelRecord) -> Result<(), String> {
        crate::jobs::publish::open_target(&self.ctx, channel).map(|_| ())
    }

    async fn test(&self, channel: &ChannelRecord) -> Result<String, String> {
        let ctx = &self.ctx;
        let id = channel.id.to_string();
        // One that cannot even be opened (an outbox naming a server path) fails its test
        // with the reason, like a refused token.
        let target = crate::jobs::publish::open_target(ctx, channel)?;
        crate::jobs::publish::with_fresh_token(ctx, channel, target, |t| {
            let id = &id;
            async move { t.test(&ctx.http, id).await }
        })
        .await
        .map_err(|failure| failure.to_string())
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TestResult {
    /// True when the platform accepted the test.
    pub ok: bool,
    /// What was done (ok) or what the platform said (not ok).
    pub detail: String,
}

/// Check a channel works: Slack and Discord get a test message, a webhook a signed `ping`,
/// an outbox is opened for appending. A failed test is `ok: false` with the platform's
/// words; it also becomes the channel's `last_error` (cleared by the next success).
#[utoipa::path(post, operation_id = "channels_test", path = "/api/v1/channels/{id}/test", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<TestResult>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn test(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Path(id): Path<String>,
) -> Result<Json<Data<TestResult>>, ApiError> {
    let tested = state
        .app()
        .test_channel(&auth.acting()?, &id, &ChannelPublisher::new(&state))
        .await?;
    Ok(Json(Data {
        data: TestResult {
            ok: tested.ok,
            detail: tested.detail,
        },
    }))
}
