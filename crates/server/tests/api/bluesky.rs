//! Bluesky, end to end against a real PDS (`@atproto/pds` on loopback, see pds.rs): a
//! founder connects a handle with an app password, approves cards, and each becomes one
//! post — links and hashtags as facets at their byte offsets, the post's key chosen from
//! the publication so a lost answer is looked up instead of posted twice. The session is
//! kept and renewed (`refreshSession`); signing in again is only the fallback, and a
//! revoked app password stops the channel with words a founder can act on.

use crate::accounts::Browser;
use crate::helpers::*;
use crate::pds::{Account, Fault, Wire};
use covalynce_app::secrets::SecretBox;
use covalynce_domain::ChannelId;
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    a_bluesky_account_posts_each_card_once_even_when_answers_are_lost,
    a_thread_goes_out_as_replies_each_post_once_with_its_root_and_parent,
    a_refused_session_is_renewed_once_and_a_revoked_app_password_stops_the_channel,
    a_release_posts_with_its_image_and_alt_text_once_even_when_answers_are_lost,
);

const SIGN_IN: &str = "com.atproto.server.createSession";
const RENEW: &str = "com.atproto.server.refreshSession";
/// A JWT the PDS did not sign.
const SPOILT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6ImNvbS5hdHByb3RvLmFwcFBhc3MifQ.spoilt";

async fn connect(app: &TestApp, wire: &Wire, handle: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/v1/channels",
        &json!({"kind": "bluesky", "service": wire.base, "identifier": handle, "app_password": password}),
    )
    .await
}

async fn connected(app: &TestApp, wire: &Wire, ada: &Account) -> (String, String) {
    let password = ada.app_password("covalynce").await;
    let r = connect(app, wire, &format!("@{}", ada.handle), &password).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let channel: Value = r.json::<Value>().await.unwrap()["data"].clone();
    (channel["id"].as_str().unwrap().to_owned(), password)
}

fn detail(v: &Value) -> &str {
    v["detail"].as_str().unwrap_or_default()
}

