//! `covalynce draft`: release notes and posts for a local repository's commits, offline.

use anyhow::Context as _;
use covalynce_drafting::{Context, Drafts, Voice};
use covalynce_sources::git::Repo;
use covalynce_understanding::{
    Changeset, HouseStyle, PROJECT_FILES, ProjectFacts, note_sections, understand, understand_in,
};
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

pub struct Request<'a> {
    pub repo: &'a Path,
    pub from: Option<&'a str>,
    pub to: &'a str,
    pub voice: Voice,
}

pub struct Output {
    pub changes: Changeset,
    pub drafts: Drafts,
    pub context: Context,
}

pub fn draft(req: &Request) -> anyhow::Result<Output> {
    let repo = open_analyzed(req.repo)?;
    if repo.head()?.is_none() {
        anyhow::bail!(
            "{} has no commits yet: there is nothing to draft",
            req.repo.display()
        );
    }
    let reading = || {
        format!(
            "reading {}..{}",
            req.from.unwrap_or("(previous tag)"),
            req.to
        )
    };
    let from = match req.from {
        Some(from) => Some(from.to_owned()),
        None => repo.previous_tag(req.to).with_context(reading)?,
    };
    // The house style is learned from past releases on another core while this one walks
    // the range (the walk is one thread until its files are analysed on all of them).
    let shared = repo.share();
    let (range, style) = std::thread::scope(|s| {
        let style = from
            .as_deref()
            .map(|from| s.spawn(move || house_style(&shared.open(), from)));
        let range = repo.range(from.as_deref(), req.to);
        // Learning is pure reading; if it panicked, the defaults.
        let style = style.and_then(|h| h.join().ok()).unwrap_or_default();
        (range, style)
    });
    let range = range.with_context(reading)?;
    // Of what earlier notes announced (also a maintenance line's newer patch release),
    // only what this range brings matters.
    let mut style = style;
    let mut announced = style.announced;
    announced.extend(announced_elsewhere(&repo, from.as_deref(), req.to));
    style.announced = covalynce_understanding::announced_of(
        &announced,
        range.commits.iter().map(|c| c.subject()),
    );
    let slug = repo.github_slug();
    let mut changes = understand_in(&range.commits, slug.as_ref().map(|s| s.owner()));
    // What an earlier release's notes announced is not announced again (nor listed among
    // the JSON output's items: it is counted with the rest set aside).
    changes.set_aside_announced(&style.announced);
    let version = range.to_tag.clone();
    let url = slug.as_ref().map(|s| match (&version, &range.from) {
        (Some(tag), _) => format!("https://github.com/{s}/releases/tag/{tag}"),
        (None, Some(from)) => format!("https://github.com/{s}/compare/{from}...{}", range.to),
        (None, None) => format!("https://github.com/{s}/commits/{}", range.to),
    });
    let facts = project_facts(&repo, req.to);
    // Without a GitHub remote, the manifest says where the project lives.
    let url = url.or_else(|| facts.repository.clone());
    let project = facts
        .name
        .or_else(|| slug.as_ref().map(|s| s.to_string()))
        .unwrap_or_else(|| repo.name());
    // A monorepo package's tag is that package's release ("globset 0.4.20").
    let (project, version) = match version {
        Some(tag) => {
            let repo_name = slug.map(|s| s.to_string()).unwrap_or_else(|| repo.name());
            let (name, version) = covalynce_domain::released_as(&tag, &repo_name, &project);
            (name, Some(version))
        }
        None => (project, None),
    };
    let context = Context {
        project,
        version,
        url,
        date: range
            .to_time
            .map(|t| covalynce_domain::time::format_rfc3339(t)[..10].to_owned()),
        style: Some(style),
        hashtags: facts.hashtags,
        branch: None,
    };
    let drafts = covalynce_drafting::draft(&changes, &context, req.voice);
    Ok(Output {
        changes,
        drafts,
        context,
    })
}

/// The project's name and topics from the root files at `rev`.
pub fn project_facts(repo: &Repo, rev: &str) -> ProjectFacts {
    covalynce_understanding::project_facts(&repo.root_files(rev, |n| {
        PROJECT_FILES.contains(&n) || n.ends_with(".gemspec")
    }))
}

