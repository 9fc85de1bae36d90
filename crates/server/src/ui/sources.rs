//! Sources: where shipped work comes from. A GitHub repository shows the webhook URL and
//! secret to paste into GitHub (the secret once); a local git path is watched directly.

use super::page::{CsrfForm, Layout, Signed, UiError, render};
use crate::http::AppState;
use crate::http::api::sources::{CreateSource, SourceView};
use crate::http::extract::{ApiJson, Editor};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
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
}

async fn page<R>(
    state: &AppState,
    signed: &Signed<R>,
    headers: &HeaderMap,
    created: Option<SourceView>,
    error: Option<String>,
) -> Result<Response, UiError> {
    let sources = state
        .store()
        .list_sources(signed.workspace.id)
        .await?
        .iter()
        .map(SourceView::from)
        .collect();
    let mut r = render(&SourcesPage {
        layout: signed.layout("sources"),
        csrf: signed.session.csrf_token.clone(),
        sources,
        base: crate::http::api::account::base_url(state, headers),
        created,
        error: error.clone(),
        editor: signed.role >= covalynce_domain::Role::Editor,
    });
    if error.is_some() {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
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
        _ => CreateSource::Github {
            repo: field("repo").unwrap_or_default(),
            secret: field("secret"),
        },
    };
    match crate::http::api::sources::create(
        State(state.clone()),
        signed.auth_as::<Editor>()?,
        ApiJson(req),
    )
    .await
    {
        Ok((_, _, axum::Json(created))) => {
            page(&state, &signed, &headers, Some(created.data), None).await
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
