//! Conventional Commits 1.0: `type(scope)!: description`, and `BREAKING CHANGE:` footers.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conventional {
    /// Lowercased type: `feat`, `fix`, …
    pub kind: String,
    pub scope: Option<String>,
    /// The `!` marker or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer.
    pub breaking: bool,
    /// What the footer says breaks (or the description, for a bare `!`).
    pub breaking_note: Option<String>,
    pub description: String,
}

/// Gitmoji (gitmoji.dev) that say the kind of change, as emoji or as `:code:`.
const GITMOJI: [(&str, &str, &str); 14] = [
    ("✨", ":sparkles:", "feat"),
    ("🐛", ":bug:", "fix"),
    ("🚑", ":ambulance:", "fix"),
    ("🩹", ":adhesive_bandage:", "fix"),
    ("⚡", ":zap:", "perf"),
    ("🐎", ":racehorse:", "perf"),
    ("🔒", ":lock:", "security"),
    ("📝", ":memo:", "docs"),
    ("♻", ":recycle:", "refactor"),
    ("✅", ":white_check_mark:", "test"),
    ("🧪", ":test_tube:", "test"),
    ("⬆", ":arrow_up:", "deps"),
    ("👷", ":construction_worker:", "ci"),
    ("💚", ":green_heart:", "ci"),
];

/// A subject opening with a gitmoji: the kind it says and the rest of the subject
/// ("✨ (prometheus): refactor LabelNames…" in client_golang).
fn gitmoji(subject: &str) -> Option<(&'static str, &str)> {
    GITMOJI.iter().find_map(|(emoji, code, kind)| {
        let rest = subject
            .strip_prefix(emoji)
            .or_else(|| subject.strip_prefix(code))?;
        // An emoji may carry its variation selector (U+FE0F).
        let rest = rest.trim_start_matches('\u{fe0f}').trim_start();
        (!rest.is_empty()).then_some((*kind, rest))
    })
}

/// Parses a commit message; `None` when its subject is not a conventional commit. A
/// leading gitmoji counts as the type: "✨ (scope): add x" and "✨ add x" are features,
/// "🐛 fix(api): y" is the fix it says, "🐛 parser: y" a fix of the parser.
pub fn parse_conventional(message: &str) -> Option<Conventional> {
    let subject = message.lines().next()?.trim();
    // A few gitmoji in a row ("✨🔥 …") say one thing: the first. Never more than a few
    // are read, whatever the subject holds.
    let mut rest = subject;
    let mut said = None;
    for _ in 0..3 {
        let Some((kind, after)) = gitmoji(rest) else {
            break;
        };
        said.get_or_insert(kind);
        rest = after;
    }
    let Some(kind) = said else {
        return parse_subject(subject, message);
    };
    // What stands before the colon: a type ("fix(api): …"), a component written in lower
    // case ("parser: …"), or prose ("Note: …", which stays in the description).
    let component = rest.split_once(':').is_some_and(|(head, _)| {
        !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c))
    });
    match parse_subject(rest, message) {
        Some(c) if crate::classify::known_type(&c.kind) => Some(c),
        Some(c) if c.scope.is_none() && component => Some(Conventional {
            kind: kind.to_owned(),
            scope: Some(c.kind),
            ..c
        }),
        // "(scope): description" or a plain description: the gitmoji is the type.
        _ => {
            let typed = if rest.starts_with('(') {
                format!("{kind}{rest}")
            } else {
                format!("{kind}: {rest}")
            };
            parse_subject(&typed, message)
        }
    }
}

