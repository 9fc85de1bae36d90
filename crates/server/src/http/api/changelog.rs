//! The public changelog's settings (an owner's) and taking an entry down (an editor's).
//! The public pages themselves are in `ui::changelog`.

use super::Data;
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, Owner};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Serialize, utoipa::ToSchema)]
pub struct ChangelogView {
    /// Whether `/changelog/{workspace}` and its feeds answer (off by default).
    pub public: bool,
    /// The sources whose releases it shows; empty: every source.
    pub sources: Vec<String>,
    /// The page's address on this server.
    pub path: String,
    pub updated_at: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateChangelog {
    pub public: bool,
    /// Source ids; empty or absent: every source.
    #[serde(default)]
    pub sources: Vec<String>,
}

fn view(slug: &str, s: &covalynce_storage::ChangelogSetting) -> ChangelogView {
    ChangelogView {
        public: s.is_public(),
        sources: s.sources.iter().map(|s| s.to_string()).collect(),
        path: format!("/changelog/{slug}"),
        updated_at: (s.updated_at > 0).then(|| super::time(s.updated_at)),
    }
}

/// The public changelog's setting.
#[utoipa::path(get, operation_id = "changelog_get", path = "/api/v1/changelog", tag = "changelog", security(("bearer" = [])),
    responses((status = 200, body = Data<ChangelogView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Data<ChangelogView>>, ApiError> {
    let setting = state.app().changelog_setting(&auth.acting()?).await?;
    Ok(Json(Data {
        data: view(auth.0.slug.as_str(), &setting.setting),
    }))
}

/// Turns the public changelog on or off and picks the sources it shows (owners).
#[utoipa::path(put, operation_id = "changelog_update", path = "/api/v1/changelog", tag = "changelog", security(("bearer" = [])),
    request_body = UpdateChangelog,
    responses((status = 200, body = Data<ChangelogView>), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    ApiJson(req): ApiJson<UpdateChangelog>,
) -> Result<Json<Data<ChangelogView>>, ApiError> {
    let setting = state
        .app()
        .set_changelog(&auth.acting()?, req.public, &req.sources)
        .await?;
    Ok(Json(Data {
        data: view(auth.0.slug.as_str(), &setting),
    }))
}

/// Takes a release off the changelog and its feeds (editors). Approving a card for the same
/// version to a changelog channel puts it back.
#[utoipa::path(delete, operation_id = "changelog_take_down", path = "/api/v1/changelog/entries/{version}", tag = "changelog", security(("bearer" = [])),
    params(("version" = String, Path, description = "The release's tag as written")),
    responses((status = 204), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn take_down(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Path(version): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app()
        .take_down_changelog_entry(&auth.acting()?, &version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
