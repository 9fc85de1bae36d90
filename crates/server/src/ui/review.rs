//! Review actions from the stack and the editor: approve, dismiss, undo. Each answers a
//! plain form with a redirect back to the stack, and the page's script with JSON.

use super::page::{Button, CsrfForm, Keyed, PageId, Signed, UiError, urlencode, wants_json};
use crate::http::AppState;
use crate::http::extract::Editor;
use crate::http::problem::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use covalynce_domain::{CardId, ChannelStatus};

/// An approval from the UI goes out this long after the click, so that "undo" can still
/// withdraw it before anything is sent.
pub const UNDO_WINDOW_MS: i64 = 8_000;

/// What an action did, for the page's script.
struct Done {
    message: String,
    /// Where to take it back, while it can be.
    undo: Option<String>,
    /// How long from now it can be taken back (ms): an approval's publications start then.
    undo_ms: Option<i64>,
    /// The card's HTML, when it comes back to the stack.
    fragment: Option<String>,
}

/// How long the stack offers to take back a dismissal (it can be restored later from
/// History too).
const DISMISS_UNDO_MS: i64 = 30_000;

/// The answer to the page's script, or the redirect for a plain form.
fn answer(headers: &HeaderMap, result: Result<Done, ApiError>, done: &str, card: &str) -> Response {
    match (wants_json(headers), result) {
        (true, Ok(d)) => Json(serde_json::json!({
            "ok": true,
            "message": d.message,
            "undo": d.undo,
            "undo_ms": d.undo_ms,
            "fragment": d.fragment,
        }))
        .into_response(),
        (true, Err(e)) => {
            let (status, detail) = UiError::from(e).status_and_message();
            (
                status,
                Json(serde_json::json!({ "ok": false, "detail": detail })),
            )
                .into_response()
        }
        (false, Ok(_)) => Redirect::to(&format!("/?done={done}&card={card}")).into_response(),
        (false, Err(e)) => {
            let detail = UiError::from(e).message();
            crate::http::audit::failed(
                Redirect::to(&format!("/?done=error&message={}", urlencode(&detail)))
                    .into_response(),
            )
        }
    }
}

/// When an approval from the UI goes out at the earliest: the form's `publish_at`
/// (`YYYY-MM-DDTHH:MM`, a `datetime-local` field, read in the workspace's time zone) or
/// now, and never inside the undo window.
pub fn publish_time(
    publish_at: Option<&str>,
    zone: &covalynce_domain::schedule::Zone,
) -> Result<i64, String> {
    let now = covalynce_domain::now_millis();
    let at = match publish_at.map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => zone.parse_local(t)?,
        None => now,
    };
    Ok(at.max(now + UNDO_WINDOW_MS))
}

/// How long the stack offers undo for an approval that goes out later than its window:
/// the queue takes it back after that.
const UNDO_OFFER_MS: i64 = 30_000;

/// "queued for Mon 7 Dec, 09:00" when an approval took a slot beyond the undo window.
pub fn queued_for(
    card: &covalynce_storage::CardRecord,
    zone: &covalynce_domain::schedule::Zone,
) -> Option<String> {
    let at = card.publish_at?;
    (at > covalynce_domain::now_millis() + UNDO_WINDOW_MS + 2_000)
        .then(|| format!("queued for {} ({})", zone.wall(at), zone.name()))
}

/// The stack's approve form: the ticked channels (`channel:ID=on`) and when.
#[derive(serde::Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    publish_at: Option<String>,
    /// "on": yes to a text a channel cuts into a thread.
    #[serde(default)]
    as_thread: Option<String>,
    /// The card offered channel boxes: none ticked means none, not "all".
    #[serde(default)]
    picked: Option<String>,
    #[serde(flatten)]
    boxes: Keyed,
}

