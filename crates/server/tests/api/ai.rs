//! AI drafting through the real server: a workspace's chain pointed at a local server
//! that speaks the OpenAI chat-completions protocol and records what it was sent.

use crate::helpers::*;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use covalynce_storage::Backend;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

on_both_backends!(
    a_push_is_drafted_by_the_ai_chain_within_the_facts_and_costed,
    when_the_ai_fails_the_offline_draft_stands_and_says_so,
    refining_makes_a_revision_and_a_stray_answer_changes_nothing,
    ai_settings_are_validated_and_keys_never_shown,
    the_operators_default_provider_serves_workspaces_without_a_chain,
    diffs_leave_the_machine_only_when_allowed_and_never_with_secrets,
);

const KEY: &str = "sk-live-covalynce-test-key-0123456789";

#[derive(Clone, Default)]
pub(crate) struct Llm {
    seen: Arc<Mutex<Vec<(HeaderMap, Value)>>>,
    pub(crate) replies: Arc<Mutex<VecDeque<(u16, Value)>>>,
}

impl Llm {
    pub(crate) fn answer(&self, text: &str) {
        self.replies.lock().unwrap().push_back((
            200,
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 120, "completion_tokens": 40, "total_tokens": 160}
            }),
        ));
    }

    fn fail(&self, status: u16) {
        self.replies.lock().unwrap().push_back((
            status,
            json!({"error": {"message": "The server had an error while processing your request.", "type": "server_error"}}),
        ));
    }

    pub(crate) fn requests(&self) -> Vec<(HeaderMap, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn reply(
    State(llm): State<Llm>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let sent: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    llm.seen.lock().unwrap().push((headers, sent.clone()));
    let (status, body) = {
        let mut replies = llm.replies.lock().unwrap();
        if replies.len() > 1 {
            replies.pop_front().unwrap()
        } else {
            replies.front().cloned().unwrap()
        }
    };
    if sent["stream"] == true && status == 200 {
        // As the real API streams: chunks with content deltas, a usage chunk, [DONE].
        let text = body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default();
        let words: Vec<String> = text.split_inclusive(' ').map(str::to_owned).collect();
        let mut sse = String::new();
        for w in &words {
            let chunk = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {"content": w}}]});
            sse.push_str(&format!("data: {chunk}\n\n"));
        }
        let usage = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
            "usage": body["usage"]});
        sse.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
        return ([("content-type", "text/event-stream")], sse).into_response();
    }
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

/// A local OpenAI-compatible server; its base URL ends in /v1 like the real one.
pub(crate) async fn llm() -> (String, Llm) {
    let llm = Llm::default();
    let app = Router::new()
        .route("/v1/chat/completions", axum::routing::post(reply))
        .with_state(llm.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), llm)
}

pub(crate) async fn configure(app: &TestApp, base: &str, privacy: &str) -> reqwest::Response {
    app.client
        .put(app.url("/api/v1/settings/ai"))
        .bearer_auth(&app.token)
        .json(&json!({
            "privacy": privacy,
            "providers": [{"kind": "openai", "model": "gpt-4o-mini", "base_url": base, "api_key": KEY}]
        }))
        .send()
        .await
        .unwrap()
}

