//! GitHub Releases: the approved release notes become the body of the release for the
//! card's tag — the release is edited when it exists (draft or published), made when it
//! does not (as a draft or published, as the channel says).
//!
//! Exactly once without an idempotency key: the release is looked up by its tag first,
//! in the repository's list of releases (which, unlike `releases/tags/{tag}`, shows drafts
//! to a token that can push), so sending again after a crash finds the release the first
//! attempt made and edits it to the same text instead of making a second one.
//! (REST API 2022-11-28: `GET/POST /repos/{o}/{r}/releases`,
//! `PATCH /repos/{o}/{r}/releases/{id}`.)

use crate::guard::{Http, SendError};
use crate::platform::{Opening, Platform, mismatch};
use crate::preview::{Draft, Preview};
use crate::{ChannelConfig, ChannelSecrets, ChannelSettings, Recovery};
use crate::{Failure, Post, Sent, snippet};
use reqwest::Url;
use serde_json::{Value, json};
use std::time::Duration;

pub const API_BASE: &str = "https://api.github.com";
const API_VERSION: &str = "2022-11-28";

/// Where the release goes and how a new one is made.
#[derive(Clone)]
pub struct Repo {
    pub api: Url,
    pub owner: String,
    pub name: String,
    pub token: String,
    /// A release that does not exist yet is made as a draft (a person publishes it on
    /// GitHub) rather than published.
    pub draft: bool,
}

impl Repo {
    /// The API's own path stays (GitHub Enterprise serves it under `/api/v3`).
    fn url(&self, path: &str) -> Result<Url, Failure> {
        Url::parse(&format!(
            "{}/repos/{}/{}/releases{path}",
            self.api.as_str().trim_end_matches('/'),
            self.owner,
            self.name
        ))
        .map_err(|e| Failure::broken(format!("the GitHub API URL is invalid: {e}")))
    }

    fn headers(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        r.bearer_auth(&self.token)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", API_VERSION)
            .header("User-Agent", "covalynce")
    }
}

/// Why GitHub Releases would refuse a card: it takes releases and tags (any tag GitHub
/// takes, `api/v1.2.3` too) with notes.
pub fn check(release_notes: &str, version: Option<&str>) -> Result<(), String> {
    let Some(version) = version.filter(|v| !v.trim().is_empty()) else {
        return Err("GitHub Releases takes releases and tags; this card is not about one".into());
    };
    if version.len() > 255 {
        return Err(format!("the tag {version:?} is longer than GitHub takes"));
    }
    if release_notes.trim().is_empty() {
        return Err("the card has no release notes to write".into());
    }
    // GitHub's release body takes 125,000 characters.
    if release_notes.chars().count() > 125_000 {
        return Err("the release notes are longer than GitHub's 125,000 characters".into());
    }
    Ok(())
}

/// Writes the card's notes into the release of its tag.
pub async fn publish(http: &Http, repo: &Repo, post: &Post<'_>) -> Result<Sent, Failure> {
    check(post.release_notes, post.release.as_ref().map(|r| r.version))
        .map_err(Failure::permanent)?;
    let release = post.release.as_ref().expect("checked above");
    let tag = release.version;
    let body = post.release_notes;
    let found = find(http, repo, tag).await?;
    let answer = match found {
        Some(existing) => {
            let id = existing["id"].as_i64().unwrap_or_default();
            if existing["body"].as_str() == Some(body) {
                // Sent again after a crash that came after GitHub took it: nothing to do.
                return Ok(sent(&existing));
            }
            let url = repo.url(&format!("/{id}"))?;
            let request = http.patch(&url).map_err(|r| Failure::broken(r.0))?;
            // Editing to the same text is harmless: a repeat cannot double anything.
            let response = repo
                .headers(request)
                .json(&json!({ "body": body }))
                .send()
                .await
                .map_err(|e| failure(e, true))?;
            answer(response).await?
        }
        None => {
            let url = repo.url("")?;
            let request = http.post(&url).map_err(|r| Failure::broken(r.0))?;
            let response = repo
                .headers(request)
                .json(&json!({
                    "tag_name": tag,
                    "name": format!("{} {tag}", release.project),
                    "body": body,
                    "draft": repo.draft,
                }))
                .send()
                .await
                // Made or not, the next attempt looks the tag up first: a repeat finds
                // what this one made.
                .map_err(|e| failure(e, true))?;
            answer(response).await?
        }
    };
    Ok(sent(&answer))
}

fn sent(release: &Value) -> Sent {
    Sent {
        url: release["html_url"].as_str().map(str::to_owned),
        note: release["draft"]
            .as_bool()
            .filter(|d| *d)
            .map(|_| "written to a draft release: publish it on GitHub".to_owned()),
        ..Sent::default()
    }
}

/// Pages of releases read looking for a tag: the newest 1,000.
const PAGES: usize = 10;

