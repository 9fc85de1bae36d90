//! GitHub webhook deliveries: signature verification and normalization into events.
//!
//! Contract (GitHub docs, "Validating webhook deliveries" and "Webhook events and payloads"):
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`, compared in constant
//! time; `X-GitHub-Event` names the event and the payload's `action` the sub-kind.

use covalynce_domain::facts::{
    CiRunFacts, CommitFacts, PersonFacts, PullRequestFacts, PushFacts, ReleaseFacts, RunId,
    TagFacts,
};
use covalynce_domain::time::parse_rfc3339_millis;
use covalynce_domain::{EventFacts, EventKind, NewEvent, RepoSlug, Work};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// GitHub refuses to deliver payloads over 25 MB; neither do we accept them.
pub const MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;

/// What was wrong with a `sha256=<hex>` signature header; carries the header's name
/// (GitHub's `X-Hub-Signature-256`, Jira's `X-Hub-Signature`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {0} header must be \"sha256=\" followed by 64 hex digits")]
    Malformed(&'static str),
    #[error("the {0} signature does not match this source's secret")]
    Mismatch(&'static str),
}

/// Checks GitHub's `X-Hub-Signature-256` over the raw body bytes.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    verify_hub_signature("X-Hub-Signature-256", secret, body, header)
}

/// The WebSub-style `sha256=<hex HMAC-SHA256(secret, raw body)>` check, in constant time.
pub fn verify_hub_signature(
    name: &'static str,
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let mut signer = HubSigner::new(secret);
    signer.update(body);
    signer.verify(name, header)
}

/// The same check computed while the body streams in, chunk by chunk, so a server never
/// has to hold an unsigned body to learn that it is unsigned.
pub struct HubSigner(hmac::Hmac<Sha256>);

impl HubSigner {
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        Self(
            <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret)
                .expect("HMAC takes keys of any size"),
        )
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.0.update(chunk);
    }

    /// Whether `header` (named `name`) signs everything given to [`HubSigner::update`].
    pub fn verify(self, name: &'static str, header: Option<&str>) -> Result<(), SignatureError> {
        let header = header.ok_or(SignatureError::Missing(name))?;
        let hex_sig = header
            .trim()
            .strip_prefix("sha256=")
            .ok_or(SignatureError::Malformed(name))?;
        let given = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed(name))?;
        if given.len() != 32 {
            return Err(SignatureError::Malformed(name));
        }
        let expected: [u8; 32] = self.0.finalize().into_bytes().into();
        if bool::from(expected.as_slice().ct_eq(&given)) {
            Ok(())
        } else {
            Err(SignatureError::Mismatch(name))
        }
    }
}

/// The header value GitHub would send for `body` signed with `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac_sha256(secret, body)))
}