/// One push, drafted; returns the card.
async fn drafted_card(app: &TestApp) -> Value {
    let secret = "ai-webhook-secret";
    let source = app.github_source("Codertocat/Hello-World", secret).await;
    let r = app
        .deliver(
            &source,
            "push",
            "ai-1",
            secret,
            &push_of_commit(&"a".repeat(40)),
        )
        .await;
    assert!(r.status().is_success());
    let mut card = Value::Null;
    for _ in 0..200 {
        let list = app.get_json("/api/v1/cards?status=pending").await;
        if let Some(c) = list["data"].as_array().and_then(|a| a.first()) {
            card = c.clone();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!card.is_null(), "a card was drafted");
    card
}

pub(crate) const GOOD: &str =
    "Codertocat/Hello-World shipped: Initial commit. A fresh README to start from.";

async fn a_push_is_drafted_by_the_ai_chain_within_the_facts_and_costed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (base, llm) = llm().await;
    llm.answer(GOOD);
    let before = app.get_json("/api/v1/settings/ai").await;
    assert_eq!(
        before["data"],
        json!({"privacy": "offline", "providers": [], "operator_default": null}),
        "AI is off until an owner turns it on"
    );
    let r = configure(&app, &base, "messages").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("\"has_key\":true") && !text.contains(KEY),
        "{text}"
    );

    let card = drafted_card(&app).await;
    assert_eq!(card["drafted_by"], "openai/gpt-4o-mini", "{card}");
    assert_eq!(card["draft_note"], Value::Null);
    for channel in ["linkedin", "x", "mastodon", "bluesky", "slack", "discord"] {
        assert_eq!(card["variants"][channel], GOOD, "{channel}");
    }
    assert_eq!(card["risk"], "green");

    let seen = llm.requests();
    assert_eq!(seen.len(), 6, "one post per channel");
    for (headers, body) in &seen {
        assert_eq!(headers["authorization"], format!("Bearer {KEY}"));
        assert_eq!(body["model"], "gpt-4o-mini");
        let sent = body.to_string();
        assert!(
            sent.contains("Initial commit") && sent.contains("Codertocat/Hello-World"),
            "the facts were sent"
        );
        assert!(!sent.contains(KEY), "the key is a header, never content");
    }

    // The ledger rows are written just after the card is stored, not with it.
    app.eventually("the ledger has the calls", || async {
        app.get_json("/api/v1/ai/calls").await["meta"]["count"] != 0
    })
    .await;
    let ledger = app.get_json("/api/v1/ai/calls").await;
    assert_eq!(ledger["meta"]["count"], 6);
    assert_eq!(ledger["meta"]["totals"]["calls"], 6);
    assert_eq!(ledger["meta"]["totals"]["used"], 6);
    assert_eq!(ledger["meta"]["totals"]["tokens_in"], 720);
    assert_eq!(ledger["meta"]["totals"]["tokens_out"], 240);
    // gpt-4o-mini: $0.15 in, $0.60 out per million tokens.
    assert_eq!(ledger["meta"]["totals"]["cost_usd"], 0.000252);
    let today = &covalynce_domain::time::format_rfc3339(covalynce_domain::now_millis())[..10];
    assert_eq!(ledger["meta"]["periods"][0]["period"], today);
    assert_eq!(ledger["data"][0]["card_id"], card["id"]);
    assert_eq!(ledger["data"][0]["model"], "gpt-4o-mini");
    let month = app.get_json("/api/v1/ai/calls?group=month").await;
    assert_eq!(month["meta"]["periods"][0]["period"], &today[..7]);

    // The owner's export carries the AI settings (no key) and every call.
    let export = app.get_json("/api/v1/export").await["data"].clone();
    assert_eq!(export["ai"]["providers"][0]["model"], "gpt-4o-mini");
    assert_eq!(export["ai_calls"].as_array().unwrap().len(), 6);
    assert!(!export.to_string().contains(KEY));

    // The key is sealed at rest like every credential.
    let dump = crate::accounts::dump_database(&app).await;
    assert!(!dump.contains(KEY), "the AI key is stored in plain text");
    app.stop().await;
}

async fn when_the_ai_fails_the_offline_draft_stands_and_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let (base, llm) = llm().await;
    llm.fail(500);
    assert_eq!(configure(&app, &base, "messages").await.status(), 200);
    let card = drafted_card(&app).await;
    assert_eq!(card["drafted_by"], "offline");
    let note = card["draft_note"].as_str().unwrap();
    assert!(
        note.contains("offline draft") && note.contains("500"),
        "{note}"
    );
    assert!(
        card["variants"]["x"]
            .as_str()
            .unwrap()
            .contains("Hello-World"),
        "the offline text"
    );
    let ledger = app.get_json("/api/v1/ai/calls").await;
    assert_eq!(
        ledger["meta"]["totals"]["calls"], 1,
        "a failing provider is not asked again for the other channels"
    );
    assert_eq!(ledger["meta"]["totals"]["failed"], 1);
    assert_eq!(ledger["data"][0]["outcome"], "failed");
    assert_eq!(
        llm.requests().len(),
        3,
        "a 500 is retried twice, then given up"
    );
    app.stop().await;
}

