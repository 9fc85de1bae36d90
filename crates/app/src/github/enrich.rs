//! What a GitHub source's event lacks that the API can tell, added before drafting: a
//! pushed range's commits with their symbol and credential analysis (from the compare's
//! patches), a release's commits since the previous release with the project's name and
//! house style. Compares and a commit's pull requests are cached (`github_cache`).

use super::{Api, GithubError, project};
use covalynce_domain::facts::{CommitFacts, PersonFacts, ProjectContext, Range};
use covalynce_domain::{RepoSlug, Work};
use covalynce_storage::{Source, Store};
use serde_json::Value;

pub(super) fn full_sha(s: &str) -> bool {
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
            Ok(mut style) => {
                // Of what earlier notes announced, the event keeps what this range brings.
                let subjects: Vec<String> = compared["commits"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["commit"]["message"].as_str())
                    .map(|m| m.lines().next().unwrap_or_default().to_owned())
                    .collect();
                style.announced = covalynce_understanding::announced_of(
                    &style.announced,
                    subjects.iter().map(String::as_str),
                );
                project.house_style = Some(style);
            }
            Err(e) => tracing::info!(%repo, error = %e, "no house style for the release"),
        }
    }
}

/// GitHub lists at most 300 files in a compare: at that count the list may be partial.
pub(super) fn files_truncated(compared: &Value) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
