//! What each connected channel will send for a card, shown the way its platform shows it:
//! the text (or thread) the publisher will send, Slack's mrkdwn and Discord's markdown
//! rendered, LinkedIn's "…see more" fold, a link card under X and Bluesky posts. The posts
//! come from `publishing`'s own preview, so the review never guesses.

use covalynce_domain::ChannelKind;
use covalynce_publishing::Look;
use covalynce_publishing::preview::Preview;
use covalynce_storage::ChannelRecord;

/// LinkedIn shows about this much of a post before "…see more".
const LINKEDIN_FOLD: usize = 210;

/// One channel's post for one card.
pub struct SendVm {
    pub channel_id: String,
    /// The channel's own name ("Acme on X").
    pub name: String,
    /// The platform ("X", "the outbox").
    pub platform: &'static str,
    /// CSS class: the platform's kind.
    pub kind: &'static str,
    /// Which drafted text it sends ("X", "LinkedIn").
    pub variant: &'static str,
    /// Each post as the platform shows it (HTML, escaped here).
    pub posts: Vec<String>,
    /// Why the platform would refuse it: approving to this channel is refused too.
    pub refusal: Option<String>,
    /// A text over the limit that this channel cuts into a thread: approving asks "as a
    /// thread?" first.
    pub split: bool,
    /// What an outbox or webhook channel will write, as JSON (the editor shows it).
    pub json: Option<String>,
    /// When it would go out if approved now ("next free slot: Mon 7 Dec, 09:00 (UTC)").
    pub when: String,
}