async fn refining_makes_a_revision_and_a_stray_answer_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let (base, llm) = llm().await;
    let card = drafted_card(&app).await;
    let id = card["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/cards/{id}/refine");
    let refine = |instruction: &'static str| {
        let app = &app;
        let path = path.clone();
        async move {
            app.post_json(
                &path,
                &json!({"instruction": instruction, "channels": ["x"]}),
            )
            .await
        }
    };
    let off = refine("make it shorter").await;
    assert_eq!(off.status(), 409, "offline by default");
    assert!(off.text().await.unwrap().contains("privacy: offline"));
    assert!(llm.requests().is_empty(), "nothing left the machine");

    llm.answer("Hello-World: Initial commit is in.");
    assert_eq!(configure(&app, &base, "messages").await.status(), 200);
    let r = refine("make it shorter").await;
    assert_eq!(r.status(), 200);
    let refined: Value = r.json().await.unwrap();
    assert_eq!(
        refined["data"]["variants"]["x"],
        "Hello-World: Initial commit is in."
    );
    assert_eq!(
        refined["data"]["variants"]["linkedin"], card["variants"]["linkedin"],
        "only x was asked for"
    );
    assert!(llm.requests()[0].1.to_string().contains("make it shorter"));
    let revisions = app.get_json(&format!("/api/v1/cards/{id}/revisions")).await;
    assert_eq!(revisions["data"].as_array().unwrap().len(), 2);
    assert!(
        revisions["data"][1]["author"]
            .as_str()
            .unwrap()
            .starts_with("ai:openai/gpt-4o-mini for token:")
    );

    llm.replies.lock().unwrap().clear();
    llm.answer("Hello-World v9.9.9 is out with a brand new dashboard!");
    let stray = refine("make it exciting").await;
    assert_eq!(stray.status(), 409);
    let why = stray.text().await.unwrap();
    assert!(why.contains("unchanged") && why.contains("9.9.9"), "{why}");
    let revisions = app.get_json(&format!("/api/v1/cards/{id}/revisions")).await;
    assert_eq!(
        revisions["data"].as_array().unwrap().len(),
        2,
        "the card did not change"
    );
    let ledger = app.get_json("/api/v1/ai/calls").await;
    assert_eq!(ledger["meta"]["totals"]["rejected"], 1);
    assert_eq!(ledger["data"][0]["purpose"], "refine");
    app.stop().await;
}

