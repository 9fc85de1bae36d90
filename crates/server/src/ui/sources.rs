//! Sources: where shipped work comes from. "Connect GitHub" (OAuth) lists the person's
//! repositories to tick, and Covalynce sets each one up itself (webhook or polling). A
//! repository added by name shows the webhook URL and secret to paste into GitHub (the
//! secret once); a local git path is watched directly; a Jira site gets a webhook URL.

use super::page::{CsrfForm, Layout, Signed, UiError, render};
use super::pending::{Pending, pending_connection, pending_cookie, to_consent};
use crate::http::AppState;
use crate::http::api::sources::{CreateSource, SourceView};
use crate::http::extract::Editor;
use crate::http::problem::ApiError;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use covalynce_app::sources::SetGate;
use covalynce_domain::SourceId;
use std::collections::HashMap;

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
    repos: Vec<PickerRepo>,
}

struct PickerRepo {
    name: String,
    private: bool,
    description: String,
    /// The token may create its webhook (admin); otherwise the source polls.
    hook: bool,
    connected: bool,
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
    let allowed = state.store().allowed_paths(signed.workspace.id).await?;
    let sources = state
        .store()
        .list_sources(signed.workspace.id)
        .await?
        .iter()
        .map(|s| SourceView::checked(s, &allowed))
        .collect();
    let allowed_paths = allowed;
    let failed = extra.error.is_some();
    let mut r = render(&SourcesPage {
        layout: signed.layout("sources"),
        csrf: signed.session.csrf_token.clone(),
        sources,
        base: crate::http::api::account::base_url(state, headers),
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
    platform: "GitHub",
    cookie: "covalynce_github_connect",
    path: "/",
    start_again: "Sources",
};
const CALLBACK: &str = "/auth/github/callback/connect";
/// Repositories connected in one go, at most.
const MAX_PICKED: usize = 50;

fn github_app(state: &AppState) -> Result<crate::auth::GithubOAuth, UiError> {
    state.security().config.github.clone().ok_or_else(|| {
        UiError::Page(
            axum::http::StatusCode::NOT_FOUND,
            "Connect GitHub is not configured on this server (--github-client-id and --github-client-secret); connect a repository with a token instead.".into(),
        )
    })
}

/// "Connect GitHub": to GitHub's consent page asking for `repo admin:repo_hook` (not the
/// sign-in's scopes), with `state` and a PKCE verifier sealed in a 10-minute cookie.
pub async fn github_connect(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let app = github_app(&state)?;
    let pkce = crate::auth::github::Pending::new(None);
    let redirect = format!(
        "{}{CALLBACK}",
        crate::http::api::account::base_url(&state, &headers)
    );
    let to = crate::auth::github::consent_url(
        &app,
        &redirect,
        crate::auth::github::CONNECT_SCOPES,
        &pkce.state,
        &pkce.challenge(),
    );
    let to = covalynce_publishing::Url::parse(&to).map_err(|e| {
        UiError::Page(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("the GitHub address is invalid: {e}"),
        )
    })?;
    Ok(to_consent(
        &state,
        &signed,
        &GITHUB,
        &pkce.state,
        serde_json::json!({ "verifier": pkce.verifier }),
        &to,
    ))
}

#[derive(serde::Deserialize)]
pub struct GithubCallback {
    code: Option<String>,
    state: Option<String>,
    error_description: Option<String>,
}

/// GitHub sends the browser back here: the state must match this browser's cookie, the
/// code is traded for a token (never shown; sealed in the cookie while the person picks),
/// and the repositories the token reaches are listed to tick.
pub async fn github_callback(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<GithubCallback>,
) -> Result<Response, UiError> {
    let app = github_app(&state)?;
    let failed = |m: String| Extra {
        error: Some(m),
        ..Extra::default()
    };
    if let Some(why) = q.error_description {
        let extra = failed(format!("GitHub did not connect: {why}"));
        return done(&state, &signed, &headers, extra).await;
    }
    let pending = pending_connection(&state, &signed, &headers, &GITHUB, q.state.as_deref())?;
    let (Some(code), Some(verifier)) = (q.code, pending["verifier"].as_str()) else {
        return Err(UiError::Page(
            axum::http::StatusCode::BAD_REQUEST,
            "GitHub sent no code; start again from Sources.".into(),
        ));
    };
    let redirect = format!(
        "{}{CALLBACK}",
        crate::http::api::account::base_url(&state, &headers)
    );
    let token = match crate::auth::github::exchange_token(&app, &code, &redirect, verifier).await {
        Ok(t) => t,
        Err(e) => {
            let extra = failed(format!("GitHub did not connect: {e}"));
            return done(&state, &signed, &headers, extra).await;
        }
    };
    let api = covalynce_app::github::Api::new(&app.api_base, token.clone());
    let repos = match api.user_repos().await {
        Ok(r) => r,
        Err(e) => {
            let extra = failed(format!("Could not list your GitHub repositories: {e}"));
            return done(&state, &signed, &headers, extra).await;
        }
    };
    if repos.is_empty() {
        let extra = failed(
            "GitHub lists no repository for this account; create one or ask to be added to one, then connect again.".into(),
        );
        return done(&state, &signed, &headers, extra).await;
    }
    let connected: Vec<String> = state
        .store()
        .list_sources(signed.workspace.id)
        .await?
        .into_iter()
        .filter(|s| s.kind == covalynce_domain::SourceKind::Github)
        .filter_map(|s| s.repo.map(|r| r.to_ascii_lowercase()))
        .collect();
    let nonce = crate::auth::random_token();
    let cookie = pending_cookie(
        &state,
        &signed,
        &GITHUB,
        &nonce,
        serde_json::json!({ "token": token }),
    );
    let picker = RepoPicker {
        state: nonce,
        repos: repos
            .iter()
            .map(|r| PickerRepo {
                connected: connected.contains(&r.full_name.to_ascii_lowercase()),
                name: r.full_name.clone(),
                private: r.private,
                description: r.description.clone().unwrap_or_default(),
                hook: r.can_hook(),
            })
            .collect(),
    };
    let extra = Extra {
        picker: Some(picker),
        ..Extra::default()
    };
    let mut r = page_with(&state, &signed, &headers, extra).await?;
    crate::auth::append_cookie(&mut r, &cookie);
    Ok(r)
}

/// The ticked repositories (`repo:<owner/name>` fields) become sources with the token
/// sealed in this browser's pending connection, each through the API's own creation (its
/// checks, webhook and audit apply).
pub async fn github_pick(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let pending = pending_connection(
        &state,
        &signed,
        &headers,
        &GITHUB,
        form.get("state").map(String::as_str),
    )?;
    let Some(token) = pending["token"].as_str() else {
        return Err(UiError::Page(
            axum::http::StatusCode::BAD_REQUEST,
            "The pending GitHub connection holds no token; start again from Sources.".into(),
        ));
    };
    let mut picked: Vec<&str> = form
        .keys()
        .filter_map(|k| k.strip_prefix("repo:"))
        .collect();
    picked.sort_unstable();
    if picked.is_empty() {
        let extra = Extra {
            error: Some("Tick at least one repository.".into()),
            ..Extra::default()
        };
        return page_with(&state, &signed, &headers, extra).await;
    }
    if picked.len() > MAX_PICKED {
        let extra = Extra {
            error: Some(format!(
                "{} repositories were ticked; connect at most {MAX_PICKED} at a time.",
                picked.len()
            )),
            ..Extra::default()
        };
        return page_with(&state, &signed, &headers, extra).await;
    }
    let mut outcomes = Vec::new();
    for repo in picked {
        let req = CreateSource::Github {
            repo: repo.to_owned(),
            secret: None,
            token: Some(token.to_owned()),
        };
        let outcome = match add(&state, &signed, req).await {
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
        };
        outcomes.push(outcome);
    }
    let extra = Extra {
        outcomes,
        ..Extra::default()
    };
    done(&state, &signed, &headers, extra).await
}

/// The page, with the pending connection's cookie cleared.
async fn done<R>(
    state: &AppState,
    signed: &Signed<R>,
    headers: &HeaderMap,
    extra: Extra,
) -> Result<Response, UiError> {
    let mut r = page_with(state, signed, headers, extra).await?;
    let clear = crate::auth::clear_cookie(
        GITHUB.cookie,
        GITHUB.path,
        state.security().config.secure_cookies,
    );
    crate::auth::append_cookie(&mut r, &clear);
    Ok(r)
}

pub async fn list(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    page(&state, &signed, &headers, None, None).await
}

/// `kind=github` with `repo` (and optionally `secret`), or `kind=git` with `path`.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let field = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let req = match form.get("kind").map(String::as_str) {
        Some("git") => CreateSource::Git {
            path: field("path").unwrap_or_default(),
        },
        Some("jira") => CreateSource::Jira {
            name: field("name").unwrap_or_default(),
            secret: field("secret"),
            signed: field("unsigned").map(|_| false),
        },
        _ => CreateSource::Github {
            repo: field("repo").unwrap_or_default(),
            secret: field("secret"),
            token: field("token"),
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
    axum::extract::Path(id): axum::extract::Path<String>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let result = async {
        let id = source_id(&id)?;
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
    axum::extract::Path(id): axum::extract::Path<String>,
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
        let id = source_id(&id)?;
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

/// A source of this workspace named in a page's URL.
fn source_id(id: &str) -> Result<SourceId, ApiError> {
    SourceId::parse(id)
        .ok_or_else(|| ApiError::NotFound(format!("there is no source {id:?} in this workspace")))
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
