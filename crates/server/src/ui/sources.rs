//! Sources: where shipped work comes from. "Connect GitHub" (OAuth) lists the person's
//! repositories to tick, and Covalynce sets each one up itself (webhook or polling). A
//! repository added by name shows the webhook URL and secret to paste into GitHub (the
//! secret once); a local git path is watched directly; a Jira site gets a webhook URL.

use super::page::{Button, CsrfForm, Keyed, Layout, PageId, Signed, UiError, render};
use super::pending::{Pending, carried, carry, clear, to_consent};
use crate::http::AppState;
use crate::http::api::sources::{CreateSource, SourceView};
use crate::http::extract::Editor;
use crate::http::problem::ApiError;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use covalynce_app::AppError;
use covalynce_app::oauth::{Answer, Completed, Flow};
use covalynce_app::sources::SetGate;
use covalynce_domain::SourceId;

#[derive(askama::Template)]
#[template(path = "sources.html")]
struct SourcesPage {
    layout: Layout,
    csrf: String,
    sources: Vec<SourceView>,
    base: String,
    created: Option<SourceView>,
    error: Option<String>,
    editor: bool,
    /// "Connect GitHub" (OAuth) is configured on this server.
    github_oauth: bool,
    /// After "Connect GitHub": the repositories to tick.
    picker: Option<RepoPicker>,
    /// What connecting the ticked repositories did, one line each (ok, message).
    outcomes: Vec<(bool, String)>,
    /// Where the operator lets this workspace add local repositories.
    allowed: Vec<String>,
}

/// The repositories GitHub lists for the person, and the `state` of the pending
/// connection (the token sealed in the cookie) that ticking some completes.
struct RepoPicker {
    state: String,
    repos: Vec<covalynce_app::oauth::Repo>,
}

#[derive(Default)]
struct Extra {
    created: Option<SourceView>,
    error: Option<String>,
    picker: Option<RepoPicker>,
    outcomes: Vec<(bool, String)>,
}

async fn page<R>(
    state: &AppState,
    signed: &Signed<R>,
    headers: &HeaderMap,
    created: Option<SourceView>,
    error: Option<String>,
) -> Result<Response, UiError> {
    page_with(
        state,
        signed,
        headers,
        Extra {
            created,
            error,
            ..Extra::default()
        },
    )
    .await
}