async fn ai_settings_are_validated_and_keys_never_shown(backend: Backend) {
    let app = spawn_app(backend).await;
    for (body, field) in [
        (json!({"privacy": "everything"}), "privacy"),
        (
            json!({"providers": [{"kind": "skynet", "model": "x"}]}),
            "kind",
        ),
        (
            json!({"providers": [{"kind": "gemini", "model": "a/../b"}]}),
            "model",
        ),
        (
            json!({"providers": [{"kind": "anthropic", "model": "m", "base_url": "not a url"}]}),
            "base_url",
        ),
    ] {
        let r = app
            .client
            .put(app.url("/api/v1/settings/ai"))
            .bearer_auth(&app.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{body}");
        assert!(r.text().await.unwrap().contains(field), "{field}");
    }
    let (base, _) = llm().await;
    assert_eq!(configure(&app, &base, "diffs").await.status(), 200);
    let settings = app.get_json("/api/v1/settings/ai").await;
    assert_eq!(settings["data"]["privacy"], "diffs");
    assert!(!settings.to_string().contains(KEY));
    let off = app
        .client
        .put(app.url("/api/v1/settings/ai"))
        .bearer_auth(&app.token)
        .json(&json!({"providers": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), 200);
    assert_eq!(
        app.get_json("/api/v1/settings/ai").await["data"]["providers"],
        json!([])
    );
    app.stop().await;
}

async fn the_operators_default_provider_serves_workspaces_without_a_chain(backend: Backend) {
    let (base, llm) = llm().await;
    llm.answer(GOOD);
    let b = base.clone();
    let app = spawn_app_with(backend, move |c| {
        c.ai.default = Some(covalynce_app::ai::DefaultProvider {
            kind: covalynce_ai::ProviderKind::OpenAiCompatible,
            model: "gpt-4o-mini".into(),
            base_url: b,
            api_key: KEY.into(),
        })
    })
    .await;
    let settings = app.get_json("/api/v1/settings/ai").await;
    assert_eq!(settings["data"]["operator_default"], "openai/gpt-4o-mini");
    assert!(!settings.to_string().contains(KEY));
    // Offline (the default) still means nothing leaves, operator key or not.
    let first = drafted_card(&app).await;
    assert_eq!(first["drafted_by"], "offline");
    assert!(llm.requests().is_empty());
    let r = app
        .client
        .put(app.url("/api/v1/settings/ai"))
        .bearer_auth(&app.token)
        .json(&json!({"privacy": "messages"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = first["id"].as_str().unwrap();
    let path = format!("/api/v1/cards/{id}/refine");
    let ask = json!({"instruction": "make it shorter", "channels": ["x"]});
    let refine = || app.post_json(&path, &ask);
    // SOLO brings its own keys: the operator's provider is not for it.
    let solo = refine().await;
    assert_eq!(solo.status(), 409);
    assert!(
        solo.text()
            .await
            .unwrap()
            .contains("SOLO plan drafts with your own keys only"),
        "the refusal says why"
    );
    assert!(llm.requests().is_empty());
    app.set_own_plan("pro").await;
    let refined = refine().await;
    assert_eq!(refined.status(), 200, "the operator's provider answers");
    let card: Value = refined.json().await.unwrap();
    assert_eq!(card["data"]["variants"]["x"], GOOD);
    assert_eq!(
        llm.requests()[0].0["authorization"],
        format!("Bearer {KEY}")
    );
    app.stop().await;
}

async fn diffs_leave_the_machine_only_when_allowed_and_never_with_secrets(backend: Backend) {
    use crate::draft::{commit, git};
    let app = spawn_app(backend).await;
    let (base, llm) = llm().await;
    llm.answer("CSV export is here.");
    assert_eq!(configure(&app, &base, "diffs").await.status(), 200);
    let repo = tempfile::tempdir().unwrap();
    git(repo.path(), &["init", "-q", "-b", "main"], 1_700_000_000);
    commit(
        repo.path(),
        "README.md",
        "rocket\n",
        "docs: readme",
        1_700_000_100,
    );
    app.allow_path(repo.path()).await;
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "git", "path": repo.path().to_str().unwrap()}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.watcher_has_seen(&id).await;
    commit(
        repo.path(),
        "src/export.rs",
        "pub fn export_csv() {}\nconst AWS: &str = \"AKIAIOSFODNN7EXAMPLE\";\n",
        "feat: add CSV export",
        1_700_000_200,
    );
    app.eventually("the commit is drafted with the AI", || async {
        !llm.requests().is_empty()
            && app.get_json("/api/v1/cards").await["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["title"] == "Add CSV export")
    })
    .await;
    let sent = llm.requests()[0].1.to_string();
    assert!(sent.contains("Diffs:"), "{sent}");
    assert!(sent.contains("+++ b/src/export.rs"), "{sent}");
    assert!(sent.contains("+pub fn export_csv() {}"), "{sent}");
    assert!(
        !sent.contains("AKIAIOSFODNN7EXAMPLE"),
        "a secret in a diff is redacted before it is sent"
    );

    // Messages only: the same card refined sends no diff.
    assert_eq!(configure(&app, &base, "messages").await.status(), 200);
    let cards = app.get_json("/api/v1/cards").await;
    let card = cards["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["title"] == "Add CSV export")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = llm.requests().len();
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/refine"),
            &json!({"instruction": "make it shorter", "channels": ["x"]}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let sent = llm.requests()[before].1.to_string();
    assert!(sent.contains("make it shorter"), "{sent}");
    assert!(
        !sent.contains("Diffs:") && !sent.contains("+pub fn"),
        "{sent}"
    );
    assert!(
        sent.contains("export_csv (added)"),
        "the analysis still goes: {sent}"
    );
    app.stop().await;
}
