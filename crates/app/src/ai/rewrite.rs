//! AI drafting in the pipeline: the workspace's chain (keys unsealed here, never logged),
//! what a card's facts are, the price table for the ledger, and the two uses — improving
//! a fresh draft, and refining a card on request. Everything degrades to the offline draft.

use crate::secrets::SecretBox;
use covalynce_ai::prompt::PostRequest;
use covalynce_ai::{
    Attempt, Facts, HttpProvider, Outcome, Privacy, Progress, Prompt, Provider, ProviderConfig,
    ProviderKind, run_chain, run_chain_streaming, verify,
};
use covalynce_domain::Work;
use covalynce_drafting::Channel;
use covalynce_storage::{EventRecord, NewAiCall, Store};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Operator-level AI settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub prices: std::sync::Arc<Prices>,
    /// One provider, one post, retries included.
    pub timeout: Duration,
    /// The operator's own provider, used by workspaces that allow AI but bring no key.
    pub default: Option<DefaultProvider>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            prices: std::sync::Arc::new(Prices::default()),
            timeout: Duration::from_secs(20),
            default: None,
        }
    }
}

/// `--ai-default-provider/-model/-base-url/-key`: the key never prints.
#[derive(Clone)]
pub struct DefaultProvider {
    pub kind: ProviderKind,
    pub model: String,
    pub base_url: String,
    pub api_key: String,
}

impl std::fmt::Debug for DefaultProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultProvider")
            .field("kind", &self.kind)
            .field("model", &self.model)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// US dollars per million tokens (in, out), by model name. Operators override or add
/// models with `COVALYNCE_AI_PRICES` (JSON: `{"model": [in, out]}`); unknown models cost 0
/// in the ledger (their tokens are still counted).
#[derive(Debug, Clone)]
pub struct Prices(HashMap<String, (f64, f64)>);

impl Default for Prices {
    fn default() -> Self {
        let table = [
            ("gpt-4o-mini", 0.15, 0.60),
            ("gpt-4o", 2.50, 10.00),
            ("gpt-4.1-mini", 0.40, 1.60),
            ("claude-haiku-4-5", 1.00, 5.00),
            ("claude-sonnet-4-5", 3.00, 15.00),
            ("gemini-2.0-flash", 0.10, 0.40),
            ("gemini-2.5-flash", 0.30, 2.50),
            ("deepseek-chat", 0.27, 1.10),
            ("llama-3.1-8b-instant", 0.05, 0.08),
        ];
        Prices(
            table
                .into_iter()
                .map(|(m, i, o)| (m.to_owned(), (i, o)))
                .collect(),
        )
    }
}

impl Prices {
    /// The defaults with `overrides` (JSON) applied; a broken override is an error at start.
    pub fn with_overrides(overrides: Option<&str>) -> anyhow::Result<Self> {
        let mut prices = Prices::default();
        if let Some(json) = overrides.filter(|s| !s.trim().is_empty()) {
            let parsed: HashMap<String, (f64, f64)> = serde_json::from_str(json).map_err(|e| {
                anyhow::anyhow!("COVALYNCE_AI_PRICES must be {{\"model\": [in, out]}} in USD per million tokens: {e}")
            })?;
            prices.0.extend(parsed);
        }
        Ok(prices)
    }

    /// Millionths of a dollar.
    pub fn cost_micros(&self, model: &str, tokens_in: u64, tokens_out: u64) -> i64 {
        let (i, o) = self.0.get(model).copied().unwrap_or((0.0, 0.0));
        (tokens_in as f64 * i + tokens_out as f64 * o).round() as i64
    }
}

