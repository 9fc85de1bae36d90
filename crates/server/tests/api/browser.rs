//! The web UI in a real browser: headless Debian Chromium driven by playwright-core
//! (`e2e/review.mjs`) against the real server, on SQLite and PostgreSQL. The script plays
//! the founder; this side prepares the server and checks what reached the outbox.
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium`) and `e2e/node_modules` (`npm ci`):
//! `scripts/test` installs both. Missing, the test fails and says so (never skips).

use crate::accounts::Browser;
use crate::helpers::*;
use axum::http::{Method, StatusCode};
use covalynce_storage::Backend;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

on_both_backends!(
    a_founder_clears_the_stack_with_keys_and_a_swipe_and_fixes_a_post,
    a_founder_sees_what_each_channel_sends_and_takes_back_what_she_approved,
);

const AI_ANSWER: &str = "Hello-World got a fresh start today: the README is in. Take a look!";

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../e2e")
}

/// Where the screenshots go: `target/screenshots/<backend>/` (look at them after a run).
fn shots_dir(backend: Backend) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots").join(backend.as_str())
}

async fn pending(owner: &Browser<'_>) -> Vec<Value> {
    let (status, body) = owner
        .send(Method::GET, "/api/v1/cards?status=pending", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    body["data"].as_array().cloned().unwrap_or_default()
}

async fn a_founder_clears_the_stack_with_keys_and_a_swipe_and_fixes_a_post(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "founder@example.com", json!({"workspace": "team"})).await;

    // Three shipped changes waiting, and an outbox to publish to.
    let secret = "e2e-webhook-secret";
    let (status, source) = owner
        .send(
            Method::POST,
            "/api/v1/sources",
            Some(json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": secret})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{source}");
    let source = source["data"]["id"].as_str().unwrap().to_owned();
    let (status, channel) = owner
        .send(
            Method::POST,
            "/api/v1/channels",
            Some(
                json!({"kind": "outbox", "name": "Outbox", "file": "outbox.jsonl", "variant": "x"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    let outbox =
        crate::helpers::outbox_file(app.store.as_ref(), &app.data_dir, "team", "outbox.jsonl")
            .await;
    for n in 0..3 {
        let sha = format!("{n:0>40}");
        let r = app
            .deliver(
                &source,
                "push",
                &format!("e2e-{n}"),
                secret,
                &push_of_commit(&sha),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
    }
    for _ in 0..200 {
        if pending(&owner).await.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(pending(&owner).await.len(), 3, "three cards were drafted");
    // AI refine in the editor streams from a local OpenAI-compatible server.
    let (llm_base, llm) = crate::ai::llm().await;
    llm.answer(AI_ANSWER);
    let (status, body) = owner
        .send(
            Method::PUT,
            "/api/v1/settings/ai",
            Some(json!({"privacy": "messages", "providers": [
                {"kind": "openai", "model": "gpt-4o-mini", "base_url": llm_base, "api_key": "sk-e2e-0123456789abcdef"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let live = app.data_dir.join("live-push.json");
    std::fs::write(&live, push_of_commit(&"f".repeat(40))).unwrap();

    let shots = shots_dir(backend);
    let seen = run_story(
        "review.mjs",
        &[
            ("BASE_URL", app.addr.clone()),
            ("EMAIL", "founder@example.com".into()),
            ("PASSWORD", "a long enough passphrase".into()),
            ("SHOTS", shots.display().to_string()),
            ("HOOK_URL", app.url(&format!("/hooks/github/{source}"))),
            ("HOOK_SECRET", secret.into()),
            ("PAYLOAD", live.display().to_string()),
            ("AI_ANSWER", AI_ANSWER.into()),
        ],
    )
    .await;
    println!("browser measurements ({}): {seen}", backend.as_str());
    assert!(seen["page_bytes"].as_u64().unwrap() < 100 * 1024);
    // Approving from the UI leaves an undo window: nothing went out before it closed
    // (even though the emergency stop was switched on and off meanwhile).
    assert!(
        seen["swipe_to_published_ms"].as_u64().unwrap() >= 7_000,
        "published inside the undo window: {seen}"
    );
    screenshots_taken(
        &shots,
        &[
            "login-desktop",
            "stack-desktop",
            "stack-phone",
            "editor-desktop",
            "editor-phone",
            "sources-desktop",
            "sources-phone",
            "channels-desktop",
            "channels-phone",
            "settings-desktop",
            "settings-phone",
            "history-desktop",
            "history-phone",
            "stack-empty-phone",
        ],
    );

    // What the founder did is what the server holds: one dismissed, one swiped and one
    // edited card published (once each, after the undo window), one pending (the live one
    // arrived, and the undone approval came back).
    let card = |id: &str| {
        let owner = &owner;
        let id = id.to_owned();
        async move {
            let (_, body) = owner
                .send(Method::GET, &format!("/api/v1/cards/{id}"), None)
                .await;
            body["data"].clone()
        }
    };
    let dismissed = seen["dismissed"].as_str().unwrap();
    assert_eq!(card(dismissed).await["status"], "dismissed");
    let swiped = seen["swiped"].as_str().unwrap().to_owned();
    let edited = seen["edited"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        let lines = std::fs::read_to_string(&outbox).unwrap_or_default();
        if lines.lines().count() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let text = std::fs::read_to_string(&outbox).unwrap_or_default();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["card_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "two posts went out: {text}");
    assert!(
        ids.contains(&swiped.as_str()) && ids.contains(&edited.as_str()),
        "{text}"
    );
    let edited_line = lines
        .iter()
        .find(|l| l["card_id"] == edited.as_str())
        .unwrap();
    assert_eq!(
        edited_line["text"], seen["x_text"],
        "the edited X text is what went out"
    );
    let revisions = owner
        .send(
            Method::GET,
            &format!("/api/v1/cards/{edited}/revisions"),
            None,
        )
        .await
        .1;
    let authors: Vec<&str> = revisions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors.len(),
        3,
        "the refine and the edit are revisions: {authors:?}"
    );
    assert!(
        authors[1].starts_with("ai:openai/gpt-4o-mini for user:"),
        "{authors:?}"
    );
    assert_eq!(
        revisions["data"][1]["variants"]["x"], AI_ANSWER,
        "the streamed answer was saved"
    );
    // The refine streamed; the live card that arrived meanwhile was drafted without.
    let refines: Vec<Value> = llm
        .requests()
        .into_iter()
        .map(|(_, b)| b)
        .filter(|b| b.to_string().contains("make it shorter"))
        .collect();
    assert!(!refines.is_empty());
    assert!(refines.iter().all(|b| b["stream"] == true), "{refines:?}");
    // Four cards in all (three, and the live one): two dismissed (a key, a swipe left), two
    // published; the approval taken back published nothing.
    let left = pending(&owner).await;
    assert!(left.is_empty(), "the last card was swiped away: {left:?}");
    let swiped_left = seen["swiped_left"].as_str().unwrap();
    assert_eq!(
        card(swiped_left).await["status"],
        "dismissed",
        "swiping left dismisses"
    );
    // Undo put the card back in front, so the next `d` dismissed it; its withdrawn
    // approval left no publication and nothing in the outbox.
    let undone = seen["undone"].as_str().unwrap();
    assert_eq!(
        undone, dismissed,
        "undo brings the card back as the current one"
    );
    let undone_card = card(undone).await;
    assert_eq!(undone_card["status"], "dismissed");
    assert_eq!(undone_card["publications"], json!([]), "{undone_card}");
    assert!(
        !ids.contains(&undone),
        "the withdrawn approval went out: {text}"
    );
    app.stop().await;
}

/// Each named screenshot was taken (and is more than an empty page).
fn screenshots_taken(shots: &Path, names: &[&str]) {
    for name in names {
        let png = shots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&png)
                .map(|m| m.len() > 5_000)
                .unwrap_or(false),
            "a screenshot {} was taken",
            png.display()
        );
    }
}

/// Runs an e2e script with `envs` and returns the JSON line it prints last.
async fn run_story(script: &str, envs: &[(&str, String)]) -> Value {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (scripts/test does)"
    );
    assert!(
        e2e_dir().join("node_modules/playwright-core").exists(),
        "e2e/node_modules is missing: run `npm ci --prefix e2e` (scripts/test does)"
    );
    let mut command = tokio::process::Command::new("node");
    command
        .arg(e2e_dir().join(script))
        .env("CHROMIUM", &chromium)
        .kill_on_drop(true);
    for (k, v) in envs {
        command.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .expect("the browser story finished within 120 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser story {script} failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap()
}

/// Before approving, each card says what each connected channel will post (an X thread cut
/// from a long text, the outbox's X text), and an over-long text is held until she says
/// "as a thread". Three approvals in a row are taken back one by one, most recent first,
/// and none of them publishes. A red card from a leaked token stays red through an edit
/// until she confirms the token was rotated. The editor works from the keyboard, and no
/// page is wider than a phone.
async fn a_founder_sees_what_each_channel_sends_and_takes_back_what_she_approved(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = Browser::sign_up(&app, "founder@example.com", json!({"workspace": "team"})).await;
    let x = crate::fakes::FakeX::start(
        "x-access-0",
        std::time::Duration::from_secs(7200),
        "x-refresh-0",
    )
    .await;
    let secret = "e2e-webhook-secret";
    let (status, source) = owner
        .send(
            Method::POST,
            "/api/v1/sources",
            Some(json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": secret})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{source}");
    let source = source["data"]["id"].as_str().unwrap().to_owned();
    let mut channels = Vec::new();
    for body in [
        json!({"kind": "outbox", "name": "Team outbox", "file": "outbox.jsonl", "variant": "x"}),
        json!({"kind": "x", "name": "Acme on X", "access_token": "x-access-0", "api_base": x.base, "thread": true}),
    ] {
        let (status, channel) = owner
            .send(Method::POST, "/api/v1/channels", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{channel}");
        channels.push(channel["data"]["id"].as_str().unwrap().to_owned());
    }
    let outbox =
        crate::helpers::outbox_file(app.store.as_ref(), &app.data_dir, "team", "outbox.jsonl")
            .await;
    // Four pushes: three plain, the last with a token pasted into its message.
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    for n in 0..4 {
        let sha = format!("{:0>40}", n + 10);
        let mut push: Value = serde_json::from_slice(&push_of_commit(&sha)).unwrap();
        let message = match n {
            0 => "feat: add CSV export".to_owned(),
            1 => "feat: add PDF export".to_owned(),
            2 => "fix: keep the cache across restarts".to_owned(),
            _ => format!("feat: add JSON export\n\nCI deploy key {token}"),
        };
        push["commits"][0]["message"] = message.clone().into();
        push["head_commit"]["message"] = message.into();
        let r = app
            .deliver(
                &source,
                "push",
                &format!("guards-{n}"),
                secret,
                &serde_json::to_vec(&push).unwrap(),
            )
            .await;
        assert!(r.status().is_success(), "{}", r.status());
        // One at a time, so the stack's order (oldest first) is the pushes' order.
        for _ in 0..200 {
            if pending(&owner).await.len() == n + 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let cards = pending(&owner).await;
    assert_eq!(cards.len(), 4, "four cards were drafted");
    // The oldest card's X text is too long for one post.
    let mut ids: Vec<(String, String)> = cards
        .iter()
        .map(|c| {
            (
                c["created_at"].as_str().unwrap().to_owned(),
                c["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    ids.sort();
    let long = "The cache now survives restarts, so the second build takes seconds. ".repeat(6);
    let (status, body) = owner
        .send(
            Method::PATCH,
            &format!("/api/v1/cards/{}", ids[0].1),
            Some(json!({"variants": {"x": long.trim()}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let shots = shots_dir(backend).join("guards");
    let seen = run_story(
        "guards.mjs",
        &[
            ("BASE_URL", app.addr.clone()),
            ("EMAIL", "founder@example.com".into()),
            ("PASSWORD", "a long enough passphrase".into()),
            ("SHOTS", shots.display().to_string()),
        ],
    )
    .await;
    println!("guard measurements ({}): {seen}", backend.as_str());
    screenshots_taken(
        &shots,
        &[
            "stack-desktop",
            "stack-phone",
            "editor-phone",
            "red-desktop",
        ],
    );

    let card = |id: String| {
        let owner = &owner;
        async move {
            owner
                .send(Method::GET, &format!("/api/v1/cards/{id}"), None)
                .await
                .1["data"]
                .clone()
        }
    };
    let settled = |id: String| {
        let card = &card;
        async move {
            let mut c = Value::Null;
            for _ in 0..300 {
                c = card(id.clone()).await;
                if c["status"] == "published" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            c
        }
    };
    // Every approval taken back published nothing: the card left pending has none, the one
    // approved again to the outbox alone went there only (its first approval, to both
    // channels, left no trace), and the thread card went out once per channel.
    let pending_id = seen["pending"].as_str().unwrap().to_owned();
    let left = card(pending_id.clone()).await;
    assert_eq!(left["status"], "pending", "{left}");
    assert_eq!(left["publications"], json!([]), "{left}");
    let picked = settled(seen["picked"].as_str().unwrap().to_owned()).await;
    assert_eq!(picked["status"], "published", "{picked}");
    assert_eq!(
        picked["publications"].as_array().unwrap().len(),
        1,
        "{picked}"
    );
    assert_eq!(
        picked["publications"][0]["channel_id"],
        channels[0].as_str()
    );
    let threaded = settled(seen["threaded"].as_str().unwrap().to_owned()).await;
    assert_eq!(threaded["status"], "published", "{threaded}");
    assert_eq!(
        threaded["publications"].as_array().unwrap().len(),
        2,
        "{threaded}"
    );
    let lines = std::fs::read_to_string(&outbox).unwrap_or_default();
    assert_eq!(lines.lines().count(), 2, "{lines}");
    for id in [&picked["id"], &threaded["id"]] {
        assert_eq!(lines.matches(id.as_str().unwrap()).count(), 1, "{lines}");
    }
    assert!(!lines.contains(pending_id.as_str()), "{lines}");
    let tweets = x.tweets();
    assert!(
        tweets.len() >= 2,
        "the long text went out as a thread: {tweets:?}"
    );
    assert!(
        tweets
            .iter()
            .all(|t| t.1.contains("cache") || t.1.contains("seconds") || t.1.contains("restarts")),
        "only the thread card reached X: {tweets:?}"
    );
    // The red card: confirmed rotated by the founder herself, and no longer red.
    let red = card(seen["red"].as_str().unwrap().to_owned()).await;
    assert_ne!(red["risk"], "red", "{red}");
    assert!(
        red["secret_rotated_by"]
            .as_str()
            .unwrap()
            .starts_with("user:"),
        "{red}"
    );
    app.stop().await;
}
