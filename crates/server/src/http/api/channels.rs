//! Channels: where approved cards are published. Credentials (webhook secrets, Slack and
//! Discord webhook URLs — the URL is the credential there) are sealed with AES-256-GCM and
//! never shown again; what the API shows is the channel's non-secret settings.

use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, PathId};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use covalynce_domain::{ChannelId, ChannelStatus};
use covalynce_storage::ChannelRecord;
use serde::{Deserialize, Serialize};

pub use covalynce_app::connect::CreateChannel;

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
    /// When it posts what is approved for "the next free slot", in the workspace's time
    /// zone ("mon-fri 09:00, 14:30; sat 10:00"); empty: as soon as it is approved.
    pub slots: String,
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
            slots: c.slots.to_string(),
            secret: None,
        }
    }
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
    let view = connect(&state, &auth.acting()?, &req).await?;
    Ok((StatusCode::CREATED, Json(Data { data: view })))
}

/// A member connects a channel (the API and the Channels page call this): the use case,
/// and the channel as the API shows it, with a secret the server generated this once.
pub async fn connect(
    state: &AppState,
    who: &covalynce_app::Acting<covalynce_app::Editor>,
    req: &CreateChannel,
) -> Result<ChannelView, ApiError> {
    let platforms = state.connect_platforms();
    let (channel, generated) = state
        .app()
        .create_channel(who, req, &platforms, |s| state.secrets().seal(s))
        .await?;
    let mut view = ChannelView::from(channel);
    view.secret = generated;
    Ok(view)
}

/// The workspace's channels.
#[utoipa::path(get, operation_id = "channels_list", path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    responses((status = 200, body = List<ChannelView>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<List<ChannelView>>, ApiError> {
    let channels = state.app().channels(&auth.acting()?).await?;
    Ok(Json(List::page(
        channels.into_iter().map(ChannelView::from).collect(),
        0,
        |c| c.id.clone(),
    )))
}

/// One channel.
#[utoipa::path(get, operation_id = "channels_get", path = "/api/v1/channels/{id}", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<ChannelView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId<ChannelId>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    Ok(Json(Data {
        data: state.app().channel(&auth.acting()?, id).await?.into(),
    }))
}

/// Stop publishing to a channel: its publications wait (queued) until it is enabled.
#[utoipa::path(post, operation_id = "channels_disable", path = "/api/v1/channels/{id}/disable", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<ChannelView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn disable(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(id): PathId<ChannelId>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    let channel = state.app().disable_channel(&auth.acting()?, id).await?;
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
    PathId(id): PathId<ChannelId>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    let channel = state
        .app()
        .enable_channel(&auth.acting()?, id, &ChannelPublisher::new(&state))
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
    PathId(id): PathId<ChannelId>,
) -> Result<StatusCode, ApiError> {
    state.app().delete_channel(&auth.acting()?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The server's side of the channel use cases: a stored channel opened with the server's
/// key, and sent to with its HTTP client (renewing a self-renewing channel's expired token
/// first, rather than reporting the expiry as a fault).
pub struct ChannelPublisher {
    ctx: covalynce_app::jobs::Context,
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
        covalynce_app::jobs::publish::open_target(&self.ctx, channel).map(|_| ())
    }

    async fn test(&self, channel: &ChannelRecord) -> Result<String, String> {
        let ctx = &self.ctx;
        let id = channel.id.to_string();
        // One that cannot even be opened (an outbox naming a server path) fails its test
        // with the reason, like a refused token.
        let target = covalynce_app::jobs::publish::open_target(ctx, channel)?;
        covalynce_app::jobs::publish::with_fresh_token(ctx, channel, target, |t| {
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
    PathId(id): PathId<ChannelId>,
) -> Result<Json<Data<TestResult>>, ApiError> {
    let tested = state
        .app()
        .test_channel(&auth.acting()?, id, &ChannelPublisher::new(&state))
        .await?;
    Ok(Json(Data {
        data: TestResult {
            ok: tested.ok,
            detail: tested.detail,
        },
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetSlots {
    /// "mon-fri 09:00, 14:30; sat 10:00": groups split by `;`, each its days (mon … sun,
    /// ranges, weekdays, weekends, daily; none: every day) and 24-hour times. Empty: post
    /// as soon as approved.
    pub slots: String,
}

/// Set a channel's posting slots, read in the workspace's time zone. Approvals for "the
/// next free slot" take the first one no other post of this channel has; posts already
/// waiting keep their times.
#[utoipa::path(put, operation_id = "channels_slots", path = "/api/v1/channels/{id}/slots", tag = "channels", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SetSlots,
    responses(
        (status = 200, body = Data<ChannelView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn slots(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(id): PathId<ChannelId>,
    ApiJson(req): ApiJson<SetSlots>,
) -> Result<Json<Data<ChannelView>>, ApiError> {
    let channel = state
        .app()
        .set_slots(&auth.acting()?, id, &req.slots)
        .await?;
    Ok(Json(Data {
        data: channel.into(),
    }))
}
