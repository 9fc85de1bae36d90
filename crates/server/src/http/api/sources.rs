//! Sources: where shipped work comes from.

use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};

use covalynce_domain::{RepoSlug, SourceId, SourceKind};
use covalynce_storage::{NewSource, Source};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreateSource {
    /// A GitHub repository that will send webhooks to `webhook_url`.
    Github {
        /// `owner/name`.
        repo: String,
        /// The webhook secret to set on GitHub. Omit it and one is generated and returned once.
        secret: Option<String>,
    },
    /// A local git repository, by absolute path.
    Git { path: String },
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SourceView {
    pub id: String,
    #[schema(value_type = String, example = "github")]
    pub kind: SourceKind,
    pub repo: Option<String>,
    pub path: Option<String>,
    /// Where GitHub should send deliveries (relative to this server's public URL).
    pub webhook_url: Option<String>,
    /// Only in the creation answer, and only when the server generated the secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub last_delivery_at: Option<String>,
}

impl From<&Source> for SourceView {
    fn from(s: &Source) -> Self {
        Self {
            id: s.id.to_string(),
            kind: s.kind,
            repo: s.repo.clone(),
            path: s.path.clone(),
            webhook_url: (s.kind == SourceKind::Github).then(|| format!("/hooks/github/{}", s.id)),
            secret: None,
            created_at: time(s.created_at),
            last_delivery_at: s.last_delivery_at.map(time),
        }
    }
}

/// Add a source: a GitHub repository (webhooks) or a local git repository.
#[utoipa::path(post, operation_id = "sources_create", path = "/api/v1/sources", tag = "sources", security(("bearer" = [])),
    request_body = CreateSource,
    responses(
        (status = 201, body = Data<SourceView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Editor>,
    ApiJson(req): ApiJson<CreateSource>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<Data<SourceView>>,
    ),
    ApiError,
> {
    let id = SourceId::new();
    let (new, generated_secret) = match req {
        CreateSource::Github { repo, secret } => {
            let repo = RepoSlug::parse(&repo).map_err(|e| ApiError::Validation(e.0))?;
            let (secret, generated) = super::signing_secret(secret)?;
            let new = NewSource {
                id,
                workspace_id: ws.id,
                kind: SourceKind::Github,
                repo: Some(repo.to_string()),
                path: None,
                sealed_secret: Some(state.secrets().seal(secret.as_bytes())),
            };
            (new, generated)
        }
        CreateSource::Git { path } => {
            let path = validate_git_path(&path)?;
            let new = NewSource {
                id,
                workspace_id: ws.id,
                kind: SourceKind::Git,
                repo: None,
                path: Some(path),
                sealed_secret: None,
            };
            (new, None)
        }
    };
    let source = state.store().insert_source(&new).await?;
    let mut view = SourceView::from(&source);
    view.secret = generated_secret;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/sources/{}", source.id))],
        Json(Data { data: view }),
    ))
}

fn validate_git_path(path: &str) -> Result<String, ApiError> {
    let p = std::path::Path::new(path);
    if !p.is_absolute() {
        return Err(ApiError::Validation(format!(
            "path must be absolute, got {path:?}"
        )));
    }
    let canonical = p.canonicalize().map_err(|_| {
        ApiError::Validation(format!(
            "{path} does not exist or cannot be read by the server"
        ))
    })?;
    let is_repo = canonical.join(".git").exists()
        || (canonical.join("HEAD").is_file() && canonical.join("objects").is_dir());
    if !is_repo {
        return Err(ApiError::Validation(format!(
            "{path} is not a git repository"
        )));
    }
    Ok(canonical.display().to_string())
}

/// The workspace's sources.
#[utoipa::path(get, operation_id = "sources_list", path = "/api/v1/sources", tag = "sources", security(("bearer" = [])),
    responses((status = 200, body = List<SourceView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
) -> Result<Json<List<SourceView>>, ApiError> {
    let sources = state.store().list_sources(ws.id).await?;
    let views: Vec<SourceView> = sources.iter().map(SourceView::from).collect();
    Ok(Json(List::page(views, 0, |s| s.id.clone())))
}

/// One source.
#[utoipa::path(get, operation_id = "sources_get", path = "/api/v1/sources/{id}", tag = "sources", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<SourceView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
    Path(id): Path<String>,
) -> Result<Json<Data<SourceView>>, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no source {id:?} in this workspace"));
    let source_id = SourceId::parse(&id).ok_or_else(not_found)?;
    let source = state
        .store()
        .workspace_source(ws.id, source_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(Data {
        data: SourceView::from(&source),
    }))
}
