//! Shipped work becomes cards, within the plan's card limit.

use crate::helpers::{TestApp, on_both_backends, push_of_commit, spawn_app};
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    each_push_becomes_one_card_until_the_plan_limit_then_events_say_why,
    pure_noise_is_kept_but_not_drafted,
    another_workspaces_cards_are_invisible,
    several_security_fixes_suggest_a_security_post_once,
    the_workspace_voice_shapes_new_drafts,
    a_reviewer_edits_then_dismisses_and_every_revision_is_kept,
    a_card_drafted_again_takes_the_current_voice_and_keeps_its_revisions,
    a_leaked_secret_keeps_the_card_red_until_someone_says_it_was_rotated,
);

const SECRET: &str = "s";

async fn events(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/events?limit=200").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn push_with_message(sha: &str, message: &str, file: &str) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&push_of_commit(sha)).unwrap();
    v["commits"][0]["message"] = message.into();
    v["commits"][0]["added"] = serde_json::json!([file]);
    v["head_commit"]["message"] = message.into();
    serde_json::to_vec(&v).unwrap()
}

/// `PATCH /api/v1/workspace {"voice": …}` as the owner.
async fn set_voice(app: &TestApp, voice: &str) -> reqwest::Response {
    app.client
        .patch(app.url("/api/v1/workspace"))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({ "voice": voice }))
        .send()
        .await
        .unwrap()
}

async fn settled(app: &TestApp, n: usize) {
    app.eventually("every event is handled", || async {
        let e = events(app).await;
        e.len() == n && e.iter().all(|e| e["status"] != "new")
    })
    .await;
}

async fn each_push_becomes_one_card_until_the_plan_limit_then_events_say_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    for n in 0..6 {
        let body = push_with_message(
            &format!("{n:040x}"),
            &format!("feat: add feature number {n}"),
            "src/lib.rs",
        );
        assert_eq!(
            app.deliver(&src, "push", &format!("d{n}"), SECRET, &body)
                .await
                .status(),
            202
        );
    }
    settled(&app, 6).await;
    let cards = app.get_json("/api/v1/cards").await;
    let cards = cards["data"].as_array().unwrap();
    assert_eq!(cards.len(), 5, "the SOLO plan allows 5 cards");
    assert!(
        cards
            .iter()
            .all(|c| c["category"] == "MKT" && c["status"] == "pending")
    );
    let over: Vec<Value> = events(&app)
        .await
        .into_iter()
        .filter(|e| e["status"] == "over_limit")
        .collect();
    assert_eq!(over.len(), 1);
    let reason = over[0]["status_reason"].as_str().unwrap();
    assert!(
        reason.contains("SOLO plan allows 5 cards and 5 are used"),
        "{reason}"
    );
    let ws = app.get_json("/api/v1/workspace").await;
    assert_eq!(ws["data"]["cards_used"], 5);
    // A redelivery of a drafted push changes nothing.
    let body = push_with_message(
        &format!("{:040x}", 0),
        "feat: add feature number 0",
        "src/lib.rs",
    );
    assert_eq!(
        app.deliver(&src, "push", "d0", SECRET, &body)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    app.stop().await;
}

async fn pure_noise_is_kept_but_not_drafted(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = push_with_message(
        &format!("{:040x}", 1),
        "chore(deps): bump serde from 1.0.1 to 1.0.2",
        "Cargo.lock",
    );
    assert_eq!(
        app.deliver(&src, "push", "n1", SECRET, &body)
            .await
            .status(),
        202
    );
    settled(&app, 1).await;
    let e = &events(&app).await[0];
    assert_eq!(e["status"], "skipped");
    assert_eq!(
        e["status_reason"],
        "nothing to announce: only dependency update"
    );
    assert!(
        app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["cards_used"],
        0,
        "noise costs nothing"
    );
    app.stop().await;
}

