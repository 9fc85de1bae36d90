//! Invitation links (`/invite/TOKEN`): signed in, one click joins the workspace; signed
//! out, sign up with the invitation or sign in first.

use super::page::{Layout, UiError, Visitor, render};
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use covalynce_storage::SessionRecord;
use subtle::ConstantTimeEq;

#[derive(askama::Template)]
#[template(path = "invite.html")]
struct InvitePage {
    layout: Layout,
    token: String,
    signed_in_as: Option<String>,
}

async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<SessionRecord>, UiError> {
    Ok(crate::http::session::live_session(state, headers).await?)
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, UiError> {
    let session = session(&state, &headers).await?;
    let mut layout = Layout::public();
    if let Some(s) = &session {
        layout.csrf = s.csrf_token.clone();
    }
    Ok(render(&InvitePage {
        layout,
        token,
        signed_in_as: session.map(|s| s.user.email.to_string()),
    }))
}

/// "Join": the invitation page's button, with the session's CSRF token (the page is
/// reached signed in or not, so the session is checked here rather than by `CsrfForm`).
#[derive(serde::Deserialize)]
pub struct AcceptForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
}

pub async fn accept(
    State(state): State<AppState>,
    Visitor { headers, .. }: Visitor,
    Path(token): Path<String>,
    axum::Form(form): axum::Form<AcceptForm>,
) -> Result<Response, UiError> {
    let Some(session) = session(&state, &headers).await? else {
        return Err(UiError::SignIn(format!("/invite/{token}")));
    };
    let sent = form.csrf;
    if !bool::from(sent.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
        return Err(UiError::Page(
            StatusCode::FORBIDDEN,
            "This form has expired. Reload the page and try again.".into(),
        ));
    }
    let joined = state
        .app()
        .accept_invitation(&session.user, &token)
        .await
        .map_err(crate::http::problem::ApiError::from)?;
    // Show the workspace just joined.
    Ok(super::page::to_workspace(
        &state,
        joined.workspace.slug.as_str(),
    ))
}
