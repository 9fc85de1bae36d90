//! X, end to end against a local server that answers as X documents (see fakes.rs): a
//! founder connects an account with OAuth 2.0 tokens, approves cards, and each becomes
//! one post — a thread when it is long, its link in a reply when the channel says so.
//! Access tokens expire every two hours and refresh tokens are single-use: however many
//! posts wait, the token is renewed once, and the new tokens are stored (encrypted)
//! before they are used.

use crate::fakes::{FakeX, X_CLIENT};
use crate::helpers::*;
use covalynce_storage::Backend;
use serde_json::{Value, json};
use std::time::Duration;

on_both_backends!(
    an_x_account_posts_threads_with_links_in_replies_once,
    a_drafted_thread_goes_out_post_by_post_and_resumes_where_it_stopped,
    a_thread_cut_off_by_a_crash_says_which_posts_went_out_and_resumes_after_them,
    an_expired_token_is_renewed_once_however_many_posts_wait,
    x_refusals_are_told_in_words_a_founder_understands,
    connect_x_runs_oauth_with_pkce_and_the_channel_renews_itself,
    a_release_post_carries_its_image_with_alt_text,
);

async fn connect(app: &TestApp, fake: &FakeX, extra: Value) -> Value {
    let mut body = json!({"kind": "x", "access_token": "x-access-0", "api_base": fake.base});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let r = app.post_json("/api/v1/channels", &body).await;
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["data"].clone()
}

/// Approving `card` with `body` is refused (409); the problem's words.
async fn refused(app: &TestApp, card: &str, body: Value) -> String {
    let r = app
        .post_json(&format!("/api/v1/cards/{card}/approve"), &body)
        .await;
    assert_eq!(r.status(), 409);
    r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn an_x_account_posts_threads_with_links_in_replies_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let channel = connect(&app, &fake, json!({"thread": true, "link_in_reply": true})).await;
    assert_eq!(channel["kind"], "x");
    assert_eq!(channel["config"]["account"], "adafounder");
    assert!(
        !channel.to_string().contains("x-access-0"),
        "the token is never shown"
    );
    let id = channel["id"].as_str().unwrap().to_owned();
    let test = app.test_channel(&id).await;
    assert_eq!(test["data"]["detail"], "connected as @adafounder on X");
    assert!(fake.tweets().is_empty(), "a test posts nothing");

    // A long text with a link: a thread of sentences, then the link as the last reply.
    let cards = app.pending_cards(1, 1).await;
    let sentence = "The cache now survives restarts, so the second build takes seconds. ";
    let long = format!(
        "{}Read more: https://github.com/Codertocat/Hello-World/releases/tag/v1.0.0",
        sentence.repeat(6)
    );
    app.set_variant(&cards[0], "x", &long).await;
    // Over 280, the channel would cut it into a thread: approving says so and waits for a
    // yes, and nothing is sent meanwhile.
    let why = refused(&app, &cards[0], json!({ "channels": [id] })).await;
    assert!(
        why.contains("too long for one post") && why.contains("as a thread of"),
        "{why}"
    );
    assert_eq!(app.card(&cards[0]).await["status"], "pending");
    let r = app
        .post_json(
            &format!("/api/v1/cards/{}/approve", cards[0]),
            &json!({ "channels": [id], "as_thread": true }),
        )
        .await;
    assert_eq!(r.status(), 202);
    let done = app.settled(&cards[0]).await;
    assert_eq!(done["status"], "published", "{done}");
    let tweets = fake.tweets();
    assert!(tweets.len() >= 3, "{tweets:?}");
    assert_eq!(tweets[0].2, None, "the first post replies to nothing");
    for w in tweets.windows(2) {
        assert_eq!(
            w[1].2.as_deref(),
            Some(w[0].0.as_str()),
            "each part replies to the one before"
        );
    }
    assert_eq!(
        tweets.last().unwrap().1,
        "https://github.com/Codertocat/Hello-World/releases/tag/v1.0.0",
        "the link is alone in the last reply"
    );
    assert!(
        tweets[..tweets.len() - 1]
            .iter()
            .all(|t| !t.1.contains("https://"))
    );
    assert_eq!(
        done["publications"][0]["url"],
        format!("https://x.com/adafounder/status/{}", tweets[0].0)
    );
    let mut expected: Vec<String> = long
        .split_whitespace()
        .filter(|w| !w.starts_with("https://"))
        .map(str::to_owned)
        .collect();
    let last = expected.pop().unwrap();
    expected.push(last.trim_end_matches(':').to_owned());
    let body: Vec<&str> = tweets[..tweets.len() - 1]
        .iter()
        .flat_map(|t| t.1.split_whitespace())
        .collect();
    assert_eq!(body, expected, "nothing dropped or added");
    app.stop().await;
}

