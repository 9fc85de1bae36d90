//! GitHub's REST API for sources that hold a token: the repository webhook Covalynce
//! creates and removes itself, polling the repository's events (ETag, `X-Poll-Interval`,
//! rate limits, `Link` pagination), and diffs from `compare/{base}...{head}`.
//!
//! Contract (docs.github.com, REST: "Repository webhooks", "Events", "Commits",
//! "Rate limits for the REST API", "Using pagination"): a 304 to `If-None-Match` costs no
//! rate limit; `X-Poll-Interval` is the least number of seconds between polls; a 403/429
//! with `Retry-After` or with `X-RateLimit-Remaining: 0` (until `X-RateLimit-Reset`) means
//! wait; `Link: <…>; rel="next"` names the next page.

/// GitHub's own notes as the house style of a source without a clone.
pub mod project;

use covalynce_domain::facts::{CommitFacts, PersonFacts, ProjectContext, PullRef, Range};
use covalynce_domain::{RepoSlug, SourceId, Work, now_millis};
use covalynce_storage::{Source, Store};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::time::Duration;

pub const API_VERSION: &str = "2022-11-28";
/// The events a created webhook subscribes to.
pub const HOOK_EVENTS: [&str; 6] = [
    "push",
    "create",
    "release",
    "pull_request",
    "workflow_run",
    "check_suite",
];

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent("covalynce")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client with static settings builds")
    })
}

/// What GitHub said, in the terms the callers act on.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    /// Rate limited (primary or secondary): do not ask again before `wait`.
    #[error("GitHub asks to wait {}s ({why})", wait.as_secs())]
    Wait { wait: Duration, why: String },
    /// The token was refused or lacks a permission (`admin:repo_hook`, `repo`).
    #[error("GitHub refused the token: {0}")]
    Refused(String),
    #[error("GitHub has no such repository or resource: {0}")]
    NotFound(String),
    #[error("GitHub answered {status}: {message}")]
    Other { status: u16, message: String },
    #[error("GitHub could not be reached: {0}")]
    Unreachable(String),
}

pub struct Api {
    base: String,
    token: String,
}

/// A page of an answer: its JSON, its ETag, the poll interval and the next page.
pub struct Page {
    pub body: Value,
    pub etag: Option<String>,
    pub poll_interval: Option<Duration>,
    pub next: Option<String>,
}

pub enum Fetched {
    Page(Page),
    NotModified { poll_interval: Option<Duration> },
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// `Link: <url>; rel="next", <url>; rel="last"` → the next page's URL.
pub fn next_link(link: Option<&str>) -> Option<String> {
    link?.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_owned()
            })
    })
}

/// How long a refusal asks us to wait, if it is a rate limit: `Retry-After` first
/// (secondary limits), then `X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`.
pub fn rate_limit_wait(
    status: StatusCode,
    h: &reqwest::header::HeaderMap,
    now_s: i64,
) -> Option<Duration> {
    if !matches!(status.as_u16(), 403 | 429) {
        return None;
    }
    if let Some(secs) = header(h, "retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs.max(1)));
    }
    if header(h, "x-ratelimit-remaining").map(str::trim) == Some("0") {
        let reset = header(h, "x-ratelimit-reset").and_then(|v| v.trim().parse::<i64>().ok())?;
        return Some(Duration::from_secs((reset - now_s).max(1) as u64));
    }
    // A secondary limit without Retry-After: GitHub says wait at least a minute.
    (status == StatusCode::TOO_MANY_REQUESTS).then(|| Duration::from_secs(60))
}

