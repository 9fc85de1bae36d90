//! Generic events: what any other tool (GitLab CI, a deploy script, n8n) posts to
//! `POST /api/v1/events`. [`normalize`] checks the submission and makes it an event; it is
//! deduplicated by the sender's idempotency key.

use covalynce_domain::facts::{CiRunFacts, ReleaseFacts, RunId, WorkItemFacts};
use covalynce_domain::time::parse_rfc3339_millis;
use covalynce_domain::{EventFacts, EventKind, NewEvent, Work};
use serde::Deserialize;

/// A shipped piece of work, as another tool reports it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "release",
    "title": "Rocket 2.4.0",
    "body": "- feat: export reports as CSV\n- fix: login loop on Safari",
    "url": "https://gitlab.com/acme/rocket/-/releases/v2.4.0",
    "refs": {"repo": "acme/rocket", "version": "v2.4.0", "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8"},
    "occurred_at": "2026-11-23T10:00:00Z",
    "idempotency_key": "gitlab-release-2.4.0"
}))]
pub struct Submitted {
    /// `release`, `deploy`, `change`, `issue_done` or `ci_run`.
    pub kind: String,
    /// One line, at most 300 characters.
    pub title: String,
    /// Markdown; `- ` bullets are read as separate changes. At most 20,000 characters.
    pub body: Option<String>,
    /// Where a reader can see the work (http or https).
    pub url: Option<String>,
    pub refs: Option<Refs>,
    /// RFC 3339; when the work happened.
    pub occurred_at: Option<String>,
    /// The sender's own id for this work (at most 200 characters): a repeat with the same
    /// key is answered with the event already stored and changes nothing. The
    /// `Idempotency-Key` header is used when this is absent.
    pub idempotency_key: Option<String>,
    /// For `ci_run`: `success`, `failure`, `cancelled`, … (a CI run with `refs.commit`
    /// and `refs.repo` gates cards for that commit like a GitHub workflow run).
    pub conclusion: Option<String>,
}

/// What the work refers to. All optional.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Refs {
    /// `owner/name` (or any project label); GitHub events use the same spelling.
    pub repo: Option<String>,
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub version: Option<String>,
    /// Issue keys or numbers (`ROCK-42`, `#17`).
    #[serde(default)]
    pub issues: Vec<String>,
    /// Who did the work.
    pub author: Option<String>,
}

pub const KINDS: [EventKind; 5] = [
    EventKind::Release,
    EventKind::Deploy,
    EventKind::Change,
    EventKind::IssueDone,
    EventKind::CiRun,
];

