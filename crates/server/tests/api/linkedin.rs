//! LinkedIn, end to end against a local server that answers as LinkedIn documents —
//! including cutting a post at the first unescaped little-text character while saying 201.

use crate::fakes::FakeLinkedin;
use crate::helpers::*;
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    a_linkedin_post_appears_whole_with_its_link,
    a_revoked_linkedin_token_stops_the_channel_with_linkedins_words,
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
    let test: Value = app
        .post_json(&format!("/api/v1/channels/{id}/test"), &json!({}))
        .await
        .json()
        .await
        .unwrap();
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