impl Api {
    pub fn new(base: &str, token: String) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            token,
        }
    }

    /// The API base the server is configured with (a local server in tests).
    pub fn base_for(state_github: Option<&crate::auth::GithubOAuth>) -> String {
        state_github
            .map(|g| g.api_base.clone())
            .unwrap_or_else(|| "https://api.github.com".into())
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path_or_url: &str,
        etag: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Fetched, GithubError> {
        let url = self.url(path_or_url);
        // Only ever send the token to the configured API: a `Link` pointing elsewhere is
        // not followed.
        if !url.starts_with(&self.base) {
            return Err(GithubError::Other {
                status: 0,
                message: "a link pointed away from the GitHub API; not followed".into(),
            });
        }
        let mut req = client()
            .request(method, &url)
            .bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION);
        if let Some(tag) = etag {
            req = req.header("If-None-Match", tag);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| GithubError::Unreachable(e.without_url().to_string()))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let poll_interval = header(&headers, "x-poll-interval")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified { poll_interval });
        }
        let text = resp.text().await.unwrap_or_default();
        if status.is_success() {
            let body = if text.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&text).map_err(|e| GithubError::Other {
                    status: status.as_u16(),
                    message: format!("the answer is not JSON: {e}"),
                })?
            };
            return Ok(Fetched::Page(Page {
                body,
                etag: header(&headers, "etag").map(str::to_owned),
                poll_interval,
                next: next_link(header(&headers, "link")),
            }));
        }
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        if let Some(wait) = rate_limit_wait(status, &headers, now_millis() / 1000) {
            return Err(GithubError::Wait { wait, why: message });
        }
        Err(match status.as_u16() {
            401 | 403 => GithubError::Refused(message),
            404 => GithubError::NotFound(message),
            s => GithubError::Other { status: s, message },
        })
    }

    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Page, GithubError> {
        match self.send(method, path, None, body).await? {
            Fetched::Page(p) => Ok(p),
            Fetched::NotModified { .. } => Err(GithubError::Other {
                status: 304,
                message: "not modified".into(),
            }),
        }
    }

    pub async fn repository(&self, repo: &RepoSlug) -> Result<RepoChoice, GithubError> {
        let page = self
            .json(reqwest::Method::GET, &format!("/repos/{repo}"), None)
            .await?;
        serde_json::from_value(page.body).map_err(|e| GithubError::Other {
            status: 200,
            message: e.to_string(),
        })
    }

    /// The repositories the token's user can reach (own, collaborator, organisation
    /// member), most recently pushed first; `Link` pages followed up to 500.
    pub async fn user_repos(&self) -> Result<Vec<RepoChoice>, GithubError> {
        let mut url = Some(
            "/user/repos?per_page=100&sort=pushed&affiliation=owner,collaborator,organization_member"
                .to_owned(),
        );
        let mut repos = Vec::new();
        for _ in 0..REPO_PAGES {
            let Some(u) = url.take() else { break };
            let page = self.json(reqwest::Method::GET, &u, None).await?;
            let items: Vec<RepoChoice> =
                serde_json::from_value(page.body).map_err(|e| GithubError::Other {
                    status: 200,
                    message: format!("the repository list is not as documented: {e}"),
                })?;
            repos.extend(items);
            url = page.next;
        }
        Ok(repos)
    }

    /// Creates the repository webhook pointing at `url`, signed with `secret`.
    pub async fn create_hook(
        &self,
        repo: &RepoSlug,
        url: &str,
        secret: &str,
    ) -> Result<i64, GithubError> {
        let page = self
            .json(
                reqwest::Method::POST,
                &format!("/repos/{repo}/hooks"),
                Some(&json!({
                    "name": "web",
                    "active": true,
                    "events": HOOK_EVENTS,
                    "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
                })),
            )
            .await?;
        page.body["id"].as_i64().ok_or_else(|| GithubError::Other {
            status: 201,
            message: "the created hook has no id".into(),
        })
    }

    pub async fn delete_hook(&self, repo: &RepoSlug, id: i64) -> Result<(), GithubError> {
        match self
            .json(
                reqwest::Method::DELETE,
                &format!("/repos/{repo}/hooks/{id}"),
                None,
            )
            .await
        {
            Ok(_) | Err(GithubError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// One page of a list (repository events, workflow runs), conditionally on `etag`.
    pub async fn list(&self, url: &str, etag: Option<&str>) -> Result<Fetched, GithubError> {
        self.send(reqwest::Method::GET, url, etag, None).await
    }

    /// `compare/{base}...{head}`: commits and files (with patches).
    pub async fn compare(
        &self,
        repo: &RepoSlug,
        base: &str,
        head: &str,
    ) -> Result<Value, GithubError> {
        Ok(self
            .json(
                reqwest::Method::GET,
                &format!("/repos/{repo}/compare/{base}...{head}"),
                None,
            )
            .await?
            .body)
    }

    /// Any GET of the REST API, its JSON answer.
    pub async fn get(&self, path: &str) -> Result<Value, GithubError> {
        Ok(self.json(reqwest::Method::GET, path, None).await?.body)
    }

    /// Tag name → the commit it points at, for the 100 most recent tags.
    pub async fn tags(
        &self,
        repo: &RepoSlug,
    ) -> Result<std::collections::HashMap<String, String>, GithubError> {
        let page = self
            .get(&format!("/repos/{repo}/tags?per_page=100"))
            .await?;
        Ok(page
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                Some((
                    t["name"].as_str()?.to_owned(),
                    t["commit"]["sha"].as_str()?.to_owned(),
                ))
            })
            .collect())
    }

    /// The tag of the release published before `tag` (drafts and pre-releases skipped),
    /// from the 30 most recent releases.
    pub async fn previous_release(
        &self,
        repo: &RepoSlug,
        tag: &str,
    ) -> Result<Option<String>, GithubError> {
        let page = self
            .json(
                reqwest::Method::GET,
                &format!("/repos/{repo}/releases?per_page=30"),
                None,
            )
            .await?;
        let releases = page.body.as_array().cloned().unwrap_or_default();
        let published = |r: &Value| r["published_at"].as_str().unwrap_or_default().to_owned();
        let Some(this) = releases.iter().find(|r| r["tag_name"] == tag) else {
            return Ok(None);
        };
        let at = published(this);
        Ok(releases
            .iter()
            .filter(|r| r["tag_name"] != tag && r["draft"] != true && r["prerelease"] != true)
            .filter(|r| !published(r).is_empty() && published(r) < at)
            .max_by_key(|r| published(r))
            .and_then(|r| r["tag_name"].as_str().map(str::to_owned)))
    }

    /// The pull requests a commit belongs to.
    pub async fn commit_pulls(&self, repo: &RepoSlug, sha: &str) -> Result<Value, GithubError> {
        Ok(self
            .json(
                reqwest::Method::GET,
                &format!("/repos/{repo}/commits/{sha}/pulls"),
                None,
            )
            .await?
            .body)
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct RepoChoice {
    pub full_name: String,
    #[serde(default)]
    pub private: bool,
    pub default_branch: Option<String>,
    pub html_url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The token's rights on it; creating a webhook needs `admin`.
    #[serde(default)]
    pub permissions: Option<Permissions>,
}

#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct Permissions {
    #[serde(default)]
    pub admin: bool,
}

impl RepoChoice {
    /// Whether GitHub will let this token create the repository's webhook.
    pub fn can_hook(&self) -> bool {
        self.permissions.as_ref().is_some_and(|p| p.admin)
    }
}

/// Pages of `/user/repos` read for the picker: 500 repositories, most recently pushed first.
const REPO_PAGES: usize = 5;

/// The API client for a source that holds a token.
pub fn api_for(secrets: &crate::crypto::SecretBox, base: &str, source: &Source) -> Option<Api> {
    let token = secrets.open(source.sealed_token.as_deref()?).ok()?;
    Some(Api::new(base, String::from_utf8(token).ok()?))
}

/// After a source is deleted: remove the webhook Covalynce created for it. A failure is
/// logged, not returned: the source is gone either way, and GitHub disables a hook whose
/// deliveries keep failing.
pub async fn after_delete(
    secrets: &crate::crypto::SecretBox,
    config: Option<&crate::auth::GithubOAuth>,
    source: &Source,
) {
    let (Some(hook), Some(repo)) = (
        source.hook_id,
        source.repo.as_deref().and_then(|r| RepoSlug::parse(r).ok()),
    ) else {
        return;
    };
    let base = Api::base_for(config);
    let Some(api) = api_for(secrets, &base, source) else {
        return;
    };
    if let Err(e) = api.delete_hook(&repo, hook).await {
        tracing::warn!(source = %source.id, %repo, hook, error = %e, "could not remove the GitHub webhook");
    }
}

/// Creates the repository webhook for a connected source, when GitHub can reach this
/// server (a public URL is configured) and the token may; otherwise says why the source
/// only polls.
pub async fn create_hook_for(
    public_url: Option<&str>,
    source_id: SourceId,
    repo: &RepoSlug,
    api: &Api,
    secret: &str,
) -> Result<i64, String> {
    let Some(public) = public_url else {
        return Err("no public URL is configured (COVALYNCE_PUBLIC_URL), so GitHub cannot reach this server; polling instead".into());
    };
    let url = format!("{}/hooks/github/{source_id}", public.trim_end_matches('/'));
    api.create_hook(repo, &url, secret)
        .await
        .map_err(|e| format!("the webhook could not be created ({e}); polling instead"))
}

/// Where polling a source left off (`sources.poll_state`).
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize, PartialEq)]
pub struct PollState {
    pub etag: Option<String>,
    /// The newest repository event already read (GitHub event ids grow).
    pub last_event: Option<i64>,
    /// Seconds GitHub asks between polls (`X-Poll-Interval`).
    pub interval: Option<u64>,
    /// Failed polls in a row (backoff doubles with each).
    #[serde(default)]
    pub failures: u32,
    /// The last refusal or fault, shown on the source.
    pub last_error: Option<String>,
    /// The workflow-run list's ETag: CI for sources GitHub cannot deliver webhooks to.
    #[serde(default)]
    pub runs_etag: Option<String>,
}

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
    let mut state: PollState = source
        .poll_state
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
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

