//! Probes for orchestrators: `live` = the process answers; `ready` = it can serve (the
//! database answers and is migrated).

use super::AppState;
use super::problem::ApiError;
use axum::Json;
use axum::extract::State;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Up.
#[utoipa::path(get, operation_id = "health_health", path = "/health", tag = "operations", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Liveness: the process is running.
#[utoipa::path(get, operation_id = "health_live", path = "/health/live", tag = "operations", responses((status = 200, body = Health)))]
pub async fn live() -> Json<Health> {
    Json(Health { status: "live" })
}

/// Readiness: the database is reachable and fully migrated.
#[utoipa::path(get, operation_id = "health_ready", path = "/health/ready", tag = "operations", responses(
    (status = 200, body = Health),
    (status = 503, body = super::problem::Problem, content_type = "application/problem+json"),
))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    // An orchestrator asks often and wants an answer, not a hang: at most 1.8 s.
    let answer = tokio::time::timeout(
        std::time::Duration::from_millis(1800),
        state.store().ready(),
    )
    .await;
    let why = match answer {
        Ok(Ok(())) => return Ok(Json(Health { status: "ready" })),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "the database did not answer within 1.8 s".to_owned(),
    };
    tracing::warn!(why, "not ready");
    Err(ApiError::Unavailable(format!(
        "not ready: {}",
        super::problem::DATABASE_DOWN
    )))
}
