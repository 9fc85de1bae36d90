//! The editor: each channel's text with a live preview and the platform's own count,
//! channels to publish on, a time, and every revision since the draft.

use super::page::{CsrfForm, Keyed, Layout, PageId, Signed, UiError, no_such, render, urlencode};
use super::stack::{CardVm, card_vm, channel_label};
use crate::http::AppState;
use crate::http::extract::Editor;
use crate::http::problem::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use covalynce_domain::{CardId, CardStatus};
use covalynce_drafting::Channel;
use covalynce_storage::CardChange;
use std::collections::BTreeMap;

pub struct FieldVm {
    pub channel: String,
    pub label: &'static str,
    pub text: String,
    pub limit: usize,
    /// Of the longest post, for a thread.
    pub length: usize,
    /// Posts in the text: more than one is a thread (X, Bluesky, Mastodon).
    pub posts: usize,
    pub rule: &'static str,
    /// The active channels that send this text ("Outbox, Acme on X"); empty: none.
    pub sent_by: String,
}

/// Where an answer to a form belongs: beside what the person clicked.
pub enum Answer {
    /// Save, approve: in the publish panel.
    Publish(String),
    /// The card moved on (approved or dismissed in another tab): in the publish panel,
    /// as a 409.
    Moved(String),
    /// Refine with AI: in its own form.
    Refine(String),
}

pub struct ChannelVm {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    /// Its next free posting slot, in the workspace's zone; `None`: it posts at once.
    pub next: Option<String>,
}