impl SendVm {
    pub fn of(
        channel: &ChannelRecord,
        preview: Result<Preview, String>,
        json: Option<serde_json::Value>,
        when: String,
    ) -> Self {
        let kind = channel.kind;
        let (variant, posts, refusal, split) = match preview {
            Ok(p) => {
                let posts = p.posts.iter().map(|t| post_html(kind, t)).collect();
                (
                    super::stack::channel_label(&p.variant),
                    posts,
                    None,
                    p.split,
                )
            }
            Err(why) => ("", Vec::new(), Some(why), false),
        };
        Self {
            channel_id: channel.id.to_string(),
            name: channel.name.clone(),
            platform: kind.heading(),
            kind: kind.as_str(),
            variant,
            posts,
            refusal,
            split,
            json: json.and_then(|j| serde_json::to_string_pretty(&j).ok()),
            when,
        }
    }
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn is_link(word: &str) -> bool {
    word.starts_with("https://") || word.starts_with("http://")
}

/// A link as written, without the punctuation that ends its sentence.
fn trim_link(word: &str) -> &str {
    word.trim_end_matches(['.', ',', ')', '!', '?', ';', ':'])
}

/// One post's HTML as `kind`'s platform shows it.
pub fn post_html(kind: ChannelKind, text: &str) -> String {
    match covalynce_publishing::look(kind) {
        Look::SlackMrkdwn => marked(text, &[("*", "strong"), ("_", "em"), ("~", "del")]),
        Look::DiscordMarkdown => marked(
            text,
            &[("**", "strong"), ("__", "u"), ("*", "em"), ("~~", "del")],
        ),
        Look::Folded => fold(text),
        Look::LinkCard => {
            let card = text
                .split_whitespace()
                .rev()
                .find(|w| is_link(w))
                .map(trim_link)
                .and_then(|l| covalynce_publishing::Url::parse(l).ok());
            let mut html = marked(text, &[]);
            if let Some(url) = card {
                let host = url
                    .host_str()
                    .unwrap_or_default()
                    .trim_start_matches("www.");
                let title = link_title(&url)
                    .map(|t| format!("<strong>{}</strong> ", esc(&t)))
                    .unwrap_or_default();
                html.push_str(&format!(
                    "<span class=\"link-card\">{title}<span class=\"muted\">{}</span></span>",
                    esc(host)
                ));
            }
            html
        }
        Look::Plain => esc(text),
    }
}

/// What a GitHub link's card says, read from its path as GitHub titles the page (the page
/// itself is never fetched); `None` for other links.
fn link_title(url: &covalynce_publishing::Url) -> Option<String> {
    if url.host_str()? != "github.com" {
        return None;
    }
    let parts: Vec<&str> = url.path_segments()?.filter(|p| !p.is_empty()).collect();
    let repo = format!("{}/{}", parts.first()?, parts.get(1)?);
    Some(match parts.get(2..).unwrap_or_default() {
        ["releases", "tag", tag, ..] => format!("Release {tag} · {repo}"),
        ["commit", sha, ..] => format!("Commit {} · {repo}", &sha[..sha.len().min(7)]),
        ["compare", range, ..] => format!("Compare {range} · {repo}"),
        ["pull", n, ..] => format!("Pull request #{n} · {repo}"),
        ["issues", n, ..] => format!("Issue #{n} · {repo}"),
        [] => repo,
        _ => return None,
    })
}

/// LinkedIn's fold: the first lines, then the rest behind "…see more".
fn fold(text: &str) -> String {
    if text.chars().count() <= LINKEDIN_FOLD {
        return marked(text, &[]);
    }
    // Cut at the last space before the fold, as LinkedIn does, never inside a word.
    let cut = text
        .char_indices()
        .take_while(|(i, _)| text[..*i].chars().count() < LINKEDIN_FOLD)
        .filter(|(_, c)| c.is_whitespace())
        .map(|(i, _)| i)
        .last()
        .unwrap_or_else(|| {
            text.char_indices()
                .nth(LINKEDIN_FOLD)
                .map_or(text.len(), |(i, _)| i)
        });
    format!(
        "{}<details class=\"fold\"><summary>…see more</summary>{}</details>",
        marked(&text[..cut], &[]),
        marked(&text[cut..], &[])
    )
}

/// Escaped text with its links made links and each `(marker, tag)` pair that wraps words
/// rendered as that tag (first match wins, so `**` is tried before `*`). Markup is never
/// read inside a link.
fn marked(text: &str, marks: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut plain = String::new();
    for word in text.split_inclusive(char::is_whitespace) {
        let bare = word.trim_end();
        if is_link(bare) {
            out.push_str(&styled(&std::mem::take(&mut plain), marks));
            let link = trim_link(bare);
            out.push_str(&format!(
                "<a href=\"{0}\" rel=\"noreferrer noopener\" target=\"_blank\" tabindex=\"-1\">{0}</a>",
                esc(link)
            ));
            plain.push_str(&word[link.len()..]);
        } else {
            plain.push_str(word);
        }
    }
    out.push_str(&styled(&plain, marks));
    out
}

fn styled(text: &str, marks: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (marker, tag) in marks {
            if let Some(after) = rest.strip_prefix(marker) {
                let opens = !after.starts_with(char::is_whitespace) && !after.is_empty();
                let prev_ok = out.chars().last().is_none_or(|c| !c.is_alphanumeric());
                if opens && prev_ok {
                    // The closing marker on the same line, after a non-space.
                    let line_end = after.find('\n').unwrap_or(after.len());
                    if let Some(end) = after[..line_end].find(marker)
                        && end > 0
                        && !after[..end].ends_with(char::is_whitespace)
                    {
                        let next = after[end + marker.len()..].chars().next();
                        if next.is_none_or(|c| !c.is_alphanumeric()) {
                            out.push_str(&format!("<{tag}>{}</{tag}>", esc(&after[..end])));
                            rest = &after[end + marker.len()..];
                            continue 'scan;
                        }
                    }
                }
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push_str(&esc(&c.to_string()));
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_and_discord_show_their_markup_rendered_and_nothing_else() {
        assert_eq!(
            post_html(ChannelKind::Slack, "*v2.0* is out: _faster_ <b>"),
            "<strong>v2.0</strong> is out: <em>faster</em> &lt;b&gt;"
        );
        assert_eq!(
            post_html(ChannelKind::Discord, "**v2.0** is out: *faster*"),
            "<strong>v2.0</strong> is out: <em>faster</em>"
        );
        // X shows asterisks as typed; a product name with one is left alone.
        assert_eq!(post_html(ChannelKind::X, "a *b* c"), "a *b* c");
        assert_eq!(
            post_html(ChannelKind::Slack, "2 * 3 * 4 and snake_case_name"),
            "2 * 3 * 4 and snake_case_name"
        );
    }

    #[test]
    fn links_are_links_and_markup_inside_them_is_not_read() {
        let html = post_html(ChannelKind::Slack, "see https://example.com/a_b_c. *now*");
        assert_eq!(
            html,
            "see <a href=\"https://example.com/a_b_c\" rel=\"noreferrer noopener\" target=\"_blank\" tabindex=\"-1\">https://example.com/a_b_c</a>. <strong>now</strong>"
        );
    }

    #[test]
    fn x_and_bluesky_posts_with_a_link_show_its_card() {
        let html = post_html(ChannelKind::Bluesky, "out now https://www.example.com/r/1");
        assert!(
            html.ends_with(
                "<span class=\"link-card\"><span class=\"muted\">example.com</span></span>"
            ),
            "{html}"
        );
        let release = post_html(
            ChannelKind::X,
            "v2 is out: https://github.com/acme/rocket/releases/tag/v2.0.0",
        );
        assert!(
            release.contains("<strong>Release v2.0.0 · acme/rocket</strong>"),
            "{release}"
        );
        let commit = post_html(
            ChannelKind::Mastodon,
            "<b> https://github.com/acme/rocket/commit/0123456789abcdef",
        );
        assert!(commit.contains("Commit 0123456 · acme/rocket"), "{commit}");
        assert!(commit.starts_with("&lt;b&gt;"), "{commit}");
    }

    #[test]
    fn a_long_linkedin_post_folds_at_a_word_boundary() {
        let text = format!("{} tail", "word ".repeat(60));
        let html = post_html(ChannelKind::Linkedin, &text);
        let (head, rest) = html.split_once("<details class=\"fold\">").unwrap();
        assert!(
            head.chars().count() <= LINKEDIN_FOLD && head.ends_with("word"),
            "{head}"
        );
        assert!(
            rest.contains("…see more") && rest.contains("tail"),
            "{rest}"
        );
        assert!(!post_html(ChannelKind::Linkedin, "short").contains("details"));
    }

    #[test]
    fn html_in_a_post_is_shown_as_text() {
        assert_eq!(
            post_html(ChannelKind::Outbox, "<script>x</script>"),
            "&lt;script&gt;x&lt;/script&gt;"
        );
    }
}
