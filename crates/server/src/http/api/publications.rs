//! A person's answer to a publication that did not simply go out: retry a failed or
//! unknown one (same idempotency key), or confirm an unknown one they found posted.

use super::Data;
use super::cards::PublicationView;
use crate::http::AppState;
use crate::http::extract::{Auth, Editor};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};

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
    Path(id): Path<String>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let p = state.app().retry_publication(&auth.acting()?, &id).await?;
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
    Path(id): Path<String>,
) -> Result<Json<Data<PublicationView>>, ApiError> {
    let p = state
        .app()
        .confirm_publication(&auth.acting()?, &id)
        .await?;
    Ok(Json(Data { data: (*p).into() }))
}
