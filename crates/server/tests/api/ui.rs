//! The web UI's server side without a browser: what every page promises (sign-in,
//! roles, CSRF, readable errors, tenant isolation, compression, caching, strict CSP),
//! on SQLite and PostgreSQL. The browser itself is `browser.rs`.

use crate::accounts::Browser;
use crate::helpers::*;
use axum::http::{Method, StatusCode};
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    signed_out_visitors_are_sent_to_sign_in_and_back,
    pages_are_compressed_cached_and_under_a_strict_policy,
    forms_need_the_sessions_token_and_this_sites_origin,
    viewers_see_the_stack_but_cannot_act_on_it,
    another_workspaces_cards_are_not_found,
    bad_input_is_explained_on_the_page_and_nothing_is_lost,
    owners_set_up_ai_drafting_in_settings_and_keys_stay_hidden,
    a_founder_signs_up_and_invites_a_teammate_through_the_pages,
    refine_streams_the_answer_into_the_editor_and_keeps_the_rules,
    a_thread_shows_as_its_numbered_posts_on_the_card_and_in_the_editor,
    approving_in_the_editor_a_card_approved_elsewhere_says_it_is_already_approved,
);

fn plain() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub(crate) struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub html: String,
}

impl Browser<'_> {
    pub(crate) async fn page(&self, path: &str) -> Page {
        let r = plain()
            .get(self.app_url(path))
            .header("cookie", self.cookie())
            .send()
            .await
            .unwrap();
        Page::from(r).await
    }

    /// A form post as the browser sends it: urlencoded, the session's CSRF token in
    /// `_csrf`, and this site's Origin.
    pub(crate) async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = vec![("_csrf", self.csrf_token())];
        all.extend_from_slice(fields);
        let origin = self.app_url("");
        let r = plain()
            .post(self.app_url(path))
            .header("cookie", self.cookie())
            .header("origin", origin.trim_end_matches('/'))
            .form(&all)
            .send()
            .await
            .unwrap();
        Page::from(r).await
    }
}

