//! What an event says about the work, as one type per kind of event.
//!
//! Sources write these (GitHub's classifier and poller, the local git watcher, Jira, the
//! events API), enrichment adds to them (a compare's analysis, a release's house style),
//! storage keeps them as JSON and parses them back on read, and drafting, the CI gate and
//! the AI layer read them. The JSON is the shape every earlier release stored (one flat
//! object per event, the event's kind in its own column), so stored events read unchanged;
//! a stored value of the wrong type is an error, never a silent default.
//!
//! Two parts of it are hints rather than facts: a commit's analysed `symbols` and a
//! release's learned `house_style`. Their shapes have grown over releases; one that no
//! longer parses reads as "not known" (the drafter then relearns or does without) rather
//! than making the whole event unreadable.

use crate::EventKind;
use crate::change::HouseStyle;
use crate::symbol::SymbolChange;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Everything an event records: what the project is (shared by every kind) and what
/// happened (one shape per kind).
#[derive(Clone, Debug, PartialEq)]
pub struct EventFacts {
    pub project: ProjectContext,
    pub work: Work,
}

/// What happened, per kind of event.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    Push(PushFacts),
    Tag(TagFacts),
    Release(ReleaseFacts),
    PullRequest(PullRequestFacts),
    CiRun(CiRunFacts),
    /// A finished issue, a deploy or a change another tool reported.
    Item(WorkItemFacts),
}

/// A stored event whose facts do not read as its kind's. Names the kind and serde's reason
/// (a field and a type), never a value.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("the facts of a {kind} event do not read: {reason}")]
pub struct BadFacts {
    pub kind: &'static str,
    pub reason: String,
}

/// What drafting needs to know about the project, beyond the work itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectContext {
    /// The project's own name, from its manifest or README (not the repository slug).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// Hashtags from the project's language and topics.
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hashtags: Vec<String>,
    /// How the project's notes select and cite, learned at the previous release.
    #[serde(
        default,
        deserialize_with = "hint",
        skip_serializing_if = "Option::is_none"
    )]
    pub house_style: Option<HouseStyle>,
    /// A private repository: its name must not appear in public posts.
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "is_false"
    )]
    pub repo_private: bool,
    /// Read from a local clone (`covalynce watch`, `serve --demo`).
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "is_false"
    )]
    pub local: bool,
}

/// Someone named in a commit, as GitHub's webhook and the local watcher write them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PersonFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The forge login, when the source knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// One commit of a push, a tag or a release.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CommitFacts {
    #[serde(default, deserialize_with = "or_default")]
    pub id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub message: String,
    /// RFC 3339, as GitHub sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<PersonFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committer: Option<PersonFacts>,
    /// A webhook's file lists; the local watcher and a compare write `files`.
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub added: Vec<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub removed: Vec<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub modified: Vec<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "is_false"
    )]
    pub is_merge: bool,
    /// The public surface the commit changed, when the source could diff it.
    #[serde(
        default,
        deserialize_with = "hint",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub symbols: Vec<SymbolChange>,
    /// The pull request merge commit that brought it in, when the range holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// Kinds of credentials found in the lines it added (never the lines).
    #[serde(
        default,
        deserialize_with = "hint",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub diff_secrets: Vec<String>,
}

impl CommitFacts {
    /// Every path the commit touched, whichever lists the source wrote.
    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.added
            .iter()
            .chain(&self.removed)
            .chain(&self.modified)
            .chain(&self.files)
    }
}

/// Commits pushed to a branch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PushFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// The full ref (`refs/heads/main`), as early releases stored it instead of `branch`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pusher: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub commits: Vec<CommitFacts>,
    /// Read from GitHub's events feed (the poller), which already brought the compare.
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "is_false"
    )]
    pub polled: bool,
    /// GitHub's compare stops at 300 files: the analysis saw only part of the push.
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "is_false"
    )]
    pub files_truncated: bool,
    /// The pull request behind the head commit, when the poller asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRef>,
}

impl PushFacts {
    /// The branch it landed on: a local source and a webhook name it; early events kept
    /// only the ref.
    pub fn branch(&self) -> Option<&str> {
        self.branch
            .as_deref()
            .or_else(|| self.git_ref.as_deref()?.strip_prefix("refs/heads/"))
    }
}

