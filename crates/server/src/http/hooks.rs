//! `POST /hooks/github/{source_id}`: GitHub's webhook deliveries.
//!
//! Order matters: find the source (404), read at most 25 MB (413), verify the signature
//! over the raw bytes (401) — only then is anything parsed or stored. The delivery is
//! committed durably (group commit) before the answer; the work it implies runs in jobs.

use super::problem::ApiError;
use super::{AppState, HookSource};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covalynce_domain::{RepoSlug, SourceId, SourceKind, now_millis};
use covalynce_sources::github::{self, Classified};
use covalynce_storage::{DeliveryOutcome, Ingest, IngestOutcome, StoredEvent};
use serde::Serialize;
use std::sync::Arc;

/// The answer to a delivery GitHub shows in its "Recent Deliveries" log.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum HookAnswer {
    Stored {
        delivery_id: String,
        events: Vec<HookEvent>,
    },
    Ignored {
        /// Why this delivery starts no work.
        ignored: String,
    },
    Duplicate {
        /// True: this delivery id was received before; nothing new was stored.
        duplicate: bool,
    },
    Pong {
        pong: bool,
        zen: Option<String>,
    },
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct HookEvent {
    pub id: String,
    #[schema(value_type = String)]
    pub kind: covalynce_domain::EventKind,
    /// False when the same work (same commit, tag, release, PR) was stored before.
    pub new: bool,
}

impl From<StoredEvent> for HookEvent {
    fn from(e: StoredEvent) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind,
            new: e.new,
        }
    }
}

/// Receive a GitHub webhook delivery.
#[utoipa::path(
    post,
    operation_id = "hooks_github",
    path = "/hooks/github/{source_id}",
    tag = "webhooks",
    params(
        ("source_id" = String, Path, description = "The source's id, from `POST /api/v1/sources`"),
        ("X-GitHub-Event" = String, Header, description = "The event name"),
        ("X-GitHub-Delivery" = String, Header, description = "The delivery's unique id; a redelivery keeps it"),
        ("X-Hub-Signature-256" = String, Header, description = "sha256= HMAC-SHA256 of the raw body with the source's secret"),
    ),
    request_body(content = serde_json::Value, description = "The payload exactly as GitHub sends it", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored; events created (or the event is ignored, with a reason)", body = HookAnswer),
        (status = 200, description = "A ping, or a redelivery of a delivery already stored", body = HookAnswer),
        (status = 400, description = "Malformed JSON or missing GitHub headers", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong signature; nothing stored", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such source", body = super::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 25 MB", body = super::problem::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn github(
    State(state): State<AppState>,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let result = receive(&state, &source_id, &headers, body).await;
    let outcome = match &result {
        Ok((_, HookAnswer::Stored { .. })) => "stored",
        Ok((_, HookAnswer::Ignored { .. })) => "ignored",
        Ok((_, HookAnswer::Duplicate { .. })) => "duplicate",
        Ok((_, HookAnswer::Pong { .. })) => "ping",
        Err(e) => e.slug(),
    };
    metrics::counter!("covalynce_webhook_deliveries_total", "outcome" => outcome).increment(1);
    let (status, answer) = result?;
    Ok((status, Json(answer)).into_response())
}

async fn receive(
    state: &AppState,
    source_id: &str,
    headers: &HeaderMap,
    body: Body,
) -> Result<(StatusCode, HookAnswer), ApiError> {
    let source_id = SourceId::parse(source_id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no source {source_id:?}")))?;
    let source = hook_source(state, source_id).await?;

    let too_large = || {
        ApiError::PayloadTooLarge(format!(
            "webhook bodies are limited to {} bytes, as GitHub's are",
            github::MAX_PAYLOAD_BYTES
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > github::MAX_PAYLOAD_BYTES as u64) {
        return Err(too_large());
    }
    let body = axum::body::to_bytes(body, github::MAX_PAYLOAD_BYTES)
        .await
        .map_err(|e| {
            if e.to_string().contains("length limit") {
                too_large()
            } else {
                ApiError::BadRequest(format!("could not read the body: {e}"))
            }
        })?;

    let header_str = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    github::verify_signature(&source.secret, &body, header_str("x-hub-signature-256"))
        .map_err(|e| ApiError::InvalidSignature(e.to_string()))?;

    let event_name = header_str("x-github-event")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::BadRequest("the X-GitHub-Event header is missing".into()))?
        .to_owned();
    let guid = header_str("x-github-delivery")
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .ok_or_else(|| {
            ApiError::BadRequest("the X-GitHub-Delivery header is missing or too long".into())
        })?
        .to_owned();

    let classified =
        github::classify(&event_name, &body, source.repo.as_ref()).map_err(|e| match e {
            github::PayloadError::NotJson(_) => ApiError::MalformedJson(e.to_string()),
            github::PayloadError::Shape { .. } => ApiError::BadRequest(e.to_string()),
        })?;
    let (outcome, reason, events, zen) = match classified {
        Classified::Ping { zen } => (DeliveryOutcome::Ping, None, Vec::new(), zen),
        Classified::Ignored(reason) => (DeliveryOutcome::Ignored, Some(reason), Vec::new(), None),
        Classified::Events(events) => (DeliveryOutcome::Events, None, events, None),
    };
    let stored = state
        .ingest()
        .submit(Ingest {
            workspace_id: source.workspace_id,
            source_id,
            guid,
            event_name,
            outcome,
            reason: reason.clone(),
            body: body.to_vec(),
            events,
            received_at: now_millis(),
        })
        .await?;
    Ok(match stored {
        IngestOutcome::Duplicate => (StatusCode::OK, HookAnswer::Duplicate { duplicate: true }),
        IngestOutcome::Stored {
            delivery_id,
            events,
        } => match outcome {
            DeliveryOutcome::Ping => (StatusCode::OK, HookAnswer::Pong { pong: true, zen }),
            DeliveryOutcome::Ignored => (
                StatusCode::ACCEPTED,
                HookAnswer::Ignored {
                    ignored: reason.unwrap_or_default(),
                },
            ),
            DeliveryOutcome::Events => {
                if events.iter().any(|e| e.new) {
                    state.wake_workers();
                }
                (
                    StatusCode::ACCEPTED,
                    HookAnswer::Stored {
                        delivery_id: delivery_id.to_string(),
                        events: events.into_iter().map(HookEvent::from).collect(),
                    },
                )
            }
        },
    })
}

async fn hook_source(state: &AppState, id: SourceId) -> Result<Arc<HookSource>, ApiError> {
    if let Some(cached) = state.cached_hook_source(id) {
        return Ok(cached);
    }
    let not_found = || ApiError::NotFound(format!("there is no GitHub source {id}"));
    let source = state.store().source(id).await?.ok_or_else(not_found)?;
    if source.kind != SourceKind::Github {
        return Err(not_found());
    }
    let sealed = source.sealed_secret.as_deref().ok_or_else(not_found)?;
    let secret = state
        .secrets()
        .open(sealed)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("source {id}: {e}")))?;
    let repo = source.repo.as_deref().and_then(|r| RepoSlug::parse(r).ok());
    let hook = Arc::new(HookSource {
        workspace_id: source.workspace_id,
        repo,
        secret,
    });
    state.cache_hook_source(id, hook.clone());
    Ok(hook)
}
