//! Sources: where shipped work comes from.

use super::{Data, List, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, PathId, missing};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};

use covalynce_app::sources::SetGate;
use covalynce_domain::{SourceId, SourceKind};
use covalynce_storage::Source;
use serde::{Deserialize, Serialize};

pub use covalynce_app::sources::CreateSource;

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

impl SourceView {
    /// The creation answer: the source, with what is shown this once (a generated secret,
    /// an unsigned Jira source's URL that carries its secret).
    pub fn added(added: &covalynce_app::sources::Added) -> Self {
        let mut view = Self::from(&added.source);
        view.secret = added.secret.clone();
        if let Some(url) = &added.unsigned_url {
            view.webhook_url = Some(url.clone());
        }
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
    let added = state
        .app()
        .add_source(&auth.acting()?, req, &state.source_platform())
        .await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::LOCATION,
            format!("/api/v1/sources/{}", added.source.id),
        )],
        Json(Data {
            data: SourceView::added(&added),
        }),
    ))
}

/// The workspace's sources.
#[utoipa::path(get, operation_id = "sources_list", path = "/api/v1/sources", tag = "sources", security(("bearer" = [])),
    responses((status = 200, body = List<SourceView>), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<List<SourceView>>, ApiError> {
    let (sources, allowed) = state.app().sources(&auth.acting()?).await?;
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
    auth: Auth,
    PathId(source_id): PathId<SourceId>,
) -> Result<Json<Data<SourceView>>, ApiError> {
    let (source, allowed) = state
        .app()
        .source(&auth.acting()?, source_id)
        .await?
        .ok_or_else(|| missing::<SourceId>(source_id))?;
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
    auth: Auth<Editor>,
    PathId(source_id): PathId<SourceId>,
    ApiJson(req): ApiJson<UpdateSource>,
) -> Result<Json<Data<SourceView>>, ApiError> {
    let source = match req.gate {
        Some(gate) => {
            state
                .app()
                .set_source_gate(
                    &auth.acting()?,
                    source_id,
                    SetGate {
                        enabled: gate.enabled,
                        workflows: gate.workflows,
                        absent_after_secs: gate.absent_after_secs,
                    },
                )
                .await?
        }
        None => {
            state
                .app()
                .source(&auth.acting_as()?, source_id)
                .await?
                .ok_or_else(|| missing::<SourceId>(source_id))?
                .0
        }
    };
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
    auth: Auth<Editor>,
    PathId(source_id): PathId<SourceId>,
) -> Result<StatusCode, ApiError> {
    state
        .app()
        .remove_source(&auth.acting()?, source_id, &state.source_platform())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
