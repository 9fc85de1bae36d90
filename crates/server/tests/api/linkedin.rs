//! LinkedIn, end to end against a local server that answers as LinkedIn documents —
//! including cutting a post at the first unescaped little-text character while saying 201.

use crate::fakes::FakeLinkedin;
use crate::helpers::*;
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    a_linkedin_post_appears_whole_with_its_link,
    a_revoked_linkedin_token_stops_the_channel_with_linkedins_words,
    connect_linkedin_runs_the_oauth_flow_and_an_expired_token_stops_the_channel,
    connect_a_linkedin_page_posts_as_the_page_and_renews_its_token,
    a_release_post_carries_its_image_with_alt_text,
);

const TOKEN: &str = "AQV-linkedin-member-token-0123456789";
const SECRET: &str = "s";

async fn connect(
    app: &TestApp,
    fake: &FakeLinkedin,
    token: &str,
    author: &str,
) -> reqwest::Response {
    app.post_json(
        "/api/v1/channels",
        &json!({"kind": "linkedin", "access_token": token, "author": author, "api_base": fake.base}),
    )
    .await
}

async fn pending_card(app: &TestApp, linkedin_text: &str) -> String {
    let source = app.github_source("Codertocat/Hello-World", SECRET).await;
    let r = app
        .deliver(
            &source,
            "push",
            "li-1",
            SECRET,
            &push_of_commit(&"c".repeat(40)),
        )
        .await;
    assert!(r.status().is_success());
    app.eventually("the card is drafted", || async {
        !app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;
    let id = app.get_json("/api/v1/cards").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let edit = app
        .client
        .patch(app.url(&format!("/api/v1/cards/{id}")))
        .bearer_auth(&app.token)
        .json(&json!({"variants": {"linkedin": linkedin_text}}))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), 200);
    id
}

async fn card(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/cards/{id}")).await["data"].clone()
}

const TEXT: &str = "Rocket 2 (beta) is out! Thanks @team, see [notes] #launch *now* — 100% open_source ~ <3 {x} a|b";

async fn a_linkedin_post_appears_whole_with_its_link(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeLinkedin::start(TOKEN).await;
    let bad = connect(&app, &fake, TOKEN, "someone").await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.unwrap().contains("urn:li:person"));
    let r = connect(&app, &fake, TOKEN, "urn:li:person:abc123").await;
    assert_eq!(r.status(), 201);
    let channel: Value = r.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(channel["config"]["account"], "Ada Founder");
    assert!(
        !app.get_json("/api/v1/channels")
            .await
            .to_string()
            .contains(TOKEN)
    );
    let id = channel["id"].as_str().unwrap().to_owned();
    let test = app.test_channel(&id).await;
    assert_eq!(
        test["data"]["detail"],
        "connected as Ada Founder on LinkedIn"
    );
    assert!(fake.displayed().is_empty(), "a test posts nothing");

    let c = pending_card(&app, TEXT).await;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c}/approve"),
            &json!({"channels": [id]}),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.eventually("published", || async {
        card(&app, &c).await["status"] == "published"
    })
    .await;
    let p = &card(&app, &c).await["publications"][0];
    assert_eq!(
        p["url"],
        "https://www.linkedin.com/feed/update/urn:li:share:7001/"
    );
    // Readers see every character: nothing was cut at "(" or "@" or "#".
    assert_eq!(fake.displayed(), [TEXT]);
    let sent = fake
        .received()
        .into_iter()
        .find(|r| r.path == "/rest/posts")
        .unwrap();
    assert_eq!(
        sent.header("linkedin-version"),
        Some(covalynce_publishing::linkedin::VERSION)
    );
    assert_eq!(sent.header("x-restli-protocol-version"), Some("2.0.0"));
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    let body = sent.json();
    assert_eq!(body["author"], "urn:li:person:abc123");
    assert_eq!(body["visibility"], "PUBLIC");
    assert_eq!(body["lifecycleState"], "PUBLISHED");
    assert_eq!(body["distribution"]["feedDistribution"], "MAIN_FEED");
    app.stop().await;
}

