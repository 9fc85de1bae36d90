//! The risk light: green, yellow (look before you post) or red (cannot be published
//! without an edit), with a reason a person can act on for every light that is not green.

use covalynce_domain::{EventFacts, Risk};
use covalynce_drafting::Channel;
use covalynce_understanding::Finding;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskReport {
    pub level: Risk,
    pub reasons: Vec<String>,
}

/// Claims a reader cannot check and a founder may not want to defend.
const SUPERLATIVES: [&str; 14] = [
    "fastest",
    "best",
    "100%",
    "guaranteed",
    "never fails",
    "bug-free",
    "world's first",
    "revolutionary",
    "unbreakable",
    "blazing",
    "zero bugs",
    "perfect",
    "always works",
    "#1",
];

/// Words that suggest the text was not meant for the public.
const INTERNAL: [&str; 6] = [
    "internal only",
    "confidential",
    "do not share",
    "nda",
    "customer name",
    "staging password",
];

/// How the reason for a secret in the event's own text begins: the review offers "I rotated
/// it" beside such a card.
pub const LEAK_REASON: &str = "the commit text contained a secret";

/// The light on a card's final texts given its event (none when it has no event): what a
/// fresh draft, an AI rewrite and a person's edit are all judged by. The event says whether
/// the repository is private, which link is the project's own, and whether its own text
/// (commit messages, diffs) leaked a secret: drafts never carry one, but editing them does
/// not un-leak it, so the card stays red until a person confirms it was `rotated`.
pub fn judge(
    variants: &BTreeMap<String, String>,
    event: Option<&crate::EventInput>,
    rotated: bool,
) -> RiskReport {
    let private = event.is_some_and(|e| e.facts.project.repo_private);
    let own_url = event.and_then(|e| EventFacts::link(e.facts));
    let posts: BTreeMap<Channel, String> = variants
        .iter()
        .filter_map(|(k, v)| Channel::parse(k).map(|c| (c, v.clone())))
        .collect();
    let leaked = match event {
        Some(e) if !rotated => crate::leaked(e),
        _ => Vec::new(),
    };
    assess(
        &posts,
        &leaked,
        event.filter(|_| private).map(|e| e.repo),
        own_url,
    )
}

/// `posts`: channel → text. `project_url` is the link the drafter itself added; other links
/// are worth a look.
pub fn assess(
    posts: &BTreeMap<Channel, String>,
    secrets: &[Finding],
    private_repo: Option<&str>,
    project_url: Option<&str>,
) -> RiskReport {
    let mut red: Vec<String> = Vec::new();
    let mut yellow: Vec<String> = Vec::new();
    let add = |list: &mut Vec<String>, reason: String| {
        if !list.contains(&reason) {
            list.push(reason);
        }
    };
    let mut kinds: Vec<&str> = secrets.iter().map(|f| f.kind).collect();
    kinds.dedup();
    if !kinds.is_empty() {
        add(
            &mut red,
            format!(
                "{LEAK_REASON} ({}); it was redacted from the draft, but check what else leaked and rotate it",
                kinds.join(", ")
            ),
        );
    }
    if let Some(repo) = private_repo {
        add(
            &mut red,
            format!("{repo} is a private repository: the draft names it and may link to it"),
        );
    }
    for (channel, text) in posts {
        // A secret in a post itself (pasted in an edit, written by the AI): never sent.
        let mut found: Vec<&str> = covalynce_understanding::redact_secrets(text)
            .1
            .iter()
            .map(|f| f.kind)
            .collect();
        found.dedup();
        if !found.is_empty() {
            add(
                &mut red,
                format!(
                    "the {} text contains a secret ({}): take it out, and rotate it",
                    channel.as_str(),
                    found.join(", ")
                ),
            );
        }
        let public = !matches!(channel, Channel::Slack | Channel::Discord);
        let single = !channel.threads() || covalynce_drafting::thread::posts(text).len() < 2;
        match covalynce_drafting::thread::over_limit(*channel, text) {
            // Long enough for a thread: a person decides, knowing what each channel does.
            Some((_, len)) if *channel == Channel::X && single && len <= channel.limit() * 10 => {
                add(
                    &mut yellow,
                    format!(
                        "the x post is {len} long; the limit is {}: it goes out as a thread on X channels that post threads, and is refused on others",
                        channel.limit()
                    ),
                )
            }
            Some((_, len)) if single => add(
                &mut red,
                format!(
                    "the {} post is {len} long; the limit is {}",
                    channel.as_str(),
                    channel.limit()
                ),
            ),
            Some((n, len)) => add(
                &mut red,
                format!(
                    "post {n} of the {} thread is {len} long; the limit is {}",
                    channel.as_str(),
                    channel.limit()
                ),
            ),
            None => {}
        }
        let lower = text.to_lowercase();
        for word in SUPERLATIVES {
            if lower.contains(word) {
                add(&mut yellow, format!("unverifiable claim: \"{word}\""));
            }
        }
        for word in INTERNAL {
            if contains_word(&lower, word) {
                add(&mut yellow, format!("looks internal: \"{word}\""));
            }
        }
        if public {
            for mention in mentions(text) {
                add(
                    &mut yellow,
                    format!(
                        "mentions {mention} in a public post: check they are happy to be tagged"
                    ),
                );
            }
            for link in links(text) {
                if project_url.is_none_or(|own| !link.starts_with(own)) {
                    add(
                        &mut yellow,
                        format!("links to {link}: check it is public and right"),
                    );
                }
            }
        }
    }
    let level = if !red.is_empty() {
        Risk::Red
    } else if !yellow.is_empty() {
        Risk::Yellow
    } else {
        Risk::Green
    };
    red.extend(yellow);
    RiskReport {
        level,
        reasons: red,
    }
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack.match_indices(word).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

fn mentions(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|w| w.starts_with('@') && w.len() > 1)
        .map(|w| w.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '-'))
        .filter(|w| w.len() > 1)
        .collect()
}

