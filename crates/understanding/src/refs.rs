//! References and people in commit messages: `Merge pull request #N`, squash titles
//! `… (#N)`, `Fixes #N` / issue and pull URLs, `Co-authored-by:` trailers.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub name: String,
    pub email: String,
}

/// The pull request a commit landed through, from its subject: GitHub's merge commit
/// (`Merge pull request #12 from owner/branch`) or squash title (`Add x (#12)`).
pub fn pr_ref(subject: &str) -> Option<u64> {
    let subject = subject.trim();
    if let Some(rest) = subject.strip_prefix("Merge pull request #") {
        return leading_number(rest);
    }
    let inner = subject.strip_suffix(')')?;
    let open = inner.rfind("(#")?;
    let n = &inner[open + 2..];
    (!n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        .then(|| n.parse().ok())
        .flatten()
}

/// The login in `Merge pull request #12 from alice/branch`.
pub fn merge_source_login(subject: &str) -> Option<&str> {
    let rest = subject.trim().strip_prefix("Merge pull request #")?;
    let from = rest.split_once(" from ")?.1;
    let login = from.split('/').next()?.trim();
    (!login.is_empty()).then_some(login)
}

/// The branch a PR merge came from: `release-1.21` in "Merge pull request #1744 from
/// prometheus/release-1.21".
pub fn merge_source_branch(subject: &str) -> Option<&str> {
    let rest = subject.trim().strip_prefix("Merge pull request #")?;
    let from = rest.split_once(" from ")?.1.trim();
    let branch = from.split_once('/').map_or(from, |(_, b)| b);
    (!branch.is_empty()).then_some(branch)
}

/// Issues a message closes or points at: `Fixes #12`, `closes: #3`, `Resolves owner/repo#4`
/// (as 4) and GitHub issue or pull URLs, in the order written; then the issues a change
/// says it belongs to ("This is part of #4132", "a surgical workaround for #3263", "In
/// #3711, we…"). Without duplicates.
pub fn issue_refs(message: &str) -> Vec<u64> {
    let mut out = refs_in(message, true);
    for n in pointed_at(message) {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Words before `#N` that make it the issue a change is a step of. Maintainers who cite
/// issues cite these (clap's notes: "(#2717)" for every commit saying "This is a part of
/// #2717"). Not "see #N" or "added in #N": over clap's releases those were mostly
/// background the notes left out.
const POINTERS: [&[&str]; 8] = [
    &["part", "of"],
    &["workaround", "for"],
    &["fix", "for"],
    &["towards"],
    &["addresses"],
    &["address"],
    &["related", "to"],
    &["relates", "to"],
];

/// The `#N` (this repository's numbers only: no `owner/repo#N`) that a pointer phrase
/// names, or that opens a sentence as "In #N". Read by paragraph, so a phrase wrapped over
/// two lines still counts and a line that starts with "in" mid-sentence does not open one;
/// quoted lines (`> …`, a bot quoting another project's notes) and fenced code are skipped.
fn pointed_at(message: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut paragraph: Vec<&str> = Vec::new();
    let mut paragraphs: Vec<Vec<&str>> = Vec::new();
    for line in message.lines() {
        let t = line.trim_start();
        if t.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || t.starts_with('>') {
            continue;
        }
        if t.is_empty() {
            paragraphs.push(std::mem::take(&mut paragraph));
        } else {
            paragraph.extend(t.split_whitespace());
        }
    }
    paragraphs.push(paragraph);
    let bare = |w: &str| {
        w.trim_start_matches('(')
            .trim_end_matches([':', ','])
            .to_ascii_lowercase()
    };
    for words in paragraphs {
        for (i, w) in words.iter().enumerate() {
            let digits = w
                .trim_start_matches('(')
                .strip_prefix('#')
                .map(|t| t.trim_end_matches([',', '.', ';', ')', ':']));
            let Some(n) = digits
                .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u64>().ok())
                .filter(|n| *n > 0)
            else {
                continue;
            };
            let phrase = POINTERS.iter().any(|p| {
                i >= p.len()
                    && words[i - p.len()..i]
                        .iter()
                        .zip(*p)
                        .all(|(b, p)| bare(b) == *p)
            });
            // "In #3711, we had…": the issue the change answers, as a sentence's opening.
            let opens = i >= 1
                && words[i - 1] == "In"
                && (i == 1 || words[i - 2].ends_with(['.', '!', '?']));
            if (phrase || opens) && !out.contains(&n) {
                out.push(n);
            }
        }
    }
    out
}

/// The closing words a reference may follow.
const CLOSING: [&str; 9] = [
    "close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved",
];

/// Whether a word is a closing word: "(fixes #1660)" as often as "Fixes #1660".
fn closes(word: &str) -> bool {
    let bare = word
        .trim_start_matches('(')
        .trim_end_matches([':', ','])
        .to_ascii_lowercase();
    CLOSING.contains(&bare.as_str())
}

/// [`issue_refs`]; with `links` false, only the numbers closing words name.
fn refs_in(message: &str, links: bool) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    let mut push = |n: u64| {
        if n > 0 && !out.contains(&n) {
            out.push(n);
        }
    };
    let words: Vec<&str> = message.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if closes(w) {
            // The next words may be a list: "Fixes #1, #2 and #3".
            for next in words.iter().skip(i + 1).take(6) {
                let t = next.trim_end_matches([',', '.', ';', ')']);
                if let Some(n) = t.rsplit_once('#').and_then(|(_, n)| n.parse().ok()) {
                    push(n);
                } else if !matches!(t, "and" | "&") {
                    break;
                }
            }
        }
        if !links {
            continue;
        }
        for marker in ["/issues/", "/pull/"] {
            if w.contains("github.com/")
                && let Some((_, tail)) = w.split_once(marker)
                && let Some(n) = leading_number(tail)
            {
                push(n);
            }
        }
    }
    out
}

