//! People, roles and the security baseline: sign-up and sign-in, sessions with CSRF,
//! roles on every route, personal tokens, the audit log, rate limits, tenant isolation,
//! data rights and secrets at rest.

use crate::helpers::{TestApp, on_both_backends, spawn_app, spawn_app_with};
use covalynce_storage::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_backends!(
    a_founder_signs_up_and_a_browser_session_needs_its_csrf_token,
    wrong_passwords_and_unknown_emails_get_the_same_answer,
    roles_decide_what_each_member_may_do,
    personal_tokens_are_shown_once_and_can_do_no_more_than_their_person,
    every_change_is_in_the_audit_log_with_who_and_from_where,
    another_workspaces_ids_are_not_found_on_any_route,
    an_owner_exports_everything_and_deletes_the_workspace_or_their_account,
    requests_over_the_limit_get_429_with_retry_after,
    a_person_who_only_uses_the_pages_stays_signed_in_while_active,
    a_session_ends_at_its_lifetime_however_active,
);

/// A signed-in browser: the session cookie and the CSRF token it must echo.
pub struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
    pub me: Value,
}

fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("covalynce_session="))
        .map(str::to_owned)
}

impl<'a> Browser<'a> {
    pub async fn sign_up(app: &'a TestApp, email: &str, extra: Value) -> Browser<'a> {
        let mut body = json!({"email": email, "password": "a long enough passphrase"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().cloned().unwrap_or_default());
        let r = app
            .client
            .post(app.url("/api/v1/auth/signup"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        Self::from_answer(app, r).await
    }

    pub async fn sign_in(app: &'a TestApp, email: &str) -> Browser<'a> {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": "a long enough passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        Self::from_answer(app, r).await
    }

    async fn from_answer(app: &'a TestApp, r: reqwest::Response) -> Browser<'a> {
        let set = session_cookie(&r).expect("a session cookie");
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        let cookie = set.split(';').next().unwrap().to_owned();
        let me: Value = r.json().await.unwrap();
        Browser {
            app,
            cookie,
            csrf: me["data"]["csrf_token"].as_str().unwrap().to_owned(),
            me: me["data"].clone(),
        }
    }

    pub fn csrf_token(&self) -> &str {
        &self.csrf
    }

    /// The `Cookie` header this browser sends (its session).
    pub fn cookie(&self) -> String {
        self.cookie.clone()
    }

    /// Follows a "Connect …" button (`path`) without following the redirect: the platform's
    /// consent URL, its query, and the cookies the callback needs (the session and the
    /// sealed pending connection).
    pub async fn start_connect(
        &self,
        path: &str,
    ) -> (
        reqwest::Url,
        std::collections::HashMap<String, String>,
        String,
    ) {
        let start = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(self.app_url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(start.status(), 303);
        let to = reqwest::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
        let query = to.query_pairs().into_owned().collect();
        let pending = start.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        (to, query, format!("{}; {pending}", self.cookie))
    }

    /// The platform sending this browser back to `path` (a callback) with the cookies
    /// [`Browser::start_connect`] returned; redirects are not followed.
    pub async fn callback(&self, path: &str, cookies: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(self.app_url(path))
            .header("cookie", cookies)
            .send()
            .await
            .unwrap()
    }

    pub fn app_url(&self, path: &str) -> String {
        self.app.url(path)
    }

    pub fn user_id(&self) -> String {
        self.me["user"]["id"].as_str().unwrap().to_owned()
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let r = self
            .app
            .client
            .request(method.clone(), self.app.url(path))
            .header("cookie", &self.cookie);
        if method == Method::GET {
            r
        } else {
            r.header("x-csrf-token", &self.csrf)
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.request(method, path);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

async fn send_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut r = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    let status = r.status();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// An invitation link from `owner`, whose workspace moves to TEAM first: SOLO has one
/// seat (its owner's), which the plan stories prove.
async fn invite(owner: &Browser<'_>, role: &str) -> String {
    let (_, ws) = owner.send(Method::GET, "/api/v1/workspace", None).await;
    owner
        .app
        .set_plan(ws["data"]["slug"].as_str().unwrap(), "team")
        .await;
    let (status, inv) = owner
        .send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"role": role})),
        )
        .await;
    assert_eq!(status, 201, "{inv}");
    assert!(inv["data"]["url"].as_str().unwrap().starts_with("/invite/"));
    inv["data"]["token"].as_str().unwrap().to_owned()
}

async fn a_founder_signs_up_and_a_browser_session_needs_its_csrf_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = Browser::sign_up(
        &app,
        "Ada@Example.com",
        json!({"name": "Ada", "workspace": "ada-co"}),
    )
    .await;
    assert_eq!(ada.me["user"]["email"], "ada@example.com");
    assert_eq!(ada.me["workspaces"][0]["slug"], "ada-co");
    assert_eq!(ada.me["workspaces"][0]["role"], "owner");

    let (status, me) = ada.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["data"]["user"]["name"], "Ada");

    // A state-changing request without the CSRF token is refused, and so is one from
    // another site, even with the token.
    let no_csrf = app
        .client
        .post(app.url("/api/v1/sources"))
        .header("cookie", &ada.cookie)
        .json(&json!({"kind": "github", "repo": "ada/app", "secret": "s3cr3t-value"}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_csrf.status(), 403);
    let problem: Value = no_csrf.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/forbidden");
    let cross_site = ada
        .request(Method::POST, "/api/v1/sources")
        .header("origin", "https://evil.example")
        .json(&json!({"kind": "github", "repo": "ada/app", "secret": "s3cr3t-value"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let (status, source) = ada
        .send(
            Method::POST,
            "/api/v1/sources",
            Some(json!({"kind": "github", "repo": "ada/app", "secret": "s3cr3t-value"})),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    let (_, sources) = ada.send(Method::GET, "/api/v1/sources", None).await;
    assert_eq!(
        sources["data"].as_array().unwrap().len(),
        1,
        "in Ada's workspace"
    );

    // Sign-up is by invitation once someone has an account.
    let r = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "eve@example.com", "password": "a long enough passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Weak passwords are refused with a reason.
    let r = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "bob@example.com", "password": "short", "invitation": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("at least 10 characters"));

    // A second sign-in is a new session; signing in rotates the one the browser had.
    let again = Browser::sign_in(&app, "ada@example.com").await;
    assert_ne!(again.cookie, ada.cookie);
    let (status, _) = again.send(Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(status, 204);
    let (status, _) = again.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401, "signed out");
    let (status, _) = ada.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 200, "the other browser is still in");

    // Log out everywhere.
    let third = Browser::sign_in(&app, "ada@example.com").await;
    let (status, ended) = third
        .send(Method::POST, "/api/v1/auth/logout-all", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(ended["data"]["sessions_ended"], 2);
    let (status, _) = ada.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, 401);

    // The session id is stored only as a hash.
    let raw = ada.cookie.split_once('=').unwrap().1;
    let dump = crate::accounts::dump_database(&app).await;
    assert!(!dump.contains(raw));
}

async fn wrong_passwords_and_unknown_emails_get_the_same_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    Browser::sign_up(&app, "ada@example.com", json!({})).await;
    let mut answers = Vec::new();
    for (email, password) in [
        ("ada@example.com", "the wrong passphrase"),
        ("nobody@example.com", "a long enough passphrase"),
        ("not-an-email", "whatever it is"),
    ] {
        let started = std::time::Instant::now();
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        let elapsed = started.elapsed();
        assert!(session_cookie(&r).is_none());
        answers.push((r.status(), r.text().await.unwrap(), elapsed));
    }
    assert_eq!(answers[0].0, 401);
    assert_eq!(answers[0].0, answers[1].0);
    assert_eq!(
        answers[0].1, answers[1].1,
        "no hint which emails have accounts"
    );
    assert_eq!(answers[0].1, answers[2].1);
    // An unknown email still pays for a password hash (timing is not a hint either):
    // both take at least a few milliseconds of argon2id.
    assert!(answers[1].2 >= answers[0].2 / 4, "{answers:?}");
}

async fn roles_decide_what_each_member_may_do(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "owner@example.com", json!({"workspace": "team"})).await;
    let editor_invite = invite(&owner, "editor").await;
    let viewer_invite = invite(&owner, "viewer").await;
    let editor = Browser::sign_up(
        &app,
        "editor@example.com",
        json!({"invitation": editor_invite}),
    )
    .await;
    let viewer = Browser::sign_up(
        &app,
        "viewer@example.com",
        json!({"invitation": viewer_invite}),
    )
    .await;
    assert_eq!(editor.me["workspaces"][0]["slug"], "team");
    assert_eq!(viewer.me["workspaces"][0]["role"], "viewer");
    // An invitation works once.
    let r = app
        .client
        .post(app.url("/api/v1/auth/signup"))
        .json(&json!({"email": "late@example.com", "password": "a long enough passphrase", "invitation": viewer_invite}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409, "a used link");

    let source = json!({"kind": "github", "repo": "team/app", "secret": "s3cr3t-value"});
    let outbox = json!({"kind": "outbox", "file": "o.jsonl"});
    // Viewers read, and nothing else.
    assert_eq!(viewer.send(Method::GET, "/api/v1/cards", None).await.0, 200);
    assert_eq!(
        viewer.send(Method::GET, "/api/v1/members", None).await.0,
        200
    );
    let (status, problem) = viewer
        .send(Method::POST, "/api/v1/sources", Some(source.clone()))
        .await;
    assert_eq!(status, 403);
    assert!(
        problem["detail"].as_str().unwrap().contains("editor"),
        "{problem}"
    );
    assert_eq!(
        viewer
            .send(Method::POST, "/api/v1/channels", Some(outbox.clone()))
            .await
            .0,
        403
    );
    assert_eq!(
        viewer
            .send(
                Method::PUT,
                "/api/v1/workspace/emergency-stop",
                Some(json!({"on": true}))
            )
            .await
            .0,
        403
    );
    // Editors review and manage sources and channels, not people or settings.
    assert_eq!(
        editor
            .send(Method::POST, "/api/v1/sources", Some(source))
            .await
            .0,
        201
    );
    assert_eq!(
        editor
            .send(Method::POST, "/api/v1/channels", Some(outbox))
            .await
            .0,
        201
    );
    let viewer_id = viewer.user_id();
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/members/{viewer_id}"),
            Some(json!({"role": "editor"})),
        ),
        (
            Method::POST,
            "/api/v1/invitations".into(),
            Some(json!({"role": "editor"})),
        ),
        (Method::GET, "/api/v1/audit".into(), None),
        (Method::GET, "/api/v1/export".into(), None),
        (
            Method::PATCH,
            "/api/v1/workspace".into(),
            Some(json!({"voice": "plain"})),
        ),
        (
            Method::DELETE,
            "/api/v1/workspace".into(),
            Some(json!({"confirm": "team"})),
        ),
    ] {
        let (status, body) = editor.send(method.clone(), &path, body).await;
        assert_eq!(status, 403, "{method} {path}: {body}");
    }
    // Owners do; the last owner cannot step down.
    let (status, _) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/members/{viewer_id}"),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        viewer
            .send(
                Method::POST,
                "/api/v1/channels",
                Some(json!({"kind": "outbox"}))
            )
            .await
            .0,
        201
    );
    let (status, problem) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/members/{}", owner.user_id()),
            Some(json!({"role": "editor"})),
        )
        .await;
    assert_eq!(status, 409, "{problem}");
    // Anyone may leave; then their workspace is gone from them.
    let (status, _) = viewer
        .send(
            Method::DELETE,
            &format!("/api/v1/members/{viewer_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = viewer.send(Method::GET, "/api/v1/cards", None).await;
    assert_eq!(status, 404, "in no workspace any more");
    // A spoofed user header changes nothing.
    let r = app
        .client
        .get(app.url("/api/v1/cards"))
        .header("x-user-id", owner.user_id())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

async fn personal_tokens_are_shown_once_and_can_do_no_more_than_their_person(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "owner@example.com", json!({"workspace": "team"})).await;
    let editor = Browser::sign_up(
        &app,
        "editor@example.com",
        json!({"invitation": invite(&owner, "editor").await}),
    )
    .await;

    let (status, problem) = editor
        .send(
            Method::POST,
            "/api/v1/tokens",
            Some(json!({"name": "ci", "role": "owner"})),
        )
        .await;
    assert_eq!(status, 403, "{problem}");
    let (status, made) = editor
        .send(Method::POST, "/api/v1/tokens", Some(json!({"name": "ci"})))
        .await;
    assert_eq!(status, 201, "{made}");
    let token = made["data"]["token"].as_str().unwrap().to_owned();
    assert_eq!(made["data"]["role"], "editor");
    let token_id = made["data"]["id"].as_str().unwrap().to_owned();

    let (status, _) = send_token(
        &app,
        &token,
        Method::POST,
        "/api/v1/channels",
        Some(json!({"kind": "outbox"})),
    )
    .await;
    assert_eq!(status, 201, "the token acts as the editor");
    let (_, listed) = owner.send(Method::GET, "/api/v1/tokens", None).await;
    let mine = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id.as_str())
        .unwrap()
        .clone();
    assert!(mine.get("token").is_none(), "shown once: {mine}");
    assert_eq!(mine["name"], "ci");
    assert!(token.starts_with(mine["prefix"].as_str().unwrap()));
    assert!(
        mine["last_used_at"].is_string(),
        "last use is visible: {mine}"
    );
    assert!(
        !crate::accounts::dump_database(&app).await.contains(&token),
        "stored hashed"
    );

    // Demote the person and the token follows.
    owner
        .send(
            Method::PATCH,
            &format!("/api/v1/members/{}", editor.user_id()),
            Some(json!({"role": "viewer"})),
        )
        .await;
    let (status, _) = send_token(
        &app,
        &token,
        Method::POST,
        "/api/v1/channels",
        Some(json!({"kind": "outbox"})),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        send_token(&app, &token, Method::GET, "/api/v1/cards", None)
            .await
            .0,
        200
    );
    // A viewer cannot revoke, the owner can; then it is unknown.
    let (status, _) = owner
        .send(Method::DELETE, &format!("/api/v1/tokens/{token_id}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, problem) = send_token(&app, &token, Method::GET, "/api/v1/cards", None).await;
    assert_eq!(status, 401, "{problem}");
}

async fn every_change_is_in_the_audit_log_with_who_and_from_where(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "owner@example.com", json!({"workspace": "team"})).await;
    let (_, channel) = owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "outbox"})),
        )
        .await;
    let channel_id = channel["data"]["id"].as_str().unwrap();
    owner
        .send(
            Method::POST,
            &format!("/api/v1/channels/{channel_id}/disable"),
            None,
        )
        .await;
    owner
        .send(
            Method::PUT,
            "/api/v1/workspace/emergency-stop",
            Some(json!({"on": true})),
        )
        .await;
    let (_, made) = owner
        .send(Method::POST, "/api/v1/tokens", Some(json!({"name": "ci"})))
        .await;
    let token = made["data"]["token"].as_str().unwrap();
    send_token(
        &app,
        token,
        Method::PUT,
        "/api/v1/workspace/emergency-stop",
        Some(json!({"on": false})),
    )
    .await;
    // A refused change is not an entry.
    owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "nope"})),
        )
        .await;

    let (status, log) = owner.send(Method::GET, "/api/v1/audit", None).await;
    assert_eq!(status, 200);
    let entries = log["data"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Each once: what a use case serves is written by it, named for what was done (the
    // middleware does not write it again); what none serves yet, by its route.
    assert_eq!(
        actions,
        [
            "workspace.emergency_stop",
            "token.create",
            "workspace.emergency_stop",
            "channel.disable",
            "channel.create",
        ],
        "{log}"
    );
    let by_token = &entries[0];
    assert!(
        by_token["actor"].as_str().unwrap().starts_with("token:"),
        "{by_token}"
    );
    assert_eq!(
        by_token["user_id"],
        owner.user_id().as_str(),
        "the token acts for the owner"
    );
    assert_eq!(entries[0]["detail"]["on"], false, "{log}");
    assert_eq!(entries[1]["detail"]["name"], "ci", "{log}");
    assert_eq!(
        (
            entries[1]["detail"]["role"].as_str(),
            entries[1]["detail"]["grants"].as_str()
        ),
        (Some("owner"), Some("owner")),
        "the actor's role and the token's, each under its own name: {log}"
    );
    assert!(
        !log.to_string().contains(token),
        "a token is never in the log"
    );
    let disable = &entries[3];
    assert_eq!(disable["actor"], format!("user:{}", owner.user_id()));
    assert_eq!(disable["target"], channel_id);
    assert_eq!(disable["detail"]["role"], "owner");
    assert_eq!(disable["detail"]["kind"], "outbox");
    assert_eq!(disable["ip"], "127.0.0.1");
    assert!(disable["at"].as_str().unwrap().ends_with('Z'));
}

/// Every documented API route, called with a valid token of workspace B and the ids of
/// workspace A's things, answers 404; routes without ids never show A's things.
async fn another_workspaces_ids_are_not_found_on_any_route(backend: Backend) {
    let app = spawn_app(backend).await;
    // Workspace A ("acme", app.token): one of everything.
    let card = crate::publishing::a_card(&app, 1, "feat: add the thing").await;
    let channel = crate::publishing::outbox(&app, "a.jsonl").await.0;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({"channels": [channel]}),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.eventually("published", || async {
        app.get_json(&format!("/api/v1/cards/{card}")).await["data"]["status"] == "published"
    })
    .await;
    let detail = app.get_json(&format!("/api/v1/cards/{card}")).await;
    let publication = detail["data"]["publications"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let source = app.get_json("/api/v1/sources").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = app.get_json("/api/v1/events").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A release on A's changelog.
    let changelog = crate::changelog::changelog_channel(&app).await;
    let released = crate::changelog::release(&app, "v7.7.7", "- feat: warp drive").await;
    app.approve(&released, &changelog).await;
    assert_eq!(app.settled(&released).await["status"], "published");
    let version = "v7.7.7".to_owned();
    let a_owner = Browser::sign_up(&app, "a@example.com", json!({"workspace": "a-team"})).await;
    app.set_plan("a-team", "team").await;
    let (_, inv) = a_owner
        .send(
            Method::POST,
            "/api/v1/invitations",
            Some(json!({"role": "viewer"})),
        )
        .await;
    let invitation = inv["data"]["id"].as_str().unwrap().to_owned();
    let (_, tok) = a_owner
        .send(Method::POST, "/api/v1/tokens", Some(json!({"name": "a"})))
        .await;
    let token = tok["data"]["id"].as_str().unwrap().to_owned();
    let member = a_owner.user_id();
    let a_ids = [
        &card,
        &channel,
        &publication,
        &source,
        &event,
        &invitation,
        &token,
        &member,
    ];

    // Workspace B: an owner token, so no role check stands between it and a 404.
    let b = app.token_for("bravo").await;
    let spec = app.get_json("/openapi.json").await;
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") || path.starts_with("/api/v1/auth/") {
            continue;
        }
        for (method, _) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            if path == "/api/v1/export/{what}" {
                // Not an id: B's files must hold nothing of A's.
                for what in ["cards", "publications", "analytics"] {
                    let r = app
                        .client
                        .get(app.url(&format!("/api/v1/export/{what}?format=json")))
                        .bearer_auth(&b)
                        .send()
                        .await
                        .unwrap();
                    assert!(r.status().is_success(), "{what}");
                    let text = r.text().await.unwrap();
                    for id in a_ids {
                        assert!(!text.contains(id.as_str()), "export {what} shows A's {id}");
                    }
                    checked += 1;
                }
                continue;
            }
            if path.contains('{') {
                let id = match path.as_str() {
                    p if p.starts_with("/api/v1/cards/") => &card,
                    p if p.starts_with("/api/v1/channels/") => &channel,
                    p if p.starts_with("/api/v1/publications/") => &publication,
                    p if p.starts_with("/api/v1/sources/") => &source,
                    p if p.starts_with("/api/v1/events/") => &event,
                    p if p.starts_with("/api/v1/invitations/") => &invitation,
                    p if p.starts_with("/api/v1/tokens/") => &token,
                    p if p.starts_with("/api/v1/members/") => &member,
                    p if p.starts_with("/api/v1/changelog/entries/") => &version,
                    other => panic!("{other}: which of workspace A's ids belongs here? (add it)"),
                };
                let concrete =
                    path.replace(&path[path.find('{').unwrap()..=path.find('}').unwrap()], id);
                let body = match (&method, path.as_str()) {
                    (&Method::PATCH, p) if p.starts_with("/api/v1/cards/") => {
                        Some(json!({"variants": {"x": "hi"}}))
                    }
                    (&Method::PATCH, p) if p.starts_with("/api/v1/sources/") => {
                        Some(json!({"gate": {"enabled": false}}))
                    }
                    (&Method::PATCH, _) => Some(json!({"role": "viewer"})),
                    (&Method::POST, p) if p.ends_with("/approve") => {
                        Some(json!({"channels": [channel]}))
                    }
                    (&Method::POST, p) if p.ends_with("/refine") => {
                        Some(json!({"instruction": "make it shorter"}))
                    }
                    (&Method::POST, p) if p.ends_with("/reschedule") => {
                        Some(json!({"due_at": "2030-01-01T09:00:00Z"}))
                    }
                    (&Method::PUT, p) if p.ends_with("/slots") => {
                        Some(json!({"slots": "daily 09:00"}))
                    }
                    (&Method::POST, _) => Some(json!({})),
                    _ => None,
                };
                let (status, answer) = send_token(&app, &b, method.clone(), &concrete, body).await;
                assert_eq!(status, 404, "{method} {concrete} with B's token: {answer}");
                checked += 1;
            } else if method == Method::GET {
                let (status, answer) = send_token(&app, &b, Method::GET, path, None).await;
                // `/me` is a person's, and B's token is an operator's: refused, fine.
                assert!(status.is_success() || status == 403, "{path}: {answer}");
                let text = answer.to_string();
                for id in a_ids {
                    assert!(!text.contains(id.as_str()), "{path} shows A's {id}: {text}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} routes checked");
    // And A's things are intact.
    assert_eq!(
        app.get_json(&format!("/api/v1/cards/{card}")).await["data"]["status"],
        "published"
    );
    crate::changelog::make_public(&app, true).await;
    assert_eq!(app.get("/changelog/acme/v7.7.7").await.status(), 200);
}

async fn an_owner_exports_everything_and_deletes_the_workspace_or_their_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "owner@example.com", json!({"workspace": "team"})).await;
    let (status, _) = owner
        .send(
            Method::POST,
            "/api/v1/sources",
            Some(
                json!({"kind": "github", "repo": "team/app", "secret": "export-never-shows-this"}),
            ),
        )
        .await;
    assert_eq!(status, 201);
    owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "webhook", "url": "http://127.0.0.1:9/x", "secret": "nor-this-secret"})),
        )
        .await;
    let editor = Browser::sign_up(
        &app,
        "editor@example.com",
        json!({"invitation": invite(&owner, "editor").await}),
    )
    .await;
    let (status, export) = owner.send(Method::GET, "/api/v1/export", None).await;
    assert_eq!(status, 200);
    let data = &export["data"];
    assert_eq!(data["workspace"]["slug"], "team");
    assert_eq!(data["members"].as_array().unwrap().len(), 2);
    assert_eq!(data["sources"][0]["repo"], "team/app");
    assert_eq!(data["channels"].as_array().unwrap().len(), 1);
    assert!(!data["audit"].as_array().unwrap().is_empty());
    for key in ["events", "cards", "deliveries", "tokens", "invitations"] {
        assert!(data[key].is_array(), "{key}");
    }
    let text = export.to_string();
    assert!(!text.contains("export-never-shows-this") && !text.contains("nor-this-secret"));

    // The only owner of a shared workspace cannot just vanish.
    let (status, _) = owner
        .send(
            Method::DELETE,
            "/api/v1/me",
            Some(json!({"confirm": "owner@example.com"})),
        )
        .await;
    assert_eq!(status, 409);
    // The editor can: their account goes, the workspace stays.
    let (status, _) = editor
        .send(
            Method::DELETE,
            "/api/v1/me",
            Some(json!({"confirm": "editor@example.com"})),
        )
        .await;
    assert_eq!(status, 204);
    let (_, members) = owner.send(Method::GET, "/api/v1/members", None).await;
    assert_eq!(members["data"].as_array().unwrap().len(), 1);
    assert!(
        !crate::accounts::dump_database(&app)
            .await
            .contains("editor@example.com")
    );

    let (status, _) = owner
        .send(
            Method::DELETE,
            "/api/v1/workspace",
            Some(json!({"confirm": "wrong"})),
        )
        .await;
    assert_eq!(status, 422, "nothing is deleted by a slip");
    let (status, _) = owner
        .send(
            Method::DELETE,
            "/api/v1/workspace",
            Some(json!({"confirm": "team"})),
        )
        .await;
    assert_eq!(status, 204);
    let dump = crate::accounts::dump_database(&app).await;
    assert!(!dump.contains("team/app"), "the workspace's rows are gone");
    let (_, me) = owner.send(Method::GET, "/api/v1/me", None).await;
    assert_eq!(me["data"]["workspaces"], json!([]));
    // Then the account itself.
    let (status, _) = owner
        .send(
            Method::DELETE,
            "/api/v1/me",
            Some(json!({"confirm": "owner@example.com"})),
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        !crate::accounts::dump_database(&app)
            .await
            .contains("owner@example.com")
    );
}