/// The workspace's providers, ready to call; links whose key cannot be opened are left
/// out (and said so in the log, without the key). A workspace with no chain of its own
/// uses the operator's default provider, when there is one.
pub async fn chain(
    store: &dyn Store,
    secrets: &SecretBox,
    http: &covalynce_publishing::Http,
    ws: covalynce_domain::WorkspaceId,
    plan: covalynce_domain::Plan,
    settings: &Settings,
) -> Result<Vec<Box<dyn Provider>>, covalynce_storage::StoreError> {
    let timeout = settings.timeout;
    let mut out: Vec<Box<dyn Provider>> = Vec::new();
    for p in store.ai_chain(ws).await? {
        let Some(kind) = ProviderKind::parse(&p.kind) else {
            continue;
        };
        let api_key = match &p.sealed_key {
            Some(sealed) => match secrets.open(sealed) {
                Ok(k) => String::from_utf8(k).unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(provider = p.kind, error = %e, "an AI key could not be opened; skipping the provider");
                    continue;
                }
            },
            None => String::new(),
        };
        // Literal addresses never reach the guarded resolver: check them here.
        match reqwest::Url::parse(&p.base_url) {
            Ok(url)
                if covalynce_publishing::guard::check_url(&url, http.allows_private()).is_ok() => {}
            _ => {
                tracing::warn!(
                    provider = p.kind,
                    "an AI base URL is not allowed; skipping the provider"
                );
                continue;
            }
        }
        out.push(Box::new(HttpProvider::new(
            ProviderConfig {
                kind,
                model: p.model,
                base_url: p.base_url,
                api_key,
                timeout,
                retries: 2,
                max_wait: Duration::from_secs(10),
            },
            http.client(),
        )));
    }
    // The operator's own provider serves plans that include it; SOLO brings its own keys.
    if out.is_empty()
        && plan.limits().operator_ai
        && let Some(d) = &settings.default
    {
        out.push(Box::new(HttpProvider::new(
            ProviderConfig {
                kind: d.kind,
                model: d.model.clone(),
                base_url: d.base_url.clone(),
                api_key: d.api_key.clone(),
                timeout,
                retries: 2,
                max_wait: Duration::from_secs(10),
            },
            http.client(),
        )));
    }
    Ok(out)
}

/// The facts a post may use: what the event says and what the offline drafter wrote.
pub fn facts(event: Option<&EventRecord>, title: &str, content: &str) -> Facts {
    let mut lines = vec![format!("title: {title}")];
    if let Some(e) = event {
        lines.push(format!("repository: {}", e.repo));
        lines.push(format!(
            "kind of change: {}",
            e.kind.as_str().replace('_', " ")
        ));
        let f = &e.facts;
        // What the offline draft already knows beyond the event: the project's own name
        // (its manifest's, not the repository slug) and its hashtags.
        if let Some(name) = f.project.project_name.as_deref().filter(|n| !n.is_empty()) {
            lines.push(format!("project: {name}"));
        }
        if !f.project.hashtags.is_empty() {
            let tags: Vec<String> = f.project.hashtags.iter().map(|t| format!("#{t}")).collect();
            lines.push(format!("hashtags: {}", tags.join(" ")));
        }
        let (tag, name, version, branch, body) = match &f.work {
            Work::Tag(t) => (Some(t.tag.as_str()), None, None, None, None),
            Work::Release(r) => (
                r.tag.as_deref(),
                r.name.as_deref(),
                None,
                None,
                r.body.as_deref(),
            ),
            Work::Push(p) => (None, None, None, p.branch(), None),
            Work::PullRequest(p) => (None, None, None, None, p.body.as_deref()),
            Work::Item(i) => (
                None,
                None,
                i.version.as_deref(),
                i.branch.as_deref(),
                i.body.as_deref(),
            ),
            Work::CiRun(_) => (None, None, None, None, None),
        };
        for (key, v) in [
            ("tag", tag),
            ("name", name),
            ("version", version),
            ("branch", branch),
        ] {
            if let Some(v) = v {
                lines.push(format!("{key}: {v}"));
            }
        }
        for link in f.links() {
            lines.push(format!("link: {link}"));
        }
        for c in f.commits().iter().take(30) {
            lines.push(format!(
                "commit: {}",
                c.message.lines().next().unwrap_or_default()
            ));
            // The analysis of a local repository: the public surface each commit changed.
            for s in c.symbols.iter().take(20) {
                lines.push(format!(
                    "changed {}: {} ({})",
                    s.kind.as_str(),
                    s.name,
                    s.change.as_str()
                ));
            }
        }
        if let Some(body) = body {
            lines.push(format!(
                "description: {}",
                body.chars().take(2000).collect::<String>()
            ));
        }
    }
    lines.extend(
        content
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(60)
            .map(|l| format!("notes: {l}")),
    );
    Facts {
        lines,
        diffs: Vec::new(),
    }
}

