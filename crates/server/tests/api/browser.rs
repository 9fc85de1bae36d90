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

on_both_backends!(a_founder_clears_the_stack_with_keys_and_a_swipe_and_fixes_a_post);

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
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (scripts/test does)"
    );
    assert!(
        e2e_dir().join("node_modules/playwright-core").exists(),
        "e2e/node_modules is missing: run `npm ci --prefix e2e` (scripts/test does)"
    );
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
    let out = tokio::process::Command::new("node")
        .arg(e2e_dir().join("review.mjs"))
        .env("BASE_URL", &app.addr)
        .env("EMAIL", "founder@example.com")
        .env("PASSWORD", "a long enough passphrase")
        .env("SHOTS", &shots)
        .env("HOOK_URL", app.url(&format!("/hooks/github/{source}")))
        .env("HOOK_SECRET", secret)
        .env("PAYLOAD", &live)
        .env("CHROMIUM", &chromium)
        .env("AI_ANSWER", AI_ANSWER)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(90), out)
        .await
        .expect("the browser story finished within 90 s")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser story failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap();
    println!("browser measurements ({}): {seen}", backend.as_str());
    assert!(seen["page_bytes"].as_u64().unwrap() < 100 * 1024);
    // Approving from the UI leaves an undo window: nothing went out before it closed
    // (even though the emergency stop was switched on and off meanwhile).
    assert!(
        seen["swipe_to_published_ms"].as_u64().unwrap() >= 7_000,
        "published inside the undo window: {seen}"
    );
    for name in [
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
    ] {
        let png = shots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&png)
                .map(|m| m.len() > 5_000)
                .unwrap_or(false),
            "a screenshot {} was taken",
            png.display()
        );
    }

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
