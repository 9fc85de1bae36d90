//! Release notes in markdown: breaking changes called out first, then categories with what
//! users notice first, each item with its `#N` references and authors; noise counted, not
//! listed, except the upkeep a project's own notes list under its own heading.

use crate::Context;
use covalynce_understanding::{Category, Changeset, HouseStyle, Item};
use std::fmt::Write;

pub fn release_notes(changes: &Changeset, ctx: &Context) -> String {
    let style = ctx.style.as_ref();
    let mut out = String::new();
    let heading = match (&ctx.version, &ctx.date) {
        (Some(v), Some(d)) => format!("{v} ({d})"),
        (Some(v), None) => v.clone(),
        (None, Some(d)) => format!("Changes ({d})"),
        (None, None) => "Changes".to_owned(),
    };
    let _ = writeln!(out, "## {heading}\n");
    if let Some(url) = &ctx.url {
        let _ = writeln!(out, "[Full changes]({url})\n");
    }
    let repo = github_repo(ctx);
    let breaking: Vec<&Item> = changes.breaking().collect();
    if !breaking.is_empty() {
        let _ = writeln!(out, "### ⚠️ Breaking changes\n");
        for item in &breaking {
            let note = item.breaking.as_deref().unwrap_or(&item.title);
            let _ = writeln!(out, "- {}{}{}", scope(item), note, refs(item, style));
        }
        out.push('\n');
    }
    for category in Category::ALL {
        let items: Vec<&Item> = changes
            .in_category(category)
            .filter(|i| listed(i, style))
            .collect();
        // What is taken away is a change too, but not a feature: it gets the headings Keep
        // a Changelog gives it (rack 3.2.0 listed "Remove `Rack::Logger`" as a feature).
        let parts: Vec<(&str, Vec<&Item>)> = if category == Category::Feature {
            FeatureKind::ALL
                .into_iter()
                .map(|kind| {
                    let of: Vec<&Item> = items
                        .iter()
                        .copied()
                        .filter(|i| FeatureKind::of(&i.title) == kind)
                        .collect();
                    (kind.heading(), of)
                })
                .collect()
        } else {
            vec![(category.heading(), items)]
        };
        for (heading, items) in parts {
            section(&mut out, heading, &items, repo.as_deref(), style, false);
        }
    }
    // Upkeep the project's own notes list (gin's "Dependency updates"), after the changes.
    for kind in style.map(|s| s.lists_upkeep.as_slice()).unwrap_or_default() {
        let items: Vec<&Item> = changes
            .noise
            .iter()
            .filter(|i| i.noise == Some(*kind))
            .collect();
        section(
            &mut out,
            kind.heading(),
            &items,
            repo.as_deref(),
            style,
            true,
        );
    }
    if !changes.items.iter().any(|i| listed(i, style)) {
        let _ = writeln!(out, "No user-facing changes.\n");
    }
    if let Some(summary) = unlisted_summary(changes, style) {
        let _ = writeln!(out, "_{summary}_\n");
    }
    let people = changes.contributors();
    if !people.is_empty() {
        let _ = writeln!(out, "Thanks to {}.", join_and(&people));
    }
    out.trim_end().to_owned() + "\n"
}

/// One heading and its entries (nothing when there are none). Upkeep entries leave out a
/// scope the heading already says ("deps:" under "Dependency updates") and the symbol
/// details changes carry.
fn section(
    out: &mut String,
    heading: &str,
    items: &[&Item],
    repo: Option<&str>,
    style: Option<&HouseStyle>,
    upkeep: bool,
) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "### {heading}\n");
    for item in items {
        let title = short_links(&item.title, repo);
        let scope = match item.scope.as_deref() {
            Some(s) if upkeep && (s.contains("deps") || s == "ci") => String::new(),
            _ => scope(item),
        };
        let details = if upkeep { String::new() } else { details(item) };
        let _ = writeln!(
            out,
            "- {scope}{title}{}{}{details}",
            refs_beside(item, style, &title),
            by(item)
        );
    }
    out.push('\n');
}

/// Where a feature's entry goes in the notes, by what its title does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FeatureKind {
    New,
    Deprecated,
    Removed,
}

impl FeatureKind {
    pub(crate) const ALL: [FeatureKind; 3] = [
        FeatureKind::New,
        FeatureKind::Deprecated,
        FeatureKind::Removed,
    ];

