//! Work that ships outside GitHub: a Jira issue reaching done, and any tool posting to
//! `POST /api/v1/events`. Both become cards like a GitHub push does.

use crate::helpers::{TestApp, on_both_backends, spawn_app};
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    a_jira_issue_reaching_done_becomes_a_card_once,
    jira_deliveries_prove_the_sources_secret_by_signature_or_url,
    any_tool_can_report_shipped_work_once_per_idempotency_key,
    bad_generic_events_get_clear_problems_and_store_nothing,
);

fn jira_issue(category: &str, status: &str, field: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "timestamp": 1_795_428_000_000_i64,
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": {"accountId": "5b10ac8d82e05b22cc7d4ef5", "displayName": "Ada Lovelace"},
        "issue": {
            "id": "10002",
            "self": "https://acme.atlassian.net/rest/api/2/10002",
            "key": "ROCK-42",
            "fields": {
                "summary": "Export reports as CSV",
                "description": "Customers can download any report as a CSV file.",
                "status": {"name": status, "id": "10001", "statusCategory": {"id": 3, "key": category, "name": "Done"}},
                "issuetype": {"name": "Story"},
                "project": {"key": "ROCK", "name": "Rocket"},
                "fixVersions": [],
                "assignee": {"displayName": "Grace Hopper"}
            }
        },
        "changelog": {"id": "10400", "items": [
            {"field": field, "fieldtype": "jira", "from": "3", "fromString": "In Review", "to": "10001", "toString": status}
        ]}
    }))
    .unwrap()
}

async fn jira_source(app: &TestApp) -> (String, String) {
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "jira", "name": "acme.atlassian.net"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["data"]["webhook_url"],
        format!("/hooks/jira/{}", v["data"]["id"].as_str().unwrap())
    );
    (
        v["data"]["id"].as_str().unwrap().to_owned(),
        v["data"]["secret"]
            .as_str()
            .expect("a generated secret, shown once")
            .to_owned(),
    )
}

async fn deliver_jira(
    app: &TestApp,
    source: &str,
    id: &str,
    secret: Option<&str>,
    body: &[u8],
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(&format!("/hooks/jira/{source}")))
        .header("content-type", "application/json")
        .header("x-atlassian-webhook-identifier", id)
        .header("x-atlassian-webhook-flow", "Primary");
    if let Some(s) = secret {
        req = req.header(
            "x-hub-signature",
            covalynce_sources::github::sign(s.as_bytes(), body),
        );
    }
    req.body(body.to_vec()).send().await.unwrap()
}

async fn a_jira_issue_reaching_done_becomes_a_card_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let (source, secret) = jira_source(&app).await;

    // Moved to "Done" in a workflow where that status is still in progress: not done.
    let r = deliver_jira(
        &app,
        &source,
        "d-1",
        Some(&secret),
        &jira_issue("indeterminate", "Done", "status"),
    )
    .await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert!(v["ignored"].as_str().unwrap().contains("not done"), "{v}");

    // Another field changed: not a status move.
    let r = deliver_jira(
        &app,
        &source,
        "d-2",
        Some(&secret),
        &jira_issue("done", "Shipped", "assignee"),
    )
    .await;
    assert_eq!(r.status(), 202);
    assert!(
        r.json::<Value>().await.unwrap()["ignored"]
            .as_str()
            .unwrap()
            .contains("not its status")
    );

    // Moved to "Shipped", whose category is done: an event, and a card.
    let body = jira_issue("done", "Shipped", "status");
    let r = deliver_jira(&app, &source, "d-3", Some(&secret), &body).await;
    assert_eq!(r.status(), 202);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["events"][0]["kind"], "issue_done");
    assert_eq!(v["events"][0]["new"], true);

    // Jira retries the same delivery (same identifier): answered, nothing new.
    let r = deliver_jira(&app, &source, "d-3", Some(&secret), &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["duplicate"], true);
    // A second delivery about the same issue reaching done: the same event.
    let r = deliver_jira(&app, &source, "d-4", Some(&secret), &body).await;
    assert_eq!(r.json::<Value>().await.unwrap()["events"][0]["new"], false);

    let events = app.get_json("/api/v1/events?kind=issue_done").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    let e = &events["data"][0];
    assert_eq!(e["title"], "ROCK-42: Export reports as CSV");
    assert_eq!(
        e["data"]["url"],
        "https://acme.atlassian.net/browse/ROCK-42"
    );
    let cards = app.wait_pending(1).await;
    let card = app.card(&cards[0]).await;
    let text = card["variants"].to_string();
    assert!(text.contains("CSV"), "the card tells what shipped: {text}");
    assert!(
        text.contains("Rocket"),
        "named after the Jira project: {text}"
    );
    app.stop().await;
}

