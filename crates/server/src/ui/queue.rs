//! The queue: what goes out when, soonest first, in the viewer's own time (the script) and
//! the workspace's zone (without it). A post can be sent earlier than the one ahead of it
//! on its channel, moved to another time, sent now, or pulled back to the stack.

use super::page::{Button, CsrfForm, Layout, PageId, Signed, UiError, When, render};
use crate::http::AppState;
use crate::http::extract::Editor;
use axum::extract::State;
use axum::response::Response;
use covalynce_domain::PublicationId;
use std::collections::HashMap;

pub struct QueuedVm {
    pub publication: String,
    pub card: String,
    pub title: String,
    pub channel: String,
    pub when: When,
    /// In the workspace's zone, for the reschedule field (`YYYY-MM-DDTHH:MM`).
    pub local: String,
    /// Not the first post on its channel: "earlier" is offered.
    pub can_move_up: bool,
}

#[derive(askama::Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    csrf: String,
    queued: Vec<QueuedVm>,
    zone: String,
    notice: Option<(bool, String)>,
    editor: bool,
}

async fn page(
    state: &AppState,
    signed: &Signed,
    notice: Option<(bool, String)>,
) -> Result<Response, UiError> {
    let viewer = signed.acting_as::<covalynce_app::Viewer>()?;
    let zone = viewer.workspace().time_zone.clone();
    let names: HashMap<_, _> = state
        .app()
        .channels(&viewer)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut seen = std::collections::HashSet::new();
    let queued = state
        .app()
        .queue(&viewer)
        .await?
        .into_iter()
        .map(|q| QueuedVm {
            publication: q.publication.id.to_string(),
            card: q.publication.card_id.to_string(),
            title: q.card_title,
            channel: names
                .get(&q.publication.channel_id)
                .cloned()
                .unwrap_or_else(|| "a deleted channel".into()),
            when: When::at(q.due_at),
            local: zone.local_input(q.due_at),
            can_move_up: !seen.insert(q.publication.channel_id),
        })
        .collect();
    let failed = notice.as_ref().is_some_and(|(ok, _)| !ok);
    let mut r = render(&QueuePage {
        layout: signed.layout("queue"),
        csrf: signed.session.csrf_token.clone(),
        queued,
        zone: zone.name().to_owned(),
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

/// Sends it before the post ahead of it on its channel (their times swap).
pub async fn earlier(
    State(state): State<AppState>,
    signed: Signed,
    PageId(id): PageId<PublicationId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = state
        .app()
        .move_earlier(&signed.acting_as::<Editor>()?, id)
        .await
        .map(|_| "Moved up: it goes out first on its channel.".to_owned());
    answer(&state, &signed, result).await
}

/// The reschedule form: a time in the workspace's zone.
#[derive(serde::Deserialize)]
pub struct AtForm {
    #[serde(default)]
    at: String,
}

/// Moves it to another time.
pub async fn reschedule(
    State(state): State<AppState>,
    signed: Signed,
    PageId(id): PageId<PublicationId>,
    CsrfForm(form): CsrfForm<AtForm>,
) -> Result<Response, UiError> {
    let who = signed.acting_as::<Editor>()?;
    let zone = who.workspace().time_zone.clone();
    let result = match zone.parse_local(&form.at) {
        Ok(at) => state.app().reschedule(&who, id, at).await.map(|p| {
            format!(
                "Moved to {}.",
                p.due_at.map(|at| zone.wall(at)).unwrap_or_default()
            )
        }),
        Err(why) => Err(covalynce_app::AppError::Invalid(why)),
    };
    answer(&state, &signed, result).await
}

/// Sends it now (after the undo window, like any approval from the UI).
pub async fn now(
    State(state): State<AppState>,
    signed: Signed,
    PageId(id): PageId<PublicationId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let at = covalynce_domain::now_millis() + super::review::UNDO_WINDOW_MS;
    let result = state
        .app()
        .reschedule(&signed.acting_as::<Editor>()?, id, at)
        .await
        .map(|_| "It goes out in a few seconds.".to_owned());
    answer(&state, &signed, result).await
}

/// Takes the post off the queue; its card comes back to the stack when it was its last.
pub async fn pull(
    State(state): State<AppState>,
    signed: Signed,
    PageId(id): PageId<PublicationId>,
    _: CsrfForm<Button>,
) -> Result<Response, UiError> {
    let result = state
        .app()
        .pull_back(&signed.acting_as::<Editor>()?, id)
        .await
        .map(|(_, back)| {
            if back {
                "Pulled back: the card is back in the stack.".to_owned()
            } else {
                "Pulled back: this post will not go out; the card's other posts stay as they are."
                    .to_owned()
            }
        });
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