/// A pull request named by a push.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PullRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A tag: created on GitHub (no commits) or found by the local watcher (with its commits
/// since the previous tag).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TagFacts {
    #[serde(default, deserialize_with = "or_default")]
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub commits: Vec<CommitFacts>,
}

/// The two ends of a release's range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub from: String,
    pub to: String,
}

/// A published release (GitHub's, or another tool's through the events API).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The release's own notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prerelease: Option<bool>,
    /// Usually a branch; a commit id only sometimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_commitish: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    /// The commits since the previous release, once enrichment read its compare; `None`
    /// until it tried (an empty range is `Some` and empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Vec<CommitFacts>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_url: Option<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "is_false"
    )]
    pub files_truncated: bool,
}

/// A merged pull request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PullRequestFacts {
    #[serde(default, deserialize_with = "or_default")]
    pub number: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_commit_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additions: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletions: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_files: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
}

/// A run's id: GitHub numbers its runs and suites; another tool's run is named by the
/// idempotency key it sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunId {
    Number(i64),
    Key(String),
}

/// A finished CI run (a GitHub workflow run, another app's check suite, or another tool's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CiRunFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<RunId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// The commit it built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_branch: Option<String>,
    /// What started it (`push`, `pull_request`, `check_suite`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub pull_requests: Vec<i64>,
}

/// A finished issue (Jira or another tracker), a deploy or another tool's change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkItemFacts {
    /// The tracker's key (`ROCK-42`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Bug, Story, …: says what kind of change it is when the wording does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    /// The tracker's project key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_status: Option<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub fix_versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(
        default,
        deserialize_with = "or_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub issues: Vec<String>,
}

impl Work {
    /// Whether these facts can be an event of `kind`.
    pub fn fits(&self, kind: EventKind) -> bool {
        matches!(
            (self, kind),
            (Work::Push(_), EventKind::Push)
                | (Work::Tag(_), EventKind::Tag)
                | (Work::Release(_), EventKind::Release)
                | (Work::PullRequest(_), EventKind::PullRequestMerged)
                | (Work::CiRun(_), EventKind::CiRun)
                | (
                    Work::Item(_),
                    EventKind::IssueDone | EventKind::Deploy | EventKind::Change
                )
        )
    }
}

impl EventFacts {
    pub fn new(work: Work) -> Self {
        Self {
            project: ProjectContext::default(),
            work,
        }
    }

    /// The facts of a stored event of `kind`.
    pub fn parse(kind: EventKind, value: &Value) -> Result<Self, BadFacts> {
        let bad = |e: serde_json::Error| BadFacts {
            kind: kind.as_str(),
            reason: without_values(&e.to_string()),
        };
        // Events stored without facts (none that a release wrote, but a row may say
        // `null`) read as an empty object: every field is optional.
        let empty = Value::Object(Map::new());
        let value = if value.is_null() { &empty } else { value };
        if !value.is_object() {
            return Err(BadFacts {
                kind: kind.as_str(),
                reason: "not a JSON object".into(),
            });
        }
        fn read<T: DeserializeOwned>(v: &Value) -> Result<T, serde_json::Error> {
            T::deserialize(v)
        }
        let work = match kind {
            EventKind::Push => Work::Push(read(value).map_err(bad)?),
            EventKind::Tag => Work::Tag(read(value).map_err(bad)?),
            EventKind::Release => Work::Release(read(value).map_err(bad)?),
            EventKind::PullRequestMerged => Work::PullRequest(read(value).map_err(bad)?),
            EventKind::CiRun => Work::CiRun(read(value).map_err(bad)?),
            EventKind::IssueDone | EventKind::Deploy | EventKind::Change => {
                Work::Item(read(value).map_err(bad)?)
            }
        };
        Ok(Self {
            project: read(value).map_err(bad)?,
            work,
        })
    }

