//! AI drafting: the workspace's provider chain and privacy setting, refining a card with
//! an instruction, and the ledger of every AI call with totals per period.

use super::Data;
use super::cards::CardView;
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, Owner, PathId};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Query, State};
use covalynce_ai::Privacy;
use covalynce_storage::NewAiProvider;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProviderView {
    /// openai, anthropic or gemini.
    pub kind: String,
    pub model: String,
    pub base_url: String,
    /// Whether a key is stored.
    pub has_key: bool,
    /// The stored key, masked (`sk-p…6789`): enough to tell keys apart, never the key.
    pub api_key: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AiSettingsView {
    /// What may leave the machine: offline (nothing, the default), messages (commit
    /// messages and the analysis) or diffs (those and the diffs). Secrets never.
    pub privacy: String,
    /// Asked in this order; the first faithful answer is used.
    pub providers: Vec<ProviderView>,
    /// The operator's provider (`kind/model`), used when `providers` is empty and privacy
    /// allows AI; null when the operator set none.
    pub operator_default: Option<String>,
}

pub(crate) async fn view(
    state: &AppState,
    who: &covalynce_app::Acting<covalynce_app::Viewer>,
) -> Result<AiSettingsView, ApiError> {
    let providers = state
        .app()
        .ai_chain_shown(who, state.secrets())
        .await?
        .into_iter()
        .map(|p| ProviderView {
            api_key: p.api_key,
            has_key: p.has_key,
            kind: p.kind,
            model: p.model,
            base_url: p.base_url,
        })
        .collect();
    Ok(AiSettingsView {
        privacy: who.workspace().ai_privacy.as_str().to_owned(),
        providers,
        operator_default: state
            .ai()
            .default
            .as_ref()
            .map(|d| format!("{}/{}", d.kind.as_str(), d.model)),
    })
}

/// The workspace's AI settings (keys masked).
#[utoipa::path(get, operation_id = "ai_get", path = "/api/v1/settings/ai", tag = "ai", security(("bearer" = [])),
    responses((status = 200, body = Data<AiSettingsView>)))]
pub async fn get(
    State(state): State<AppState>,
    auth: Auth,
) -> Result<Json<Data<AiSettingsView>>, ApiError> {
    Ok(Json(Data {
        data: view(&state, &auth.acting()?).await?,
    }))
}

pub use covalynce_app::ai::ProviderInput;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateAi {
    pub privacy: Option<String>,
    /// Replaces the whole chain (an empty list turns AI drafting off).
    pub providers: Option<Vec<ProviderInput>>,
}

/// Set what may leave the machine and the provider chain (owners).
#[utoipa::path(put, operation_id = "ai_update", path = "/api/v1/settings/ai", tag = "ai", security(("bearer" = [])),
    request_body = UpdateAi,
    responses((status = 200, body = Data<AiSettingsView>), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth<Owner>,
    ApiJson(req): ApiJson<UpdateAi>,
) -> Result<Json<Data<AiSettingsView>>, ApiError> {
    let who = auth.acting()?;
    let privacy = req.privacy.as_deref().map(privacy).transpose()?;
    if let Some(providers) = &req.providers {
        // Checked before any provider is: a long list costs no address lookups.
        let most = covalynce_app::ai::MOST_PROVIDERS;
        if providers.len() > most {
            return Err(ApiError::Validation(format!(
                "at most {most} providers in a chain"
            )));
        }
        let mut chain = Vec::new();
        for (i, p) in providers.iter().enumerate() {
            chain.push(provider_input(&state, i, p).await?);
        }
        state.app().set_ai_chain(&who, chain).await?;
    }
    if let Some(p) = privacy {
        state.app().set_ai_privacy(&who, p).await?;
    }
    let ws = state
        .app()
        .workspace_now(&who)
        .await?
        .ok_or_else(|| ApiError::NotFound("the workspace is gone".into()))?;
    // Read again: the privacy shown is the one just set.
    let now = covalynce_app::Acting::authorize(ws, who.principal().clone())?;
    Ok(Json(Data {
        data: view(&state, &now).await?,
    }))
}

/// What AI may be sent, as a request or form names it.
pub fn privacy(p: &str) -> Result<Privacy, ApiError> {
    Ok(covalynce_app::ai::privacy(p)?)
}

/// One provider of a chain, checked and its key sealed (see [`ProviderInput::checked`]).
pub async fn provider_input(
    state: &AppState,
    i: usize,
    p: &ProviderInput,
) -> Result<NewAiProvider, ApiError> {
    let secrets = state.secrets();
    Ok(
        p.checked(i, state.http().allows_private(), |key| secrets.seal(key))
            .await?,
    )
}

pub use covalynce_app::ai::Refine;

