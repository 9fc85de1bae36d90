//! GitHub webhook deliveries: signature verification and normalization into events.
//!
//! Contract (GitHub docs, "Validating webhook deliveries" and "Webhook events and payloads"):
//! `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`, compared in constant
//! time; `X-GitHub-Event` names the event and the payload's `action` the sub-kind.

use covalynce_domain::time::parse_rfc3339_millis;
use covalynce_domain::{EventKind, NewEvent, RepoSlug};
use hmac::{KeyInit, Mac};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// GitHub refuses to deliver payloads over 25 MB; neither do we accept them.
pub const MAX_PAYLOAD_BYTES: usize = 25 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Hub-Signature-256 header is missing")]
    Missing,
    #[error("the X-Hub-Signature-256 header must be \"sha256=\" followed by 64 hex digits")]
    Malformed,
    #[error("the X-Hub-Signature-256 signature does not match this source's secret")]
    Mismatch,
}

/// Checks GitHub's `X-Hub-Signature-256` over the raw body bytes.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_sig = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let given = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    let expected = hmac_sha256(secret, body);
    if bool::from(expected.as_slice().ct_eq(&given)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
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
    #[error("the {event} payload is missing or has an invalid {field}")]
    Shape { event: String, field: &'static str },
}

/// Turns a delivery into events, given its `X-GitHub-Event` name and raw JSON body.
/// `expected_repo` is the repository the source was created for: deliveries about other
/// repositories (an organisation hook pointed at a repository source) are ignored.
pub fn classify(
    event_name: &str,
    body: &[u8],
    expected_repo: Option<&RepoSlug>,
) -> Result<Classified, PayloadError> {
    let payload: Value =
        serde_json::from_slice(body).map_err(|e| PayloadError::NotJson(e.to_string()))?;
    if !payload.is_object() {
        return Err(PayloadError::NotJson("expected a JSON object".into()));
    }
    if event_name == "ping" {
        let zen = payload
            .get("zen")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return Ok(Classified::Ping { zen });
    }
    const WATCHED: [&str; 5] = ["push", "create", "release", "pull_request", "workflow_run"];
    if !WATCHED.contains(&event_name) {
        return Ok(Classified::Ignored(format!(
            "{event_name:?} events are not watched (watched: {})",
            WATCHED.join(", ")
        )));
    }
    let repo = repository(event_name, &payload)?;
    if let Some(expected) = expected_repo
        && !expected.same_repo(&repo.slug)
    {
        return Ok(Classified::Ignored(format!(
            "the delivery is about {}, but this source watches {}",
            repo.slug, expected
        )));
    }
    match event_name {
        "push" => push(&payload, &repo),
        "create" => create(&payload, &repo),
        "release" => release(&payload, &repo),
        "pull_request" => pull_request(&payload, &repo),
        "workflow_run" => workflow_run(&payload, &repo),
        _ => unreachable!("checked against WATCHED above"),
    }
}

struct Repo {
    slug: RepoSlug,
    default_branch: String,
    html_url: Option<String>,
}

fn repository(event: &str, payload: &Value) -> Result<Repo, PayloadError> {
    let shape = |field| PayloadError::Shape {
        event: event.to_owned(),
        field,
    };
    let r = payload.get("repository").ok_or(shape("repository"))?;
    let full_name = r
        .get("full_name")
        .and_then(Value::as_str)
        .ok_or(shape("repository.full_name"))?;
    let slug = RepoSlug::parse(full_name).map_err(|_| shape("repository.full_name"))?;
    // Older payloads call it master_branch; both are optional in the schema.
    let default_branch = r
        .get("default_branch")
        .or_else(|| r.get("master_branch"))
        .and_then(Value::as_str)
        .unwrap_or("main")
        .to_owned();
    let html_url = r.get("html_url").and_then(Value::as_str).map(str::to_owned);
    Ok(Repo {
        slug,
        default_branch,
        html_url,
    })
}

#[derive(Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    before: Option<String>,
    after: String,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    forced: bool,
    compare: Option<String>,
    #[serde(default)]
    commits: Vec<Value>,
    head_commit: Option<Value>,
    pusher: Option<Value>,
}