async fn requests_over_the_limit_get_429_with_retry_after(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.security.api_per_minute = 5;
        c.security.login_per_minute = 3;
    })
    .await;
    for _ in 0..5 {
        assert_eq!(app.get("/api/v1/cards").await.status(), 200);
    }
    let r = app.get("/api/v1/cards").await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "/problems/too-many-requests");
    // Another token has its own allowance.
    let other = app.token_for("other").await;
    assert_eq!(
        send_token(&app, &other, Method::GET, "/api/v1/cards", None)
            .await
            .0,
        200
    );

    // Guessing passwords from one address stops after a few tries.
    let mut statuses = Vec::new();
    for i in 0..4 {
        let r = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"email": format!("u{i}@example.com"), "password": "guess guess guess"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}

mod shared_limits {
    use super::*;

    /// Two replicas on one PostgreSQL database share one allowance through Redis.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hold_across_replicas_through_redis() {
        crate::helpers::bounded(120, async {
            let (url, dir) = covalynce_storage::testing::fresh_database(Backend::Postgres).await;
            let tweak = |c: &mut covalynce::config::Config| {
                c.security.api_per_minute = 6;
                c.security.redis_url = Some("redis://127.0.0.1:6379".into());
            };
            let one = crate::helpers::spawn_configured(
                url.clone(),
                dir.clone(),
                crate::helpers::test_jobs_config(),
                tweak,
            )
            .await;
            let two = crate::helpers::spawn_configured(
                url,
                dir,
                crate::helpers::test_jobs_config(),
                tweak,
            )
            .await;
            // Fixed one-minute windows: start well inside one.
            let into_minute = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                % 60;
            if into_minute > 50 {
                tokio::time::sleep(std::time::Duration::from_secs(61 - into_minute)).await;
            }
            // One token, used on both replicas in turn.
            let token = one.token.clone();
            let mut statuses = Vec::new();
            for i in 0..8 {
                let app = if i % 2 == 0 { &one } else { &two };
                statuses.push(
                    send_token(app, &token, Method::GET, "/api/v1/cards", None)
                        .await
                        .0
                        .as_u16(),
                );
            }
            assert_eq!(
                statuses,
                [200, 200, 200, 200, 200, 200, 429, 429],
                "6 in all, not 6 each"
            );
        })
        .await
    }
}

