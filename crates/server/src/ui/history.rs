//! History: what was approved, published, failed or dismissed, with each channel's link
//! or error in the platform's words; failed and unknown publications can be retried or
//! confirmed. And the audit log, for owners.

use super::page::{Button, CsrfForm, Layout, PageId, Signed, UiError, render};
use crate::http::AppState;
use crate::http::api::members::AuditView;
use crate::http::extract::{Editor, Owner};
use axum::extract::{Query, State};
use axum::response::Response;
use covalynce_domain::PublicationId;
use std::collections::HashMap;

pub struct PublicationVm {
    pub id: String,
    pub channel: String,
    pub status: String,
    pub url: Option<String>,
    pub error: Option<String>,
    pub at: Option<super::page::When>,
}

pub struct HistoryCard {
    pub id: String,
    pub title: String,
    pub status: String,
    pub updated: super::page::When,
    pub publications: Vec<PublicationVm>,
}

#[derive(askama::Template)]
#[template(path = "history.html")]
struct HistoryPage {
    layout: Layout,
    csrf: String,
    cards: Vec<HistoryCard>,
    notice: Option<(bool, String)>,
    editor: bool,
}

async fn page(
    state: &AppState,
    signed: &Signed,
    notice: Option<(bool, String)>,
) -> Result<Response, UiError> {
    let names: HashMap<String, String> = state
        .app()
        .channels(&signed.acting_as::<covalynce_app::Viewer>()?)
        .await?
        .into_iter()
        .map(|c| (c.id.to_string(), c.name))
        .collect();
    let shown = state
        .app()
        .decided_cards(&signed.acting_as::<covalynce_app::Viewer>()?, 50)
        .await?;
    let mut cards = Vec::new();
    for (c, publications) in shown {
        let publications = publications
            .into_iter()
            .map(|p| PublicationVm {
                id: p.id.to_string(),
                channel: names
                    .get(&p.channel_id.to_string())
                    .cloned()
                    .unwrap_or_else(|| "a deleted channel".into()),
                status: p.status.as_str().to_owned(),
                url: p
                    .url
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
                error: p.error,
                at: p.published_at.map(super::page::When::at),
            })
            .collect();
        cards.push(HistoryCard {
            id: c.id.to_string(),
            title: c.title,
            status: c.status.as_str().to_owned(),
            updated: super::page::When::at(c.updated_at),
            publications,
        });
    }
    let failed = notice.as_ref().is_some_and(|(ok, _)| !ok);
    let mut r = render(&HistoryPage {
        layout: signed.layout("history"),
        csrf: signed.session.csrf_token.clone(),
        cards,
        notice,
        editor: signed.role >= covalynce_domain::Role::Editor,
    });
    if failed {
        *r.status_mut() = axum::http::StatusCode::CONFLICT;
    }
    Ok(r)
}

pub async fn show(State(state): State<AppState>, signed: Signed) -> Result<Response, UiError> {
    page(&state, &signed, None).await
}

/// Sends a failed or unknown publication again (same idempotency key).
pub async fn retry(
    State(state): State<AppState>,
    signed: Signed,
    PageId(id): PageId<PublicationId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = state
        .app()
        .retry_publication(&signed.acting_as::<Editor>()?, id)
        .await
        .map(|_| "Queued again: it goes out with the same idempotency key.".to_owned());
    answer(&state, &signed, result).await
}

/// Marks an unknown publication as published: the person found it posted.
pub async fn confirm(
    State(state): State<AppState>,
    signed: Signed,
    PageId(id): PageId<PublicationId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = state
        .app()
        .confirm_publication(&signed.acting_as::<Editor>()?, id)
        .await
        .map(|_| "Marked as published.".to_owned());
    answer(&state, &signed, result).await
}

async fn answer(
    state: &AppState,
    signed: &Signed,
    result: Result<String, covalynce_app::AppError>,
) -> Result<Response, UiError> {
    let notice = match result {
        Ok(m) => (true, m),
        Err(e) => (false, UiError::from(e).message()),
    };
    page(state, signed, Some(notice)).await
}

#[derive(askama::Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<AuditView>,
    next: Option<String>,
}

pub async fn audit(
    State(state): State<AppState>,
    signed: Signed,
    Query(paging): Query<crate::http::api::Paging>,
) -> Result<Response, UiError> {
    let who = signed.acting_as::<Owner>()?;
    let before = match paging.before.as_deref() {
        Some(b) => Some(covalynce_domain::AuditId::parse(b).ok_or_else(|| {
            UiError::Page(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "That page of the audit log does not exist.".into(),
            )
        })?),
        None => None,
    };
    let limit = paging.limit();
    let entries = state.app().audit_log(&who, before, limit).await?;
    let entries = entries.into_iter().map(AuditView::from).collect();
    let list = crate::http::api::List::page(entries, limit, |a: &AuditView| a.id.clone());
    Ok(render(&AuditPage {
        layout: signed.layout("settings"),
        entries: list.data,
        next: list.meta.next_before,
    }))
}
