//! Channels: where approved cards are published.

use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use covalynce_domain::ChannelId;
use covalynce_storage::{ChannelRecord, NewChannel};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateChannel {
    /// `outbox` (a local JSON-lines file). Webhook, Slack, Discord, Mastodon, Bluesky,
    /// LinkedIn and X arrive with the publishing and channels issues.
    pub kind: String,
    /// outbox: an absolute file path; default `DATA_DIR/outbox.jsonl`.
    pub path: Option<String>,
    /// outbox: which drafted variant to write (default `linkedin`).
    pub variant: Option<String>,
    pub name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChannelView {
    pub id: String,
    pub kind: String,
    pub name: String,
    /// Non-secret settings; credentials are never shown.
    pub config: serde_json::Value,
    pub status: String,
    pub created_at: String,
}

impl From<ChannelRecord> for ChannelView {
    fn from(c: ChannelRecord) -> Self {
        Self {
            id: c.id.to_string(),
            kind: c.kind,
            name: c.name,
            config: c.config,
            status: c.status,
            created_at: time(c.created_at),
        }
    }
}

/// Add a channel.
#[utoipa::path(post, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    request_body = CreateChannel,
    responses((status = 201, body = Data<ChannelView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    Auth(ws): Auth,
    ApiJson(req): ApiJson<CreateChannel>,
) -> Result<(StatusCode, Json<Data<ChannelView>>), ApiError> {
    if req.kind != "outbox" {
        return Err(ApiError::Validation(format!(
            "channel kind {:?} is not available yet; available: outbox",
            req.kind
        )));
    }
    let path = match req.path {
        Some(p) if !std::path::Path::new(&p).is_absolute() => {
            return Err(ApiError::Validation(format!(
                "path must be absolute, got {p:?}"
            )));
        }
        Some(p) => p,
        None => state.data_dir().join("outbox.jsonl").display().to_string(),
    };
    let variant = req.variant.unwrap_or_else(|| "linkedin".into());
    if covalynce_drafting::Channel::parse(&variant).is_none() {
        return Err(ApiError::Validation(format!(
            "variant {variant:?} is not a channel kind"
        )));
    }
    let channel = state
        .store()
        .insert_channel(&NewChannel {
            id: ChannelId::new(),
            workspace_id: ws.id,
            kind: "outbox".into(),
            name: req.name.unwrap_or_else(|| "Outbox".into()),
            config: serde_json::json!({"path": path, "variant": variant}),
            sealed_credentials: None,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Data {
            data: channel.into(),
        }),
    ))
}

/// The workspace's channels.
#[utoipa::path(get, path = "/api/v1/channels", tag = "channels", security(("bearer" = [])),
    responses((status = 200, body = List<ChannelView>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws): Auth,
) -> Result<Json<List<ChannelView>>, ApiError> {
    let channels = state.store().list_channels(ws.id).await?;
    Ok(Json(List::page(
        channels.into_iter().map(ChannelView::from).collect(),
        0,
        |c| c.id.clone(),
    )))
}
