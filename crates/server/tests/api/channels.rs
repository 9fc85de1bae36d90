//! Channels, end to end: a founder connects Slack, Discord and a webhook of their own,
//! approves cards, and each post reaches the platform once — through rate limits, outages,
//! revoked webhooks and timeouts — with the platform's own words on the card when it fails.

use crate::fakes::{FakeDiscord, FakeSlack, Receiver, SlackHook};
use crate::helpers::{TestApp, on_both_backends, push_of_commit, spawn_app, spawn_app_with};
use covalynce_storage::Backend;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    a_slack_channel_posts_each_approved_card_once_and_keeps_its_url_secret,
    slack_refusals_rate_limits_and_outages_are_told_apart,
    a_slack_post_that_times_out_is_unknown_until_a_person_retries_or_confirms,
    discord_posts_wait_for_the_message_and_respect_the_rate_limit_buckets,
    a_deleted_discord_webhook_is_never_called_again,
    webhook_posts_are_signed_and_keep_their_idempotency_key_across_retries,
    channels_can_be_listed_tested_disabled_enabled_and_deleted,
    a_daily_cap_holds_the_rest_until_the_next_day,
    a_card_published_to_some_channels_but_not_others_is_partial,
    a_release_message_on_discord_carries_its_image_as_an_attachment,
    a_release_message_on_slack_shows_its_image_from_a_signed_public_address,
);

const SECRET: &str = "s";

/// Turns pushes into PENDING cards for one workspace.
struct Desk<'a> {
    app: &'a TestApp,
    source: String,
    drafted: usize,
}

impl<'a> Desk<'a> {
    async fn new(app: &'a TestApp) -> Self {
        let source = app.github_source("Codertocat/Hello-World", SECRET).await;
        Self {
            app,
            source,
            drafted: 0,
        }
    }

    /// A push of one commit with `message`; returns the drafted card's id.
    async fn card(&mut self, message: &str) -> String {
        self.drafted += 1;
        let n = self.drafted;
        let mut v: Value =
            serde_json::from_slice(&push_of_commit(&format!("{:040x}", n + 0xc0ffee))).unwrap();
        v["commits"][0]["message"] = message.into();
        v["commits"][0]["added"] = json!(["src/lib.rs"]);
        let r = self
            .app
            .deliver(
                &self.source,
                "push",
                &format!("desk-{n}"),
                SECRET,
                &serde_json::to_vec(&v).unwrap(),
            )
            .await;
        assert!(r.status().is_success());
        let app = self.app;
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
}

async fn create_channel(app: &TestApp, body: Value) -> Value {
    let r = app.post_json("/api/v1/channels", &body).await;
    assert_eq!(r.status(), 201, "{body}");
    r.json::<Value>().await.unwrap()["data"].clone()
}

async fn approve(app: &TestApp, card: &str, channels: &[&str]) {
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({ "channels": channels }),
        )
        .await;
    let status = r.status();
    assert_eq!(status, 202, "{}", r.text().await.unwrap());
}

async fn card(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/cards/{id}")).await["data"].clone()
}

/// Waits until the card's status is `status`; returns the card.
async fn settled(app: &TestApp, id: &str, status: &str) -> Value {
    app.eventually(&format!("card {id} is {status}"), || async {
        card(app, id).await["status"] == status
    })
    .await;
    card(app, id).await
}