impl Page {
    async fn from(r: reqwest::Response) -> Page {
        Page {
            status: r.status(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            html: r.text().await.unwrap(),
        }
    }
}

/// A workspace `team` with `n` pending cards drafted from pushes; returns their ids.
async fn cards(app: &TestApp, owner: &Browser<'_>, n: usize) -> Vec<String> {
    let secret = "ui-webhook-secret";
    let (_, source) = owner
        .send(
            Method::POST,
            "/api/v1/sources",
            Some(json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": secret})),
        )
        .await;
    let source = source["data"]["id"].as_str().unwrap().to_owned();
    for k in 0..n {
        let sha = format!("{:0>40}", k + 1);
        let r = app
            .deliver(
                &source,
                "push",
                &format!("ui-{k}"),
                secret,
                &push_of_commit(&sha),
            )
            .await;
        assert!(r.status().is_success());
    }
    let mut ids = Vec::new();
    for _ in 0..200 {
        let (_, list) = owner
            .send(Method::GET, "/api/v1/cards?status=pending", None)
            .await;
        ids = list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        if ids.len() == n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ids.len(), n);
    ids
}

async fn status_of(owner: &Browser<'_>, card: &str) -> Value {
    owner
        .send(Method::GET, &format!("/api/v1/cards/{card}"), None)
        .await
        .1["data"]["status"]
        .clone()
}

async fn signed_out_visitors_are_sent_to_sign_in_and_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = plain()
        .get(app.url("/settings?tab=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?next=/settings%3Ftab%3D1");
    Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let r = plain()
        .post(app.url("/login"))
        .header("origin", app.addr.as_str())
        .form(&[
            ("email", "ada@example.com"),
            ("password", "a long enough passphrase"),
            ("next", "/settings?tab=1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"],
        "/settings?tab=1",
        "back where they were going"
    );
    let r = plain()
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "a long enough passphrase"),
            ("next", "//evil.example/steal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "/", "never an open redirect");
    let r = plain()
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let html = r.text().await.unwrap();
    assert!(html.contains("The email or password is wrong."), "{html}");
    app.stop().await;
}

async fn pages_are_compressed_cached_and_under_a_strict_policy(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    cards(&app, &owner, 2).await;
    let raw = reqwest::Client::builder().build().unwrap();
    let r = raw
        .get(app.url("/"))
        .header("cookie", owner.cookie())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self';") && csp.contains("style-src 'self';"),
        "{csp}"
    );
    assert!(
        !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let html = owner.page("/").await.html;
    // Without script, "next" reloads the stack from the next card.
    let first_shown = |html: &str| {
        html.split("<article class=\"card\" data-card data-id=\"")
            .skip(1)
            .find(|a| {
                let tag_end = a.find('>').unwrap();
                !a[..tag_end].contains("hidden")
            })
            .map(|a| a[..a.find('"').unwrap()].to_owned())
            .unwrap()
    };
    assert!(
        html.contains("href=\"/?at=1\" data-next"),
        "a next link for two cards"
    );
    let skipped = owner.page("/?at=1").await.html;
    assert_ne!(
        first_shown(&html),
        first_shown(&skipped),
        "next shows another card"
    );
    let wrapped = owner.page("/?at=2").await.html;
    assert_eq!(first_shown(&html), first_shown(&wrapped), "and wraps round");
    assert!(
        !html.contains("<script>") && !html.contains(" style="),
        "no inline script or style"
    );
    let css = html
        .split("href=\"")
        .find_map(|s| s.split('"').next().filter(|u| u.ends_with("/app.css")))
        .unwrap()
        .to_owned();
    let r = raw.get(app.url(&css)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(r.text().await.unwrap().contains("--obsidian: #0B0C10"));
    let stale = raw
        .get(app.url("/assets/000000000000/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 404, "an old hash is not served new content");
    app.stop().await;
}

async fn forms_need_the_sessions_token_and_this_sites_origin(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let ids = cards(&app, &owner, 1).await;
    let path = format!("/cards/{}/dismiss", ids[0]);
    let no_token = plain()
        .post(app.url(&path))
        .header("cookie", owner.cookie())
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), 403);
    assert!(no_token.text().await.unwrap().contains("Reload the page"));
    let cross_site = plain()
        .post(app.url(&path))
        .header("cookie", owner.cookie())
        .header("origin", "https://evil.example")
        .form(&[("_csrf", owner.csrf_token())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    assert_eq!(
        status_of(&owner, &ids[0]).await,
        "pending",
        "nothing happened"
    );
    let done = owner.form(&path, &[]).await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location.as_deref(),
        Some(format!("/?done=dismissed&card={}", ids[0]).as_str())
    );
    assert_eq!(status_of(&owner, &ids[0]).await, "dismissed");
    // The notice offers undo, which works as a plain form too.
    let stack = owner.page(done.location.as_deref().unwrap()).await;
    assert!(
        stack
            .html
            .contains(&format!("action=\"/cards/{}/undo\"", ids[0]))
    );
    let undone = owner.form(&format!("/cards/{}/undo", ids[0]), &[]).await;
    assert_eq!(undone.status, 303);
    assert_eq!(status_of(&owner, &ids[0]).await, "pending");
    // The page's script asks for JSON and gets it, errors included.
    let script_posts = async |path: &str| {
        let r = plain()
            .post(app.url(path))
            .header("cookie", owner.cookie())
            .header("accept", "application/json")
            .header("x-csrf-token", owner.csrf_token())
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json::<Value>().await.unwrap())
    };
    let (status, body) = script_posts(&format!("/cards/{}/approve", ids[0])).await;
    assert_eq!(status, 409, "no channel yet");
    assert!(
        body["detail"].as_str().unwrap().contains("Channels"),
        "{body}"
    );
    // A card id that is no id at all is answered the same way, not with a page.
    let (status, body) = script_posts("/cards/not-a-card/approve").await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        serde_json::json!({"ok": false, "detail": "There is no such card."})
    );
    // Every change made through the UI is in the audit log with its route.
    let (_, audit) = owner.send(Method::GET, "/api/v1/audit", None).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"card.dismiss") && actions.contains(&"card.undo"),
        "{actions:?}"
    );
    // A plain form that fails goes back to the stack with the reason (a 303, like a
    // success): it is not in the audit log as done.
    let refused = owner.form(&format!("/cards/{}/approve", ids[0]), &[]).await;
    assert_eq!(refused.status, 303);
    assert!(
        refused
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("/?done=error&message=")),
        "{:?}",
        refused.location
    );
    assert_eq!(status_of(&owner, &ids[0]).await, "pending");
    let (_, audit) = owner.send(Method::GET, "/api/v1/audit", None).await;
    let approvals = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "card.approve" || a["action"] == "POST /cards/{id}/approve")
        .count();
    assert_eq!(
        approvals, 0,
        "a refused approval is not audited as done: {audit}"
    );
    app.stop().await;
}