/// Approve a card for the channels ticked in the form (`channel:ID=on`), or for every
/// active channel when none is named; `publish_at` (`YYYY-MM-DDTHH:MM`, UTC) schedules it.
pub async fn approve(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    PageId(card_id): PageId<CardId>,
    CsrfForm(form): CsrfForm<ApproveForm>,
) -> Response {
    let result = async {
        let mut channels = form.boxes.ticked("channel");
        if channels.is_empty() && form.picked.is_some() {
            return Err(ApiError::Validation(
                "tick at least one channel to publish on".into(),
            ));
        }
        if channels.is_empty() {
            channels = state
                .app()
                .channels(&signed.acting()?)
                .await?
                .into_iter()
                .filter(|c| c.status == ChannelStatus::Active)
                .map(|c| c.id.to_string())
                .collect();
        }
        if channels.is_empty() {
            return Err(ApiError::Conflict(
                "there is no channel to publish to yet: connect one under Channels".into(),
            ));
        }
        let who = signed.acting()?;
        let zone = who.workspace().time_zone.clone();
        let publish_at =
            publish_time(form.publish_at.as_deref(), &zone).map_err(ApiError::Validation)?;
        // The stack puts each post in its channel's next free slot (at once where a
        // channel has none).
        let request = covalynce_app::cards::Approve::parse(&channels, publish_at)?
            .as_thread(form.as_thread.is_some())
            .in_next_slot(true);
        let card = state.app().approve(&who, card_id, request).await?;
        let first = card.publish_at.unwrap_or(publish_at);
        Ok(Done {
            message: queued_for(&card, &zone)
                .map_or_else(|| "Approved.".to_owned(), |q| format!("Approved: {q}.")),
            undo: Some(format!("/cards/{card_id}/undo")),
            // Nothing starts before its time; the second kept back covers the trip.
            undo_ms: Some((first - covalynce_domain::now_millis() - 1_000).min(UNDO_OFFER_MS)),
            fragment: None,
        })
    }
    .await;
    answer(&headers, result, "approved", &card_id.to_string())
}

pub async fn dismiss(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    PageId(card_id): PageId<CardId>,
    _: CsrfForm<Button>,
) -> Response {
    // The same use case as the API's dismiss: the same checks and answers.
    let result = async {
        state.app().dismiss(&signed.acting()?, card_id).await?;
        Ok(Done {
            message: "Dismissed.".to_owned(),
            undo: Some(format!("/cards/{card_id}/undo")),
            undo_ms: Some(DISMISS_UNDO_MS),
            fragment: None,
        })
    }
    .await;
    answer(&headers, result, "dismissed", &card_id.to_string())
}

/// Takes back the last approval (while nothing has gone out) or dismissal: the card is
/// pending again and comes back to the stack.
pub async fn undo(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    PageId(card_id): PageId<CardId>,
    _: CsrfForm<Button>,
) -> Response {
    let result = async {
        let card = state.app().undo(&signed.acting()?, card_id).await?;
        let fragment = super::stack::fragment_html(&state, &signed, card_id)
            .await
            .ok();
        Ok(Done {
            message: format!(
                "Undone: \u{201c}{}\u{201d} is back in the stack.",
                card.title
            ),
            undo: None,
            undo_ms: None,
            fragment,
        })
    }
    .await;
    answer(&headers, result, "restored", &card_id.to_string())
}

/// "I rotated it": a person confirms that the secret the commit text leaked was rotated.
/// The card comes back judged without it (still red while a post holds a secret).
pub async fn rotated(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    headers: HeaderMap,
    PageId(card_id): PageId<CardId>,
    _: CsrfForm<Button>,
) -> Response {
    let result = async {
        let card = state
            .app()
            .confirm_rotated(&signed.acting()?, card_id)
            .await?;
        let fragment = super::stack::fragment_html(&state, &signed, card_id)
            .await
            .ok();
        Ok(Done {
            message: format!(
                "Noted: the secret is rotated. \u{201c}{}\u{201d} is {} now.",
                card.title,
                card.risk.map_or("unjudged", |r| r.as_str())
            ),
            undo: None,
            undo_ms: None,
            fragment,
        })
    }
    .await;
    answer(&headers, result, "rotated", &card_id.to_string())
}