/// The `repository` object of a webhook payload, from what the source knows.
fn repository_json(source: &Source, repo: &RepoSlug) -> Value {
    json!({
        "full_name": repo.to_string(),
        "private": source.settings["private"].as_bool().unwrap_or(false),
        "default_branch": source.settings["default_branch"].as_str(),
        "html_url": format!("https://github.com/{repo}"),
    })
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
    store_completed(store, source, &repo, "workflow_run", &runs).await
}

/// Completed runs or suites as the `event_name` deliveries a webhook would carry them in
/// (the item under a field of the same name), classified by the webhook's code and stored:
/// seen both ways, they are one event.
async fn store_completed(
    store: &dyn Store,
    source: &Source,
    repo: &RepoSlug,
    event_name: &str,
    items: &[Value],
) -> Result<usize, GithubError> {
    let repository = repository_json(source, repo);
    let mut events = Vec::new();
    for item in items.iter().filter(|i| i["status"] == "completed") {
        let payload = json!({"action": "completed", event_name: item, "repository": repository});
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        if let Ok(covalynce_sources::github::Classified::Events(e)) =
            covalynce_sources::github::classify(event_name, &body, Some(repo))
        {
            events.extend(e);
        }
    }
    crate::watch::store_events(store, source.workspace_id, source.id, events)
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
    let mine = source.id.to_string();
    let mut shas: Vec<String> = store
        .held_cards(ws)
        .await
        .map_err(stored)?
        .iter()
        .filter_map(|c| c.gate.as_ref())
        .filter(|g| g["source_id"].as_str() == Some(mine.as_str()))
        .filter_map(|g| g["sha"].as_str().map(str::to_owned))
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
    store_completed(store, source, &repo, "check_suite", &suites).await
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
    crate::watch::store_events(store, source.workspace_id, source.id, events)
        .await
        .map_err(|e| GithubError::Other {
            status: 0,
            message: format!("could not store polled events: {e:#}"),
        })
}

