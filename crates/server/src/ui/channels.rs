//! Channels: where approved cards go. Connect one, send a test, disable, enable, delete.

use super::page::{CsrfForm, Layout, Signed, UiError, render};
use crate::http::AppState;
use crate::http::api::channels::{ChannelView, CreateChannel};
use crate::http::extract::{ApiJson, Editor};
use axum::extract::{Path, State};
use axum::response::Response;
use std::collections::HashMap;

#[derive(askama::Template)]
#[template(path = "channels.html")]
struct ChannelsPage {
    layout: Layout,
    csrf: String,
    channels: Vec<ChannelView>,
    notice: Option<(bool, String)>,
    created_secret: Option<String>,
    editor: bool,
}

async fn page<R>(
    state: &AppState,
    signed: &Signed<R>,
    notice: Option<(bool, String)>,
    created_secret: Option<String>,
) -> Result<Response, UiError> {
    let channels = state
        .store()
        .list_channels(signed.workspace.id)
        .await?
        .into_iter()
        .map(ChannelView::from)
        .collect();
    let failed = notice.as_ref().is_some_and(|(ok, _)| !ok);
    let mut r = render(&ChannelsPage {
        layout: signed.layout("channels"),
        csrf: signed.session.csrf_token.clone(),
        channels,
        notice,
        created_secret,
        editor: signed.role >= covalynce_domain::Role::Editor,
    });
    if failed {
        *r.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(r)
}

pub async fn list(State(state): State<AppState>, signed: Signed) -> Result<Response, UiError> {
    page(&state, &signed, None, None).await
}

/// A new channel from the form: `kind` and the fields that kind needs.
pub async fn create(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    CsrfForm(form): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    let field = |k: &str| {
        form.get(k)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let daily_cap = match field("daily_cap").map(|c| c.parse::<i64>()) {
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => {
            let msg = "The daily cap must be a whole number.".to_owned();
            return page(&state, &signed, Some((false, msg)), None).await;
        }
        None => None,
    };
    let req = CreateChannel {
        kind: field("kind").unwrap_or_default(),
        name: field("name"),
        path: field("path"),
        variant: field("variant"),
        url: field("url"),
        secret: field("secret"),
        webhook_url: field("webhook_url"),
        instance: field("instance"),
        access_token: field("access_token"),
        author: field("author"),
        api_base: field("api_base"),
        daily_cap,
    };
    match crate::http::api::channels::create(
        State(state.clone()),
        signed.auth_as::<Editor>()?,
        ApiJson(req),
    )
    .await
    {
        Ok((_, axum::Json(created))) => {
            let msg = format!(
                "Connected {}. Send a test to check it works.",
                created.data.name
            );
            page(&state, &signed, Some((true, msg)), created.data.secret).await
        }
        Err(e) => {
            page(
                &state,
                &signed,
                Some((false, UiError::from(e).message())),
                None,
            )
            .await
        }
    }
}

/// `test`, `disable`, `enable` or `delete` one channel.
pub async fn act(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<HashMap<String, String>>,
) -> Result<Response, UiError> {
    use crate::http::api::channels as api;
    let st = || State(state.clone());
    let path = || Path(id.clone());
    let notice = match action.as_str() {
        "test" => api::test(st(), signed.auth_as::<Editor>()?, path())
            .await
            .map(|r| {
                let t = r.0.data;
                (
                    t.ok,
                    if t.ok {
                        format!("Test sent: {}", t.detail)
                    } else {
                        format!("The test failed: {}", t.detail)
                    },
                )
            }),
        "disable" => api::disable(st(), signed.auth_as::<Editor>()?, path())
            .await
            .map(|r| {
                (
                    true,
                    format!(
                        "{} is disabled: its posts wait until you enable it.",
                        r.0.data.name
                    ),
                )
            }),
        "enable" => api::enable(st(), signed.auth_as::<Editor>()?, path())
            .await
            .map(|r| (true, format!("{} is enabled.", r.0.data.name))),
        "delete" => api::delete(st(), signed.auth_as::<Editor>()?, path())
            .await
            .map(|_| {
                (
                    true,
                    "The channel is deleted; what it published stays on the cards.".to_owned(),
                )
            }),
        _ => {
            return Err(UiError::Page(
                axum::http::StatusCode::NOT_FOUND,
                "There is no such action.".into(),
            ));
        }
    };
    let notice = notice.unwrap_or_else(|e| (false, UiError::from(e).message()));
    page(&state, &signed, Some(notice), None).await
}