/// The event a submission stands for, or what is wrong with it (one message per field).
/// `project` names the work when `refs.repo` does not (the workspace's name).
pub fn normalize(
    s: Submitted,
    header_key: Option<&str>,
    project: &str,
) -> Result<NewEvent, String> {
    let kind = EventKind::parse(&s.kind)
        .filter(|k| KINDS.contains(k))
        .ok_or_else(|| {
            format!(
                "kind must be one of {}; got {:?}",
                KINDS.map(|k| k.as_str()).join(", "),
                s.kind
            )
        })?;
    let key = s
        .idempotency_key
        .as_deref()
        .or(header_key)
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or("idempotency_key is required (or send an Idempotency-Key header)")?;
    if key.chars().count() > 200 {
        return Err("idempotency_key must be at most 200 characters".into());
    }
    let title = s.title.trim();
    if title.is_empty() || title.chars().count() > 300 || title.contains('\n') {
        return Err("title must be one line of 1 to 300 characters".into());
    }
    let body = s.body.unwrap_or_default();
    if body.chars().count() > 20_000 {
        return Err("body must be at most 20000 characters".into());
    }
    if let Some(url) = &s.url {
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && url.len() <= 2000
            && !url.contains(char::is_whitespace);
        if !ok {
            return Err(format!("url must be an http(s) URL; got {url:?}"));
        }
    }
    let occurred_at = s
        .occurred_at
        .as_deref()
        .map(|t| {
            parse_rfc3339_millis(t)
                .ok_or_else(|| format!("occurred_at must be an RFC 3339 time; got {t:?}"))
        })
        .transpose()?;
    let refs = s.refs.unwrap_or_default();
    if let Some(c) = &refs.commit
        && !(7..=64).contains(&c.len())
    {
        return Err(format!("refs.commit must be a commit id; got {c:?}"));
    }
    let repo = refs
        .repo
        .clone()
        .filter(|r| !r.trim().is_empty())
        .unwrap_or_else(|| project.to_owned());
    let conclusion = match kind {
        EventKind::CiRun => {
            let c = s
                .conclusion
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or("a ci_run needs a conclusion (success, failure, …)")?;
            if refs.commit.is_none() {
                return Err("a ci_run needs refs.commit: the commit it built".into());
            }
            Some(c)
        }
        _ => None,
    };
    let work = match kind {
        EventKind::Release => Work::Release(ReleaseFacts {
            tag: refs.version,
            name: Some(title.to_owned()),
            body: Some(body),
            url: s.url,
            author: refs.author,
            sha: refs.commit,
            ..ReleaseFacts::default()
        }),
        EventKind::CiRun => Work::CiRun(CiRunFacts {
            workflow: Some(title.to_owned()),
            conclusion,
            head_sha: refs.commit,
            head_branch: refs.branch,
            url: s.url,
            run_id: Some(RunId::Key(key.to_owned())),
            ..CiRunFacts::default()
        }),
        _ => Work::Item(WorkItemFacts {
            summary: Some(title.to_owned()),
            body: Some(body),
            url: s.url,
            version: refs.version,
            sha: refs.commit,
            branch: refs.branch,
            issues: refs.issues,
            author: refs.author,
            ..WorkItemFacts::default()
        }),
    };
    Ok(NewEvent {
        kind,
        dedup_key: format!("generic:{key}"),
        repo,
        title: title.to_owned(),
        occurred_at,
        facts: EventFacts::new(work),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn submitted(v: serde_json::Value) -> Submitted {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_release_from_another_tool_reads_like_a_github_release() {
        let e = normalize(
            submitted(json!({"kind": "release", "title": "Rocket 2.4.0",
                "body": "- feat: CSV export", "refs": {"repo": "acme/rocket", "version": "v2.4.0"},
                "idempotency_key": "r-2.4.0", "occurred_at": "2026-11-23T10:00:00Z"})),
            None,
            "acme",
        )
        .unwrap();
        assert_eq!(e.kind, EventKind::Release);
        assert_eq!(e.dedup_key, "generic:r-2.4.0");
        assert_eq!(e.repo, "acme/rocket");
        assert_eq!(e.facts.to_value()["tag"], "v2.4.0");
        assert_eq!(e.occurred_at, Some(1_795_428_000_000));
    }

    #[test]
    fn the_header_key_stands_in_for_a_missing_field() {
        let s = submitted(json!({"kind": "deploy", "title": "Deployed to production"}));
        assert_eq!(
            normalize(s.clone(), Some("dep-7"), "acme")
                .unwrap()
                .dedup_key,
            "generic:dep-7"
        );
        assert!(
            normalize(s, None, "acme")
                .unwrap_err()
                .contains("idempotency_key")
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let base = json!({"kind": "change", "title": "x", "idempotency_key": "k"});
        let with = |k: &str, v: serde_json::Value| {
            let mut b = base.clone();
            b[k] = v;
            normalize(submitted(b), None, "acme").unwrap_err()
        };
        assert!(with("kind", json!("push")).contains("kind must be one of"));
        assert!(with("title", json!("")).contains("title"));
        assert!(with("title", json!("a\nb")).contains("title"));
        assert!(with("url", json!("javascript:alert(1)")).contains("url"));
        assert!(with("occurred_at", json!("yesterday")).contains("occurred_at"));
        assert!(with("kind", json!("ci_run")).contains("conclusion"));
        assert!(
            serde_json::from_value::<Submitted>(
                json!({"kind": "change", "title": "x", "bogus": 1})
            )
            .is_err()
        );
    }
}
