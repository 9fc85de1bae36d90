//! The fallback chain: each provider in turn until one gives text that keeps to the facts.

use crate::prompt::Prompt;
use crate::provider::Provider;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Its text was used.
    Used,
    /// It answered, but the text broke a rule (`verify`): the reason.
    Rejected(String),
    /// It failed: the error in its own words.
    Failed(String),
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Used => "used",
            Outcome::Rejected(_) => "rejected",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// One provider's turn, for the cost ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub provider: &'static str,
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub latency_ms: u64,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChainOutcome {
    /// The accepted text; None: keep the offline draft.
    pub text: Option<String>,
    pub attempts: Vec<Attempt>,
}

/// What a streaming chain reports as it goes, so a person can watch the text arrive.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress<'a> {
    /// A provider's turn begins: text so far is discarded.
    Trying {
        provider: &'static str,
        model: &'a str,
    },
    /// A piece of the current provider's text.
    Text(&'a str),
    /// The provider's turn ended without usable text: why.
    Dropped(&'a str),
}

/// Asks each provider in order; the first answer that `check` accepts wins.
pub async fn run_chain(
    providers: &[&dyn Provider],
    prompt: &Prompt,
    check: impl Fn(&str) -> Result<(), String>,
) -> ChainOutcome {
    chain(providers, prompt, check, None).await
}

/// `run_chain`, streaming each provider's text to `on` as it arrives.
pub async fn run_chain_streaming(
    providers: &[&dyn Provider],
    prompt: &Prompt,
    check: impl Fn(&str) -> Result<(), String>,
    on: &mut (dyn for<'p> FnMut(Progress<'p>) + Send),
) -> ChainOutcome {
    chain(providers, prompt, check, Some(on)).await
}

async fn chain(
    providers: &[&dyn Provider],
    prompt: &Prompt,
    check: impl Fn(&str) -> Result<(), String>,
    mut on: Option<&mut (dyn for<'p> FnMut(Progress<'p>) + Send)>,
) -> ChainOutcome {
    let mut attempts = Vec::new();
    for p in providers {
        let started = Instant::now();
        let result = match on.as_deref_mut() {
            Some(on) => {
                on(Progress::Trying {
                    provider: p.kind().as_str(),
                    model: p.model(),
                });
                p.stream(prompt, &mut |t| on(Progress::Text(t))).await
            }
            None => p.complete(prompt).await,
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        let (tokens_in, tokens_out, outcome, text) = match result {
            Ok(c) => {
                let text = c.text.trim().to_owned();
                match check(&text) {
                    Ok(()) => (c.tokens_in, c.tokens_out, Outcome::Used, Some(text)),
                    Err(why) => (c.tokens_in, c.tokens_out, Outcome::Rejected(why), None),
                }
            }
            Err(e) => (0, 0, Outcome::Failed(e.to_string()), None),
        };
        tracing::info!(
            provider = p.kind().as_str(),
            model = p.model(),
            latency_ms,
            outcome = outcome.as_str(),
            "ai call"
        );
        attempts.push(Attempt {
            provider: p.kind().as_str(),
            model: p.model().to_owned(),
            tokens_in,
            tokens_out,
            latency_ms,
            outcome,
        });
        if text.is_some() {
            return ChainOutcome { text, attempts };
        }
        if let (Some(on), Some(last)) = (on.as_deref_mut(), attempts.last())
            && let Outcome::Rejected(why) | Outcome::Failed(why) = &last.outcome
        {
            on(Progress::Dropped(why));
        }
    }
    ChainOutcome {
        text: None,
        attempts,
    }
}