async fn viewers_see_the_stack_but_cannot_act_on_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    app.set_plan("team", "team").await;
    let ids = cards(&app, &owner, 1).await;
    let (_, inv) = owner
        .send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"role": "viewer"})),
        )
        .await;
    let token = inv["data"]["token"].as_str().unwrap();
    let viewer = Browser::sign_up(&app, "vic@example.com", json!({"invitation": token})).await;
    let stack = viewer.page("/").await;
    assert_eq!(stack.status, 200);
    assert!(stack.html.contains(&ids[0]), "the viewer sees the card");
    assert!(
        !stack.html.contains("data-action=\"approve\""),
        "but no approve button"
    );
    let tried = viewer
        .form(&format!("/cards/{}/dismiss", ids[0]), &[])
        .await;
    assert_eq!(tried.status, 403);
    assert!(
        tried.html.contains("needs the editor role"),
        "{}",
        tried.html
    );
    assert_eq!(status_of(&owner, &ids[0]).await, "pending");
    let settings = viewer.form("/settings/stop", &[]).await;
    assert_eq!(settings.status, 403);
    app.stop().await;
}

async fn another_workspaces_cards_are_not_found(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.security.open_signup = true).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let ids = cards(&app, &owner, 1).await;
    let stranger = Browser::sign_up(&app, "eve@example.com", json!({"workspace": "other"})).await;
    for path in [
        format!("/cards/{}/edit", ids[0]),
        format!("/cards/{}/fragment", ids[0]),
    ] {
        let p = stranger.page(&path).await;
        assert_eq!(p.status, 404, "{path}");
    }
    for action in ["approve", "dismiss", "undo"] {
        let p = stranger
            .form(&format!("/cards/{}/{action}", ids[0]), &[])
            .await;
        assert_eq!(p.status, 303);
        assert!(p.location.unwrap().contains("done=error"), "{action}");
    }
    let edit = stranger
        .form(&format!("/cards/{}/edit", ids[0]), &[("text:x", "pwned")])
        .await;
    assert_eq!(edit.status, 404);
    assert_eq!(status_of(&owner, &ids[0]).await, "pending");
    let (_, card) = owner
        .send(Method::GET, &format!("/api/v1/cards/{}", ids[0]), None)
        .await;
    assert_ne!(card["data"]["variants"]["x"], "pwned");
    app.stop().await;
}

