//! `covalynce draft`: release notes and posts for a local repository's commits, offline.

use anyhow::Context as _;
use covalynce_drafting::{Channel, Context, Drafts, Voice};
use covalynce_understanding::{Changeset, understand};
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
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
    let repo = crate::watch::open_analyzed(req.repo)?;
    if repo.head()?.is_none() {
        anyhow::bail!(
            "{} has no commits yet: there is nothing to draft",
            req.repo.display()
        );
    }
    let range = repo.range(req.from, req.to).with_context(|| {
        format!(
            "reading {}..{}",
            req.from.unwrap_or("(previous tag)"),
            req.to
        )
    })?;
    let changes = understand(&range.commits);
    let slug = repo.github_slug();
    let version = range.to_tag.clone();
    let url = slug.as_ref().map(|s| match (&version, &range.from) {
        (Some(tag), _) => format!("https://github.com/{s}/releases/tag/{tag}"),
        (None, Some(from)) => format!("https://github.com/{s}/compare/{from}...{}", range.to),
        (None, None) => format!("https://github.com/{s}/commits/{}", range.to),
    });
    let context = Context {
        project: slug.map(|s| s.to_string()).unwrap_or_else(|| repo.name()),
        version,
        url,
        date: range
            .to_time
            .map(|t| covalynce_domain::time::format_rfc3339(t)[..10].to_owned()),
    };
    let drafts = covalynce_drafting::draft(&changes, &context, req.voice);
    Ok(Output {
        changes,
        drafts,
        context,
    })
}

#[derive(Serialize)]
struct JsonItem<'a> {
    category: &'static str,
    title: &'a str,
    scope: Option<&'a str>,
    breaking: Option<&'a str>,
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
                let name = match channel {
                    Channel::Linkedin => "LinkedIn",
                    Channel::X => "X",
                    Channel::Mastodon => "Mastodon",
                    Channel::Bluesky => "Bluesky",
                    Channel::Slack => "Slack",
                    Channel::Discord => "Discord",
                };
                s.push_str(&format!(
                    "\n## {name} ({}/{})\n\n{text}\n",
                    channel.length(text),
                    channel.limit()
                ));
            }
            s
        }
    }
}
