//! Polling a GitHub source that has no webhook (or as a safety net beside one): the
//! repository events feed, workflow runs and other CI apps' check suites, each classified
//! by the webhook's own rules into typed events and stored through the same ingest path.

use super::enrich::{commit_pulls, compare, compare_commits, files_truncated, full_sha};
use super::{Api, Fetched, GithubError, api_for};
use covalynce_domain::NewEvent;
use covalynce_domain::facts::PullRef;
use covalynce_domain::{RepoSlug, Work, now_millis};
use covalynce_sources::github::{Classified, Polled, Repo, classify_polled};
use covalynce_storage::{Source, Store};
use serde_json::Value;
use std::time::Duration;

pub use covalynce_domain::PollState;

/// Pages read per poll: the events endpoint serves at most 300 events (3 × 100).
const MAX_PAGES: usize = 3;

/// Polls one source once and stores what is new; returns the number of new events and
/// when to poll next.
pub async fn poll_once(
    store: &dyn Store,
    api: &Api,
    source: &Source,
    min_poll: Duration,
) -> (usize, Duration, PollState) {
    let mut state: PollState = source.poll_state.clone().unwrap_or_default();
    let polled = match poll_runs(store, api, source, &mut state).await {
        Ok(runs) => match poll_pages(store, api, source, &mut state).await {
            // Without a webhook, other CI apps' check suites are only learnt by asking.
            Ok(n) if source.hook_id.is_none() => poll_check_suites(store, api, source)
                .await
                .map(|suites| n + runs + suites),
            Ok(n) => Ok(n + runs),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match polled {
        Ok(n) => {
            state.failures = 0;
            state.last_error = None;
            let wait = Duration::from_secs(state.interval.unwrap_or(60)).max(min_poll);
            (n, wait, state)
        }
        Err(GithubError::Wait { wait, why }) => {
            state.last_error = Some(format!("rate limited: {why}"));
            (0, wait.max(Duration::from_secs(1)), state)
        }
        Err(e) => {
            state.failures = state.failures.saturating_add(1);
            state.last_error = Some(e.to_string());
            let backoff =
                min_poll.max(Duration::from_secs(1)) * 2u32.saturating_pow(state.failures.min(6));
            (0, backoff.min(Duration::from_secs(3600)), state)
        }
    }
}

fn source_repo(source: &Source) -> Result<RepoSlug, GithubError> {
    source
        .repo
        .as_deref()
        .and_then(|r| RepoSlug::parse(r).ok())
        .ok_or_else(|| GithubError::NotFound("the source names no repository".into()))
}

/// The repository as the source recorded it when it was connected.
fn watched(source: &Source, repo: &RepoSlug) -> Repo {
    Repo {
        slug: repo.clone(),
        private: source.settings.private,
        // GitHub's own default when the source did not record one.
        default_branch: source
            .settings
            .default_branch
            .clone()
            .unwrap_or_else(|| "main".to_owned()),
        html_url: Some(format!("https://github.com/{repo}")),
    }
}

/// Workflow runs, polled: the events feed carries no CI, so without webhooks this is how
/// the CI gate learns that a repository has CI and how each commit's runs ended. Completed
/// runs are classified as `workflow_run` deliveries (same keys: a run seen both ways is
/// stored once). One conditional request per poll; a 304 costs no rate limit.
async fn poll_runs(
    store: &dyn Store,
    api: &Api,
    source: &Source,
    state: &mut PollState,
) -> Result<usize, GithubError> {
    let repo = source_repo(source)?;
    let url = format!("/repos/{repo}/actions/runs?per_page=30");
    let page = match api.list(&url, state.runs_etag.as_deref()).await {
        Ok(Fetched::Page(p)) => p,
        Ok(Fetched::NotModified { .. }) => return Ok(0),
        // Actions switched off, or runs not visible to this token: no CI to read.
        Err(GithubError::NotFound(_)) => return Ok(0),
        Err(e) => return Err(e),
    };
    state.runs_etag = page.etag.clone();
    let runs = page.body["workflow_runs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let runs = completed(&runs).map(Polled::WorkflowRun).collect();
    store_completed(store, source, &repo, "workflow_run", runs).await
}

/// The runs or suites that finished (a run in progress says nothing yet).
fn completed(items: &[Value]) -> impl Iterator<Item = &Value> {
    items.iter().filter(|i| i["status"] == "completed")
}

/// Completed runs or suites, classified by the rules of the webhook that would carry
/// them (`event_name`) and stored: seen both ways, they are one event.
async fn store_completed(
    store: &dyn Store,
    source: &Source,
    repo: &RepoSlug,
    event_name: &str,
    items: Vec<Polled<'_>>,
) -> Result<usize, GithubError> {
    let watched = watched(source, repo);
    let mut events = Vec::new();
    for item in items {
        if let Ok(Classified::Events(e)) = classify_polled(item, &watched) {
            events.extend(e);
        }
    }
    crate::sources::watch::store_events(store, source.workspace_id, source.id, events)
        .await
        .map_err(|e| GithubError::Other {
            status: 0,
            message: format!("could not store polled {event_name} events: {e:#}"),
        })
}

/// Commits whose check suites are asked for per poll, at most: the held cards' and the
/// newest push's.
const SUITE_COMMITS: usize = 10;

/// Check suites of other CI apps (CircleCI, Buildkite…) for a polling-only repository: for
/// the commits its held cards wait on, and for its newest push (which is how the gate
/// learns that the repository has CI at all). Completed suites are classified as
/// `check_suite` deliveries, so they are the same events a webhook would give.
async fn poll_check_suites(
    store: &dyn Store,
    api: &Api,
    source: &Source,
) -> Result<usize, GithubError> {
    let repo = source_repo(source)?;
    let ws = source.workspace_id;
    let stored = |e: covalynce_storage::StoreError| GithubError::Other {
        status: 0,
        message: format!("could not read the held cards: {e}"),
    };
    let mut shas: Vec<String> = store
        .held_cards(ws)
        .await
        .map_err(stored)?
        .iter()
        .filter_map(|c| c.gate.as_ref())
        .filter(|g| g.source_id == source.id)
        .map(|g| g.sha.clone())
        .collect();
    let newest_push = store
        .list_events(
            ws,
            &covalynce_storage::EventFilter {
                kind: Some(covalynce_domain::EventKind::Push),
                limit: 20,
                ..Default::default()
            },
        )
        .await
        .map_err(stored)?
        .into_iter()
        .find(|e| e.source_id == source.id)
        .and_then(|e| match e.facts.work {
            Work::Push(p) => p.after,
            _ => None,
        });
    shas.extend(newest_push);
    shas.sort();
    shas.dedup();
    let mut suites = Vec::new();
    for sha in shas.iter().filter(|s| full_sha(s)).take(SUITE_COMMITS) {
        let page = match api
            .json(
                reqwest::Method::GET,
                &format!("/repos/{repo}/commits/{sha}/check-suites?per_page=50"),
                None,
            )
            .await
        {
            Ok(p) => p,
            // A commit GitHub no longer has (a force push): nothing to learn from it.
            Err(GithubError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        suites.extend(
            page.body["check_suites"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    let suites = completed(&suites).map(Polled::CheckSuite).collect();
    store_completed(store, source, &repo, "check_suite", suites).await
}

async fn poll_pages(
    store: &dyn Store,
    api: &Api,
    source: &Source,
    state: &mut PollState,
) -> Result<usize, GithubError> {
    let repo = source_repo(source)?;
    let first = format!("/repos/{repo}/events?per_page=100");
    let mut fresh: Vec<Value> = Vec::new();
    let mut url = Some(first);
    let mut newest: Option<i64> = None;
    for page_no in 0..MAX_PAGES {
        let Some(u) = url.take() else { break };
        // Only the first page is conditional: its ETag says whether anything changed.
        let etag = (page_no == 0).then_some(state.etag.as_deref()).flatten();
        let page = match api.list(&u, etag).await? {
            Fetched::NotModified { poll_interval } => {
                if let Some(i) = poll_interval {
                    state.interval = Some(i.as_secs());
                }
                return Ok(0);
            }
            Fetched::Page(p) => p,
        };
        if page_no == 0 {
            state.etag = page.etag.clone();
            if let Some(i) = page.poll_interval {
                state.interval = Some(i.as_secs());
            }
        }
        let items = page.body.as_array().cloned().unwrap_or_default();
        let mut reached_seen = items.is_empty();
        for item in items {
            let id = item["id"].as_str().and_then(|s| s.parse::<i64>().ok());
            let Some(id) = id else { continue };
            newest = Some(newest.map_or(id, |n| n.max(id)));
            if state.last_event.is_some_and(|last| id <= last) {
                reached_seen = true;
                continue;
            }
            fresh.push(item);
        }
        // The first poll of a new source only marks where it starts: announcing a
        // repository's past would spend the month's cards on old work.
        if reached_seen || state.last_event.is_none() {
            break;
        }
        url = page.next;
    }
    let first_poll = state.last_event.is_none();
    if let Some(n) = newest {
        state.last_event = Some(state.last_event.map_or(n, |l| l.max(n)));
    }
    if first_poll {
        return Ok(0);
    }
    fresh.sort_by_key(|e| e["id"].as_str().and_then(|s| s.parse::<i64>().ok()));
    let mut events = Vec::new();
    for item in &fresh {
        events.extend(to_events(store, api, source, &repo, item).await?);
    }
    crate::sources::watch::store_events(store, source.workspace_id, source.id, events)
        .await
        .map_err(|e| GithubError::Other {
            status: 0,
            message: format!("could not store polled events: {e:#}"),
        })
}

/// One item of the repository events feed, classified by the webhook's own rules into the
/// same events (a polled push and its webhook are one event: same key), typed from the
/// feed's JSON directly.
async fn to_events(
    store: &dyn Store,
    api: &Api,
    source: &Source,
    repo: &RepoSlug,
    item: &Value,
) -> Result<Vec<NewEvent>, GithubError> {
    let watched = watched(source, repo);
    let p = &item["payload"];
    let item_type = item["type"].as_str().unwrap_or_default();
    let mut truncated = false;
    let polled = if item_type == "PushEvent" {
        let (Some(git_ref), Some(before), Some(head)) =
            (p["ref"].as_str(), p["before"].as_str(), p["head"].as_str())
        else {
            return Ok(Vec::new());
        };
        // Only pushes to the default branch are announced: spend no compare (and no rate
        // limit) on the others; the classifier says why they are ignored.
        let commits = if git_ref == format!("refs/heads/{}", watched.default_branch) {
            let compared = compare(store, api, source.workspace_id, repo, before, head).await?;
            truncated = files_truncated(&compared);
            compare_commits(&compared)
        } else {
            Vec::new()
        };
        Polled::Push {
            git_ref,
            before,
            head,
            pusher: item["actor"]["login"].as_str().map(str::to_owned),
            compare_url: format!(
                "https://github.com/{repo}/compare/{}...{}",
                &before[..before.len().min(12)],
                &head[..head.len().min(12)]
            ),
            commits,
        }
    } else {
        Polled::Feed {
            item_type,
            payload: p,
        }
    };
    let mut events = match classify_polled(polled, &watched) {
        Ok(Classified::Events(e)) => e,
        _ => Vec::new(),
    };
    for e in &mut events {
        if let Work::Push(push) = &mut e.facts.work {
            // The compare already brought the analysis: enrichment need not ask again.
            push.polled = true;
            push.files_truncated = truncated;
            // The pull request behind the head commit names the change better than a
            // merge commit's subject.
            if let Some(head) = push.after.clone()
                && let Ok(pulls) = commit_pulls(store, api, source.workspace_id, repo, &head).await
                && let Some(pr) = pulls.as_array().and_then(|a| a.first())
            {
                push.pull_request = Some(PullRef {
                    number: pr["number"].as_i64(),
                    title: pr["title"].as_str().map(str::to_owned),
                    url: pr["html_url"].as_str().map(str::to_owned),
                });
            }
        }
    }
    Ok(events)
}

/// Polls every GitHub source that holds a token, each when it is due, until `stop`.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    secrets: crate::secrets::SecretBox,
    api_base: String,
    min_poll: Duration,
    tick: Duration,
    wake_workers: std::sync::Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        match store.sources_due_for_poll(now_millis()).await {
            Ok(sources) => {
                for source in &sources {
                    let Some(api) = api_for(&secrets, &api_base, source) else {
                        continue;
                    };
                    let (n, wait, state) = poll_once(store.as_ref(), &api, source, min_poll).await;
                    if let Some(e) = &state.last_error {
                        tracing::warn!(source = %source.id, repo = ?source.repo, error = %e, wait_s = wait.as_secs(), "polling GitHub");
                    }
                    let next = now_millis() + wait.as_millis() as i64;
                    if let Err(e) = store.set_poll_state(source.id, &state, next).await {
                        tracing::warn!(source = %source.id, error = %e, "could not record the poll");
                    }
                    if n > 0 {
                        tracing::info!(source = %source.id, events = n, "new work polled from GitHub");
                        wake_workers.notify_waiters();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list GitHub sources to poll"),
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => {}
        }
    }
}
