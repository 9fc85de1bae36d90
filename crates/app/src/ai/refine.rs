//! Refining a pending card with an instruction ("make it shorter") through the workspace's
//! AI chain: checked, asked (streaming each channel's text as it arrives, for the editor),
//! and kept as a new revision only when an answer keeps to the card's facts. The API and
//! the editor's streaming refine both go through here, so both keep the same rules.

use super::{Ask, GithubAccess, OnProgress, Rewrite, Settings};
use crate::github::{Api, GithubOAuth};
use crate::secrets::SecretBox;
use crate::{Acting, App, AppError, Editor};
use covalynce_domain::{CardId, CardStatus, Privacy};
use covalynce_storage::{CardChange, CardRecord, Workspace};
use serde::Deserialize;

/// What to change, as the API (`POST /api/v1/cards/{id}/refine`) and the editor ask.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct Refine {
    /// What to change, e.g. "make it shorter", "more technical", "add a call to action".
    pub instruction: String,
    /// Channel kinds to refine (default: all of the card's).
    pub channels: Option<Vec<String>>,
}

/// What asking the AI chain needs of the server: the key that unseals provider keys, the
/// guarded HTTP client, the operator's AI settings and GitHub (diffs, when privacy allows).
pub struct AiPlatform<'a> {
    pub secrets: &'a SecretBox,
    pub http: &'a covalynce_publishing::Http,
    pub settings: &'a Settings,
    pub github: Option<&'a GithubOAuth>,
}

/// A refine, checked and ready to ask the chain.
pub struct Refining {
    who: Acting<Editor>,
    pub card: CardRecord,
    privacy: Privacy,
    providers: Vec<Box<dyn covalynce_ai::Provider>>,
    facts: covalynce_ai::Facts,
    instruction: String,
    channels: Option<Vec<String>>,
    prices: std::sync::Arc<super::Prices>,
}

impl App {
    /// Why "refine with AI" cannot work in `who`'s workspace (AI off, no provider), so the
    /// editor does not offer it; `None` when it can.
    pub async fn refine_unavailable<R: crate::MinRole>(
        &self,
        who: &Acting<R>,
        platform: &AiPlatform<'_>,
    ) -> Result<Option<String>, AppError> {
        Ok(self.refine_chain(who.workspace(), platform).await?.err())
    }

    /// The chain a refine would use, or why there is none.
    async fn refine_chain(
        &self,
        ws: &Workspace,
        platform: &AiPlatform<'_>,
    ) -> Result<Result<Vec<Box<dyn covalynce_ai::Provider>>, String>, AppError> {
        if ws.ai_privacy == Privacy::Offline {
            return Ok(Err(
                "AI drafting is off for this workspace (privacy: offline); allow messages in the AI settings first".into(),
            ));
        }
        let providers = super::chain(
            self.store(),
            platform.secrets,
            platform.http,
            ws.id,
            ws.plan,
            platform.settings,
        )
        .await?;
        if providers.is_empty() {
            let why = if platform.settings.default.is_some() && !ws.plan.limits().operator_ai {
                format!(
                    "no AI provider is configured for this workspace, and the {} plan drafts with your own keys only: add a provider in the AI settings or upgrade",
                    ws.plan.as_stored()
                )
            } else {
                "no AI provider is configured for this workspace".to_owned()
            };
            return Ok(Err(why));
        }
        Ok(Ok(providers))
    }