    fn heading(self) -> &'static str {
        match self {
            FeatureKind::New => "Features",
            FeatureKind::Deprecated => "Deprecated",
            FeatureKind::Removed => "Removed",
        }
    }

    /// "Deprecate …" is Deprecated; "Remove …", "Drop …", "Delete …" are Removed when what
    /// goes is a named part of the software (`Rack::Logger`, "support for PHP 7", a
    /// deprecated API), not when a limit or a chore goes ("Remove the 10 MB upload limit",
    /// "Delete remote branches from the list", "Removes the need to call `init`" are new).
    pub(crate) fn of(title: &str) -> Self {
        let lower = title.to_ascii_lowercase();
        let first = lower.split_whitespace().next().unwrap_or_default();
        if matches!(first, "deprecate" | "deprecated") {
            return FeatureKind::Deprecated;
        }
        let named = title.contains('`')
            || title.contains("::")
            || title.contains("()")
            || lower.contains("support for")
            || lower.contains("deprecated")
            || lower.contains("dependency on");
        if matches!(
            first,
            "remove" | "removed" | "drop" | "dropped" | "delete" | "deleted"
        ) && named
            && !lower.contains(" the need ")
        {
            FeatureKind::Removed
        } else {
            FeatureKind::New
        }
    }
}

fn scope(item: &Item) -> String {
    item.scope
        .as_ref()
        .map(|s| format!("**{s}:** "))
        .unwrap_or_default()
}

/// Whether the notes list `item`: breaking changes always; otherwise what the project's
/// own notes list (everything, without a style).
pub(crate) fn listed(item: &Item, style: Option<&HouseStyle>) -> bool {
    item.breaking.is_some() || style.is_none_or(|s| s.lists(item.category))
}

/// What an entry cites: everything known, or what the house style cites.
pub(crate) fn cited(item: &Item, style: Option<&HouseStyle>) -> Vec<u64> {
    match style {
        Some(s) => item.cited_by(s),
        None => item.refs.clone(),
    }
}

/// ` (#12, #7)`; the short commit id when nothing is referenced at all; nothing when the
/// house style cites none of what is known.
fn refs(item: &Item, style: Option<&HouseStyle>) -> String {
    if item.refs.is_empty() {
        return item
            .commits
            .first()
            .map(|c| format!(" ({})", c.get(..7).unwrap_or(c)))
            .unwrap_or_default();
    }
    let list: Vec<String> = cited(item, style).iter().map(|r| format!("#{r}")).collect();
    if list.is_empty() {
        String::new()
    } else {
        format!(" ({})", list.join(", "))
    }
}

/// `owner/name` when the context's link is GitHub's: its own issue links read as `#12`.
pub(crate) fn github_repo(ctx: &Context) -> Option<String> {
    ctx.url
        .as_deref()
        .and_then(|u| u.strip_prefix("https://github.com/"))
        .map(|rest| rest.split('/').take(2).collect::<Vec<_>>().join("/"))
}