fn hmac_sha256(secret: &[u8], body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(secret)
        .expect("HMAC takes keys of any size");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// What a verified delivery means for the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Classified {
    /// GitHub's "hello" when a webhook is created: answered, not an event.
    Ping { zen: Option<String> },
    /// Shipped work.
    Events(Vec<NewEvent>),
    /// Valid but not something we announce; the reason goes back to GitHub's delivery log.
    Ignored(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    #[error("the {event} payload does not have the shape GitHub sends: {detail}")]
    Shape { event: String, detail: String },
}

/// Turns a delivery into events, given its `X-GitHub-Event` name and raw JSON body.
/// `expected_repo` is the repository the source was created for: deliveries about other
/// repositories (an organisation hook pointed at a repository source) are ignored.
///
/// Payloads are read into typed structs that name only the fields we use: serde skips the
/// rest without building them, which keeps ingest cheap (a push payload is ~8 KB).
pub fn classify(
    event_name: &str,
    body: &[u8],
    expected_repo: Option<&RepoSlug>,
) -> Result<Classified, PayloadError> {
    const WATCHED: [&str; 6] = [
        "push",
        "create",
        "release",
        "pull_request",
        "workflow_run",
        "check_suite",
    ];
    if event_name == "ping" {
        let ping: Ping = parse(event_name, body)?;
        return Ok(Classified::Ping { zen: ping.zen });
    }
    if !WATCHED.contains(&event_name) {
        // Still refuse what is not JSON: a sender that gets that wrong should hear it.
        let _: Object = parse(event_name, body)?;
        return Ok(Classified::Ignored(format!(
            "{event_name:?} events are not watched (watched: {})",
            WATCHED.join(", ")
        )));
    }
    let payload: Payload = parse(event_name, body)?;
    let repo = Repo::from_payload(event_name, &payload.repository)?;
    if let Some(expected) = expected_repo
        && !expected.same_repo(&repo.slug)
    {
        return Ok(Classified::Ignored(format!(
            "the delivery is about {}, but this source watches {}",
            repo.slug, expected
        )));
    }
    dispatch(event_name, payload, &repo)
}

/// One payload of a watched event (a webhook's, or one the REST API listed), by the rules
/// of its event.
fn dispatch(event_name: &str, payload: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let classified = match event_name {
        "push" => push(payload, repo),
        "create" => create(payload, repo),
        "release" => release(payload, repo),
        "pull_request" => pull_request(payload, repo),
        "workflow_run" => workflow_run(payload, repo),
        "check_suite" => check_suite(payload, repo),
        other => {
            return Ok(Classified::Ignored(format!(
                "{other:?} events are not watched"
            )));
        }
    }?;
    // Drafts must know when they would name a private repository.
    Ok(match classified {
        Classified::Events(mut events) => {
            for e in &mut events {
                e.facts.project.repo_private = repo.private;
            }
            Classified::Events(events)
        }
        other => other,
    })
}

fn parse<T: serde::de::DeserializeOwned>(event: &str, body: &[u8]) -> Result<T, PayloadError> {
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => PayloadError::Shape {
            event: event.to_owned(),
            detail: e.to_string(),
        },
        _ => PayloadError::NotJson(e.to_string()),
    })
}

/// Any JSON object, contents unread.
#[derive(Deserialize)]
struct Object {}

#[derive(Deserialize)]
struct Ping {
    zen: Option<String>,
}

/// The fields we read from any watched event; each event fills its own.
#[derive(Deserialize, Default)]
struct Payload {
    repository: Option<RepositoryPayload>,
    action: Option<String>,
    // push
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    before: Option<String>,
    after: Option<String>,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    forced: bool,
    compare: Option<String>,
    #[serde(default)]
    commits: Vec<CommitFacts>,
    head_commit: Option<CommitFacts>,
    pusher: Option<PersonFacts>,
    // create
    ref_type: Option<String>,
    description: Option<String>,
    // release, pull_request, workflow_run
    release: Option<ReleasePayload>,
    pull_request: Option<PullRequestPayload>,
    number: Option<i64>,
    workflow_run: Option<WorkflowRunPayload>,
    /// The workflow a `workflow_run` belongs to: its name is here even when
    /// `workflow_run.name` is empty (GitHub sends both; either may be blank).
    workflow: Option<WorkflowPayload>,
    check_suite: Option<CheckSuitePayload>,
}

#[derive(Deserialize)]
struct WorkflowPayload {
    name: Option<String>,
}

#[derive(Deserialize)]
struct RepositoryPayload {
    full_name: Option<String>,
    #[serde(default)]
    private: bool,
    default_branch: Option<String>,
    master_branch: Option<String>,
    html_url: Option<String>,
}

#[derive(Deserialize)]
struct Login {
    login: Option<String>,
}

#[derive(Deserialize)]
struct ReleasePayload {
    id: Option<i64>,
    tag_name: Option<String>,
    name: Option<String>,
    body: Option<String>,
    #[serde(default)]
    prerelease: bool,
    target_commitish: Option<String>,
    html_url: Option<String>,
    published_at: Option<String>,
    author: Option<Login>,
}

#[derive(Deserialize)]
struct Label {
    name: Option<String>,
}

#[derive(Deserialize)]
struct BranchRef {
    #[serde(rename = "ref")]
    git_ref: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    number: Option<i64>,
    title: Option<String>,
    body: Option<String>,
    #[serde(default)]
    merged: Option<bool>,
    merged_at: Option<String>,
    merge_commit_sha: Option<String>,
    html_url: Option<String>,
    #[serde(default)]
    labels: Vec<Label>,
    user: Option<Login>,
    merged_by: Option<Login>,
    base: Option<BranchRef>,
    head: Option<BranchRef>,
    additions: Option<i64>,
    deletions: Option<i64>,
    changed_files: Option<i64>,
}

