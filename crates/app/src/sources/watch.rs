//! Local git repositories as sources: new commits on the checked-out branch and new tags
//! become events (then cards), with no GitHub account. Used by `covalynce watch`, by
//! `serve` for git sources added through the API, and by `serve --demo`.
//!
//! Where a repository was last seen is kept in its source's cursor; the events' dedup keys
//! make a lost cursor harmless too — nothing is drafted twice.

use anyhow::Context as _;
use covalynce_domain::facts::{CommitFacts, PersonFacts, ProjectContext, PushFacts, TagFacts};
use covalynce_domain::{Commit, EventFacts, EventKind, NewEvent, Work, WorkspaceId, now_millis};
use covalynce_sources::git::Repo;
use covalynce_storage::{DeliveryOutcome, Ingest, IngestOutcome, Source, Store};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Cursor {
    head: Option<String>,
    tags: BTreeMap<String, String>,
}

/// Looks at each of these sources once (`covalynce watch`, which registered them): how many
/// new events they gave in all.
pub async fn poll_each(
    store: &dyn Store,
    sources: &[covalynce_domain::SourceId],
) -> anyhow::Result<usize> {
    let mut found = 0;
    for id in sources {
        if let Some(source) = store.source(*id).await? {
            found += poll(store, &source).await?;
        }
    }
    Ok(found)
}