/// One item of the repository events feed as the webhook payload GitHub would have sent,
/// classified by the same code: a polled push and its webhook are one event (same key).
async fn to_events(
    store: &dyn Store,
    api: &Api,
    source: &Source,
    repo: &RepoSlug,
    item: &Value,
) -> Result<Vec<covalynce_domain::NewEvent>, GithubError> {
    let repository = repository_json(source, repo);
    let p = &item["payload"];
    let mut truncated = false;
    let mut analysed = Vec::new();
    let (name, mut payload) = match item["type"].as_str().unwrap_or_default() {
        "PushEvent" => {
            let (Some(before), Some(head)) = (p["before"].as_str(), p["head"].as_str()) else {
                return Ok(Vec::new());
            };
            // Only pushes to the default branch are announced: spend no compare (and no
            // rate limit) on the others; `classify` says why they are ignored.
            let default_ref = source.settings["default_branch"]
                .as_str()
                .map(|b| format!("refs/heads/{b}"));
            let commits = if default_ref.is_none() || p["ref"].as_str() == default_ref.as_deref() {
                let compared = compare(store, api, source.workspace_id, repo, before, head).await?;
                truncated = files_truncated(&compared);
                analysed = compare_commits(&compared);
                analysed.clone()
            } else {
                Vec::new()
            };
            let payload = json!({
                "ref": p["ref"],
                "before": before,
                "after": head,
                "created": false,
                "deleted": false,
                "forced": false,
                "compare": format!("https://github.com/{repo}/compare/{}...{}", &before[..before.len().min(12)], &head[..head.len().min(12)]),
                "commits": commits,
                "head_commit": commits.last(),
                "pusher": {"name": item["actor"]["login"]},
            });
            ("push", payload)
        }
        "CreateEvent" => (
            "create",
            json!({"ref": p["ref"], "ref_type": p["ref_type"], "description": p["description"]}),
        ),
        "ReleaseEvent" => (
            "release",
            json!({"action": p["action"], "release": p["release"]}),
        ),
        "PullRequestEvent" => (
            "pull_request",
            json!({"action": p["action"], "number": p["number"], "pull_request": p["pull_request"]}),
        ),
        _ => return Ok(Vec::new()),
    };
    payload["repository"] = repository;
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    let classified = covalynce_sources::github::classify(name, &body, Some(repo));
    let mut events = match classified {
        Ok(covalynce_sources::github::Classified::Events(e)) => e,
        _ => Vec::new(),
    };
    for e in &mut events {
        if let Work::Push(push) = &mut e.facts.work {
            push.polled = true;
            // `classify` keeps a webhook's fields; the compare also brought the analysis.
            copy_analysis(&mut push.commits, &analysed);
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

fn full_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `compare/{base}...{head}`, from the cache when both ends are commit ids (a compare of
/// two commits never changes).
pub async fn compare(
    store: &dyn Store,
    api: &Api,
    ws: covalynce_domain::WorkspaceId,
    repo: &RepoSlug,
    base: &str,
    head: &str,
) -> Result<Value, GithubError> {
    let immutable = full_sha(base) && full_sha(head);
    let key = format!("compare:{repo}:{base}...{head}");
    if immutable
        && let Ok(Some(hit)) = store.github_cache_get(ws, &key).await
        && let Ok(v) = serde_json::from_slice(&hit)
    {
        return Ok(v);
    }
    // A push that created the branch has an all-zero `before`: compare with the head's
    // parent instead (`head^`), which GitHub resolves.
    let base = if base.bytes().all(|b| b == b'0') {
        format!("{head}^")
    } else {
        base.to_owned()
    };
    let v = api.compare(repo, &base, head).await?;
    if immutable {
        let _ = store
            .github_cache_put(ws, &key, &serde_json::to_vec(&v).unwrap_or_default())
            .await;
    }
    Ok(v)
}

/// `commits/{sha}/pulls`, cached: which pull request merged a commit does not change.
pub async fn commit_pulls(
    store: &dyn Store,
    api: &Api,
    ws: covalynce_domain::WorkspaceId,
    repo: &RepoSlug,
    sha: &str,
) -> Result<Value, GithubError> {
    let key = format!("pulls:{repo}:{sha}");
    if let Ok(Some(hit)) = store.github_cache_get(ws, &key).await
        && let Ok(v) = serde_json::from_slice(&hit)
    {
        return Ok(v);
    }
    let v = api.commit_pulls(repo, sha).await?;
    if full_sha(sha) && v.as_array().is_some_and(|a| !a.is_empty()) {
        let _ = store
            .github_cache_put(ws, &key, &serde_json::to_vec(&v).unwrap_or_default())
            .await;
    }
    Ok(v)
}

/// What a GitHub source's event is missing that the API can tell, added before drafting
/// (for webhook and polled events alike, so both feed the same understanding as a local
/// repository): a pushed range's symbol and credential analysis from its compare, and a
/// release's commits since the previous release. Failures leave the event as it came: the
/// draft is made from what the delivery said.
pub async fn enrich(
    store: &dyn Store,
    api: &Api,
    source: &Source,
    event: &mut covalynce_storage::EventRecord,
) {
    let Ok(repo) = RepoSlug::parse(&event.repo) else {
        return;
    };
    let ws = source.workspace_id;
    let facts = &mut event.facts;
    match &mut facts.work {
        Work::Push(push) if !push.polled => {
            let (Some(before), Some(after)) = (push.before.clone(), push.after.clone()) else {
                return;
            };
            match compare(store, api, ws, &repo, &before, &after).await {
                Ok(compared) => {
                    copy_analysis(&mut push.commits, &compare_commits(&compared));
                    push.files_truncated |= files_truncated(&compared);
                }
                Err(e) => tracing::info!(%repo, error = %e, "no compare for the push"),
            }
        }
        Work::Release(release) if release.commits.is_none() => {
            let Some(tag) = release.tag.clone() else {
                return;
            };
            let previous = match api.previous_release(&repo, &tag).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(e) => {
                    tracing::info!(%repo, error = %e, "no release list");
                    return;
                }
            };
            match compare(store, api, ws, &repo, &previous, &tag).await {
                Ok(compared) => {
                    release_facts(
                        store,
                        api,
                        ws,
                        &repo,
                        &previous,
                        &compared,
                        &mut facts.project,
                    )
                    .await;
                    release.commits = Some(compare_commits(&compared));
                    release.compare_url = Some(format!(
                        "https://github.com/{repo}/compare/{previous}...{tag}"
                    ));
                    release.range = Some(Range {
                        from: previous,
                        to: tag,
                    });
                    release.files_truncated |= files_truncated(&compared);
                }
                Err(e) => tracing::info!(%repo, error = %e, "no compare for the release"),
            }
        }
        _ => {}
    }
}

/// What a local tag's event carries, read through the API for a release of a repository
/// without a clone: the project's name and hashtags at the release's commit, and the house
/// style of its notes at the previous release's. What cannot be read is left out (the draft
/// then uses the repository's name and the default style).
async fn release_facts(
    store: &dyn Store,
    api: &Api,
    ws: covalynce_domain::WorkspaceId,
    repo: &RepoSlug,
    previous: &str,
    compared: &Value,
    project: &mut ProjectContext,
) {
    let head = compared["commits"]
        .as_array()
        .and_then(|c| c.last())
        .and_then(|c| c["sha"].as_str());
    if let Some(head) = head {
        match project::project(store, api, ws, repo, head).await {
            Ok(facts) => {
                if let Some(name) = facts.name.filter(|n| !n.is_empty()) {
                    project.project_name = Some(name);
                }
                if !facts.hashtags.is_empty() {
                    project.hashtags = facts.hashtags;
                }
            }
            Err(e) => tracing::info!(%repo, error = %e, "no project files for the release"),
        }
    }
    if let Some(base) = compared["base_commit"]["sha"].as_str() {
        match project::house_style(store, api, ws, repo, previous, base).await {
            Ok(style) => project.house_style = Some(style),
            Err(e) => tracing::info!(%repo, error = %e, "no house style for the release"),
        }
    }
}

/// GitHub lists at most 300 files in a compare: at that count the list may be partial.
fn files_truncated(compared: &Value) -> bool {
    compared["files"].as_array().is_some_and(|f| f.len() >= 300)
}

/// Puts the analysis (`symbols`, `diff_secrets`) of `analysed` commits on the same commits
/// (by id) of `commits`, which `classify` built from a webhook's fields.
fn copy_analysis(commits: &mut [CommitFacts], analysed: &[CommitFacts]) {
    for c in commits {
        if let Some(a) = analysed.iter().find(|a| a.id == c.id) {
            c.symbols = a.symbols.clone();
            c.diff_secrets = a.diff_secrets.clone();
        }
    }
}

/// A compare's files as unified-diff text, cut at about `budget` bytes: what an AI
/// provider sees of a GitHub push when the workspace allows diffs (as `git::Repo::patch`
/// gives for a local repository).
pub fn patch_text(compared: &Value, budget: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for f in compared["files"].as_array().into_iter().flatten() {
        if out.len() >= budget {
            let _ = writeln!(out, "… (more files not shown)");
            break;
        }
        let Some(name) = f["filename"].as_str() else {
            continue;
        };
        let (a, b) = match f["status"].as_str() {
            Some("added") => ("/dev/null".to_owned(), format!("b/{name}")),
            Some("removed") => (format!("a/{name}"), "/dev/null".to_owned()),
            _ => (
                format!("a/{}", f["previous_filename"].as_str().unwrap_or(name)),
                format!("b/{name}"),
            ),
        };
        let _ = writeln!(out, "--- {a}\n+++ {b}");
        match f["patch"].as_str() {
            Some(p) => {
                let room = budget.saturating_sub(out.len());
                let cut: String = p.chars().take(room.max(256)).collect();
                let _ = writeln!(out, "{cut}");
            }
            // GitHub leaves out binary files and very large diffs.
            None => {
                let _ = writeln!(out, "(binary or large file, not shown)");
            }
        }
    }
    out
}

/// The two sides a patch shows (context and removed lines; context and added lines). The
/// API gives hunks, not whole files, so the analyzer sees the definitions the hunks touch:
/// enough to name changed public functions and to find credentials in added lines.
fn patch_sides(patch: &str) -> (String, String) {
    let (mut old, mut new) = (String::new(), String::new());
    for line in patch.lines() {
        if line.starts_with("@@") || line.starts_with('\\') {
            continue;
        }
        match line.split_at_checked(1) {
            Some(("-", rest)) => {
                old.push_str(rest);
                old.push('\n');
            }
            Some(("+", rest)) => {
                new.push_str(rest);
                new.push('\n');
            }
            Some((" ", rest)) => {
                old.push_str(rest);
                old.push('\n');
                new.push_str(rest);
                new.push('\n');
            }
            _ => {}
        }
    }
    (old, new)
}

/// The symbols and credential kinds a compare's patches show, by the same analyzer local
/// repositories use.
fn analyze_compare(compared: &Value) -> covalynce_domain::FileAnalysis {
    let mut analysis = covalynce_domain::FileAnalysis::default();
    for f in compared["files"].as_array().into_iter().flatten().take(64) {
        let (Some(name), Some(patch)) = (f["filename"].as_str(), f["patch"].as_str()) else {
            continue;
        };
        if !covalynce_understanding::is_analyzable(name) {
            continue;
        }
        let (old, new) = patch_sides(patch);
        let status = f["status"].as_str();
        let found = covalynce_understanding::analyze_file(
            name,
            (status != Some("added")).then_some(old.as_str()),
            (status != Some("removed")).then_some(new.as_str()),
        );
        analysis.symbols.extend(found.symbols);
        for s in found.secrets {
            if !analysis.secrets.contains(&s) {
                analysis.secrets.push(s);
            }
        }
    }
    analysis
}

/// A compare's commits in the webhook's `commits` shape; the range's files, and what the
/// analyzer found in their patches, go on the head commit (the compare lists files for the
/// range, not per commit).
pub fn compare_commits(compared: &Value) -> Vec<CommitFacts> {
    let analysis = analyze_compare(compared);
    let files: Vec<String> = compared["files"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["filename"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let commits = compared["commits"].as_array().cloned().unwrap_or_default();
    let n = commits.len();
    let text = |v: &Value| v.as_str().map(str::to_owned);
    commits
        .iter()
        .enumerate()
        .map(|(i, c)| {
            // A compare lists the files of the whole range, not per commit: they go on the
            // last commit, with the range's analysis.
            let last = i + 1 == n;
            CommitFacts {
                id: text(&c["sha"]).unwrap_or_default(),
                message: text(&c["commit"]["message"]).unwrap_or_default(),
                timestamp: text(&c["commit"]["author"]["date"]),
                url: text(&c["html_url"]),
                author: Some(PersonFacts {
                    name: text(&c["commit"]["author"]["name"]),
                    email: text(&c["commit"]["author"]["email"]),
                    username: text(&c["author"]["login"]),
                }),
                modified: if last { files.clone() } else { Vec::new() },
                symbols: if last {
                    analysis.symbols.clone()
                } else {
                    Vec::new()
                },
                diff_secrets: if last {
                    analysis.secrets.clone()
                } else {
                    Vec::new()
                },
                ..CommitFacts::default()
            }
        })
        .collect()
}

/// Polls every GitHub source that holds a token, each when it is due, until `stop`.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    secrets: crate::crypto::SecretBox,
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
                    let state = serde_json::to_value(&state).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compares_patches_become_diff_text_and_analysis() {
        let compared = json!({"files": [
            {"filename": "src/lib.rs", "status": "modified",
             "patch": "@@ -1,2 +1,3 @@\n pub mod a;\n-pub fn old_name() {}\n+pub fn new_name() {}\n+// ghp_0123456789abcdefghijABCDEFGHIJ0123456789 works here"},
            {"filename": "logo.png", "status": "added"},
        ]});
        let text = patch_text(&compared, 24 * 1024);
        assert!(
            text.starts_with("--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1,2 +1,3 @@"),
            "{text}"
        );
        assert!(
            text.contains("--- /dev/null\n+++ b/logo.png\n(binary or large file, not shown)"),
            "{text}"
        );
        let (old, new) =
            patch_sides("@@ -1,2 +1,2 @@\n keep\n-gone\n+added\n\\ No newline at end of file");
        assert_eq!(
            (old.as_str(), new.as_str()),
            ("keep\ngone\n", "keep\nadded\n")
        );
        let commits = compare_commits(&json!({
            "commits": [{"sha": "a", "commit": {"message": "m"}}],
            "files": compared["files"],
        }));
        let symbols = format!("{:?}", commits[0].symbols);
        assert!(
            symbols.contains("new_name") && symbols.contains("old_name"),
            "{symbols}"
        );
        assert_eq!(commits[0].diff_secrets.len(), 1, "{:?}", commits[0]);
        // A budget cuts the text and says so.
        let many = json!({"files": (0..50).map(|n| json!({"filename": format!("f{n}.rs"), "status": "modified", "patch": "+x".repeat(100)})).collect::<Vec<_>>()});
        let cut = patch_text(&many, 1000);
        assert!(
            cut.len() < 2000 && cut.ends_with("… (more files not shown)\n"),
            "{cut}"
        );
    }

    #[test]
    fn the_next_page_is_read_from_the_link_header() {
        let link = r#"<https://api.github.com/repositories/1/events?page=2>; rel="next", <https://api.github.com/repositories/1/events?page=3>; rel="last""#;
        assert_eq!(
            next_link(Some(link)).as_deref(),
            Some("https://api.github.com/repositories/1/events?page=2")
        );
        assert_eq!(next_link(Some(r#"<https://x/?page=1>; rel="prev""#)), None);
        assert_eq!(next_link(None), None);
    }

    #[test]
    fn rate_limits_say_how_long_to_wait() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "30".parse().unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, 0),
            Some(Duration::from_secs(30))
        );
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        h.insert("x-ratelimit-reset", "1100".parse().unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, 1000),
            Some(Duration::from_secs(100))
        );
        // A 403 that is not a rate limit is a refusal.
        let h = reqwest::header::HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &h, 0), None);
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, 0),
            Some(Duration::from_secs(60))
        );
    }
}
