//! Per-channel posts: written for people who use the software — what changed and why it
//! matters — not a commit list. Phrasing varies with the content (a hash of it), never
//! with chance, so the same change always gets the same draft.

use crate::notes::{join_and, noise_summary};
use crate::{Channel, Context, Voice};
use covalynce_understanding::{Category, Changeset, Item};

pub fn post(changes: &Changeset, ctx: &Context, voice: Voice, channel: Channel) -> String {
    let facts = Facts::new(changes, ctx);
    let seed = facts.seed;
    let (head, lines, tail) = match channel {
        Channel::X | Channel::Bluesky => short(&facts, voice, seed),
        Channel::Mastodon => medium(&facts, voice, seed),
        Channel::Linkedin => long(&facts, voice, seed),
        Channel::Slack => team(&facts, changes, true),
        Channel::Discord => team(&facts, changes, false),
    };
    fit(channel, &head, &lines, &tail)
}

/// What every channel's post draws on.
struct Facts<'a> {
    name: String,
    /// False when the range only has docs, refactors, tests and chores.
    visible: bool,
    headline: Option<&'a Item>,
    highlights: Vec<&'a Item>,
    breaking: Vec<&'a Item>,
    counts: Vec<(Category, usize)>,
    url: Option<String>,
    seed: u64,
}

impl<'a> Facts<'a> {
    fn new(changes: &'a Changeset, ctx: &Context) -> Self {
        let name = match &ctx.version {
            Some(v) => format!("{} {v}", ctx.project),
            None => ctx.project.clone(),
        };
        // Users notice features first, then fixes, speed, safety; the rest is for the team.
        let mut highlights: Vec<&Item> = changes.user_visible().collect();
        let visible = !highlights.is_empty();
        if !visible {
            highlights = changes.items.iter().collect();
        }
        let counts = Category::ALL
            .into_iter()
            .map(|c| (c, changes.in_category(c).count()))
            .filter(|(_, n)| *n > 0)
            .collect();
        let seed = fnv1a(
            changes
                .items
                .iter()
                .flat_map(|i| i.title.bytes().chain([0]))
                .chain(ctx.project.bytes()),
        );
        Self {
            name,
            visible,
            headline: highlights.first().copied(),
            breaking: changes.breaking().collect(),
            highlights,
            counts,
            url: ctx.url.clone(),
            seed,
        }
    }

    fn headline_text(&self) -> String {
        match self.headline {
            Some(item) if self.visible => lower_first(&item.title),
            Some(_) => format!("under-the-hood work ({})", counts_text(self)),
            None => "housekeeping".to_owned(),
        }
    }

    fn more(&self) -> usize {
        self.highlights.len().saturating_sub(1)
    }
}

type Parts = (String, Vec<String>, String);

fn pick<'s>(options: &[&'s str], seed: u64) -> &'s str {
    options[(seed % options.len() as u64) as usize]
}

fn short(f: &Facts, voice: Voice, seed: u64) -> Parts {
    let headline = f.headline_text();
    let more = match if f.visible { f.more() } else { 0 } {
        0 => String::new(),
        1 => " (and 1 more change)".to_owned(),
        n => format!(" (and {n} more changes)"),
    };
    let head = match voice {
        Voice::Sassy => {
            // No opener names a branch: the drafter does not know it here ("main" was wrong
            // for `master` repositories and for releases).
            let opener = pick(&["Shipped it. ", "New drop. ", "It's out. "], seed);
            format!(
                "{opener}{}: {headline}{more}. {}",
                f.name,
                benefit(f.headline, voice)
            )
            .trim_end()
            .to_owned()
        }
        Voice::Plain => format!("New in {}: {headline}{more}.", f.name),
        Voice::Technical => format!("{}: {headline}{more}. {}.", f.name, counts_text(f)),
    };
    let tail = f.url.clone().unwrap_or_default();
    (head.trim_end().to_owned(), Vec::new(), tail)
}