/// A repository reader that also runs diff analysis (tree-sitter) on changed files.
pub fn open_analyzed(path: &std::path::Path) -> anyhow::Result<Repo> {
    Ok(Repo::open(path)?.with_analyzer(
        covalynce_understanding::is_analyzable,
        covalynce_understanding::analyze_file,
        covalynce_understanding::analyze_range,
    ))
}

/// What the newest release made before `to` announced, when that release is not `from`:
/// a maintenance line's patch release (1.0.1 on `1.0-stable`, made after 1.0.0 and before
/// 1.1.0) is no ancestor of `to`, so `from` is the release before it, whose notes do not
/// name the fixes the patch release published. Its notes as they stood at its own tag —
/// published, not what the range adds.
///
/// Only releases of `to`'s major line and of lower versions count, the patch release and
/// every section it names: a release candidate of `to`, or notes that already hold `to`'s
/// own section, would otherwise announce the very changes being drafted. A `to` that is no
/// version (a branch, a package's tag) has none.
pub fn announced_elsewhere(repo: &Repo, from: Option<&str>, to: &str) -> Vec<u64> {
    use crate::github::project::version_key;
    let to_version = version_key(to);
    let Some(to_time) = repo.commit_time(to).filter(|_| !to_version.is_empty()) else {
        return Vec::new();
    };
    // Of the same major line: a parallel major (monolog's 2.11.0, tagged beside 3.10.0)
    // announces to its own users, and 3.10.0's notes list the same fixes again.
    let earlier = |version: &str| {
        let key = version_key(version);
        !key.is_empty() && key < to_version && key.first() == to_version.first()
    };
    let tags = repo.tag_names().unwrap_or_default();
    let newest = tags
        .keys()
        .filter(|t| Some(t.as_str()) != from && t.as_str() != to && earlier(t))
        .filter_map(|t| {
            repo.commit_time(t)
                .filter(|at| *at < to_time)
                .map(|at| (at, t))
        })
        .max();
    let Some((at, tag)) = newest else {
        return Vec::new();
    };
    // Only when it is newer than `from` (else `from`'s own notes already said it all).
    if from
        .and_then(|f| repo.commit_time(f))
        .is_some_and(|f| f >= at)
    {
        return Vec::new();
    }
    let Some(notes) = repo.notes_at(tag) else {
        return Vec::new();
    };
    let released = |version: &str| {
        earlier(version)
            && [format!("v{version}"), version.to_owned()]
                .into_iter()
                .find(|t| tags.contains_key(t))
                .and_then(|t| repo.commit_time(&t))
                .is_some_and(|t| t <= at)
    };
    covalynce_understanding::announced_refs(&notes, released)
}

/// Past releases a house style is learned from, and how many are tried to find them.
pub const PAST_LEARNED: usize = 3;
pub const PAST_TRIED: usize = 8;

/// How the project's own release notes select and cite, learned from up to three past
/// releases in its notes file as it stood at `from` (never from what the range adds to it).
/// The defaults without a notes file, or when none of its releases is a tag here.
pub fn house_style(repo: &Repo, from: &str) -> HouseStyle {
    let Some(notes) = repo.notes_at(from) else {
        return HouseStyle::default();
    };
    let tags = repo.tag_names().unwrap_or_default();
    let tag_of = |version: &str| {
        [format!("v{version}"), version.to_owned()]
            .into_iter()
            .find(|t| tags.contains_key(t))
    };
    // Each release's range starts at the release the notes list before it (not the
    // nearest tag in history: a maintenance line merged back, like monolog's 2.x, would
    // make 3.8.0's range hundreds of commits long).
    // Only releases made by then: a notes file may already name the next major release
    // ("## 4.0.0 - Upcoming") whose tag exists today.
    let by_then = repo.commit_time(from).unwrap_or(i64::MAX);
    let mut sections: Vec<(i64, String, String)> = note_sections(&notes)
        .into_iter()
        .take(16)
        .filter_map(|(version, section)| tag_of(&version).map(|t| (t, section)))
        .filter_map(|(tag, section)| {
            let time = repo.commit_time(&tag).filter(|t| *t <= by_then)?;
            Some((time, tag, section))
        })
        .collect();
    // Newest first, whichever way the file is written.
    sections.sort_by_key(|(time, ..)| std::cmp::Reverse(*time));
    let plain = repo.plain();
    let mut past = Vec::new();
    // Up to three releases whose notes teach something, from at most eight tried (patch
    // releases of cherry-picks teach nothing: see `teaches_style`).
    for pair in sections.windows(2).take(PAST_TRIED) {
        let ((_, tag, section), (_, previous, _)) = (&pair[0], &pair[1]);
        // Notes that cite nothing teach nothing (see `teaches_style`): htmx's never cite,
        // and walking eight past releases to learn that was most of drafting one of its.
        if covalynce_understanding::section_refs(section).is_empty() {
            continue;
        }
        let Ok(range) = plain.range(Some(previous), tag) else {
            continue;
        };
        // A huge range teaches little more than a normal one and costs seconds.
        if range.commits.is_empty() || range.commits.len() > 2000 {
            continue;
        }
        let changes = understand(&range.commits);
        if covalynce_understanding::teaches_style(&changes, section) {
            past.push((changes, section.clone()));
        }
        if past.len() == PAST_LEARNED {
            break;
        }
    }
    // Announced: what releases tagged here by then cite.
    let released = |version: &str| {
        tag_of(version)
            .and_then(|t| repo.commit_time(&t))
            .is_some_and(|t| t <= by_then)
    };
    HouseStyle {
        announced: covalynce_understanding::announced_refs(&notes, released),
        ..covalynce_understanding::learn_house_style(&past)
    }
}