fn links(text: &str) -> Vec<&str> {
    text.split_whitespace()
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posts(text: &str) -> BTreeMap<Channel, String> {
        BTreeMap::from([
            (Channel::X, text.to_owned()),
            (Channel::Slack, "team note @ada".to_owned()),
        ])
    }

    #[test]
    fn plain_posts_are_green() {
        let r = assess(
            &posts("We shipped dark mode. https://github.com/acme/rocket/pull/3"),
            &[],
            None,
            Some("https://github.com/acme/rocket"),
        );
        assert_eq!(
            r,
            RiskReport {
                level: Risk::Green,
                reasons: vec![]
            }
        );
    }

    #[test]
    fn claims_mentions_and_foreign_links_are_yellow() {
        let r = assess(
            &posts("The fastest parser, thanks @bob! https://evil.example/x"),
            &[],
            None,
            Some("https://github.com/acme/rocket"),
        );
        assert_eq!(r.level, Risk::Yellow);
        assert!(r.reasons.iter().any(|x| x.contains("\"fastest\"")));
        assert!(r.reasons.iter().any(|x| x.contains("@bob")));
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("https://evil.example/x"))
        );
        assert!(
            !r.reasons.iter().any(|x| x.contains("@ada")),
            "team channels may mention people"
        );
    }

    #[test]
    fn an_x_post_long_enough_for_a_thread_is_yellow_not_red() {
        let r = assess(&posts(&"x".repeat(300)), &[], None, None);
        assert_eq!(r.level, Risk::Yellow, "{:?}", r.reasons);
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("the x post is 300 long") && x.contains("thread"))
        );
    }

    #[test]
    fn over_length_posts_and_secrets_are_red() {
        let long = "x".repeat(3001);
        let r = assess(
            &posts(&long),
            &[Finding {
                kind: "AWS access key",
            }],
            None,
            None,
        );
        assert_eq!(r.level, Risk::Red);
        assert!(r.reasons[0].contains("AWS access key"));
        assert!(
            r.reasons
                .iter()
                .any(|x| x.contains("the x post is 3001 long; the limit is 280"))
        );
    }

    #[test]
    fn words_inside_other_words_are_not_flagged() {
        let r = assess(
            &posts("Handle NDAs? No: handled standalone mode"),
            &[],
            None,
            None,
        );
        assert!(
            !r.reasons.iter().any(|x| x.contains("nda")),
            "{:?}",
            r.reasons
        );
    }
}