async fn bad_input_is_explained_on_the_page_and_nothing_is_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let ids = cards(&app, &owner, 1).await;
    let bad_repo = owner
        .form("/sources", &[("kind", "github"), ("repo", "not a repo")])
        .await;
    assert_eq!(bad_repo.status, 422);
    assert!(
        bad_repo.html.contains("role=\"alert\""),
        "{}",
        bad_repo.html
    );
    let bad_channel = owner
        .form(
            "/channels",
            &[("kind", "slack"), ("webhook_url", "not a url")],
        )
        .await;
    assert_eq!(bad_channel.status, 422);
    assert!(
        bad_channel.html.contains("webhook_url"),
        "{}",
        bad_channel.html
    );
    let empty = owner
        .form(
            &format!("/cards/{}/edit", ids[0]),
            &[("text:x", "   "), ("intent", "save")],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(empty.html.contains("must not be empty"), "{}", empty.html);
    let odd_time = owner
        .form(
            &format!("/cards/{}/edit", ids[0]),
            &[("intent", "approve"), ("publish_at", "tomorrow-ish")],
        )
        .await;
    assert_eq!(odd_time.status, 422);
    // Refine with AI while the workspace keeps everything offline: told why, nothing sent.
    let refine = owner
        .form(
            &format!("/cards/{}/refine", ids[0]),
            &[("instruction", "make it shorter")],
        )
        .await;
    assert_eq!(refine.status, 422);
    assert!(refine.html.contains("privacy: offline"), "{}", refine.html);
    let garbage = owner.page("/cards/not-a-card/edit").await;
    assert_eq!(garbage.status, 404);
    assert!(garbage.html.contains("There is no such card."));
    // An over-long post is kept (it is the person's text) and the light turns red (past
    // ten posts' worth: shorter X texts can still go out as a thread, and are yellow).
    let long = "y".repeat(2900);
    let saved = owner
        .form(
            &format!("/cards/{}/edit", ids[0]),
            &[("text:x", long.as_str()), ("intent", "save")],
        )
        .await;
    assert_eq!(saved.status, 303);
    let (_, card) = owner
        .send(Method::GET, &format!("/api/v1/cards/{}", ids[0]), None)
        .await;
    assert_eq!(card["data"]["variants"]["x"], long.as_str());
    assert_eq!(card["data"]["risk"], "red");
    // The saved edit is in the audit log once, the refused empty one not at all.
    let (_, audit) = owner.send(Method::GET, "/api/v1/audit", None).await;
    let edits: Vec<&Value> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "card.edit" || a["action"] == "POST /cards/{id}/edit")
        .collect();
    assert_eq!(edits.len(), 1, "{audit}");
    assert_eq!(edits[0]["action"], "card.edit");
    assert_eq!(edits[0]["target"], ids[0].as_str());
    assert_eq!(edits[0]["detail"]["channels"], json!(["x"]));
    let editor = owner.page(&format!("/cards/{}/edit", ids[0])).await;
    assert!(
        editor.html.contains("counter over"),
        "the counter is red on the page too"
    );
    app.stop().await;
}

