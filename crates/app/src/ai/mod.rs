//! The workspace's AI settings (owners): what may leave the machine for AI drafting, and the
//! chain of providers asked in turn. A provider's key arrives sealed by the server (its
//! key never reaches this layer in clear, nor the audit log).

mod refine;
mod rewrite;

pub use refine::{AiPlatform, Refine, Refining};
pub use rewrite::*;

use crate::audit::Action;
use crate::{Acting, App, AppError, Owner, Viewer};
use covalynce_domain::Privacy;
use covalynce_storage::{AiProviderRecord, ChainEdit, ChainEdited, NewAiProvider};
use serde_json::json;

/// A chain asks at most this many providers.
pub const MOST_PROVIDERS: usize = 5;

impl App {
    /// What may leave the machine: nothing (`offline`), messages, or diffs too.
    pub async fn set_ai_privacy(
        &self,
        who: &Acting<Owner>,
        privacy: Privacy,
    ) -> Result<(), AppError> {
        self.store()
            .set_ai_privacy(who.workspace().id, privacy)
            .await?;
        let slug = who.workspace().slug.clone();
        self.record(
            who,
            Action::SetAiPrivacy,
            slug,
            json!({ "privacy": privacy }),
        )
        .await;
        Ok(())
    }

    /// Replaces the whole chain (empty: AI drafting off).
    pub async fn set_ai_chain(
        &self,
        who: &Acting<Owner>,
        chain: Vec<NewAiProvider>,
    ) -> Result<(), AppError> {
        if chain.len() > MOST_PROVIDERS {
            return Err(AppError::Invalid(format!(
                "at most {MOST_PROVIDERS} providers in a chain"
            )));
        }
        self.store()
            .set_ai_chain(who.workspace().id, &chain)
            .await?;
        self.record_chain(who, &chain).await;
        Ok(())
    }

    /// Adds a provider at the end of the chain; refused when the chain is full. The chain
    /// is read and written in one unit of work: two owners adding at once both land, or
    /// the one that would overfill it is refused.
    pub async fn add_ai_provider(
        &self,
        who: &Acting<Owner>,
        provider: NewAiProvider,
    ) -> Result<usize, AppError> {
        let edit = ChainEdit::Add {
            provider,
            most: MOST_PROVIDERS,
        };
        match self.store().edit_ai_chain(who.workspace().id, edit).await? {
            ChainEdited::Done { chain, .. } => {
                self.record_chain(who, &chain).await;
                Ok(chain.len())
            }
            ChainEdited::Full => Err(AppError::Conflict(format!(
                "a chain holds at most {MOST_PROVIDERS} providers: remove one first"
            ))),
            ChainEdited::NoSuchProvider => Err(no_such_provider()),
        }
    }

    /// Takes the provider at `index` (0-based) out of the chain; its model, for the answer.
    pub async fn remove_ai_provider(
        &self,
        who: &Acting<Owner>,
        index: usize,
    ) -> Result<String, AppError> {
        let edit = ChainEdit::Remove { index };
        match self.store().edit_ai_chain(who.workspace().id, edit).await? {
            ChainEdited::Done {
                chain,
                removed: Some(model),
            } => {
                self.record_chain(who, &chain).await;
                Ok(model)
            }
            ChainEdited::Done { removed: None, .. }
            | ChainEdited::Full
            | ChainEdited::NoSuchProvider => Err(no_such_provider()),
        }
    }

    /// The chain as it now stands, in the log: kinds and models, never a key.
    async fn record_chain(&self, who: &Acting<Owner>, chain: &[NewAiProvider]) {
        let providers: Vec<String> = chain
            .iter()
            .map(|p| format!("{}:{}", p.kind, p.model))
            .collect();
        let slug = who.workspace().slug.clone();
        self.record(
            who,
            Action::SetAiChain,
            slug,
            json!({ "providers": providers }),
        )
        .await;
    }
}

fn no_such_provider() -> AppError {
    AppError::NotFound("there is no such provider in the chain".into())
}

impl App {
    /// The workspace's provider chain, in order (keys still sealed: adapters show them
    /// masked).
    pub async fn ai_chain(&self, who: &Acting<Viewer>) -> Result<Vec<AiProviderRecord>, AppError> {
        Ok(self.store().ai_chain(who.workspace().id).await?)
    }

    /// The AI calls made for the workspace in `[from, to)`, newest first, at most `limit`:
    /// the ledger editors and owners read (what a call cost is not for every viewer).
    pub async fn ai_calls(
        &self,
        who: &Acting<crate::Editor>,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<covalynce_storage::AiCallRecord>, AppError> {
        Ok(self
            .store()
            .ai_calls(who.workspace().id, from, to, limit)
            .await?)
    }
}
