//! The public changelog: a workspace's approved release notes, newest first, as a page, one
//! page per release, an Atom 1.0 feed and a JSON Feed 1.1 — no sign-in, no script.
//!
//! What is public is only what a changelog channel published. Every answer about a
//! workspace without a public changelog (unknown, private, switched off) is the same 404,
//! so nobody learns which workspaces exist. Markdown is rendered with any HTML in it shown
//! as text, and only web and mail links kept. Answers carry an ETag and Last-Modified
//! from the changelog's own last change, so readers and crawlers polling the feeds get
//! 304s.

use super::page::render;
use crate::http::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use covalynce_app::changelog::{IN_FEED, PER_PAGE, Public};
use covalynce_storage::ChangelogEntry;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub struct EntryVm {
    pub version: String,
    pub title: String,
    pub html: String,
    pub date: String,
    pub iso: String,
    pub link: String,
    pub release_url: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "changelog.html")]
struct ChangelogPage {
    css: &'static str,
    title: String,
    feed_atom: String,
    feed_json: String,
    entries: Vec<EntryVm>,
    /// One release's page: its Open Graph description.
    single: Option<String>,
    /// One release's page: its image's address and alt text.
    image: Option<(String, String)>,
    canonical: String,
    newer: Option<String>,
    older: Option<String>,
}

/// `GET /changelog/{workspace}`: the page (`?page=N`, 20 a page).
pub async fn page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let number = q.page.unwrap_or(1);
    let public = match state.app().public_changelog(&slug, number, PER_PAGE).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let base = crate::auth::base_url(&state, &headers);
    let tag = listing_etag("page", &public, number, &base);
    if let Some(fresh) = not_modified(&headers, &tag, public.page.modified) {
        return fresh;
    }
    let path = format!("/changelog/{}", public.slug.as_str());
    let at = |n: i64| {
        if n == 1 {
            path.clone()
        } else {
            format!("{path}?page={n}")
        }
    };
    let view = ChangelogPage {
        css: super::assets::css_url(),
        title: public.title.clone(),
        feed_atom: format!("{path}/feed.atom"),
        feed_json: format!("{path}/feed.json"),
        entries: public
            .page
            .entries
            .iter()
            .map(|e| entry_vm(&path, e))
            .collect(),
        single: None,
        image: None,
        canonical: format!("{base}{}", at(number)),
        newer: (number > 1).then(|| at(number - 1)),
        older: (number < public.pages).then(|| at(number + 1)),
    };
    cached(render(&view), &tag, public.page.modified)
}