/// Pull requests a message links to ("Follow-up to https://github.com/o/n/pull/90")
/// without a closing word before them: references, but not issues the change fixes.
pub fn linked_pulls(message: &str) -> Vec<u64> {
    let closed = refs_in(message, false);
    let words: Vec<&str> = message.split_whitespace().collect();
    let mut out: Vec<u64> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if let Some((_, tail)) = w.split_once("/pull/")
            && w.contains("github.com/")
            && !(i > 0 && closes(words[i - 1]))
            && let Some(n) = leading_number(tail)
            && !closed.contains(&n)
            && !out.contains(&n)
        {
            out.push(n);
        }
    }
    out
}

/// Numbers a message gives only as a link to another owner's issue or pull request
/// ("For https://github.com/open-telemetry/opentelemetry-go/pull/5755", a footnote to
/// golang/go/issues/19841): context, not this project's work. A number the message also
/// names as a plain `#N` stays; so does `Resolves nuxt/nuxt#33694`, which maintainers do
/// cite.
pub fn foreign_refs(message: &str, owner: &str) -> Vec<u64> {
    let mut foreign: Vec<u64> = Vec::new();
    let mut own: Vec<u64> = Vec::new();
    for w in message.split_whitespace() {
        let w = w.trim_matches(|c: char| {
            matches!(c, '(' | ')' | '[' | ']' | ',' | '.' | ';' | ':' | '<' | '>')
        });
        if let Some((_, after)) = w.split_once("github.com/") {
            let mut parts = after.split('/');
            let (who, _repo, kind, n) = (parts.next(), parts.next(), parts.next(), parts.next());
            if matches!(kind, Some("issues" | "pull"))
                && let (Some(who), Some(n)) = (who, n.and_then(leading_number))
                && !who.eq_ignore_ascii_case(owner)
            {
                foreign.push(n);
            }
        } else if let Some(n) = w.strip_prefix('#').and_then(leading_number) {
            own.push(n);
        }
    }
    foreign.retain(|n| !own.contains(n));
    foreign
}

/// `Co-authored-by: Name <email>` trailers.
pub fn co_authors(message: &str) -> Vec<Person> {
    message
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (key, value) = l.split_once(':')?;
            if !key.trim().eq_ignore_ascii_case("co-authored-by") {
                return None;
            }
            let (name, rest) = value.split_once('<')?;
            let email = rest.split_once('>')?.0.trim();
            let name = name.trim();
            // A trailer left as the template wrote it ("Co-authored-by: Name <email>",
            // "name <name@example.com>") names nobody.
            let placeholder = ["name", "full name", "your name", "author"]
                .contains(&name.to_ascii_lowercase().as_str())
                || [
                    "email",
                    "email@example.com",
                    "name@example.com",
                    "you@example.com",
                ]
                .contains(&email.to_ascii_lowercase().as_str());
            (!name.is_empty() && !placeholder).then(|| Person {
                name: name.to_owned(),
                email: email.to_owned(),
            })
        })
        .collect()
}