async fn page_with<R>(
    state: &AppState,
    signed: &Signed<R>,
    headers: &HeaderMap,
    extra: Extra,
) -> Result<Response, UiError> {
    let (sources, allowed) = state
        .app()
        .sources(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?;
    let sources = sources
        .iter()
        .map(|s| SourceView::checked(s, &allowed))
        .collect();
    let allowed_paths = allowed;
    let failed = extra.error.is_some();
    let mut r = render(&SourcesPage {
        layout: signed.layout("sources"),
        csrf: signed.session.csrf_token.clone(),
        sources,
        base: crate::http::session::base_url(state, headers),
        created: extra.created,
        error: extra.error,
        editor: signed.role >= covalynce_domain::Role::Editor,
        github_oauth: state.security().config.github.is_some(),
        picker: extra.picker,
        outcomes: extra.outcomes,
        allowed: allowed_paths,
    });
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

/// "Connect GitHub" keeps its pending connection here. The callback is a sub-path of the
/// sign-in callback, so one registered OAuth app serves both (GitHub accepts a
/// `redirect_uri` below the registered callback URL).
const GITHUB: Pending = Pending {
    cookie: "covalynce_github_connect",
    path: "/",
};
const CALLBACK: &str = "/auth/github/callback/connect";

fn callback(state: &AppState, headers: &HeaderMap) -> String {
    format!(
        "{}{CALLBACK}",
        crate::http::session::base_url(state, headers)
    )
}

/// "Connect GitHub": to GitHub's consent page asking for `repo admin:repo_hook` (not the
/// sign-in's scopes), the flow carried in a 10-minute cookie.
pub async fn github_connect(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let who = signed.acting()?;
    let consent = state
        .app()
        .consent(
            &who,
            &state.oauth_platform(),
            Flow::Github,
            &callback(&state, &headers),
        )
        .await?;
    Ok(to_consent(&state, &GITHUB, &consent))
}

/// GitHub sends the browser back here: the code is traded for a token (never shown; it
/// waits, sealed in the cookie, while the person picks), and the repositories the token
/// reaches are listed to tick.
pub async fn github_callback(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    Query(answer): Query<Answer>,
) -> Result<Response, UiError> {
    let who = signed.acting()?;
    let done = state
        .app()
        .complete(
            &who,
            &state.oauth_platform(),
            Flow::Github,
            carried(&headers, &GITHUB),
            answer,
            &callback(&state, &headers),
        )
        .await;
    let extra = match done {
        Err(AppError::BadRequest(why)) => {
            return Err(UiError::Page(axum::http::StatusCode::BAD_REQUEST, why));
        }
        Err(e) => failed(UiError::from(e).message()),
        Ok(Completed::PickRepos { repos, next }) => {
            let picker = RepoPicker {
                state: next.state.clone(),
                repos,
            };
            let extra = Extra {
                picker: Some(picker),
                ..Extra::default()
            };
            let mut r = page_with(&state, &signed, &headers, extra).await?;
            carry(&state, &GITHUB, &next, &mut r);
            return Ok(r);
        }
        Ok(Completed::NotConnected(why)) => failed(why),
        Ok(Completed::Channel { .. } | Completed::ChoosePage { .. }) => {
            failed("GitHub connects repositories, not channels.".into())
        }
    };
    done_page(&state, &signed, &headers, extra).await
}

fn failed(why: String) -> Extra {
    Extra {
        error: Some(why),
        ..Extra::default()
    }
}

/// The repository picker's form: the flow's `state` and a `repo:<owner/name>` box per
/// repository.
#[derive(serde::Deserialize)]
pub struct PickForm {
    #[serde(default)]
    state: Option<String>,
    #[serde(flatten)]
    boxes: Keyed,
}

/// The ticked repositories (`repo:<owner/name>` fields, one per repository GitHub
/// listed, so the form's keys are not fixed) become sources with the token the flow
/// carries, each through the use case (its checks, webhook and audit apply).
pub async fn github_pick(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<PickForm>,
) -> Result<Response, UiError> {
    let who = signed.acting()?;
    let picked = form.boxes.ticked("repo");
    let done = state
        .app()
        .pick_repos(
            &who,
            &state.oauth_platform(),
            carried(&headers, &GITHUB),
            form.state.as_deref(),
            picked,
        )
        .await;
    let outcomes = match done {
        Err(AppError::BadRequest(why)) => {
            return Err(UiError::Page(axum::http::StatusCode::BAD_REQUEST, why));
        }
        // Nothing ticked, or too many: the picker's cookie stays for another try.
        Err(e) => {
            let extra = failed(UiError::from(e).message());
            return page_with(&state, &signed, &headers, extra).await;
        }
        Ok(outcomes) => outcomes,
    };
    let outcomes = outcomes
        .into_iter()
        .map(|(repo, added)| match added {
            Ok(added) => {
                let c = SourceView::added(&added);
                let how = if c.receives.iter().any(|r| r == "webhook") {
                    "its webhook is set up on GitHub".to_owned()
                } else {
                    format!("polling ({})", c.note.as_deref().unwrap_or("no webhook"))
                };
                (true, format!("Connected {repo}: {how}."))
            }
            Err(e) => (
                false,
                format!("{repo} was not connected: {}", UiError::from(e).message()),
            ),
        })
        .collect();
    let extra = Extra {
        outcomes,
        ..Extra::default()
    };
    done_page(&state, &signed, &headers, extra).await
}

/// The page, with the pending connection's cookie cleared.
async fn done_page<R>(
    state: &AppState,
    signed: &Signed<R>,
    headers: &HeaderMap,
    extra: Extra,
) -> Result<Response, UiError> {
    let mut r = page_with(state, signed, headers, extra).await?;
    clear(state, &GITHUB, &mut r);
    Ok(r)
}

pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    page(&state, &signed, &headers, None, None).await
}

/// The "Add a source" form: `kind=github` with `repo` (and optionally `secret`,
/// `token`), `kind=git` with `path`, or `kind=jira` with `name`.
#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct SourceForm {
    kind: String,
    repo: Option<String>,
    secret: Option<String>,
    token: Option<String>,
    path: Option<String>,
    name: Option<String>,
    /// A checkbox: the Jira site cannot sign its webhooks.
    unsigned: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<SourceForm>,
) -> Result<Response, UiError> {
    let field = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let req = match form.kind.as_str() {
        "git" => CreateSource::Git {
            path: field(form.path).unwrap_or_default(),
        },
        "jira" => CreateSource::Jira {
            name: field(form.name).unwrap_or_default(),
            secret: field(form.secret),
            signed: field(form.unsigned).map(|_| false),
        },
        _ => CreateSource::Github {
            repo: field(form.repo).unwrap_or_default(),
            secret: field(form.secret),
            token: field(form.token),
        },
    };
    match add(&state, &signed, req).await {
        Ok(added) => {
            let created = SourceView::added(&added);
            page(&state, &signed, &headers, Some(created), None).await
        }
        Err(e) => {
            page(
                &state,
                &signed,
                &headers,
                None,
                Some(UiError::from(e).message()),
            )
            .await
        }
    }
}

