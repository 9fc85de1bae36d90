//! Sources: where shipped work comes from.

use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};

use covalynce_domain::{GateConfig, RepoSlug, SourceId, SourceKind, SourceSettings};
use covalynce_storage::{NewSource, Source};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CreateSource {
    /// A GitHub repository. With a `token` (OAuth or a personal access token with `repo`
    /// and `admin:repo_hook`), Covalynce creates the webhook itself when this server has
    /// a public URL, polls the repository's events (always, as backfill behind the
    /// webhook), and reads diffs from the API. Without one, set the webhook up on GitHub
    /// with `webhook_url` and the secret.
    Github {
        /// `owner/name`.
        repo: String,
        /// The webhook secret to set on GitHub. Omit it and one is generated (and, without
        /// a token, returned once).
        secret: Option<String>,
        /// A GitHub token the source acts with (sealed; never shown again).
        token: Option<String>,
    },
    /// A local git repository, by absolute path.
    Git { path: String },
    /// A Jira Cloud site: create an admin webhook (System → WebHooks) for "Issue updated"
    /// with `webhook_url` and the secret; issues moving to a done-category status become
    /// events.
    Jira {
        /// A label for the site or project (`acme.atlassian.net`, `Rocket`).
        name: String,
        /// The webhook secret to set in Jira. Omit it and one is generated and returned once.
        secret: Option<String>,
        /// `false` for Jira webhooks that cannot sign (no secret field): deliveries then
        /// carry the secret in the URL instead (`webhook_url`, shown once). Default true.
        #[serde(default)]
        signed: Option<bool>,
    },
}

/// What may change on a source.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSource {
    pub gate: Option<GateView>,
}

/// The CI gate: cards about a commit wait until CI for it is green — once CI has been seen
/// for the repository, or from the first push when the gate is turned on explicitly.
#[derive(Serialize, Deserialize, utoipa::ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct GateView {
    /// Off: cards go to the stack whatever CI says.
    pub enabled: bool,
    /// The workflows that must be green (empty: every workflow that runs).
    #[serde(default)]
    pub workflows: Vec<String>,
    /// With the gate turned on before any CI was seen for the repository, how long a card
    /// waits for a first CI run before CI is taken to be absent (seconds, 1 to 604800;
    /// default 3600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_after_secs: Option<u64>,
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
    /// The CI gate for cards from this source.
    pub gate: GateView,
    /// How work arrives: `webhook` (one Covalynce created or one set up by hand),
    /// `polling` (a GitHub source with a token), both, `watch` (local git) or `api`
    /// (`POST /api/v1/events`).
    pub receives: Vec<String>,
    /// Why a GitHub source polls instead of receiving a webhook, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Why a local repository is not watched: its path is no longer one the operator
    /// allows this workspace. Nothing is read from it until that changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
}

impl SourceView {
    /// The view, saying whether a local source may still be read (`allowed`: the
    /// workspace's allowed roots).
    pub fn checked(s: &Source, allowed: &[String]) -> Self {
        let mut view = Self::from(s);
        view.stopped = covalynce_app::sources::watch::stopped(s, allowed);
        view
    }
}

impl From<&Source> for SourceView {
    fn from(s: &Source) -> Self {
        let gate = covalynce_app::jobs::gate::GateSettings::of(&s.settings);
        Self {
            id: s.id.to_string(),
            kind: s.kind,
            repo: s.repo.clone(),
            path: s.path.clone(),
            webhook_url: match s.kind {
                SourceKind::Github => Some(format!("/hooks/github/{}", s.id)),
                SourceKind::Jira => Some(format!("/hooks/jira/{}", s.id)),
                SourceKind::Generic => Some("/api/v1/events".into()),
                SourceKind::Git => None,
            },
            secret: None,
            created_at: time(s.created_at),
            last_delivery_at: s.last_delivery_at.map(time),
            gate: GateView {
                enabled: !gate.off,
                workflows: gate.workflows,
                absent_after_secs: (gate.absent_after_secs
                    != covalynce_app::jobs::gate::ABSENT_AFTER_SECS)
                    .then_some(gate.absent_after_secs),
            },
            receives: match s.kind {
                SourceKind::Git => vec!["watch".into()],
                SourceKind::Github if s.sealed_token.is_some() => {
                    let mut r = Vec::new();
                    if s.hook_id.is_some() {
                        r.push("webhook".into());
                    }
                    r.push("polling".into());
                    r
                }
                SourceKind::Generic => vec!["api".into()],
                SourceKind::Github | SourceKind::Jira => vec!["webhook".into()],
            },
            note: s.settings.note.clone(),
            stopped: None,
        }
    }
}