async fn a_revoked_linkedin_token_stops_the_channel_with_linkedins_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeLinkedin::start(TOKEN).await;
    let refused = connect(&app, &fake, "stale-token", "urn:li:person:abc123").await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("revoked by the user")
    );
    let r = connect(&app, &fake, TOKEN, "urn:li:person:abc123").await;
    let id = r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = pending_card(&app, "A short post.").await;
    fake.revoke_all();
    app.post_json(
        &format!("/api/v1/cards/{c}/approve"),
        &json!({"channels": [id]}),
    )
    .await;
    app.eventually("failed", || async {
        card(&app, &c).await["status"] == "failed"
    })
    .await;
    let error = card(&app, &c).await["publications"][0]["error"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        error.contains("revoked by the user") && error.contains("connect LinkedIn again"),
        "{error}"
    );
    assert!(!error.contains(TOKEN));
    let channel = app.get_json(&format!("/api/v1/channels/{id}")).await["data"].clone();
    assert_eq!(channel["status"], "disabled");
    assert!(fake.displayed().is_empty());
    app.stop().await;
}

/// A server whose operator set up a LinkedIn app (client `cid`/`csecret`) at the fake.
async fn with_operator_app(backend: Backend, fake: &FakeLinkedin) -> TestApp {
    let base = fake.base.clone();
    spawn_app_with(backend, move |c| {
        c.security.linkedin = Some(covalynce::auth::OAuthApp {
            client_id: "cid".into(),
            client_secret: "csecret".into(),
            web_base: base.clone(),
            api_base: base,
        })
    })
    .await
}

