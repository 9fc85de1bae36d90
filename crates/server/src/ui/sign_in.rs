//! Signing in, signing up and signing out in the browser. The checks are the API's own
//! (`api::account`): the same limits, the same answers to wrong emails and passwords.

use super::page::{Button, CsrfForm, Layout, Signed, UiError, Visitor, render};
use crate::http::AppState;
use crate::http::api::account::{self, SignIn, SignUp};
use crate::http::problem::ApiError;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    next: String,
    email: String,
    error: Option<String>,
    github: bool,
}

#[derive(askama::Template)]
#[template(path = "signup.html")]
struct SignupPage {
    layout: Layout,
    email: String,
    workspace: String,
    invitation: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    next: Option<String>,
    invitation: Option<String>,
}

/// Only a path on this server: never an open redirect to somewhere else.
fn local(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn signed_in(cookie: &str, next: &str) -> Response {
    let mut r = Redirect::to(next).into_response();
    crate::auth::append_cookie(&mut r, cookie);
    r
}

pub async fn login_form(State(state): State<AppState>, Query(q): Query<NextQuery>) -> Response {
    render(&LoginPage {
        layout: Layout::public(),
        next: local(q.next.as_deref()),
        email: String::new(),
        error: None,
        github: state.security().config.github.is_some(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    Visitor { headers, ip }: Visitor,
    axum::Form(form): axum::Form<LoginForm>,
) -> Response {
    let next = local(form.next.as_deref());
    let body = SignIn {
        email: form.email.clone(),
        password: form.password,
    };
    match account::sign_in_with_password(&state, &headers, ip, body).await {
        Ok((_, cookie, _)) => signed_in(&cookie, &next),
        Err(e) => {
            let (status, _) = e.status_and_title();
            let message = match e {
                ApiError::Unauthorized(_) => "The email or password is wrong.".to_owned(),
                other => UiError::from(other).message(),
            };
            let mut r = render(&LoginPage {
                layout: Layout::public(),
                next,
                email: form.email,
                error: Some(message),
                github: state.security().config.github.is_some(),
            });
            *r.status_mut() = status;
            r
        }
    }
}

pub async fn signup_form(Query(q): Query<NextQuery>) -> Response {
    render(&SignupPage {
        layout: Layout::public(),
        email: String::new(),
        workspace: String::new(),
        invitation: q.invitation.unwrap_or_default(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    workspace: String,
    #[serde(default)]
    invitation: String,
}

pub async fn signup(
    State(state): State<AppState>,
    Visitor { headers, ip }: Visitor,
    axum::Form(form): axum::Form<SignupForm>,
) -> Response {
    let body = SignUp {
        email: form.email.clone(),
        password: form.password,
        name: None,
        workspace: Some(form.workspace.trim().to_owned()).filter(|w| !w.is_empty()),
        invitation: Some(form.invitation.trim().to_owned()).filter(|i| !i.is_empty()),
    };
    match account::sign_up_with_password(&state, &headers, ip, body).await {
        Ok((_, cookie, _)) => signed_in(&cookie, "/"),
        Err(e) => {
            let (status, _) = e.status_and_title();
            let mut r = render(&SignupPage {
                layout: Layout::public(),
                email: form.email,
                workspace: form.workspace,
                invitation: form.invitation,
                error: Some(UiError::from(e).message()),
            });
            *r.status_mut() = status;
            r
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    signed: Signed,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    state.app().sign_out(&signed.session.id_hash).await?;
    let mut r = Redirect::to("/login").into_response();
    crate::auth::append_cookie(&mut r, &account::signed_out(&state));
    Ok(r)
}

/// The workspace picker's choice.
#[derive(serde::Deserialize)]
pub struct WorkspaceChoice {
    #[serde(default)]
    workspace: String,
}

/// Shows another of the person's workspaces.
pub async fn switch_workspace(
    State(state): State<AppState>,
    signed: Signed,
    CsrfForm(form): CsrfForm<WorkspaceChoice>,
) -> Result<Response, UiError> {
    let slug = form.workspace.as_str();
    if !signed
        .memberships
        .iter()
        .any(|m| m.workspace.slug.as_str() == slug)
    {
        return Err(UiError::Page(
            StatusCode::NOT_FOUND,
            format!("You are not a member of a workspace {slug:?}."),
        ));
    }
    Ok(super::page::to_workspace(&state, slug))
}

/// A one-time sign-in link (the demo prints one at start).
pub async fn link(
    State(state): State<AppState>,
    Visitor { headers, ip }: Visitor,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Response, UiError> {
    // Counted like password attempts: links are not guessed faster than passwords.
    account::login_limit(&state, ip.as_deref(), None).await?;
    let client = account::client(&state, &headers, ip);
    let (_, session) = state
        .app()
        .sign_in_with_login_link(&token, &client)
        .await?
        .ok_or_else(|| {
            UiError::Page(
                StatusCode::NOT_FOUND,
                "This sign-in link does not work: it was used, a newer one replaced it, or it \
                 is more than an hour old. Running the demo? `covalynce demo-link` prints a \
                 new link while it keeps running. Otherwise, sign in."
                    .into(),
            )
        })?;
    let cookie = account::session_cookie(&state, &session);
    Ok(signed_in(&cookie, "/"))
}