#[derive(Deserialize)]
struct PrNumber {
    number: Option<i64>,
}

#[derive(Deserialize)]
struct WorkflowRunPayload {
    id: Option<i64>,
    run_attempt: Option<i64>,
    name: Option<String>,
    conclusion: Option<String>,
    head_sha: Option<String>,
    head_branch: Option<String>,
    event: Option<String>,
    html_url: Option<String>,
    updated_at: Option<String>,
    #[serde(default)]
    pull_requests: Vec<PrNumber>,
}

/// A check suite: what CI apps other than GitHub Actions (and Actions itself) report.
#[derive(Deserialize)]
struct CheckSuitePayload {
    id: Option<i64>,
    conclusion: Option<String>,
    head_sha: Option<String>,
    head_branch: Option<String>,
    updated_at: Option<String>,
    app: Option<CheckApp>,
    #[serde(default)]
    pull_requests: Vec<PrNumber>,
}

#[derive(Deserialize)]
struct CheckApp {
    name: Option<String>,
    slug: Option<String>,
}

/// The repository an event is about, as GitHub describes it: a webhook's `repository`, or
/// what a polling source recorded when it was connected.
#[derive(Clone, Debug, PartialEq)]
pub struct Repo {
    pub slug: RepoSlug,
    /// Its name must not appear in public posts.
    pub private: bool,
    /// Only pushes to it are announced.
    pub default_branch: String,
    pub html_url: Option<String>,
}