pub struct RevisionVm {
    pub number: i64,
    pub author: String,
    pub created: super::page::When,
    pub posts: Vec<(&'static str, String)>,
}

#[derive(askama::Template)]
#[template(path = "editor.html")]
struct EditorPage {
    layout: Layout,
    csrf: String,
    card: CardVm,
    fields: Vec<FieldVm>,
    channels: Vec<ChannelVm>,
    revisions: Vec<RevisionVm>,
    pending: bool,
    /// Some channel has posting slots: "next free slot" is offered (and chosen).
    slotted: bool,
    /// The workspace's time zone, which the time field is read in.
    zone: String,
    error: Option<String>,
    refine_error: Option<String>,
    /// Why refine with AI is not offered (AI off, no provider).
    refine_off: Option<String>,
    saved: bool,
}

async fn editor_page(
    state: &AppState,
    signed: &Signed<Editor>,
    card_id: CardId,
    answer: Option<Answer>,
    saved: bool,
    typed: Option<&BTreeMap<String, String>>,
) -> Result<Response, UiError> {
    let viewer = signed.acting_as::<covalynce_app::Viewer>()?;
    let (card, _) = state
        .app()
        .card(&viewer, card_id)
        .await?
        .ok_or_else(no_such::<CardId>)?;
    let pending = card.status == CardStatus::Pending;
    let active = super::stack::active_channels(state, &viewer).await?;
    let sent = covalynce_app::cards::texts_sent(&card, &active.channels);
    let sent_by = |variant: &str| -> String {
        sent.iter()
            .filter(|(_, v)| v == variant)
            .map(|(c, _)| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut fields: Vec<FieldVm> = card
        .variants
        .iter()
        .filter_map(|(name, text)| {
            let channel = Channel::parse(name)?;
            let text = typed.and_then(|t| t.get(name)).unwrap_or(text).clone();
            // A thread's counter shows its longest post: each must fit.
            let (length, posts) = channel.measure(&text);
            Some(FieldVm {
                channel: name.clone(),
                label: channel_label(name),
                limit: channel.limit(),
                length,
                posts,
                rule: channel.counting_rule(),
                sent_by: sent_by(name),
                text,
            })
        })
        .collect();
    fields.sort_by_key(|f| super::stack::channel_rank(&f.channel));
    let zone = viewer.workspace().time_zone.clone();
    let channels: Vec<ChannelVm> = active
        .channels
        .iter()
        .map(|c| ChannelVm {
            id: c.id.to_string(),
            name: c.name.clone(),
            kind: c.kind.label(),
            next: active.next_slot(c),
        })
        .collect();
    let slotted = channels.iter().any(|c| c.next.is_some());
    let revisions = state
        .app()
        .card_revisions(&signed.acting_as::<covalynce_app::Viewer>()?, card_id)
        .await?
        .into_iter()
        .rev()
        .map(|r| RevisionVm {
            number: r.revision,
            author: r.author,
            created: super::page::When::at(r.created_at),
            posts: r
                .variants
                .into_iter()
                .map(|(k, v)| (channel_label(&k), v))
                .collect(),
        })
        .collect();
    let vm = card_vm(state, &viewer, card, &active).await?;
    let refine_off = if pending {
        state
            .app()
            .refine_unavailable(&viewer, &state.ai_platform())
            .await?
    } else {
        None
    };
    let status = match answer {
        Some(Answer::Moved(_)) => StatusCode::CONFLICT,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let (error, refine_error) = match answer {
        Some(Answer::Publish(e) | Answer::Moved(e)) => (Some(e), None),
        Some(Answer::Refine(e)) => (None, Some(e)),
        None => (None, None),
    };
    let mut r = render(&EditorPage {
        layout: signed.layout("review"),
        csrf: signed.session.csrf_token.clone(),
        card: vm,
        fields,
        channels,
        revisions,
        pending,
        saved,
        slotted,
        zone: zone.name().to_owned(),
        error,
        refine_error,
        refine_off,
    });
    *r.status_mut() = status;
    Ok(r)
}

pub async fn page(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    PageId(card_id): PageId<CardId>,
    axum::extract::Query(q): axum::extract::Query<EditorQuery>,
) -> Result<Response, UiError> {
    editor_page(&state, &signed, card_id, None, q.saved.is_some(), None).await
}

/// `?saved=1` after a save or a refine.
#[derive(serde::Deserialize)]
pub struct EditorQuery {
    saved: Option<String>,
}

/// The editor's form: the texts (`text:CHANNEL`), the ticked channels (`channel:ID`),
/// when, and whether to approve too.
#[derive(serde::Deserialize)]
pub struct SaveForm {
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    publish_at: Option<String>,
    /// "on": yes to a text a channel cuts into a thread.
    #[serde(default)]
    as_thread: Option<String>,
    /// slot (each channel's next free slot), now, or at (`publish_at`).
    #[serde(default)]
    when: Option<String>,
    #[serde(flatten)]
    fields: Keyed,
}

/// "Refine with AI": what to change.
#[derive(serde::Deserialize)]
pub struct RefineForm {
    #[serde(default)]
    instruction: String,
}

/// Saves the texts (`text:CHANNEL`) as a new revision; with `intent=approve` approves
/// it too, for the ticked channels (`channel:ID`) at `publish_at`.
pub async fn save(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    PageId(card_id): PageId<CardId>,
    CsrfForm(form): CsrfForm<SaveForm>,
) -> Result<Response, UiError> {
    let edits: BTreeMap<String, String> = form
        .fields
        .under("text")
        .map(|(c, v)| (c.to_owned(), v.replace("\r\n", "\n")))
        .collect();
    let approving = form.intent.as_deref() == Some("approve");
    // `edit` keeps only what changed: an unchanged "approve" is not an edit.
    if !edits.is_empty() {
        let edited = async {
            Ok::<_, crate::http::problem::ApiError>(
                state
                    .app()
                    .edit(&signed.acting()?, card_id, edits.clone())
                    .await?,
            )
        }
        .await;
        // A card that moved on in another tab: said as what happened to it, and whether
        // what was typed here was lost ("Approve" with the texts as they stood edits
        // nothing).
        let refused = match edited {
            Ok(CardChange::Done(_)) => None,
            Ok(CardChange::Conflict(status)) => {
                let viewer = signed.acting_as::<covalynce_app::Viewer>()?;
                let typed_changes = match state.app().card(&viewer, card_id).await? {
                    Some((card, _)) => edits.iter().any(|(c, t)| card.variants.get(c) != Some(t)),
                    None => return Err(no_such::<CardId>()),
                };
                Some(Answer::Moved(moved_on(status, approving, typed_changes)))
            }
            Ok(CardChange::NotFound) => return Err(no_such::<CardId>()),
            Err(e) => Some(Answer::Publish(UiError::from(e).message())),
        };
        if let Some(answer) = refused {
            // What they typed stays in the boxes, with why it was not saved.
            return editor_page(&state, &signed, card_id, Some(answer), false, Some(&edits)).await;
        }
    }
    if !approving {
        return Ok(Redirect::to(&format!("/cards/{card_id}/edit?saved=1")).into_response());
    }
    // The editor again, saved texts in place, with why the approval did not happen.
    let answered = async |answer: Answer| {
        editor_page(&state, &signed, card_id, Some(answer), true, None).await
    };
    let chosen = form.fields.ticked("channel");
    if chosen.is_empty() {
        let msg = "Tick at least one channel to publish on.".to_owned();
        return answered(Answer::Publish(msg)).await;
    }
    let zone = signed
        .acting_as::<covalynce_app::Viewer>()?
        .workspace()
        .time_zone
        .clone();
    let when = form.when.as_deref().unwrap_or("now");
    let typed = if when == "at" {
        form.publish_at.as_deref()
    } else {
        None
    };
    if when == "at" && typed.is_none_or(|t| t.trim().is_empty()) {
        let msg = "Pick a date and time, or choose another option for when.".to_owned();
        return answered(Answer::Publish(msg)).await;
    }
    let publish_at = match super::review::publish_time(typed, &zone) {
        Ok(at) => at,
        Err(msg) => {
            return answered(Answer::Publish(msg)).await;
        }
    };
    let approved = async {
        let request = covalynce_app::cards::Approve::parse(&chosen, publish_at)?
            .as_thread(form.as_thread.is_some())
            .in_next_slot(when == "slot");
        Ok::<_, crate::http::problem::ApiError>(
            state
                .app()
                .approve(&signed.acting()?, card_id, request)
                .await?,
        )
    }
    .await;
    match approved {
        Ok(_) => Ok(Redirect::to(&format!(
            "/?done=approved&card={}",
            urlencode(&card_id.to_string())
        ))
        .into_response()),
        // Approved or dismissed elsewhere between the edit and the approval.
        Err(e @ ApiError::Conflict(_)) => {
            let msg = UiError::from(e).message();
            answered(Answer::Moved(msg)).await
        }
        Err(e) => {
            let msg = UiError::from(e).message();
            answered(Answer::Publish(msg)).await
        }
    }
}

/// Why the editor could not save or approve a card that is no longer pending, in words
/// of what happened to it; and, when the person had typed something, that it was not kept.
fn moved_on(status: CardStatus, approving: bool, typed_changes: bool) -> String {
    let what = match status {
        CardStatus::Approved => "This card was approved in the meantime",
        CardStatus::Published | CardStatus::Partial => "This card has been published",
        CardStatus::Failed => "This card was approved and its publishing failed",
        CardStatus::Dismissed => "This card was dismissed",
        CardStatus::Held => "This card is held until its CI run passes",
        CardStatus::Pending => "This card changed in the meantime",
    };
    match (typed_changes, approving) {
        (true, _) => {
            format!("{what}: it can no longer be edited, and your changes were not saved.")
        }
        (false, true) => format!("{what}: there is nothing left to approve."),
        (false, false) => format!("{what}: it can no longer be edited."),
    }
}

/// "Make it shorter" and the like: the API's refine (the workspace's AI chain, kept to
/// the facts); a new revision, or the reason the card stayed as it was.
pub async fn refine(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    PageId(card_id): PageId<CardId>,
    CsrfForm(form): CsrfForm<RefineForm>,
) -> Result<Response, UiError> {
    let req = covalynce_app::ai::Refine {
        instruction: form.instruction,
        channels: None,
    };
    let refined = async {
        let who = signed.acting()?;
        Ok::<_, ApiError>(
            state
                .app()
                .refine(&who, card_id, req, &state.ai_platform())
                .await?,
        )
    }
    .await;
    match refined {
        Ok(_) => Ok(Redirect::to(&format!("/cards/{card_id}/edit?saved=1")).into_response()),
        Err(e) => {
            let msg = UiError::from(e).message();
            editor_page(
                &state,
                &signed,
                card_id,
                Some(Answer::Refine(msg)),
                false,
                None,
            )
            .await
        }
    }
}

/// The editor's refine, streamed: server-sent events carry each channel's text as the
/// provider writes it (`trying`, `text`, `dropped`), then `done` with the page to show or
/// `failed` with the reason. The refine runs to the end even if the page goes away, so a
/// closed tab still leaves its revision and its ledger rows.
pub async fn refine_stream(
    State(state): State<AppState>,
    signed: Signed<Editor>,
    PageId(card_id): PageId<CardId>,
    CsrfForm(form): CsrfForm<RefineForm>,
) -> Result<Response, UiError> {
    use axum::response::sse::{Event, Sse};
    use covalynce_ai::Progress;
    use serde_json::json;
    let who = signed.acting_as::<Editor>()?;
    let req = covalynce_app::ai::Refine {
        instruction: form.instruction,
        channels: None,
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let event =
        |name: &str, data: serde_json::Value| Event::default().event(name).data(data.to_string());
    let prepared = state
        .app()
        .prepare_refine(&who, card_id, req, &state.ai_platform())
        .await
        .map_err(ApiError::from);
    match prepared {
        Err(e) => {
            let _ = tx.send(event(
                "failed",
                json!({"message": UiError::from(e).message()}),
            ));
        }
        Ok(job) => {
            tokio::spawn(async move {
                let progress = tx.clone();
                let mut on = move |channel: &str, p: Progress<'_>| {
                    let ev = match p {
                        Progress::Trying { provider, model } => event(
                            "trying",
                            json!({"channel": channel, "provider": provider, "model": model}),
                        ),
                        Progress::Text(text) => {
                            event("text", json!({"channel": channel, "text": text}))
                        }
                        Progress::Dropped(why) => {
                            event("dropped", json!({"channel": channel, "why": why}))
                        }
                    };
                    let _ = progress.send(ev);
                };
                let rewrite = job.run(Some(&mut on)).await;
                let card_id = job.card.id;
                let last = match state.app().finish_refine(job, rewrite).await {
                    Ok(_) => event(
                        "done",
                        json!({"url": format!("/cards/{card_id}/edit?saved=1")}),
                    ),
                    Err(e) => event("failed", json!({"message": UiError::from(e).message()})),
                };
                let _ = tx.send(last);
            });
        }
    }
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|ev| (Ok::<_, std::convert::Infallible>(ev), rx))
    });
    Ok(Sse::new(stream).into_response())
}
