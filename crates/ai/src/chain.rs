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

/// Asks each provider in order; the first answer that `check` accepts wins.
pub async fn run_chain(
    providers: &[&dyn Provider],
    prompt: &Prompt,
    check: impl Fn(&str) -> Result<(), String>,
) -> ChainOutcome {
    let mut attempts = Vec::new();
    for p in providers {
        let started = Instant::now();
        let result = p.complete(prompt).await;
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
    }
    ChainOutcome {
        text: None,
        attempts,
    }
}