/// Most diff text one card may send: enough for the gist of a release, small enough to
/// keep a prompt cheap.
const DIFF_BUDGET: usize = 24 * 1024;

/// What reading diffs from GitHub needs: the sealed tokens' key and the API's address.
#[derive(Clone, Copy)]
pub struct GithubAccess<'a> {
    pub secrets: &'a crate::secrets::SecretBox,
    pub api_base: &'a str,
}

/// The diffs behind an event, for workspaces that allow diffs to leave the machine: each
/// commit's changes read from the local repository it came from (merges and commits that
/// are gone are skipped), or, for a push to a GitHub source that holds a token, the
/// compare's patches (cached; the same compare the poller reads). Secrets are redacted by
/// the prompt, like everything else sent.
pub async fn diffs(
    store: &dyn Store,
    ws: covalynce_domain::WorkspaceId,
    privacy: Privacy,
    event: Option<&EventRecord>,
    github: GithubAccess<'_>,
) -> Result<Vec<String>, covalynce_storage::StoreError> {
    let Some(event) = event.filter(|_| privacy == Privacy::Diffs) else {
        return Ok(Vec::new());
    };
    let Some(source) = store.workspace_source(ws, event.source_id).await? else {
        return Ok(Vec::new());
    };
    if source.kind == covalynce_domain::SourceKind::Github {
        return Ok(github_diffs(store, &source, event, github).await);
    }
    let Some(path) = source
        .path
        .filter(|_| source.kind == covalynce_domain::SourceKind::Git)
    else {
        return Ok(Vec::new());
    };
    let shas: Vec<String> = event
        .facts
        .commits()
        .iter()
        .filter(|c| !c.is_merge && !c.id.is_empty())
        .map(|c| c.id.clone())
        .collect();
    let patches = tokio::task::spawn_blocking(move || {
        let Ok(repo) = covalynce_sources::git::Repo::open(std::path::Path::new(&path)) else {
            return Vec::new();
        };
        let mut left = DIFF_BUDGET;
        let mut out = Vec::new();
        for sha in shas {
            if left < 256 {
                break;
            }
            if let Ok(patch) = repo.patch(&sha, left) {
                left = left.saturating_sub(patch.len());
                out.push(format!("commit {}\n{patch}", &sha[..sha.len().min(12)]));
            }
        }
        out
    })
    .await
    .unwrap_or_default();
    Ok(patches)
}

/// A GitHub push's compare as patch text within the budget; nothing when the source holds
/// no token or GitHub does not answer (the draft then goes without diffs).
async fn github_diffs(
    store: &dyn Store,
    source: &covalynce_storage::Source,
    event: &EventRecord,
    github: GithubAccess<'_>,
) -> Vec<String> {
    let Work::Push(push) = &event.facts.work else {
        return Vec::new();
    };
    let (Some(before), Some(after), Some(repo)) = (
        push.before.as_deref(),
        push.after.as_deref(),
        covalynce_domain::RepoSlug::parse(&event.repo).ok(),
    ) else {
        return Vec::new();
    };
    let Some(api) = crate::github::api_for(github.secrets, github.api_base, source) else {
        return Vec::new();
    };
    match crate::github::compare(store, &api, source.workspace_id, &repo, before, after).await {
        Ok(compared) => {
            let text = crate::github::patch_text(&compared, DIFF_BUDGET);
            if text.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "compare {}...{}\n{text}",
                    &before[..before.len().min(12)],
                    &after[..after.len().min(12)]
                )]
            }
        }
        Err(e) => {
            tracing::info!(repo = %repo, error = %e, "no diff from GitHub for the draft");
            Vec::new()
        }
    }
}

