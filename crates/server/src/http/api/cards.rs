//! Cards: drafts waiting for review (read side; review actions come with publishing).

use super::{Data, List, Paging, time};
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, PathId, missing};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
use covalynce_domain::{CardCategory, CardId, CardStatus, Risk};
use covalynce_storage::{CardChange, CardFilter, CardRecord, CardRevision};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardView {
    pub id: String,
    /// held (the CI gate: waiting for green CI), pending, approved, published, partial
    /// (some channels failed), failed or dismissed.
    #[schema(value_type = String, example = "pending")]
    pub status: CardStatus,
    /// MKT (a post), ENG (release notes / team note) or STRATEGY (a suggestion).
    #[schema(value_type = String, example = "MKT")]
    pub category: CardCategory,
    pub title: String,
    /// green, yellow or red; red cards cannot be published without an edit.
    #[schema(value_type = Option<String>, example = "green")]
    pub risk: Option<Risk>,
    pub risk_reasons: Vec<String>,
    /// Channel kind (linkedin, x, mastodon, bluesky, slack, discord) → post text.
    pub variants: BTreeMap<String, String>,
    /// Release notes in markdown.
    pub content: String,
    /// The event this card was drafted from.
    pub source_event: Option<String>,
    /// The source's own id for the work (unique per workspace: one card per change).
    pub source_id: String,
    pub created_at: String,
    pub updated_at: String,
    /// `offline`, or the AI `provider/model` whose text the card carries.
    pub drafted_by: String,
    /// Why the offline draft stands although AI drafting is on (every provider failed or
    /// strayed from the facts).
    pub draft_note: Option<String>,
    /// One per approved channel (on the single-card answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publications: Option<Vec<PublicationView>>,
    /// The CI gate, for a card about a commit of a repository with CI: `state` is
    /// `waiting`, `failed` (with `workflow`, `conclusion` and `run_url` of the red run),
    /// `passed` (the green run that released it), `no CI` (with a `note`) or `gate off`;
    /// `sha` and `repo` name the commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<covalynce_domain::Gate>,
    /// Who confirmed that a secret the commit text leaked was rotated
    /// (`POST /api/v1/cards/{id}/rotated`); until then such a card stays red.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_rotated_by: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PublicationView {
    pub id: String,
    pub channel_id: String,
    /// queued, publishing, published, failed, or unknown (cut off mid-send on a platform
    /// that cannot be asked: check the channel, then retry or confirm it).
    #[schema(value_type = String, example = "published")]
    pub status: covalynce_domain::PublicationStatus,
    pub url: Option<String>,
    /// The platform's words when it failed; on a published one, what else happened
    /// (also in `note`).
    pub error: Option<String>,
    /// On a published publication: what else happened — sent again after a crash (and
    /// whether the receiver may have seen it twice), or only part of a thread went out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Every send counts, also one made again after a restart.
    pub attempts: i64,
    pub published_at: Option<String>,
}

impl From<covalynce_storage::PublicationRecord> for PublicationView {
    fn from(p: covalynce_storage::PublicationRecord) -> Self {
        Self {
            id: p.id.to_string(),
            channel_id: p.channel_id.to_string(),
            status: p.status,
            url: p.url,
            note: p
                .error
                .clone()
                .filter(|_| p.status == covalynce_domain::PublicationStatus::Published),
            error: p.error,
            attempts: p.attempts,
            published_at: p.published_at.map(time),
        }
    }
}

impl From<CardRecord> for CardView {
    fn from(c: CardRecord) -> Self {
        Self {
            id: c.id.to_string(),
            status: c.status,
            category: c.category,
            title: c.title,
            risk: c.risk,
            risk_reasons: c.risk_reasons,
            variants: c.variants,
            content: c.content,
            source_event: c.event_id.map(|e| e.to_string()),
            source_id: c.source_key,
            created_at: time(c.created_at),
            updated_at: time(c.updated_at),
            drafted_by: c.drafted_by,
            draft_note: c.draft_note,
            publications: None,
            gate: c.gate,
            secret_rotated_by: c.secret_rotated_by,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CardQuery {
    /// pending, approved, published, partial, failed or dismissed.
    pub status: Option<String>,
}

/// Cards, newest first.
#[utoipa::path(get, operation_id = "cards_list", path = "/api/v1/cards", tag = "cards", security(("bearer" = [])),
    params(CardQuery, Paging),
    responses((status = 200, body = List<CardView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<CardQuery>,
    Query(paging): Query<Paging>,
) -> Result<Json<List<CardView>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CardStatus::parse(s).ok_or_else(|| {
                ApiError::Validation(format!(
                    "status must be pending, approved, published, partial, failed or dismissed; got {s:?}"
                ))
            })
        })
        .transpose()?;
    let before = paging
        .before
        .as_deref()
        .map(|b| {
            CardId::parse(b).ok_or_else(|| ApiError::Validation("before must be a card id".into()))
        })
        .transpose()?;
    let limit = paging.limit();
    let filter = CardFilter {
        status,
        before,
        limit,
    };
    let cards = state.app().cards(&auth.acting()?, &filter).await?;
    Ok(Json(List::page(
        cards.into_iter().map(CardView::from).collect(),
        limit,
        |c| c.id.clone(),
    )))
}

/// One card.
#[utoipa::path(get, operation_id = "cards_get", path = "/api/v1/cards/{id}", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<CardView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
    PathId(card_id): PathId<CardId>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let (card, publications) = state
        .app()
        .card(&auth.acting()?, card_id)
        .await?
        .ok_or_else(|| missing::<CardId>(card_id))?;
    let mut view = CardView::from(card);
    view.publications = Some(
        publications
            .into_iter()
            .map(PublicationView::from)
            .collect(),
    );
    Ok(Json(Data { data: view }))
}