/// What GitHub's REST API lists for a repository that is polled instead of (or beside)
/// its webhook, classified by the webhook's own rules into the same events (same keys:
/// work seen both ways is stored once). Typed from the API's JSON directly: nothing is
/// rebuilt as a webhook delivery.
pub enum Polled<'a> {
    /// A `PushEvent` of the repository events feed. Its commits are the ones the push's
    /// compare listed, with their analysis (the feed gives neither their files nor, for
    /// large pushes, all of them).
    Push {
        git_ref: &'a str,
        before: &'a str,
        head: &'a str,
        pusher: Option<String>,
        compare_url: String,
        commits: Vec<CommitFacts>,
    },
    /// Any other item of the events feed: its `type` (`CreateEvent`, `ReleaseEvent`,
    /// `PullRequestEvent`, …) and its `payload`, which holds what the webhook holds.
    Feed {
        item_type: &'a str,
        payload: &'a serde_json::Value,
    },
    /// One run of `GET /repos/{o}/{r}/actions/runs`.
    WorkflowRun(&'a serde_json::Value),
    /// One suite of `GET /repos/{o}/{r}/commits/{sha}/check-suites`.
    CheckSuite(&'a serde_json::Value),
}

/// The events a polled item stands for, or why it stands for none.
pub fn classify_polled(polled: Polled, repo: &Repo) -> Result<Classified, PayloadError> {
    use serde::de::DeserializeOwned;
    fn typed<T: DeserializeOwned>(event: &str, v: &serde_json::Value) -> Result<T, PayloadError> {
        T::deserialize(v).map_err(|e| PayloadError::Shape {
            event: event.to_owned(),
            detail: e.to_string(),
        })
    }
    let completed = Some("completed".to_owned());
    let (event_name, payload) = match polled {
        Polled::Push {
            git_ref,
            before,
            head,
            pusher,
            compare_url,
            commits,
        } => (
            "push",
            Payload {
                git_ref: Some(git_ref.to_owned()),
                before: Some(before.to_owned()),
                after: Some(head.to_owned()),
                compare: Some(compare_url),
                commits,
                pusher: pusher.map(|login| PersonFacts {
                    name: Some(login),
                    ..PersonFacts::default()
                }),
                ..Payload::default()
            },
        ),
        Polled::Feed { item_type, payload } => {
            let name = match item_type {
                "CreateEvent" => "create",
                "ReleaseEvent" => "release",
                "PullRequestEvent" => "pull_request",
                other => {
                    return Ok(Classified::Ignored(format!(
                        "{other} items of the events feed are not watched"
                    )));
                }
            };
            (name, typed(name, payload)?)
        }
        Polled::WorkflowRun(run) => (
            "workflow_run",
            Payload {
                action: completed,
                workflow_run: Some(typed("workflow_run", run)?),
                ..Payload::default()
            },
        ),
        Polled::CheckSuite(suite) => (
            "check_suite",
            Payload {
                action: completed,
                check_suite: Some(typed("check_suite", suite)?),
                ..Payload::default()
            },
        ),
    };
    dispatch(event_name, payload, repo)
}

fn missing(event: &str, field: &str) -> PayloadError {
    PayloadError::Shape {
        event: event.to_owned(),
        detail: format!("{field} is missing or invalid"),
    }
}

impl Repo {
    fn from_payload(event: &str, r: &Option<RepositoryPayload>) -> Result<Self, PayloadError> {
        let r = r.as_ref().ok_or_else(|| missing(event, "repository"))?;
        let slug = r
            .full_name
            .as_deref()
            .and_then(|n| RepoSlug::parse(n).ok())
            .ok_or_else(|| missing(event, "repository.full_name"))?;
        // Older payloads call it master_branch; both are optional in the schema.
        let default_branch = r
            .default_branch
            .clone()
            .or_else(|| r.master_branch.clone())
            .unwrap_or_else(|| "main".to_owned());
        Ok(Self {
            slug,
            private: r.private,
            default_branch,
            html_url: r.html_url.clone(),
        })
    }
}

fn push(p: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let git_ref = p.git_ref.as_deref().ok_or_else(|| missing("push", "ref"))?;
    let after = p.after.clone().ok_or_else(|| missing("push", "after"))?;
    if let Some(tag) = git_ref.strip_prefix("refs/tags/") {
        if p.deleted {
            return Ok(Classified::Ignored(format!("tag {tag} was deleted")));
        }
        if !p.created {
            return Ok(Classified::Ignored(format!(
                "tag {tag} was moved, not created"
            )));
        }
        return Ok(Classified::Events(vec![tag_event(
            repo,
            tag,
            Some(&after),
            None,
        )]));
    }
    let Some(branch) = git_ref.strip_prefix("refs/heads/") else {
        return Ok(Classified::Ignored(format!(
            "ref {git_ref} is neither a branch nor a tag"
        )));
    };
    if p.deleted {
        return Ok(Classified::Ignored(format!("branch {branch} was deleted")));
    }
    if branch != repo.default_branch {
        return Ok(Classified::Ignored(format!(
            "push to {branch}, not the default branch {}",
            repo.default_branch
        )));
    }
    if p.commits.is_empty() {
        return Ok(Classified::Ignored(format!(
            "push to {branch} carries no commits"
        )));
    }
    let head = p.head_commit.as_ref().or(p.commits.last());
    let title = head.map(|c| first_line(&c.message)).unwrap_or_default();
    let occurred_at = head
        .and_then(|c| c.timestamp.as_deref())
        .and_then(parse_rfc3339_millis);
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::Push,
        dedup_key: format!("push:{}:{}", repo.slug, after),
        repo: repo.slug.to_string(),
        title,
        occurred_at,
        facts: EventFacts::new(Work::Push(PushFacts {
            branch: Some(branch.to_owned()),
            before: p.before,
            after: Some(after.to_owned()),
            forced: Some(p.forced),
            compare_url: p.compare,
            repo_url: repo.html_url.clone(),
            pusher: p.pusher.and_then(|u| u.name),
            commits: p.commits,
            ..PushFacts::default()
        })),
    }]))
}

fn tag_event(repo: &Repo, tag: &str, sha: Option<&str>, description: Option<&str>) -> NewEvent {
    NewEvent {
        kind: EventKind::Tag,
        // `create` and a tag push describe the same tag: one key, so it is stored once.
        dedup_key: format!("tag:{}:{}", repo.slug, tag),
        repo: repo.slug.to_string(),
        title: tag.to_owned(),
        occurred_at: None,
        facts: EventFacts::new(Work::Tag(TagFacts {
            tag: tag.to_owned(),
            sha: sha.map(str::to_owned),
            description: description.map(str::to_owned),
            repo_url: repo.html_url.clone(),
            ..TagFacts::default()
        })),
    }
}