/// Refine a pending card's posts with an instruction through the workspace's AI chain: a
/// new revision. The answer must keep to the card's facts; if no provider gives such an
/// answer, the card is unchanged and the reasons are told (409).
#[utoipa::path(post, operation_id = "cards_refine", path = "/api/v1/cards/{id}/refine", tag = "cards", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = Refine,
    responses(
        (status = 200, body = Data<CardView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refine(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    PathId(card): PathId<covalynce_domain::CardId>,
    ApiJson(req): ApiJson<Refine>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let card = state
        .app()
        .refine(&auth.acting()?, card, req, &state.ai_platform())
        .await?;
    Ok(Json(Data { data: card.into() }))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct LedgerQuery {
    /// RFC 3339; default: 30 days ago.
    pub from: Option<String>,
    /// RFC 3339, exclusive; default: now.
    pub to: Option<String>,
    /// day (default) or month.
    pub group: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: String,
    pub card_id: Option<String>,
    pub provider: String,
    pub model: String,
    /// draft or refine.
    pub purpose: String,
    pub channel: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub latency_ms: i64,
    /// used, rejected (it answered, but broke a rule) or failed.
    pub outcome: String,
    pub detail: Option<String>,
    pub at: String,
}

#[derive(Serialize, utoipa::ToSchema, Default)]
pub struct Totals {
    pub calls: i64,
    pub used: i64,
    pub rejected: i64,
    pub failed: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PeriodTotals {
    /// YYYY-MM-DD or YYYY-MM (UTC).
    pub period: String,
    pub totals: Totals,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LedgerMeta {
    pub count: usize,
    pub totals: Totals,
    /// Newest period first.
    pub periods: Vec<PeriodTotals>,
}

/// The calls (newest first, at most 1,000) and their totals.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Ledger {
    pub data: Vec<LedgerEntry>,
    pub meta: LedgerMeta,
}

impl From<covalynce_storage::AiCallRecord> for LedgerEntry {
    fn from(c: covalynce_storage::AiCallRecord) -> Self {
        LedgerEntry {
            id: c.id,
            card_id: c.card_id,
            provider: c.provider,
            model: c.model,
            purpose: c.purpose,
            channel: c.channel,
            tokens_in: c.tokens_in,
            tokens_out: c.tokens_out,
            cost_usd: c.cost_micros as f64 / 1e6,
            latency_ms: c.latency_ms,
            outcome: c.outcome,
            detail: c.detail,
            at: super::time(c.created_at),
        }
    }
}

fn add(t: &mut Totals, e: &LedgerEntry) {
    t.calls += 1;
    match e.outcome.as_str() {
        "used" => t.used += 1,
        "rejected" => t.rejected += 1,
        _ => t.failed += 1,
    }
    t.tokens_in += e.tokens_in;
    t.tokens_out += e.tokens_out;
    t.cost_usd = ((t.cost_usd + e.cost_usd) * 1e6).round() / 1e6;
}

/// Every AI call in a period with tokens, cost (from the price table), latency and
/// outcome, and totals per day or month (editors and owners).
#[utoipa::path(get, operation_id = "ai_calls", path = "/api/v1/ai/calls", tag = "ai", security(("bearer" = [])),
    params(LedgerQuery),
    responses((status = 200, body = Ledger), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn calls(
    State(state): State<AppState>,
    auth: Auth<Editor>,
    Query(q): Query<LedgerQuery>,
) -> Result<Json<Ledger>, ApiError> {
    let now = covalynce_domain::now_millis();
    let time = |t: &Option<String>, name: &str, default: i64| match t {
        Some(t) => covalynce_domain::time::parse_rfc3339_millis(t)
            .ok_or_else(|| ApiError::Validation(format!("{name} {t:?} is not an RFC 3339 time"))),
        None => Ok(default),
    };
    let from = time(&q.from, "from", now - 30 * 24 * 3600 * 1000)?;
    let to = time(&q.to, "to", now + 1)?;
    let width = match q.group.as_deref() {
        None | Some("day") => 10,
        Some("month") => 7,
        Some(g) => {
            return Err(ApiError::Validation(format!(
                "group must be day or month; got {g:?}"
            )));
        }
    };
    let calls = state
        .app()
        .ai_calls(&auth.acting()?, from, to, 1000)
        .await?;
    let entries: Vec<LedgerEntry> = calls.into_iter().map(LedgerEntry::from).collect();
    let mut totals = Totals::default();
    let mut periods: BTreeMap<String, Totals> = BTreeMap::new();
    for e in &entries {
        add(&mut totals, e);
        add(periods.entry(e.at[..width].to_owned()).or_default(), e);
    }
    Ok(Json(Ledger {
        meta: LedgerMeta {
            count: entries.len(),
            totals,
            periods: periods
                .into_iter()
                .rev()
                .map(|(period, totals)| PeriodTotals { period, totals })
                .collect(),
        },
        data: entries,
    }))
}