/// Removes a source (and the webhook Covalynce made for it on GitHub).
pub async fn remove(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    PageId(id): PageId<SourceId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = async {
        let who = signed.acting()?;
        state
            .app()
            .remove_source(&who, id, &state.source_platform())
            .await?;
        Ok("The source was removed (and the webhook Covalynce made for it on GitHub).".to_owned())
    }
    .await;
    answer(&state, &signed, &headers, result).await
}

#[derive(serde::Deserialize)]
pub struct GateForm {
    /// The checkbox: present ("on") when ticked.
    #[serde(default)]
    enabled: Option<String>,
    /// Workflow names, comma-separated; none: any CI run counts.
    #[serde(default)]
    workflows: Option<String>,
}

/// The CI gate on or off, and which workflows count.
pub async fn gate(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    PageId(id): PageId<SourceId>,
    CsrfForm(form): CsrfForm<GateForm>,
) -> Result<Response, UiError> {
    let workflows = form
        .workflows
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let enabled = form.enabled.is_some_and(|v| v == "on" || v == "true");
    let result = async {
        let gate = SetGate {
            enabled,
            workflows,
            absent_after_secs: None,
        };
        state
            .app()
            .set_source_gate(&signed.acting()?, id, gate)
            .await?;
        Ok(if enabled {
            "The CI gate is on: cards wait for green CI.".to_owned()
        } else {
            "The CI gate is off: cards go to the stack whatever CI says.".to_owned()
        })
    }
    .await;
    answer(&state, &signed, &headers, result).await
}

/// A member adds a source, as the API would.
async fn add(
    state: &AppState,
    signed: &Signed<Editor>,
    req: CreateSource,
) -> Result<covalynce_app::sources::Added, ApiError> {
    let who = signed.acting()?;
    Ok(state
        .app()
        .add_source(&who, req, &state.source_platform())
        .await?)
}

/// The sources page with what an action did, or why it could not.
async fn answer(
    state: &AppState,
    signed: &Signed<Editor>,
    headers: &HeaderMap,
    result: Result<String, ApiError>,
) -> Result<Response, UiError> {
    let extra = match result {
        Ok(message) => Extra {
            outcomes: vec![(true, message)],
            ..Extra::default()
        },
        Err(e) => Extra {
            error: Some(UiError::from(e).message()),
            ..Extra::default()
        },
    };
    page_with(state, signed, headers, extra).await
}
