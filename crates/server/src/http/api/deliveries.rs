//! Deliveries: every verified webhook as received, for debugging a source.

use super::{List, time};
use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
use covalynce_domain::SourceId;
use covalynce_storage::DeliveryRecord;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub source_id: String,
    /// The sender's delivery id (X-GitHub-Delivery).
    pub guid: String,
    pub event: String,
    /// events, ignored or ping.
    pub outcome: String,
    pub reason: Option<String>,
    pub size: i64,
    pub received_at: String,
}

impl From<DeliveryRecord> for DeliveryView {
    fn from(d: DeliveryRecord) -> Self {
        Self {
            id: d.id.to_string(),
            source_id: d.source_id.to_string(),
            guid: d.guid,
            event: d.event_name,
            outcome: d.outcome.as_str().to_owned(),
            reason: d.reason,
            size: d.size,
            received_at: time(d.received_at),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct DeliveryQuery {
    pub source_id: Option<String>,
    /// At most this many (1–200, default 50).
    pub limit: Option<i64>,
}

/// Recent deliveries, newest first.
#[utoipa::path(get, operation_id = "deliveries_list", path = "/api/v1/deliveries", tag = "sources", security(("bearer" = [])),
    params(DeliveryQuery),
    responses((status = 200, body = List<DeliveryView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<DeliveryQuery>,
) -> Result<Json<List<DeliveryView>>, ApiError> {
    let source = q
        .source_id
        .as_deref()
        .map(|s| {
            SourceId::parse(s)
                .ok_or_else(|| ApiError::Validation("source_id must be a source id".into()))
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let rows = state
        .app()
        .deliveries(&auth.acting()?, source, limit)
        .await?;
    Ok(Json(List::page(
        rows.into_iter().map(DeliveryView::from).collect(),
        0,
        |d| d.id.clone(),
    )))
}
