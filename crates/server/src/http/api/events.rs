//! Events: shipped work, normalized, as the pipeline sees it.

use super::{Data, List, Paging, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, PathId, missing};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use covalynce_domain::{EventId, EventKind};
use covalynce_storage::{EventFilter, EventRecord};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub id: String,
    pub source_id: String,
    pub delivery_id: Option<String>,
    #[schema(value_type = String, example = "push")]
    pub kind: EventKind,
    /// The source's own id for this work; the same work is stored once.
    pub source_event_id: String,
    pub repo: String,
    pub title: String,
    /// new until drafting has looked at it, then drafted, skipped or over_limit.
    pub status: covalynce_domain::EventStatus,
    pub status_reason: Option<String>,
    pub data: serde_json::Value,
    pub occurred_at: Option<String>,
    pub created_at: String,
}

impl From<EventRecord> for EventView {
    fn from(e: EventRecord) -> Self {
        Self {
            id: e.id.to_string(),
            source_id: e.source_id.to_string(),
            delivery_id: e.delivery_id.map(|d| d.to_string()),
            kind: e.kind,
            source_event_id: e.dedup_key,
            repo: e.repo,
            title: e.title,
            status: e.status,
            status_reason: e.status_reason,
            data: e.facts.to_value(),
            occurred_at: e.occurred_at.map(time),
            created_at: time(e.created_at),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventQuery {
    /// push, tag, release, pull_request_merged, ci_run, issue_done, deploy or change.
    pub kind: Option<String>,
    /// new, drafted, skipped or over_limit.
    pub status: Option<String>,
}

/// Events, newest first.
#[utoipa::path(get, operation_id = "events_list", path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(EventQuery, Paging),
    responses((status = 200, body = List<EventView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<EventQuery>,
    Query(paging): Query<Paging>,
) -> Result<Json<List<EventView>>, ApiError> {
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            EventKind::parse(k).ok_or_else(|| {
                ApiError::Validation(format!(
                    "kind must be one of {}; got {k:?}",
                    EventKind::ALL.map(|k| k.as_str()).join(", ")
                ))
            })
        })
        .transpose()?;
    let status = q
        .status
        .as_deref()
        .map(|s| {
            covalynce_domain::EventStatus::parse(s).ok_or_else(|| {
                ApiError::Validation(format!(
                    "status must be one of {}; got {s:?}",
                    covalynce_domain::EventStatus::ALL
                        .map(|s| s.as_str())
                        .join(", ")
                ))
            })
        })
        .transpose()?;
    let before = paging
        .before
        .as_deref()
        .map(|b| {
            EventId::parse(b)
                .ok_or_else(|| ApiError::Validation("before must be an event id".into()))
        })
        .transpose()?;
    let limit = paging.limit();
    let filter = EventFilter {
        kind,
        status,
        before,
        repo: None,
        limit,
    };
    let events = state.app().events(&auth.acting()?, &filter).await?;
    let views = events.into_iter().map(EventView::from).collect();
    Ok(Json(List::page(views, limit, |e| e.id.clone())))
}

/// One event.
#[utoipa::path(get, operation_id = "events_get", path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<EventView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(event_id): PathId<EventId>,
) -> Result<Json<Data<EventView>>, ApiError> {
    let event = state
        .app()
        .event(&auth.acting()?, event_id)
        .await?
        .ok_or_else(|| missing::<EventId>(event_id))?;
    Ok(Json(Data { data: event.into() }))
}

/// The answer to a submitted event.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Submission {
    /// False when the idempotency key was seen before: the event is the one stored then.
    pub new: bool,
    pub event: EventView,
}

/// Report shipped work from any tool (GitLab CI, a deploy script, n8n): it is drafted like
/// a GitHub event. Deduplicated by `idempotency_key` (or the `Idempotency-Key` header):
/// a repeat answers 200 with the event stored the first time and changes nothing.
#[utoipa::path(post, operation_id = "events_create", path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "Used when the body has no idempotency_key")),
    request_body = covalynce_sources::generic::Submitted,
    responses(
        (status = 201, description = "Stored; drafting starts", body = Data<Submission>),
        (status = 200, description = "The idempotency key was seen before; nothing changed", body = Data<Submission>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    headers: axum::http::HeaderMap,
    ApiJson(submitted): ApiJson<covalynce_sources::generic::Submitted>,
) -> Result<(StatusCode, Json<Data<Submission>>), ApiError> {
    let header_key = headers.get("idempotency-key").and_then(|v| v.to_str().ok());
    let covalynce_app::ingest::Submitted { new, event } = state
        .app()
        .submit_event(state.ingest(), &auth.acting()?, submitted, header_key)
        .await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(Data {
            data: Submission {
                new,
                event: event.into(),
            },
        }),
    ))
}