async fn jira_deliveries_prove_the_sources_secret_by_signature_or_url(backend: Backend) {
    let app = spawn_app(backend).await;
    let (source, _secret) = jira_source(&app).await;
    let body = jira_issue("done", "Done", "status");
    for (secret, expect) in [
        (None, "X-Hub-Signature header is missing"),
        (Some("wrong"), "does not match"),
    ] {
        let r = deliver_jira(&app, &source, "x-1", secret, &body).await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains(expect), "{p}");
    }
    // A GitHub source's id is not a Jira source.
    let gh = app.github_source("acme/rocket", "s").await;
    let r = deliver_jira(&app, &gh, "x-2", Some("s"), &body).await;
    assert_eq!(r.status(), 404);
    assert!(
        app.get_json("/api/v1/events").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // A signed-only source does not take the secret in the URL instead.
    let (signed_only, its_secret) = jira_source(&app).await;
    let by_url = |source: &str, secret: &str, id: &str| {
        app.client
            .post(app.url(&format!("/hooks/jira/{source}?secret={secret}")))
            .header("content-type", "application/json")
            .header("x-atlassian-webhook-identifier", id)
            .body(body.clone())
            .send()
    };
    assert_eq!(
        by_url(&signed_only, &its_secret, "u-0")
            .await
            .unwrap()
            .status(),
        401
    );

    // A Jira webhook that cannot sign: the source is made `signed: false`, and its URL
    // (shown once) carries the secret.
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "jira", "name": "legacy.atlassian.net", "signed": false}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    let unsigned = made["data"]["id"].as_str().unwrap().to_owned();
    let secret = made["data"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(
        made["data"]["webhook_url"],
        format!("/hooks/jira/{unsigned}?secret={secret}")
    );
    let listed = app.get_json("/api/v1/sources").await.to_string();
    assert!(!listed.contains(&secret), "the secret is shown once");
    assert_eq!(
        by_url(&unsigned, "wrong", "u-1").await.unwrap().status(),
        401
    );
    let taken = by_url(&unsigned, &secret, "u-2").await.unwrap();
    assert_eq!(taken.status(), 202, "{}", taken.text().await.unwrap());
    // A signature still works for it (the same issue again: stored once), and a wrong
    // one is still refused.
    let again = deliver_jira(&app, &unsigned, "u-3", Some(&secret), &body).await;
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["events"][0]["new"], false, "{again}");
    assert_eq!(
        deliver_jira(&app, &unsigned, "u-4", Some("wrong"), &body)
            .await
            .status(),
        401
    );

    // Removing the source stops its deliveries at once.
    let (other, secret) = jira_source(&app).await;
    let r = app
        .client
        .delete(app.url(&format!("/api/v1/sources/{other}")))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = deliver_jira(&app, &other, "x-3", Some(&secret), &body).await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

async fn any_tool_can_report_shipped_work_once_per_idempotency_key(backend: Backend) {
    let app = spawn_app(backend).await;
    let release = json!({
        "kind": "release",
        "title": "Rocket 2.4.0",
        "body": "- feat: export reports as CSV\n- fix: login loop on Safari",
        "url": "https://gitlab.com/acme/rocket/-/releases/v2.4.0",
        "refs": {"repo": "acme/rocket", "version": "v2.4.0"},
        "occurred_at": "2026-11-23T10:00:00Z",
        "idempotency_key": "gitlab-release-2.4.0"
    });
    let r = app.post_json("/api/v1/events", &release).await;
    assert_eq!(r.status(), 201);
    let first: Value = r.json().await.unwrap();
    assert_eq!(first["data"]["new"], true);
    assert_eq!(first["data"]["event"]["kind"], "release");
    assert_eq!(
        first["data"]["event"]["occurred_at"],
        "2026-11-23T10:00:00.000Z"
    );

    // n8n retries: same key, same answer, nothing new.
    let r = app.post_json("/api/v1/events", &release).await;
    assert_eq!(r.status(), 200);
    let again: Value = r.json().await.unwrap();
    assert_eq!(again["data"]["new"], false);
    assert_eq!(again["data"]["event"]["id"], first["data"]["event"]["id"]);

    // The key may come as a header instead.
    let deploy = json!({"kind": "deploy", "title": "Deployed search v2 to production",
        "body": "Search answers in under 50 ms now."});
    let send = || {
        app.client
            .post(app.url("/api/v1/events"))
            .bearer_auth(&app.token)
            .header("idempotency-key", "deploy-381")
            .json(&deploy)
            .send()
    };
    assert_eq!(send().await.unwrap().status(), 201);
    assert_eq!(send().await.unwrap().status(), 200);

    let events = app.get_json("/api/v1/events").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 2);
    let cards = app.wait_pending(2).await;
    let mut titles = Vec::new();
    for c in &cards {
        titles.push(app.card(c).await["title"].as_str().unwrap().to_owned());
    }
    assert!(titles.iter().any(|t| t.contains("2.4.0")), "{titles:?}");
    // A generic source was made for the workspace, once.
    let sources = app.get_json("/api/v1/sources").await;
    let generic: Vec<&Value> = sources["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "generic")
        .collect();
    assert_eq!(generic.len(), 1);
    assert_eq!(generic[0]["receives"], json!(["api"]));
    assert_eq!(generic[0]["webhook_url"], "/api/v1/events");
    app.stop().await;
}

async fn bad_generic_events_get_clear_problems_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let base = json!({"kind": "change", "title": "Faster exports", "idempotency_key": "k1"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, expect) in [
        (with("kind", json!("push")), "kind must be one of"),
        (with("title", json!("")), "title"),
        (with("url", json!("ftp://example.com")), "url"),
        (with("occurred_at", json!("last tuesday")), "occurred_at"),
        (json!({"kind": "change", "title": "x"}), "idempotency_key"),
        (with("kind", json!("ci_run")), "conclusion"),
        (with("extra", json!(1)), "unknown field"),
    ] {
        let r = app.post_json("/api/v1/events", &body).await;
        assert_eq!(r.status(), 422, "{body}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert!(
            p["detail"].as_str().unwrap().contains(expect),
            "{body}: {p}"
        );
    }
    let r = app
        .client
        .post(app.url("/api/v1/events"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        app.get_json("/api/v1/events").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}