fn medium(f: &Facts, voice: Voice, seed: u64) -> Parts {
    let head = match voice {
        Voice::Sassy => format!(
            "{} {} is out.",
            pick(
                &[
                    "We shipped again.",
                    "Another one.",
                    "No rest for the shipping."
                ],
                seed
            ),
            f.name
        ),
        Voice::Plain => format!("{} is out.", f.name),
        Voice::Technical => format!("{} released: {}.", f.name, counts_text(f)),
    };
    let mut lines: Vec<String> = f
        .highlights
        .iter()
        .map(|i| format!("{} {}", marker(i.category, voice), i.title))
        .collect();
    for b in &f.breaking {
        lines.insert(
            0,
            format!(
                "Heads-up, breaking: {}",
                b.breaking.as_deref().unwrap_or(&b.title)
            ),
        );
    }
    let mut tail = f.url.clone().unwrap_or_default();
    if voice != Voice::Technical {
        tail = format!("{tail}\n\n#opensource #changelog")
            .trim()
            .to_owned();
    }
    (head, lines, tail)
}

fn long(f: &Facts, voice: Voice, seed: u64) -> Parts {
    let intro = match voice {
        Voice::Sassy if !f.visible => format!(
            "{}\n\n{} got some under-the-hood love: {}. Nothing flashy, everything sturdier.",
            pick(
                &[
                    "Not every release is fireworks.",
                    "Maintenance is a feature."
                ],
                seed
            ),
            f.name,
            counts_text(f)
        ),
        Voice::Sassy => format!(
            "{}\n\n{} just shipped, and it's a good one: {}. {}",
            pick(
                &[
                    "Shipping beats talking about shipping.",
                    "Another release, zero drama.",
                    "We don't do quiet weeks.",
                ],
                seed
            ),
            f.name,
            f.headline_text(),
            benefit(f.headline, voice)
        ),
        Voice::Plain => format!(
            "{} is now available. The headline: {}. {}",
            f.name,
            f.headline_text(),
            benefit(f.headline, voice)
        )
        .trim_end()
        .to_owned(),
        Voice::Technical => format!(
            "{} is released ({}). Headline change: {}.",
            f.name,
            counts_text(f),
            f.headline_text()
        ),
    };
    let mut lines = vec![String::new(), "What's new:".to_owned()];
    lines.extend(f.highlights.iter().map(|i| {
        let detail = i
            .highlights
            .first()
            .map(|h| format!(" ({h})"))
            .unwrap_or_default();
        format!("{} {}{detail}", marker(i.category, voice), i.title)
    }));
    if !f.breaking.is_empty() {
        lines.push(String::new());
        for b in &f.breaking {
            lines.push(format!(
                "Heads-up: one breaking change: {}.",
                b.breaking.as_deref().unwrap_or(&b.title)
            ));
        }
    }
    let closing = match voice {
        Voice::Sassy => pick(
            &[
                "Update, then tell us what you break.",
                "Go try it. We'll wait.",
            ],
            seed >> 8,
        ),
        Voice::Plain => "Thanks to everyone who contributed.",
        Voice::Technical => "Full notes below.",
    };
    let tail = match &f.url {
        Some(url) => format!("{closing}\n\n{url}"),
        None => closing.to_owned(),
    };
    (intro, lines, tail)
}

/// Slack and Discord: a note for the team, so it can list, count and cite.
fn team(f: &Facts, changes: &Changeset, slack: bool) -> Parts {
    let bold = |s: &str| {
        if slack {
            format!("*{s}*")
        } else {
            format!("**{s}**")
        }
    };
    let head = format!("{} shipped: {}", bold(&f.name), counts_text(f));
    let mut lines: Vec<String> = Vec::new();
    for b in &f.breaking {
        lines.push(format!(
            "⚠️ Breaking: {}",
            b.breaking.as_deref().unwrap_or(&b.title)
        ));
    }
    for item in &changes.items {
        let refs: Vec<String> = item.refs.iter().map(|r| format!("#{r}")).collect();
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
        lines.push(format!("• {}{refs}{by}", item.title));
    }
    let mut tail = String::new();
    if !changes.noise.is_empty() {
        tail = if slack {
            format!("_{}_", noise_summary(changes))
        } else {
            format!("*{}*", noise_summary(changes))
        };
    }
    if let Some(url) = &f.url {
        tail = format!("{tail}\n{url}").trim().to_owned();
    }
    (head, lines, tail)
}