/// What one round of AI writing produced.
pub struct Rewrite {
    /// Channel → accepted text (channels missing kept their text).
    pub texts: BTreeMap<String, String>,
    /// `provider/model` that wrote the most channels, if any did.
    pub drafted_by: Option<String>,
    /// Why nothing was used, when nothing was.
    pub note: Option<String>,
    pub calls: Vec<(String, Attempt)>,
}

/// Which of a card's posts to write, and how (refine); `Ask::default()` is a first draft
/// of every post.
#[derive(Default, Clone, Copy)]
pub struct Ask<'a> {
    pub channels: Option<&'a [String]>,
    pub instruction: Option<&'a str>,
}

/// Sees each channel's text as it is written: (channel, progress).
pub type OnProgress<'a> = &'a mut (dyn for<'p> FnMut(&str, Progress<'p>) + Send);

/// Asks the chain for each channel's post. A provider that fails outright (not one whose
/// text was rejected) is not asked again for the other channels of this card: an outage
/// costs one timeout per card, not one per channel.
pub async fn rewrite(
    providers: &[Box<dyn Provider>],
    privacy: Privacy,
    voice: covalynce_domain::Voice,
    facts: &Facts,
    variants: &BTreeMap<String, String>,
    ask: Ask<'_>,
    mut on: Option<OnProgress<'_>>,
) -> Rewrite {
    let Ask {
        channels,
        instruction,
    } = ask;
    let mut texts = BTreeMap::new();
    let mut calls = Vec::new();
    let mut down: HashSet<usize> = HashSet::new();
    let mut wrote: HashMap<String, usize> = HashMap::new();
    let mut last_failure = None;
    for (name, offline) in variants {
        if channels.is_some_and(|c| !c.contains(name)) {
            continue;
        }
        let Some(channel) = Channel::parse(name) else {
            continue;
        };
        let Some(prompt) = Prompt::for_post(
            &PostRequest {
                channel,
                voice: voice.as_str(),
                facts,
                offline,
                instruction,
            },
            privacy,
        ) else {
            continue;
        };
        let up: Vec<(usize, &dyn Provider)> = providers
            .iter()
            .enumerate()
            .filter(|(i, _)| !down.contains(i))
            .map(|(i, p)| (i, p.as_ref()))
            .collect();
        let live: Vec<&dyn Provider> = up.iter().map(|(_, p)| *p).collect();
        let check = |t: &str| verify(t, channel, facts, offline);
        let outcome = match on.as_deref_mut() {
            Some(on) => run_chain_streaming(&live, &prompt, check, &mut |p| on(name, p)).await,
            None => run_chain(&live, &prompt, check).await,
        };
        for (k, attempt) in outcome.attempts.iter().enumerate() {
            if let Outcome::Failed(why) | Outcome::Rejected(why) = &attempt.outcome {
                last_failure = Some(format!("{}: {why}", attempt.provider));
                if matches!(attempt.outcome, Outcome::Failed(_)) {
                    down.insert(up[k].0);
                }
            }
            if attempt.outcome == Outcome::Used {
                *wrote
                    .entry(format!("{}/{}", attempt.provider, attempt.model))
                    .or_default() += 1;
            }
            calls.push((name.clone(), attempt.clone()));
        }
        if let Some(text) = outcome.text {
            texts.insert(name.clone(), text);
        }
    }
    let drafted_by = wrote.into_iter().max_by_key(|(_, n)| *n).map(|(w, _)| w);
    let note = (texts.is_empty() && !calls.is_empty()).then(|| {
        format!(
            "AI drafting gave nothing usable, so this is the offline draft ({})",
            last_failure.unwrap_or_else(|| "no provider answered".into())
        )
    });
    Rewrite {
        texts,
        drafted_by,
        note,
        calls,
    }
}