    /// The stored shape: one flat object.
    pub fn to_value(&self) -> Value {
        let work = match &self.work {
            Work::Push(f) => serde_json::to_value(f),
            Work::Tag(f) => serde_json::to_value(f),
            Work::Release(f) => serde_json::to_value(f),
            Work::PullRequest(f) => serde_json::to_value(f),
            Work::CiRun(f) => serde_json::to_value(f),
            Work::Item(f) => serde_json::to_value(f),
        };
        // Plain structs of strings, numbers and lists always serialize.
        let mut out = match work {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if let Ok(Value::Object(m)) = serde_json::to_value(&self.project) {
            out.extend(m);
        }
        Value::Object(out)
    }

    /// The commits the event carries (none for a PR, a CI run or a work item).
    pub fn commits(&self) -> &[CommitFacts] {
        match &self.work {
            Work::Push(p) => &p.commits,
            Work::Tag(t) => &t.commits,
            Work::Release(r) => r.commits.as_deref().unwrap_or_default(),
            _ => &[],
        }
    }

    pub fn commits_mut(&mut self) -> Option<&mut Vec<CommitFacts>> {
        match &mut self.work {
            Work::Push(p) => Some(&mut p.commits),
            Work::Tag(t) => Some(&mut t.commits),
            Work::Release(r) => r.commits.as_mut(),
            _ => None,
        }
    }

    /// The link for the work itself: the release or item page, else the compare view,
    /// else the repository — the first that is an http(s) URL.
    pub fn link(&self) -> Option<&str> {
        self.links()
            .into_iter()
            .find(|u| u.starts_with("https://") || u.starts_with("http://"))
    }

    /// Every link the event names, in that order (the AI layer may use any of them).
    pub fn links(&self) -> Vec<&str> {
        let (url, compare, repo) = match &self.work {
            Work::Push(p) => (None, p.compare_url.as_deref(), p.repo_url.as_deref()),
            Work::Tag(t) => (t.url.as_deref(), None, t.repo_url.as_deref()),
            Work::Release(r) => (
                r.url.as_deref(),
                r.compare_url.as_deref(),
                r.repo_url.as_deref(),
            ),
            Work::PullRequest(p) => (p.url.as_deref(), None, p.repo_url.as_deref()),
            Work::CiRun(c) => (c.url.as_deref(), None, None),
            Work::Item(i) => (i.url.as_deref(), None, None),
        };
        [url, compare, repo].into_iter().flatten().collect()
    }

    /// The commit the work is, when the event names one by its full id: what a CI run
    /// must have built for the work to be green.
    pub fn commit(&self) -> Option<&str> {
        let sha = match &self.work {
            Work::Push(p) => p.after.as_deref(),
            Work::Tag(t) => t.sha.as_deref(),
            Work::PullRequest(p) => p.merge_commit_sha.as_deref(),
            Work::Release(r) => r.sha.as_deref().or(r.target_commitish.as_deref()),
            Work::Item(i) => i.sha.as_deref(),
            Work::CiRun(c) => c.head_sha.as_deref(),
        }?;
        // `target_commitish` is usually a branch name; only a full commit id pins a build.
        (sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then_some(sha)
    }

    /// The tag a release or tag event is about, as written; `None` for other work.
    pub fn version(&self) -> Option<&str> {
        match &self.work {
            Work::Tag(t) => Some(t.tag.as_str()),
            Work::Release(r) => r.tag.as_deref(),
            _ => None,
        }
        .filter(|t| !t.is_empty())
    }

    /// The release's own page (GitHub's), when the event names one.
    pub fn release_page(&self) -> Option<&str> {
        match &self.work {
            Work::Tag(t) => t.url.as_deref(),
            Work::Release(r) => r.url.as_deref(),
            _ => None,
        }
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    }

    /// How a person refers to the work: its tag, its pull request number, or the short
    /// id of its commit.
    pub fn reference(&self) -> Option<String> {
        let short = |s: &str| s.chars().take(7).collect::<String>();
        match &self.work {
            Work::Tag(t) if !t.tag.is_empty() => Some(t.tag.clone()),
            Work::Tag(t) => t.sha.as_deref().map(short),
            Work::Release(r) => r
                .tag
                .clone()
                .filter(|t| !t.is_empty())
                .or_else(|| r.sha.as_deref().map(short)),
            // A pull request stored without its number (a source that did not send one)
            // is named by its merge commit, never "#0".
            Work::PullRequest(p) if p.number > 0 => Some(format!("#{}", p.number)),
            Work::PullRequest(p) => p.merge_commit_sha.as_deref().map(short),
            Work::Push(p) => p.after.as_deref().map(short),
            Work::CiRun(c) => c.head_sha.as_deref().map(short),
            Work::Item(i) => i.sha.as_deref().map(short),
        }
    }
}

impl Serialize for EventFacts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(s)
    }
}