fn counts_text(f: &Facts) -> String {
    if f.counts.is_empty() {
        return "no user-facing changes".to_owned();
    }
    let parts: Vec<String> = f.counts.iter().map(|(c, n)| c.counted(*n)).collect();
    parts.join(", ")
}

fn marker(c: Category, voice: Voice) -> &'static str {
    if voice != Voice::Sassy {
        return "•";
    }
    match c {
        Category::Feature => "✨",
        Category::Fix => "🐛",
        Category::Performance => "⚡",
        Category::Security => "🔒",
        Category::Docs => "📚",
        _ => "🔧",
    }
}

/// Why the headline matters to a user, by what kind of change it is.
fn benefit(item: Option<&Item>, voice: Voice) -> &'static str {
    let Some(item) = item else { return "" };
    if !item.category.user_visible() {
        return "";
    }
    match (item.category, voice) {
        (Category::Feature, Voice::Sassy) => "You asked, we built it.",
        (Category::Feature, _) => "It is ready to use today.",
        (Category::Fix, Voice::Sassy) => "One less thing to swear at.",
        (Category::Fix, _) => "Things that broke now work.",
        (Category::Performance, Voice::Sassy) => "Same features, less waiting.",
        (Category::Performance, _) => "It is faster now.",
        (Category::Security, Voice::Sassy) => "Patch now; attackers read changelogs too.",
        (Category::Security, _) => "Please update soon.",
        _ => "",
    }
}

/// Puts head, lines and tail together within the channel's limit: drops lines from the
/// end (saying how many), then shortens the head at a word boundary.
fn fit(channel: Channel, head: &str, lines: &[String], tail: &str) -> String {
    let limit = channel.limit();
    let compose = |kept: usize, head: &str| {
        let mut body: Vec<String> = lines[..kept].to_vec();
        let dropped = lines.iter().skip(kept).filter(|l| !l.is_empty()).count();
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
    };
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

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match (chars.next(), chars.clone().next()) {
        // Keep acronyms and identifiers ("API", "CLI") as they are.
        (Some(c), Some(n)) if c.is_uppercase() && !n.is_uppercase() => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use covalynce_domain::Commit;
    use covalynce_understanding::understand;
    use proptest::prelude::*;

    fn changes(messages: &[&str]) -> Changeset {
        let commits: Vec<Commit> = messages
            .iter()
            .enumerate()
            .map(|(n, m)| Commit {
                id: format!("{n:040x}"),
                message: m.to_string(),
                author_name: "Ada".into(),
                author_email: "ada@example.com".into(),
                files: vec!["src/lib.rs".into()],
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
            date: None,
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
        assert!(technical.contains("1 bug fix"), "{technical}");
        assert!(technical.contains("1 test change"), "{technical}");
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
                    text.to_lowercase().contains("add dark mode"),
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
        assert!(plain.contains("is now available"));
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
            assert!(
                channel.length(&text) <= channel.limit(),
                "{channel:?}: {}",
                channel.length(&text)
            );
        }
        let mastodon = post(&c, &ctx(), Voice::Sassy, Channel::Mastodon);
        assert!(mastodon.contains("more"), "{mastodon}");
        assert!(
            mastodon.contains("https://github.com/acme/rocket/releases/tag/v1.2.0"),
            "the link survives trimming"
        );
    }

    proptest! {
        #[test]
        fn any_commit_text_fits_every_channel(msgs in proptest::collection::vec("\\PC{1,400}", 1..8)) {
            let refs: Vec<&str> = msgs.iter().map(String::as_str).collect();
            let c = changes(&refs);
            for voice in [Voice::Sassy, Voice::Plain, Voice::Technical] {
                for channel in Channel::ALL {
                    let text = post(&c, &ctx(), voice, channel);
                    prop_assert!(channel.length(&text) <= channel.limit(), "{:?} {:?} {}", voice, channel, channel.length(&text));
                }
            }
        }
    }
}