/// The release of `tag`, drafts included, among the newest [`PAGES`] pages of 100.
async fn find(http: &Http, repo: &Repo, tag: &str) -> Result<Option<Value>, Failure> {
    for page in 1..=PAGES {
        let mut url = repo.url("")?;
        url.set_query(Some(&format!("per_page=100&page={page}")));
        let request = http.get(&url).map_err(|r| Failure::broken(r.0))?;
        let response = repo
            .headers(request)
            .send()
            .await
            .map_err(|e| failure(e, true))?;
        let list = answer(response).await?;
        let all = list.as_array().cloned().unwrap_or_default();
        if let Some(found) = all.iter().find(|r| r["tag_name"].as_str() == Some(tag)) {
            return Ok(Some(found.clone()));
        }
        if all.len() < 100 {
            return Ok(None);
        }
    }
    // More than a thousand releases and the tag not among them: making one could make a
    // second (drafts are only found by listing), so a person decides.
    Err(Failure::permanent(format!(
        "GitHub lists more than {} releases and none for {tag} among them; make or edit the release on GitHub",
        PAGES * 100
    )))
}

fn failure(e: reqwest::Error, idempotent: bool) -> Failure {
    match SendError::from_reqwest(e, "GitHub") {
        SendError::Refused(m) => Failure::broken(m),
        SendError::NotSent(m) => Failure::retry(m, None),
        SendError::MaybeSent(m) if idempotent => Failure::retry(m, None),
        SendError::MaybeSent(m) => Failure::Unknown { message: m },
    }
}

/// GitHub's answer as JSON, or the failure it says (rate limits as GitHub documents them:
/// 429, or 403 with no requests left, waiting for `Retry-After` or `X-RateLimit-Reset`).
async fn answer(response: reqwest::Response) -> Result<Value, Failure> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    let message = || {
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| snippet(&text))
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let limited = status == 429
        || (status == 403
            && (header("retry-after").is_some() || header("x-ratelimit-remaining") == Some("0")));
    if limited {
        let wait = header("retry-after")
            .and_then(|s| s.trim().parse::<u64>().ok())
            .or_else(|| {
                let reset: i64 = header("x-ratelimit-reset")?.trim().parse().ok()?;
                Some((reset * 1000 - covalynce_domain::now_millis()).max(0) as u64 / 1000 + 1)
            })
            .unwrap_or(60);
        return Err(Failure::retry(
            format!("GitHub's rate limit is reached ({})", message()),
            Some(Duration::from_secs(wait.min(3_600))),
        ));
    }
    match status {
        200..=299 => Ok(serde_json::from_str(&text).unwrap_or(Value::Null)),
        401 => Err(Failure::broken(format!(
            "GitHub refused the token ({}): connect the repository again",
            message()
        ))),
        403 => Err(Failure::broken(format!(
            "GitHub refused the token ({}): it needs the contents: write permission",
            message()
        ))),
        404 => Err(Failure::broken(format!(
            "GitHub has no such repository for this token ({})",
            message()
        ))),
        422 => Err(Failure::permanent(format!(
            "GitHub refused the release ({})",
            message()
        ))),
        500..=599 => Err(Failure::retry(
            format!("GitHub had an internal error ({status}: {})", message()),
            None,
        )),
        _ => Err(Failure::permanent(format!(
            "GitHub refused the release ({status}: {})",
            message()
        ))),
    }
}

/// Checks the token reaches the repository's releases (nothing is written).
pub async fn reach(http: &Http, repo: &Repo) -> Result<String, Failure> {
    let mut url = repo.url("")?;
    url.set_query(Some("per_page=1"));
    let request = http.get(&url).map_err(|r| Failure::broken(r.0))?;
    let response = repo
        .headers(request)
        .send()
        .await
        .map_err(|e| failure(e, true))?;
    answer(response).await?;
    Ok(format!(
        "the token can read {}/{}'s releases; approved release notes are written there",
        repo.owner, repo.name
    ))
}

impl Platform for Repo {
    // The release is looked up by its tag before it is made: a repeat edits the one the
    // first attempt made, to the same text.
    const RECOVERY: Recovery = Recovery::Replay;
    const REPLAY_NOTE: &'static str = "written again after Covalynce stopped mid-send: the release was looked up by its tag first, so there is one";

    fn open(
        config: &ChannelConfig,
        secrets: &ChannelSecrets,
        _: &Opening<'_>,
    ) -> Result<Self, String> {
        let (ChannelSettings::GithubRelease(g), ChannelSecrets::GithubRelease(s)) =
            (&config.settings, secrets)
        else {
            return Err(mismatch(config, secrets));
        };
        let (owner, name) = g.repo.split_once('/').ok_or_else(|| {
            format!(
                "the github_release channel's repo {:?} is not owner/name",
                g.repo
            )
        })?;
        Ok(Repo {
            api: crate::platform::url(config.kind(), &g.api_base, "api_base")?,
            owner: owner.to_owned(),
            name: name.to_owned(),
            token: s.token.clone(),
            draft: g.draft,
        })
    }

    async fn publish(&self, http: &Http, post: &Post<'_>) -> Result<Sent, Failure> {
        publish(http, self, post).await
    }

    async fn test(&self, http: &Http, _: &str) -> Result<String, Failure> {
        reach(http, self).await
    }

    /// The notes, not a post.
    fn preview(_: &ChannelSettings, card: &Draft<'_>) -> Result<Preview, String> {
        check(card.release_notes, card.version)?;
        Ok(Preview::release_notes(card))
    }
}
