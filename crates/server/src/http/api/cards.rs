//! Cards: drafts waiting for review (read side; review actions come with publishing).

use super::{Data, List, Paging, time};
use crate::http::AppState;
use crate::http::extract::Auth;
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use covalynce_domain::{CardCategory, CardId, CardStatus, Risk};
use covalynce_storage::{CardFilter, CardRecord};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CardView {
    pub id: String,
    /// pending, approved, published, failed or dismissed.
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
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct CardQuery {
    /// pending, approved, published, failed or dismissed.
    pub status: Option<String>,
}

/// Cards, newest first.
#[utoipa::path(get, path = "/api/v1/cards", tag = "cards", security(("bearer" = [])),
    params(CardQuery, Paging),
    responses((status = 200, body = List<CardView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Query(q): Query<CardQuery>,
    Query(paging): Query<Paging>,
) -> Result<Json<List<CardView>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            CardStatus::parse(s).ok_or_else(|| {
                ApiError::Validation(format!(
                    "status must be pending, approved, published, failed or dismissed; got {s:?}"
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
    let cards = state
        .store()
        .list_cards(
            ws.id,
            &CardFilter {
                status,
                before,
                limit,
            },
        )
        .await?;
    Ok(Json(List::page(
        cards.into_iter().map(CardView::from).collect(),
        limit,
        |c| c.id.clone(),
    )))
}

/// One card.
#[utoipa::path(get, path = "/api/v1/cards/{id}", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Data<CardView>), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get(
    State(state): State<AppState>,
    Auth(ws): Auth,
    Path(id): Path<String>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let not_found = || ApiError::NotFound(format!("there is no card {id:?} in this workspace"));
    let card_id = CardId::parse(&id).ok_or_else(not_found)?;
    let card = state
        .store()
        .card(ws.id, card_id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(Data { data: card.into() }))
}