/// Whether a title already shows reference `r` ("Fix issue #1984", not "#19840").
pub(crate) fn shows_ref(title: &str, r: u64) -> bool {
    title
        .match_indices(&format!("#{r}"))
        .any(|(at, m)| !title[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// The refs a title does not already show ("Fix issue #1984" is not followed by "#1984").
/// What the house style cites is decided on all the entry's references first: "Fix #12
/// (#13)" in notes that cite the issue alone shows #12 and cites nothing beside it.
fn refs_beside(item: &Item, style: Option<&HouseStyle>, title: &str) -> String {
    if item.refs.is_empty() {
        return refs(item, style);
    }
    let list: Vec<String> = cited(item, style)
        .into_iter()
        .filter(|r| !shows_ref(title, *r))
        .map(|r| format!("#{r}"))
        .collect();
    if list.is_empty() {
        String::new()
    } else {
        format!(" ({})", list.join(", "))
    }
}

/// A title with GitHub issue and pull request links written as references: `#1984` for
/// the repository's own (`repo`, `owner/name`), `owner/name#12` for another's. A title
/// that was only a link ("Fix issue https://github.com/…/issues/1984") then reads, and
/// GitHub links the reference in release notes.
fn short_links(title: &str, repo: Option<&str>) -> String {
    linked_refs(title, repo, |reference, _| reference.to_owned())
}

/// [`short_links`] for a platform that does not link references itself: `link` writes
/// each reference with its URL in the platform's markup (Slack `<url|#1984>`, Discord
/// `[#1984](url)`).
pub(crate) fn linked_refs(
    title: &str,
    repo: Option<&str>,
    link: impl Fn(&str, &str) -> String,
) -> String {
    title
        .split(' ')
        .map(|word| {
            let url = word.trim_end_matches(['.', ',', ')', ';']);
            let Some(rest) = url.strip_prefix("https://github.com/") else {
                return word.to_owned();
            };
            let parts: Vec<&str> = rest.split('/').collect();
            let [owner, name, "issues" | "pull", n] = parts[..] else {
                return word.to_owned();
            };
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return word.to_owned();
            }
            let here = repo.is_some_and(|r| r.eq_ignore_ascii_case(&format!("{owner}/{name}")));
            let short = if here {
                format!("#{n}")
            } else {
                format!("{owner}/{name}#{n}")
            };
            format!("{}{}", link(&short, url), &word[url.len()..])
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// ` — new `--wrap` flag, new `GET /export` endpoint`
fn details(item: &Item) -> String {
    if item.highlights.is_empty() {
        String::new()
    } else {
        format!(" — {}", item.highlights.join(", "))
    }
}

fn by(item: &Item) -> String {
    if item.authors.is_empty() {
        String::new()
    } else {
        format!(" by {}", join_and(&item.authors))
    }
}

/// One line for everything not listed: the noise by reason, then the kinds of change the
/// house style does not list ("14 commits not listed: 6 dependency bumps, 1 version bump,
/// 5 refactors, 2 test changes."). `None` when everything is listed.
pub(crate) fn unlisted_summary(changes: &Changeset, style: Option<&HouseStyle>) -> Option<String> {
    let mut counts: Vec<(Option<covalynce_understanding::Noise>, usize)> = Vec::new();
    let listed_upkeep = |i: &Item| style.zip(i.noise).is_some_and(|(s, n)| s.lists_upkeep(n));
    let unlisted_noise: Vec<&Item> = changes.noise.iter().filter(|i| !listed_upkeep(i)).collect();
    for item in &unlisted_noise {
        match counts.iter_mut().find(|(k, _)| *k == item.noise) {
            Some((_, n)) => *n += 1,
            None => counts.push((item.noise, 1)),
        }
    }
    let mut parts: Vec<String> = counts
        .iter()
        .map(|(k, n)| match k {
            Some(noise) => noise.counted(*n),
            None if *n == 1 => "1 other".to_owned(),
            None => format!("{n} others"),
        })
        .collect();
    let mut total = unlisted_noise.len();
    for category in Category::ALL {
        let n = changes
            .in_category(category)
            .filter(|i| !listed(i, style))
            .count();
        if n > 0 {
            parts.push(category.counted(n));
            total += n;
        }
    }
    (total > 0).then(|| {
        format!(
            "{total} {} not listed: {}.",
            if total == 1 { "change" } else { "changes" },
            parts.join(", ")
        )
    })
}

pub(crate) fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covalynce_domain::Commit;
    use covalynce_understanding::understand;

    fn commit(n: u8, message: &str, author: &str, files: &[&str]) -> Commit {
        Commit {
            id: format!("{n:02x}{}", "a".repeat(38)),
            message: message.into(),
            author_name: author.into(),
            author_email: format!("{}@example.com", author.to_lowercase()),
            files: files.iter().map(|f| f.to_string()).collect(),
            ..Commit::default()
        }
    }

    /// rack 3.2.0's notes listed "Remove `Rack::Logger`" and "Deprecate
    /// Rack::Request#parse_multipart" under Features.
    #[test]
    fn what_is_taken_away_has_its_own_headings_after_the_features() {
        let changes = understand(&[
            commit(
                1,
                "Remove `Rack::Logger` (#2196)",
                "Sam",
                &["lib/rack/logger.rb"],
            ),
            commit(
                2,
                "Add `Rack::Request#form_pairs` (#2351)",
                "Mat",
                &["lib/rack/request.rb"],
            ),
            commit(
                3,
                "Deprecate Rack::Request#parse_multipart",
                "Jer",
                &["lib/rack/request.rb"],
            ),
            commit(
                4,
                "Drop dependency on `CGI::Cookie` (#2332)",
                "Sam",
                &["lib/rack/utils.rb"],
            ),
        ]);
        let notes = release_notes(&changes, &Context::default());
        let features = notes.find("### Features").expect(&notes);
        let deprecated = notes.find("### Deprecated").expect(&notes);
        let removed = notes.find("### Removed").expect(&notes);
        assert!(features < deprecated && deprecated < removed, "{notes}");
        let section = |at: usize| {
            let rest = &notes[at + 4..];
            rest[..rest.find("###").unwrap_or(rest.len())].to_owned()
        };
        assert!(section(features).contains("form_pairs"), "{notes}");
        assert!(!section(features).contains("Remove"), "{notes}");
        assert!(section(deprecated).contains("parse_multipart"), "{notes}");
        let gone = section(removed);
        assert!(
            gone.contains("Rack::Logger") && gone.contains("CGI::Cookie"),
            "{notes}"
        );
        // Taking a limit or a chore away is a feature, whatever the verb.
        for title in [
            "Remove the 10 MB upload limit",
            "Delete remote branches from the branch list",
            "Removes the need to call `init`",
        ] {
            assert_eq!(FeatureKind::of(title), FeatureKind::New, "{title}");
        }
        assert_eq!(
            FeatureKind::of("Drop support for PHP 7"),
            FeatureKind::Removed
        );
    }

    /// gitui's notes cite the issue a change fixes; a title that already shows it gets no
    /// pull request beside it.
    #[test]
    fn a_title_that_shows_the_cited_issue_gets_no_other_reference() {
        let changes = understand(&[commit(1, "Fix #12 (#13)", "Ada", &["src/a.rs"])]);
        let style = covalynce_understanding::HouseStyle {
            when_both: covalynce_understanding::WhenBoth::Issues,
            ..Default::default()
        };
        let item = &changes.items[0];
        assert_eq!(item.refs, [13, 12], "{item:?}");
        assert_eq!(refs_beside(item, Some(&style), "Fix #12"), "");
        // Notes that cite both show the pull request beside it.
        assert_eq!(refs_beside(item, None, "Fix #12"), " (#13)");
    }

    #[test]
    fn notes_group_by_category_call_out_breaking_changes_and_count_noise() {
        let changes = understand(&[
            commit(
                1,
                "feat(cli)!: add --wrap=word flag (#88)\n\nBREAKING CHANGE: --wrap takes a mode now",
                "Ada",
                &["src/cli.rs"],
            ),
            commit(
                2,
                "fix: handle empty config\n\nFixes #91",
                "Grace",
                &["src/config.rs"],
            ),
            commit(
                3,
                "Bump serde from 1.0.1 to 1.0.2",
                "dependabot[bot]",
                &["Cargo.lock"],
            ),
            commit(4, "docs: explain flags", "Ada", &["README.md"]),
        ]);
        let notes = release_notes(
            &changes,
            &Context {
                project: "acme/rocket".into(),
                version: Some("v1.2.0".into()),
                url: Some("https://github.com/acme/rocket/compare/v1.1.0...v1.2.0".into()),
                date: Some("2026-11-22".into()),
                ..Context::default()
            },
        );
        let expected = "## v1.2.0 (2026-11-22)

[Full changes](https://github.com/acme/rocket/compare/v1.1.0...v1.2.0)

### ⚠️ Breaking changes

- **cli:** --wrap takes a mode now (#88)

### Features

- **cli:** Add --wrap=word flag (#88) by Ada

### Bug fixes

- Handle empty config (#91) by Grace

### Documentation

- Explain flags (04aaaaa) by Ada

_1 change not listed: 1 dependency update._

Thanks to Ada and Grace.
";
        assert_eq!(notes, expected);
    }

    /// A project whose notes cite the issues a change fixes, never its pull request, and
    /// never list refactors or test work: the drafted notes (and so the team posts) do the
    /// same, and count what they leave out.
    #[test]
    fn notes_select_and_cite_in_the_house_style() {
        let changes = understand(&[
            commit(
                1,
                "Fix crash on empty repo (#2101)\n\nfixes #2001",
                "Ada",
                &["src/a.rs"],
            ),
            commit(2, "refactor: split app state (#2104)", "Ada", &["src/d.rs"]),
            commit(3, "Add blame search (#2102)", "Grace", &["src/b.rs"]),
        ]);
        let style = covalynce_understanding::HouseStyle {
            cites_prs: false,
            cites_issues: true,
            lists: vec![Category::Feature, Category::Fix],
            lists_upkeep: Vec::new(),
            when_both: covalynce_understanding::WhenBoth::Both,
            announced: Vec::new(),
            learned_from: 3,
        };
        let ctx = Context {
            project: "gitui".into(),
            version: Some("v0.27.0".into()),
            style: Some(style),
            ..Context::default()
        };
        let notes = release_notes(&changes, &ctx);
        assert!(
            notes.contains("- Fix crash on empty repo (#2001) by Ada"),
            "{notes}"
        );
        assert!(notes.contains("- Add blame search by Grace"), "{notes}");
        for absent in ["#2101", "#2102", "#2104", "Split app state"] {
            assert!(!notes.contains(absent), "{absent} in {notes}");
        }
        assert!(
            notes.contains("_1 change not listed: 1 refactor._"),
            "{notes}"
        );
        for channel in [crate::Channel::Slack, crate::Channel::Discord] {
            let team = crate::posts::post(&changes, &ctx, crate::Voice::Plain, channel);
            assert!(team.contains("#2001") && !team.contains("#2101"), "{team}");
            assert!(!team.contains("#2104"), "{team}");
        }
    }

    /// gin's notes list dependency updates under their own heading: the draft does too,
    /// and they are no longer counted as left out. Posts never announce them.
    #[test]
    fn upkeep_the_notes_list_gets_its_own_heading_and_never_reaches_posts() {
        let changes = understand(&[
            commit(
                1,
                "feat: add BindPlain (#3904)",
                "Ada",
                &["binding/plain.go"],
            ),
            commit(
                2,
                "chore(deps): bump golang.org/x/net from 0.37.0 to 0.38.0 (#4221)",
                "Grace",
                &["go.mod", "go.sum"],
            ),
            commit(
                3,
                "ci: support Go 1.25 (#4341)",
                "Grace",
                &[".github/workflows/gin.yml"],
            ),
        ]);
        let style = covalynce_understanding::HouseStyle {
            lists_upkeep: vec![covalynce_understanding::Noise::DependencyBump],
            ..Default::default()
        };
        let ctx = Context {
            project: "gin".into(),
            version: Some("v1.11.0".into()),
            style: Some(style),
            ..Context::default()
        };
        let notes = release_notes(&changes, &ctx);
        assert!(
            notes.contains(
                "### Dependency updates\n\n- Bump golang.org/x/net from 0.37.0 to 0.38.0 (#4221)"
            ),
            "{notes}"
        );
        assert!(
            notes.contains("_1 change not listed: 1 CI-only change._"),
            "{notes}"
        );
        for channel in crate::Channel::ALL {
            let post = crate::posts::post(&changes, &ctx, crate::Voice::Plain, channel);
            assert!(
                !post.contains("#4221") && !post.contains("x/net"),
                "{channel:?}: {post}"
            );
        }
        // Without that style, the bump is counted, not listed.
        let plain = release_notes(&changes, &Context { style: None, ..ctx });
        assert!(
            !plain.contains("Dependency updates") && !plain.contains("#4221"),
            "{plain}"
        );
    }

    #[test]
    fn issue_links_in_titles_read_as_references() {
        let repo = Some("Seldaek/monolog");
        assert_eq!(
            short_links(
                "Fix issue https://github.com/Seldaek/monolog/issues/1984",
                repo
            ),
            "Fix issue #1984"
        );
        assert_eq!(
            short_links("See https://github.com/php-fig/log/pull/12.", repo),
            "See php-fig/log#12."
        );
        assert_eq!(
            short_links(
                "Docs at https://github.com/Seldaek/monolog/blob/main/README.md",
                repo
            ),
            "Docs at https://github.com/Seldaek/monolog/blob/main/README.md"
        );
        let c = understand(&[commit(
            1,
            "Fix issue https://github.com/Seldaek/monolog/issues/1984 (#1999)",
            "Greg",
            &["src/Monolog/Logger.php"],
        )]);
        let ctx = Context {
            project: "Monolog".into(),
            version: Some("3.10.0".into()),
            url: Some("https://github.com/Seldaek/monolog/releases/tag/3.10.0".into()),
            ..Context::default()
        };
        let notes = release_notes(&c, &ctx);
        assert!(
            notes.contains("- Fix issue #1984 (#1999) by Greg"),
            "{notes}"
        );
    }

    #[test]
    fn an_empty_range_says_so() {
        let notes = release_notes(&Changeset::default(), &Context::default());
        assert_eq!(notes, "## Changes\n\nNo user-facing changes.\n");
    }
}