fn create(p: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let ref_type = p
        .ref_type
        .as_deref()
        .ok_or_else(|| missing("create", "ref_type"))?;
    let git_ref = p
        .git_ref
        .as_deref()
        .ok_or_else(|| missing("create", "ref"))?;
    if ref_type != "tag" {
        return Ok(Classified::Ignored(format!(
            "created a {ref_type} ({git_ref}), not a tag"
        )));
    }
    Ok(Classified::Events(vec![tag_event(
        repo,
        git_ref,
        None,
        p.description.as_deref(),
    )]))
}

fn release(p: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = p
        .action
        .as_deref()
        .ok_or_else(|| missing("release", "action"))?;
    if !matches!(action, "published" | "released") {
        return Ok(Classified::Ignored(format!(
            "release action {action:?} is not a publication (watched: published, released)"
        )));
    }
    let r = p.release.ok_or_else(|| missing("release", "release"))?;
    let id = r.id.ok_or_else(|| missing("release", "release.id"))?;
    let tag = r.tag_name.unwrap_or_default();
    let name = r.name.filter(|n| !n.trim().is_empty());
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::Release,
        // `published` and `released` both fire for one release; key on its id.
        dedup_key: format!("release:{}:{}", repo.slug, id),
        repo: repo.slug.to_string(),
        title: name.clone().unwrap_or_else(|| tag.clone()),
        occurred_at: r.published_at.as_deref().and_then(parse_rfc3339_millis),
        facts: EventFacts::new(Work::Release(ReleaseFacts {
            release_id: Some(id),
            tag: Some(tag),
            name,
            body: r.body,
            prerelease: Some(r.prerelease),
            target_commitish: r.target_commitish,
            url: r.html_url,
            author: r.author.and_then(|a| a.login),
            repo_url: repo.html_url.clone(),
            ..ReleaseFacts::default()
        })),
    }]))
}

fn pull_request(p: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = p
        .action
        .as_deref()
        .ok_or_else(|| missing("pull_request", "action"))?;
    let pr = p
        .pull_request
        .ok_or_else(|| missing("pull_request", "pull_request"))?;
    if action != "closed" {
        return Ok(Classified::Ignored(format!(
            "pull_request action {action:?} is not a merge"
        )));
    }
    let number = pr
        .number
        .or(p.number)
        .ok_or_else(|| missing("pull_request", "pull_request.number"))?;
    if !pr.merged.unwrap_or(false) {
        return Ok(Classified::Ignored(format!(
            "pull request #{number} was closed without merging"
        )));
    }
    let labels: Vec<String> = pr.labels.into_iter().filter_map(|l| l.name).collect();
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::PullRequestMerged,
        dedup_key: format!("pr:{}:{}", repo.slug, number),
        repo: repo.slug.to_string(),
        title: pr.title.clone().unwrap_or_default(),
        occurred_at: pr.merged_at.as_deref().and_then(parse_rfc3339_millis),
        facts: EventFacts::new(Work::PullRequest(PullRequestFacts {
            number,
            title: pr.title,
            body: pr.body,
            labels,
            author: pr.user.and_then(|u| u.login),
            merged_by: pr.merged_by.and_then(|u| u.login),
            merge_commit_sha: pr.merge_commit_sha,
            base: pr.base.and_then(|b| b.git_ref),
            head: pr.head.and_then(|b| b.git_ref),
            url: pr.html_url,
            additions: pr.additions,
            deletions: pr.deletions,
            changed_files: pr.changed_files,
            repo_url: repo.html_url.clone(),
        })),
    }]))
}