async fn connect_linkedin_runs_the_oauth_flow_and_an_expired_token_stops_the_channel(
    backend: Backend,
) {
    let fake = FakeLinkedin::start(TOKEN).await;
    let app = with_operator_app(backend, &fake).await;
    let owner =
        crate::accounts::Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"}))
            .await;
    let (to, q, cookies) = owner.start_connect("/channels/linkedin/connect").await;
    assert!(
        to.as_str()
            .starts_with(&format!("{}/oauth/v2/authorization?", fake.base))
    );
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "cid");
    assert_eq!(q["scope"], "openid profile w_member_social");
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // LinkedIn sends the browser back with a code and the state; a forged state is refused.
    let forged = owner
        .callback(
            "/channels/linkedin/callback?code=good-code&state=forged",
            &cookies,
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert!(forged.text().await.unwrap().contains("state mismatch"));
    let back = owner
        .callback(
            &format!(
                "/channels/linkedin/callback?code=good-code&state={}",
                q["state"]
            ),
            &cookies,
        )
        .await;
    assert_eq!(back.status(), 200);
    let page = back.text().await.unwrap();
    assert!(
        page.contains("Connected LinkedIn as Ada Founder."),
        "{page}"
    );
    assert!(!page.contains(TOKEN));
    let (_, channels) = owner
        .send(axum::http::Method::GET, "/api/v1/channels", None)
        .await;
    let ch = channels["data"][0].clone();
    assert_eq!(ch["kind"], "linkedin");
    assert_eq!(ch["config"]["author"], "urn:li:person:abc123");
    let expires = ch["config"]["expires_at"].as_i64().unwrap();
    let sixty_days = covalynce_domain::now_millis() + 5_184_000_000;
    assert!((expires - sixty_days).abs() < 60_000, "expires in 60 days");
    let exchange = fake
        .received()
        .into_iter()
        .find(|r| r.path == "/oauth/v2/accessToken")
        .unwrap();
    assert!(
        exchange.body.contains("client_secret=csecret") && exchange.body.contains("code=good-code")
    );

    // A pasted token known to expire in a second (in the same workspace): once it has,
    // the channel stops with that reason instead of sending a request LinkedIn would refuse.
    use axum::http::Method;
    let (status, made) = owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(json!({"kind": "linkedin", "name": "Short-lived", "access_token": TOKEN, "author": "urn:li:person:abc123", "api_base": fake.base, "expires_in": 1})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let short = made["data"]["id"].as_str().unwrap().to_owned();
    let (_, source) = owner
        .send(
            Method::POST,
            "/api/v1/sources",
            Some(json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": SECRET})),
        )
        .await;
    let source = source["data"]["id"].as_str().unwrap().to_owned();
    let r = app
        .deliver(
            &source,
            "push",
            "li-team",
            SECRET,
            &push_of_commit(&"d".repeat(40)),
        )
        .await;
    assert!(r.status().is_success());
    let mut c = String::new();
    for _ in 0..200 {
        let (_, cards) = owner
            .send(Method::GET, "/api/v1/cards?status=pending", None)
            .await;
        if let Some(id) = cards["data"][0]["id"].as_str() {
            c = id.to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!c.is_empty(), "a card was drafted");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = owner
        .send(
            Method::POST,
            &format!("/api/v1/cards/{c}/approve"),
            Some(json!({"channels": [short]})),
        )
        .await;
    assert_eq!(status, 202);
    let mut error = String::new();
    for _ in 0..200 {
        let (_, got) = owner
            .send(Method::GET, &format!("/api/v1/cards/{c}"), None)
            .await;
        if got["data"]["status"] == "failed" {
            error = got["data"]["publications"][0]["error"]
                .as_str()
                .unwrap()
                .to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        error.contains("expired on") && error.contains("connect LinkedIn again"),
        "{error}"
    );
    assert!(fake.displayed().is_empty(), "no request was sent");
    // The channels page says which token ran out, and offers to connect again.
    let page = plain
        .get(app.url("/channels"))
        .header("cookie", owner.cookie())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("the token expired on"), "{page}");
    assert!(page.contains("href=\"/channels/linkedin/connect\""));
    app.stop().await;
}

async fn connect_a_linkedin_page_posts_as_the_page_and_renews_its_token(backend: Backend) {
    let fake = FakeLinkedin::start(TOKEN).await;
    fake.with_pages(&[("1001", "Covalynce"), ("1002", "Acme Labs")]);
    fake.issue_refresh_token(Some("AQX-linkedin-refresh"));
    let mut app = with_operator_app(backend, &fake).await;
    let owner =
        crate::accounts::Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"}))
            .await;
    let team = app.token_for("team").await;
    let channels_page = owner.page("/channels").await;
    assert!(
        channels_page
            .html
            .contains("href=\"/channels/linkedin/connect?pages=1\""),
        "the page button shows"
    );
    let (_, q, cookies) = owner
        .start_connect("/channels/linkedin/connect?pages=1")
        .await;
    assert_eq!(
        q["scope"],
        "openid profile w_member_social w_organization_social r_organization_admin"
    );
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let back = owner
        .callback(
            &format!(
                "/channels/linkedin/callback?code=good-code&state={}",
                q["state"]
            ),
            &cookies,
        )
        .await;
    assert_eq!(back.status(), 200);
    // The token waits (sealed) in a new pending cookie while the founder picks a page.
    let pending = back.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = back.text().await.unwrap();
    assert!(html.contains("Which LinkedIn page"), "{html}");
    assert!(html.contains("Post as Covalynce") && html.contains("Post as Acme Labs"));
    assert!(
        !html.contains("urn:li:organization:9999"),
        "an analyst cannot post"
    );
    assert!(!html.contains(TOKEN) && !html.contains("AQX-linkedin-refresh"));
    assert!(!pending.contains(TOKEN), "the token is sealed");
    let state = html
        .split("name=\"state\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let choose = |organization: &'static str| {
        let form = [
            ("_csrf", owner.csrf_token().to_owned()),
            ("state", state.clone()),
            ("organization", organization.to_owned()),
        ];
        plain
            .post(app.url("/channels/linkedin/page"))
            .header("cookie", format!("{}; {pending}", owner.cookie()))
            .header("origin", app.addr.clone())
            .form(&form)
            .send()
    };
    // A page LinkedIn did not offer is refused.
    let forged = choose("urn:li:organization:9999").await.unwrap();
    assert_eq!(forged.status(), 400);
    let chosen = choose("urn:li:organization:1002").await.unwrap();
    assert_eq!(chosen.status(), 200);
    let html = chosen.text().await.unwrap();
    assert!(
        html.contains("Connected LinkedIn: Ada Founder posts as the page Acme Labs."),
        "{html}"
    );
    // From here on, the API as the founder's workspace.
    app.token = team;
    let ch = app.get_json("/api/v1/channels").await["data"][0].clone();
    assert_eq!(ch["name"], "LinkedIn · Acme Labs");
    assert_eq!(ch["config"]["author"], "urn:li:organization:1002");
    assert_eq!(ch["config"]["renewable"], true);
    assert!(ch["config"]["refresh_expires_at"].as_i64().is_some());
    assert!(!ch.to_string().contains("AQX-linkedin-refresh"));
    let id = ch["id"].as_str().unwrap().to_owned();

    // Posts go out as the page.
    let cards = app.pending_cards(1, 3).await;
    app.set_variant(&cards[0], "linkedin", "Acme Labs ships exports.")
        .await;
    app.approve(&cards[0], &id).await;
    assert_eq!(app.settled(&cards[0]).await["status"], "published");
    assert_eq!(fake.authors(), ["urn:li:organization:1002"]);

    // Sixty days on, the access token is refused: renewed with the refresh token, once,
    // and the post goes out.
    fake.revoke_all();
    app.set_variant(&cards[1], "linkedin", "Imports are next.")
        .await;
    app.approve(&cards[1], &id).await;
    let done = app.settled(&cards[1]).await;
    assert_eq!(done["status"], "published", "{done}");
    assert_eq!(fake.refreshes(), 1);
    assert_eq!(
        fake.displayed(),
        ["Acme Labs ships exports.", "Imports are next."]
    );
    let renewal = fake
        .received()
        .into_iter()
        .find(|r| r.body.contains("grant_type=refresh_token"))
        .unwrap();
    assert!(renewal.body.contains("client_secret=csecret"));

    // A year on, the refresh token is refused too: the channel stops and says so.
    fake.revoke_all();
    fake.issue_refresh_token(None);
    app.set_variant(&cards[2], "linkedin", "Search is faster.")
        .await;
    app.approve(&cards[2], &id).await;
    let done = app.settled(&cards[2]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["publications"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("refresh token is invalid, expired or revoked")
            && error.contains("connect LinkedIn again"),
        "{error}"
    );
    let ch = app.get_json(&format!("/api/v1/channels/{id}")).await["data"].clone();
    assert_eq!(ch["status"], "disabled");
    // The health view: who, what renews it and until when, the last error.
    let ada = crate::accounts::Browser::sign_in(&app, "ada@example.com").await;
    let page = ada.page("/channels").await.html;
    assert!(page.contains("LinkedIn · Acme Labs") && page.contains("Ada Founder"));
    assert!(page.contains("renews its token itself"));
    assert!(page.contains("the refresh token is valid until"), "{page}");
    assert!(page.contains("refresh token is invalid, expired or revoked"));
    app.stop().await;
}

/// A release's post carries its image through the Images API: initialized for the author,
/// its bytes uploaded, then posted by URN with its alt text.
async fn a_release_post_carries_its_image_with_alt_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeLinkedin::start(TOKEN).await;
    let r = connect(&app, &fake, TOKEN, "urn:li:person:abc123").await;
    assert_eq!(r.status(), 201);
    let channel = r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let card = crate::changelog::release(
        &app,
        "v7.0.0",
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await;
    app.approve(&card, &channel).await;
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");
    let contents = fake.contents();
    assert_eq!(contents.len(), 1);
    let media = &contents[0]["media"];
    let urn = media["id"].as_str().unwrap();
    assert!(urn.starts_with("urn:li:image:"), "{media}");
    assert!(
        media["altText"]
            .as_str()
            .unwrap()
            .starts_with("rocket v7.0.0: "),
        "{media}"
    );
    let png = fake.image(urn).expect("the bytes were uploaded");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    app.stop().await;
}
