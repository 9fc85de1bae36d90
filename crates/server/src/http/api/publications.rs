//! A person's answer to a publication that did not simply go out: retry a failed or
//! unknown one (same idempotency key), or confirm an unknown one they found posted.

use super::cards::PublicationView;
use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, PathId};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use covalynce_domain::PublicationId;

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
    auth: Auth<Editor>,
    PathId(id): PathId<PublicationId>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let p = state.app().retry_publication(&auth.acting()?, id).await?;
    Ok(Json(Data { data: (*p).into() }))
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
    auth: Auth<Editor>,
    PathId(id): PathId<PublicationId>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let p = state.app().confirm_publication(&auth.acting()?, id).await?;
    Ok(Json(Data { data: (*p).into() }))
}

/// A post waiting for its time.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct QueuedView {
    pub publication: PublicationView,
    pub card_id: String,
    pub card_title: String,
    /// When it goes out (RFC 3339, UTC).
    pub due_at: String,
}

/// What waits for its time (queued publications of approved cards), soonest first.
#[utoipa::path(get, operation_id = "queue_list", path = "/api/v1/queue", tag = "cards", security(("bearer" = [])),
    responses((status = 200, body = List<QueuedView>)))]
pub async fn queue(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<List<QueuedView>>, ApiError> {
    let queue = state.app().queue(&auth.acting()?).await?;
    let data = queue
        .into_iter()
        .map(|q| QueuedView {
            card_id: q.publication.card_id.to_string(),
            card_title: q.card_title,
            due_at: time(q.due_at),
            publication: q.publication.into(),
        })
        .collect();
    Ok(Json(List::page(data, 0, |q: &QueuedView| {
        q.publication.id.clone()
    })))
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
pub struct Reschedule {
    /// RFC 3339; a time in the past means now.
    pub due_at: String,
}

/// Move a waiting post to another time.
#[utoipa::path(post, operation_id = "publications_reschedule", path = "/api/v1/publications/{id}/reschedule", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = Reschedule,
    responses(
        (status = 200, body = Data<PublicationView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn reschedule(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(id): PathId<PublicationId>,
    ApiJson(req): ApiJson<Reschedule>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let at = covalynce_domain::time::parse_rfc3339_millis(&req.due_at).ok_or_else(|| {
        ApiError::Validation(format!("due_at {:?} is not an RFC 3339 time", req.due_at))
    })?;
    let p = state.app().reschedule(&auth.acting()?, id, at).await?;
    Ok(Json(Data { data: (*p).into() }))
}

/// Send a waiting post before the one ahead of it on its channel (their times swap).
#[utoipa::path(post, operation_id = "publications_earlier", path = "/api/v1/publications/{id}/earlier", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<PublicationView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn earlier(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(id): PathId<PublicationId>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let p = state.app().move_earlier(&auth.acting()?, id).await?;
    Ok(Json(Data { data: (*p).into() }))
}

/// Take a waiting post off the queue: it will not go out, and it is no longer one of its
/// card's publications (the audit log keeps `publication.withdraw`). Answers the card as it
/// now is: pending again when that was its last post, else settled with the others.
#[utoipa::path(post, operation_id = "publications_withdraw", path = "/api/v1/publications/{id}/withdraw", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<super::cards::CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn withdraw(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(id): PathId<PublicationId>,
) -> Result<Json<Data<super::cards::CardView>>, ApiError> {
    let (p, _) = state.app().pull_back(&auth.acting()?, id).await?;
    let (card, publications) = state
        .app()
        .card(
            &auth.acting_as::<crate::http::extract::Viewer>()?,
            p.card_id,
        )
        .await?
        .ok_or_else(|| ApiError::NotFound("the card is gone".into()))?;
    let mut view = super::cards::CardView::from(card);
    view.publications = Some(
        publications
            .into_iter()
            .map(PublicationView::from)
            .collect(),
    );
    Ok(Json(Data { data: view }))
}