async fn a_bluesky_account_posts_each_card_once_even_when_answers_are_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let wire = Wire::start().await;
    let ada = Account::create("ada").await;

    // Only app passwords are kept: the account's own password is refused, and a wrong one
    // is refused in Bluesky's words.
    let r = connect(&app, &wire, &ada.handle, &ada.password).await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert!(detail(&p).contains("account's own password"), "{p}");
    let r = connect(&app, &wire, &ada.handle, "aaaa-bbbb-cccc-dddd").await;
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert!(
        detail(&p).contains("refused the handle and app password")
            && detail(&p).contains("Invalid identifier or password"),
        "{p}"
    );
    assert!(
        app.get_json("/api/v1/channels").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let (id, password) = connected(&app, &wire, &ada).await;
    let view = app.get_json("/api/v1/channels").await["data"][0].clone();
    assert_eq!(view["kind"], "bluesky");
    assert_eq!(view["config"]["account"], ada.handle.as_str());
    assert_eq!(view["config"]["did"], ada.did.as_str());
    assert_eq!(view["config"]["renewable"], true);
    let expires = view["config"]["expires_at"].as_i64().unwrap();
    let now = covalynce_domain::now_millis();
    assert!(
        expires > now + 3_600_000 && expires <= now + 7_200_000,
        "the access token's own two hours: {expires}"
    );
    assert!(!view.to_string().contains(&password), "never shown");
    let stored = app
        .store
        .channel(ChannelId::parse(&id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.sealed_credentials.unwrap();
    assert!(
        !sealed
            .windows(password.len())
            .any(|w| w == password.as_bytes()),
        "the app password is stored encrypted"
    );
    let test = app.test_channel(&id).await;
    assert_eq!(
        test["data"]["detail"],
        format!("connected as @{} on Bluesky", ada.handle)
    );
    assert!(ada.posts().await.is_empty(), "a test posts nothing");

    // A post with an emoji, a link and a hashtag: facets at UTF-8 byte offsets.
    let cards = app.pending_cards(1, 4).await;
    let link = "https://github.com/Codertocat/Hello-World/releases/tag/v1.0.0";
    let text = format!("Exports ship 🚀: CSV in one click. {link} #buildinpublic");
    app.set_variant(&cards[0], "bluesky", &text).await;
    app.approve(&cards[0], &id).await;
    let done = app.settled(&cards[0]).await;
    assert_eq!(done["status"], "published", "{done}");
    let posts = ada.posts().await;
    assert_eq!(posts.len(), 1);
    let (rkey, record) = &posts[0];
    assert_eq!(record["text"], text.as_str());
    assert_eq!(
        done["publications"][0]["url"],
        format!("https://bsky.app/profile/{}/post/{rkey}", ada.handle)
    );
    let facets = record["facets"].as_array().unwrap();
    let span = |f: &Value| {
        let (s, e) = (
            f["index"]["byteStart"].as_u64().unwrap() as usize,
            f["index"]["byteEnd"].as_u64().unwrap() as usize,
        );
        String::from_utf8(text.as_bytes()[s..e].to_vec()).unwrap()
    };
    assert_eq!(facets.len(), 2, "{facets:?}");
    assert_eq!(span(&facets[0]), link);
    assert_eq!(facets[0]["features"][0]["uri"], link);
    assert_eq!(span(&facets[1]), "#buildinpublic");
    assert_eq!(facets[1]["features"][0]["tag"], "buildinpublic");

    // The PDS made the post but its answer was lost: the post is found by its key.
    let lookups = wire.calls("com.atproto.repo.getRecord");
    wire.fail_next(&[Fault::LoseAnswer]);
    app.set_variant(&cards[1], "bluesky", "Second: imports too.")
        .await;
    app.approve(&cards[1], &id).await;
    assert_eq!(app.settled(&cards[1]).await["status"], "published");
    assert_eq!(wire.calls("com.atproto.repo.getRecord"), lookups + 1);

    // The request never arrived: the lookup finds nothing, and it is sent again.
    wire.fail_next(&[Fault::Drop]);
    app.set_variant(&cards[2], "bluesky", "Third: dark mode.")
        .await;
    app.approve(&cards[2], &id).await;
    assert_eq!(app.settled(&cards[2]).await["status"], "published");

    // Sent twice (a retry after a crash): the PDS refuses the taken key, and the post is
    // found rather than made again.
    wire.fail_next(&[Fault::Repeat]);
    app.set_variant(&cards[3], "bluesky", "Fourth: faster search.")
        .await;
    app.approve(&cards[3], &id).await;
    let done = app.settled(&cards[3]).await;
    assert_eq!(done["status"], "published", "{done}");

    let texts: Vec<String> = ada
        .posts()
        .await
        .iter()
        .map(|(_, r)| r["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 4, "one post per card: {texts:?}");
    for t in [
        "Second: imports too.",
        "Third: dark mode.",
        "Fourth: faster search.",
    ] {
        assert_eq!(texts.iter().filter(|x| *x == t).count(), 1, "{t}");
    }
    assert_eq!(wire.calls(SIGN_IN), 3, "signed in once, at connection");
    assert_eq!(wire.calls(RENEW), 0, "the session was still good");
    let view = app.get_json("/api/v1/channels").await["data"][0].clone();
    assert!(view["last_success_at"].is_string(), "{view}");
    assert!(view["last_error"].is_null(), "{view}");
    app.stop().await;
}

/// A drafted thread on a real PDS: every later post is a reply naming the first as its
/// root and the one before as its parent (URI and CID), and a lost answer part-way is looked
/// up by the post's fixed key rather than posted again.
async fn a_thread_goes_out_as_replies_each_post_once_with_its_root_and_parent(backend: Backend) {
    let app = spawn_app(backend).await;
    let wire = Wire::start().await;
    let ada = Account::create("ada").await;
    let (id, _) = connected(&app, &wire, &ada).await;
    let cards = app.pending_cards(1, 1).await;
    let posts = [
        "🚀 Rocket v1.4.0 adds CSV export!\n\n1/3",
        "✨ Faster builds\n🐛 Fix the crash on empty files\n\n2/3",
        "https://github.com/acme/rocket/releases/tag/v1.4.0\n\n#rustlang\n\n3/3",
    ];
    app.set_variant(&cards[0], "bluesky", &posts.join("\n\n---\n\n"))
        .await;
    wire.fail_next(&[Fault::Pass, Fault::LoseAnswer]);
    app.approve(&cards[0], &id).await;
    let done = app.settled(&cards[0]).await;
    assert_eq!(done["status"], "published", "{done}");

    let mut made = ada.posts().await;
    made.sort_by(|a, b| a.0.cmp(&b.0));
    let texts: Vec<&str> = made
        .iter()
        .map(|(_, r)| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts, posts,
        "each post once, in order (keys sort as the thread)"
    );
    let uri = |rkey: &str| format!("at://{}/app.bsky.feed.post/{rkey}", ada.did);
    let (first, second) = (&made[0].0, &made[1].0);
    assert!(
        made[0].1.get("reply").is_none(),
        "the first post starts the thread"
    );
    for (n, parent) in [(1, first), (2, second)] {
        let reply = &made[n].1["reply"];
        assert_eq!(reply["root"]["uri"], uri(first), "post {}: {reply}", n + 1);
        assert_eq!(
            reply["parent"]["uri"],
            uri(parent),
            "post {}: {reply}",
            n + 1
        );
        assert!(
            reply["root"]["cid"].as_str().is_some_and(|c| c.len() > 20),
            "{reply}"
        );
        assert!(
            reply["parent"]["cid"]
                .as_str()
                .is_some_and(|c| c.len() > 20),
            "{reply}"
        );
    }
    assert_eq!(
        done["publications"][0]["url"],
        format!("https://bsky.app/profile/{}/post/{first}", ada.handle),
        "the thread is seen at its first post"
    );
    app.stop().await;
}

/// The channel's stored credentials, unsealed with the server's key; and the channel.
async fn stored_secrets(app: &TestApp, id: &str) -> (Value, covalynce_storage::ChannelRecord) {
    let key = SecretBox::load(None, &app.data_dir).unwrap();
    let channel = app
        .store
        .channel(ChannelId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap();
    let sealed = channel.sealed_credentials.as_deref().unwrap();
    (
        serde_json::from_slice(&key.open(sealed).unwrap()).unwrap(),
        channel,
    )
}

/// Replaces the stored access token, as if two hours had passed (the PDS answers a token
/// it cannot verify with 400 `InvalidToken`, as it answers an expired one with
/// `ExpiredToken`). The credentials as they were.
async fn spoil_access_token(app: &TestApp, id: &str) -> Value {
    let (before, channel) = stored_secrets(app, id).await;
    let mut secrets = before.clone();
    secrets["access_jwt"] = json!(SPOILT);
    let key = SecretBox::load(None, &app.data_dir).unwrap();
    let resealed = key.seal(&serde_json::to_vec(&secrets).unwrap());
    let sealed = channel.sealed_credentials.unwrap();
    assert!(
        app.store
            .rotate_credentials(channel.id, &sealed, &resealed, &channel.config)
            .await
            .unwrap()
    );
    before
}

async fn a_refused_session_is_renewed_once_and_a_revoked_app_password_stops_the_channel(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let wire = Wire::start().await;
    let ada = Account::create("ada").await;
    let (id, _) = connected(&app, &wire, &ada).await;
    let cards = app.pending_cards(1, 3).await;

    // The access token is refused: the session is renewed once (not signed in again),
    // the rotated refresh token is stored, and the post goes out. 300 graphemes of two
    // code points each fit Bluesky's limit, which counts what a reader sees.
    let before = spoil_access_token(&app, &id).await;
    let accents = "e\u{301}".repeat(300);
    app.set_variant(&cards[0], "bluesky", &accents).await;
    app.approve(&cards[0], &id).await;
    let done = app.settled(&cards[0]).await;
    assert_eq!(done["status"], "published", "{done}");
    assert_eq!(ada.posts().await[0].1["text"], accents.as_str());
    assert_eq!(wire.calls(RENEW), 1);
    assert_eq!(wire.calls(SIGN_IN), 1, "only the connection signed in");
    let (after, _) = stored_secrets(&app, &id).await;
    assert_ne!(
        after["refresh_jwt"], before["refresh_jwt"],
        "rotated and stored"
    );
    // (An access token issued in the same second as the first can equal it: no nonce.)
    assert_ne!(after["access_jwt"], SPOILT);
    assert_eq!(
        covalynce_publishing::bluesky::jwt_expiry(after["access_jwt"].as_str().unwrap())
            .map(|exp| exp > covalynce_domain::now_millis() + 3_600_000),
        Some(true),
        "a real access token from the PDS"
    );

    // "Test" on a session that has run out renews it too, instead of reporting a fault.
    spoil_access_token(&app, &id).await;
    let test = app.test_channel(&id).await;
    assert_eq!(test["data"]["ok"], true, "{test}");
    assert_eq!((wire.calls(RENEW), wire.calls(SIGN_IN)), (2, 1));

    // The next post uses the stored session as it is.
    app.set_variant(
        &cards[1],
        "bluesky",
        "Faster builds: the cache survives restarts.",
    )
    .await;
    app.approve(&cards[1], &id).await;
    assert_eq!(app.settled(&cards[1]).await["status"], "published");
    assert_eq!((wire.calls(RENEW), wire.calls(SIGN_IN)), (2, 1));

    // The founder revokes the app password: renewing is refused, signing in again is
    // refused, and the channel stops with what to do.
    ada.revoke_app_password("covalynce").await;
    spoil_access_token(&app, &id).await;
    app.set_variant(&cards[2], "bluesky", "Search got faster.")
        .await;
    app.approve(&cards[2], &id).await;
    let done = app.settled(&cards[2]).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["publications"][0]["error"].as_str().unwrap();
    assert!(
        error.contains("create a new app password")
            && error.contains("Invalid identifier or password"),
        "{error}"
    );
    assert_eq!(wire.calls(SIGN_IN), 2, "one sign-in, not one per attempt");
    let view = app.get_json("/api/v1/channels").await["data"][0].clone();
    assert_eq!(view["status"], "disabled", "{view}");
    assert!(
        view["last_error"]
            .as_str()
            .unwrap()
            .contains("app password"),
        "{view}"
    );
    assert_eq!(ada.posts().await.len(), 2);

    // The Channels page connects Bluesky too, and says the channel renews itself.
    let owner = Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"})).await;
    let password = ada.app_password("covalynce-web").await;
    let page = owner
        .form(
            "/channels",
            &[
                ("kind", "bluesky"),
                ("identifier", ada.handle.as_str()),
                ("app_password", password.as_str()),
                ("service", wire.base.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Connected Bluesky."), "{}", page.html);
    assert!(page.html.contains(&ada.handle));
    assert!(page.html.contains("renews its token itself"));
    assert!(!page.html.contains(&password), "never shown again");
    let wrong = owner
        .form(
            "/channels",
            &[
                ("kind", "bluesky"),
                ("identifier", ada.handle.as_str()),
                ("app_password", "aaaa-bbbb-cccc-dddd"),
                ("service", wire.base.as_str()),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422);
    assert!(
        wrong.html.contains("create a new app password"),
        "{}",
        wrong.html
    );
    app.stop().await;
}

/// A release's post carries its image — uploaded as a blob, embedded with its alt text
/// and shape — and a lost answer to the upload or to the post makes neither twice.
async fn a_release_posts_with_its_image_and_alt_text_once_even_when_answers_are_lost(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let wire = Wire::start().await;
    let ada = Account::create("ada").await;
    let (id, _) = connected(&app, &wire, &ada).await;
    let card = crate::changelog::release(
        &app,
        "v4.0.0",
        "- feat: export invoices as CSV\n- fix: totals round once",
    )
    .await;
    wire.fail_next_upload(&[Fault::LoseAnswer]);
    wire.fail_next(&[Fault::LoseAnswer]);
    app.approve(&card, &id).await;
    let done = app.settled(&card).await;
    assert_eq!(done["status"], "published", "{done}");

    let made = ada.posts().await;
    assert_eq!(made.len(), 1, "one post: {made:?}");
    let embed = &made[0].1["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.images", "{embed}");
    let image = &embed["images"][0];
    assert!(
        image["alt"]
            .as_str()
            .unwrap()
            .starts_with("rocket v4.0.0: "),
        "{image}"
    );
    assert_eq!(image["aspectRatio"], json!({"width": 1200, "height": 630}));
    assert_eq!(image["image"]["mimeType"], "image/png");
    assert_eq!(
        wire.calls("com.atproto.repo.uploadBlob"),
        2,
        "the upload whose answer was lost was sent again"
    );
    // The blob is the release's PNG.
    let cid = image["image"]["ref"]["$link"].as_str().unwrap();
    let blob = reqwest::get(format!(
        "{}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
        crate::pds::pds(),
        ada.did
    ))
    .await
    .unwrap()
    .bytes()
    .await
    .unwrap();
    assert!(blob.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(&blob[16..24], &[0, 0, 4, 176, 0, 0, 2, 118], "1200×630");
    app.stop().await;
}