fn leading_number(s: &str) -> Option<u64> {
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn another_projects_numbers_are_not_this_ones() {
        let msg = "Set allow-utf-8 in Format (#1618)\n\nFor https://github.com/open-telemetry/opentelemetry-go/pull/5755\n[2] https://github.com/golang/go/issues/19841#issuecomment-293334802\nfixes #7";
        assert_eq!(foreign_refs(msg, "prometheus"), vec![5755, 19841]);
        // Cited the way maintainers cite them, or also as this project's own: kept.
        assert!(foreign_refs("resolves nuxt/nuxt#33694", "vuejs").is_empty());
        assert!(foreign_refs("See #42 and https://github.com/other/x/pull/42", "acme").is_empty());
        assert!(foreign_refs("https://github.com/ACME/rocket/pull/3", "acme").is_empty());
    }

    #[test]
    fn template_co_author_trailers_credit_nobody() {
        let message = "Fix X\n\nCo-authored-by: Name <email>\nCo-authored-by: Grace <grace@example.com>\nCo-authored-by: Your Name <you@example.com>";
        let people = co_authors(message);
        assert_eq!(people.len(), 1, "{people:?}");
        assert_eq!(people[0].name, "Grace");
    }

    #[test]
    fn pull_requests_from_merges_and_squashes() {
        assert_eq!(
            pr_ref("Merge pull request #1347 from octocat/fix-login"),
            Some(1347)
        );
        assert_eq!(pr_ref("Add --wrap=word flag (#88)"), Some(88));
        assert_eq!(pr_ref("feat(cli): add --wrap=word (#88)"), Some(88));
        assert_eq!(pr_ref("Fix crash (see #12) in parser"), None);
        assert_eq!(pr_ref("Bump serde (#abc)"), None);
        assert_eq!(pr_ref("Plain commit"), None);
        assert_eq!(
            merge_source_login("Merge pull request #1 from alice/feature-x"),
            Some("alice")
        );
    }

    #[test]
    fn closing_keywords_and_links() {
        assert_eq!(issue_refs("Handle empty input\n\nFixes #12"), vec![12]);
        assert_eq!(
            issue_refs("closes: #3, #4 and #5. Also see #9"),
            vec![3, 4, 5]
        );
        assert_eq!(issue_refs("Resolves acme/rocket#42"), vec![42]);
        assert_eq!(
            issue_refs(
                "See https://github.com/acme/rocket/issues/7 and https://github.com/acme/rocket/pull/8"
            ),
            vec![7, 8]
        );
        assert!(issue_refs("Fixed the build").is_empty());
        // The issue a change says it is a step of, or answers (clap's commits and notes).
        assert_eq!(
            issue_refs("fix: Deprecate X\n\nThis is a part of #2717\n\nFixes #12"),
            vec![12, 2717]
        );
        assert_eq!(
            issue_refs(
                "fix(parser): Loosen asserts\n\nA surgical workaround for #3263.  It works."
            ),
            vec![3263]
        );
        assert_eq!(
            issue_refs("fix(assert): Check groups\n\nIn #3711, we had a confusing assert."),
            vec![3711]
        );
        // Background is not the issue: where a bug came from, what to read, another
        // repository's numbers, a mid-sentence "in".
        assert!(issue_refs("This was added in #165 but broke. See #950 for more.").is_empty());
        assert!(issue_refs("This is part of rust-lang/cargo#4132").is_empty());
        // Wrapped over lines, with a colon; not a line that opens with "in" mid-sentence,
        // not a quoted note of another project, not code, not "#+12".
        assert_eq!(
            issue_refs("refactor: split the parser\n\nThis is a part\nof #2717. Related to: #12"),
            vec![2717, 12]
        );
        assert!(issue_refs("fix: x\n\nThe bug was introduced by\nin #165.").is_empty());
        assert!(issue_refs("Bump ws\n\n> * Fix for #123 in upstream").is_empty());
        assert!(issue_refs("docs\n\n```\npart of #55\n```").is_empty());
        assert!(issue_refs("This is part of #+12").is_empty());
        // A pull request linked without a closing word is no issue the change fixes.
        let follow_up = "Fix X (#100)\n\nFollow-up to https://github.com/o/n/pull/90, fixes https://github.com/o/n/pull/91 and #7";
        assert_eq!(linked_pulls(follow_up), vec![90]);
    }

    #[test]
    fn co_author_trailers() {
        let people = co_authors(
            "Pair on parser\n\nCo-authored-by: Ada Lovelace <ada@example.com>\nco-authored-by: Bob <bob@example.com>\nSigned-off-by: X <x@y>",
        );
        assert_eq!(
            people.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            vec!["Ada Lovelace", "Bob"]
        );
        assert_eq!(people[0].email, "ada@example.com");
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,300}") {
            let _ = pr_ref(&s);
            let _ = issue_refs(&s);
            let _ = co_authors(&s);
            let _ = merge_source_login(&s);
        }

        #[test]
        fn squash_numbers_are_found(title in "[A-Za-z][A-Za-z ]{0,40}", n in 1u64..1_000_000) {
            prop_assert_eq!(pr_ref(&format!("{title} (#{n})")), Some(n));
        }

        #[test]
        fn closing_refs_are_found(n in 1u64..1_000_000, verb in "(Fixes|Closes|Resolves|fix|close)") {
            prop_assert_eq!(issue_refs(&format!("Something\n\n{verb} #{n}")), vec![n]);
        }
    }
}
