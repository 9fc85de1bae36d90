//! The public changelog's formats: notes as safe HTML, the Atom 1.0 and JSON Feed 1.1
//! documents, and the dates they show. Pure functions of a [`Public`] changelog and the
//! address it is served at; the HTTP answers (caching, 304s) stay with the adapter.

use super::Public;

/// The Atom document (RFC 4287): ids are the entries' own addresses, which never change.
pub fn atom(base: &str, public: &Public) -> String {
    use atom_syndication::{Content, Entry, Feed, FixedDateTime, Link, Text};
    let time = |ms: i64| {
        FixedDateTime::parse_from_rfc3339(&rfc3339(ms)).unwrap_or_else(|_| {
            FixedDateTime::parse_from_rfc3339("1970-01-01T00:00:00Z").expect("a valid time")
        })
    };
    let home = format!("{base}/changelog/{}", public.slug.as_str());
    let link = |href: String, rel: &str| {
        let mut l = Link::default();
        l.set_href(href);
        l.set_rel(rel);
        l
    };
    let entries: Vec<Entry> = public
        .page
        .entries
        .iter()
        .map(|e| {
            let url = format!("{home}/{}", e.version);
            let mut content = Content::default();
            content.set_content_type("html".to_owned());
            content.set_value(html(&e.body));
            let mut entry = Entry::default();
            entry.set_id(url.clone());
            entry.set_title(Text::plain(e.title.clone()));
            entry.set_updated(time(e.updated_at));
            entry.set_published(time(e.published_at));
            entry.set_links(vec![link(url, "alternate")]);
            entry.set_summary(Text::plain(summary(&e.body)));
            entry.set_content(content);
            entry
        })
        .collect();
    let mut author = atom_syndication::Person::default();
    author.set_name(public.title.clone());
    let mut feed = Feed::default();
    feed.set_id(home.clone());
    feed.set_title(Text::plain(format!("{} changelog", public.title)));
    feed.set_updated(time(public.page.modified));
    feed.set_authors(vec![author]);
    feed.set_links(vec![
        link(home.clone(), "alternate"),
        link(format!("{home}/feed.atom"), "self"),
    ]);
    feed.set_entries(entries);
    feed.to_string()
}

/// The JSON Feed 1.1 document (jsonfeed.org/version/1.1).
pub fn json(base: &str, public: &Public) -> String {
    let home = format!("{base}/changelog/{}", public.slug.as_str());
    let items: Vec<serde_json::Value> = public
        .page
        .entries
        .iter()
        .map(|e| {
            let url = format!("{home}/{}", e.version);
            let mut item = serde_json::json!({
                "id": url,
                "url": url,
                "title": e.title,
                "content_html": html(&e.body),
                "content_text": e.body,
                "summary": summary(&e.body),
                "date_published": rfc3339(e.published_at),
                "date_modified": rfc3339(e.updated_at),
            });
            if let Some(release) = &e.release_url {
                item["external_url"] = release.clone().into();
            }
            item
        })
        .collect();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": format!("{} changelog", public.title),
        "home_page_url": home,
        "feed_url": format!("{home}/feed.json"),
        "language": "en",
        "items": items,
    });
    serde_json::to_string_pretty(&feed).unwrap_or_default()
}

/// Release notes (markdown) as HTML: raw HTML in them is shown as text, links other than
/// web, mail and this site's own are plain text, and images are their alt text (a public
/// page never loads what a card's text points at).
pub fn html(text: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let safe = |url: &str| {
        let lower = url.trim().to_ascii_lowercase();
        lower.starts_with("https://")
            || lower.starts_with("http://")
            || lower.starts_with("mailto:")
            || (lower.starts_with('/') && !lower.starts_with("//"))
            || lower.starts_with('#')
    };
    let mut dropped: Vec<bool> = Vec::new();
    let events = Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES)
        .filter_map(|event| match event {
            Event::Html(h) | Event::InlineHtml(h) => Some(Event::Text(h)),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let keep = safe(&dest_url);
                dropped.push(!keep);
                keep.then_some(Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                }))
            }
            Event::End(TagEnd::Link) => {
                (!dropped.pop().unwrap_or(false)).then_some(Event::End(TagEnd::Link))
            }
            // An image's alt text is its text events: they stay; the image goes.
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
            Event::Start(Tag::HtmlBlock) | Event::End(TagEnd::HtmlBlock) => None,
            other => Some(other),
        });
    let mut html = String::with_capacity(text.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// The first line of the notes that says something (not a heading), for previews.
pub fn summary(body: &str) -> String {
    let line = body
        .lines()
        .map(|l| l.trim().trim_start_matches(['-', '*', '#', ' ']).trim())
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let plain: String = line.chars().filter(|c| !matches!(c, '*' | '`')).collect();
    if plain.chars().count() > 200 {
        let cut: String = plain.chars().take(199).collect();
        format!("{cut}…")
    } else {
        plain
    }
}

pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

pub fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%-d %B %Y").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_script_links_in_release_notes_are_shown_as_text() {
        let html = html(
            "## Fixed\n- a <script>alert(1)</script> crash\n- [click](javascript:alert(1)) and [docs](https://example.com/d)\n\n<img src=x onerror=alert(1)>\n\n![logo](https://tracker.example/p.png)",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("click"), "the link's text stays: {html}");
        assert!(
            html.contains("<a href=\"https://example.com/d\">docs</a>"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img"), "{html}");
        assert!(html.contains("logo"), "an image is its alt text: {html}");
        assert!(html.contains("<h2>Fixed</h2>"), "{html}");
    }

    #[test]
    fn summaries_are_the_first_line_that_says_something() {
        assert_eq!(summary("## v1.2.0\n\n- **Faster** `grep`"), "v1.2.0");
        assert_eq!(summary("\n\n- Fixed a crash"), "Fixed a crash");
        assert!(summary(&"word ".repeat(100)).ends_with('…'));
    }
}