/// Ledger rows for a round of calls.
pub fn ledger(
    prices: &Prices,
    ws: covalynce_domain::WorkspaceId,
    card: Option<covalynce_domain::CardId>,
    purpose: &str,
    calls: &[(String, Attempt)],
) -> Vec<NewAiCall> {
    calls
        .iter()
        .map(|(channel, a)| NewAiCall {
            workspace_id: ws,
            card_id: card,
            provider: a.provider.to_owned(),
            model: a.model.clone(),
            purpose: purpose.to_owned(),
            channel: Some(channel.clone()),
            tokens_in: a.tokens_in as i64,
            tokens_out: a.tokens_out as i64,
            cost_micros: prices.cost_micros(&a.model, a.tokens_in, a.tokens_out),
            latency_ms: a.latency_ms as i64,
            outcome: a.outcome.as_str().to_owned(),
            detail: match &a.outcome {
                Outcome::Used => None,
                Outcome::Rejected(w) | Outcome::Failed(w) => Some(w.chars().take(300).collect()),
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use covalynce_domain::{EventId, EventKind, SourceId, SymbolChange};

    #[test]
    fn facts_carry_the_event_the_analysis_and_the_notes() {
        let symbol = serde_json::to_value(SymbolChange {
            kind: covalynce_domain::SymbolKind::Function,
            name: "export_csv".into(),
            change: covalynce_domain::Change::Added,
        })
        .unwrap();
        let event = EventRecord {
            id: EventId::new(),
            source_id: SourceId::new(),
            delivery_id: None,
            kind: EventKind::Release,
            dedup_key: "release:acme/rocket:1".into(),
            repo: "acme/rocket".into(),
            title: "v1.4.0".into(),
            facts: covalynce_domain::EventFacts::parse(
                EventKind::Release,
                &serde_json::json!({
                    "tag": "v1.4.0",
                    "project_name": "Rocket",
                    "hashtags": ["rustlang", "cli"],
                    "url": "https://github.com/acme/rocket/releases/tag/v1.4.0",
                    "commits": [{"message": "feat: CSV export\n\nlong body", "symbols": [symbol]}],
                }),
            )
            .unwrap(),
            status: covalynce_domain::EventStatus::New,
            status_reason: None,
            occurred_at: None,
            created_at: 0,
        };
        let f = facts(Some(&event), "Rocket v1.4.0", "## Features\n\n- CSV export");
        for want in [
            "title: Rocket v1.4.0",
            "repository: acme/rocket",
            "project: Rocket",
            "hashtags: #rustlang #cli",
            "kind of change: release",
            "tag: v1.4.0",
            "link: https://github.com/acme/rocket/releases/tag/v1.4.0",
            "commit: feat: CSV export",
            "changed function: export_csv (added)",
            "notes: - CSV export",
        ] {
            assert!(f.lines.iter().any(|l| l == want), "{want} in {:?}", f.lines);
        }
        assert!(f.diffs.is_empty(), "no diffs reach the pipeline yet");
    }

    #[test]
    fn prices_come_from_the_table_and_overrides() {
        let p = Prices::with_overrides(Some(r#"{"my-model": [1.0, 2.0]}"#)).unwrap();
        assert_eq!(p.cost_micros("gpt-4o-mini", 1_000_000, 0), 150_000);
        assert_eq!(p.cost_micros("my-model", 10, 10), 30);
        assert_eq!(p.cost_micros("unknown", 10, 10), 0);
        assert!(Prices::with_overrides(Some("not json")).is_err());
    }
}