/// Every table's rows as text: SQLite's file bytes, or PostgreSQL's tables.
pub async fn dump_database(app: &TestApp) -> String {
    match &app.database_url {
        None => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(&app.data_dir).unwrap() {
                let path = entry.unwrap().path();
                if path
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("covalynce.db")
                {
                    all.extend(std::fs::read(&path).unwrap());
                }
            }
            String::from_utf8_lossy(&all).into_owned()
        }
        Some(url) => {
            use sqlx::Connection;
            // As the administrator: row level security would hide every row from a
            // session that names no workspace, and the search would find nothing.
            let admin = covalynce_storage::testing::admin_url_for(url);
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            let mut out = String::new();
            for t in tables {
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT t::text FROM \"{t}\" t"
                )))
                .fetch_all(&mut conn)
                .await
                .unwrap();
                for r in rows {
                    out.push_str(&r);
                    out.push('\n');
                }
            }
            out
        }
    }
}

/// Secrets at rest: after a founder signs up, connects a source and channels with
/// credentials and makes a token, neither the database (SQLite file, PostgreSQL tables)
/// nor any API answer holds one of them in plain text.
mod secrets_at_rest {
    use super::*;

    async fn story(backend: Backend) {
        let app = spawn_app(backend).await;
        let password = "a long enough passphrase";
        let owner = Browser::sign_up(&app, "owner@example.com", json!({"workspace": "team"})).await;
        let secrets = [
            "source-secret-0123456789".to_owned(),
            "webhook-signing-secret-987".to_owned(),
            "https://hooks.slack.com/services/T000/B000/slacksecretpart".to_owned(),
        ];
        owner
            .send(
                Method::POST,
                "/api/v1/sources",
                Some(json!({"kind": "github", "repo": "team/app", "secret": secrets[0]})),
            )
            .await;
        owner
            .send(
                Method::POST,
                "/api/v1/channels",
                Some(json!({"kind": "webhook", "url": "http://127.0.0.1:9/hook", "secret": secrets[1]})),
            )
            .await;
        let (status, slack) = owner
            .send(
                Method::POST,
                "/api/v1/channels",
                Some(json!({"kind": "slack", "webhook_url": secrets[2]})),
            )
            .await;
        assert_eq!(status, 201, "{slack}");
        let (_, made) = owner
            .send(Method::POST, "/api/v1/tokens", Some(json!({"name": "ci"})))
            .await;
        let token = made["data"]["token"].as_str().unwrap().to_owned();
        let mut shown = String::new();
        for path in [
            "/api/v1/sources",
            "/api/v1/channels",
            "/api/v1/tokens",
            "/api/v1/export",
            "/api/v1/audit",
            "/api/v1/me",
        ] {
            shown.push_str(&owner.send(Method::GET, path, None).await.1.to_string());
        }
        let dump = dump_database(&app).await;
        assert!(dump.contains("owner@example.com"), "the dump is readable");
        assert!(
            dump.contains("team/app"),
            "the dump holds the workspace's rows"
        );
        for secret in
            secrets
                .iter()
                .map(String::as_str)
                .chain([password, token.as_str(), "slacksecretpart"])
        {
            assert!(!dump.contains(secret), "{secret} is stored in plain text");
            assert!(!shown.contains(secret), "{secret} is shown by the API");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_sqlite() {
        crate::helpers::bounded(120, story(Backend::Sqlite)).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_postgres() {
        crate::helpers::bounded(120, story(Backend::Postgres)).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers() {
    crate::helpers::bounded(60, async {
        let app = spawn_app(Backend::Sqlite).await;
        for path in ["/health", "/api/v1/cards", "/nothing-here"] {
            let r = app.get(path).await;
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            let script = csp
                .split(';')
                .find(|d| d.trim().starts_with("script-src"))
                .unwrap();
            assert!(!script.contains("unsafe-inline"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["x-frame-options"], "DENY");
            assert_eq!(h["referrer-policy"], "same-origin");
        }
        // Bodies over the API's limit are refused before they are read whole.
        let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
        let r = app
            .client
            .post(app.url("/api/v1/tokens"))
            .bearer_auth(&app.token)
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
    })
    .await
}

/// Sessions end after a while without use — use, not sign-in: someone who works only in the
/// pages (never calling the API) stays signed in as long as they keep using them, and is
/// asked to sign in again once they stop for longer than the idle time.
async fn a_person_who_only_uses_the_pages_stays_signed_in_while_active(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.security.session_idle = std::time::Duration::from_secs(3);
    })
    .await;
    let founder = Browser::sign_up(&app, "pages@example.com", json!({})).await;
    let pages = no_redirects();
    let open = |path: &'static str| {
        pages
            .get(app.url(path))
            .header("cookie", founder.cookie())
            .send()
    };
    // Six seconds of clicking around, a page every second: twice the idle time. The
    // browser is told to keep its cookie as long again each time the session is extended
    // (else it would drop the cookie `session_idle` after sign-in, however active).
    let mut refreshed = Vec::new();
    for second in 0..6 {
        let r = open(if second % 2 == 0 { "/" } else { "/settings" })
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            200,
            "second {second}: still signed in while using the pages"
        );
        refreshed.extend(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter(|c| c.starts_with("covalynce_session="))
                .map(str::to_owned),
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert!(
        !refreshed.is_empty(),
        "the session cookie is sent again as it slides"
    );
    for cookie in &refreshed {
        assert!(
            cookie.starts_with(&format!("{};", founder.cookie()))
                && cookie.contains("Max-Age=3;")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax"),
            "the same session, kept as long as the idle time again: {cookie}"
        );
    }
    // Away for longer than the idle time: the next page asks to sign in again.
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    let r = open("/").await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        r.headers()["location"]
    );
}

/// Use keeps a session alive, but not for ever: a cookie someone stole and keeps using ends
/// with the session's lifetime, as its owner's does, and the cookie the browser is sent
/// again never outlives it.
async fn a_session_ends_at_its_lifetime_however_active(backend: Backend) {
    let app = spawn_app_with(backend, |c| {
        c.security.session_idle = std::time::Duration::from_secs(3);
        c.security.session_lifetime = std::time::Duration::from_secs(4);
    })
    .await;
    let founder = Browser::sign_up(&app, "lifetime@example.com", json!({})).await;
    // The session was made during sign-up: it is at least this old from here on.
    let signed_up = std::time::Instant::now();
    let pages = no_redirects();
    let open = |path: &'static str| {
        pages
            .get(app.url(path))
            .header("cookie", founder.cookie())
            .send()
    };
    let mut ages = Vec::new();
    for second in 0..3 {
        let r = open("/").await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "second {second}: in use, within its lifetime"
        );
        ages.extend(
            r.headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter(|c| c.starts_with("covalynce_session="))
                .filter_map(|c| {
                    c.split("Max-Age=")
                        .nth(1)?
                        .split(';')
                        .next()?
                        .parse::<u64>()
                        .ok()
                }),
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    assert!(!ages.is_empty(), "the cookie slides while in use");
    assert!(
        ages.iter().all(|a| *a <= 3) && ages.last().is_some_and(|a| *a < 3),
        "the cookie never outlives the session's lifetime: {ages:?}"
    );
    // Still well within the idle time of its last use, but past its lifetime.
    tokio::time::sleep(std::time::Duration::from_millis(4_300).saturating_sub(signed_up.elapsed()))
        .await;
    let r = open("/").await.unwrap();
    assert_eq!(
        r.status(),
        303,
        "past its lifetime, the page asks to sign in"
    );
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"),
        "{:?}",
        r.headers()["location"]
    );
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .header("cookie", founder.cookie())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "nor does the API take it");
}

/// A client that shows redirects instead of following them, as a page's answer is checked.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}
