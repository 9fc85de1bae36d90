//! What a GitHub repository says about itself, read through the REST API for sources that
//! have no local clone, so a GitHub release is drafted like a local one: the project's own
//! name and hashtags from its manifests and README at the release, and the house style its
//! release notes teach as they stood at the previous release — never what the release
//! itself adds to them (that would be copying the answer).
//!
//! Root listings and files are read by commit id (`GET /repos/{repo}/contents/{path}?ref=SHA`)
//! and cached in `github_cache`: a commit's files never change. Past releases' ranges are
//! compares between the commits their tags point at, cached the same way.

use crate::github::{Api, GithubError, compare};
use covalynce_domain::{Commit, RepoSlug, WorkspaceId};
use covalynce_storage::Store;
use covalynce_understanding::{
    HouseStyle, PROJECT_FILES, ProjectFacts, learn_house_style, note_sections, project_facts,
    understand,
};
use serde_json::Value;

/// Files larger than this are not read (a notes file of a decade is still far smaller).
const MAX_FILE: u64 = 512 * 1024;

/// The root entries (name, size) of the tree at commit `sha`.
async fn root(
    store: &dyn Store,
    api: &Api,
    ws: WorkspaceId,
    repo: &RepoSlug,
    sha: &str,
) -> Result<Vec<(String, u64)>, GithubError> {
    let listing = cached(store, api, ws, &format!("/repos/{repo}/contents?ref={sha}")).await?;
    Ok(listing
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == "file")
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["size"].as_u64()?)))
        .collect())
}

/// A text file at commit `sha` (`None` when it is not text or too large).
async fn file(
    store: &dyn Store,
    api: &Api,
    ws: WorkspaceId,
    repo: &RepoSlug,
    sha: &str,
    name: &str,
) -> Result<Option<String>, GithubError> {
    use base64::Engine as _;
    let v = cached(
        store,
        api,
        ws,
        &format!("/repos/{repo}/contents/{name}?ref={sha}"),
    )
    .await?;
    if v["encoding"] != "base64" {
        return Ok(None);
    }
    // GitHub wraps the base64 at 60 columns.
    let packed: String = v["content"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    Ok(base64::engine::general_purpose::STANDARD
        .decode(packed)
        .ok()
        .and_then(|b| String::from_utf8(b).ok()))
}

/// A GET whose answer never changes (its path names a commit id), from the cache when
/// asked before.
async fn cached(
    store: &dyn Store,
    api: &Api,
    ws: WorkspaceId,
    path: &str,
) -> Result<Value, GithubError> {
    let key = format!("get:{path}");
    if let Ok(Some(hit)) = store.github_cache_get(ws, &key).await
        && let Ok(v) = serde_json::from_slice(&hit)
    {
        return Ok(v);
    }
    let v = api.get(path).await?;
    let _ = store
        .github_cache_put(ws, &key, &serde_json::to_vec(&v).unwrap_or_default())
        .await;
    Ok(v)
}

/// The project's name and hashtags from its root files at commit `sha`.
pub async fn project(
    store: &dyn Store,
    api: &Api,
    ws: WorkspaceId,
    repo: &RepoSlug,
    sha: &str,
) -> Result<ProjectFacts, GithubError> {
    let mut files = Vec::new();
    for (name, size) in root(store, api, ws, repo, sha).await? {
        let wanted = PROJECT_FILES.contains(&name.as_str()) || name.ends_with(".gemspec");
        if wanted
            && size <= MAX_FILE
            && let Some(text) = file(store, api, ws, repo, sha, &name).await?
        {
            files.push((name, text));
        }
    }
    Ok(project_facts(&files))
}

/// `1.2.3` / `v1.2.3` → `[1, 2, 3]`, for ordering releases without their dates.
pub(crate) fn version_key(version: &str) -> Vec<u64> {
    version
        .trim_start_matches(['v', 'V'])
        .split(['.', '-', '+'])
        .map_while(|p| p.parse().ok())
        .collect()
}

/// How the project's release notes select and cite, learned from up to three past
/// releases in its notes file at `previous_sha` (the previous release's commit, named
/// `previous`): each compared with the commits between its tag and the tag of the release
/// the notes list before it. The defaults without notes or matching tags.
pub async fn house_style(
    store: &dyn Store,
    api: &Api,
    ws: WorkspaceId,
    repo: &RepoSlug,
    previous: &str,
    previous_sha: &str,
) -> Result<HouseStyle, GithubError> {
    let mut candidates: Vec<(usize, String, u64)> = root(store, api, ws, repo, previous_sha)
        .await?
        .into_iter()
        .filter_map(|(name, size)| {
            covalynce_sources::git::notes_file_rank(&name).map(|rank| (rank, name, size))
        })
        .filter(|(_, _, size)| *size <= MAX_FILE)
        .collect();
    candidates.sort();
    let Some((_, name, _)) = candidates.into_iter().next() else {
        return Ok(HouseStyle::default());
    };
    let Some(notes) = file(store, api, ws, repo, previous_sha, &name).await? else {
        return Ok(HouseStyle::default());
    };
    let tags = api.tags(repo).await?;
    let tag_of = |version: &str| {
        [format!("v{version}"), version.to_owned()]
            .into_iter()
            .find_map(|t| tags.get(&t).map(|sha| (t, sha.clone())))
    };
    // Only releases made by then: a notes file may already name the next release.
    let by_then = version_key(previous);
    let mut sections: Vec<(Vec<u64>, String, String)> = note_sections(&notes)
        .into_iter()
        .take(16)
        .filter(|(version, _)| {
            let key = version_key(version);
            !key.is_empty() && key <= by_then
        })
        .filter_map(|(version, section)| {
            tag_of(&version).map(|(_, sha)| (version_key(&version), sha, section))
        })
        .collect();
    sections.sort_by(|a, b| b.0.cmp(&a.0));
    let mut past = Vec::new();
    for pair in sections.windows(2).take(crate::drafting::PAST_TRIED) {
        let ((_, sha, section), (_, before, _)) = (&pair[0], &pair[1]);
        // Notes that cite nothing teach nothing: no request spent on them.
        if covalynce_understanding::section_refs(section).is_empty() {
            continue;
        }
        let compared = match compare(store, api, ws, repo, before, sha).await {
            Ok(c) => c,
            Err(GithubError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let commits = messages(&compared);
        if commits.is_empty() {
            continue;
        }
        let changes = understand(&commits);
        if covalynce_understanding::teaches_style(&changes, section) {
            past.push((changes, section.clone()));
        }
        if past.len() == crate::drafting::PAST_LEARNED {
            break;
        }
    }
    // Announced: what releases tagged by then cite.
    let released = |version: &str| {
        let key = version_key(version);
        !key.is_empty() && key <= by_then && tag_of(version).is_some()
    };
    Ok(HouseStyle {
        announced: covalynce_understanding::announced_refs(&notes, released),
        ..learn_house_style(&past)
    })
}

/// A compare's commits with what learning a style needs: messages and authors (no diff
/// analysis: a past release's files teach nothing about how its notes read).
fn messages(compared: &Value) -> Vec<Commit> {
    compared["commits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            Commit {
                id: s(&c["sha"]),
                message: s(&c["commit"]["message"]),
                author_name: s(&c["commit"]["author"]["name"]),
                author_email: s(&c["commit"]["author"]["email"]),
                author_login: c["author"]["login"].as_str().map(str::to_owned),
                is_merge: c["parents"].as_array().is_some_and(|p| p.len() > 1),
                ..Commit::default()
            }
        })
        .collect()
}