/// Waits until no job of the workspace that is due is queued or running, for at most
/// `most` (`covalynce watch --once` exits after the drafts of what it found): whether it
/// settled in time.
pub async fn settled(
    store: &dyn Store,
    ws: WorkspaceId,
    most: std::time::Duration,
) -> Result<bool, covalynce_storage::StoreError> {
    let started = std::time::Instant::now();
    loop {
        let busy = store.list_jobs(ws, None, 200).await?.iter().any(|j| {
            matches!(
                j.status,
                covalynce_storage::JobStatus::Queued | covalynce_storage::JobStatus::Running
            ) && j.run_at <= now_millis()
        });
        if !busy {
            return Ok(true);
        }
        if started.elapsed() >= most {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Looks at a git source once. The first look only remembers where the repository is;
/// after that, what is new becomes events. Returns how many new events were stored.
pub async fn poll(store: &dyn Store, source: &Source) -> anyhow::Result<usize> {
    let path = source.path.clone().context("a git source without a path")?;
    let cursor: Option<Cursor> = source
        .cursor
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok());
    let had_cursor = cursor.clone();
    let (events, next) = tokio::task::spawn_blocking(move || scan(Path::new(&path), cursor))
        .await
        .context("the git reader stopped")??;
    let stored = store_events(store, source.workspace_id, source.id, events).await?;
    if had_cursor.as_ref() != Some(&next) {
        store
            .set_source_cursor(source.id, &serde_json::to_string(&next)?)
            .await?;
    }
    Ok(stored)
}

fn scan(path: &Path, cursor: Option<Cursor>) -> anyhow::Result<(Vec<NewEvent>, Cursor)> {
    let repo = crate::drafting::open_analyzed(path)?;
    let Some((head, branch)) = repo.head()? else {
        return Ok((Vec::new(), cursor.unwrap_or_default()));
    };
    let tags = repo.tag_names()?;
    let now = Cursor {
        head: Some(head.clone()),
        tags: tags.clone(),
    };
    let Some(prev) = cursor else {
        return Ok((Vec::new(), now));
    };
    let project = project_name(&repo);
    let mut events = Vec::new();
    if prev.head.as_deref() != Some(head.as_str()) {
        // After a rewrite (rebase, force push) the old head may be gone: then the range
        // starts at the previous tag instead.
        let range = repo
            .range(prev.head.as_deref(), &head)
            .or_else(|_| repo.range(None, &head))?;
        if !range.commits.is_empty() {
            events.push(push_event(
                &repo,
                &project,
                branch.as_deref(),
                prev.head.as_deref(),
                &head,
                &range.commits,
            ));
        }
    }
    for (name, sha) in &tags {
        if prev.tags.get(name) != Some(sha) {
            let range = repo.range(None, name)?;
            events.push(tag_event(
                &repo,
                &project,
                name,
                sha,
                range.from.as_deref(),
                &range.commits,
            ));
        }
    }
    Ok((events, now))
}

/// Why `s` may not be read now, if it may not: a local repository outside what the
/// operator allows its workspace.
pub fn stopped(s: &covalynce_storage::Source, allowed: &[String]) -> Option<String> {
    if s.kind != covalynce_domain::SourceKind::Git {
        return None;
    }
    let path = s.path.as_deref().unwrap_or_default();
    covalynce_sources::local::confine(path, allowed)
        .err()
        .map(|e| format!("not watched: {e}"))
}

pub fn project_name(repo: &Repo) -> String {
    repo.github_slug()
        .map(|s| s.to_string())
        .unwrap_or_else(|| repo.name())
}

fn commit_facts(c: &Commit) -> CommitFacts {
    CommitFacts {
        id: c.id.clone(),
        message: c.message.clone(),
        timestamp: c.timestamp.map(covalynce_domain::time::format_rfc3339),
        author: Some(PersonFacts {
            name: Some(c.author_name.clone()),
            email: Some(c.author_email.clone()),
            username: c.author_login.clone(),
        }),
        files: c.files.clone(),
        is_merge: c.is_merge,
        symbols: c.symbols.clone(),
        part_of: c.part_of.clone(),
        diff_secrets: c.diff_secrets.clone(),
        ..CommitFacts::default()
    }
}

pub fn push_event(
    repo: &Repo,
    project: &str,
    branch: Option<&str>,
    before: Option<&str>,
    after: &str,
    commits: &[Commit],
) -> NewEvent {
    let slug = repo.github_slug();
    let head = commits.last();
    let facts = crate::drafting::project_facts(repo, after);
    NewEvent {
        kind: EventKind::Push,
        // The same key a GitHub webhook gives this push: watching a repository and
        // receiving its webhooks never makes two cards.
        dedup_key: format!("push:{project}:{after}"),
        repo: project.to_owned(),
        title: head.map(|c| c.subject().to_owned()).unwrap_or_default(),
        occurred_at: head.and_then(|c| c.timestamp),
        facts: EventFacts {
            project: ProjectContext {
                project_name: facts.name,
                hashtags: facts.hashtags,
                local: true,
                ..ProjectContext::default()
            },
            work: Work::Push(PushFacts {
                branch: branch.map(str::to_owned),
                before: before.map(str::to_owned),
                after: Some(after.to_owned()),
                compare_url: slug.as_ref().zip(before).map(|(s, b)| {
                    format!(
                        "https://github.com/{s}/compare/{}...{}",
                        &b[..b.len().min(12)],
                        &after[..after.len().min(12)]
                    )
                }),
                // Without a GitHub remote, the manifest says where the project lives.
                repo_url: slug
                    .as_ref()
                    .map(|s| format!("https://github.com/{s}"))
                    .or(facts.repository),
                commits: commits.iter().map(commit_facts).collect(),
                ..PushFacts::default()
            }),
        },
    }
}

/// A tag's event: its commits since the previous tag (`from`), and what drafting it needs
/// from the repository itself: the project's name and topics, and the house style of its
/// release notes as they stood at `from`.
pub fn tag_event(
    repo: &Repo,
    project: &str,
    tag: &str,
    sha: &str,
    from: Option<&str>,
    commits: &[Commit],
) -> NewEvent {
    let slug = repo.github_slug();
    let facts = crate::drafting::project_facts(repo, tag);
    let mut style = match from {
        Some(from) => crate::drafting::house_style(repo, from),
        None => covalynce_understanding::HouseStyle::default(),
    };
    // Of what earlier notes announced (also a maintenance line's newer patch release), the
    // event keeps what this range brings.
    let mut announced = std::mem::take(&mut style.announced);
    announced.extend(crate::drafting::announced_elsewhere(repo, from, tag));
    style.announced =
        covalynce_understanding::announced_of(&announced, commits.iter().map(|c| c.subject()));
    NewEvent {
        kind: EventKind::Tag,
        dedup_key: format!("tag:{project}:{tag}"),
        repo: project.to_owned(),
        title: tag.to_owned(),
        occurred_at: commits.last().and_then(|c| c.timestamp),
        facts: EventFacts {
            project: ProjectContext {
                project_name: facts.name,
                hashtags: facts.hashtags,
                house_style: Some(style),
                local: true,
                ..ProjectContext::default()
            },
            work: Work::Tag(TagFacts {
                tag: tag.to_owned(),
                sha: Some(sha.to_owned()),
                url: slug
                    .as_ref()
                    .map(|s| format!("https://github.com/{s}/releases/tag/{tag}"))
                    .or(facts.repository),
                commits: commits.iter().map(commit_facts).collect(),
                ..TagFacts::default()
            }),
        },
    }
}

/// Stores events found on disk through the same path as webhooks: a delivery (keyed by
/// the event's own key, so a rescan is a duplicate), the event, and its drafting job.
pub async fn store_events(
    store: &dyn Store,
    workspace_id: WorkspaceId,
    source_id: covalynce_domain::SourceId,
    events: Vec<NewEvent>,
) -> anyhow::Result<usize> {
    if events.is_empty() {
        return Ok(0);
    }
    let mut prepared = Vec::with_capacity(events.len());
    for e in events {
        let body =
            serde_json::to_vec(&json!({"kind": e.kind, "key": e.dedup_key, "data": e.facts}))?;
        prepared.push(
            Ingest {
                workspace_id,
                source_id,
                guid: e.dedup_key.clone(),
                event_name: format!("git.{}", e.kind.as_str()),
                outcome: DeliveryOutcome::Events,
                reason: None,
                body,
                events: vec![e],
                received_at: now_millis(),
            }
            .prepare()?,
        );
    }
    let outcomes = store.ingest(&prepared).await?;
    Ok(outcomes
        .iter()
        .map(|o| match o {
            IngestOutcome::Stored { events, .. } => events.iter().filter(|e| e.new).count(),
            IngestOutcome::Duplicate => 0,
        })
        .sum())
}

/// Polls every git source until `stop` turns true.
pub async fn run(
    store: std::sync::Arc<dyn Store>,
    interval: std::time::Duration,
    wake_workers: std::sync::Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        match store.git_sources().await {
            Ok(sources) => {
                let mut allowed: std::collections::HashMap<_, Vec<String>> = Default::default();
                for source in &sources {
                    // Only what the operator allows the source's workspace today: a path
                    // allowed once and taken back stops being read (the Sources page and
                    // the API say why).
                    let roots = match allowed.entry(source.workspace_id) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            match store.allowed_paths(source.workspace_id).await {
                                Ok(paths) => e.insert(paths),
                                Err(err) => {
                                    tracing::warn!(error = %err, "could not read allowed paths");
                                    continue;
                                }
                            }
                        }
                    };
                    if let Some(why) = stopped(source, roots) {
                        tracing::debug!(source = %source.id, why, "not watched");
                        continue;
                    }
                    match poll(store.as_ref(), source).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(source = %source.id, path = ?source.path, events = n, "new work in a watched repository");
                            wake_workers.notify_waiters();
                        }
                        Err(e) => {
                            tracing::warn!(source = %source.id, path = ?source.path, error = format!("{e:#}"), "could not read a watched repository")
                        }
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not list git sources"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => {}
        }
    }
}
