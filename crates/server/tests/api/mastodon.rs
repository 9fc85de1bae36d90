//! Mastodon, end to end against a local server that answers as Mastodon documents: a
//! founder connects an account with an access token, approves cards, and each status is
//! made once — even when an answer is lost — with Mastodon's own words when it refuses.

use crate::fakes::FakeMastodon;
use crate::helpers::*;
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    a_thread_goes_out_as_chained_replies_each_status_once,
    a_mastodon_account_posts_each_card_once_even_when_an_answer_is_lost,
    mastodon_refusals_are_told_in_its_own_words,
    a_release_status_carries_its_image_with_a_description,
);

const TOKEN: &str = "mastodon-access-token-0123456789abcdef";
const SECRET: &str = "s";

async fn connect(app: &TestApp, fake: &FakeMastodon, token: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/channels",
        &json!({"kind": "mastodon", "instance": fake.base, "access_token": token}),
    )
    .await
}

/// The `n`th push becomes a pending card (n from 1).
async fn pending_card(app: &TestApp, n: usize) -> String {
    let source = match app.get_json("/api/v1/sources").await["data"][0]["id"].as_str() {
        Some(s) => s.to_owned(),
        None => app.github_source("Codertocat/Hello-World", SECRET).await,
    };
    let sha = format!("{n:b>40}");
    let r = app
        .deliver(
            &source,
            "push",
            &format!("m-{n}"),
            SECRET,
            &push_of_commit(&sha),
        )
        .await;
    assert!(r.status().is_success());
    app.eventually("the card is drafted", || async {
        app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .len()
            == n
    })
    .await;
    app.get_json("/api/v1/cards").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn card(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/cards/{id}")).await["data"].clone()
}

async fn a_mastodon_account_posts_each_card_once_even_when_an_answer_is_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeMastodon::start(TOKEN, 500).await;
    let r = connect(&app, &fake, TOKEN).await;
    assert_eq!(r.status(), 201);
    let channel: Value = r.json::<Value>().await.unwrap()["data"].clone();
    assert_eq!(channel["kind"], "mastodon");
    assert_eq!(
        channel["config"]["account"],
        format!(
            "founder@{}",
            fake.base
                .trim_start_matches("http://")
                .split(':')
                .next()
                .unwrap()
        )
    );
    assert_eq!(
        channel["config"]["max_characters"], 500,
        "read from /api/v2/instance"
    );
    let listed = app.get_json("/api/v1/channels").await.to_string();
    assert!(
        !listed.contains(TOKEN) && !channel.to_string().contains(TOKEN),
        "the token is never shown"
    );
    let id = channel["id"].as_str().unwrap().to_owned();
    let test = app.test_channel(&id).await;
    assert_eq!(test["data"]["ok"], true, "{test}");
    assert!(
        test["data"]["detail"]
            .as_str()
            .unwrap()
            .starts_with("connected as @founder@")
    );
    assert_eq!(fake.statuses_made(), 0, "a test makes no public status");

    // The first answer is lost after the status was made: the retry carries the same
    // Idempotency-Key, and Mastodon answers with the status it already has.
    fake.lose_next_answers(1);
    let c = pending_card(&app, 1).await;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c}/approve"),
            &json!({"channels": [id]}),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.eventually("the card is published", || async {
        card(&app, &c).await["status"] == "published"
    })
    .await;
    let done = card(&app, &c).await;
    let p = &done["publications"][0];
    assert_eq!(p["url"], "https://social.example/@founder/11001");
    assert_eq!(p["attempts"], 2, "one lost answer, one repeat");
    assert_eq!(fake.statuses_made(), 1, "exactly one status");
    let posts: Vec<_> = fake
        .received()
        .into_iter()
        .filter(|r| r.path == "/api/v1/statuses")
        .collect();
    assert_eq!(posts.len(), 2);
    let key = posts[0].header("idempotency-key").unwrap().to_owned();
    assert!(!key.is_empty());
    assert_eq!(
        posts[1].header("idempotency-key"),
        Some(key.as_str()),
        "the same key both times"
    );
    assert_eq!(
        posts[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(posts[0].json()["status"], done["variants"]["mastodon"]);
    assert_eq!(posts[0].json()["visibility"], "public");
    // The channel's health: the last success is recorded, no error.
    let health = app.get_json(&format!("/api/v1/channels/{id}")).await["data"].clone();
    assert!(health["last_success_at"].is_string(), "{health}");
    assert!(health["last_error"].is_null());
    // The owner's export carries the card with where it went.
    let export = app.get_json("/api/v1/export").await["data"].clone();
    let exported = export["cards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == c.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        exported["publications"][0]["url"],
        "https://social.example/@founder/11001"
    );
    assert_eq!(exported["publications"].as_array().unwrap().len(), 1);
    app.stop().await;
}

/// A drafted thread: each status replies to the one before, each has its own
/// Idempotency-Key, and a lost answer part-way repeats only that status's request, which
/// Mastodon answers with the status it already made.
async fn a_thread_goes_out_as_chained_replies_each_status_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeMastodon::start(TOKEN, 500).await;
    let r = connect(&app, &fake, TOKEN).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = pending_card(&app, 1).await;
    let posts = [
        "Rocket v1.4.0 adds CSV export.\n\n1/3",
        "• Faster builds\n• Fix the crash on empty files\n\n2/3",
        "https://github.com/acme/rocket/releases/tag/v1.4.0 #rustlang\n\n3/3",
    ];
    app.set_variant(&c, "mastodon", &posts.join("\n---\n"))
        .await;
    fake.lose_answer_to_status(2);
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c}/approve"),
            &json!({"channels": [id]}),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.eventually("the card is published", || async {
        card(&app, &c).await["status"] == "published"
    })
    .await;
    assert_eq!(fake.statuses_made(), 3, "one status per post");
    let sent: Vec<_> = fake
        .received()
        .into_iter()
        .filter(|r| r.path == "/api/v1/statuses")
        .collect();
    assert_eq!(sent.len(), 4, "the second post's request went twice");
    let texts: Vec<Value> = sent.iter().map(|r| r.json()["status"].clone()).collect();
    assert_eq!(texts, [posts[0], posts[1], posts[1], posts[2]]);
    let replies: Vec<Value> = sent
        .iter()
        .map(|r| r.json()["in_reply_to_id"].clone())
        .collect();
    assert_eq!(
        replies,
        [Value::Null, json!("11001"), json!("11001"), json!("11002")]
    );
    let keys: Vec<&str> = sent
        .iter()
        .map(|r| r.header("idempotency-key").unwrap())
        .collect();
    assert_eq!(keys[1], keys[2], "the repeat carries the same key");
    assert_eq!(keys[1], format!("{}-2", keys[0]));
    assert_eq!(keys[3], format!("{}-3", keys[0]));
    let done = card(&app, &c).await;
    assert_eq!(
        done["publications"][0]["url"], "https://social.example/@founder/11001",
        "the thread is seen at its first status"
    );
    app.stop().await;
}