fn push(payload: &Value, repo: &Repo) -> Result<Classified, PayloadError> {
    let p: PushPayload = from_value("push", payload)?;
    if let Some(tag) = p.git_ref.strip_prefix("refs/tags/") {
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
            Some(&p.after),
            None,
        )]));
    }
    let Some(branch) = p.git_ref.strip_prefix("refs/heads/") else {
        return Ok(Classified::Ignored(format!(
            "ref {} is neither a branch nor a tag",
            p.git_ref
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
    let commits: Vec<Value> = p.commits.iter().map(commit_facts).collect();
    let head = p.head_commit.as_ref().or(p.commits.last());
    let title = head
        .and_then(|c| c.get("message"))
        .and_then(Value::as_str)
        .map(first_line)
        .unwrap_or_default();
    let occurred_at = head
        .and_then(|c| c.get("timestamp"))
        .and_then(Value::as_str)
        .and_then(parse_rfc3339_millis);
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::Push,
        dedup_key: format!("push:{}:{}", repo.slug, p.after),
        repo: repo.slug.to_string(),
        title,
        occurred_at,
        data: json!({
            "branch": branch,
            "before": p.before,
            "after": p.after,
            "forced": p.forced,
            "compare_url": p.compare,
            "repo_url": repo.html_url,
            "pusher": p.pusher.as_ref().and_then(|u| u.get("name")).and_then(Value::as_str),
            "commits": commits,
        }),
    }]))
}

fn commit_facts(c: &Value) -> Value {
    let s = |k: &str| c.get(k).and_then(Value::as_str);
    let person = |k: &str| {
        c.get(k).map(|a| {
            json!({
                "name": a.get("name").and_then(Value::as_str),
                "email": a.get("email").and_then(Value::as_str),
                "username": a.get("username").and_then(Value::as_str),
            })
        })
    };
    let files = |k: &str| c.get(k).cloned().unwrap_or_else(|| json!([]));
    json!({
        "id": s("id"),
        "message": s("message"),
        "timestamp": s("timestamp"),
        "url": s("url"),
        "author": person("author"),
        "committer": person("committer"),
        "added": files("added"),
        "removed": files("removed"),
        "modified": files("modified"),
    })
}

fn tag_event(repo: &Repo, tag: &str, sha: Option<&str>, description: Option<&str>) -> NewEvent {
    NewEvent {
        kind: EventKind::Tag,
        // `create` and a tag push describe the same tag: one key, so it is stored once.
        dedup_key: format!("tag:{}:{}", repo.slug, tag),
        repo: repo.slug.to_string(),
        title: tag.to_owned(),
        occurred_at: None,
        data: json!({
            "tag": tag,
            "sha": sha,
            "description": description,
            "repo_url": repo.html_url,
        }),
    }
}

fn create(payload: &Value, repo: &Repo) -> Result<Classified, PayloadError> {
    let ref_type = str_field("create", payload, "ref_type")?;
    let git_ref = str_field("create", payload, "ref")?;
    if ref_type != "tag" {
        return Ok(Classified::Ignored(format!(
            "created a {ref_type} ({git_ref}), not a tag"
        )));
    }
    let description = payload.get("description").and_then(Value::as_str);
    Ok(Classified::Events(vec![tag_event(
        repo,
        git_ref,
        None,
        description,
    )]))
}

fn release(payload: &Value, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = str_field("release", payload, "action")?;
    if !matches!(action, "published" | "released") {
        return Ok(Classified::Ignored(format!(
            "release action {action:?} is not a publication (watched: published, released)"
        )));
    }
    let r = payload.get("release").ok_or(PayloadError::Shape {
        event: "release".into(),
        field: "release",
    })?;
    let id = r
        .get("id")
        .and_then(Value::as_i64)
        .ok_or(PayloadError::Shape {
            event: "release".into(),
            field: "release.id",
        })?;
    let tag = r.get("tag_name").and_then(Value::as_str).unwrap_or("");
    let name = r
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty());
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::Release,
        // `published` and `released` both fire for one release; key on its id.
        dedup_key: format!("release:{}:{}", repo.slug, id),
        repo: repo.slug.to_string(),
        title: name.unwrap_or(tag).to_owned(),
        occurred_at: s("published_at").and_then(parse_rfc3339_millis),
        data: json!({
            "release_id": id,
            "tag": tag,
            "name": name,
            "body": s("body"),
            "prerelease": r.get("prerelease").and_then(Value::as_bool).unwrap_or(false),
            "target_commitish": s("target_commitish"),
            "url": s("html_url"),
            "author": r.get("author").and_then(|a| a.get("login")).and_then(Value::as_str),
            "repo_url": repo.html_url,
        }),
    }]))
}

