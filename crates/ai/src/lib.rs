//! AI drafting: an optional layer over the offline drafter. A workspace configures an
//! ordered chain of providers; each is asked in turn to rewrite the offline draft from
//! the structured facts, and its answer is kept only if it keeps to those facts
//! ([`verify`]). When every provider fails, times out or invents something, the offline
//! draft stands — an AI outage never blocks the pipeline.
//!
//! Providers speak their own documented protocols over our HTTP client ([`provider`]):
//! OpenAI-compatible chat completions (OpenAI, Groq, DeepSeek, OpenRouter, Ollama, vLLM,
//! LM Studio — by base URL), Anthropic Messages and Google Gemini `generateContent`.
//! Everything upstream of a provider goes through [`Provider`], so a protocol change
//! touches one file.

pub mod chain;
pub mod prompt;
pub mod provider;
pub mod verify;

pub use chain::{Attempt, ChainOutcome, Outcome, Progress, run_chain, run_chain_streaming};
pub use prompt::{Privacy, Prompt};
pub use provider::{AiError, Completion, HttpProvider, Provider, ProviderConfig, ProviderKind};
pub use verify::{Facts, verify};