async fn owners_set_up_ai_drafting_in_settings_and_keys_stay_hidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let key = "sk-ui-secret-key-0123456789abcdef";
    for (model, base) in [
        ("gpt-4o-mini", "http://127.0.0.1:9/v1"),
        ("claude-haiku-4-5", ""),
    ] {
        let kind = if base.is_empty() {
            "anthropic"
        } else {
            "openai"
        };
        let added = owner
            .form(
                "/settings/ai-add",
                &[
                    ("kind", kind),
                    ("model", model),
                    ("base_url", base),
                    ("api_key", key),
                ],
            )
            .await;
        assert_eq!(added.status, 200, "{}", added.html);
        assert!(
            added.html.contains(&format!("{model} added")),
            "{}",
            added.html
        );
        assert!(!added.html.contains(key), "the key is never shown");
    }
    let privacy = owner
        .form("/settings/ai-privacy", &[("privacy", "messages")])
        .await;
    assert!(privacy.html.contains("AI privacy: messages."));
    let (_, ai) = owner.send(Method::GET, "/api/v1/settings/ai", None).await;
    assert_eq!(ai["data"]["privacy"], "messages");
    // A full chain refuses a sixth provider, says why, and logs nothing.
    for n in 3..=6 {
        let model = format!("claude-{n}");
        let added = owner
            .form(
                "/settings/ai-add",
                &[
                    ("kind", "anthropic"),
                    ("model", model.as_str()),
                    ("base_url", ""),
                    ("api_key", key),
                ],
            )
            .await;
        if n <= 5 {
            assert_eq!(added.status, 200, "{}", added.html);
        } else {
            assert_eq!(added.status, 422, "{}", added.html);
            assert!(added.html.contains("at most 5 providers"), "{}", added.html);
        }
    }
    for _ in 3..=5 {
        let removed = owner.form("/settings/ai/2/remove", &[]).await;
        assert_eq!(removed.status, 200, "{}", removed.html);
    }
    // The audit log says what changed, each once, and never holds the key.
    let (_, audit) = owner.send(Method::GET, "/api/v1/audit", None).await;
    let actions: Vec<&str> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    // Three removals, three adds (the refused sixth is not there), the privacy, two adds.
    let mut expected = vec!["ai.chain"; 6];
    expected.extend(["ai.privacy", "ai.chain", "ai.chain"]);
    assert_eq!(actions, expected, "{audit}");
    assert_eq!(
        audit["data"][0]["detail"]["providers"],
        json!(["openai:gpt-4o-mini", "anthropic:claude-haiku-4-5"]),
        "{audit}"
    );
    assert!(!audit.to_string().contains(key), "{audit}");
    let models: Vec<&str> = ai["data"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["model"].as_str().unwrap())
        .collect();
    assert_eq!(models, ["gpt-4o-mini", "claude-haiku-4-5"]);
    assert_eq!(
        ai["data"]["providers"][1]["base_url"],
        "https://api.anthropic.com"
    );
    let bad = owner
        .form(
            "/settings/ai-add",
            &[("kind", "skynet"), ("model", "t-800")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.html.contains("must be openai, anthropic or gemini"));
    let removed = owner.form("/settings/ai/0/remove", &[]).await;
    assert!(
        removed.html.contains("gpt-4o-mini is no longer asked."),
        "{}",
        removed.html
    );
    let (_, ai) = owner.send(Method::GET, "/api/v1/settings/ai", None).await;
    assert_eq!(ai["data"]["providers"][0]["model"], "claude-haiku-4-5");
    assert_eq!(
        ai["data"]["providers"][0]["has_key"], true,
        "the other key survived"
    );
    app.stop().await;
}