/// Add a source: a GitHub repository (webhooks), a local git repository or a Jira site.
#[utoipa::path(post, operation_id = "sources_create", path = "/api/v1/sources", tag = "sources", security(("bearer" = [])),
    request_body = CreateSource,
    responses(
        (status = 201, body = Data<SourceView>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    ApiJson(req): ApiJson<CreateSource>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<Data<SourceView>>,
    ),
    ApiError,
> {
    let ws = &auth.0;
    let id = SourceId::new();
    let mut unsigned_url: Option<String> = None;
    let (new, generated_secret) = match req {
        CreateSource::Github {
            repo,
            secret,
            token: Some(token),
        } => {
            let repo = RepoSlug::parse(&repo).map_err(|e| ApiError::Validation(e.0))?;
            return connect_github(&state, ws.id, id, repo, secret, token).await;
        }
        CreateSource::Github {
            repo,
            secret,
            token: None,
        } => {
            let repo = RepoSlug::parse(&repo).map_err(|e| ApiError::Validation(e.0))?;
            let (secret, generated) = super::signing_secret(secret)?;
            let new = NewSource {
                id,
                workspace_id: ws.id,
                kind: SourceKind::Github,
                repo: Some(repo.to_string()),
                path: None,
                sealed_secret: Some(state.secrets().seal(secret.as_bytes())),
                settings: Default::default(),
                sealed_token: None,
            };
            (new, generated)
        }
        CreateSource::Jira {
            name,
            secret,
            signed,
        } => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > 200 {
                return Err(ApiError::Validation(
                    "name must be 1 to 200 characters (the site or project)".into(),
                ));
            }
            let (secret, generated) = super::signing_secret(secret)?;
            let new = NewSource {
                id,
                workspace_id: ws.id,
                kind: SourceKind::Jira,
                repo: Some(name.to_owned()),
                path: None,
                sealed_secret: Some(state.secrets().seal(secret.as_bytes())),
                settings: if signed == Some(false) {
                    SourceSettings {
                        unsigned: true,
                        note: Some("takes unsigned deliveries whose URL carries the secret".into()),
                        ..Default::default()
                    }
                } else {
                    SourceSettings::default()
                },
                sealed_token: None,
            };
            // The URL with its secret is shown once, like the secret itself.
            let generated = if signed == Some(false) {
                unsigned_url = Some(format!("/hooks/jira/{id}?secret={secret}"));
                generated.or(Some(secret))
            } else {
                generated
            };
            (new, generated)
        }
        CreateSource::Git { path } => {
            let source = state.app().add_git_source(&auth.acting()?, &path).await?;
            return Ok((
                StatusCode::CREATED,
                [(header::LOCATION, format!("/api/v1/sources/{}", source.id))],
                Json(Data {
                    data: SourceView::from(&source),
                }),
            ));
        }
    };
    let source = state.store().insert_source(&new).await?;
    let mut view = SourceView::from(&source);
    view.secret = generated_secret;
    if let Some(url) = unsigned_url {
        view.webhook_url = Some(url);
    }
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/sources/{}", source.id))],
        Json(Data { data: view }),
    ))
}

type Created = (
    StatusCode,
    [(header::HeaderName, String); 1],
    Json<Data<SourceView>>,
);

/// A GitHub source with a token: the repository is checked with it, a fresh secret is
/// generated (nobody copies it anywhere), and the webhook is created on GitHub when it
/// can be; the source polls either way.
pub(crate) async fn connect_github(
    state: &AppState,
    ws: covalynce_domain::WorkspaceId,
    id: SourceId,
    repo: RepoSlug,
    secret: Option<String>,
    token: String,
) -> Result<Created, ApiError> {
    let token = token.trim().to_owned();
    if token.is_empty() || token.len() > 1000 {
        return Err(ApiError::Validation(
            "token must be 1 to 1000 characters".into(),
        ));
    }
    let api = covalynce_app::github::Api::new(
        &covalynce_app::github::Api::base_for(state.security().config.github.as_ref()),
        token.clone(),
    );
    let found = api.repository(&repo).await.map_err(|e| match e {
        covalynce_app::github::GithubError::NotFound(_) => ApiError::Validation(format!(
            "GitHub has no repository {repo} that this token can see"
        )),
        covalynce_app::github::GithubError::Refused(m) => {
            ApiError::Validation(format!("GitHub refused the token: {m}"))
        }
        other => ApiError::Unavailable(other.to_string()),
    })?;
    let (secret, _) = super::signing_secret(secret)?;
    let new = NewSource {
        id,
        workspace_id: ws,
        kind: SourceKind::Github,
        repo: Some(found.full_name.clone()),
        path: None,
        sealed_secret: Some(state.secrets().seal(secret.as_bytes())),
        settings: SourceSettings {
            default_branch: found.default_branch.clone(),
            private: found.private,
            ..Default::default()
        },
        sealed_token: Some(state.secrets().seal(token.as_bytes())),
    };
    let mut source = state.store().insert_source(&new).await?;
    let public_url = state.security().config.public_url.as_deref();
    match covalynce_app::github::create_hook_for(public_url, id, &repo, &api, &secret).await {
        Ok(hook) => {
            state.store().set_source_hook(id, Some(hook)).await?;
            source.hook_id = Some(hook);
        }
        Err(note) => {
            tracing::info!(source = %id, %repo, note, "GitHub source polls");
            source.settings.note = Some(note.to_string());
            state
                .store()
                .set_source_settings(ws, id, &source.settings)
                .await?;
        }
    }
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/sources/{id}"))],
        Json(Data {
            data: SourceView::from(&source),
        }),
    ))
}

