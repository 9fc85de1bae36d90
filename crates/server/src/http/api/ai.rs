//! AI drafting: the workspace's provider chain and privacy setting, refining a card with
//! an instruction, and the ledger of every AI call with totals per period.

use super::Data;
use super::cards::CardView;
use crate::http::AppState;
use crate::http::extract::{ApiJson, Auth, Editor, Owner};
use crate::http::problem::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use covalynce_ai::{Privacy, ProviderKind};
use covalynce_domain::CardStatus;
use covalynce_storage::{CardChange, NewAiProvider};
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

/// A key shown masked: its first four and last four characters when it is long enough to
/// keep most of it hidden, else nothing but the mask.
fn mask(state: &AppState, sealed: &[u8]) -> String {
    let key = state
        .secrets()
        .open(sealed)
        .ok()
        .and_then(|k| String::from_utf8(k).ok())
        .unwrap_or_default();
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 16 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        "…".to_owned()
    }
}

async fn view(
    state: &AppState,
    ws: &covalynce_storage::Workspace,
) -> Result<AiSettingsView, ApiError> {
    let providers = state
        .store()
        .ai_chain(ws.id)
        .await?
        .into_iter()
        .map(|p| ProviderView {
            api_key: p.sealed_key.as_deref().map(|sealed| mask(state, sealed)),
            has_key: p.sealed_key.is_some(),
            kind: p.kind,
            model: p.model,
            base_url: p.base_url,
        })
        .collect();
    Ok(AiSettingsView {
        privacy: ws.ai_privacy.as_str().to_owned(),
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
    Auth(ws, ..): Auth,
) -> Result<Json<Data<AiSettingsView>>, ApiError> {
    Ok(Json(Data {
        data: view(&state, &ws).await?,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ProviderInput {
    /// openai (OpenAI and compatible servers: Groq, DeepSeek, OpenRouter, Ollama, vLLM, LM Studio),
    /// anthropic or gemini.
    pub kind: String,
    pub model: String,
    /// Default: the provider's public API. For OpenAI-compatible servers, the URL that
    /// ends before `/chat/completions` (e.g. `https://api.groq.com/openai/v1`).
    pub base_url: Option<String>,
    /// Stored encrypted, never shown again. Omit for a local server without keys.
    pub api_key: Option<String>,
}

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
    let ws = who.workspace().clone();
    let privacy = req
        .privacy
        .as_deref()
        .map(|p| {
            Privacy::parse(p).ok_or_else(|| {
                ApiError::Validation(format!(
                    "privacy must be offline, messages or diffs; got {p:?}"
                ))
            })
        })
        .transpose()?;
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
        .store()
        .workspace(ws.id)
        .await?
        .ok_or_else(|| ApiError::NotFound("the workspace is gone".into()))?;
    Ok(Json(Data {
        data: view(&state, &ws).await?,
    }))
}

/// One provider of a chain, checked (kind, model, a base URL the SSRF guard allows) and its
/// key sealed. `i` names it in errors.
pub async fn provider_input(
    state: &AppState,
    i: usize,
    p: &ProviderInput,
) -> Result<NewAiProvider, ApiError> {
    let kind = ProviderKind::parse(&p.kind).ok_or_else(|| {
        ApiError::Validation(format!(
            "providers[{i}].kind must be openai, anthropic or gemini; got {:?}",
            p.kind
        ))
    })?;
    let model = p.model.trim();
    // A Gemini model is a path segment: no `/`, `?` or `#` there.
    let bad_gemini = kind == ProviderKind::Gemini && model.contains(['/', '?', '#']);
    if model.is_empty() || model.len() > 100 || model.contains(char::is_whitespace) || bad_gemini {
        return Err(ApiError::Validation(format!(
            "providers[{i}].model must be a model name (1-100 characters)"
        )));
    }
    let base = p
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .unwrap_or(kind.default_base_url());
    let url = reqwest::Url::parse(base)
        .map_err(|e| ApiError::Validation(format!("providers[{i}].base_url is not a URL: {e}")))?;
    covalynce_publishing::guard::check_resolved(&url, state.http().allows_private())
        .await
        .map_err(|r| ApiError::Validation(format!("providers[{i}].base_url: {}", r.0)))?;
    let key = p
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty());
    Ok(NewAiProvider {
        kind: kind.as_str().into(),
        model: model.into(),
        base_url: base.trim_end_matches('/').into(),
        sealed_key: key.map(|k| state.secrets().seal(k.as_bytes())),
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Refine {
    /// What to change, e.g. "make it shorter", "more technical", "add a call to action".
    pub instruction: String,
    /// Channel kinds to refine (default: all of the card's).
    pub channels: Option<Vec<String>>,
}

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
    Auth(ws, who, ..): Auth<Editor>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Refine>,
) -> Result<Json<Data<CardView>>, ApiError> {
    let job = RefineJob::prepare(&state, &ws, &id, req).await?;
    let rewrite = job.run(&ws, None).await;
    let card = job.finish(&state, &ws, &who.actor, rewrite).await?;
    Ok(Json(Data { data: card.into() }))
}

/// A refine, checked and ready to ask the chain: shared by the API and the editor's
/// streaming refine, so both keep the same rules.
pub(crate) struct RefineJob {
    id: String,
    card_id: covalynce_domain::CardId,
    pub(crate) card: covalynce_storage::CardRecord,
    privacy: Privacy,
    providers: Vec<Box<dyn covalynce_ai::Provider>>,
    facts: covalynce_ai::Facts,
    instruction: String,
    channels: Option<Vec<String>>,
}

impl RefineJob {
    pub(crate) async fn prepare(
        state: &AppState,
        ws: &covalynce_storage::Workspace,
        id: &str,
        req: Refine,
    ) -> Result<Self, ApiError> {
        let instruction = req.instruction.trim().to_owned();
        if instruction.is_empty() || instruction.chars().count() > 500 {
            return Err(ApiError::Validation(
                "instruction must be 1-500 characters".into(),
            ));
        }
        let not_found = || ApiError::NotFound(format!("there is no card {id:?} in this workspace"));
        let card_id = covalynce_domain::CardId::parse(id).ok_or_else(not_found)?;
        let card = state
            .store()
            .card(ws.id, card_id)
            .await?
            .ok_or_else(not_found)?;
        if card.status != CardStatus::Pending {
            return Err(ApiError::Conflict(format!(
                "card {id} is {}; only a pending card can be refined",
                card.status.as_str()
            )));
        }
        let privacy = ws.ai_privacy;
        if privacy == Privacy::Offline {
            return Err(ApiError::Conflict(
                "AI drafting is off for this workspace (privacy: offline); allow messages in the AI settings first".into(),
            ));
        }
        let providers = covalynce_app::ai::chain(
            state.store(),
            state.secrets(),
            state.http(),
            ws.id,
            ws.plan,
            state.ai(),
        )
        .await?;
        if providers.is_empty() {
            let why = if state.ai().default.is_some() && !ws.plan.limits().operator_ai {
                format!(
                    "no AI provider is configured for this workspace, and the {} plan drafts with your own keys only: add a provider in the AI settings or upgrade",
                    ws.plan.as_stored()
                )
            } else {
                "no AI provider is configured for this workspace".to_owned()
            };
            return Err(ApiError::Conflict(why));
        }
        if let Some(channels) = &req.channels {
            for c in channels {
                if !card.variants.contains_key(c) {
                    return Err(ApiError::Validation(format!("the card has no {c:?} post")));
                }
            }
        }
        let event = match card.event_id {
            Some(e) => state.store().event(ws.id, e).await?,
            None => None,
        };
        let mut facts = covalynce_app::ai::facts(event.as_ref(), &card.title, &card.content);
        let api_base =
            covalynce_app::github::Api::base_for(state.security().config.github.as_ref());
        let github = covalynce_app::ai::GithubAccess {
            secrets: state.secrets(),
            api_base: &api_base,
        };
        facts.diffs =
            covalynce_app::ai::diffs(state.store(), ws.id, privacy, event.as_ref(), github).await?;
        Ok(Self {
            id: id.to_owned(),
            card_id,
            card,
            privacy,
            providers,
            facts,
            instruction,
            channels: req.channels,
        })
    }

    /// Asks the chain; `on` sees each channel's text as it arrives.
    pub(crate) async fn run(
        &self,
        ws: &covalynce_storage::Workspace,
        on: Option<covalynce_app::ai::OnProgress<'_>>,
    ) -> covalynce_app::ai::Rewrite {
        covalynce_app::ai::rewrite(
            &self.providers,
            self.privacy,
            ws.voice,
            &self.facts,
            &self.card.variants,
            covalynce_app::ai::Ask {
                channels: self.channels.as_deref(),
                instruction: Some(&self.instruction),
            },
            on,
        )
        .await
    }

    /// Records the calls in the ledger and saves what was accepted as a new revision; with
    /// nothing accepted, the card is unchanged and the reasons are the error.
    pub(crate) async fn finish(
        self,
        state: &AppState,
        ws: &covalynce_storage::Workspace,
        actor: &crate::auth::Actor,
        rewrite: covalynce_app::ai::Rewrite,
    ) -> Result<covalynce_storage::CardRecord, ApiError> {
        let rows = covalynce_app::ai::ledger(
            &state.ai().prices,
            ws.id,
            Some(self.card_id),
            "refine",
            &rewrite.calls,
        );
        state.store().record_ai_calls(&rows).await?;
        if rewrite.texts.is_empty() {
            return Err(ApiError::Conflict(format!(
                "the card is unchanged: {}",
                rewrite
                    .note
                    .unwrap_or_else(|| "no provider gave a usable answer".into())
            )));
        }
        let author = format!(
            "ai:{} for {}",
            rewrite.drafted_by.as_deref().unwrap_or("unknown"),
            actor.label()
        );
        let id = &self.id;
        match state
            .app()
            .revise(ws, &author, self.card_id, rewrite.texts)
            .await?
        {
            CardChange::Done(card) => Ok(*card),
            CardChange::Conflict(s) => Err(ApiError::Conflict(format!(
                "card {id} became {} meanwhile",
                s.as_str()
            ))),
            CardChange::NotFound => Err(ApiError::NotFound(format!(
                "there is no card {id:?} in this workspace"
            ))),
        }
    }
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
    Auth(ws, ..): Auth<Editor>,
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
    let calls = state.store().ai_calls(ws.id, from, to, 1000).await?;
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