/// serde's "invalid type: string \"…\", expected a sequence" without the value, which
/// may be anything a source sent.
fn without_values(message: &str) -> String {
    match (message.split_once(':'), message.rsplit_once(", expected ")) {
        (Some((what, _)), Some((_, expected))) => format!("{what}, expected {expected}"),
        _ => "a field does not read".into(),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A field a source may send as `null`: the type's empty value.
fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A hint (see the module's note): one that does not parse is not known.
fn hint<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Shapes earlier releases stored, one per source, as they wrote them (nulls included).
    fn stored() -> Vec<(EventKind, Value)> {
        vec![
            (
                EventKind::Push,
                json!({"branch": "main", "before": "a".repeat(40), "after": "b".repeat(40),
                    "forced": false, "compare_url": "https://github.com/o/r/compare/a...b",
                    "repo_url": "https://github.com/o/r", "pusher": "octo", "repo_private": true,
                    "commits": [{"id": "b".repeat(40), "message": "feat: x", "timestamp": "2026-11-01T10:00:00Z",
                        "url": null, "author": {"name": "Ann", "email": "a@x", "username": "ann"},
                        "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
                        "added": ["a.rs"], "removed": [], "modified": ["b.rs"]}],
                    "polled": true, "files_truncated": true,
                    "pull_request": {"number": 7, "title": "X", "url": "https://github.com/o/r/pull/7"}}),
            ),
            (
                EventKind::Push,
                json!({"branch": "master", "before": null, "after": "c".repeat(40), "compare_url": null,
                    "repo_url": null, "local": true, "project_name": "ripgrep", "hashtags": ["rust"],
                    "commits": [{"id": "c".repeat(40), "message": "fix: y", "timestamp": null,
                        "author": {"name": "Bo", "email": "b@x", "username": null}, "files": ["src/a.rs"],
                        "is_merge": false, "symbols": [{"kind": "function", "name": "run", "change": "added"}],
                        "part_of": null, "diff_secrets": []}]}),
            ),
            (
                EventKind::Tag,
                json!({"tag": "v1.2.0", "sha": "d".repeat(40), "url": "https://github.com/o/r/releases/tag/v1.2.0",
                    "commits": [], "local": true, "project_name": "r", "hashtags": [],
                    "house_style": {"cites_prs": true, "cites_issues": false, "lists": ["feature", "fix"],
                        "lists_upkeep": [], "learned_from": 3}}),
            ),
            (
                EventKind::Tag,
                json!({"tag": "v1.2.0", "sha": null, "description": null, "repo_url": "https://github.com/o/r"}),
            ),
            (
                EventKind::Release,
                json!({"release_id": 99, "tag": "v2.0.0", "name": null, "body": "- feat: a", "prerelease": false,
                    "target_commitish": "main", "url": "https://github.com/o/r/releases/tag/v2.0.0",
                    "author": "ann", "repo_url": "https://github.com/o/r", "commits": [],
                    "range": {"from": "v1.0.0", "to": "v2.0.0"}, "compare_url": "https://github.com/o/r/compare/v1.0.0...v2.0.0"}),
            ),
            (
                EventKind::PullRequestMerged,
                json!({"number": 12, "title": "Add export", "body": null, "labels": ["enhancement"],
                    "author": "ann", "merged_by": "bo", "merge_commit_sha": "e".repeat(40), "base": "main",
                    "head": "export", "url": "https://github.com/o/r/pull/12", "additions": 10,
                    "deletions": 2, "changed_files": 3, "repo_url": "https://github.com/o/r"}),
            ),
            (
                EventKind::CiRun,
                json!({"run_id": 5, "attempt": 2, "workflow": "CI", "conclusion": "success",
                    "head_sha": "f".repeat(40), "head_branch": "main", "event": "push",
                    "url": "https://github.com/o/r/actions/runs/5", "pull_requests": [3]}),
            ),
            (
                EventKind::CiRun,
                json!({"workflow": "Deploy checks", "conclusion": "failure", "head_sha": "f".repeat(40),
                    "head_branch": null, "url": null, "run_id": "deploy-42"}),
            ),
            (
                EventKind::IssueDone,
                json!({"key": "ROCK-42", "summary": "Export", "body": "", "url": "https://acme.atlassian.net/browse/ROCK-42",
                    "issue_type": "Story", "project": "ROCK", "project_name": "Rocket", "status": "Done",
                    "from_status": "In Progress", "fix_versions": ["2.4.0"], "resolution": null,
                    "author": "Grace Hopper", "site": "acme.atlassian.net"}),
            ),
            (
                EventKind::Deploy,
                json!({"summary": "Deploy 2.4", "body": "", "url": null, "version": "2.4.0", "sha": null,
                    "branch": "main", "issues": ["ROCK-42"], "author": null}),
            ),
        ]
    }

    fn stripped(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(_, v)| {
                        !(v.is_null()
                            || **v == Value::Bool(false)
                            || v.as_array().is_some_and(|a| a.is_empty()))
                    })
                    .map(|(k, v)| (k.clone(), stripped(v)))
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(stripped).collect()),
            v => v.clone(),
        }
    }

    #[test]
    fn every_shape_earlier_releases_stored_reads_and_writes_back_without_losing_a_fact() {
        for (kind, value) in stored() {
            let facts = EventFacts::parse(kind, &value).unwrap_or_else(|e| panic!("{e}"));
            assert!(facts.work.fits(kind), "{kind:?}");
            let written = facts.to_value();
            // Every fact stored comes back the same; only nulls, empty lists and false
            // flags are left out.
            assert_eq!(stripped(&written), stripped(&value), "{kind:?}");
            assert_eq!(EventFacts::parse(kind, &written).unwrap(), facts);
        }
    }

    #[test]
    fn a_stored_value_of_the_wrong_type_is_refused_by_name_never_defaulted() {
        let err = EventFacts::parse(
            EventKind::Push,
            &json!({"commits": "ghp_secret, expected", "after": "x"}),
        )
        .unwrap_err();
        assert_eq!(err.kind, "push");
        assert!(err.reason.contains("invalid type"), "{err}");
        assert!(!err.to_string().contains("ghp_secret"), "{err}");
        assert!(EventFacts::parse(EventKind::CiRun, &json!([1, 2])).is_err());
        assert!(
            EventFacts::parse(EventKind::PullRequestMerged, &json!({"number": "twelve"})).is_err()
        );
    }

    #[test]
    fn an_analysis_or_style_of_an_older_shape_reads_as_not_known() {
        let facts = EventFacts::parse(
            EventKind::Tag,
            &json!({"tag": "v1", "house_style": {"cites": "prs"},
                "commits": [{"id": "a", "message": "m", "symbols": [{"old": "shape"}]}]}),
        )
        .unwrap();
        assert_eq!(facts.project.house_style, None);
        assert!(facts.commits()[0].symbols.is_empty());
    }

    #[test]
    fn the_link_commit_and_reference_come_from_the_kinds_own_fields() {
        let facts = |kind, v| EventFacts::parse(kind, &v).unwrap();
        let push = facts(
            EventKind::Push,
            json!({"after": "b".repeat(40), "compare_url": "file:///etc", "repo_url": "https://github.com/o/r"}),
        );
        assert_eq!(push.link(), Some("https://github.com/o/r"));
        assert_eq!(push.commit(), Some("b".repeat(40).as_str()));
        assert_eq!(push.reference().as_deref(), Some("bbbbbbb"));
        let release = facts(
            EventKind::Release,
            json!({"tag": "v2", "target_commitish": "main", "url": "https://x/r"}),
        );
        assert_eq!(release.commit(), None, "a branch name pins no build");
        assert_eq!(release.reference().as_deref(), Some("v2"));
        let pr = facts(EventKind::PullRequestMerged, json!({"number": 12}));
        assert_eq!(pr.reference().as_deref(), Some("#12"));
        let unnumbered = facts(
            EventKind::PullRequestMerged,
            json!({"number": null, "merge_commit_sha": "c".repeat(40)}),
        );
        assert_eq!(unnumbered.reference().as_deref(), Some("ccccccc"));
        let bare = facts(EventKind::PullRequestMerged, json!({}));
        assert_eq!(bare.reference(), None, "never \"#0\"");
        let push = facts(EventKind::Push, json!({"ref": "refs/heads/master"}));
        let Work::Push(p) = &push.work else { panic!() };
        assert_eq!(p.branch(), Some("master"));
    }
}