/// The workspace's sources.
#[utoipa::path(get, operation_id = "sources_list", path = "/api/v1/sources", tag = "sources", security(("bearer" = [])),
    responses((status = 200, body = List<SourceView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws, ..): Auth,
) -> Result<Json<List<SourceView>>, ApiError> {
    let sources = state.store().list_sources(ws.id).await?;
    let allowed = state.store().allowed_paths(ws.id).await?;
    let views: Vec<SourceView> = sources
        .iter()
        .map(|s| SourceView::checked(s, &allowed))
        .collect();
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
    let allowed = state.store().allowed_paths(ws.id).await?;
    Ok(Json(Data {
        data: SourceView::checked(&source, &allowed),
    }))
}

/// Change a source's CI gate. Turning the gate off releases the cards it holds.
#[utoipa::path(patch, operation_id = "sources_update", path = "/api/v1/sources/{id}", tag = "sources", security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdateSource,
    responses(
        (status = 200, body = Data<SourceView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Editor>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateSource>,
) -> Result<Json<Data<SourceView>>, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no source {id:?} in this workspace"));
    let source_id = SourceId::parse(&id).ok_or_else(not_found)?;
    let mut source = state
        .store()
        .workspace_source(ws.id, source_id)
        .await?
        .ok_or_else(not_found)?;
    let mut settings = std::mem::take(&mut source.settings);
    if let Some(gate) = req.gate {
        if gate.workflows.len() > 50
            || gate
                .workflows
                .iter()
                .any(|w| w.trim().is_empty() || w.len() > 200)
        {
            return Err(ApiError::Validation(
                "gate.workflows must be at most 50 workflow names of 1 to 200 characters".into(),
            ));
        }
        if gate
            .absent_after_secs
            .is_some_and(|s| !(1..=604_800).contains(&s))
        {
            return Err(ApiError::Validation(
                "gate.absent_after_secs must be between 1 and 604800 seconds".into(),
            ));
        }
        // Unsaid, the wait for a first CI run stays as it was (the page does not show it).
        let kept = settings.gate.as_ref().and_then(|g| g.absent_after_secs);
        settings.gate = Some(GateConfig {
            enabled: Some(gate.enabled),
            workflows: gate.workflows,
            absent_after_secs: gate.absent_after_secs.or(kept),
        });
    }
    if !state
        .store()
        .set_source_settings(ws.id, source_id, &settings)
        .await?
    {
        return Err(not_found());
    }
    if covalynce_app::jobs::gate::GateSettings::of(&settings).off {
        covalynce_app::jobs::gate::release_source(state.store(), ws.id, source_id).await?;
    }
    source.settings = settings;
    Ok(Json(Data {
        data: SourceView::from(&source),
    }))
}

/// Remove a source: its deliveries and events go with it (cards stay). For a GitHub
/// source connected with a token, the webhook Covalynce created is removed too.
#[utoipa::path(delete, operation_id = "sources_delete", path = "/api/v1/sources/{id}", tag = "sources", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Auth(ws, ..): Auth<Editor>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no source {id:?} in this workspace"));
    let source_id = SourceId::parse(&id).ok_or_else(not_found)?;
    let source = state
        .store()
        .delete_source(ws.id, source_id)
        .await?
        .ok_or_else(not_found)?;
    state.forget_hook_source(source_id);
    covalynce_app::github::after_delete(
        state.secrets(),
        state.security().config.github.as_ref(),
        &source,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