/// `GET /changelog/{workspace}/{version}`: one release.
pub async fn entry(
    State(state): State<AppState>,
    Path((slug, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (slug, entry) = match state.app().public_changelog_entry(&slug, &version).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let base = crate::auth::base_url(&state, &headers);
    let updated = entry.updated_at.to_string();
    let tag = etag(&["entry", slug.as_str(), &entry.version, &updated, &base]);
    if let Some(fresh) = not_modified(&headers, &tag, entry.updated_at) {
        return fresh;
    }
    let path = format!("/changelog/{}", slug.as_str());
    let vm = entry_vm(&path, &entry);
    let image = image_of(&entry);
    let view = ChangelogPage {
        css: super::assets::css_url(),
        title: format!("{} {}", entry.project, entry.version),
        feed_atom: format!("{path}/feed.atom"),
        feed_json: format!("{path}/feed.json"),
        single: Some(summary(&entry.body)),
        image: Some((format!("{base}{}/og.png", vm.link), image.alt())),
        canonical: format!("{base}{}", vm.link),
        entries: vec![vm],
        newer: None,
        older: Some(path.clone()),
    };
    cached(render(&view), &tag, entry.updated_at)
}

/// `GET /changelog/{workspace}/{version}/og.png`: the release's image, for link previews.
pub async fn image(
    State(state): State<AppState>,
    Path((slug, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (slug, entry) = match state.app().public_changelog_entry(&slug, &version).await {
        Ok(Some(found)) => found,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    // The image is drawn from the entry as last changed: a reader that has it is answered
    // before anything is drawn.
    let updated = entry.updated_at.to_string();
    let tag = etag(&["og", slug.as_str(), &entry.version, &updated]);
    if let Some(fresh) = not_modified(&headers, &tag, entry.updated_at) {
        return fresh;
    }
    let image = image_of(&entry);
    let png = tokio::task::spawn_blocking(move || covalynce_publishing::image::render(&image))
        .await
        .unwrap_or_default();
    cached(
        ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        &tag,
        entry.updated_at,
    )
}

/// `GET /changelog/{workspace}/feed.atom`: Atom 1.0, the newest 50.
pub async fn atom(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    feed(&state, &slug, &headers, Feed::Atom).await
}

/// `GET /changelog/{workspace}/feed.json`: JSON Feed 1.1, the newest 50.
pub async fn json(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    feed(&state, &slug, &headers, Feed::Json).await
}

#[derive(Clone, Copy)]
enum Feed {
    Atom,
    Json,
}

async fn feed(state: &AppState, slug: &str, headers: &HeaderMap, kind: Feed) -> Response {
    let public = match state.app().public_changelog(slug, 1, IN_FEED).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found(),
        Err(e) => return unavailable(e),
    };
    let base = crate::auth::base_url(state, headers);
    let (name, content_type) = match kind {
        Feed::Atom => ("atom", "application/atom+xml; charset=utf-8"),
        Feed::Json => ("json", "application/feed+json; charset=utf-8"),
    };
    let tag = listing_etag(name, &public, 1, &base);
    if let Some(fresh) = not_modified(headers, &tag, public.page.modified) {
        return fresh;
    }
    let body = match kind {
        Feed::Atom => atom_feed(&base, &public),
        Feed::Json => json_feed(&base, &public),
    };
    cached(
        ([(header::CONTENT_TYPE, content_type)], body).into_response(),
        &tag,
        public.page.modified,
    )
}

fn entry_vm(path: &str, e: &ChangelogEntry) -> EntryVm {
    EntryVm {
        version: e.version.clone(),
        title: e.title.clone(),
        html: markdown(&e.body),
        date: date(e.published_at),
        iso: rfc3339(e.published_at),
        link: format!("{path}/{}", e.version),
        release_url: e.release_url.clone(),
    }
}

/// The Atom document (RFC 4287): ids are the entries' own addresses, which never change.
fn atom_feed(base: &str, public: &Public) -> String {
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
            content.set_value(markdown(&e.body));
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
fn json_feed(base: &str, public: &Public) -> String {
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
                "content_html": markdown(&e.body),
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
pub fn markdown(text: &str) -> String {
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
fn summary(body: &str) -> String {
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

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

fn date(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%-d %B %Y").to_string())
        .unwrap_or_default()
}

fn http_date(ms: i64) -> Option<String> {
    let t = jiff::Timestamp::from_second(ms.div_euclid(1000)).ok()?;
    Some(t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

/// The absolute address feeds need: the operator's public URL, else this request's host.
/// What a release's image says, from its entry.
fn image_of(entry: &ChangelogEntry) -> covalynce_publishing::image::ReleaseImage {
    covalynce_publishing::image::ReleaseImage::from_notes(
        &entry.project,
        &entry.version,
        &entry.body,
        entry.release_url.as_deref(),
    )
}

/// The validator of a page or feed: the kind of answer, the changelog's last change and
/// size, the page, its title, and the base (answers made for another host name carry other
/// absolute links).
fn listing_etag(kind: &str, public: &Public, number: i64, base: &str) -> String {
    etag(&[
        kind,
        public.slug.as_str(),
        &public.page.modified.to_string(),
        &public.page.total.to_string(),
        &number.to_string(),
        &public.title,
        base,
    ])
}

/// A weak validator of what an answer shows, from the parts that decide it.
fn etag(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let seed = parts.join("|");
    format!(
        "W/\"{}\"",
        hex::encode(&Sha256::digest(seed.as_bytes())[..12])
    )
}

/// 304 when the reader already has this: its ETag matches, or (without one) nothing
/// changed since the time it names.
fn not_modified(headers: &HeaderMap, tag: &str, modified: i64) -> Option<Response> {
    let fresh = if let Some(inm) = headers.get(header::IF_NONE_MATCH) {
        let inm = inm.to_str().unwrap_or_default();
        inm.trim() == "*" || inm.split(',').any(|t| weak_eq(t.trim(), tag))
    } else if let Some(ims) = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
    {
        jiff::fmt::rfc2822::parse(ims)
            .map(|z| z.timestamp().as_second() >= modified.div_euclid(1000))
            .unwrap_or(false)
    } else {
        false
    };
    fresh.then(|| {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        stamp(r.headers_mut(), tag, modified);
        r
    })
}

fn weak_eq(a: &str, b: &str) -> bool {
    a.trim_start_matches("W/") == b.trim_start_matches("W/")
}

fn cached(mut response: Response, tag: &str, modified: i64) -> Response {
    if response.status().is_success() {
        stamp(response.headers_mut(), tag, modified);
    }
    response
}

fn stamp(h: &mut HeaderMap, tag: &str, modified: i64) {
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    if let Some(v) = http_date(modified).and_then(|d| HeaderValue::from_str(&d).ok()) {
        h.insert(header::LAST_MODIFIED, v);
    }
    // Public, and worth asking again after a minute.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=60"),
    );
}

/// One answer for every workspace without a public changelog.
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Not found</title><p>There is no public changelog here.</p></html>",
    )
        .into_response()
}

fn unavailable(e: covalynce_app::AppError) -> Response {
    tracing::warn!(error = %e, "public changelog unavailable");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "5")],
        "The changelog cannot be read right now; try again in a moment.",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_and_script_links_in_release_notes_are_shown_as_text() {
        let html = markdown(
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

    #[test]
    fn http_dates_are_what_if_modified_since_parses_back() {
        let ms = 1_765_000_000_123;
        let text = http_date(ms).unwrap();
        assert!(text.ends_with(" GMT"), "{text}");
        let back = jiff::fmt::rfc2822::parse(&text).unwrap();
        assert_eq!(back.timestamp().as_second(), ms / 1000);
    }
}