fn answer(change: CardChange, id: CardId, action: &str) -> Result<Json<Data<CardView>>, ApiError> {
    match change {
        CardChange::Done(card) => Ok(Json(Data {
            data: (*card).into(),
        })),
        CardChange::NotFound => Err(missing::<CardId>(id)),
        CardChange::Conflict(status) => Err(ApiError::Conflict(format!(
            "card {id} is {}; only a pending card can be {action}",
            status.as_str()
        ))),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct EditCard {
    /// Channel kind → new text; channels not named keep their text.
    pub variants: BTreeMap<String, String>,
}

/// Edit a pending card's posts. The drafted text and every edit stay as revisions; the
/// risk light is worked out again for the new text.
#[utoipa::path(patch, operation_id = "cards_edit", path = "/api/v1/cards/{id}", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = EditCard,
    responses(
        (status = 200, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn edit(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card_id): PathId<CardId>,
    ApiJson(req): ApiJson<EditCard>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let change = state
        .app()
        .edit(&auth.acting()?, card_id, req.variants)
        .await?;
    answer(change, card_id, "edited")
}

/// Dismiss a pending card: it will not be published.
#[utoipa::path(post, operation_id = "cards_dismiss", path = "/api/v1/cards/{id}/dismiss", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn dismiss(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card_id): PathId<CardId>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let card = state.app().dismiss(&auth.acting()?, card_id).await?;
    Ok(Json(Data {
        data: (*card).into(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RevisionView {
    /// 1 is what was drafted.
    pub revision: i64,
    pub variants: BTreeMap<String, String>,
    /// `drafter`, or who edited it.
    pub author: String,
    pub created_at: String,
}

impl From<CardRevision> for RevisionView {
    fn from(r: CardRevision) -> Self {
        Self {
            revision: r.revision,
            variants: r.variants,
            author: r.author,
            created_at: time(r.created_at),
        }
    }
}

/// Every version of a card's posts, the drafted one first.
#[utoipa::path(get, operation_id = "cards_revisions", path = "/api/v1/cards/{id}/revisions", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = List<RevisionView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn revisions(
    State(state): State<AppState>,
    auth: Auth,
    PathId(card_id): PathId<CardId>,
) -> Result<Json<List<RevisionView>>, ApiError> {
    let revisions = state.app().card_revisions(&auth.acting()?, card_id).await?;
    if revisions.is_empty() {
        return Err(missing::<CardId>(card_id));
    }
    Ok(Json(List::page(
        revisions.into_iter().map(RevisionView::from).collect(),
        0,
        |r| r.revision.to_string(),
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ApproveCard {
    /// Channel ids to publish on.
    pub channels: Vec<String>,
    /// RFC 3339; default: now.
    pub publish_at: Option<String>,
    /// Yes to a text that a channel cuts into a thread (an X text over 280 on an X channel
    /// that posts threads). Without it, such an approval is refused (409).
    #[serde(default)]
    pub as_thread: bool,
    /// Put each channel's post in that channel's next free posting slot (at or after
    /// `publish_at`); channels without slots post at `publish_at`.
    #[serde(default)]
    pub next_slot: bool,
}

/// Approve a pending card for publishing on the given channels (each once). Red cards need
/// an edit first.
#[utoipa::path(post, operation_id = "cards_approve", path = "/api/v1/cards/{id}/approve", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ApproveCard,
    responses(
        (status = 202, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn approve(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card_id): PathId<CardId>,
    ApiJson(req): ApiJson<ApproveCard>,
) -> Result<(axum::http::StatusCode, Json<Data<CardView>>), ApiError> {
    let publish_at = match &req.publish_at {
        Some(t) => covalynce_domain::time::parse_rfc3339_millis(t).ok_or_else(|| {
            ApiError::Validation(format!("publish_at {t:?} is not an RFC 3339 time"))
        })?,
        None => covalynce_domain::now_millis(),
    };
    let request = covalynce_app::cards::Approve::parse(&req.channels, publish_at)?
        .as_thread(req.as_thread)
        .in_next_slot(req.next_slot);
    let card = state
        .app()
        .approve(&auth.acting()?, card_id, request)
        .await?;
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(Data {
            data: (*card).into(),
        }),
    ))
}

/// Withdraw an approval before anything went out: the card is pending again.
#[utoipa::path(post, operation_id = "cards_unapprove", path = "/api/v1/cards/{id}/unapprove", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unapprove(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card_id): PathId<CardId>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let card = state.app().withdraw(&auth.acting()?, card_id).await?;
    Ok(Json(Data {
        data: (*card).into(),
    }))
}

/// Confirm that the secret a red card's commit text leaked was rotated: the light is judged
/// again without it (a secret still in a post keeps it red), and the card records who said
/// so. 409 when the commit text held no secret or the card is not pending.
#[utoipa::path(post, operation_id = "cards_rotated", path = "/api/v1/cards/{id}/rotated", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn rotated(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card_id): PathId<CardId>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let card = state
        .app()
        .confirm_rotated(&auth.acting()?, card_id)
        .await?;
    Ok(Json(Data {
        data: (*card).into(),
    }))
}

/// Draft a pending card again from its event (with the workspace's current voice): a new
/// revision; earlier ones stay.
#[utoipa::path(post, operation_id = "cards_regenerate", path = "/api/v1/cards/{id}/regenerate", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn regenerate(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card_id): PathId<CardId>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let change = state.app().regenerate(&auth.acting()?, card_id).await?;
    answer(change, card_id, "regenerated")
}