async fn a_slack_channel_posts_each_approved_card_once_and_keeps_its_url_secret(backend: Backend) {
    let app = spawn_app(backend).await;
    let slack = FakeSlack::start().await;
    let hook = slack.hook(SlackHook::Live);
    let hook_secret = hook.rsplit('/').next().unwrap().to_owned();
    let channel = create_channel(
        &app,
        json!({"kind": "slack", "name": "#launches", "webhook_url": hook}),
    )
    .await;
    let id = channel["id"].as_str().unwrap();
    assert_eq!(channel["kind"], "slack");
    assert_eq!(channel["name"], "#launches");
    assert_eq!(channel["status"], "active");
    // The webhook URL is the credential: shown nowhere, stored only sealed.
    for shown in [
        channel.to_string(),
        app.get_json("/api/v1/channels").await.to_string(),
        app.get_json(&format!("/api/v1/channels/{id}"))
            .await
            .to_string(),
    ] {
        assert!(!shown.contains(&hook_secret), "{shown}");
    }
    let stored = app
        .store
        .channel(covalynce_domain::ChannelId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.config.to_value().to_string().contains(&hook_secret));
    let sealed = stored.sealed_credentials.expect("sealed credentials");
    assert!(
        !String::from_utf8_lossy(&sealed).contains(&hook_secret),
        "credentials are encrypted"
    );

    // "Send a test message" reaches the channel.
    let test = app.test_channel(id).await;
    assert_eq!(test["data"]["ok"], true, "{test}");
    assert_eq!(slack.received().len(), 1);

    let mut desk = Desk::new(&app).await;
    let c = desk.card("feat: add <CSV> & PDF export").await;
    approve(&app, &c, &[id]).await;
    let done = settled(&app, &c, "published").await;
    let p = &done["publications"][0];
    assert_eq!(p["status"], "published");
    assert_eq!(p["attempts"], 1);
    assert!(p["error"].is_null(), "{p}");
    let posts = slack.received();
    assert_eq!(
        posts.len(),
        2,
        "the test message and the card, nothing more"
    );
    let body = posts[1].json();
    assert_eq!(posts[1].header("content-type"), Some("application/json"));
    let sent = body["text"].as_str().unwrap();
    let variant = done["variants"]["slack"].as_str().unwrap();
    // Slack's control characters are escaped, so `<CSV>` is shown, not read as a link.
    assert_eq!(
        sent,
        variant
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(slack.received().len(), 2, "published once, never again");
    app.stop().await;
}

async fn slack_refusals_rate_limits_and_outages_are_told_apart(backend: Backend) {
    let app = spawn_app(backend).await;
    let slack = FakeSlack::start().await;
    let mut desk = Desk::new(&app).await;
    let channel_for = |hook: SlackHook| {
        let (app, url) = (&app, slack.hook(hook));
        async move {
            create_channel(app, json!({"kind": "slack", "webhook_url": url})).await["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    // Revoked webhook (404 no_service): one request, failed with Slack's words, and the
    // channel is disabled so nothing else is sent to it.
    let revoked = channel_for(SlackHook::Revoked).await;
    let c1 = desk.card("feat: add export one").await;
    approve(&app, &c1, &[&revoked]).await;
    let failed = settled(&app, &c1, "failed").await;
    let error = failed["publications"][0]["error"].as_str().unwrap();
    assert!(error.contains("no_service"), "{error}");
    assert_eq!(failed["publications"][0]["attempts"], 1);
    let ch = app.get_json(&format!("/api/v1/channels/{revoked}")).await;
    assert_eq!(ch["data"]["status"], "disabled");
    assert!(
        ch["data"]["last_error"]
            .as_str()
            .unwrap()
            .contains("no_service")
    );
    assert_eq!(slack.received().len(), 1);

    // Archived channel (410 channel_is_archived): the same, never retried.
    let archived = channel_for(SlackHook::Archived).await;
    let c2 = desk.card("feat: add export two").await;
    approve(&app, &c2, &[&archived]).await;
    let failed = settled(&app, &c2, "failed").await;
    assert!(
        failed["publications"][0]["error"]
            .as_str()
            .unwrap()
            .contains("channel_is_archived")
    );
    assert_eq!(slack.received().len(), 2);

    // A refused payload (400 invalid_payload) fails the publication, not the channel.
    let picky = channel_for(SlackHook::RejectsPayload).await;
    let c3 = desk.card("feat: add export three").await;
    approve(&app, &c3, &[&picky]).await;
    let failed = settled(&app, &c3, "failed").await;
    assert!(
        failed["publications"][0]["error"]
            .as_str()
            .unwrap()
            .contains("invalid_payload")
    );
    let ch = app.get_json(&format!("/api/v1/channels/{picky}")).await;
    assert_eq!(ch["data"]["status"], "active");
    assert_eq!(slack.received().len(), 3);

    // 429 with Retry-After: 1 — the next attempt waits that long, then succeeds.
    let live = channel_for(SlackHook::Live).await;
    slack.rate_limit_next(1);
    let c4 = desk.card("feat: add export four").await;
    approve(&app, &c4, &[&live]).await;
    let done = settled(&app, &c4, "published").await;
    assert_eq!(done["publications"][0]["attempts"], 2);
    let posts = slack.received();
    assert_eq!(posts.len(), 5);
    let waited = posts[4].at - posts[3].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After honoured: waited {waited:?}"
    );

    // Slack down (500 rollup_error): retried with backoff until the attempts run out.
    slack.set(&slack.received()[4].path.clone(), SlackHook::Down);
    let c5 = desk.card("feat: add export five").await;
    approve(&app, &c5, &[&live]).await;
    let failed = settled(&app, &c5, "failed").await;
    let p = &failed["publications"][0];
    let error = p["error"].as_str().unwrap();
    assert!(error.contains("gave up after 8 attempts"), "{error}");
    assert!(error.contains("rollup_error"), "{error}");
    assert_eq!(p["attempts"], 8);
    assert_eq!(slack.received().len(), 5 + 8);
    app.stop().await;
}

async fn a_slack_post_that_times_out_is_unknown_until_a_person_retries_or_confirms(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let slack = FakeSlack::start().await;
    let hook = slack.hook(SlackHook::Hangs);
    let channel = create_channel(&app, json!({"kind": "slack", "webhook_url": hook})).await;
    let channel = channel["id"].as_str().unwrap();
    let mut desk = Desk::new(&app).await;

    // Slack took the request and never answered: it may or may not be posted. Covalynce
    // does not guess; it asks.
    let c1 = desk.card("feat: add export one").await;
    approve(&app, &c1, &[channel]).await;
    app.eventually("the publication is unknown", || async {
        card(&app, &c1).await["publications"][0]["status"] == "unknown"
    })
    .await;
    let one = card(&app, &c1).await;
    assert_eq!(
        one["status"], "approved",
        "not published, not failed: unknown"
    );
    let p = &one["publications"][0];
    assert!(p["error"].as_str().unwrap().contains("check"), "{p}");
    let pid = p["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slack.received().len(), 1, "never resent on its own");

    // The founder looked in Slack and it is there: confirm.
    let r = app
        .post_json(&format!("/api/v1/publications/{pid}/confirm"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let done = settled(&app, &c1, "published").await;
    assert_eq!(done["publications"][0]["status"], "published");
    // Confirming twice, or retrying something published, is a conflict.
    for action in ["confirm", "retry"] {
        let r = app
            .post_json(&format!("/api/v1/publications/{pid}/{action}"), &json!({}))
            .await;
        assert_eq!(r.status(), 409, "{action}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{action}"
        );
    }

    // The next one also times out; this time it is not in Slack: retry sends it again.
    let c2 = desk.card("feat: add export two").await;
    approve(&app, &c2, &[channel]).await;
    app.eventually("the publication is unknown", || async {
        card(&app, &c2).await["publications"][0]["status"] == "unknown"
    })
    .await;
    let pid = card(&app, &c2).await["publications"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    slack.set(&hook, SlackHook::Live);
    let r = app
        .post_json(&format!("/api/v1/publications/{pid}/retry"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    settled(&app, &c2, "published").await;
    assert_eq!(slack.received().len(), 3);

    // A crash while sending (found `publishing` by the next run) is unknown too, and
    // nothing is sent: Slack has no idempotency key to make a resend safe.
    let c3 = desk.card("feat: add export three").await;
    let approval = app
        .post_json(
            &format!("/api/v1/cards/{c3}/approve"),
            &json!({"channels": [channel], "publish_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(approval.status(), 202);
    let pid = card(&app, &c3).await["publications"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let publication = covalynce_domain::PublicationId::parse(&pid).unwrap();
    app.store
        .set_publication(
            publication,
            covalynce_domain::PublicationStatus::Publishing,
            None,
            None,
        )
        .await
        .unwrap();
    let ws = app
        .store
        .publication(publication)
        .await
        .unwrap()
        .unwrap()
        .workspace_id;
    app.store
        .enqueue_job(&covalynce_storage::NewJob {
            workspace_id: Some(ws),
            job: covalynce_domain::Job::Publish {
                publication: covalynce_domain::PublicationId::parse(&pid).unwrap(),
            },
            run_at: covalynce_domain::now_millis(),
            max_attempts: 3,
        })
        .await
        .unwrap();
    app.eventually("the interrupted publication is unknown", || async {
        card(&app, &c3).await["publications"][0]["status"] == "unknown"
    })
    .await;
    assert_eq!(slack.received().len(), 3, "nothing was resent");

    // Someone else's publication is not found.
    let other = app.token_for("other").await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/publications/{pid}/retry")))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

async fn discord_posts_wait_for_the_message_and_respect_the_rate_limit_buckets(backend: Backend) {
    let app = spawn_app(backend).await;
    // Two requests per 1.5 s per webhook.
    let discord = FakeDiscord::start(2, Duration::from_millis(1500)).await;
    let hook = discord.webhook("900000000000000001");
    let channel = create_channel(&app, json!({"kind": "discord", "webhook_url": hook})).await;
    assert!(
        !channel
            .to_string()
            .contains(hook.rsplit('/').next().unwrap())
    );
    let channel = channel["id"].as_str().unwrap().to_owned();
    let mut desk = Desk::new(&app).await;
    let mut cards = Vec::new();
    for n in 0..3 {
        cards.push(desk.card(&format!("feat: add @everyone export {n}")).await);
    }
    // One after another: each answer says how much of the bucket is left, and the third
    // waits for it to refill instead of being refused. (Publications sent at the same
    // moment can race the bucket; the 429 that one of them may then get is honoured, below.)
    for c in &cards {
        approve(&app, c, &[&channel]).await;
        let done = settled(&app, c, "published").await;
        let url = done["publications"][0]["url"].as_str().unwrap();
        assert!(
            url.starts_with("https://discord.com/channels/@me/900000000000000001/"),
            "{url}"
        );
    }
    let posts = discord.received();
    assert_eq!(
        posts.len(),
        3,
        "one request per card: the bucket was never overrun"
    );
    for post in &posts {
        assert_eq!(post.query.get("wait").map(String::as_str), Some("true"));
        let body = post.json();
        assert_eq!(body["allowed_mentions"], json!({"parse": []}), "no pings");
        assert!(body["content"].as_str().unwrap().chars().count() <= 2000);
    }
    // The third waited for the bucket to refill (reset after ~1.5 s) rather than be refused.
    let gap = posts[2].at - posts[0].at;
    assert!(gap >= Duration::from_millis(1300), "waited {gap:?}");

    // A global 429 with retry_after in the body: retried after it, published.
    discord.global_limit_next(1);
    let c = desk.card("feat: add export four").await;
    approve(&app, &c, &[&channel]).await;
    let done = settled(&app, &c, "published").await;
    assert_eq!(done["publications"][0]["attempts"], 2);
    assert_eq!(discord.received().len(), 5);

    // Too long for Discord: the edit turns the card red with the reason, and a red card
    // cannot be approved — the founder hears it before anything is sent.
    let c = desk.card("feat: add export five").await;
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/cards/{c}")))
        .bearer_auth(&app.token)
        .json(&json!({"variants": {"discord": "a".repeat(2001)}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let edited = card(&app, &c).await;
    assert_eq!(edited["risk"], "red");
    assert!(
        edited["risk_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().contains("discord post is 2001 long")),
        "{edited}"
    );
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c}/approve"),
            &json!({ "channels": [channel] }),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(discord.received().len(), 5, "nothing sent");
    app.stop().await;
}

async fn a_deleted_discord_webhook_is_never_called_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let discord = FakeDiscord::start(5, Duration::from_secs(2)).await;
    let hook = discord.webhook("900000000000000002");
    let channel = create_channel(&app, json!({"kind": "discord", "webhook_url": hook})).await;
    let channel = channel["id"].as_str().unwrap().to_owned();
    discord.delete(&hook);
    let mut desk = Desk::new(&app).await;
    let c1 = desk.card("feat: add export one").await;
    let c2 = desk.card("feat: add export two").await;
    approve(&app, &c1, &[&channel]).await;
    let failed = settled(&app, &c1, "failed").await;
    let error = failed["publications"][0]["error"].as_str().unwrap();
    assert!(error.contains("Unknown Webhook (code 10015)"), "{error}");
    let ch = app.get_json(&format!("/api/v1/channels/{channel}")).await;
    assert_eq!(ch["data"]["status"], "disabled");
    // Nothing more can be approved to it until someone enables it.
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c2}/approve"),
            &json!({ "channels": [channel] }),
        )
        .await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("enabled first"),
        "{p}"
    );
    assert_eq!(discord.received().len(), 1, "a 404 webhook is called once");
    // Enabled by mistake: the webhook is still gone; the card fails again, once.
    let r = app
        .post_json(&format!("/api/v1/channels/{channel}/enable"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    approve(&app, &c2, &[&channel]).await;
    settled(&app, &c2, "failed").await;
    assert_eq!(discord.received().len(), 2);
    let c3 = desk.card("feat: add export three").await;
    let r = app
        .post_json(&format!("/api/v1/channels/{channel}/enable"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c3}/approve"),
            &json!({"channels": [channel], "publish_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    // Deleting the channel fails what waited on it, with the reason.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/channels/{channel}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let failed = settled(&app, &c3, "failed").await;
    assert!(
        failed["publications"][0]["error"]
            .as_str()
            .unwrap()
            .contains("deleted")
    );
    assert_eq!(discord.received().len(), 2);
    app.stop().await;
}

fn verify(secret: &str, r: &crate::fakes::Received) {
    let ts = r.header("x-covalynce-timestamp").unwrap();
    let age = covalynce_domain::now_millis() / 1000 - ts.parse::<i64>().unwrap();
    assert!((0..300).contains(&age), "fresh timestamp");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.{}", r.body).as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("x-covalynce-signature"), Some(expected.as_str()));
}

async fn webhook_posts_are_signed_and_keep_their_idempotency_key_across_retries(backend: Backend) {
    let app = spawn_app(backend).await;
    let receiver = Receiver::start().await;
    let created = create_channel(
        &app,
        json!({"kind": "webhook", "url": format!("{}/hooks/covalynce", receiver.base), "variant": "x"}),
    )
    .await;
    // No secret given: one is generated and shown this once.
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    let id = created["id"].as_str().unwrap().to_owned();
    let shown = app.get_json(&format!("/api/v1/channels/{id}")).await;
    assert!(!shown.to_string().contains(&secret));
    assert!(shown["data"]["secret"].is_null());

    // The test is a signed ping.
    let test = app.test_channel(&id).await;
    assert_eq!(test["data"]["ok"], true, "{test}");
    let ping = &receiver.received()[0];
    assert_eq!(ping.path, "/hooks/covalynce");
    assert_eq!(ping.header("x-covalynce-event"), Some("ping"));
    verify(&secret, ping);

    // Two failures (503, then 429 Retry-After 1) and a success: three deliveries of the
    // same publication, all with one idempotency key, so the receiver can drop repeats.
    receiver.answer_next(&[503, 429]);
    let mut desk = Desk::new(&app).await;
    let c = desk.card("feat: add CSV export").await;
    approve(&app, &c, &[&id]).await;
    let done = settled(&app, &c, "published").await;
    let p = &done["publications"][0];
    assert_eq!(p["attempts"], 3);
    let deliveries = &receiver.received()[1..];
    assert_eq!(deliveries.len(), 3);
    let key = deliveries[0].header("idempotency-key").unwrap().to_owned();
    for d in deliveries {
        verify(&secret, d);
        assert_eq!(d.header("x-covalynce-event"), Some("card.published"));
        assert_eq!(d.header("idempotency-key"), Some(key.as_str()));
        assert_eq!(d.header("x-covalynce-delivery"), Some(key.as_str()));
        let body = d.json();
        assert_eq!(body["event"], "card.published");
        assert_eq!(body["idempotency_key"], key.as_str());
        assert_eq!(body["channel_id"], id.as_str());
        assert_eq!(body["card"]["id"], c.as_str());
        assert_eq!(body["card"]["text"], done["variants"]["x"]);
        assert_eq!(body["card"]["posts"], json!([done["variants"]["x"]]));
        assert_eq!(body["card"]["variants"], done["variants"]);
    }
    // A thread arrives with its posts split out, in order.
    let c3 = desk.card("feat: add JSON export").await;
    app.set_variant(
        &c3,
        "x",
        "JSON export is here.\n\n1/2\n\n---\n\nDocs: https://example.com\n\n2/2",
    )
    .await;
    approve(&app, &c3, &[&id]).await;
    settled(&app, &c3, "published").await;
    let last = receiver.received().last().unwrap().json();
    assert_eq!(
        last["card"]["posts"],
        json!([
            "JSON export is here.\n\n1/2",
            "Docs: https://example.com\n\n2/2"
        ])
    );
    assert!(deliveries[2].at - deliveries[1].at >= Duration::from_millis(950));
    // The receiver named where the post went; the card shows it.
    assert_eq!(p["url"], "https://example.test/posts/4");

    // A receiver that says the hook is gone (410) disables the channel at once.
    receiver.answer_next(&[410]);
    let c2 = desk.card("feat: add PDF export").await;
    approve(&app, &c2, &[&id]).await;
    let failed = settled(&app, &c2, "failed").await;
    assert_eq!(failed["publications"][0]["attempts"], 1);
    assert!(
        failed["publications"][0]["error"]
            .as_str()
            .unwrap()
            .contains("410")
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/channels/{id}")).await["data"]["status"],
        "disabled"
    );
    app.stop().await;
}

/// With the default policy, a webhook may not point into the operator's own network.
async fn private_targets_are_refused(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.allow_private_targets = false).await;
    let receiver = Receiver::start().await;
    for (url, why) in [
        (format!("{}/hook", receiver.base), "https"),
        ("https://127.0.0.1/hook".to_owned(), "private"),
        ("https://10.1.2.3/hook".to_owned(), "private"),
        (
            "https://169.254.169.254/latest/meta-data".to_owned(),
            "private",
        ),
        ("https://[::1]/hook".to_owned(), "private"),
        ("https://localhost/hook".to_owned(), "private"),
        (
            "https://user:pw@hooks.example.com/x".to_owned(),
            "user name or password",
        ),
        ("not a url".to_owned(), "not a valid URL"),
    ] {
        let r = app
            .post_json("/api/v1/channels", &json!({"kind": "webhook", "url": url}))
            .await;
        assert_eq!(r.status(), 422, "{url}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains(why), "{url}: {p}");
    }
    let r = app
        .post_json(
            "/api/v1/channels",
            &json!({"kind": "slack", "webhook_url": "https://192.168.1.1/services/T/B/x"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(
        app.get_json("/api/v1/channels").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(receiver.received().is_empty());
    app.stop().await;
}

mod private_targets {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn are_refused_unless_the_operator_allows_them() {
        // The check is the same on both backends; nothing is stored either way.
        crate::helpers::bounded(
            60,
            super::private_targets_are_refused(covalynce_storage::Backend::Sqlite),
        )
        .await
    }
}

async fn channels_can_be_listed_tested_disabled_enabled_and_deleted(backend: Backend) {
    let app = spawn_app(backend).await;
    let outbox = create_channel(
        &app,
        json!({"kind": "outbox", "name": "Try-out", "file": "life.jsonl", "variant": "x"}),
    )
    .await;
    let path = app.outbox_path("life.jsonl").await;
    let id = outbox["id"].as_str().unwrap().to_owned();
    assert_eq!(outbox["config"]["file"], "life.jsonl");
    let slack = FakeSlack::start().await;
    let revoked = create_channel(
        &app,
        json!({"kind": "slack", "webhook_url": slack.hook(SlackHook::Revoked)}),
    )
    .await;
    let revoked = revoked["id"].as_str().unwrap().to_owned();
    let list = app.get_json("/api/v1/channels").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);

    // A failing test says what the platform said, and the channel remembers it.
    let test = app.test_channel(&revoked).await;
    assert_eq!(test["data"]["ok"], false);
    assert!(
        test["data"]["detail"]
            .as_str()
            .unwrap()
            .contains("no_service"),
        "{test}"
    );
    let ch = app.get_json(&format!("/api/v1/channels/{revoked}")).await;
    assert!(
        ch["data"]["last_error"]
            .as_str()
            .unwrap()
            .contains("no_service")
    );
    // The outbox test opens the file for appending.
    let test = app.test_channel(&id).await;
    assert_eq!(test["data"]["ok"], true, "{test}");

    // Disabled after a card was approved to it: the card waits for it.
    let mut desk = Desk::new(&app).await;
    let c = desk.card("feat: add CSV export").await;
    let soon = covalynce_domain::time::format_rfc3339(covalynce_domain::now_millis() + 1500);
    let r = app
        .post_json(
            &format!("/api/v1/cards/{c}/approve"),
            &json!({"channels": [id], "publish_at": soon}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let r = app
        .post_json(&format!("/api/v1/channels/{id}/disable"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["data"]["status"],
        "disabled"
    );
    app.eventually("the publish job ran and held it", || async {
        app.get_json("/api/v1/jobs").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|j| j["kind"] == "publish" && j["status"] == "done")
    })
    .await;
    assert_eq!(card(&app, &c).await["publications"][0]["status"], "queued");
    assert!(!path.exists() || std::fs::read_to_string(&path).unwrap().is_empty());
    // Enabled: what waited goes out, once.
    let r = app
        .post_json(&format!("/api/v1/channels/{id}/enable"), &json!({}))
        .await;
    assert_eq!(r.json::<Value>().await.unwrap()["data"]["status"], "active");
    settled(&app, &c, "published").await;
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);

    // Deleted: gone from the list, 404 afterwards, credentials erased; history stays.
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/channels/{revoked}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        app.get(&format!("/api/v1/channels/{revoked}"))
            .await
            .status(),
        404
    );
    let again = app
        .client
        .delete(app.url(&format!("/api/v1/channels/{revoked}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let stored = app
        .store
        .channel(covalynce_domain::ChannelId::parse(&revoked).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.sealed_credentials.is_none(), "credentials erased");
    assert_eq!(
        app.get_json("/api/v1/channels").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        card(&app, &c).await["publications"][0]["status"],
        "published"
    );

    // Bad input: clear problems, nothing stored.
    for (body, why) in [
        (json!({"kind": "myspace"}), "kind must be one of"),
        (json!({"kind": "bluesky"}), "identifier is required"),
        (
            json!({"kind": "bluesky", "identifier": "ada.bsky.social"}),
            "app_password is required",
        ),
        (json!({"kind": "mastodon"}), "instance is required"),
        (
            json!({"kind": "mastodon", "instance": "https://example.com"}),
            "access_token is required",
        ),
        (
            json!({"kind": "outbox", "path": "/home/covalynce/.bashrc"}),
            "no longer take a path on the server: name a file instead",
        ),
        (
            json!({"kind": "outbox", "file": "../../.bashrc"}),
            "plain file name",
        ),
        (json!({"kind": "outbox", "variant": "fax"}), "variant"),
        (json!({"kind": "outbox", "daily_cap": 0}), "daily_cap"),
        (json!({"kind": "outbox", "name": "  "}), "name"),
        (json!({"kind": "slack"}), "webhook_url is required"),
        (
            json!({"kind": "discord", "webhook_url": format!("{}/not-a-webhook", slack.base)}),
            "Discord webhook URL",
        ),
        (
            json!({"kind": "webhook", "url": "https://example.com/h", "secret": ""}),
            "secret",
        ),
    ] {
        let r = app.post_json("/api/v1/channels", &body).await;
        assert_eq!(r.status(), 422, "{body}");
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains(why), "{body}: {p}");
    }
    for action in ["test", "disable", "enable"] {
        let r = app
            .post_json(&format!("/api/v1/channels/nope/{action}"), &json!({}))
            .await;
        assert_eq!(r.status(), 404, "{action}");
    }
    // Another workspace sees none of it.
    let other = app.token_for("other").await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/channels/{id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        app.get_json("/api/v1/channels").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

async fn a_daily_cap_holds_the_rest_until_the_next_day(backend: Backend) {
    let app = spawn_app(backend).await;
    let channel = create_channel(
        &app,
        json!({"kind": "outbox", "file": "capped.jsonl", "daily_cap": 2}),
    )
    .await;
    let path = app.outbox_path("capped.jsonl").await;
    assert_eq!(channel["config"]["daily_cap"], 2);
    let channel = channel["id"].as_str().unwrap().to_owned();
    let mut desk = Desk::new(&app).await;
    let mut cards = Vec::new();
    for n in 0..3 {
        cards.push(desk.card(&format!("feat: add export {n}")).await);
    }
    for c in &cards {
        approve(&app, c, &[&channel]).await;
    }
    app.eventually("two are published", || async {
        let mut published = 0;
        for c in &cards {
            if card(&app, c).await["status"] == "published" {
                published += 1;
            }
        }
        published == 2
    })
    .await;
    app.eventually("the third is held with the reason", || async {
        let mut held = 0;
        for c in &cards {
            let one = card(&app, c).await;
            let p = &one["publications"][0];
            if p["status"] == "queued"
                && p["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("daily cap of 2"))
            {
                held += 1;
            }
        }
        held == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
    let ch = app.get_json(&format!("/api/v1/channels/{channel}")).await;
    assert_eq!(ch["data"]["sent_today"], 2);
    // Its job waits for the next UTC day.
    let jobs = app.get_json("/api/v1/jobs?status=queued").await;
    let waiting: Vec<&Value> = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "publish")
        .collect();
    assert_eq!(waiting.len(), 1, "{jobs}");
    let run_at = waiting[0]["run_at"].as_str().unwrap();
    let tomorrow = (covalynce_domain::now_millis() / 86_400_000 + 1) * 86_400_000;
    assert_eq!(
        run_at,
        covalynce_domain::time::format_rfc3339(tomorrow),
        "due at the next midnight UTC"
    );
    app.stop().await;
}

async fn a_card_published_to_some_channels_but_not_others_is_partial(backend: Backend) {
    let app = spawn_app(backend).await;
    let outbox =
        create_channel(&app, json!({"kind": "outbox", "file": "partial.jsonl"})).await["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let slack = FakeSlack::start().await;
    let gone = create_channel(
        &app,
        json!({"kind": "slack", "webhook_url": slack.hook(SlackHook::ChannelGone)}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut desk = Desk::new(&app).await;
    let c = desk.card("feat: add CSV export").await;
    approve(&app, &c, &[&outbox, &gone]).await;
    let partial = settled(&app, &c, "partial").await;
    let by_channel = |id: &str| {
        partial["publications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["channel_id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(by_channel(&outbox)["status"], "published");
    let failed = by_channel(&gone);
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("channel_not_found")
    );
    // Listing by status finds it.
    let list = app.get_json("/api/v1/cards?status=partial").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], c.as_str());
    app.stop().await;
}

/// The credential URLs of Slack and Discord channels and webhook signing secrets appear in
/// no log line and nowhere in the database file, whatever happens to the posts.
mod secrets {
    use super::*;
    use crate::helpers::{covalynce_cmd, serve_process};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_reach_the_logs_or_the_database_file_in_plain_text() {
        crate::helpers::bounded(120, story()).await
    }

    async fn story() {
        let (url, dir) = covalynce_storage::testing::fresh_database(Backend::Sqlite).await;
        assert!(url.is_none());
        let (mut server, base) = serve_process(&dir, None, &["--allow-private-targets"]).await;
        let out = covalynce_cmd(&dir, None)
            .args(["token", "create", "--workspace", "acme"])
            .output()
            .unwrap();
        let token = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned();
        let client = reqwest::Client::new();
        let post = |path: String, body: Value| {
            let (client, token, base) = (&client, &token, &base);
            async move {
                client
                    .post(format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let slack = FakeSlack::start().await;
        let discord = FakeDiscord::start(5, Duration::from_secs(1)).await;
        let receiver = Receiver::start().await;
        let live = slack.hook(SlackHook::Live);
        let revoked = slack.hook(SlackHook::Revoked);
        let gone = discord.webhook("900000000000000003");
        discord.delete(&gone);
        let webhook_secret = "whsec-do-not-leak-0123456789abcdef";
        let mut secrets: Vec<String> = [&live, &revoked, &gone]
            .iter()
            .map(|u| u.rsplit('/').next().unwrap().to_owned())
            .collect();
        secrets.push(webhook_secret.to_owned());
        let mut channels = Vec::new();
        for body in [
            json!({"kind": "slack", "webhook_url": live}),
            json!({"kind": "slack", "webhook_url": revoked}),
            json!({"kind": "discord", "webhook_url": gone}),
            json!({"kind": "webhook", "url": format!("{}/in", receiver.base), "secret": webhook_secret}),
        ] {
            let r = post("/api/v1/channels".into(), body).await;
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            channels.push(v["data"]["id"].as_str().unwrap().to_owned());
        }
        for id in &channels {
            post(format!("/api/v1/channels/{id}/test"), json!({})).await;
        }
        let src: Value = post(
            "/api/v1/sources".into(),
            json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": SECRET}),
        )
        .await
        .json()
        .await
        .unwrap();
        let hook = src["data"]["webhook_url"].as_str().unwrap();
        let mut v: Value =
            serde_json::from_slice(&push_of_commit(&format!("{:040x}", 77))).unwrap();
        v["commits"][0]["message"] = "feat: add CSV export".into();
        v["commits"][0]["added"] = json!(["src/lib.rs"]);
        let body = serde_json::to_vec(&v).unwrap();
        let r = client
            .post(format!("{base}{hook}"))
            .header("x-github-event", "push")
            .header("x-github-delivery", "secrets-1")
            .header(
                "x-hub-signature-256",
                covalynce_sources::github::sign(SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202);
        let get = |path: String| {
            let (client, token, base) = (&client, &token, &base);
            async move {
                client
                    .get(format!("{base}{path}"))
                    .bearer_auth(token)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let mut card_id = None;
        for _ in 0..200 {
            let cards = get("/api/v1/cards".into()).await;
            if let Some(id) = cards["data"][0]["id"].as_str() {
                card_id = Some(id.to_owned());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let card_id = card_id.expect("the card is drafted");
        let r = post(
            format!("/api/v1/cards/{card_id}/approve"),
            json!({ "channels": channels }),
        )
        .await;
        assert_eq!(r.status(), 202);
        let mut last = Value::Null;
        for _ in 0..200 {
            last = get(format!("/api/v1/cards/{card_id}")).await;
            if last["data"]["status"] == "partial" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(last["data"]["status"], "partial", "{last}");
        let shown = format!(
            "{last}{}{}",
            get("/api/v1/channels".into()).await,
            get("/api/v1/jobs".into()).await
        );
        server.terminate();
        let log = server.stderr();
        assert!(
            log.contains("channel broken"),
            "the failures were logged:\n{log}"
        );
        let mut stored = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("covalynce.db")
            {
                stored.extend(std::fs::read(&path).unwrap());
            }
        }
        assert!(stored.len() > 4096, "the database was read");
        let stored = String::from_utf8_lossy(&stored);
        for secret in &secrets {
            assert!(
                !log.contains(secret.as_str()),
                "{secret} in the log:\n{log}"
            );
            assert!(
                !stored.contains(secret.as_str()),
                "{secret} in the database file"
            );
            assert!(
                !shown.contains(secret.as_str()),
                "{secret} in an API answer"
            );
        }
    }
}

/// A release's Discord message carries its image as the message's attachment, described
/// by its alt text, in the one request that makes the message.
async fn a_release_message_on_discord_carries_its_image_as_an_attachment(backend: Backend) {
    let app = spawn_app(backend).await;
    let discord = FakeDiscord::start(5, Duration::from_secs(2)).await;
    let hook = discord.webhook("900000000000000007");
    let channel = create_channel(&app, json!({"kind": "discord", "webhook_url": hook})).await;
    let id = channel["id"].as_str().unwrap().to_owned();
    let card = crate::changelog::release(
        &app,
        "v8.0.0",
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await;
    approve(&app, &card, &[&id]).await;
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");
    let attachments = discord.attachments();
    assert_eq!(attachments.len(), 1, "one message, one image");
    let (_, name, description, png) = &attachments[0];
    assert_eq!(name, "release.png");
    assert!(description.starts_with("rocket v8.0.0: "), "{description}");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // "Send test" is words only.
    app.test_channel(&id).await;
    assert_eq!(discord.attachments().len(), 1);
    app.stop().await;
}

/// Slack's incoming webhooks take no files: a release message shows its image by its
/// public address — signed, so only this server makes one, and only for a card approved
/// for publishing. Without a public address the message is text.
async fn a_release_message_on_slack_shows_its_image_from_a_signed_public_address(backend: Backend) {
    let app = crate::helpers::spawn_app_with(backend, |c| {
        c.security.public_url = Some("https://covalynce.example.com".into());
    })
    .await;
    let slack = FakeSlack::start().await;
    let channel = create_channel(
        &app,
        json!({"kind": "slack", "webhook_url": slack.hook(SlackHook::Live)}),
    )
    .await;
    let id = channel["id"].as_str().unwrap().to_owned();
    let card = crate::changelog::release(
        &app,
        "v9.1.0",
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await;
    approve(&app, &card, &[&id]).await;
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");
    let sent = slack.received()[0].json();
    let image = &sent["blocks"][1];
    assert_eq!(image["type"], "image", "{sent}");
    assert!(
        image["alt_text"]
            .as_str()
            .unwrap()
            .starts_with("rocket v9.1.0: "),
        "{sent}"
    );
    assert!(sent["text"].as_str().is_some(), "a text fallback: {sent}");
    let address = image["image_url"].as_str().unwrap();
    let path = address
        .strip_prefix("https://covalynce.example.com")
        .expect("on the public address");
    assert!(path.starts_with("/images/"), "{path}");
    // Anyone may fetch it, without signing in.
    let r = reqwest::get(app.url(path)).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    // A changed signature, or another card under this one's signature: the same 404.
    let forged = format!("{}0000.png", &path[..path.len() - 8]);
    assert_eq!(reqwest::get(app.url(&forged)).await.unwrap().status(), 404);
    let pending = crate::changelog::release(&app, "v9.2.0", "- fix: more").await;
    let other = path.replace(&card, &pending);
    assert_eq!(reqwest::get(app.url(&other)).await.unwrap().status(), 404);
    app.stop().await;
}
