//! The workspace's AI settings (owners): what may leave the machine for AI drafting, and the
//! chain of providers asked in turn. A provider's key arrives sealed by the server (its
//! key never reaches this layer in clear, nor the audit log).

mod refine;
mod rewrite;

pub use refine::{AiPlatform, Refine, Refining};
pub use rewrite::*;

use crate::audit::Action;
use crate::{Acting, App, AppError, Owner, Viewer};
use covalynce_ai::ProviderKind;
use covalynce_domain::Privacy;
use covalynce_storage::{AiProviderRecord, ChainEdit, ChainEdited, NewAiProvider};
use serde_json::json;

/// A chain asks at most this many providers.
pub const MOST_PROVIDERS: usize = 5;

/// A provider of the chain as shown to members.
pub struct ShownProvider {
    pub kind: String,
    pub model: String,
    pub base_url: String,
    pub has_key: bool,
    /// The key masked: enough to tell keys apart, never the key.
    pub api_key: Option<String>,
}

/// A key shown masked: its first four and last four characters when it is long enough to
/// keep most of it hidden, else nothing but the mask (also when it no longer opens).
fn masked(secrets: &crate::secrets::SecretBox, sealed: &[u8]) -> String {
    let key = secrets
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

    /// The chain as any member may see it: each provider's key masked (`sk-p…6789`), never
    /// the key.
    pub async fn ai_chain_shown(
        &self,
        who: &Acting<Viewer>,
        secrets: &crate::secrets::SecretBox,
    ) -> Result<Vec<ShownProvider>, AppError> {
        Ok(self
            .ai_chain(who)
            .await?
            .into_iter()
            .map(|p| ShownProvider {
                api_key: p
                    .sealed_key
                    .as_deref()
                    .map(|sealed| masked(secrets, sealed)),
                has_key: p.sealed_key.is_some(),
                kind: p.kind,
                model: p.model,
                base_url: p.base_url,
            })
            .collect())
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

#[derive(serde::Deserialize, utoipa::ToSchema)]
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

impl ProviderInput {
    /// This provider of a chain, checked (kind, model, a base URL the SSRF guard allows) and
    /// its key sealed by `seal` (the server's key never reaches this layer). `i` names it in
    /// errors.
    pub async fn checked(
        &self,
        i: usize,
        allows_private: bool,
        seal: impl Fn(&[u8]) -> Vec<u8>,
    ) -> Result<NewAiProvider, AppError> {
        let kind = ProviderKind::parse(&self.kind).ok_or_else(|| {
            AppError::Invalid(format!(
                "providers[{i}].kind must be openai, anthropic or gemini; got {:?}",
                self.kind
            ))
        })?;
        let model = self.model.trim();
        // A Gemini model is a path segment: no `/`, `?` or `#` there.
        let bad_gemini = kind == ProviderKind::Gemini && model.contains(['/', '?', '#']);
        if model.is_empty()
            || model.len() > 100
            || model.contains(char::is_whitespace)
            || bad_gemini
        {
            return Err(AppError::Invalid(format!(
                "providers[{i}].model must be a model name (1-100 characters)"
            )));
        }
        let base = self
            .base_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty())
            .unwrap_or(kind.default_base_url());
        let url = reqwest::Url::parse(base)
            .map_err(|e| AppError::Invalid(format!("providers[{i}].base_url is not a URL: {e}")))?;
        covalynce_publishing::guard::check_resolved(&url, allows_private)
            .await
            .map_err(|r| AppError::Invalid(format!("providers[{i}].base_url: {}", r.0)))?;
        let key = self
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        Ok(NewAiProvider {
            kind: kind.as_str().into(),
            model: model.into(),
            base_url: base.trim_end_matches('/').into(),
            sealed_key: key.map(|k| seal(k.as_bytes())),
        })
    }
}

/// What AI may be sent, as a request or form names it.
pub fn privacy(p: &str) -> Result<Privacy, AppError> {
    Privacy::parse(p).ok_or_else(|| {
        AppError::Invalid(format!(
            "privacy must be offline, messages or diffs; got {p:?}"
        ))
    })
}