#[derive(Serialize)]
struct JsonItem<'a> {
    category: &'static str,
    title: &'a str,
    scope: Option<&'a str>,
    breaking: Option<&'a str>,
    /// The pull request the item came from, when known; `refs` also has the issues.
    pr: Option<u64>,
    refs: &'a [u64],
    commits: &'a [String],
    authors: &'a [String],
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    project: &'a str,
    version: Option<&'a str>,
    release_notes: &'a str,
    items: Vec<JsonItem<'a>>,
    /// Commits left out of announcements (merges, bumps, CI-only, typos), counted.
    noise: usize,
    /// Kinds of credentials found in the commits' messages or added lines (redacted from
    /// everything drafted). Anything here means: rotate it.
    secrets: Vec<&'static str>,
    posts: std::collections::BTreeMap<&'static str, &'a str>,
    /// What the project's own notes list and cite, and how many past releases said so.
    house_style: Option<&'a HouseStyle>,
}

pub fn render(out: &Output, format: Format) -> String {
    match format {
        Format::Json => {
            let json = JsonOutput {
                project: &out.context.project,
                version: out.context.version.as_deref(),
                release_notes: &out.drafts.release_notes,
                items: out
                    .changes
                    .items
                    .iter()
                    .map(|i| JsonItem {
                        category: i.category.as_str(),
                        title: &i.title,
                        scope: i.scope.as_deref(),
                        breaking: i.breaking.as_deref(),
                        pr: i.pr,
                        refs: &i.refs,
                        commits: &i.commits,
                        authors: &i.authors,
                    })
                    .collect(),
                noise: out.changes.noise.len(),
                secrets: out.changes.secrets.iter().map(|f| f.kind).collect(),
                posts: out
                    .drafts
                    .posts
                    .iter()
                    .map(|(c, t)| (c.as_str(), t.as_str()))
                    .collect(),
                house_style: out.context.style.as_ref(),
            };
            serde_json::to_string_pretty(&json).expect("serialising plain data") + "\n"
        }
        Format::Markdown => {
            let mut s = String::new();
            if !out.changes.secrets.is_empty() {
                let kinds: Vec<&str> = out.changes.secrets.iter().map(|f| f.kind).collect();
                s.push_str(&format!(
                    "> ⚠️ Secrets found in these commits ({}); they are redacted below. Rotate them.\n\n",
                    kinds.join(", ")
                ));
            }
            s.push_str(&out.drafts.release_notes);
            s.push_str("\n---\n\n# Posts\n");
            for (channel, text) in &out.drafts.posts {
                let name = channel.label();
                let posts = covalynce_drafting::thread::posts(text);
                let lengths: Vec<String> = posts
                    .iter()
                    .map(|p| format!("{}/{}", channel.length(p), channel.limit()))
                    .collect();
                let shape = if posts.len() > 1 {
                    format!("thread of {}: {}", posts.len(), lengths.join(", "))
                } else {
                    lengths.join("")
                };
                s.push_str(&format!("\n## {name} ({shape})\n\n{text}\n"));
            }
            s
        }
    }
}
