//! Jobs: the background work queue, with each job's last error visible.

use super::{List, time};
use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
use covalynce_storage::{JobRecord, JobStatus};
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    pub kind: String,
    /// queued, running, done or failed.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it runs (next), for queued jobs.
    pub run_at: String,
    /// The worker that holds or last ran it.
    pub worker: Option<String>,
    pub last_error: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl From<JobRecord> for JobView {
    fn from(j: JobRecord) -> Self {
        Self {
            id: j.id.to_string(),
            kind: j.kind,
            status: j.status.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: time(j.run_at),
            worker: j.locked_by,
            last_error: j.last_error,
            payload: j.payload,
            created_at: time(j.created_at),
            finished_at: j.finished_at.map(time),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct JobQuery {
    /// queued, running, done or failed.
    pub status: Option<String>,
    pub limit: Option<i64>,
}

/// The workspace's jobs, newest first.
#[utoipa::path(get, operation_id = "jobs_list", path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])),
    params(JobQuery),
    responses((status = 200, body = List<JobView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<JobQuery>,
) -> Result<Json<List<JobView>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::Validation(format!(
                    "status must be queued, running, done or failed; got {s:?}"
                ))
            })
        })
        .transpose()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let jobs = state.app().jobs(&auth.acting()?, status, limit).await?;
    Ok(Json(List::page(
        jobs.into_iter().map(JobView::from).collect(),
        0,
        |j| j.id.clone(),
    )))
}