async fn mastodon_refusals_are_told_in_its_own_words(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeMastodon::start(TOKEN, 40).await;
    let bad = connect(&app, &fake, "not-the-token").await;
    assert_eq!(bad.status(), 422);
    let bad = bad.text().await.unwrap();
    assert!(
        bad.contains("The access token is invalid") && !bad.contains("not-the-token"),
        "{bad}"
    );

    let r = connect(&app, &fake, TOKEN).await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // This instance allows 40 characters: the drafted post is longer, and its approval is
    // refused, in terms of this instance, before anything could be sent.
    let c = pending_card(&app, 1).await;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c}/approve"),
            &json!({"channels": [id]}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("it allows 40"),
        "{p}"
    );
    let still = card(&app, &c).await;
    assert_eq!(still["status"], "pending", "{still}");
    assert_eq!(still["publications"], json!([]), "{still}");
    assert_eq!(fake.statuses_made(), 0, "nothing was sent");

    // A short post, but the token was revoked meanwhile: Mastodon's words on the card,
    // and the channel stops until it is connected again.
    let short = pending_card(&app, 2).await;
    let edit = app
        .client
        .patch(app.url(&format!("/api/v1/cards/{short}")))
        .bearer_auth(&app.token)
        .json(&json!({"variants": {"mastodon": "Shipped: Initial commit."}}))
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), 200);
    fake.revoke_all();
    app.post_json(
        &format!("/api/v1/cards/{short}/approve"),
        &json!({"channels": [id]}),
    )
    .await;
    app.eventually("the short card fails", || async {
        card(&app, &short).await["status"] == "failed"
    })
    .await;
    let p = card(&app, &short).await["publications"][0].clone();
    let error = p["error"].as_str().unwrap();
    assert!(
        error.contains("The access token is invalid")
            && error.contains("connect the account again"),
        "{error}"
    );
    assert!(!error.contains(TOKEN));
    let channel = app.get_json(&format!("/api/v1/channels/{id}")).await["data"].clone();
    assert_eq!(
        channel["status"], "disabled",
        "a broken channel stops: {channel}"
    );
    assert!(
        channel["last_error"]
            .as_str()
            .unwrap()
            .contains("access token")
    );
    assert_eq!(fake.statuses_made(), 0);
    app.stop().await;
}

/// A release's status carries its image, uploaded with a description (alt text); an
/// upload whose answer is lost is sent again, and the status is still made once.
async fn a_release_status_carries_its_image_with_a_description(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeMastodon::start(TOKEN, 500).await;
    let r = connect(&app, &fake, TOKEN).await;
    assert_eq!(r.status(), 201);
    let channel = r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let release = crate::changelog::release(
        &app,
        "v5.0.0",
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await;
    fake.lose_next_media_answer();
    app.approve(&release, &channel).await;
    let done = app.settled(&release).await;
    assert_eq!(done["status"], "published", "{done}");
    let media = fake.media();
    assert_eq!(
        media.len(),
        2,
        "the upload whose answer was lost was sent again"
    );
    let (id, description, png) = &media[1];
    assert!(description.starts_with("rocket v5.0.0: "), "{description}");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(fake.statuses_made(), 1);
    let status = &fake.statuses()[0];
    assert_eq!(
        status["media_attachments"][0]["id"],
        id.as_str(),
        "{status}"
    );
    assert_eq!(
        status["media_attachments"][0]["description"],
        description.as_str()
    );

    // A token made for statuses only: the release still goes out, without its image, and
    // the publication says why; the channel keeps working.
    fake.without_media_scope();
    let next = crate::changelog::release(&app, "v5.1.0", "- fix: totals round twice").await;
    app.approve(&next, &channel).await;
    let done = app.settled(&next).await;
    assert_eq!(done["status"], "published", "{done}");
    let note = done["publications"][0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("write:media"), "{done}");
    assert_eq!(fake.statuses_made(), 2);
    let channels = app.get_json("/api/v1/channels").await;
    assert_eq!(channels["data"][0]["status"], "active", "{channels}");
    app.stop().await;
}