fn pull_request(payload: &Value, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = str_field("pull_request", payload, "action")?;
    let pr = payload.get("pull_request").ok_or(PayloadError::Shape {
        event: "pull_request".into(),
        field: "pull_request",
    })?;
    if action != "closed" {
        return Ok(Classified::Ignored(format!(
            "pull_request action {action:?} is not a merge"
        )));
    }
    let merged = pr.get("merged").and_then(Value::as_bool).unwrap_or(false);
    let number = pr
        .get("number")
        .and_then(Value::as_i64)
        .or_else(|| payload.get("number").and_then(Value::as_i64))
        .ok_or(PayloadError::Shape {
            event: "pull_request".into(),
            field: "pull_request.number",
        })?;
    if !merged {
        return Ok(Classified::Ignored(format!(
            "pull request #{number} was closed without merging"
        )));
    }
    let s = |k: &str| pr.get(k).and_then(Value::as_str);
    let labels: Vec<&str> = pr
        .get("labels")
        .and_then(Value::as_array)
        .map(|ls| {
            ls.iter()
                .filter_map(|l| l.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::PullRequestMerged,
        dedup_key: format!("pr:{}:{}", repo.slug, number),
        repo: repo.slug.to_string(),
        title: s("title").unwrap_or_default().to_owned(),
        occurred_at: s("merged_at").and_then(parse_rfc3339_millis),
        data: json!({
            "number": number,
            "title": s("title"),
            "body": s("body"),
            "labels": labels,
            "author": pr.get("user").and_then(|u| u.get("login")).and_then(Value::as_str),
            "merged_by": pr.get("merged_by").and_then(|u| u.get("login")).and_then(Value::as_str),
            "merge_commit_sha": s("merge_commit_sha"),
            "base": pr.get("base").and_then(|b| b.get("ref")).and_then(Value::as_str),
            "head": pr.get("head").and_then(|b| b.get("ref")).and_then(Value::as_str),
            "url": s("html_url"),
            "additions": pr.get("additions").and_then(Value::as_i64),
            "deletions": pr.get("deletions").and_then(Value::as_i64),
            "changed_files": pr.get("changed_files").and_then(Value::as_i64),
            "repo_url": repo.html_url,
        }),
    }]))
}

fn workflow_run(payload: &Value, repo: &Repo) -> Result<Classified, PayloadError> {
    let action = str_field("workflow_run", payload, "action")?;
    if action != "completed" {
        return Ok(Classified::Ignored(format!(
            "workflow_run action {action:?} is not a completed run"
        )));
    }
    let shape = |field| PayloadError::Shape {
        event: "workflow_run".into(),
        field,
    };
    let run = payload.get("workflow_run").ok_or(shape("workflow_run"))?;
    let id = run
        .get("id")
        .and_then(Value::as_i64)
        .ok_or(shape("workflow_run.id"))?;
    let attempt = run.get("run_attempt").and_then(Value::as_i64).unwrap_or(1);
    let s = |k: &str| run.get(k).and_then(Value::as_str);
    let prs: Vec<i64> = run
        .get("pull_requests")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.get("number").and_then(Value::as_i64))
                .collect()
        })
        .unwrap_or_default();
    let name = s("name").unwrap_or("workflow");
    let conclusion = s("conclusion").unwrap_or("unknown");
    Ok(Classified::Events(vec![NewEvent {
        kind: EventKind::CiRun,
        dedup_key: format!("ci:{}:{}:{}", repo.slug, id, attempt),
        repo: repo.slug.to_string(),
        title: format!("{name}: {conclusion}"),
        occurred_at: s("updated_at").and_then(parse_rfc3339_millis),
        data: json!({
            "run_id": id,
            "attempt": attempt,
            "workflow": name,
            "conclusion": conclusion,
            "head_sha": s("head_sha"),
            "head_branch": s("head_branch"),
            "event": s("event"),
            "url": s("html_url"),
            "pull_requests": prs,
        }),
    }]))
}

fn from_value<T: serde::de::DeserializeOwned>(
    event: &str,
    payload: &Value,
) -> Result<T, PayloadError> {
    T::deserialize(payload).map_err(|_| PayloadError::Shape {
        event: event.to_owned(),
        field: "body",
    })
}

fn str_field<'a>(
    event: &str,
    payload: &'a Value,
    field: &'static str,
) -> Result<&'a str, PayloadError> {
    payload
        .get(field)
        .and_then(Value::as_str)
        .ok_or(PayloadError::Shape {
            event: event.to_owned(),
            field,
        })
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(b"other", body, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(secret, b"{ }", Some(&good)),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "sha1=abcd", "sha256=zz", "sha256=abcd", &good[7..]] {
            assert_eq!(
                verify_signature(secret, body, Some(bad)),
                Err(SignatureError::Malformed),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn classify_never_panics_on_arbitrary_json(event in "(push|create|release|pull_request|workflow_run|ping|issues)", body in any::<Vec<u8>>()) {
            let _ = classify(&event, &body, None);
        }

        #[test]
        fn verify_never_panics(header in "\\PC{0,100}", body in any::<Vec<u8>>()) {
            let _ = verify_signature(b"k", &body, Some(&header));
        }

    }
}