async fn another_workspaces_cards_are_invisible(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = push_with_message(&format!("{:040x}", 2), "fix: stop the crash", "src/lib.rs");
    app.deliver(&src, "push", "x1", SECRET, &body).await;
    settled(&app, 1).await;
    let cards = app.get_json("/api/v1/cards").await;
    let id = cards["data"][0]["id"].as_str().unwrap().to_owned();
    let other = app.token_for("globex").await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/cards/{id}")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = app
        .client
        .get(app.url("/api/v1/cards"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert!(body["data"].as_array().unwrap().is_empty());
    assert_eq!(app.get("/api/v1/cards?status=nope").await.status(), 422);
    app.stop().await;
}

async fn several_security_fixes_suggest_a_security_post_once(backend: Backend) {
    let app = spawn_app(backend).await;
    // Six pushes and a suggestion: more cards than SOLO's five a month.
    app.set_own_plan("pro").await;
    // Another repository of the workspace fixed two security holes: its own work, neither
    // counted nor listed for Hello-World's suggestion (nor enough for one of its own).
    let other = app.github_source("octo-org/other", SECRET).await;
    for (n, msg) in [
        "fix: stop open redirect after sign-in in other",
        "fix: prevent XSS in other's profile page",
    ]
    .iter()
    .enumerate()
    {
        let mut v: Value = serde_json::from_slice(&push_with_message(
            &format!("{:040x}", 200 + n),
            msg,
            "src/a.rs",
        ))
        .unwrap();
        v["repository"]["full_name"] = "octo-org/other".into();
        v["repository"]["name"] = "other".into();
        v["repository"]["owner"]["login"] = "octo-org".into();
        v["repository"]["owner"]["name"] = "octo-org".into();
        let body = serde_json::to_vec(&v).unwrap();
        let r = app
            .deliver(&other, "push", &format!("o{n}"), SECRET, &body)
            .await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }
    settled(&app, 2).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let fixes = [
        "fix: sanitize HTML in comments to prevent XSS",
        "fix(auth): compare tokens in constant time against timing attacks",
        "fix: escape SQL identifiers to stop injection",
        "fix: reject path traversal, a security hole in uploads",
    ];
    for (n, msg) in fixes.iter().enumerate() {
        let body = push_with_message(&format!("{:040x}", 100 + n), msg, "src/lib.rs");
        assert_eq!(
            app.deliver(&src, "push", &format!("s{n}"), SECRET, &body)
                .await
                .status(),
            202
        );
    }
    settled(&app, 6).await;
    app.eventually("a STRATEGY card suggests a security post", || async {
        let cards = app.get_json("/api/v1/cards").await;
        cards["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["category"] == "STRATEGY")
    })
    .await;
    let cards = app.get_json("/api/v1/cards").await;
    let strategy: Vec<&Value> = cards["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["category"] == "STRATEGY")
        .collect();
    assert_eq!(
        strategy.len(),
        1,
        "one suggestion, however many fixes arrive"
    );
    assert!(
        strategy[0]["title"]
            .as_str()
            .unwrap()
            .contains("security fixes recently"),
        "{}",
        strategy[0]
    );
    let content = strategy[0]["content"].as_str().unwrap();
    assert!(content.contains("### Security"), "{content}");
    assert!(
        content.contains("Hello-World") && !content.contains("in other"),
        "{content}"
    );
    app.stop().await;
}

async fn the_workspace_voice_shapes_new_drafts(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["voice"],
        "sassy",
        "the founding default"
    );
    let r = set_voice(&app, "snarky").await;
    assert_eq!(r.status(), 422);
    let r = set_voice(&app, "plain").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["voice"], "plain");
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = push_with_message(&format!("{:040x}", 7), "feat: add CSV export", "src/lib.rs");
    app.deliver(&src, "push", "v1", SECRET, &body).await;
    settled(&app, 1).await;
    let cards = app.get_json("/api/v1/cards").await;
    let linkedin = cards["data"][0]["variants"]["linkedin"].as_str().unwrap();
    assert!(
        linkedin.starts_with("Landed on Codertocat/Hello-World's ")
            && linkedin.contains("branch: Add CSV export."),
        "plain voice, and a push says where it landed: {linkedin}"
    );
    assert!(
        !linkedin.contains('✨'),
        "no emoji in the plain voice: {linkedin}"
    );
    app.stop().await;
}

async fn a_reviewer_edits_then_dismisses_and_every_revision_is_kept(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = push_with_message(&format!("{:040x}", 9), "feat: add CSV export", "src/lib.rs");
    app.deliver(&src, "push", "e1", SECRET, &body).await;
    settled(&app, 1).await;
    let card = app.get_json("/api/v1/cards").await["data"][0].clone();
    let id = card["id"].as_str().unwrap().to_owned();
    let patch = |body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/cards/{id}")))
            .bearer_auth(&app.token)
            .json(&body)
            .send()
    };

    let r = patch(serde_json::json!({"variants": {"x": "CSV export is here. Try it."}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let edited: Value = r.json().await.unwrap();
    assert_eq!(
        edited["data"]["variants"]["x"],
        "CSV export is here. Try it."
    );
    assert_eq!(
        edited["data"]["variants"]["linkedin"], card["variants"]["linkedin"],
        "other channels untouched"
    );
    assert_eq!(edited["data"]["risk"], "green");

    // A pasted credential turns the light red; the text stays the person's own.
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    let r = patch(serde_json::json!({"variants": {"slack": format!("deploy with {token}")}}))
        .await
        .unwrap();
    let red: Value = r.json().await.unwrap();
    assert_eq!(red["data"]["risk"], "red");
    assert!(
        red["data"]["risk_reasons"][0]
            .as_str()
            .unwrap()
            .contains("GitHub token"),
        "{red}"
    );

    for (bad, what) in [
        (
            serde_json::json!({"variants": {"myspace": "x"}}),
            "not a channel kind",
        ),
        (
            serde_json::json!({"variants": {"x": "   "}}),
            "must not be empty",
        ),
        (serde_json::json!({"variants": {}}), "at least one channel"),
    ] {
        let r = patch(bad).await.unwrap();
        assert_eq!(r.status(), 422);
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains(what), "{p}");
    }

    // Sending back the text the card already has changes nothing: no revision, no edit
    // (a client that PATCHes every channel does not make an approval count as edited).
    let r = patch(serde_json::json!({"variants": {"x": "CSV export is here. Try it."}}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let same: Value = r.json().await.unwrap();
    assert_eq!(same["data"]["variants"]["x"], "CSV export is here. Try it.");

    let revisions = app.get_json(&format!("/api/v1/cards/{id}/revisions")).await;
    let revisions = revisions["data"].as_array().unwrap();
    assert_eq!(revisions.len(), 3, "drafted + two edits");
    assert_eq!(revisions[0]["revision"], 1);
    assert_eq!(revisions[0]["author"], "drafter");
    assert_eq!(
        revisions[0]["variants"], card["variants"],
        "the drafted original is kept"
    );
    // Who edited: here the workspace's API token (a person's edits name the person).
    assert!(
        revisions[2]["author"]
            .as_str()
            .unwrap()
            .starts_with("token:"),
        "{}",
        revisions[2]
    );

    let dismiss = || {
        app.client
            .post(app.url(&format!("/api/v1/cards/{id}/dismiss")))
            .bearer_auth(&app.token)
            .send()
    };
    let r = dismiss().await.unwrap();
    assert_eq!(r.status(), 200);
    let dismissed: Value = r.json().await.unwrap();
    assert_eq!(dismissed["data"]["status"], "dismissed");
    for r in [
        dismiss().await.unwrap(),
        patch(serde_json::json!({"variants": {"x": "late"}}))
            .await
            .unwrap(),
        // The text it already has is no edit, but the card is still not editable.
        patch(serde_json::json!({"variants": {"x": "CSV export is here. Try it."}}))
            .await
            .unwrap(),
    ] {
        assert_eq!(r.status(), 409);
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/conflict");
        assert!(
            p["detail"].as_str().unwrap().contains("is dismissed"),
            "{p}"
        );
    }
    assert_eq!(
        app.get_json("/api/v1/cards?status=dismissed").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let other = app.token_for("globex").await;
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cards/{id}/dismiss")))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

/// "Draft again" after the voice changed: a new revision by the drafter in the new voice,
/// the earlier one kept, the action in the audit log. A viewer cannot; an unknown card is
/// not found.
async fn a_card_drafted_again_takes_the_current_voice_and_keeps_its_revisions(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = push_with_message(
        &format!("{:040x}", 11),
        "feat: add CSV export",
        "src/lib.rs",
    );
    app.deliver(&src, "push", "r1", SECRET, &body).await;
    settled(&app, 1).await;
    let card = app.get_json("/api/v1/cards").await["data"][0].clone();
    let id = card["id"].as_str().unwrap().to_owned();
    let sassy = card["variants"]["linkedin"].as_str().unwrap().to_owned();
    let r = set_voice(&app, "plain").await;
    assert_eq!(r.status(), 200);
    let regenerate = |token: String, id: String| {
        app.client
            .post(app.url(&format!("/api/v1/cards/{id}/regenerate")))
            .bearer_auth(token)
            .send()
    };
    let r = regenerate(app.token.clone(), id.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    let plain = again["data"]["variants"]["linkedin"].as_str().unwrap();
    assert_ne!(plain, sassy);
    assert!(
        plain.starts_with("Landed on Codertocat/Hello-World's ") && !plain.contains('✨'),
        "drafted again in the plain voice: {plain}"
    );
    let revisions = app.get_json(&format!("/api/v1/cards/{id}/revisions")).await;
    assert_eq!(
        revisions["data"].as_array().map(Vec::len),
        Some(2),
        "the first draft stays: {revisions}"
    );
    let audit = app.get_json("/api/v1/audit").await;
    let entry = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "card.regenerate")
        .unwrap_or_else(|| panic!("card.regenerate in {audit}"));
    assert_eq!(entry["target"], id.as_str());
    assert_eq!(entry["detail"]["voice"], "plain");

    let viewer: Value = app
        .post_json(
            "/api/v1/tokens",
            &serde_json::json!({"name": "ro", "role": "viewer"}),
        )
        .await
        .json()
        .await
        .unwrap();
    let viewer = viewer["data"]["token"].as_str().unwrap().to_owned();
    let r = regenerate(viewer, id.clone()).await.unwrap();
    assert_eq!(r.status(), 403);
    let unknown = "00000000-0000-4000-8000-000000000001".to_owned();
    let r = regenerate(app.token.clone(), unknown).await.unwrap();
    assert_eq!(r.status(), 404);
    app.stop().await;
}

/// A token pasted into a commit message is redacted from the drafts, but it leaked where the
/// work was written: editing the posts does not make the card safe. It stays red (and
/// cannot be approved) until a person confirms the token was rotated; a secret in a post
/// itself keeps it red whatever anyone confirms.
async fn a_leaked_secret_keeps_the_card_red_until_someone_says_it_was_rotated(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    let body = push_with_message(
        &format!("{:040x}", 21),
        &format!("feat: add CSV export\n\nDeploy key for CI: {token}"),
        "src/lib.rs",
    );
    app.deliver(&src, "push", "leak", SECRET, &body).await;
    settled(&app, 1).await;
    let card = app.get_json("/api/v1/cards").await["data"][0].clone();
    let id = card["id"].as_str().unwrap().to_owned();
    assert_eq!(card["risk"], "red", "{card}");
    assert!(!card.to_string().contains(token), "never in a draft");
    let leak = |c: &Value| {
        c["risk_reasons"].as_array().unwrap().iter().any(|r| {
            r.as_str()
                .unwrap()
                .starts_with("the commit text contained a secret")
        })
    };
    assert!(leak(&card), "{card}");
    let channel = app
        .post_json(
            "/api/v1/channels",
            &json!({"kind": "outbox", "name": "Outbox", "file": "leak.jsonl", "variant": "x"}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let approve = || async {
        app.post_json(
            &format!("/api/v1/cards/{id}/approve"),
            &json!({ "channels": [channel] }),
        )
        .await
    };
    let patch = |variants: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/cards/{id}")))
            .bearer_auth(&app.token)
            .json(&json!({ "variants": variants }))
            .send()
    };

    // Every post rewritten: still red, still "rotate it", still refused.
    let r = patch(json!({"x": "CSV export is here.", "linkedin": "CSV export is here."}))
        .await
        .unwrap();
    let edited: Value = r.json().await.unwrap();
    assert_eq!(edited["data"]["risk"], "red", "{edited}");
    assert!(leak(&edited["data"]), "{edited}");
    let r = approve().await;
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    let why = p["detail"].as_str().unwrap();
    assert!(
        why.contains("red") && !why.contains("risk_reasons"),
        "{why}"
    );

    // The token pasted into a post: red for that reason too.
    let r = patch(json!({"slack": format!("rotate {token} today")}))
        .await
        .unwrap();
    let pasted: Value = r.json().await.unwrap();
    assert!(
        pasted["data"]["risk_reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r
                .as_str()
                .unwrap()
                .starts_with("the slack text contains a secret (GitHub token)")),
        "{pasted}"
    );
    let rotated = |id: String| {
        app.client
            .post(app.url(&format!("/api/v1/cards/{id}/rotated")))
            .bearer_auth(&app.token)
            .send()
    };
    // Confirming the rotation lifts the leak, not the pasted secret.
    let r = rotated(id.clone()).await.unwrap();
    assert_eq!(r.status(), 200);
    let still: Value = r.json().await.unwrap();
    assert_eq!(still["data"]["risk"], "red", "{still}");
    assert!(!leak(&still["data"]), "{still}");
    assert!(
        still["data"]["secret_rotated_by"]
            .as_str()
            .unwrap()
            .starts_with("token:"),
        "{still}"
    );
    // Drafted again from its event: the confirmation still holds.
    let r = app
        .client
        .post(app.url(&format!("/api/v1/cards/{id}/regenerate")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    let redrafted: Value = r.json().await.unwrap();
    assert!(!leak(&redrafted["data"]), "{redrafted}");
    // The pasted one taken out: no longer red, and it can be approved.
    let r = patch(json!({"slack": "CSV export is here."}))
        .await
        .unwrap();
    let clean: Value = r.json().await.unwrap();
    assert_ne!(clean["data"]["risk"], "red", "{clean}");
    assert!(
        !leak(&clean["data"]),
        "the confirmation holds across edits: {clean}"
    );
    assert_eq!(approve().await.status(), 202);
    // The audit log says who confirmed it.
    let audit = app.get_json("/api/v1/audit").await.to_string();
    assert!(audit.contains("card.secret_rotated"), "{audit}");

    // A card whose commit text held no secret has nothing to confirm.
    let body = push_with_message(
        &format!("{:040x}", 22),
        "feat: add PDF export",
        "src/lib.rs",
    );
    app.deliver(&src, "push", "clean", SECRET, &body).await;
    settled(&app, 2).await;
    let other = app.get_json("/api/v1/cards?status=pending").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = rotated(other).await.unwrap();
    assert_eq!(r.status(), 409);
    app.stop().await;
}