/// A release too long for one post is drafted as a numbered thread (posts between `---`
/// lines). Each post goes out as a reply to the one before and is recorded before the next,
/// so a rate limit or an unclear failure part-way never posts the start of the thread twice.
async fn a_drafted_thread_goes_out_post_by_post_and_resumes_where_it_stopped(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let channel = connect(&app, &fake, json!({})).await;
    let id = channel["id"].as_str().unwrap().to_owned();
    let thread = |v: &str| {
        [
            format!("✨ Rocket {v} adds CSV export!\n\n1/3"),
            format!("Also in {v}:\n✨ Faster builds\n🐛 Fix the crash on empty files\n\n2/3"),
            format!("https://github.com/acme/rocket/releases/tag/{v}\n\n#rustlang\n\n3/3"),
        ]
    };
    let cards = app.pending_cards(1, 2).await;

    // X's budget runs out after the first post: the thread waits for the reset and goes
    // on from the second post.
    let first = thread("v1.4.0");
    app.set_variant(&cards[0], "x", &first.join("\n\n---\n\n"))
        .await;
    fake.fail_next(&[201, 429]);
    app.approve(&cards[0], &id).await;
    let done = app.settled(&cards[0]).await;
    assert_eq!(done["status"], "published", "{done}");
    let tweets = fake.tweets();
    let texts: Vec<&str> = tweets.iter().map(|t| t.1.as_str()).collect();
    assert_eq!(texts, first, "each post once, as written, in order");
    assert_eq!(tweets[0].2, None);
    assert_eq!(tweets[1].2.as_deref(), Some(tweets[0].0.as_str()));
    assert_eq!(tweets[2].2.as_deref(), Some(tweets[1].0.as_str()));
    assert_eq!(
        done["publications"][0]["url"],
        format!("https://x.com/adafounder/status/{}", tweets[0].0),
        "the thread is seen at its first post"
    );

    // The second post gets no answer X stands behind: the publication is unknown, saying
    // the first post is out. The founder looks, finds only the first, and retries: the
    // thread resumes at post 2, replying to post 1, which is not posted again.
    let second = thread("v1.5.0");
    app.set_variant(&cards[1], "x", &second.join("\n\n---\n\n"))
        .await;
    fake.fail_next(&[201, 502]);
    app.approve(&cards[1], &id).await;
    app.eventually("the publication is unknown", || async {
        app.card(&cards[1]).await["publications"][0]["status"] == "unknown"
    })
    .await;
    let publication = app.card(&cards[1]).await["publications"][0].clone();
    let why = publication["error"].as_str().unwrap();
    assert!(
        why.starts_with("post 1 of 3 is on X (https://x.com/adafounder/status/")
            && why.contains("post 2 may or may not be"),
        "{why}"
    );
    assert_eq!(
        fake.tweets().len(),
        4,
        "three of the first thread, one of this one"
    );
    let pid = publication["id"].as_str().unwrap();
    let r = app
        .post_json(&format!("/api/v1/publications/{pid}/retry"), &json!({}))
        .await;
    assert_eq!(r.status(), 200);
    let done = app.settled(&cards[1]).await;
    assert_eq!(done["status"], "published", "{done}");
    let tweets = fake.tweets();
    let texts: Vec<&str> = tweets[3..].iter().map(|t| t.1.as_str()).collect();
    assert_eq!(texts, second, "post 1 once, then 2 and 3");
    assert_eq!(tweets[4].2.as_deref(), Some(tweets[3].0.as_str()));
    assert_eq!(tweets[5].2.as_deref(), Some(tweets[4].0.as_str()));
    app.stop().await;
}

