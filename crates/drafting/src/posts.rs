//! Per-channel posts: written for people who use the software — what changed and why it
//! matters — not a commit list. Every sentence of a post carries a fact of this change (the
//! project and version, the headline, a title, the people): a voice is a way of writing,
//! not a set of stock sentences, so nothing reads the same week after week. The same change
//! always gets the same draft.
//!
//! Formatting follows each platform: X, Bluesky, Mastodon and LinkedIn show text as typed,
//! so their posts carry no markdown; Slack gets mrkdwn, Discord markdown.

use crate::notes::{cited, join_and, listed, unlisted_summary};
use crate::{Channel, Context, Voice};
use covalynce_understanding::{Category, Changeset, HouseStyle, Item};

pub fn post(changes: &Changeset, ctx: &Context, voice: Voice, channel: Channel) -> String {
    let facts = Facts::new(changes, ctx);
    let (head, lines, tail) = match channel {
        Channel::X | Channel::Bluesky => short(&facts, voice, channel),
        Channel::Mastodon => medium(&facts, voice),
        Channel::Linkedin => long(&facts, voice),
        Channel::Slack => team(&facts, changes, ctx, true),
        Channel::Discord => team(&facts, changes, ctx, false),
    };
    // A line of three dashes separates a thread's posts: a commit that writes one (a
    // breaking-change note with a rule) must not split a post.
    let unbreak = |l: &str| {
        l.lines()
            .map(|x| {
                if x.trim() == crate::thread::BREAK {
                    "—"
                } else {
                    x
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (head, tail) = (unbreak(&head), unbreak(&tail));
    let lines: Vec<String> = lines.iter().map(|l| unbreak(l)).collect();
    // Changes a social post leaves to the release notes: it names the headline and the next
    // few, never the whole list (see `MOST_LISTED`). LinkedIn says so in its own words.
    let hidden = match channel {
        Channel::X | Channel::Bluesky | Channel::Mastodon => facts.unlisted(),
        _ => 0,
    };
    // What does not fit one post becomes a numbered thread where the platform has threads,
    // rather than a post that drops most of the release.
    if channel.threads()
        && channel.length(&compose(&head, &lines, lines.len(), &tail, hidden)) > channel.limit()
        && let Some(thread) = crate::thread::compose(channel, &head, &lines, &tail, hidden)
        && thread.len() > 1
    {
        return crate::thread::join(&thread);
    }
    fit(channel, &head, &lines, &tail, hidden)
}

/// What every channel's post draws on.
struct Facts<'a> {
    project: &'a str,
    version: Option<&'a str>,
    branch: Option<&'a str>,
    /// False when the range only has docs, refactors, tests and chores.
    visible: bool,
    /// The most user-visible change first, then the others users notice.
    highlights: Vec<&'a Item>,
    breaking: Vec<&'a Item>,
    counts: Vec<(Category, usize)>,
    /// Of the features counted, how many deprecate and how many remove something (the
    /// notes list them under Deprecated and Removed): "14 new features, 2 deprecations and
    /// 6 removals", not "22 new features".
    taken_away: (usize, usize),
    /// The same of what the notes list: the team's head counts these, and what the notes
    /// leave out (tests, under most house styles) once, in its "not listed" tail. rack
    /// 3.2.0's Slack head said "50 other changes" and its tail "14 test changes" of the
    /// same tests.
    listed_counts: Vec<(Category, usize)>,
    listed_taken_away: (usize, usize),
    url: Option<&'a str>,
    hashtags: &'a [String],
    people: Vec<String>,
}

impl<'a> Facts<'a> {
    fn new(changes: &'a Changeset, ctx: &'a Context) -> Self {
        let style = ctx.style.as_ref();
        let mut highlights: Vec<&Item> = changes
            .user_visible()
            .filter(|i| listed(i, style))
            .collect();
        let visible = !highlights.is_empty();
        if !visible {
            highlights = changes.items.iter().collect();
        }
        // The change users will notice most leads, then the next most noticeable, so what a
        // post or thread has no room for is the internal work; equals keep their order.
        highlights.sort_by_key(|i| std::cmp::Reverse(prominence(i)));
        // Security fixes come right after the headline: rack 3.2.0's and client_golang
        // 1.24.0's came after a dozen features, where no one who must update would see them.
        if let Some((_, rest)) = highlights.split_first_mut() {
            rest.sort_by_key(|i| i.category != Category::Security);
        }
        let counted = |only_listed: bool| -> Vec<(Category, usize)> {
            Category::ALL
                .into_iter()
                .map(|c| {
                    let n = changes
                        .in_category(c)
                        .filter(|i| !only_listed || listed(i, style))
                        .count();
                    (c, n)
                })
                .filter(|(_, n)| *n > 0)
                .collect()
        };
        let of_kind = |kind, only_listed: bool| {
            changes
                .in_category(Category::Feature)
                .filter(|i| !only_listed || listed(i, style))
                .filter(|i| crate::notes::FeatureKind::of(&i.title) == kind)
                .count()
        };
        use crate::notes::FeatureKind as K;
        Self {
            taken_away: (of_kind(K::Deprecated, false), of_kind(K::Removed, false)),
            listed_taken_away: (of_kind(K::Deprecated, true), of_kind(K::Removed, true)),
            listed_counts: counted(true),
            counts: counted(false),
            project: &ctx.project,
            version: ctx.version.as_deref(),
            branch: ctx.branch.as_deref(),
            visible,
            breaking: changes.breaking().collect(),
            highlights,
            url: ctx.url.as_deref(),
            hashtags: &ctx.hashtags,
            people: changes.contributors(),
        }
    }

    /// "gin v1.11.0", or the project alone for a push.
    fn name(&self) -> String {
        match self.version {
            Some(v) => format!("{} {v}", self.project),
            None => self.project.to_owned(),
        }
    }

    /// The changes after the headline a post may name on a line of their own. Breaking
    /// changes are not among them: each has its "⚠️ Breaking: …" line already.
    fn others(&self) -> impl Iterator<Item = &&'a Item> + '_ {
        self.highlights
            .iter()
            .skip(1)
            .filter(|i| says_something(i) && i.breaking.is_none())
    }

    /// How many of [`Facts::others`] a social post lists: all of them, or [`MOST_LISTED`]
    /// when more than one would be left (a line says more than "…and 1 more").
    fn listed(&self) -> usize {
        let n = self.others().count();
        if n > MOST_LISTED + 1 { MOST_LISTED } else { n }
    }

    /// How many changes a social post leaves to the release notes (counted, not named).
    fn unlisted(&self) -> usize {
        self.others().count() - self.listed()
    }

    fn headline(&self) -> Option<&'a Item> {
        self.highlights.first().copied()
    }

    /// The opening sentence: what shipped, led by its headline, in the voice's way.
    fn opening(&self, voice: Voice) -> String {
        let name = self.name();
        let Some(item) = self.headline() else {
            // Only bookkeeping (client_golang v1.24.1 read "nothing user-facing, no
            // user-facing changes."): say it once.
            return if self.counts.is_empty() {
                format!("{name}: no user-facing changes.")
            } else {
                format!("{name}: nothing user-facing, {}.", counts_text(self))
            };
        };
        let title = social_title(item);
        if !self.visible && self.highlights.len() == 1 {
            // One piece of work users do not see: say what it is ("1 refactor. First up:"
            // read as if more were coming, gin v1.10.1).
            return match voice {
                Voice::Sassy => format!("🔧 Under the hood in {name}: {}.", lower_first(&title)),
                _ => format!("{name}: {title}."),
            };
        }
        if !self.visible {
            // Only work users do not see: say what kind, and the first piece of it.
            return match voice {
                Voice::Sassy => format!(
                    "🔧 Under the hood in {name}: {}. First up: {title}.",
                    counts_text(self)
                ),
                _ => format!("{name}: {}, starting with {title}.", counts_text(self)),
            };
        }
        let mark = if voice == Voice::Sassy {
            format!("{} ", marker(item, voice))
        } else {
            String::new()
        };
        // Excitement is for what users gain: "Upgrade vulnerable dependency!" and "Fix
        // crash on start!" read as glee at a flaw.
        let cheers = matches!(item.category, Category::Feature | Category::Performance);
        let end = if voice == Voice::Sassy && cheers {
            "!"
        } else {
            "."
        };
        match (self.version, self.branch) {
            // A release: "gin v1.11.0 adds HTTP/3 support."
            (Some(_), _) => match third_person(&title) {
                Some(verb_phrase) if voice != Voice::Technical => {
                    format!("{mark}{name} {verb_phrase}{end}")
                }
                _ => format!("{mark}{name} is out: {title}{end}"),
            },
            // A push is not released: it landed on its branch.
            (None, Some(branch)) => match voice {
                Voice::Technical => format!("{name} ({branch}): {title}."),
                _ => format!("{mark}Landed on {name}'s {branch} branch: {title}{end}"),
            },
            (None, None) => format!("{mark}New in {name}: {title}{end}"),
        }
    }

    fn tags(&self, most: usize) -> String {
        self.hashtags
            .iter()
            .take(most)
            .map(|t| format!("#{t}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// How much users notice a change: new things first (more with a new flag or endpoint),
/// then security, speed and fixes; titles that read as internal work rank last.
fn prominence(item: &Item) -> i32 {
    let lower = item.title.to_lowercase();
    // A dependency update matters (a security one is listed), but is rarely the news.
    let dependency = [
        "update dependency",
        "bump ",
        "upgrade ",
        "update module",
        "update rust crate",
    ]
    .iter()
    .any(|w| lower.starts_with(w));
    let base = match item.category {
        _ if dependency => 10,
        Category::Feature => 40,
        Category::Security => 30,
        Category::Performance => 25,
        Category::Fix => 20,
        Category::Docs => 5,
        _ => 0,
    };
    // A flag or endpoint users type, found in the code or named in the title ("Add
    // `--logfile`").
    let user_facing = item
        .highlights
        .iter()
        .any(|h| h.ends_with(" flag") || h.ends_with(" endpoint"))
        || lower
            .match_indices("--")
            .any(|(at, _)| lower[at + 2..].starts_with(|c: char| c.is_ascii_alphabetic()));
    // The project's own upkeep, worded as a change ("Change links to point to gitui-org",
    // gitui's headline): never the news.
    let internal = [
        "test",
        "internal",
        // Test coverage bookkeeping ("Add nocov markings around code only executed in Ruby
        // < 3.2" led rack 3.2.0's posts).
        "nocov",
        "coverage",
        "refactor",
        "baseline",
        "ci ",
        "lint",
        "typo",
        "license",
        "readme",
        "clippy",
        "nightly",
        "msrv",
        "changelog",
        "cargo-",
        "cargo ",
        " docs",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| w == "link" || w == "links");
    // Examples and tutorials teach the project (client_golang 1.24.0 led with "Add native
    // histogram usage example"); they are not what a release brings its users.
    // The word as a noun of its own: not "for example", not an `--example` flag.
    let teaching = |w: &str| matches!(w, "example" | "examples" | "tutorial" | "tutorials");
    let words: Vec<&str> = lower.split_whitespace().collect();
    let teaching = words.iter().enumerate().any(|(at, w)| {
        !w.trim_start_matches('`').starts_with("--")
            && teaching(w.trim_matches(|c: char| !c.is_ascii_alphanumeric()))
            && (at == 0 || words[at - 1] != "for")
    }) || item
        .scope
        .as_deref()
        .is_some_and(|s| teaching(&s.to_lowercase()));
    // Keeping up with others' deprecations ("Replace deprecated code in MongoDB classes and
    // allow 2.0+", monolog) matters to some users but is rarely what a release is about.
    let catching_up = lower.contains("deprecated");
    // Taking something away is rarely the news of a release (rack 3.2.0 led with "removes
    // autoload for rack/logger which has been removed"); a removal users must act on is a
    // breaking change and has a line of its own.
    let removal = ["remove ", "removed ", "drop ", "delete "]
        .iter()
        .any(|w| lower.starts_with(w));
    // A stricter behaviour ("Invalid cookie keys will now raise an error", rack 3.1.0) is
    // a change users must hear of, said in the notes; a release post does not lead with it.
    let stricter = [
        "raise an error",
        "raises an error",
        "now raise",
        "now reject",
        "now fail",
        "no longer accept",
    ]
    .iter()
    .any(|w| lower.contains(w))
        // "No longer raise an error on …", "Don't raise an error when …": a relaxation.
        && !["no longer raise", "don't raise", "do not raise", "not raise", "never raise"]
            .iter()
            .any(|w| lower.contains(w));
    let words = item.title.split_whitespace().count() as i32;
    base + if user_facing { 8 } else { 0 } + if item.breaking.is_some() { 4 } else { 0 }
        - if vague(&item.title) { 40 } else { 0 }
        - if internal { 15 } else { 0 }
        - if stricter { 12 } else { 0 }
        - if teaching { 30 } else { 0 }
        - if catching_up { 10 } else { 0 }
        - if removal { 12 } else { 0 }
        // A title of a few words says more than one word and reads better than a paragraph.
        + (words.min(8) - (words - 14).max(0))
}

/// A title as a social post shows it: no markdown, no trailing period, sentence case, and
/// only the detail a user acts on (a new flag or endpoint), never internal symbols.
fn social_title(item: &Item) -> String {
    // Spelled out before the backticks go: code stays as written.
    let title = no_hashtags(&without_refs(&plain(&spelled_out(&item.title))));
    let title = first_clause(title.trim().trim_end_matches('.').trim());
    let mut out = upper_first(&fix_worded(item, title));
    if let Some(h) = item
        .highlights
        .iter()
        .find(|h| h.ends_with(" flag") || h.ends_with(" endpoint"))
    {
        let h = plain(h);
        if !out.to_lowercase().contains(&h.to_lowercase()) {
            out = format!("{out} ({h})");
        }
    }
    out
}

/// Developers' shorthand in a commit subject, written out for people who do not read
/// commits ("upgrade vuln dep", gitui's demo, is posted as "Upgrade vulnerable
/// dependency"). Only a lower-case word of its own: never inside backticks, nor glued to a
/// name (`dep_graph`, `cargo-deps`, `vendor/deps`, `msg.rs`), nor part of a longer word.
fn spelled_out(title: &str) -> String {
    let chars: Vec<char> = title.chars().collect();
    // Words: maximal runs of letters and digits (any script), as char positions.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            words.push((start, i));
        } else {
            i += 1;
        }
    }
    let at = |n: usize| chars.get(n).copied();
    let text = |(a, b): (usize, usize)| -> String { chars[a..b].iter().collect() };
    // Free: outside code, and not glued to a name on either side (`.` and `:` glue only
    // when a word follows them: "deps." ends a sentence, "msg.rs" is a file).
    let free = |(a, b): (usize, usize)| -> bool {
        let in_code = chars[..a].iter().filter(|c| **c == '`').count() % 2 == 1;
        let glued_before = a
            .checked_sub(1)
            .and_then(at)
            .is_some_and(|c| "_-/.:`@#$\\".contains(c));
        let glued_after = match at(b) {
            Some(c) if "_-/`\\".contains(c) => true,
            Some('.' | ':') => at(b + 1).is_some_and(char::is_alphanumeric),
            _ => false,
        };
        !in_code && !glued_before && !glued_after
    };
    let mut out = String::with_capacity(title.len() + 16);
    let mut copied = 0;
    for (n, &w) in words.iter().enumerate() {
        if !free(w) {
            continue;
        }
        let dep_follows = words.get(n + 1).is_some_and(|&next| {
            next.0 == w.1 + 1
                && at(w.1) == Some(' ')
                && matches!(text(next).as_str(), "dep" | "deps")
                && free(next)
        });
        let long = match text(w).as_str() {
            // "vuln dep" is a vulnerable dependency; "a vuln in the parser" a vulnerability.
            "vuln" if dep_follows => "vulnerable",
            "vuln" => "vulnerability",
            "vulns" => "vulnerabilities",
            "dep" => "dependency",
            "deps" => "dependencies",
            "msg" => "message",
            _ => continue,
        };
        out.extend(&chars[copied..w.0]);
        out.push_str(long);
        copied = w.1;
    }
    out.extend(&chars[copied..]);
    out
}

/// A method named the Ruby way at the start of a word ("Use `#inspect` to prevent log
/// injection", rack 3.2.0) would be a hashtag once the backticks are gone: the name alone.
/// A `#` inside a word ("Rack::Request#POST", "C#") is no hashtag and stays.
fn no_hashtags(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut previous: Option<char> = None;
    let mut chars = title.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_word = previous.is_none_or(|p| p.is_whitespace() || p == '(');
        if c == '#' && starts_word && chars.peek().is_some_and(|n| n.is_alphabetic()) {
            previous = Some(c);
            continue;
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// A title that lists its changes ("Simplified Store interface; renamed Handler to
/// WriteHandler; encapsulated write response", client_golang #1855) reads as a changelog
/// line in a post: the post says the first, the notes say all.
fn first_clause(title: &str) -> &str {
    let Some((first, rest)) = title.split_once("; ") else {
        return title;
    };
    // Not a list when the semicolon is inside something ("errors (EOF; timeouts)",
    // "text/html; charset=utf-8") or the first clause says too little alone.
    let balanced = first.matches('(').count() == first.matches(')').count()
        && first.matches('[').count() == first.matches(']').count();
    let parameter = rest
        .split_whitespace()
        .next()
        .is_some_and(|w| w.contains('='));
    if balanced && !parameter && first.split_whitespace().count() >= 3 {
        first.trim()
    } else {
        title
    }
}

/// "Data race warning for gin mode" under a fix is the bug, not the fix: say so, in posts
/// and in the team's list alike (Slack listed "Invalid Go toolchain version" among the
/// features). Only a title that names a bug gets the word; "Track Cargo env vars…" or
/// "Name the bash completion function…" say what the fix does, with a verb no list holds.
/// A security fix that starts with its vulnerability ("ReDoS in the Accept header
/// parser") is said to fix it.
fn fix_worded(item: &Item, title: &str) -> String {
    let bug = match item.category {
        Category::Fix => names_a_bug(title),
        Category::Security => {
            names_a_bug(title)
                || title
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .is_some_and(|w| {
                        let w = w.to_ascii_lowercase();
                        matches!(
                            w.as_str(),
                            "redos"
                                | "dos"
                                | "xss"
                                | "csrf"
                                | "ssrf"
                                | "xxe"
                                | "rce"
                                | "sqli"
                                | "cve"
                                | "ghsa"
                                | "vulnerability"
                                | "injection"
                        )
                    })
        }
        _ => false,
    };
    if bug && third_person(title).is_none() && !forbids(title) {
        format!("Fix {}", lower_first(title))
    } else {
        title.to_owned()
    }
}

/// Whether a title says what no longer happens ("don't panic when instrumenting…", client_golang):
/// that is the fix, and "Fix don't panic" would not be English.
fn forbids(title: &str) -> bool {
    let lower = title.to_lowercase();
    [
        "don't ",
        "dont ",
        "do not ",
        "never ",
        "no longer ",
        "stop ",
    ]
    .iter()
    .any(|w| lower.starts_with(w))
}

/// Whether a fix's title describes the bug rather than the fix.
fn names_a_bug(title: &str) -> bool {
    // Whole words: "change" holds "hang", "trace" holds "race", "debug" holds "bug".
    let lower = title.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().any(|w| {
        matches!(
            *w,
            "crash"
                | "crashes"
                | "crashed"
                | "panic"
                | "panics"
                | "error"
                | "errors"
                | "warning"
                | "warnings"
                | "race"
                | "leak"
                | "leaks"
                | "bug"
                | "bugs"
                | "broken"
                | "incorrect"
                | "incorrectly"
                | "wrong"
                | "fail"
                | "fails"
                | "failing"
                | "failure"
                | "missing"
                | "regression"
                | "hang"
                | "hangs"
                | "deadlock"
                | "overflow"
                | "typo"
                | "mismatch"
                | "invalid"
                | "duplicate"
                | "duplicated"
                | "not"
                | "doesn't"
                | "can't"
                | "cannot"
                | "unable"
        )
    })
}

/// Whether a title says something to a reader once links are set aside: "Fix issue
/// https://github.com/o/r/issues/1984" does not (the team notes keep it).
pub fn says_something(item: &Item) -> bool {
    words_beside_refs(&item.title).count() >= 3 && !vague(&item.title)
}

/// Whether a title names anything once links, references and filler are set aside ("Fix
/// #2987" does not; "Support IPv6" does): what a card needs to be a post at all.
pub fn names_something(item: &Item) -> bool {
    !vague(&item.title)
        && words_beside_refs(&item.title).any(|w| w.chars().any(char::is_alphanumeric))
        && item.title.split_whitespace().count() >= 2
}

/// A title's words without its links and `#N` references.
fn words_beside_refs(title: &str) -> impl Iterator<Item = &str> {
    title
        .split_whitespace()
        .filter(|w| !w.contains("://") && !w.starts_with('#'))
}

/// A title of filler words only: "Misc improvements", "Various fixes and cleanups",
/// "Minor UI tweaks" (mitmproxy 12.1.0's team notes listed "Misc improvements" third) name
/// no change a reader could look for. Such an item is never a headline nor a post's line;
/// the release notes keep it, where a reader follows its link.
fn vague(title: &str) -> bool {
    const FILLER: [&str; 34] = [
        "misc",
        "miscellaneous",
        "various",
        "minor",
        "small",
        "some",
        "more",
        "other",
        "few",
        "a",
        "and",
        "of",
        "to",
        "the",
        "improvements",
        "improvement",
        "improve",
        "fixes",
        "tweaks",
        "tweak",
        "changes",
        "cleanups",
        "cleanup",
        "updates",
        "stuff",
        "things",
        "bits",
        "polish",
        "ui",
        "ux",
        "web",
        "code",
        "fix",
        "issue",
    ];
    let words: Vec<String> = title
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '/' | '&' | '(' | ')' | ':'))
        .filter(|w| !w.is_empty() && !w.contains("://") && !w.starts_with('#'))
        .map(|w| {
            w.trim_matches(|c: char| !c.is_ascii_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty() && words.iter().all(|w| FILLER.contains(&w.as_str()))
}

/// A title without the `(#12)` references squash merges leave in it (posts link the
/// release instead), and without a trailing `#12`.
fn without_refs(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut rest = title;
    // "(#12)", and the qualified forms GitHub links too: "(gitui-org#2623)",
    // "(rust-lang/rust#1)".
    let reference = |inner: &str| {
        inner.split_once('#').is_some_and(|(repo, n)| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_digit())
                && repo.split('/').count() <= 2
                // "(C#9)" and "(F#8)" are languages, not an owner's references.
                && (repo.is_empty() || repo.contains('/') || repo.len() >= 3)
                && repo
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        })
    };
    while let Some(at) = rest.find('(') {
        let after = &rest[at + 1..];
        match after.find(')') {
            Some(end) if reference(&after[..end]) => {
                out.push_str(rest[..at].trim_end());
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str(&rest[..at + 1]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    // "Add NoDiscard attr, fixes #2012", "Add ZIP content view for issue #8051",
    // "Handle empty bodies (fixes #12)": the issue is for the notes, not the post.
    let mut text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    while let Some(cut) = trailing_issue(&text) {
        text.truncate(cut);
        text.truncate(text.trim_end_matches([' ', ',', ';', '-', ':']).len());
    }
    text
}

/// Where a closing mention of an issue starts: "…, fixes #12", "… for issue #12",
/// "…, closes #1, #2", "… (closes #12)", "… (broken in #1689)". `None` when the title
/// does not end with one, or would say nothing without it.
fn trailing_issue(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    // A parenthetical that ends with a reference is about the issue: all of it goes.
    if let Some(inner) = lower.strip_suffix(')')
        && let Some(open) = inner.rfind('(')
        && ends_with_refs(&inner[open + 1..]).is_some()
    {
        return (text[..open].split_whitespace().count() >= 2).then_some(open);
    }
    // Otherwise "(verb) (issue) #N(, #M…)" at the end, with a verb that says the change
    // closes or concerns the issue ("introduced in #12" is part of the sentence).
    let at = ends_with_refs(&lower)?;
    let refs_start = lower[..at].trim_end();
    let mut before = refs_start;
    if let Some(b) = before
        .strip_suffix("issues")
        .or_else(|| before.strip_suffix("issue"))
    {
        before = b.trim_end();
    }
    let verb = [
        "fixes", "fixed", "closes", "closed", "resolves", "resolved", "refs", "ref", "see", "for",
    ]
    .into_iter()
    .find(|w| {
        before.ends_with(w)
            && before[..before.len() - w.len()]
                .chars()
                .next_back()
                .is_none_or(|c| matches!(c, ' ' | ',' | ';' | '-'))
    })?;
    // "for" only before "issue": "Prepare for #12" is a sentence.
    if verb == "for" && before.len() == refs_start.len() {
        return None;
    }
    let cut = before.len() - verb.len();
    (text[..cut].split_whitespace().count() >= 2).then_some(cut)
}

/// Where a run of references ending `text` ("#12", "#12, #13", "#12 and #13") starts.
fn ends_with_refs(text: &str) -> Option<usize> {
    let mut end = text.trim_end().len();
    let mut start = None;
    loop {
        let head = &text[..end];
        let digits = head.len() - head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || !head[..end - digits].ends_with('#') {
            return start;
        }
        let hash = end - digits - 1;
        // A reference starts a word: "C#9" is a language.
        if text[..hash]
            .chars()
            .next_back()
            .is_some_and(|c| !matches!(c, ' ' | ',' | '('))
        {
            return start;
        }
        start = Some(hash);
        let rest = text[..hash].trim_end();
        match rest
            .strip_suffix(',')
            .or_else(|| rest.strip_suffix(" and"))
            .map(str::trim_end)
        {
            Some(r) if r.ends_with(|c: char| c.is_ascii_digit()) => end = r.len(),
            _ => return start,
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    // Keep acronyms and identifiers ("API", "CLI", "ReDoS", "GetXxx") as they are: only a
    // word with no capital after its first letter is an ordinary word.
    let first_word = s.split_whitespace().next().unwrap_or_default();
    let ordinary = !first_word.chars().skip(1).any(char::is_uppercase);
    match chars.next() {
        Some(c) if c.is_uppercase() && ordinary => c.to_lowercase().chain(chars).collect(),
        _ => s.to_owned(),
    }
}

/// Text without inline markdown: backticks, bold and italic markers.
fn plain(s: &str) -> String {
    s.replace("**", "").replace(['`'], "")
}

/// "Add dark mode" → "adds dark mode": the title as what the release does, when it starts
/// with a verb we know. `None` otherwise (the caller then says "is out: …").
fn third_person(title: &str) -> Option<String> {
    let (first, rest) = title.split_once(' ').unwrap_or((title, ""));
    let verb = first.to_lowercase();
    const VERBS: [(&[&str], &str); 85] = [
        (&["add", "added", "adds"], "adds"),
        (&["rotate", "rotated", "rotates"], "rotates"),
        (&["fix", "fixed", "fixes"], "fixes"),
        (&["improve", "improved", "improves"], "improves"),
        (&["support", "supported", "supports"], "supports"),
        (&["allow", "allowed", "allows"], "allows"),
        (&["make", "made", "makes"], "makes"),
        (&["remove", "removed", "removes"], "removes"),
        (&["introduce", "introduced", "introduces"], "introduces"),
        (&["implement", "implemented", "implements"], "implements"),
        (&["handle", "handled", "handles"], "handles"),
        (&["avoid", "avoided", "avoids"], "avoids"),
        (&["prevent", "prevented", "prevents"], "prevents"),
        (&["enable", "enabled", "enables"], "enables"),
        (&["expose", "exposed", "exposes"], "exposes"),
        (&["reduce", "reduced", "reduces"], "reduces"),
        (&["speed", "sped", "speeds"], "speeds"),
        (
            &["optimize", "optimise", "optimized", "optimised"],
            "optimizes",
        ),
        (&["respect", "respected", "respects"], "respects"),
        (&["accept", "accepted", "accepts"], "accepts"),
        (&["show", "showed", "shows"], "shows"),
        (&["return", "returned", "returns"], "returns"),
        (&["replace", "replaced", "replaces"], "replaces"),
        (&["drop", "dropped", "drops"], "drops"),
        (&["rename", "renamed", "renames"], "renames"),
        (&["deprecate", "deprecated", "deprecates"], "deprecates"),
        (&["correct", "corrected", "corrects"], "corrects"),
        (&["restore", "restored", "restores"], "restores"),
        (&["preserve", "preserved", "preserves"], "preserves"),
        (&["detect", "detected", "detects"], "detects"),
        (&["resolve", "resolved", "resolves"], "resolves"),
        (&["use", "used", "uses"], "uses"),
        (&["update", "updated", "updates"], "updates"),
        (&["upgrade", "upgraded", "upgrades"], "upgrades"),
        (&["patch", "patched", "patches"], "patches"),
        (&["warn", "warned", "warns"], "warns"),
        (&["skip", "skipped", "skips"], "skips"),
        (&["keep", "kept", "keeps"], "keeps"),
        (&["ensure", "ensured", "ensures"], "ensures"),
        (&["normalize", "normalized", "normalizes"], "normalizes"),
        (&["ignore", "ignored", "ignores"], "ignores"),
        (&["reset", "resets"], "resets"),
        (&["emit", "emitted", "emits"], "emits"),
        (&["throw", "threw", "throws"], "throws"),
        (&["check", "checked", "checks"], "checks"),
        (&["include", "included", "includes"], "includes"),
        (&["exclude", "excluded", "excludes"], "excludes"),
        (&["set", "sets"], "sets"),
        (&["treat", "treated", "treats"], "treats"),
        (&["escape", "escaped", "escapes"], "escapes"),
        (&["validate", "validated", "validates"], "validates"),
        (&["reject", "rejected", "rejects"], "rejects"),
        (&["move", "moved", "moves"], "moves"),
        (&["align", "aligned", "aligns"], "aligns"),
        (&["clean", "cleaned", "cleans"], "cleans"),
        (&["loosen", "loosened", "loosens"], "loosens"),
        (&["tighten", "tightened", "tightens"], "tightens"),
        (&["unify", "unified", "unifies"], "unifies"),
        (&["stop", "stopped", "stops"], "stops"),
        (&["guard", "guarded", "guards"], "guards"),
        (&["pass", "passed", "passes"], "passes"),
        (&["clarify", "clarified", "clarifies"], "clarifies"),
        (&["simplify", "simplified", "simplifies"], "simplifies"),
        (&["limit", "limited", "limits"], "limits"),
        (&["relax", "relaxed", "relaxes"], "relaxes"),
        (&["require", "required", "requires"], "requires"),
        (&["catch", "caught", "catches"], "catches"),
        (&["trim", "trimmed", "trims"], "trims"),
        (&["strip", "stripped", "strips"], "strips"),
        (&["recover", "recovered", "recovers"], "recovers"),
        (&["propagate", "propagated", "propagates"], "propagates"),
        (
            &[
                "honor", "honour", "honored", "honoured", "honors", "honours",
            ],
            "honors",
        ),
        (&["retry", "retried", "retries"], "retries"),
        (&["report", "reported", "reports"], "reports"),
        (&["render", "rendered", "renders"], "renders"),
        (&["parse", "parsed", "parses"], "parses"),
        (&["load", "loaded", "loads"], "loads"),
        (&["close", "closed", "closes"], "closes"),
        (&["bound", "bounded", "bounds"], "bounds"),
        (&["clamp", "clamped", "clamps"], "clamps"),
        (&["sort", "sorted", "sorts"], "sorts"),
        (&["wrap", "wrapped", "wraps"], "wraps"),
        (&["tolerate", "tolerated", "tolerates"], "tolerates"),
        (&["revert", "reverted", "reverts"], "reverts"),
        (&["disable", "disabled", "disables"], "disables"),
    ];
    let conjugate = |word: &str| {
        VERBS
            .iter()
            .find(|(forms, _)| forms.contains(&word.to_lowercase().as_str()))
            .map(|(_, third)| *third)
    };
    let third = conjugate(&verb)?;
    if rest.is_empty() {
        return None;
    }
    // "Replace deprecated code and allow 2.0+" → "replaces … and allows 2.0+": a second
    // verb after "and" agrees with the first.
    let mut words: Vec<String> = rest.split(' ').map(str::to_owned).collect();
    for n in 1..words.len() {
        if words[n - 1] == "and"
            && let Some(again) = conjugate(&words[n])
        {
            words[n] = again.to_owned();
        }
    }
    Some(format!("{third} {}", words.join(" ")))
}

type Parts = (String, Vec<String>, String);

/// A social post names its headline and at most this many changes after it. Gin v1.11.0's
/// LinkedIn post listed 35 changes and its X thread ran to five posts down to "Use
/// strings.Cut to replace strings.SplitN": a changelog, not a post. The linked release
/// notes list everything.
const MOST_LISTED: usize = 8;

/// The next highlights after the headline as lines, each with its marker: at most
/// [`MOST_LISTED`] (the rest are counted where the post ends its list).
fn more_lines(f: &Facts, voice: Voice) -> Vec<String> {
    f.others()
        .take(f.listed())
        .map(|i| format!("{} {}", marker(i, voice), social_title(i)))
        .collect()
}

/// At most this many breaking changes have a line of their own in a post: clap 4.0.0's
/// LinkedIn post listed 50, and its X thread ran to five posts of them. The rest are
/// counted, and the release notes list them all.
const MOST_BREAKING: usize = 3;

/// The first `most` breaking changes, each as `text` writes it, then how many more and
/// `where_listed` (when there are more than one more: "…and 1 more" says less than the
/// line itself).
fn breaking_lines(
    f: &Facts,
    most: usize,
    text: impl Fn(&str) -> String,
    where_listed: &str,
) -> Vec<String> {
    let n = f.breaking.len();
    let shown = if n > most + 1 { most } else { n };
    let mut lines: Vec<String> = f
        .breaking
        .iter()
        .take(shown)
        .map(|b| {
            format!(
                "⚠️ Breaking: {}",
                text(b.breaking.as_deref().unwrap_or(&b.title))
            )
        })
        .collect();
    if n > shown {
        lines.push(format!(
            "⚠️ …and {} more breaking changes{where_listed}.",
            n - shown
        ));
    }
    lines
}

/// A post's breaking changes: plain text, the rest counted towards the release notes.
fn post_breaking_lines(f: &Facts) -> Vec<String> {
    let notes = if f.version.is_some() && f.url.is_some() {
        " in the release notes"
    } else {
        ""
    };
    breaking_lines(f, MOST_BREAKING, plain, notes)
}

fn link_and_tags(f: &Facts, tags: usize) -> String {
    let tags = f.tags(tags);
    match (f.url, tags.is_empty()) {
        (Some(url), true) => url.to_owned(),
        (Some(url), false) => format!("{url}\n\n{tags}"),
        (None, _) => tags,
    }
}

/// X and Bluesky: the opening sentence, the next changes while they fit, the link.
fn short(f: &Facts, voice: Voice, channel: Channel) -> Parts {
    let mut lines = post_breaking_lines(f);
    lines.extend(more_lines(f, voice));
    let tags = if channel == Channel::X { 1 } else { 2 };
    (f.opening(voice), lines, link_and_tags(f, tags))
}

/// Mastodon: room for the list.
fn medium(f: &Facts, voice: Voice) -> Parts {
    let mut lines = post_breaking_lines(f);
    lines.extend(more_lines(f, voice));
    (f.opening(voice), lines, link_and_tags(f, 3))
}

/// The most people a post names one by one.
const MOST_NAMED: usize = 8;

/// LinkedIn: the opening, everything users notice, breaking changes, who made it.
fn long(f: &Facts, voice: Voice) -> Parts {
    let mut lines = Vec::new();
    let more = more_lines(f, voice);
    if !more.is_empty() {
        lines.push(String::new());
        lines.push(match (f.version, f.branch) {
            (Some(v), _) => format!("Also in {v}:"),
            (None, Some(b)) => format!("Also on {b}:"),
            (None, None) => "Also new:".to_owned(),
        });
        lines.extend(more);
        match f.unlisted() {
            0 => {}
            n => lines.push(format!(
                "…and {n} more {}{}.",
                if n == 1 { "change" } else { "changes" },
                // A push has no release notes to point to.
                if f.version.is_some() && f.url.is_some() {
                    " in the release notes"
                } else {
                    ""
                }
            )),
        }
    }
    let breaking = post_breaking_lines(f);
    if !breaking.is_empty() {
        lines.push(String::new());
        lines.extend(breaking);
    }
    // Thanking the one person who will post this would be odd; a team gets named.
    if f.people.len() >= 2 {
        lines.push(String::new());
        // Forty names (client_golang 1.24.0) is a wall no one reads in a feed: the first
        // few, then how many more; the release notes thank everyone.
        let names = if f.people.len() > MOST_NAMED {
            format!(
                "{} and {} others",
                f.people[..MOST_NAMED - 2].join(", "),
                f.people.len() - (MOST_NAMED - 2)
            )
        } else {
            join_and(&f.people)
        };
        lines.push(match f.version {
            Some(v) => format!("{v} was made by {names}."),
            None => format!("Thanks to {names}."),
        });
    }
    (f.opening(voice), lines, link_and_tags(f, 3))
}

/// Slack and Discord: a note for the team, so it can list, count and cite, in the
/// platform's own markup.
fn team(f: &Facts, changes: &Changeset, ctx: &Context, slack: bool) -> Parts {
    let style: Option<&HouseStyle> = ctx.style.as_ref();
    let bold = |s: &str| {
        if slack {
            format!("*{s}*")
        } else {
            format!("**{s}**")
        }
    };
    let head = match (f.version, f.branch) {
        (Some(_), _) => format!("{} shipped: {}", bold(&f.name()), team_counts(f)),
        (None, Some(branch)) => format!(
            "{} — landed on `{branch}`: {}",
            bold(&f.name()),
            team_counts(f)
        ),
        (None, None) => format!("{}: {}", bold(&f.name()), team_counts(f)),
    };
    // The team's note names a few more than a post before it counts the rest, in the
    // platform's own markup.
    let notes = if f.version.is_some() {
        " in the notes"
    } else {
        ""
    };
    let mut lines = breaking_lines(f, 2 * MOST_BREAKING, str::to_owned, notes);
    // What users notice, most noticeable first; the docs and upkeep beside it are counted
    // in the head ("Fix build", "Update baseline" and "Downscale logo" were a third of
    // Monolog 3.10.0's list). A range of upkeep only lists its upkeep, as far as the
    // house style lists it (the rest is counted below, never both).
    let listed_here: Vec<&Item> = if f.visible {
        f.highlights.clone()
    } else {
        changes.items.iter().filter(|i| listed(i, style)).collect()
    };
    let repo = crate::notes::github_repo(ctx);
    for item in listed_here {
        // An issue link in the title reads as its reference, still a link in the
        // platform's markup ("Fix issue #1984", not the raw URL), and is not cited again
        // after the title.
        let title =
            crate::notes::linked_refs(&fix_worded(item, &item.title), repo.as_deref(), |r, url| {
                if slack {
                    format!("<{url}|{r}>")
                } else {
                    format!("[{r}]({url})")
                }
            });
        let refs: Vec<String> = cited(item, style)
            .into_iter()
            .filter(|r| !crate::notes::shows_ref(&title, *r))
            .map(|r| format!("#{r}"))
            .collect();
        let refs = if refs.is_empty() {
            String::new()
        } else {
            format!(" ({})", refs.join(", "))
        };
        let by = if item.authors.is_empty() {
            String::new()
        } else {
            format!(" — {}", join_and(&item.authors))
        };
        lines.push(format!("• {title}{refs}{by}"));
    }
    // A head with nothing listed under it is a sentence of its own, before what is counted
    // ("**client_golang v1.24.1** shipped: no user-facing changes *1 change not listed…*").
    let head = if lines.is_empty() {
        format!("{head}.")
    } else {
        head
    };
    let mut tail = String::new();
    if let Some(summary) = unlisted_summary(changes, style) {
        tail = if slack {
            format!("_{summary}_")
        } else {
            format!("*{summary}*")
        };
    }
    if let Some(url) = f.url {
        tail = format!("{tail}\n{url}").trim().to_owned();
    }
    (head, lines, tail)
}

/// The team's head counts what users get (features, fixes, speed-ups, security) and the
/// rest in one number: "7 new features, 6 bug fixes, 2 speed-ups and 19 other changes",
/// not a census of every kind of upkeep. A range of upkeep only is counted by kind.
fn team_counts(f: &Facts) -> String {
    let users = |c: &Category| {
        matches!(
            c,
            Category::Feature | Category::Fix | Category::Performance | Category::Security
        )
    };
    let counts = &f.listed_counts;
    let rest: usize = counts
        .iter()
        .filter(|(c, _)| !users(c))
        .map(|(_, n)| *n)
        .sum();
    if rest == 0 || !counts.iter().any(|(c, _)| users(c)) {
        return counts_text_of(counts, f.listed_taken_away);
    }
    let users_only: Vec<(Category, usize)> =
        counts.iter().copied().filter(|(c, _)| users(c)).collect();
    let mut parts = counted_parts(&users_only, f.listed_taken_away);
    parts.push(if rest == 1 {
        "1 other change".to_owned()
    } else {
        format!("{rest} other changes")
    });
    join_and(&parts)
}

fn counts_text(f: &Facts) -> String {
    counts_text_of(&f.counts, f.taken_away)
}

fn counts_text_of(counts: &[(Category, usize)], taken_away: (usize, usize)) -> String {
    if counts.is_empty() {
        return "no user-facing changes".to_owned();
    }
    join_and(&counted_parts(counts, taken_away))
}

/// Each count in words, the features split into what is new, deprecated and removed.
fn counted_parts(
    counts: &[(Category, usize)],
    (deprecated, removed): (usize, usize),
) -> Vec<String> {
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut parts = Vec::new();
    for (c, n) in counts {
        if *c != Category::Feature {
            parts.push(c.counted(*n));
            continue;
        }
        let new = n.saturating_sub(deprecated + removed);
        if new > 0 {
            parts.push(c.counted(new));
        }
        if deprecated > 0 {
            parts.push(plural(deprecated, "deprecation", "deprecations"));
        }
        if removed > 0 {
            parts.push(plural(removed, "removal", "removals"));
        }
    }
    parts
}

fn marker(item: &Item, voice: Voice) -> &'static str {
    if voice != Voice::Sassy {
        return "•";
    }
    use crate::notes::FeatureKind;
    match item.category {
        // What a release takes away is no new thing ("✨ Remove deprecated curl_close()
        // calls", Monolog 3.10.0's LinkedIn post); the notes list it under Removed.
        Category::Feature => match FeatureKind::of(&item.title) {
            FeatureKind::New => "✨",
            FeatureKind::Deprecated => "⏳",
            FeatureKind::Removed => "🧹",
        },
        Category::Fix => "🐛",
        Category::Performance => "⚡",
        Category::Security => "🔒",
        Category::Docs => "📚",
        _ => "🔧",
    }
}

/// Puts head, lines and tail together within the channel's limit: drops lines from the
/// end (saying how many), then shortens the head at a word boundary.
fn fit(channel: Channel, head: &str, lines: &[String], tail: &str, hidden: usize) -> String {
    let limit = channel.limit();
    let compose = |kept: usize, head: &str| compose(head, lines, kept, tail, hidden);
    // Fewer lines never make a post longer, so the most lines that fit can be found by
    // bisection: a release of thousands of items costs a dozen compositions, not thousands.
    let fits = |kept: usize| channel.length(&compose(kept, head)) <= limit;
    if fits(lines.len()) {
        return compose(lines.len(), head);
    }
    if fits(0) {
        let (mut lo, mut hi) = (0, lines.len()); // fits(lo), !fits(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return compose(lo, head);
    }
    // Even the head alone is too long: shorten it word by word.
    let mut words: Vec<&str> = head.split(' ').collect();
    while words.len() > 1 {
        words.pop();
        let text = compose(0, &format!("{}…", words.join(" ")));
        if channel.length(&text) <= limit {
            return text;
        }
    }
    let text: String = head.chars().take(limit.saturating_sub(1)).collect();
    format!("{text}…")
}

/// One post: the head, the first `kept` lines (counting the rest and the `hidden` changes
/// never offered as lines: "…and 3 more"), the tail.
fn compose(head: &str, lines: &[String], kept: usize, tail: &str, hidden: usize) -> String {
    let mut body: Vec<String> = lines[..kept].to_vec();
    let dropped = lines.iter().skip(kept).filter(|l| !l.is_empty()).count() + hidden;
    if dropped > 0 {
        body.push(format!("…and {dropped} more"));
    }
    let mut text = head.to_owned();
    if !body.is_empty() {
        text.push_str("\n\n");
        text.push_str(body.join("\n").trim_matches('\n'));
    }
    if !tail.is_empty() {
        text.push_str(if lines.is_empty() { " " } else { "\n\n" });
        text.push_str(tail);
    }
    text
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use covalynce_domain::Commit;
    use covalynce_understanding::understand;
    use proptest::prelude::*;

    fn changes(messages: &[&str]) -> Changeset {
        changes_in(messages, "src/lib.rs", &[])
    }

    /// One commit per message, each changing `file` (and adding `symbols`).
    fn changes_in(
        messages: &[&str],
        file: &str,
        symbols: &[covalynce_domain::SymbolChange],
    ) -> Changeset {
        let commits: Vec<Commit> = messages
            .iter()
            .enumerate()
            .map(|(n, m)| Commit {
                id: format!("{n:040x}"),
                message: m.to_string(),
                author_name: "Ada".into(),
                author_email: "ada@example.com".into(),
                files: vec![file.into()],
                symbols: symbols.to_vec(),
                ..Commit::default()
            })
            .collect();
        understand(&commits)
    }

    fn ctx() -> Context {
        Context {
            project: "acme/rocket".into(),
            version: Some("v1.2.0".into()),
            url: Some("https://github.com/acme/rocket/releases/tag/v1.2.0".into()),
            ..Context::default()
        }
    }

    /// mitmproxy 12.1.0's posts led with "Increase typescript use for ducks" and listed
    /// "Misc improvements"; Monolog 3.10.0's LinkedIn post marked a removal as new.
    #[test]
    fn posts_lead_with_a_named_change_and_mark_removals_as_such() {
        // As in mitmproxy's web UI, each change adds functions to the code.
        let c = changes_in(
            &[
                "web: misc improvements (#7706)",
                "web: increase typescript use for ducks (#7692)",
                "Remove deprecated curl_close() calls for PHP 8.5 compatibility (#2009)",
                "web: search/highlight by body content (#7704)",
                "Fix issue #1984 (#1999)",
            ],
            "web/src/js/ducks/flows.ts",
            &[covalynce_domain::SymbolChange {
                kind: covalynce_domain::SymbolKind::Function,
                name: "reduce".into(),
                change: covalynce_domain::Change::Added,
            }],
        );
        for channel in [
            Channel::Linkedin,
            Channel::X,
            Channel::Bluesky,
            Channel::Mastodon,
        ] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.contains("Search/highlight by body content"),
                "{channel:?} leads with the named change: {text}"
            );
            for said_nothing in ["Misc improvements", "typescript", "Fix issue"] {
                assert!(
                    !text.contains(said_nothing),
                    "{channel:?} names no {said_nothing:?}: {text}"
                );
            }
            assert!(
                text.contains("🧹 Remove deprecated curl_close() calls"),
                "{channel:?} marks the removal as one: {text}"
            );
            assert!(!text.contains("✨ Remove"), "{text}");
        }
        // The team notes lead with it too.
        let text = post(&c, &ctx(), Voice::Sassy, Channel::Slack);
        let first = text
            .lines()
            .find(|l| l.starts_with('•'))
            .unwrap_or_default();
        assert!(first.contains("Search/highlight"), "{text}");
    }

    /// gitui's demo posted "🔒 Landed on gitui's master branch: Upgrade vuln dep!": commit
    /// shorthand, and a cheer for a vulnerability.
    #[test]
    fn a_security_push_is_said_in_words_and_without_a_cheer() {
        let commits = vec![Commit {
            id: format!("{:040x}", 1),
            message: "upgrade vuln dep".into(),
            author_name: "Ada".into(),
            author_email: "ada@example.com".into(),
            files: vec!["Cargo.lock".into()],
            ..Commit::default()
        }];
        let c = understand(&commits);
        let push = Context {
            project: "gitui".into(),
            version: None,
            branch: Some("master".into()),
            url: Some("https://github.com/gitui-org/gitui/compare/a...b".into()),
            ..Context::default()
        };
        for channel in [
            Channel::Linkedin,
            Channel::X,
            Channel::Bluesky,
            Channel::Mastodon,
        ] {
            let text = post(&c, &push, Voice::Sassy, channel);
            assert!(
                text.contains("Landed on gitui's master branch: Upgrade vulnerable dependency."),
                "{channel:?}: {text}"
            );
            assert!(
                !text.contains("vuln dep") && !text.contains('!'),
                "{channel:?}: {text}"
            );
        }
        // What users gain is still cheered.
        let feature = changes(&["feat: support x509 commit signing (#2844)"]);
        let text = post(&feature, &push, Voice::Sassy, Channel::X);
        assert!(text.contains("Support x509 commit signing!"), "{text}");
    }

    #[test]
    fn shorthand_is_spelled_out_only_as_a_word_of_its_own() {
        for (short, long) in [
            ("Upgrade vuln dep", "Upgrade vulnerable dependency"),
            ("upgrade vuln deps.", "upgrade vulnerable dependencies."),
            ("Fix vuln in parser", "Fix vulnerability in parser"),
            (
                "Bump deps, fix vulns",
                "Bump dependencies, fix vulnerabilities",
            ),
            ("fix vuln: CVE-2025-1", "fix vulnerability: CVE-2025-1"),
            ("Clearer error msg", "Clearer error message"),
        ] {
            assert_eq!(spelled_out(short), long);
        }
        // Names, code, other words and other languages stay as written.
        for kept in [
            "Speed up dep_graph",
            "Move deps/ to vendor",
            "Bump cargo-deps",
            "Remove old_msg",
            "Move vendor/deps",
            "Document `vuln dep` and `msg`",
            "Drop DEP and msg.rs",
            "Corrige une vulnérabilité",
            "Dépendances à jour",
            "impl Display for Config",
        ] {
            assert_eq!(spelled_out(kept), kept);
        }
    }

    /// The spelling-out reaches the posts, with the code in a title untouched.
    #[test]
    fn posts_spell_out_shorthand_but_not_code() {
        let c = changes(&["feat: show the error msg of `git_msg` in the popup (#12)"]);
        let text = post(&c, &ctx(), Voice::Sassy, Channel::X);
        assert!(
            text.contains("error message of git_msg in the popup"),
            "{text}"
        );
    }

    /// clap 4.0.0's LinkedIn post listed 50 breaking changes, its threads ran to five posts.
    #[test]
    fn posts_name_a_few_breaking_changes_and_count_the_rest() {
        let msgs: Vec<String> = (0..50)
            .map(|n| format!("feat!: remove deprecated API number {n}"))
            .chain(["feat: render help with ANSI colours".to_owned()])
            .collect();
        let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let c = changes(&refs);
        for channel in Channel::ALL {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            let named = text.matches("⚠️ Breaking:").count();
            let most = match channel {
                Channel::Slack | Channel::Discord => 2 * MOST_BREAKING,
                _ => MOST_BREAKING,
            };
            assert!(named <= most, "{channel:?}: {named} named: {text}");
            assert!(
                text.contains(&format!("…and {} more breaking changes", 50 - named)),
                "{channel:?} counts the rest: {text}"
            );
        }
        let x = post(&c, &ctx(), Voice::Sassy, Channel::X);
        assert!(crate::thread::posts(&x).len() <= 2, "{x}");
    }

    #[test]
    fn filler_titles_are_vague_and_named_changes_are_not() {
        for title in [
            "Misc improvements",
            "Various fixes and cleanups",
            "Minor UI tweaks",
            "Fix issue #1984",
            "web: misc improvements",
        ] {
            assert!(vague(title), "{title}");
        }
        for title in [
            "Improve startup time",
            "Minor fix to the cookie parser",
            "Search/highlight by body content",
        ] {
            assert!(!vague(title), "{title}");
        }
    }

    #[test]
    fn no_post_names_a_branch_it_was_not_told() {
        for n in 0..64 {
            let subject = format!("feat: add option {n}");
            let c = changes(&[subject.as_str()]);
            for channel in Channel::ALL {
                let text = post(&c, &ctx(), Voice::Sassy, channel);
                assert!(!text.contains("off main"), "{channel:?}: {text}");
            }
        }
    }

    /// rack 3.2.0's Slack post said "22 new features" where its notes listed 14 features,
    /// 2 deprecations and 6 removals.
    #[test]
    fn what_is_deprecated_or_removed_is_not_counted_as_new() {
        let c = changes(&[
            "Add `Rack::Request#form_pairs`",
            "Add Rack::Request#query_parser=",
            "Deprecate Rack::Request#parse_multipart",
            "Remove `Rack::Logger`",
            "Drop dependency on `CGI::Cookie`",
            "fix: handle empty cookies",
        ]);
        for voice in [Voice::Sassy, Voice::Technical] {
            let text = post(&c, &ctx(), voice, Channel::Slack);
            assert!(
                text.contains("2 new features, 1 deprecation, 2 removals and 1 bug fix"),
                "{voice:?}: {text}"
            );
        }
    }

    #[test]
    fn counts_read_as_english_in_every_voice_and_channel() {
        // One fix, one test change, one docs update, one chore: each counted in the singular.
        let c = changes(&[
            "fix: stop crashing on empty files",
            "test: cover empty files",
            "docs: explain empty files",
            "chore: tidy the build",
        ]);
        let notes = crate::notes::release_notes(&c, &ctx());
        for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
            for channel in Channel::ALL {
                let text = post(&c, &ctx(), voice, channel);
                for wrong in [
                    "1 bug fixes",
                    "1 tests",
                    "1 documentation,",
                    "1 documentation)",
                    "1 maintenance,",
                    "1 maintenance)",
                    "fixs",
                ] {
                    assert!(
                        !text.contains(wrong),
                        "{voice:?} {channel:?} says {wrong:?}: {text}"
                    );
                }
            }
        }
        let technical = post(&c, &ctx(), Voice::Technical, Channel::Slack);
        assert!(
            technical.contains("1 bug fix and 3 other changes"),
            "{technical}"
        );
        // Upkeep alone is counted by kind, each in the singular.
        let upkeep = changes(&["test: cover empty files", "docs: explain empty files"]);
        let technical = post(&upkeep, &ctx(), Voice::Technical, Channel::Slack);
        assert!(technical.contains("1 test change"), "{technical}");
        assert!(technical.contains("1 documentation update"), "{technical}");
        assert!(!notes.contains("fixs"), "{notes}");
    }

    #[test]
    fn every_channel_leads_with_what_changed_for_users() {
        let c = changes(&[
            "feat: add dark mode (#3)",
            "fix: stop crashing on empty files",
            "refactor: split parser",
        ]);
        for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
            for channel in Channel::ALL {
                let text = post(&c, &ctx(), voice, channel);
                assert!(
                    text.to_lowercase().contains("dark mode"),
                    "{voice:?} {channel:?}: {text}"
                );
                assert!(
                    text.contains("acme/rocket v1.2.0"),
                    "{voice:?} {channel:?}: {text}"
                );
                assert!(
                    channel.length(&text) <= channel.limit(),
                    "{voice:?} {channel:?}"
                );
                assert!(!text.contains("0000000"), "no commit ids in posts: {text}");
            }
        }
        let x = post(&c, &ctx(), Voice::Sassy, Channel::X);
        assert!(
            x.ends_with("https://github.com/acme/rocket/releases/tag/v1.2.0"),
            "{x}"
        );
        let slack = post(&c, &ctx(), Voice::Sassy, Channel::Slack);
        assert!(
            slack.contains("(#3)") && slack.contains("— Ada"),
            "team notes cite: {slack}"
        );
    }

    #[test]
    fn voices_sound_different_and_drafts_are_deterministic() {
        let c = changes(&["feat: add dark mode"]);
        let sassy = post(&c, &ctx(), Voice::Sassy, Channel::Linkedin);
        let plain = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert_ne!(sassy, plain);
        assert!(
            plain.starts_with("acme/rocket v1.2.0 adds dark mode."),
            "{plain}"
        );
        assert_eq!(sassy, post(&c, &ctx(), Voice::Sassy, Channel::Linkedin));
    }

    #[test]
    fn long_releases_are_trimmed_to_the_limit_and_say_so() {
        let msgs: Vec<String> = (0..200)
            .map(|n| format!("feat: add a rather long named capability number {n} for everyone"))
            .collect();
        let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let c = changes(&refs);
        for channel in Channel::ALL {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            assert_eq!(
                crate::thread::over_limit(channel, &text),
                None,
                "{channel:?}: {text}"
            );
            let posts = crate::thread::posts(&text);
            let last = posts.last().unwrap();
            assert!(
                last.contains("more"),
                "{channel:?} counts what it left out: {last}"
            );
            assert!(
                last.contains("https://github.com/acme/rocket/releases/tag/v1.2.0"),
                "{channel:?}: the link survives trimming: {last}"
            );
            if channel.threads() {
                // Too much for one post: a numbered thread, no longer than MAX_POSTS.
                let n = posts.len();
                assert!(
                    (2..=crate::thread::MAX_POSTS).contains(&n),
                    "{channel:?}: {n}"
                );
                for (k, p) in posts.iter().enumerate() {
                    assert!(p.ends_with(&format!("{}/{n}", k + 1)), "{channel:?}: {p}");
                }
                assert!(posts[0].contains("acme/rocket v1.2.0"), "{}", posts[0]);
            } else {
                assert_eq!(posts.len(), 1, "{channel:?} is one message");
            }
        }
    }

    /// Gin v1.11.0's LinkedIn post listed 35 changes, its X thread ran to five posts, and
    /// its two security fixes came eleventh and thirty-fourth.
    #[test]
    fn posts_name_the_headline_and_the_next_few_security_fixes_first() {
        let mut msgs: Vec<String> = (0..20)
            .map(|n| format!("feat: support custom codec number {n} at runtime"))
            .collect();
        msgs.extend((0..10).map(|n| format!("fix: crash number {n} on empty trees")));
        msgs.push("fix(security): reject oversized multipart headers".into());
        let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let c = changes(&refs);
        // 31 changes worth a line: the headline, the next eight, and 22 counted.
        let text = post(&c, &ctx(), Voice::Sassy, Channel::Linkedin);
        let listed = text
            .lines()
            .skip(1)
            .filter(|l| l.starts_with(['✨', '🐛', '🔒']))
            .count();
        assert_eq!(listed, 8, "{text}");
        assert!(
            text.contains("…and 22 more changes in the release notes."),
            "{text}"
        );
        let after_head = text
            .lines()
            .skip_while(|l| !l.starts_with("Also in"))
            .nth(1);
        assert_eq!(
            after_head,
            Some("🔒 Reject oversized multipart headers"),
            "the security fix comes right after the headline: {text}"
        );
        for channel in [Channel::X, Channel::Bluesky, Channel::Mastodon] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            let posts = crate::thread::posts(&text);
            let listed: usize = posts
                .iter()
                .map(|p| {
                    p.lines()
                        .filter(|l| l.starts_with(['✨', '🐛', '🔒']))
                        .count()
                })
                .sum::<usize>()
                - 1;
            // The opening names the headline; at most eight lines follow it.
            assert!(listed <= MOST_LISTED, "{channel:?}: {listed} lines: {text}");
            assert!(
                posts.len() <= 3,
                "{channel:?}: {} posts: {text}",
                posts.len()
            );
            let last = posts.last().unwrap();
            let more: usize = last
                .split("…and ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            assert_eq!(
                listed + more,
                30,
                "{channel:?}: every change is shown or counted: {last}"
            );
            assert!(
                posts[0].contains("🔒 Reject oversized multipart headers"),
                "{channel:?}: {}",
                posts[0]
            );
        }
    }

    /// client_golang v1.24.0's posts opened "client_golang v1.24.0 simplifies Store
    /// interface; renamed Handler to WriteHandler; encapsulated write response!".
    #[test]
    fn a_title_listing_its_changes_is_said_by_its_first_in_posts() {
        let c = changes(&[
            "feat(remote): simplified Store interface; renamed Handler to WriteHandler; encapsulated write response",
        ]);
        for channel in [
            Channel::X,
            Channel::Bluesky,
            Channel::Mastodon,
            Channel::Linkedin,
        ] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            assert!(text.contains("Store interface"), "{channel:?}: {text}");
            assert!(!text.contains("renamed Handler"), "{channel:?}: {text}");
        }
        let notes = crate::draft(&c, &ctx(), Voice::Sassy).release_notes;
        assert!(notes.contains("renamed Handler to WriteHandler"), "{notes}");
        for whole in [
            "Handle errors (EOF; timeouts) in reader",
            "Fix parsing of Content-Type: text/html; charset=utf-8",
        ] {
            assert_eq!(first_clause(whole), whole);
        }
    }

    /// A breaking change beyond the eighth line has its own "⚠️ Breaking" line: it was
    /// also counted in "…and N more", so a post promised one change more than it left out.
    #[test]
    fn a_breaking_change_past_the_listed_few_is_shown_once_not_also_counted() {
        let mut msgs: Vec<String> = (0..11)
            .map(|n| format!("feat: support custom codec number {n} at runtime"))
            .collect();
        msgs.push("feat!: drop the legacy codec registry".into());
        let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let c = changes(&refs);
        for channel in [Channel::X, Channel::Bluesky, Channel::Mastodon] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            assert!(text.contains("⚠️ Breaking:"), "{channel:?}: {text}");
            // 12 changes: the headline, eight lines, the breaking one on its own line, and
            // two left to the notes.
            assert!(text.contains("…and 2 more"), "{channel:?}: {text}");
        }
        // Ten after the headline, one of the two past the eighth breaking: all are named
        // rather than "…and 1 more".
        let ten: Vec<&str> = refs[1..].to_vec();
        let c = changes(&ten);
        for channel in [Channel::X, Channel::Bluesky, Channel::Mastodon] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            assert!(!text.contains("…and 1 more"), "{channel:?}: {text}");
        }
        // Many breaking changes never lift the limit: eight named, each breaking change on
        // its own line once, the rest counted.
        let mut many: Vec<String> = (0..10)
            .map(|n| format!("feat: support custom codec number {n} at runtime"))
            .collect();
        many.extend((0..10).map(|n| format!("feat!: drop legacy thing {n}")));
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        let c = changes(&refs);
        for channel in [
            Channel::X,
            Channel::Bluesky,
            Channel::Mastodon,
            Channel::Linkedin,
        ] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            // The opening, then at most nine (nine rather than "…and 1 more").
            let named = text.lines().filter(|l| l.starts_with('✨')).count();
            assert!(
                named <= 1 + MOST_LISTED + 1,
                "{channel:?}: {named} lines: {text}"
            );
            for n in 0..10 {
                let thing = format!("legacy thing {n}");
                assert!(
                    text.lines().filter(|l| l.contains(&thing)).count() <= 1,
                    "{channel:?}: {thing} twice: {text}"
                );
            }
        }
    }

    /// Nine changes after the headline are all named: "…and 1 more" would say less than
    /// the line it replaces (Monolog 3.10.0).
    #[test]
    fn one_change_over_the_few_is_named_not_counted() {
        let msgs: Vec<String> = (0..10)
            .map(|n| format!("feat: support custom codec number {n} at runtime"))
            .collect();
        let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
        let text = post(&changes(&refs), &ctx(), Voice::Sassy, Channel::Linkedin);
        assert!(!text.contains("more"), "{text}");
        assert!(text.contains("codec number 9"), "{text}");
    }

    /// gin v1.10.1 was one refactor: "1 refactor. First up: …" read as if more were coming.
    #[test]
    fn one_internal_change_is_named_not_counted() {
        let c = changes(&["refactor: strengthen HTTPS security and improve code organization"]);
        for voice in [Voice::Sassy, Voice::Plain] {
            let text = post(&c, &ctx(), voice, Channel::X);
            assert!(
                !text.contains("First up") && !text.contains("starting with"),
                "{text}"
            );
            assert!(
                text.contains("trengthen HTTPS security and improve code organization."),
                "{text}"
            );
        }
    }

    /// client_golang v1.24.1 (a version bump only, as drafted before its squash was read)
    /// said "nothing user-facing, no user-facing changes." and its team note ran its head
    /// into the count of what it left out.
    #[test]
    fn a_release_of_bookkeeping_only_says_so_once() {
        let c = changes(&["Update VERSION to 1.2.0"]);
        assert!(c.items.is_empty() && !c.noise.is_empty(), "{c:?}");
        let x = post(&c, &ctx(), Voice::Sassy, Channel::X);
        assert!(
            x.starts_with("acme/rocket v1.2.0: no user-facing changes. "),
            "{x}"
        );
        for channel in [Channel::Slack, Channel::Discord] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            assert!(text.contains("no user-facing changes. "), "{text}");
        }
    }

    #[test]
    fn a_release_that_fits_one_post_is_not_a_thread() {
        let c = changes(&["feat: add dark mode", "fix: stop crashing on empty files"]);
        for channel in [Channel::X, Channel::Bluesky, Channel::Mastodon] {
            let text = post(&c, &ctx(), Voice::Sassy, channel);
            assert_eq!(crate::thread::posts(&text).len(), 1, "{channel:?}: {text}");
            assert!(!text.ends_with("1/1"), "{text}");
        }
    }

    fn release(n: usize, messages: &[String]) -> (Changeset, Context) {
        let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
        let c = changes(&refs);
        let ctx = Context {
            project: "Rocket".into(),
            version: Some(format!("v1.{n}.0")),
            url: Some(format!(
                "https://github.com/acme/rocket/releases/tag/v1.{n}.0"
            )),
            hashtags: vec!["rustlang".into(), "cli".into()],
            ..Context::default()
        };
        (c, ctx)
    }

    /// Thirty releases of one project, in every voice: no sentence of four or more words
    /// appears in more than a fifth of its posts (the old drafts closed 73 of 80 with
    /// "You asked, we built it.").
    #[test]
    fn no_sentence_recurs_across_a_projects_posts() {
        let subjects = [
            "feat: add dark mode",
            "fix: stop crashing on empty files",
            "perf: cache parsed configs",
            "feat: support HTTP/3",
            "fix: keep scroll position after reload",
            "feat: export reports as CSV",
            "fix(cli): respect NO_COLOR",
            "docs: explain plugins",
            "refactor: split the parser",
            "feat: add a --json flag",
        ];
        for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
            let mut seen: std::collections::HashMap<String, usize> = Default::default();
            let mut posts = 0;
            for n in 0..30 {
                let messages: Vec<String> = (0..(1 + n % 4))
                    .map(|k| format!("{} {}", subjects[(n * 3 + k) % subjects.len()], n * 7 + k))
                    .collect();
                let (c, ctx) = release(n, &messages);
                for channel in [
                    Channel::X,
                    Channel::Bluesky,
                    Channel::Mastodon,
                    Channel::Linkedin,
                ] {
                    let text = post(&c, &ctx, voice, channel);
                    posts += 1;
                    let mut in_post: std::collections::HashSet<String> = Default::default();
                    for sentence in text.split(['.', '!', '?', '\n', ':']) {
                        let words: Vec<&str> = sentence.split_whitespace().collect();
                        if words.len() >= 4 {
                            in_post.insert(words.join(" "));
                        }
                    }
                    for sentence in in_post {
                        *seen.entry(sentence).or_default() += 1;
                    }
                }
            }
            for (sentence, count) in seen {
                assert!(
                    count * 5 <= posts,
                    "{voice:?}: {sentence:?} is in {count} of {posts} posts"
                );
            }
        }
    }

    /// Platforms that show text as typed get no markdown; Slack gets mrkdwn and Discord
    /// markdown. Internal symbols never reach a public post; a new flag does.
    #[test]
    fn each_platform_gets_its_own_formatting_and_no_internal_notes() {
        let commits = vec![
            Commit {
                id: "1".repeat(40),
                message: "feat: add `--json` output (#12)".into(),
                author_name: "Ada".into(),
                files: vec!["src/cli.rs".into()],
                symbols: vec![
                    covalynce_domain::SymbolChange {
                        kind: covalynce_domain::SymbolKind::Function,
                        name: "scanned_files".into(),
                        change: covalynce_domain::Change::Added,
                    },
                    covalynce_domain::SymbolChange {
                        kind: covalynce_domain::SymbolKind::Flag,
                        name: "--json".into(),
                        change: covalynce_domain::Change::Added,
                    },
                ],
                ..Commit::default()
            },
            Commit {
                id: "2".repeat(40),
                message: "fix: keep **bold** names (#13)".into(),
                author_name: "Grace".into(),
                files: vec!["src/x.rs".into()],
                ..Commit::default()
            },
            Commit {
                id: "3".repeat(40),
                message: "Add NoDiscard attr, fixes #2012 (#2013)".into(),
                author_name: "Jordi".into(),
                files: vec!["src/y.rs".into()],
                ..Commit::default()
            },
            Commit {
                id: "4".repeat(40),
                message: "Add ZIP content view for issue #8051 (#8054)".into(),
                author_name: "Yamet".into(),
                files: vec!["src/zip.rs".into()],
                ..Commit::default()
            },
            Commit {
                id: "5".repeat(40),
                message: "Handle empty request bodies (closes #77)".into(),
                author_name: "Ana".into(),
                files: vec!["src/body.rs".into()],
                ..Commit::default()
            },
        ];
        let c = understand(&commits);
        for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
            for channel in [
                Channel::X,
                Channel::Bluesky,
                Channel::Mastodon,
                Channel::Linkedin,
            ] {
                let text = post(&c, &ctx(), voice, channel);
                assert!(
                    !text.contains('`') && !text.contains("**"),
                    "{channel:?}: {text}"
                );
                assert!(!text.contains("scanned_files"), "{channel:?}: {text}");
                for r in ["#12", "#13", "#2012", "#2013", "#8051", "#8054", "#77"] {
                    assert!(!text.contains(r), "{channel:?}: {text}");
                }
                for dangling in ["for issue", "closes", "()", "fixes"] {
                    assert!(!text.contains(dangling), "{channel:?}: {text}");
                }
            }
            let slack = post(&c, &ctx(), voice, Channel::Slack);
            assert!(slack.starts_with("*acme/rocket v1.2.0*"), "{slack}");
            let discord = post(&c, &ctx(), voice, Channel::Discord);
            assert!(discord.starts_with("**acme/rocket v1.2.0**"), "{discord}");
        }
        let linkedin = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(linkedin.contains("--json"), "{linkedin}");
    }

    /// However a title mentions the issue it closes, a post says the change without it.
    #[test]
    fn a_closing_issue_mention_is_left_to_the_notes() {
        for (title, want) in [
            ("Add NoDiscard attr, fixes #2012", "Add NoDiscard attr"),
            (
                "Add ZIP content view for issue #8051",
                "Add ZIP content view",
            ),
            ("Handle empty bodies (closes #77)", "Handle empty bodies"),
            ("Handle empty bodies (see #77) (#80)", "Handle empty bodies"),
            ("Retry on 503 - resolves #5", "Retry on 503"),
            ("Fix issue #1984", "Fix issue #1984"),
            ("Keep #1 as the first entry", "Keep #1 as the first entry"),
            ("Support C# 12", "Support C# 12"),
            (
                "Message tab supports pageup and pagedown (gitui-org#2623)",
                "Message tab supports pageup and pagedown",
            ),
            ("Use the new API (rust-lang/rust#1) (#3)", "Use the new API"),
            (
                "Count (#) signs in (a#b) names",
                "Count (#) signs in (a#b) names",
            ),
            (
                "Add Level::toRFC5424Level and restore BC (broken in #1689)",
                "Add Level::toRFC5424Level and restore BC",
            ),
            (
                "Handle empty bodies, fixes issue #12",
                "Handle empty bodies",
            ),
            (
                "Handle empty bodies (closes issue #77)",
                "Handle empty bodies",
            ),
            ("Handle empty bodies, closes #1, #2", "Handle empty bodies"),
            ("Apply the fix #12", "Apply the fix #12"),
            (
                "Fix regression introduced in #1234",
                "Fix regression introduced in #1234",
            ),
            ("Prepare for #12", "Prepare for #12"),
            ("Add records support (C#9)", "Add records support (C#9)"),
            (
                "Fix curl_close deprecation on php8.5, refs #2004",
                "Fix curl_close deprecation on php8.5",
            ),
        ] {
            assert_eq!(without_refs(title), want, "{title}");
        }
    }

    /// "Replace X and allow Y" reads "replaces X and allows Y"; a title that is only a
    /// link does not reach a public post, and the team's note shows it as a linked reference.
    #[test]
    fn headlines_agree_and_bare_links_stay_in_the_team_notes() {
        let c = changes(&[
            "feat: replace deprecated code in MongoDB classes and allow 2.0+",
            "fix: issue https://github.com/acme/rocket/issues/1984",
        ]);
        let x = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            x.starts_with(
                "acme/rocket v1.2.0 replaces deprecated code in MongoDB classes and allows 2.0+."
            ),
            "{x}"
        );
        for channel in [
            Channel::X,
            Channel::Bluesky,
            Channel::Mastodon,
            Channel::Linkedin,
        ] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            assert!(!text.contains("issues/1984"), "{channel:?}: {text}");
        }
        // The team's note lists the fix, its link read as the issue's reference and still
        // a link in the platform's markup.
        let slack = post(&c, &ctx(), Voice::Plain, Channel::Slack);
        assert!(
            slack.contains("• Issue <https://github.com/acme/rocket/issues/1984|#1984> — "),
            "{slack}"
        );
        let discord = post(&c, &ctx(), Voice::Plain, Channel::Discord);
        assert!(
            discord.contains("• Issue [#1984](https://github.com/acme/rocket/issues/1984) — "),
            "{discord}"
        );
    }

    /// rack 3.2.0's Slack head said "… and 50 other changes" and its tail "55 changes not
    /// listed: …, 14 test changes": the same tests counted twice.
    #[test]
    fn what_the_notes_leave_out_is_counted_once() {
        let c = changes(&[
            "feat: add ISO-2022-JP multipart support",
            "docs: explain the SPEC",
            "test: cover empty bodies",
            "test: cover nil input",
        ]);
        let ctx = Context {
            style: Some(HouseStyle::default()),
            ..ctx()
        };
        assert!(!HouseStyle::default().lists(Category::Test));
        for channel in [Channel::Slack, Channel::Discord] {
            let text = post(&c, &ctx, Voice::Plain, channel);
            assert!(
                text.contains("1 new feature and 1 other change")
                    && text.contains("2 changes not listed: 2 test changes."),
                "{channel:?}: {text}"
            );
        }
        // A push of tests alone: the post still says what it was.
        let tests = changes(&["test: cover empty bodies", "test: cover nil input"]);
        let x = post(&tests, &ctx, Voice::Plain, Channel::X);
        assert!(x.contains("2 test changes"), "{x}");
        assert!(!x.contains("no user-facing changes"), "{x}");
    }

    /// Monolog 3.10.0's team notes listed "Fix build", "Update baseline" and "Downscale
    /// logo" beside its features: the notes list what users notice and count the rest.
    #[test]
    fn team_notes_list_what_users_notice_and_count_the_upkeep() {
        let c = changes(&[
            "chore: update baseline",
            "feat: rotate files based on timezone",
            "docs: downscale logo",
            "fix: avoid empty space on empty trace",
        ]);
        for channel in [Channel::Slack, Channel::Discord] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            assert!(
                text.contains("• Rotate files based on timezone")
                    && text.contains("• Avoid empty space on empty trace"),
                "{text}"
            );
            assert!(
                !text.contains("baseline") && !text.contains("logo"),
                "{channel:?}: {text}"
            );
            // The logo is counted in the head, beside what users get; the baseline is the
            // project's own tooling, counted with what is not listed.
            assert!(
                text.contains("1 new feature, 1 bug fix and 1 other change")
                    && text.contains("1 build, lint or test tooling fix"),
                "{text}"
            );
        }
        // A ref the title says is not repeated after it.
        let c = changes(&["fix: issue https://github.com/acme/rocket/issues/1984 (#1999)"]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Slack);
        assert!(
            text.contains("• Issue <https://github.com/acme/rocket/issues/1984|#1984> (#1999)"),
            "{text}"
        );
        // A security fix named by its vulnerability says it is fixed (rack 3.2.0).
        let c =
            changes(&["fix(security): ReDoS in the Accept header parser (GHSA-cj83-2ww7-mvq7)"]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Slack);
        assert!(
            text.contains("• Fix ReDoS in the Accept header parser (GHSA-cj83-2ww7-mvq7)"),
            "{text}"
        );
        // A fix named by its bug says it is a fix, as in the posts ("Invalid Go toolchain
        // version" read as a feature in gin v1.11.0's Slack list).
        let c = changes(&["feat: add dark mode", "fix: invalid Go toolchain version"]);
        for channel in [Channel::Slack, Channel::Discord] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            assert!(
                text.contains("• Fix invalid Go toolchain version"),
                "{text}"
            );
        }
        // A push of upkeep alone still says what it was.
        let c = changes(&["chore: reorder imports", "docs: downscale logo"]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Slack);
        assert!(
            text.contains("• Reorder imports") && text.contains("• Downscale logo"),
            "{text}"
        );
    }

    /// After the headline, what users notice comes before internal work, so a post or
    /// thread without room for everything drops the internal work.
    #[test]
    fn user_facing_changes_come_before_internal_work() {
        // As gitui's commits read: features or fixes by their type, some of them internal.
        let c = changes(&[
            "feat: bump base64 and ron",
            "fix: lint warnings in the internal cache",
            "feat: add dark mode",
            "fix: stop crashing on empty files",
            "feat: add a blame view with go to line",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {text}"))
        };
        assert!(at("blame view") < at("base64"), "{text}");
        assert!(at("dark mode") < at("base64"), "{text}");
        assert!(at("empty files") < at("lint warnings"), "{text}");
    }

    /// A push is not a release: it says where it landed (the real branch), never "is out".
    #[test]
    fn a_push_says_it_landed_on_its_branch() {
        let c = changes(&["fix: stop crashing on empty files"]);
        let ctx = Context {
            project: "ripgrep".into(),
            branch: Some("master".into()),
            url: Some("https://github.com/BurntSushi/ripgrep/compare/aaaa...bbbb".into()),
            ..Context::default()
        };
        for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
            for channel in Channel::ALL {
                let text = post(&c, &ctx, voice, channel);
                assert!(
                    !text.contains("is out") && !text.contains("shipped:"),
                    "{channel:?}: {text}"
                );
                assert!(text.contains("master"), "{voice:?} {channel:?}: {text}");
                assert!(!text.contains(" main"), "{text}");
            }
        }
    }

    /// The headline is what users notice most, not the first commit: a new feature with a
    /// flag beats a test tweak and an earlier small fix.
    #[test]
    fn the_headline_is_the_most_user_visible_change() {
        let c = changes(&[
            "fix: typo in test helper",
            "fix: handle empty input",
            "feat: add a search command",
        ]);
        for channel in [Channel::X, Channel::Linkedin] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            assert!(
                text.starts_with("acme/rocket v1.2.0 adds a search command."),
                "{text}"
            );
        }
    }

    /// Real releases' titles: gitui 0.28.0 led with "Change links to point to gitui-org
    /// instead of extrawurst", monolog 3.10.0 with its MongoDB compatibility update.
    #[test]
    fn the_headline_is_what_users_get_not_upkeep_worded_as_a_change() {
        let c = changes(&[
            "feat: Improve syntax detection",
            "feat: Change links to point to gitui-org instead of extrawurst",
            "feat: Select out of the defaults syntect syntax themes in theme.ron",
            "feat: Add `--logfile`",
            "feat: Support loading custom syntax themes from a file",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            text.starts_with("acme/rocket v1.2.0 adds --logfile."),
            "{text}"
        );
        let c = changes(&[
            "feat: Replace deprecated code in MongoDB classes and allow 2.0+",
            "feat: Rotate files based on timezone",
            "fix: Fix issue with the stream handler",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            text.starts_with("acme/rocket v1.2.0 rotates files based on timezone."),
            "{text}"
        );
    }

    /// A fix titled by the bug ("Data race warning…") gets its "Fix"; one titled by what
    /// it does ("Loosen asserts…", clap's) reads as written, never "Fix loosen asserts".
    #[test]
    fn a_removal_is_not_the_headline_when_something_was_added() {
        let c = changes(&[
            "Remove autoload for rack/logger which has been removed",
            "Add support for ISO-2022-JP encoding in multipart form data handling",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            text.starts_with("acme/rocket v1.2.0 adds support for ISO-2022-JP encoding"),
            "{text}"
        );
    }

    #[test]
    fn a_stricter_behaviour_is_not_the_headline_when_something_was_added() {
        // rack 3.2.6: the notes list both as changes; the post leads with what users gain.
        let c = changes(&[
            "Invalid cookie keys will now raise an error",
            "Add support for ISO-2022-JP encoding in multipart form data handling",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            text.starts_with("acme/rocket v1.2.0 adds support for ISO-2022-JP encoding"),
            "{text}"
        );
        assert!(
            text.contains("Invalid cookie keys will now raise an error"),
            "{text}"
        );
        // A relaxation is no stricter behaviour: as prominent as the other feature, and
        // first, it leads.
        let c = changes(&[
            "Allow empty config files that no longer raise an error",
            "Add support for ISO-2022-JP encoding in multipart form data handling",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            !text.starts_with("acme/rocket v1.2.0 adds support for ISO-2022-JP encoding"),
            "{text}"
        );
    }

    #[test]
    fn a_method_named_the_ruby_way_is_no_hashtag_in_a_post() {
        // rack 3.2.0's "Use `#inspect` to prevent log injection".
        let c = changes(&[
            "Use `#inspect` to prevent log injection",
            "Fix `Rack::Request#POST` with C# clients (#12)",
        ]);
        for channel in [
            Channel::X,
            Channel::Mastodon,
            Channel::Bluesky,
            Channel::Linkedin,
        ] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            assert!(text.contains("inspect to prevent log injection"), "{text}");
            assert!(!text.contains("#inspect"), "{text}");
            assert!(
                text.contains("Rack::Request#POST") && text.contains("C#"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_fix_is_named_by_what_it_does() {
        let c = changes(&[
            "fix(parser): Loosen asserts for now",
            "fix(gin): data race warning for gin mode",
            "feat: add a search command",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(text.contains("Loosen asserts for now"), "{text}");
        assert!(!text.contains("Fix loosen"), "{text}");
        assert!(
            text.contains("Fix data race warning for gin mode"),
            "{text}"
        );
        // Verbs no list holds ("Name", "Track") stay the title's own.
        let c = changes(&[
            "fix(complete): Name the bash completion function after fn_name",
            "fix(derive): Track Cargo env vars for incremental rebuilds",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        assert!(
            !text.contains("Fix name") && !text.contains("fixes track"),
            "{text}"
        );
        assert!(
            text.contains("Name the bash completion function after fn_name")
                && text.contains("Track Cargo env vars for incremental rebuilds"),
            "{text}"
        );
        // A title that says what no longer happens is the fix (client_golang's "promhttp:
        // don't panic when instrumenting…" read "Fix don't panic…").
        let c = changes(&["promhttp: don't panic when instrumenting with non-exemplar observers"]);
        for channel in [Channel::X, Channel::Linkedin, Channel::Mastodon] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            assert!(!text.contains("Fix don't"), "{channel:?}: {text}");
            assert!(
                text.to_lowercase()
                    .contains("don't panic when instrumenting"),
                "{channel:?}: {text}"
            );
        }
        // Words inside words do not name a bug: "change" is no "hang".
        assert!(!names_a_bug("Change default port"));
        assert!(names_a_bug("Data race warning for gin mode"));
    }

    /// client_golang 1.24.0's posts led with "Add native histogram usage example" and
    /// listed two more example changes as news: examples teach the project, they are not
    /// what the release brings.
    #[test]
    fn examples_and_tutorials_are_not_the_news() {
        let c = changes(&[
            "examples: add native histogram usage example",
            "feat(examples): improve simple main.go example",
            "fix: respect context cancellation in httpClient.Do",
        ]);
        for channel in [Channel::X, Channel::Linkedin, Channel::Bluesky] {
            let text = post(&c, &ctx(), Voice::Plain, channel);
            let first = text.lines().next().unwrap_or_default();
            assert!(
                first.contains("context cancellation"),
                "{channel:?}: {text}"
            );
            assert!(!first.contains("example"), "{channel:?}: {text}");
        }
        // A flag named so, or "for example", is no example.
        let c = changes(&[
            "feat: add an `--example` flag",
            "fix: respect context cancellation in httpClient.Do",
        ]);
        let text = post(&c, &ctx(), Voice::Plain, Channel::Linkedin);
        let first = text.lines().next().unwrap_or_default();
        assert!(first.contains("--example"), "{text}");
    }

    /// client_golang 1.24.0's LinkedIn post ended with forty names: a post names a few
    /// people and counts the rest; the release notes thank everyone.
    #[test]
    fn posts_name_a_few_people_then_count_the_rest() {
        let people: Vec<String> = (0..12).map(|n| format!("Person {n}")).collect();
        let commits: Vec<Commit> = people
            .iter()
            .enumerate()
            .map(|(n, who)| Commit {
                id: format!("{n:040x}"),
                message: format!("feat: add option {n}"),
                author_name: who.clone(),
                author_email: format!("p{n}@example.com"),
                files: vec!["src/lib.rs".into()],
                ..Commit::default()
            })
            .collect();
        let c = understand(&commits);
        let drafts = crate::draft(&c, &ctx(), Voice::Plain);
        let linkedin = &drafts.posts[&Channel::Linkedin];
        assert!(
            linkedin.contains(
                "v1.2.0 was made by Person 0, Person 1, Person 2, Person 3, Person 4, Person 5 and 6 others."
            ),
            "{linkedin}"
        );
        for who in &people {
            assert!(
                drafts.release_notes.contains(who.as_str()),
                "{who}: {}",
                drafts.release_notes
            );
        }
    }

    proptest! {
        #[test]
        fn any_commit_text_fits_every_channel(msgs in proptest::collection::vec("\\PC{1,400}", 1..8)) {
            let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
            let c = changes(&refs);
            for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
                for channel in Channel::ALL {
                    let text = post(&c, &ctx(), voice, channel);
                    // Each post of a thread fits; a text that fits one post is one post.
                    prop_assert_eq!(crate::thread::over_limit(channel, &text), None, "{:?} {:?} {}", voice, channel, text);
                    if channel.length(&text) <= channel.limit() {
                        prop_assert_eq!(crate::thread::posts(&text).len(), 1);
                    }
                    if !channel.threads() || crate::thread::posts(&text).len() == 1 {
                        prop_assert!(channel.length(&text) <= channel.limit());
                    }
                }
            }
        }
    }
}
