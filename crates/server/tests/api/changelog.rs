//! The public changelog, as a founder and its readers meet it: a changelog channel takes an
//! approved release card (and refuses anything else), the owner makes the page public, and
//! readers get the page, one release's page, an Atom and a JSON feed — with 304s for what
//! they already have — and nothing else of the workspace. A taken-down entry is gone from
//! all of them; a private or unknown changelog is the same 404.

use crate::helpers::*;
use covalynce_storage::Backend;
use serde_json::{Value, json};
use std::str::FromStr;

on_both_backends!(
    a_release_approved_to_the_changelog_is_on_the_public_page_and_in_both_feeds_once,
    a_changelog_shows_nothing_until_its_owner_makes_it_public_and_nothing_else_ever,
    a_release_card_shows_its_image_and_link_previews_get_it_from_the_changelog,
    the_same_version_reported_again_is_not_a_second_card,
);

/// A release another tool reports; returns its card's id once drafted.
pub(crate) async fn release(app: &TestApp, version: &str, body: &str) -> String {
    let r = app
        .post_json(
            "/api/v1/events",
            &json!({
                "kind": "release", "title": format!("Rocket {version}"),
                "body": body,
                "url": format!("https://github.com/acme/rocket/releases/tag/{version}"),
                "refs": {"repo": "acme/rocket", "version": version},
                "idempotency_key": format!("release-{version}"),
            }),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let find = || async {
        app.get_json("/api/v1/cards?status=pending").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"].as_str().unwrap_or_default().contains(version))
            .map(|c| c["id"].as_str().unwrap().to_owned())
    };
    app.eventually("the release card is drafted", || async {
        find().await.is_some()
    })
    .await;
    find().await.unwrap()
}

pub(crate) async fn changelog_channel(app: &TestApp) -> String {
    let r = app
        .post_json("/api/v1/channels", &json!({"kind": "changelog"}))
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["kind"], "changelog");
    body["data"]["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn make_public(app: &TestApp, public: bool) {
    let r = app
        .client
        .put(app.url("/api/v1/changelog"))
        .bearer_auth(&app.token)
        .json(&json!({ "public": public }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn slug(app: &TestApp) -> String {
    app.get_json("/api/v1/workspace").await["data"]["slug"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A reader's GET: no token, no cookie.
async fn read(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = reqwest::Client::new().get(app.url(path));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.unwrap()
}

async fn a_release_approved_to_the_changelog_is_on_the_public_page_and_in_both_feeds_once(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let channel = changelog_channel(&app).await;
    let slug = slug(&app).await;
    let card = release(
        &app,
        "v2.4.0",
        "- feat: export reports as CSV\n- fix: the <script>alert(1)</script> login loop on Safari",
    )
    .await;
    let notes = app.card(&card).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(notes.contains("CSV"), "{notes}");
    assert!(
        notes.contains("<script>"),
        "the notes carry the markup: {notes}"
    );

    // A deploy is not a release: the changelog refuses it before anything is queued.
    let r = app
        .post_json(
            "/api/v1/events",
            &json!({"kind": "deploy", "title": "Deploy the billing rewrite", "body": "- feat: invoices in PDF",
                    "refs": {"repo": "acme/rocket"}, "idempotency_key": "deploy-1"}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let pending = app.wait_pending(2).await;
    let push = pending.iter().find(|c| **c != card).unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/cards/{push}/approve"),
            &json!({ "channels": [channel] }),
        )
        .await;
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("releases and tags"),
        "{p}"
    );

    app.approve(&card, &channel).await;
    let settled = app.settled(&card).await;
    assert_eq!(settled["status"], "published", "{settled}");
    let url = settled["publications"][0]["url"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(url, format!("/changelog/{slug}/v2.4.0"), "{settled}");

    // Private until the owner says otherwise: the entry exists, the page does not.
    assert_eq!(
        read(&app, &format!("/changelog/{slug}"), &[])
            .await
            .status(),
        404
    );
    make_public(&app, true).await;

    let page = read(&app, &format!("/changelog/{slug}"), &[]).await;
    assert_eq!(page.status(), 200);
    let etag = page.headers()["etag"].to_str().unwrap().to_owned();
    let modified = page.headers()["last-modified"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    assert!(html.contains("v2.4.0"), "{html}");
    assert!(html.contains("CSV"), "{html}");
    assert!(
        html.contains("feed.atom") && html.contains("feed.json"),
        "{html}"
    );
    // Card text is text: no tag of it reaches the page (the page itself has no script).
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    // Nothing else of the workspace: the pending push's card is not on the page.
    let push_title = app.card(push).await["title"].as_str().unwrap().to_owned();
    assert!(!html.contains(&push_title), "{push_title} leaked: {html}");

    // What a reader already has costs a 304, by ETag or by date.
    let again = read(
        &app,
        &format!("/changelog/{slug}"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status(), 304);
    assert!(again.text().await.unwrap().is_empty());
    let again = read(
        &app,
        &format!("/changelog/{slug}"),
        &[("if-modified-since", &modified)],
    )
    .await;
    assert_eq!(again.status(), 304);

    // One release's page, with the tags link previews read.
    let one = read(&app, &format!("/changelog/{slug}/v2.4.0"), &[]).await;
    assert_eq!(one.status(), 200);
    let one = one.text().await.unwrap();
    assert!(one.contains("<meta property=\"og:title\""), "{one}");
    assert!(one.contains("twitter:card"), "{one}");
    assert_eq!(
        read(&app, &format!("/changelog/{slug}/v9.9.9"), &[])
            .await
            .status(),
        404
    );

    // Atom 1.0 that a feed library reads back, with absolute, stable ids.
    let atom = read(&app, &format!("/changelog/{slug}/feed.atom"), &[]).await;
    assert_eq!(atom.status(), 200);
    assert!(
        atom.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let atom_tag = atom.headers()["etag"].to_str().unwrap().to_owned();
    let feed = atom_syndication::Feed::from_str(&atom.text().await.unwrap()).unwrap();
    assert_eq!(feed.entries().len(), 1);
    let entry = &feed.entries()[0];
    assert_eq!(entry.id(), app.url(&format!("/changelog/{slug}/v2.4.0")));
    assert!(entry.content().unwrap().value().unwrap().contains("CSV"));
    let again = read(
        &app,
        &format!("/changelog/{slug}/feed.atom"),
        &[("if-none-match", &atom_tag)],
    )
    .await;
    assert_eq!(again.status(), 304);

    // JSON Feed 1.1.
    let json_feed: Value = read(&app, &format!("/changelog/{slug}/feed.json"), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json_feed["version"], "https://jsonfeed.org/version/1.1");
    let items = json_feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{json_feed}");
    assert_eq!(
        items[0]["id"],
        app.url(&format!("/changelog/{slug}/v2.4.0"))
    );
    assert_eq!(
        items[0]["external_url"],
        "https://github.com/acme/rocket/releases/tag/v2.4.0"
    );

    // Approved once, published once: the card cannot go to the changelog again.
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({ "channels": [channel] }),
        )
        .await;
    assert_eq!(r.status(), 409);

    // Taken down: gone from the page, its own page and both feeds; the feed changed.
    let r = app
        .client
        .delete(app.url("/api/v1/changelog/entries/v2.4.0"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let html = read(&app, &format!("/changelog/{slug}"), &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("v2.4.0"), "{html}");
    assert!(html.contains("No releases yet"), "{html}");
    assert_eq!(
        read(&app, &format!("/changelog/{slug}/v2.4.0"), &[])
            .await
            .status(),
        404
    );
    let gone = read(
        &app,
        &format!("/changelog/{slug}/feed.atom"),
        &[("if-none-match", &atom_tag)],
    )
    .await;
    assert_eq!(gone.status(), 200, "a take-down changes the feed");
    let feed = atom_syndication::Feed::from_str(&gone.text().await.unwrap()).unwrap();
    assert!(feed.entries().is_empty());
    let r = app
        .client
        .delete(app.url("/api/v1/changelog/entries/v2.4.0"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "nothing left to take down");
    let audit = app.get_json("/api/v1/audit").await.to_string();
    assert!(audit.contains("changelog.take_down"), "{audit}");
    assert!(audit.contains("workspace.changelog"), "{audit}");
    app.stop().await;
}

async fn a_changelog_shows_nothing_until_its_owner_makes_it_public_and_nothing_else_ever(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let slug = slug(&app).await;
    let unknown = read(&app, "/changelog/nobody-here", &[]).await;
    assert_eq!(unknown.status(), 404);
    let unknown = unknown.text().await.unwrap();
    // Off by default; the same answer as a workspace that does not exist.
    let setting = app.get_json("/api/v1/changelog").await;
    assert_eq!(setting["data"]["public"], false, "{setting}");
    for path in ["", "/feed.atom", "/feed.json", "/v1.0.0"] {
        let r = read(&app, &format!("/changelog/{slug}{path}"), &[]).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.text().await.unwrap(), unknown, "{path}");
    }

    // Public: an empty changelog reads as one.
    make_public(&app, true).await;
    let r = read(&app, &format!("/changelog/{slug}"), &[]).await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("No releases yet"));

    // Only the workspace's own sources can be picked.
    let r = app
        .client
        .put(app.url("/api/v1/changelog"))
        .bearer_auth(&app.token)
        .json(&json!({"public": true, "sources": ["0190a0a0-0000-7000-8000-000000000000"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "{}", r.text().await.unwrap());

    // Another workspace's changelog is its own business: private, it is the same 404.
    let other = app.token_for("other-team").await;
    let r = app
        .client
        .get(app.url("/api/v1/changelog"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    let theirs: Value = r.json().await.unwrap();
    assert_eq!(theirs["data"]["public"], false);
    let r = read(&app, "/changelog/other-team", &[]).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.unwrap(), unknown);

    // Off again: gone.
    make_public(&app, false).await;
    assert_eq!(
        read(&app, &format!("/changelog/{slug}"), &[])
            .await
            .status(),
        404
    );
    // Pages past the end and nonsense pages are not found either.
    make_public(&app, true).await;
    for q in ["?page=2", "?page=0", "?page=-1"] {
        let r = read(&app, &format!("/changelog/{slug}{q}"), &[]).await;
        assert_eq!(r.status(), 404, "{q}");
    }
    app.stop().await;
}

/// Width and height from a PNG's IHDR, after checking its signature.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    (
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
    )
}

/// A GET with the browser's session, as bytes.
async fn fetch(owner: &crate::accounts::Browser<'_>, path: &str) -> (u16, String, Vec<u8>) {
    let r = reqwest::Client::new()
        .get(owner.app_url(path))
        .header("cookie", owner.cookie())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.bytes().await.unwrap().to_vec())
}

/// A release card carries a 1200×630 image of its text — drawn again when the text is
/// edited — shown on the card; once on the public changelog, link previews get it too.
/// Cards that are not releases have none, and another workspace's card is not found.
async fn a_release_card_shows_its_image_and_link_previews_get_it_from_the_changelog(
    backend: Backend,
) {
    use crate::accounts::Browser;
    use reqwest::Method;
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "founder@example.com", json!({"workspace": "launch"})).await;
    let token = app.token_for("launch").await;
    let r = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&token)
        .json(&json!({
            "kind": "release", "title": "Rocket v3.0.0",
            "body": "- feat: export invoices as CSV\n- feat: dark mode follows the system\n- fix: totals round once",
            "refs": {"repo": "acme/rocket", "version": "v3.0.0"},
            "idempotency_key": "release-v3.0.0",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let pending = || async {
        owner
            .send(Method::GET, "/api/v1/cards?status=pending", None)
            .await
            .1["data"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    app.eventually("the release card is drafted", || async {
        !pending().await.is_empty()
    })
    .await;
    let card = pending().await[0]["id"].as_str().unwrap().to_owned();

    // On the card: the image, with alt text saying what it shows.
    let stack = owner.page("/").await.html;
    assert!(
        stack.contains(&format!("src=\"/cards/{card}/image.png\"")),
        "{stack}"
    );
    assert!(stack.contains("alt=\"rocket v3.0.0: "), "{stack}");
    let (status, kind, first) = fetch(&owner, &format!("/cards/{card}/image.png")).await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(png_size(&first), (1200, 630));
    let (_, _, again) = fetch(&owner, &format!("/cards/{card}/image.png")).await;
    assert_eq!(first, again, "the same text, the same image");

    // Edit the post to lead with another change: the image leads with it too.
    let (status, _) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/cards/{card}"),
            Some(json!({"variants": {"linkedin": "Totals round once in rocket v3.0.0, finally.\n\nAnd more."}})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, _, edited) = fetch(&owner, &format!("/cards/{card}/image.png")).await;
    assert_ne!(first, edited, "drawn again from the edited text");
    let stack = owner.page("/").await.html;
    assert!(
        stack.contains("alt=\"rocket v3.0.0: Totals round once"),
        "{stack}"
    );

    // Not a release: no image. Another workspace's card: not found.
    let (status, _, _) = fetch(
        &owner,
        "/cards/0190a0a0-0000-7000-8000-000000000000/image.png",
    )
    .await;
    assert_eq!(status, 404);
    let theirs = release(&app, "v9.0.0", "- feat: warp").await;
    let (status, _, _) = fetch(&owner, &format!("/cards/{theirs}/image.png")).await;
    assert_eq!(status, 404, "acme's card is not launch's");

    // On the public changelog, link previews get the image.
    let (status, channel) = owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "changelog"})),
        )
        .await;
    assert_eq!(status, 201);
    let channel = channel["data"]["id"].as_str().unwrap().to_owned();
    let (status, _) = owner
        .send(
            Method::POST,
            &format!("/api/v1/cards/{card}/approve"),
            Some(json!({ "channels": [channel] })),
        )
        .await;
    assert_eq!(status, 202);
    let (status, _) = owner
        .send(
            Method::PUT,
            "/api/v1/changelog",
            Some(json!({"public": true})),
        )
        .await;
    assert_eq!(status, 200);
    app.eventually("the release is on the changelog", || async {
        read(&app, "/changelog/launch/v3.0.0", &[]).await.status() == 200
    })
    .await;
    let page = read(&app, "/changelog/launch/v3.0.0", &[])
        .await
        .text()
        .await
        .unwrap();
    let og = app.url("/changelog/launch/v3.0.0/og.png");
    assert!(
        page.contains(&format!("<meta property=\"og:image\" content=\"{og}\">")),
        "{page}"
    );
    assert!(page.contains("summary_large_image"), "{page}");
    assert!(page.contains("og:image:alt"), "{page}");
    let image = read(&app, "/changelog/launch/v3.0.0/og.png", &[]).await;
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    let tag = image.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(png_size(&image.bytes().await.unwrap()), (1200, 630));
    let again = read(
        &app,
        "/changelog/launch/v3.0.0/og.png",
        &[("if-none-match", &tag)],
    )
    .await;
    assert_eq!(again.status(), 304);
    assert_eq!(
        read(&app, "/changelog/launch/v1.0.0/og.png", &[])
            .await
            .status(),
        404
    );

    // Settings lists what is on the changelog; "Take down" takes it off.
    let settings = owner.page("/settings").await.html;
    assert!(
        settings.contains("action=\"/settings/changelog/v3.0.0/take-down\""),
        "{settings}"
    );
    let answer = owner
        .form("/settings/changelog/v3.0.0/take-down", &[])
        .await;
    assert!(
        answer.html.contains("v3.0.0 is off the changelog"),
        "{}",
        answer.html
    );
    assert_eq!(
        read(&app, "/changelog/launch/v3.0.0", &[]).await.status(),
        404
    );
    app.stop().await;
}

/// The same release seen again — GitHub's release after its tag (a GitHub Releases channel
/// makes one), or another tool's report — is one card: once announced, it is not announced
/// again; still waiting, the earlier card folds into the new one.
async fn the_same_version_reported_again_is_not_a_second_card(backend: Backend) {
    let app = spawn_app(backend).await;
    let outbox = crate::publishing::outbox(&app, "versions.jsonl").await.0;
    let report = |version: &'static str, key: &'static str| {
        let app = &app;
        async move {
            let r = app
                .post_json(
                    "/api/v1/events",
                    &json!({"kind": "release", "title": format!("Rocket {version}"),
                            "body": "- feat: export invoices as CSV",
                            "refs": {"repo": "acme/rocket", "version": version},
                            "idempotency_key": key}),
                )
                .await;
            assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
            r.json::<Value>().await.unwrap()["data"]["event"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let cards = || async {
        app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .clone()
    };
    // Announced: a second report of v3.0.0 drafts nothing, and says why.
    let first = release(&app, "v3.0.0", "- feat: export invoices as CSV").await;
    app.approve(&first, &outbox).await;
    assert_eq!(app.settled(&first).await["status"], "published");
    let again = report("v3.0.0", "github-release-v3.0.0").await;
    app.eventually("the second report is settled", || async {
        app.get_json(&format!("/api/v1/events/{again}")).await["data"]["status"] == "skipped"
    })
    .await;
    let event = app.get_json(&format!("/api/v1/events/{again}")).await;
    assert!(
        event["data"]["status_reason"]
            .as_str()
            .unwrap()
            .contains("already announced"),
        "{event}"
    );
    assert_eq!(cards().await.len(), 1);

    // Still waiting: the newer report's card replaces the earlier one.
    let waiting = release(&app, "v4.0.0", "- feat: dark mode").await;
    report("v4.0.0", "github-release-v4.0.0").await;
    app.eventually(
        "the newer card is drafted and the earlier folds",
        || async {
            let all = cards().await;
            all.len() == 3
                && all
                    .iter()
                    .any(|c| c["id"] == waiting.as_str() && c["status"] == "dismissed")
        },
    )
    .await;
    let pending: Vec<Value> = cards()
        .await
        .into_iter()
        .filter(|c| c["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 1, "one card for v4.0.0: {pending:?}");
    app.stop().await;
}