fn session_of(r: &reqwest::Response) -> String {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("covalynce_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
        .expect("a session cookie")
}

/// A form post from this site's pages, signed in (`cookie`) or not.
async fn post_as(
    app: &TestApp,
    cookie: Option<&str>,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut r = plain()
        .post(app.url(path))
        .header("origin", app.addr.as_str());
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.form(fields).send().await.unwrap()
}

/// A page's HTML, signed in (`cookie`) or not.
async fn html_as(app: &TestApp, cookie: Option<&str>, path: &str) -> String {
    let mut r = plain().get(app.url(path));
    if let Some(c) = cookie {
        r = r.header("cookie", c);
    }
    r.send().await.unwrap().text().await.unwrap()
}

/// The value of the first `marker"…"` in `html`.
fn value_after(html: &str, marker: &str) -> Option<String> {
    html.split(marker)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map(str::to_owned)
}

async fn a_founder_signs_up_and_invites_a_teammate_through_the_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(
        html_as(&app, None, "/signup")
            .await
            .contains("Create your account")
    );
    // Too short a password: said on the page, nothing created.
    let ada_form = |password| {
        [
            ("email", "ada@example.com"),
            ("password", password),
            ("workspace", "team"),
        ]
    };
    let short = post_as(&app, None, "/signup", &ada_form("short")).await;
    assert_eq!(short.status(), 422);
    assert!(short.text().await.unwrap().contains("role=\"alert\""));
    let made = post_as(&app, None, "/signup", &ada_form("a long enough passphrase")).await;
    assert_eq!(made.status(), 303);
    assert_eq!(made.headers()["location"], "/");
    let ada = session_of(&made);
    let settings = html_as(&app, Some(&ada), "/settings").await;
    assert!(settings.contains("Settings · team"), "{settings}");
    let csrf = value_after(&settings, "name=\"csrf\" content=\"").unwrap();
    assert!(
        settings.contains("1 seat (members and open invitations)"),
        "{settings}"
    );
    app.set_plan("team", "team").await;
    // The owner makes an invitation link on the settings page; it is shown once.
    let invited = post_as(
        &app,
        Some(&ada),
        "/settings/invite",
        &[("_csrf", csrf.as_str()), ("role", "editor")],
    )
    .await
    .text()
    .await
    .unwrap();
    let link = value_after(&invited, "id=\"shown-once\" readonly value=\"")
        .expect("the invitation link is shown");
    let path = link.trim_start_matches(&app.addr).to_owned();
    assert!(path.starts_with("/invite/"), "{link}");
    // Signed out, the link offers sign-up with the invitation.
    let page = html_as(&app, None, &path).await;
    let token = path.trim_start_matches("/invite/");
    assert!(
        page.contains(&format!("/signup?invitation={token}")),
        "{page}"
    );
    let bob = post_as(
        &app,
        None,
        "/signup",
        &[
            ("email", "bob@example.com"),
            ("password", "another long passphrase"),
            ("invitation", token),
        ],
    )
    .await;
    assert_eq!(
        bob.status(),
        303,
        "invited sign-up works even on a closed server"
    );
    let bob = session_of(&bob);
    let stack = html_as(&app, Some(&bob), "/").await;
    assert!(stack.contains(">team<"), "bob is in team: {stack}");
    // The link worked once.
    let again = post_as(&app, Some(&ada), &path, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(again.status(), 404);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("already used or expired")
    );
    // Signing out ends the session.
    let out = post_as(&app, Some(&ada), "/logout", &[("_csrf", csrf.as_str())]).await;
    assert_eq!(out.status(), 303);
    let after = plain()
        .get(app.url("/"))
        .header("cookie", &ada)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 303, "signed out");
    app.stop().await;
}

/// The editor's streamed refine, read the way app.js reads it: `event:` names and JSON
/// `data:` lines, in order.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .map(|block| {
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(n) = line.strip_prefix("event:") {
                    name = n.trim().to_owned();
                } else if let Some(d) = line.strip_prefix("data:") {
                    data.push_str(d.trim_start());
                }
            }
            (name, serde_json::from_str(&data).unwrap_or(Value::Null))
        })
        .collect()
}