fn workflow_run(p: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = p
        .action
        .as_deref()
        .ok_or_else(|| missing("workflow_run", "action"))?;
    if action != "completed" {
        return Ok(Classified::Ignored(format!(
            "workflow_run action {action:?} is not a completed run"
        )));
    }
    let run = p
        .workflow_run
        .ok_or_else(|| missing("workflow_run", "workflow_run"))?;
    let id = run
        .id
        .ok_or_else(|| missing("workflow_run", "workflow_run.id"))?;
    let attempt = run.run_attempt.unwrap_or(1);
    let prs: Vec<i64> = run.pull_requests.iter().filter_map(|p| p.number).collect();
    let named = |n: Option<String>| n.filter(|n| !n.trim().is_empty());
    let name = named(run.name)
        .or_else(|| named(p.workflow.and_then(|w| w.name)))
        .unwrap_or_else(|| "workflow".to_owned());
    let conclusion = run.conclusion.unwrap_or_else(|| "unknown".to_owned());
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::CiRun,
        dedup_key: format!("ci:{}:{}:{}", repo.slug, id, attempt),
        repo: repo.slug.to_string(),
        title: format!("{name}: {conclusion}"),
        occurred_at: run.updated_at.as_deref().and_then(parse_rfc3339_millis),
        facts: EventFacts::new(Work::CiRun(CiRunFacts {
            run_id: Some(RunId::Number(id)),
            attempt: Some(attempt),
            workflow: Some(name),
            conclusion: Some(conclusion),
            head_sha: run.head_sha,
            head_branch: run.head_branch,
            event: run.event,
            url: run.html_url,
            pull_requests: prs,
        })),
    }]))
}