/// `type(scope)!: description` in `subject`; the footers are read from `message`.
fn parse_subject(subject: &str, message: &str) -> Option<Conventional> {
    let (head, description) = subject.split_once(':')?;
    let description = description.trim();
    if description.is_empty() || head.is_empty() || head.len() > 40 {
        return None;
    }
    let (head, bang) = match head.strip_suffix('!') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let (kind, scope) = match head.split_once('(') {
        Some((kind, rest)) => {
            let scope = rest.strip_suffix(')')?.trim();
            if scope.is_empty() || scope.contains(['(', ')']) {
                return None;
            }
            (kind, Some(scope.to_owned()))
        }
        None => (head, None),
    };
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let footer = message.lines().skip(1).find_map(|l| {
        let l = l.trim();
        l.strip_prefix("BREAKING CHANGE:")
            .or_else(|| l.strip_prefix("BREAKING-CHANGE:"))
            .map(|n| n.trim().to_owned())
    });
    let breaking = bang || footer.is_some();
    Some(Conventional {
        kind: kind.to_ascii_lowercase(),
        scope,
        breaking,
        breaking_note: footer
            .filter(|n| !n.is_empty())
            .or_else(|| bang.then(|| description.to_owned())),
        description: description.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// client_golang #1850 was "✨ (prometheus): refactor LabelNames to return
    /// model.LabelNames type for consistency": the notes listed "✨ (prometheus): …" under
    /// Maintenance, emoji and scope pasted in.
    #[test]
    fn a_leading_gitmoji_is_the_type() {
        let c = parse_conventional(
            "✨ (prometheus): refactor LabelNames to return model.LabelNames type (#1850)",
        )
        .unwrap();
        assert_eq!(
            (c.kind.as_str(), c.scope.as_deref()),
            ("feat", Some("prometheus"))
        );
        assert_eq!(
            c.description,
            "refactor LabelNames to return model.LabelNames type (#1850)"
        );
        let c = parse_conventional(":bug: handle empty trees").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.description.as_str()),
            ("fix", "handle empty trees")
        );
        let c = parse_conventional("🐛 fix(api): y").unwrap();
        assert_eq!((c.kind.as_str(), c.scope.as_deref()), ("fix", Some("api")));
        let c = parse_conventional("⚡️ faster walk").unwrap();
        assert_eq!(c.kind, "perf");
        let c = parse_conventional("🐛 parser: handle empty input").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.scope.as_deref(), c.description.as_str()),
            ("fix", Some("parser"), "handle empty input")
        );
        // A type the understanding knows keeps its scope; prose before a colon is prose.
        let c = parse_conventional("🐛 hotfix(auth): expire sessions").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.scope.as_deref(), c.description.as_str()),
            ("hotfix", Some("auth"), "expire sessions")
        );
        let c = parse_conventional("✨ Note: exports are faster").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.scope, c.description.as_str()),
            ("feat", None, "Note: exports are faster")
        );
        // However many emoji a subject opens with, reading it is bounded.
        let many = format!("{} add x", "✨".repeat(20_000));
        let _ = parse_conventional(&many);
        let _ = parse_conventional(&":bug:".repeat(20_000));
        assert_eq!(
            parse_conventional("🎉 Release 1.0"),
            None,
            "not a kind of change"
        );
        assert_eq!(parse_conventional("✨"), None);
    }

    #[test]
    fn the_spec_examples_parse() {
        let c = parse_conventional("feat(lang): add Polish language").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.scope.as_deref(), c.breaking),
            ("feat", Some("lang"), false)
        );
        assert_eq!(c.description, "add Polish language");

        let c =
            parse_conventional("feat!: send an email to the customer when a product is shipped")
                .unwrap();
        assert!(c.breaking);
        assert_eq!(
            c.breaking_note.as_deref(),
            Some("send an email to the customer when a product is shipped")
        );

        let c = parse_conventional(
            "feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files",
        )
        .unwrap();
        assert!(c.breaking);
        assert_eq!(
            c.breaking_note.as_deref(),
            Some("`extends` key in config file is now used for extending other config files")
        );

        let c = parse_conventional("Fix(API)!: drop v1 routes").unwrap();
        assert_eq!(
            (c.kind.as_str(), c.scope.as_deref(), c.breaking),
            ("fix", Some("API"), true)
        );
    }

    #[test]
    fn ordinary_subjects_are_not_conventional() {
        for s in [
            "Fix the login crash",
            "Merge pull request #12 from a/b",
            "Update README.md",
            "feat:",
            "feat():x",
            "note: see https://example.com",
            "v1.2: release",
            "fix(a)(b): x",
            "",
        ] {
            let parsed = parse_conventional(s);
            assert!(
                parsed.is_none() || s.starts_with("note"),
                "{s:?} -> {parsed:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = parse_conventional(&s);
        }

        #[test]
        fn well_formed_subjects_round_trip(
            kind in "(feat|fix|docs|perf|refactor|chore|ci|build|test)",
            scope in proptest::option::of("[a-z][a-z0-9-]{0,12}"),
            bang in any::<bool>(),
            desc in "[a-zA-Z][a-zA-Z0-9 ,.'`-]{0,60}",
        ) {
            let subject = format!(
                "{kind}{}{}: {desc}",
                scope.as_ref().map(|s| format!("({s})")).unwrap_or_default(),
                if bang { "!" } else { "" }
            );
            let c = parse_conventional(&subject).unwrap();
            prop_assert_eq!(c.kind, kind);
            prop_assert_eq!(c.scope, scope);
            prop_assert_eq!(c.breaking, bang);
            prop_assert_eq!(c.description, desc.trim());
        }
    }
}
