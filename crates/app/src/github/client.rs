//! GitHub's REST API client: requests with the source's token, errors as GitHub states
//! them, rate limits (`Retry-After`, `X-RateLimit-*`), conditional requests and pages.

use covalynce_domain::{RepoSlug, now_millis};
use covalynce_storage::Source;
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
    pub fn base_for(state_github: Option<&crate::github::GithubOAuth>) -> String {
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

    pub(super) async fn json(
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
        let earlier: Vec<&Value> = releases
            .iter()
            .filter(|r| r["tag_name"] != tag && r["draft"] != true && r["prerelease"] != true)
            .filter(|r| !published(r).is_empty() && published(r) < at)
            .collect();
        // By version when the tags are versions: the highest release below this one. A
        // maintenance release of another line published minutes before (monolog's 2.11.0
        // beside 3.10.0, a 7.1.5 beside 7.2.2, a 1.9.9 backport before 3.0.0) is no base —
        // its compare would hold every commit since the lines parted.
        use super::project::version_key;
        let key = |r: &Value| version_key(r["tag_name"].as_str().unwrap_or_default());
        let version = version_key(tag);
        let below = earlier
            .iter()
            .filter(|r| {
                let k = key(r);
                !k.is_empty() && k < version
            })
            .max_by_key(|r| key(r));
        let chosen = match below {
            Some(r) if !version.is_empty() => Some(*r),
            // Tags that are no versions (`pkg@1.2.3`, names): the last published before.
            _ => earlier.into_iter().max_by_key(|r| published(r)),
        };
        Ok(chosen.and_then(|r| r["tag_name"].as_str().map(str::to_owned)))
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
impl Api {
    /// The token it sends.
    pub fn token(&self) -> &str {
        &self.token
    }
}

pub fn api_for(secrets: &crate::secrets::SecretBox, base: &str, source: &Source) -> Option<Api> {
    let token = secrets.open(source.sealed_token.as_deref()?).ok()?;
    Some(Api::new(base, String::from_utf8(token).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