    /// Checks a refine of a pending card and gathers what the chain is told (the card's
    /// facts, and its diffs when privacy allows them).
    pub async fn prepare_refine(
        &self,
        who: &Acting<Editor>,
        card_id: CardId,
        req: Refine,
        platform: &AiPlatform<'_>,
    ) -> Result<Refining, AppError> {
        let ws: &Workspace = who.workspace();
        let instruction = req.instruction.trim().to_owned();
        if instruction.is_empty() || instruction.chars().count() > 500 {
            return Err(AppError::Invalid(
                "instruction must be 1-500 characters".into(),
            ));
        }
        let card = self
            .store()
            .card(ws.id, card_id)
            .await?
            .ok_or_else(|| not_found(card_id))?;
        if card.status != CardStatus::Pending {
            return Err(AppError::Conflict(format!(
                "card {card_id} is {}; only a pending card can be refined",
                card.status.as_str()
            )));
        }
        let privacy = ws.ai_privacy;
        let providers = match self.refine_chain(ws, platform).await? {
            Ok(providers) => providers,
            Err(why) => return Err(AppError::Conflict(why)),
        };
        if let Some(channels) = &req.channels {
            for c in channels {
                if !card.variants.contains_key(c) {
                    return Err(AppError::Invalid(format!("the card has no {c:?} post")));
                }
            }
        }
        let event = match card.event_id {
            Some(e) => self.store().event(ws.id, e).await?,
            None => None,
        };
        let mut facts = super::facts(event.as_ref(), &card.title, &card.content);
        let api_base = Api::base_for(platform.github);
        let github = GithubAccess {
            secrets: platform.secrets,
            api_base: &api_base,
        };
        facts.diffs = super::diffs(self.store(), ws.id, privacy, event.as_ref(), github).await?;
        Ok(Refining {
            who: who.clone(),
            card,
            privacy,
            providers,
            facts,
            instruction,
            channels: req.channels,
            prices: platform.settings.prices.clone(),
        })
    }

    /// A whole refine: checked, asked, and kept as a new revision (or refused with the
    /// reasons, the card unchanged).
    pub async fn refine(
        &self,
        who: &Acting<Editor>,
        card: CardId,
        req: Refine,
        platform: &AiPlatform<'_>,
    ) -> Result<CardRecord, AppError> {
        let refining = self.prepare_refine(who, card, req, platform).await?;
        let rewrite = refining.run(None).await;
        self.finish_refine(refining, rewrite).await
    }

    /// Records the calls in the ledger and saves what was accepted as a new revision; with
    /// nothing accepted, the card is unchanged and the reasons are the error.
    pub async fn finish_refine(
        &self,
        refining: Refining,
        rewrite: Rewrite,
    ) -> Result<CardRecord, AppError> {
        let ws = refining.who.workspace();
        let card_id = refining.card.id;
        let rows = super::ledger(
            &refining.prices,
            ws.id,
            Some(card_id),
            "refine",
            &rewrite.calls,
        );
        self.store().record_ai_calls(&rows).await?;
        if rewrite.texts.is_empty() {
            return Err(AppError::Conflict(format!(
                "the card is unchanged: {}",
                rewrite
                    .note
                    .unwrap_or_else(|| "no provider gave a usable answer".into())
            )));
        }
        let author = format!(
            "ai:{} for {}",
            rewrite.drafted_by.as_deref().unwrap_or("unknown"),
            refining.who.principal().actor.label()
        );
        match self.revise(ws, &author, card_id, rewrite.texts).await? {
            CardChange::Done(card) => Ok(*card),
            CardChange::Conflict(s) => Err(AppError::Conflict(format!(
                "card {card_id} became {} meanwhile",
                s.as_str()
            ))),
            CardChange::NotFound => Err(not_found(card_id)),
        }
    }
}

impl Refining {
    /// Asks the chain; `on` sees each channel's text as it arrives.
    pub async fn run(&self, on: Option<OnProgress<'_>>) -> Rewrite {
        super::rewrite(
            &self.providers,
            self.privacy,
            self.who.workspace().voice,
            &self.facts,
            &self.card.variants,
            Ask {
                channels: self.channels.as_deref(),
                instruction: Some(&self.instruction),
            },
            on,
        )
        .await
    }
}

fn not_found(card: CardId) -> AppError {
    AppError::NotFound(format!("there is no card {card} in this workspace"))
}
