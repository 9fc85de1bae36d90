//! Events: shipped work, normalized, as the pipeline sees it.

use super::{Data, List, Paging, time};
use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
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
    /// new → ready (handed to drafting) → drafted / skipped.
    pub status: String,
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
            data: e.data,
            occurred_at: e.occurred_at.map(time),
            created_at: time(e.created_at),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct EventQuery {
    /// push, tag, release, pull_request_merged or ci_run.
    pub kind: Option<String>,
    pub status: Option<String>,
}

/// Events, newest first.
#[utoipa::path(get, operation_id = "events_list", path = "/api/v1/events", tag = "events", security(("bearer" = [])),
    params(EventQuery, Paging),
    responses((status = 200, body = List<EventView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
    Query(q): Query<EventQuery>,
    Query(paging): Query<Paging>,
) -> Result<Json<List<EventView>>, ApiError> {
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            EventKind::parse(k).ok_or_else(|| {
                ApiError::Validation(format!(
                    "kind must be one of push, tag, release, pull_request_merged, ci_run; got {k:?}"
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
    let events = state
        .store()
        .list_events(
            ws.id,
            &EventFilter {
                kind,
                status: q.status,
                before,
                limit,
            },
        )
        .await?;
    let views = events.into_iter().map(EventView::from).collect();
    Ok(Json(List::page(views, limit, |e| e.id.clone())))
}

/// One event.
#[utoipa::path(get, operation_id = "events_get", path = "/api/v1/events/{id}", tag = "events", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<EventView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
    Path(id): Path<String>,
) -> Result<Json<Data<EventView>>, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no event {id:?} in this workspace"));
    let event_id = EventId::parse(&id).ok_or_else(not_found)?;
    let event = state
        .store()
        .event(ws.id, event_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(Data { data: event.into() }))
}
