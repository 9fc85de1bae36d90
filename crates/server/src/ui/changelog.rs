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
use covalynce_app::changelog::{IN_FEED, PER_PAGE, Public, formats};
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
    let base = crate::http::session::base_url(&state, &headers);
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
    let base = crate::http::session::base_url(&state, &headers);
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
        single: Some(formats::summary(&entry.body)),
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
    let base = crate::http::session::base_url(state, headers);
    let (name, content_type) = match kind {
        Feed::Atom => ("atom", "application/atom+xml; charset=utf-8"),
        Feed::Json => ("json", "application/feed+json; charset=utf-8"),
    };
    let tag = listing_etag(name, &public, 1, &base);
    if let Some(fresh) = not_modified(headers, &tag, public.page.modified) {
        return fresh;
    }
    let body = match kind {
        Feed::Atom => formats::atom(&base, &public),
        Feed::Json => formats::json(&base, &public),
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
        html: formats::html(&e.body),
        date: formats::date(e.published_at),
        iso: formats::rfc3339(e.published_at),
        link: format!("{path}/{}", e.version),
        release_url: e.release_url.clone(),
    }
}

fn http_date(ms: i64) -> Option<String> {
    let t = jiff::Timestamp::from_second(ms.div_euclid(1000)).ok()?;
    Some(t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

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
    fn http_dates_are_what_if_modified_since_parses_back() {
        let ms = 1_765_000_000_123;
        let text = http_date(ms).unwrap();
        assert!(text.ends_with(" GMT"), "{text}");
        let back = jiff::fmt::rfc2822::parse(&text).unwrap();
        assert_eq!(back.timestamp().as_second(), ms / 1000);
    }
}