async fn refine_streams_the_answer_into_the_editor_and_keeps_the_rules(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let card = cards(&app, &owner, 1).await.remove(0);
    let stream = |instruction: &'static str| {
        let owner = &owner;
        let path = format!("/cards/{card}/refine/stream");
        async move {
            let r = plain()
                .post(owner.app_url(&path))
                .header("cookie", owner.cookie())
                .header("origin", owner.app_url("").trim_end_matches('/'))
                .form(&[("_csrf", owner.csrf_token()), ("instruction", instruction)])
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "text/event-stream");
            sse_events(&r.text().await.unwrap())
        }
    };
    // Offline (the default): one event says why, nothing is asked.
    let events = stream("make it shorter").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].0, "failed");
    assert!(
        events[0].1["message"]
            .as_str()
            .unwrap()
            .contains("privacy: offline")
    );

    let (base, llm) = crate::ai::llm().await;
    llm.answer("Shipped today: a fresh start for everyone who reads our README.");
    let (status, _) = owner
        .send(
            Method::PUT,
            "/api/v1/settings/ai",
            Some(json!({"privacy": "messages", "providers": [
                {"kind": "openai", "model": "gpt-4o-mini", "base_url": base, "api_key": "sk-ui-stream-0123456789"}]})),
        )
        .await;
    assert_eq!(status, 200);
    let events = stream("make it shorter").await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.last(), Some(&"done"), "{names:?}");
    assert_eq!(
        events.last().unwrap().1["url"],
        format!("/cards/{card}/edit?saved=1")
    );
    // Each channel: a `trying`, then its text in pieces that add up to the answer.
    let (_, view) = owner
        .send(Method::GET, &format!("/api/v1/cards/{card}"), None)
        .await;
    let channels: Vec<String> = view["data"]["variants"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(!channels.is_empty());
    for channel in &channels {
        let mine: Vec<&(String, Value)> = events
            .iter()
            .filter(|(_, d)| d["channel"] == channel.as_str())
            .collect();
        assert_eq!(mine[0].0, "trying", "{channel}: {mine:?}");
        assert_eq!(mine[0].1["provider"], "openai");
        let pieces: Vec<&str> = mine[1..]
            .iter()
            .map(|(n, d)| {
                assert_eq!(n, "text");
                d["text"].as_str().unwrap()
            })
            .collect();
        assert!(pieces.len() > 1, "streamed, not in one piece: {pieces:?}");
        assert_eq!(
            pieces.concat(),
            "Shipped today: a fresh start for everyone who reads our README."
        );
        assert_eq!(
            view["data"]["variants"][channel],
            "Shipped today: a fresh start for everyone who reads our README.",
            "saved as the new revision"
        );
    }
    assert!(
        llm.requests()
            .iter()
            .all(|(_, body)| body["stream"] == true)
    );
    let (_, revisions) = owner
        .send(
            Method::GET,
            &format!("/api/v1/cards/{card}/revisions"),
            None,
        )
        .await;
    assert_eq!(revisions["data"].as_array().unwrap().len(), 2);

    // An answer that invents a feature is shown arriving, then dropped; the card stays.
    llm.replies.lock().unwrap().clear();
    llm.answer("Now with a new `export_pdf` command for everyone.");
    let events = stream("add a feature").await;
    assert!(
        events
            .iter()
            .any(|(n, d)| n == "dropped" && d["why"].as_str().unwrap().contains("export_pdf")),
        "{events:?}"
    );
    let (last, data) = events.last().unwrap();
    assert_eq!(last, "failed");
    assert!(
        data["message"].as_str().unwrap().contains("unchanged"),
        "{data}"
    );
    let (_, revisions) = owner
        .send(
            Method::GET,
            &format!("/api/v1/cards/{card}/revisions"),
            None,
        )
        .await;
    assert_eq!(
        revisions["data"].as_array().unwrap().len(),
        2,
        "nothing saved"
    );
    let (_, ledger) = owner.send(Method::GET, "/api/v1/ai/calls", None).await;
    assert_eq!(
        ledger["meta"]["totals"]["calls"].as_i64().unwrap() as usize,
        2 * channels.len()
    );

    // Without the session's token the stream is refused like any form.
    let forged = plain()
        .post(owner.app_url(&format!("/cards/{card}/refine/stream")))
        .header("cookie", owner.cookie())
        .header("origin", owner.app_url("").trim_end_matches('/'))
        .form(&[("_csrf", "forged"), ("instruction", "make it shorter")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    app.stop().await;
}

/// A release drafted (or edited) as a thread: the card shows each post of it in order, as
/// the platform will, and the editor counts the longest post against the limit.
async fn a_thread_shows_as_its_numbered_posts_on_the_card_and_in_the_editor(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let ids = cards(&app, &owner, 1).await;
    let posts = [
        "Rocket v1.4.0 adds CSV export.\n\n1/3",
        "• Faster builds\n• Fix the crash on empty files\n\n2/3",
        format!("{}\n\n3/3", "long ".repeat(60)).leak() as &str,
    ];
    let (status, _) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/cards/{}", ids[0]),
            Some(json!({"variants": {"x": posts.join("\n\n---\n\n")}})),
        )
        .await;
    assert_eq!(status, 200);
    let stack = owner.page("/").await;
    let x = stack
        .html
        .split("data-variant=\"x\"")
        .nth(1)
        .and_then(|rest| rest.split("</details>").next())
        .unwrap_or_else(|| panic!("no X variant: {}", stack.html));
    assert!(x.contains("thread of 3"), "{x}");
    assert_eq!(x.matches("<li>").count(), 3, "{x}");
    assert!(x.find("adds CSV export").unwrap() < x.find("Faster builds").unwrap());
    assert!(!x.contains("---"), "the break lines are not shown: {x}");
    let editor = owner.page(&format!("/cards/{}/edit", ids[0])).await;
    assert_eq!(editor.status, 200);
    // The third post is 305 long: the longest post is what the counter shows, over 280.
    assert!(
        editor.html.contains("over\" data-counter")
            && editor.html.contains("305 / 280 · thread of 3"),
        "{}",
        editor.html
    );
    app.stop().await;
}

/// Two tabs: the card is approved in one (here through the API); "Approve" in the other's
/// editor, whose boxes still hold the texts as drafted, says the card was approved in the
/// meantime. Not "can no longer be edited": nobody edited anything. A change typed there
/// is said not to be saved, and stays in its box.
async fn approving_in_the_editor_a_card_approved_elsewhere_says_it_is_already_approved(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let ids = cards(&app, &owner, 1).await;
    let (_, channel) = owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "outbox", "name": "Outbox", "file": "tabs.jsonl"})),
        )
        .await;
    let channel = channel["data"]["id"].as_str().unwrap().to_owned();
    let (_, card) = owner
        .send(Method::GET, &format!("/api/v1/cards/{}", ids[0]), None)
        .await;
    let x = card["data"]["variants"]["x"].as_str().unwrap().to_owned();
    let (status, _) = owner
        .send(
            Method::POST,
            &format!("/api/v1/cards/{}/approve", ids[0]),
            Some(json!({ "channels": [channel] })),
        )
        .await;
    assert_eq!(status, 202);
    let tick = format!("channel:{channel}");
    let late = owner
        .form(
            &format!("/cards/{}/edit", ids[0]),
            &[
                ("text:x", x.as_str()),
                ("intent", "approve"),
                (tick.as_str(), "on"),
            ],
        )
        .await;
    assert_eq!(late.status, 409, "{}", late.html);
    // Approved, or already published by the outbox: either way it moved on.
    let answer = |html: &str| -> String {
        let at = html.find("data-answer>").expect("an answer on the page") + 12;
        html[at..].split('<').next().unwrap().to_owned()
    };
    let said = answer(&late.html);
    assert!(
        [
            "This card was approved in the meantime: there is nothing left to approve.",
            "This card has been published: there is nothing left to approve.",
        ]
        .contains(&said.as_str()),
        "{said}"
    );
    // And a real change to it is refused as an edit, with what was typed kept.
    let edited = owner
        .form(
            &format!("/cards/{}/edit", ids[0]),
            &[("text:x", "A later thought"), ("intent", "save")],
        )
        .await;
    assert_eq!(edited.status, 409, "{}", edited.html);
    let said = answer(&edited.html);
    assert!(
        said.ends_with(": it can no longer be edited, and your changes were not saved."),
        "{said}"
    );
    assert!(edited.html.contains("A later thought"), "{}", edited.html);
    let (_, card) = owner
        .send(Method::GET, &format!("/api/v1/cards/{}", ids[0]), None)
        .await;
    assert!(
        ["approved", "published"].contains(&card["data"]["status"].as_str().unwrap()),
        "{card}"
    );
    assert_eq!(card["data"]["variants"]["x"], x.as_str());
    app.stop().await;
}
