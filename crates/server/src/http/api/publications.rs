//! A person's answer to a publication that did not simply go out: retry a failed or
//! unknown one (same idempotency key), or confirm an unknown one they found posted.

use super::Data;
use super::cards::PublicationView;
use crate::http::AppState;
use crate::http::extract::{Auth, Editor};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use covalynce_domain::PublicationId;
use covalynce_storage::PublicationChange;

fn answer(
    change: PublicationChange,
    id: &str,
    what: &str,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    match change {
        PublicationChange::Done(p) => Ok(Json(Data { data: (*p).into() })),
        PublicationChange::NotFound => Err(not_found(id)),
        PublicationChange::Conflict(status) => Err(ApiError::Conflict(format!(
            "publication {id} is {}; {what}",
            status.as_str()
        ))),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no publication {id:?} in this workspace"))
}

fn parse(id: &str) -> Result<PublicationId, ApiError> {
    PublicationId::parse(id).ok_or_else(|| not_found(id))
}

/// Send a failed or unknown publication again (with its original idempotency key). Its
/// card is approved again until it settles.
#[utoipa::path(post, operation_id = "publications_retry", path = "/api/v1/publications/{id}/retry", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<PublicationView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retry(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Editor>,
    Path(id): Path<String>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let change = state.store().retry_publication(ws.id, parse(&id)?).await?;
    state.wake_workers();
    answer(
        change,
        &id,
        "only a failed or unknown publication on an existing channel can be retried",
    )
}

/// Mark an unknown publication as published: you checked the channel and it is there.
#[utoipa::path(post, operation_id = "publications_confirm", path = "/api/v1/publications/{id}/confirm", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<PublicationView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Editor>,
    Path(id): Path<String>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let change = state
        .store()
        .confirm_publication(ws.id, parse(&id)?)
        .await?;
    answer(change, &id, "only an unknown publication can be confirmed")
}