/// A completed check suite is a CI run named after the app that ran it. GitHub Actions'
/// own suites are skipped: their workflow runs say the same with the workflow's name.
/// A re-requested suite keeps its id, so the key carries its completion time.
fn check_suite(p: Payload, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = p
        .action
        .as_deref()
        .ok_or_else(|| missing("check_suite", "action"))?;
    if action != "completed" {
        return Ok(Classified::Ignored(format!(
            "check_suite action {action:?} is not a completed suite"
        )));
    }
    let suite = p
        .check_suite
        .ok_or_else(|| missing("check_suite", "check_suite"))?;
    let id = suite
        .id
        .ok_or_else(|| missing("check_suite", "check_suite.id"))?;
    let app = suite.app.unwrap_or(CheckApp {
        name: None,
        slug: None,
    });
    if app.slug.as_deref() == Some("github-actions") {
        return Ok(Classified::Ignored(
            "GitHub Actions check suites are read as workflow runs".into(),
        ));
    }
    let name = app.name.unwrap_or_else(|| "checks".to_owned());
    let conclusion = suite.conclusion.unwrap_or_else(|| "unknown".to_owned());
    let sha = suite
        .head_sha
        .ok_or_else(|| missing("check_suite", "check_suite.head_sha"))?;
    let updated = suite.updated_at.unwrap_or_default();
    let prs: Vec<i64> = suite
        .pull_requests
        .iter()
        .filter_map(|p| p.number)
        .collect();
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::CiRun,
        dedup_key: format!("ci:{}:suite:{id}:{updated}", repo.slug),
        repo: repo.slug.to_string(),
        title: format!("{name}: {conclusion}"),
        occurred_at: parse_rfc3339_millis(&updated),
        facts: EventFacts::new(Work::CiRun(CiRunFacts {
            run_id: Some(RunId::Number(id)),
            attempt: Some(1),
            workflow: Some(name),
            conclusion: Some(conclusion),
            url: Some(format!(
                "{}/commit/{sha}/checks",
                repo.html_url
                    .clone()
                    .unwrap_or_else(|| format!("https://github.com/{}", repo.slug))
            )),
            head_sha: Some(sha),
            head_branch: suite.head_branch,
            event: Some("check_suite".into()),
            pull_requests: prs,
        })),
    }]))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn signature_matches_githubs_documented_test_vector() {
        let secret = b"It's a Secret to Everybody";
        let body = b"Hello, World!";
        let expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(secret, body), expected);
        assert_eq!(verify_signature(secret, body, Some(expected)), Ok(()));
    }

    #[test]
    fn wrong_missing_or_malformed_signatures_are_refused() {
        let secret = b"s3cret";
        let body = b"{}";
        let good = sign(secret, body);
        assert_eq!(
            verify_signature(secret, body, None),
            Err(SignatureError::Missing("X-Hub-Signature-256"))
        );
        assert_eq!(
            verify_signature(b"other", body, Some(&good)),
            Err(SignatureError::Mismatch("X-Hub-Signature-256"))
        );
        assert_eq!(
            verify_signature(secret, b"{ }", Some(&good)),
            Err(SignatureError::Mismatch("X-Hub-Signature-256"))
        );
        for bad in ["", "sha1=abcd", "sha256=zz", "sha256=abcd", &good[7..]] {
            assert_eq!(
                verify_signature(secret, body, Some(bad)),
                Err(SignatureError::Malformed("X-Hub-Signature-256")),
                "{bad:?}"
            );
        }
    }

    /// The `check_suite` webhook's documented shape (docs.github.com, "Webhook events and
    /// payloads": check_suite), trimmed to the fields that matter.
    fn suite(action: &str, app_slug: &str, conclusion: &str, updated: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "action": action,
            "check_suite": {
                "id": 118578147,
                "head_branch": "main",
                "head_sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
                "status": "completed",
                "conclusion": conclusion,
                "url": "https://api.github.com/repos/Codertocat/Hello-World/check-suites/118578147",
                "pull_requests": [{"number": 2}],
                "app": {"id": 2, "slug": app_slug, "name": "Super CI"},
                "created_at": "2019-05-15T15:20:31Z",
                "updated_at": updated,
            },
            "repository": {"full_name": "Codertocat/Hello-World", "private": false,
                           "default_branch": "main", "html_url": "https://github.com/Codertocat/Hello-World"},
        }))
        .unwrap()
    }

    #[test]
    fn a_completed_check_suite_is_a_ci_run_named_after_its_app() {
        let Ok(Classified::Events(e)) = classify(
            "check_suite",
            &suite("completed", "super-ci", "failure", "2019-05-15T15:21:14Z"),
            None,
        ) else {
            panic!("a completed suite is an event")
        };
        assert_eq!(e[0].kind, EventKind::CiRun);
        assert_eq!(e[0].facts.to_value()["workflow"], "Super CI");
        assert_eq!(e[0].facts.to_value()["conclusion"], "failure");
        assert_eq!(
            e[0].facts.to_value()["head_sha"],
            "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
        );
        assert_eq!(
            e[0].facts.to_value()["url"],
            "https://github.com/Codertocat/Hello-World/commit/ec26c3e57ca3a959ca5aad62de7213c562f8c821/checks"
        );
        // A re-run completes the same suite again: a new event, not a duplicate.
        let Ok(Classified::Events(again)) = classify(
            "check_suite",
            &suite("completed", "super-ci", "success", "2019-05-15T16:00:00Z"),
            None,
        ) else {
            panic!()
        };
        assert_ne!(again[0].dedup_key, e[0].dedup_key);
        for (action, slug) in [("requested", "super-ci"), ("completed", "github-actions")] {
            assert!(
                matches!(
                    classify(
                        "check_suite",
                        &suite(action, slug, "success", "2019-05-15T16:00:00Z"),
                        None
                    ),
                    Ok(Classified::Ignored(_))
                ),
                "{action} {slug}"
            );
        }
    }

    /// A repository polled through the REST API (no webhook): its feed items, runs and
    /// suites become the events its webhook would have given, with the same keys, typed
    /// from the API's JSON; a push carries the analysis its compare brought.
    #[test]
    fn polled_items_are_the_events_their_webhooks_would_give() {
        let repo = Repo {
            slug: RepoSlug::parse("acme/rocket").unwrap(),
            private: true,
            default_branch: "master".into(),
            html_url: Some("https://github.com/acme/rocket".into()),
        };
        let head = "9fceb02d0ae598e95dc970b74767f19372d61af8";
        let webhook = serde_json::to_vec(&json!({
            "ref": "refs/heads/master", "before": "0".repeat(40), "after": head,
            "compare": "https://github.com/acme/rocket/compare/000...9fceb",
            "commits": [{"id": head, "message": "feat: export", "author": {"name": "Ann", "username": "ann"}}],
            "repository": {"full_name": "acme/rocket", "private": true, "default_branch": "master",
                "html_url": "https://github.com/acme/rocket"},
        }))
        .unwrap();
        let Ok(Classified::Events(hooked)) = classify("push", &webhook, None) else {
            panic!("the webhook push is an event")
        };
        let analysed = CommitFacts {
            id: head.into(),
            message: "feat: export".into(),
            symbols: vec![covalynce_domain::SymbolChange {
                kind: covalynce_domain::SymbolKind::Flag,
                name: "--export".into(),
                change: covalynce_domain::Change::Added,
            }],
            ..CommitFacts::default()
        };
        let push = |git_ref| Polled::Push {
            git_ref,
            before: "0000000000000000000000000000000000000000",
            head,
            pusher: Some("ann".into()),
            compare_url: "https://github.com/acme/rocket/compare/000...9fceb".into(),
            commits: vec![analysed.clone()],
        };
        let Ok(Classified::Events(polled)) = classify_polled(push("refs/heads/master"), &repo)
        else {
            panic!("the polled push is an event")
        };
        assert_eq!(polled[0].dedup_key, hooked[0].dedup_key, "stored once");
        assert_eq!(polled[0].title, "feat: export");
        assert!(polled[0].facts.project.repo_private);
        assert_eq!(polled[0].facts.commits()[0].symbols, analysed.symbols);
        assert!(matches!(
            classify_polled(push("refs/heads/feature"), &repo),
            Ok(Classified::Ignored(why)) if why.contains("not the default branch master")
        ));

        // Feed items hold what the webhook holds: a release, a tag, a merged PR.
        let release = json!({"action": "published", "release": {"id": 7, "tag_name": "v2.0.0",
            "body": "- feat: a", "html_url": "https://github.com/acme/rocket/releases/tag/v2.0.0"}});
        let Ok(Classified::Events(e)) = classify_polled(
            Polled::Feed {
                item_type: "ReleaseEvent",
                payload: &release,
            },
            &repo,
        ) else {
            panic!("a release")
        };
        assert_eq!(
            (e[0].kind, e[0].dedup_key.as_str()),
            (EventKind::Release, "release:acme/rocket:7")
        );
        let tag = json!({"ref": "v2.0.0", "ref_type": "tag", "description": null});
        let Ok(Classified::Events(e)) = classify_polled(
            Polled::Feed {
                item_type: "CreateEvent",
                payload: &tag,
            },
            &repo,
        ) else {
            panic!("a tag")
        };
        assert_eq!(e[0].dedup_key, "tag:acme/rocket:v2.0.0");
        let closed = json!({"action": "closed", "number": 3, "pull_request": {"number": 3, "merged": false}});
        assert!(matches!(
            classify_polled(
                Polled::Feed {
                    item_type: "PullRequestEvent",
                    payload: &closed
                },
                &repo
            ),
            Ok(Classified::Ignored(_))
        ));
        assert!(matches!(
            classify_polled(
                Polled::Feed {
                    item_type: "WatchEvent",
                    payload: &json!({})
                },
                &repo
            ),
            Ok(Classified::Ignored(_))
        ));
        // A feed payload of the wrong shape is a shape error, not a panic or an event.
        assert!(matches!(
            classify_polled(
                Polled::Feed {
                    item_type: "ReleaseEvent",
                    payload: &json!({"release": "x"})
                },
                &repo
            ),
            Err(PayloadError::Shape { .. })
        ));

        // A workflow run listed by actions/runs is the run its webhook reports.
        let run = json!({"id": 30433642, "run_attempt": 1, "name": "CI", "conclusion": "success",
            "head_sha": head, "head_branch": "master", "event": "push", "status": "completed",
            "html_url": "https://github.com/acme/rocket/actions/runs/30433642"});
        let Ok(Classified::Events(e)) = classify_polled(Polled::WorkflowRun(&run), &repo) else {
            panic!("a run")
        };
        assert_eq!(e[0].dedup_key, "ci:acme/rocket:30433642:1");
        assert_eq!(e[0].facts.commit(), Some(head));
    }

    proptest! {
        #[test]
        fn classify_never_panics_on_arbitrary_json(event in "(push|create|release|pull_request|workflow_run|check_suite|ping|issues)", body in any::<Vec<u8>>()) {
            let _ = classify(&event, &body, None);
        }

        #[test]
        fn verify_never_panics(header in "\\PC{0,100}", body in any::<Vec<u8>>()) {
            let _ = verify_signature(b"k", &body, Some(&header));
        }

    }
}
