//! Release notes in markdown: breaking changes called out first, then categories with what
//! users notice first, each item with its `#N` references and authors; noise counted, not
//! listed.

use crate::Context;
use covalynce_understanding::{Category, Changeset, Item};
use std::fmt::Write;

pub fn release_notes(changes: &Changeset, ctx: &Context) -> String {
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
    let breaking: Vec<&Item> = changes.breaking().collect();
    if !breaking.is_empty() {
        let _ = writeln!(out, "### ⚠️ Breaking changes\n");
        for item in &breaking {
            let note = item.breaking.as_deref().unwrap_or(&item.title);
            let _ = writeln!(out, "- {}{}{}", scope(item), note, refs(item));
        }
        out.push('\n');
    }
    for category in Category::ALL {
        let items: Vec<&Item> = changes.in_category(category).collect();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {}\n", category.heading());
        for item in items {
            let _ = writeln!(
                out,
                "- {}{}{}{}{}",
                scope(item),
                item.title,
                refs(item),
                by(item),
                details(item)
            );
        }
        out.push('\n');
    }
    if changes.items.is_empty() {
        let _ = writeln!(out, "No user-facing changes.\n");
    }
    if !changes.noise.is_empty() {
        let _ = writeln!(out, "_{}_\n", noise_summary(changes));
    }
    let people = changes.contributors();
    if !people.is_empty() {
        let _ = writeln!(out, "Thanks to {}.", join_and(&people));
    }
    out.trim_end().to_owned() + "\n"
}

fn scope(item: &Item) -> String {
    item.scope
        .as_ref()
        .map(|s| format!("**{s}:** "))
        .unwrap_or_default()
}

/// ` (#12, #7)`, or the short commit id when nothing is referenced.
fn refs(item: &Item) -> String {
    if item.refs.is_empty() {
        item.commits
            .first()
            .map(|c| format!(" ({})", c.get(..7).unwrap_or(c)))
            .unwrap_or_default()
    } else {
        let list: Vec<String> = item.refs.iter().map(|r| format!("#{r}")).collect();
        format!(" ({})", list.join(", "))
    }
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

pub(crate) fn noise_summary(changes: &Changeset) -> String {
    let mut counts: Vec<(Option<covalynce_understanding::Noise>, usize)> = Vec::new();
    for item in &changes.noise {
        match counts.iter_mut().find(|(k, _)| *k == item.noise) {
            Some((_, n)) => *n += 1,
            None => counts.push((item.noise, 1)),
        }
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(k, n)| match k {
            Some(noise) => noise.counted(*n),
            None if *n == 1 => "1 other".to_owned(),
            None => format!("{n} others"),
        })
        .collect();
    let total = changes.noise.len();
    format!(
        "{total} commit{} not listed: {}.",
        if total == 1 { "" } else { "s" },
        parts.join(", ")
    )
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

_1 commit not listed: 1 dependency update._

Thanks to Ada and Grace.
";
        assert_eq!(notes, expected);
    }

    #[test]
    fn an_empty_range_says_so() {
        let notes = release_notes(&Changeset::default(), &Context::default());
        assert_eq!(notes, "## Changes\n\nNo user-facing changes.\n");
    }
}