/// The server is killed (SIGKILL) while X holds the second post of a thread. X takes no
/// idempotency key, so the restarted server does not send again on its own: the publication
/// is unknown and says post 1 went out. The founder looks, finds only post 1, and retries:
/// the thread goes on at post 2, as a reply to post 1, which is not posted again.
async fn a_thread_cut_off_by_a_crash_says_which_posts_went_out_and_resumes_after_them(
    backend: Backend,
) {
    use crate::helpers::serve_process;
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let fake = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let args = ["--allow-private-targets"];
    let (mut server, base) = serve_process(&dir, url.as_deref(), &args).await;
    let api = crate::helpers::Served::new(crate::helpers::cli_token(&dir, url.as_deref(), "acme"));
    let post = reqwest::Method::POST;
    let channel = api
        .channel(
            &base,
            json!({"kind": "x", "access_token": "x-access-0", "api_base": fake.base}),
        )
        .await;
    let card = api.card_from_push(&base, 7, "x-crash-1").await;
    let posts = [
        "✨ Rocket v1.6.0 adds CSV export!\n\n1/3",
        "Also in v1.6.0:\n✨ Faster builds\n\n2/3",
        "https://github.com/acme/rocket/releases/tag/v1.6.0\n\n3/3",
    ];
    let (status, _) = api
        .call(
            reqwest::Method::PATCH,
            &base,
            &format!("/api/v1/cards/{card}"),
            Some(json!({"variants": {"x": posts.join("\n---\n")}})),
        )
        .await;
    assert_eq!(status, 200);
    // Post 1 goes out; X holds post 2 while the server dies.
    fake.fail_next(&[201, 0]);
    let (status, _) = api
        .call(
            post.clone(),
            &base,
            &format!("/api/v1/cards/{card}/approve"),
            Some(json!({"channels": [channel]})),
        )
        .await;
    assert_eq!(status, 202);
    let sent_to_x = || {
        fake.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == "/2/tweets")
            .count()
    };
    for _ in 0..400 {
        if sent_to_x() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(sent_to_x(), 2, "post 2 is on its way to X");
    assert_eq!(fake.tweets().len(), 1);
    server.child.kill().unwrap(); // SIGKILL mid-thread
    server.child.wait().unwrap();

    let (_server, base) = serve_process(&dir, url.as_deref(), &args).await;
    let seen = api
        .card_when(&base, &card, |c| {
            c["publications"][0]["status"] == "unknown"
        })
        .await;
    let publication = seen["publications"][0].clone();
    assert_eq!(publication["status"], "unknown", "{seen}");
    let why = publication["error"].as_str().unwrap();
    assert!(
        why.contains("1 post went out, and post 2 may or may not have")
            && why.contains("it resumes at post 2"),
        "{why}"
    );
    let first = fake.tweets()[0].0.clone();
    assert_eq!(
        publication["url"],
        format!("https://x.com/adafounder/status/{first}")
    );
    assert_eq!(fake.tweets().len(), 1, "nothing was sent again on its own");

    // The founder finds only post 1 on X and retries: posts 2 and 3 go out after it.
    let pid = publication["id"].as_str().unwrap();
    let (status, _) = api
        .call(
            post,
            &base,
            &format!("/api/v1/publications/{pid}/retry"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let seen = api
        .card_when(&base, &card, |c| c["status"] == "published")
        .await;
    assert_eq!(seen["status"], "published", "{seen}");
    let tweets = fake.tweets();
    let texts: Vec<&str> = tweets.iter().map(|t| t.1.as_str()).collect();
    assert_eq!(texts, posts, "each post once, in order");
    assert_eq!(tweets[1].2.as_deref(), Some(first.as_str()));
    assert_eq!(tweets[2].2.as_deref(), Some(tweets[1].0.as_str()));
}

async fn an_expired_token_is_renewed_once_however_many_posts_wait(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let channel = connect(
        &app,
        &fake,
        json!({"refresh_token": "x-refresh-0", "client_id": X_CLIENT, "expires_in": 7200}),
    )
    .await;
    assert_eq!(channel["config"]["renewable"], true);
    let id = channel["id"].as_str().unwrap().to_owned();

    // Two hours later, three approved cards wait on two workers: one renewal, all posted.
    // (Five cards in all: the workspace's plan drafts five a month.)
    fake.expire_access();
    let cards = app.pending_cards(1, 3).await;
    for (k, c) in cards.iter().enumerate() {
        app.set_variant(c, "x", &format!("Release {k}: faster builds."))
            .await;
    }
    for c in &cards {
        app.approve(c, &id).await;
    }
    for c in &cards {
        let done = app.settled(c).await;
        assert_eq!(done["status"], "published", "{done}");
    }
    assert_eq!(fake.refreshes(), 1, "renewed once, not once per post");
    assert!(!fake.family_revoked(), "no refresh token was spent twice");
    assert_eq!(fake.tweets().len(), 3);
    let refreshed: Vec<_> = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/2/oauth2/token")
        .cloned()
        .collect();
    assert_eq!(refreshed.len(), 1);
    assert!(refreshed[0].body.contains("refresh_token=x-refresh-0"));
    assert!(refreshed[0].body.contains("grant_type=refresh_token"));
    // The next posts use the new token; the new refresh token is stored, encrypted.
    let posts = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.path == "/2/tweets" && r.header("authorization") == Some("Bearer x-access-1"))
        .count();
    assert_eq!(posts, 3, "every post used the renewed token");
    let stored = app
        .store
        .channel(covalynce_domain::ChannelId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.sealed_credentials.unwrap();
    assert!(
        !String::from_utf8_lossy(&sealed).contains("x-refresh-1"),
        "sealed, not plain"
    );
    let expires = stored.config.expires_at().unwrap();
    assert!(
        expires > covalynce_domain::now_millis() + 3_600_000,
        "the new expiry is kept"
    );
    assert_eq!(fake.current_refresh().as_deref(), Some("x-refresh-1"));

    // Two more hours: the stored (rotated) refresh token renews again.
    fake.expire_access();
    let more = app.pending_cards(4, 1).await;
    app.set_variant(&more[0], "x", "Release 5: even faster builds.")
        .await;
    app.approve(&more[0], &id).await;
    assert_eq!(app.settled(&more[0]).await["status"], "published");
    assert_eq!(fake.refreshes(), 2);
    assert!(!fake.family_revoked());

    // The founder revokes the app on X: the renewal is refused, the channel stops with
    // X's words and asks to be connected again; nothing else is sent to it.
    fake.revoke();
    let last = app.pending_cards(5, 1).await;
    app.set_variant(&last[0], "x", "Release 6: smaller binaries.")
        .await;
    app.approve(&last[0], &id).await;
    let failed = app.settled(&last[0]).await;
    assert_eq!(failed["status"], "failed");
    let why = failed["publications"][0]["error"].as_str().unwrap();
    assert!(
        why.contains("Value passed for the token was invalid") && why.contains("connect X again"),
        "{why}"
    );
    let listed = app.get_json("/api/v1/channels").await;
    let ch = &listed["data"][0];
    assert_eq!(ch["status"], "disabled");
    assert!(
        ch["last_error"]
            .as_str()
            .unwrap()
            .contains("connect X again")
    );
    app.stop().await;
}

async fn x_refusals_are_told_in_words_a_founder_understands(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let channel = connect(&app, &fake, json!({})).await;
    assert_eq!(
        channel["config"]["renewable"], false,
        "no refresh token given"
    );
    let id = channel["id"].as_str().unwrap().to_owned();
    let cards = app.pending_cards(1, 3).await;

    // The same text twice: X refuses the second as a duplicate, and the card says so.
    app.set_variant(&cards[0], "x", "Faster builds are out.")
        .await;
    app.set_variant(&cards[1], "x", "Faster builds are out.")
        .await;
    app.approve(&cards[0], &id).await;
    assert_eq!(app.settled(&cards[0]).await["status"], "published");
    app.approve(&cards[1], &id).await;
    let dup = app.settled(&cards[1]).await;
    assert_eq!(dup["status"], "failed");
    let why = dup["publications"][0]["error"].as_str().unwrap();
    assert!(why.starts_with("X refuses duplicate posts"), "{why}");
    assert!(
        why.contains("You are not allowed to create a Tweet with duplicate content."),
        "X's own words: {why}"
    );

    // Too long for one post on a channel without threads: refused when approved, before
    // anything could be sent, even when a thread is offered.
    let before = fake.log.lock().unwrap().len();
    app.set_variant(&cards[2], "x", &"Faster builds for everyone. ".repeat(12))
        .await;
    for body in [
        json!({ "channels": [id] }),
        json!({ "channels": [id], "as_thread": true }),
    ] {
        let why = refused(&app, &cards[2], body).await;
        assert!(
            why.contains("X takes 280") && why.contains("threads"),
            "{why}"
        );
    }
    assert_eq!(app.card(&cards[2]).await["status"], "pending");
    assert_eq!(fake.log.lock().unwrap().len(), before, "nothing was sent");

    // Expired with nothing to renew it: the channel stops and asks to connect again.
    fake.expire_access();
    let more = app.pending_cards(4, 1).await;
    app.set_variant(&more[0], "x", "Smaller binaries are out.")
        .await;
    app.approve(&more[0], &id).await;
    let expired = app.settled(&more[0]).await;
    assert_eq!(expired["status"], "failed");
    let why = expired["publications"][0]["error"].as_str().unwrap();
    assert!(
        why.contains("X refused the access token") && why.contains("connect X again"),
        "{why}"
    );
    assert_eq!(
        app.get_json("/api/v1/channels").await["data"][0]["status"],
        "disabled"
    );
    assert_eq!(fake.refreshes(), 0);
    app.stop().await;
}

async fn connect_x_runs_oauth_with_pkce_and_the_channel_renews_itself(backend: Backend) {
    use base64::Engine;
    use sha2::Digest;
    let fake = FakeX::start("unused", Duration::from_secs(7200), "unused-refresh").await;
    let base = fake.base.clone();
    let app = spawn_app_with(backend, move |c| {
        c.security.x = Some(covalynce::auth::OAuthApp {
            client_id: X_CLIENT.into(),
            client_secret: String::new(),
            web_base: base.clone(),
            api_base: base,
        })
    })
    .await;
    let owner =
        crate::accounts::Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"}))
            .await;
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = plain
        .get(app.url("/channels"))
        .header("cookie", owner.cookie())
        .send()
        .await
        .unwrap();
    assert!(
        page.text().await.unwrap().contains("/channels/x/connect"),
        "the button shows"
    );
    let (to, q, cookies) = owner.start_connect("/channels/x/connect").await;
    assert!(
        to.as_str()
            .starts_with(&format!("{}/i/oauth2/authorize?", fake.base))
    );
    // media.write: release posts carry their image.
    assert_eq!(
        q["scope"],
        "tweet.read tweet.write users.read offline.access media.write"
    );
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], X_CLIENT);
    assert_eq!(q["code_challenge"].len(), 43, "base64url of a SHA-256");
    fake.authorized(&q["code_challenge"]);
    let forged = owner
        .callback("/channels/x/callback?code=good-code&state=forged", &cookies)
        .await;
    assert_eq!(forged.status(), 400);
    // A forged "declined" answer is not this browser's flow either: refused, its words
    // not shown, the flow left to finish.
    let declined = owner
        .callback(
            "/channels/x/callback?error=access_denied&state=forged",
            &cookies,
        )
        .await;
    assert_eq!(declined.status(), 400);
    assert!(!declined.text().await.unwrap().contains("access_denied"));
    let back = owner
        .callback(
            &format!("/channels/x/callback?code=good-code&state={}", q["state"]),
            &cookies,
        )
        .await;
    assert_eq!(back.status(), 200);
    let html = back.text().await.unwrap();
    assert!(html.contains("Connected X as @adafounder."), "{html}");
    assert!(!html.contains("x-access-oauth") && !html.contains("x-refresh-oauth"));
    // The code was traded with the verifier whose challenge X saw (the fake checks it).
    let exchange = fake
        .log
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.path == "/2/oauth2/token")
        .cloned()
        .unwrap();
    let form: std::collections::HashMap<String, String> =
        serde_urlencoded::from_str(&exchange.body).unwrap();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(form["code_verifier"].as_bytes()));
    assert_eq!(challenge, q["code_challenge"]);
    let (_, channels) = owner
        .send(axum::http::Method::GET, "/api/v1/channels", None)
        .await;
    let ch = &channels["data"][0];
    assert_eq!(ch["kind"], "x");
    assert_eq!(
        ch["config"]["renewable"], true,
        "a refresh token and the operator's client"
    );
    assert_eq!(ch["config"]["client_id"], X_CLIENT);
    app.stop().await;
}

/// A release's first post carries its image: uploaded, its alt text set, attached by id.
async fn a_release_post_carries_its_image_with_alt_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let fake = FakeX::start("x-access-0", Duration::from_secs(7200), "x-refresh-0").await;
    let channel = connect(&app, &fake, json!({"thread": true})).await;
    let id = channel["id"].as_str().unwrap().to_owned();
    let card = crate::changelog::release(
        &app,
        "v6.0.0",
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({"channels": [id], "as_thread": true}),
        )
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");
    let tweets = fake.tweets();
    let (first, _, _) = &tweets[0];
    let media = fake.media_of(first);
    assert_eq!(media.len(), 1, "one image on the first post");
    let (png, alt) = &media[0];
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(
        alt.as_deref()
            .unwrap_or_default()
            .starts_with("rocket v6.0.0: "),
        "{alt:?}"
    );
    for (reply, _, _) in &tweets[1..] {
        assert!(fake.media_of(reply).is_empty(), "only the first post");
    }
    assert_eq!(fake.uploads(), 1);
    app.stop().await;
}
