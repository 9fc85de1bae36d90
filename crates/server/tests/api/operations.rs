//! An operator's view: probes, metrics, request ids, error shapes.

use crate::helpers::{on_both_backends, spawn_app};
use covalynce_storage::Backend;

on_both_backends!(
    probes_report_up_live_and_ready,
    every_response_carries_a_request_id,
    metrics_count_requests_deliveries_and_jobs,
    unknown_paths_and_methods_answer_problem_json,
    problem_types_are_documented_at_their_urls,
    a_malformed_id_in_a_path_is_not_found_and_names_what_was_looked_for,
);

async fn probes_report_up_live_and_ready(backend: Backend) {
    let app = spawn_app(backend).await;
    for (path, status) in [
        ("/health", "ok"),
        ("/health/live", "live"),
        ("/health/ready", "ready"),
    ] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["status"], status);
    }
    app.stop().await;
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let ok = app.client.get(app.url("/health")).send().await.unwrap();
    let id = ok.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let err = app
        .client
        .get(app.url("/api/v1/sources"))
        .send()
        .await
        .unwrap();
    assert_eq!(err.status(), 401);
    assert!(err.headers().contains_key("x-request-id"));
    assert_ne!(
        err.headers()["x-request-id"],
        id.as_str(),
        "each request gets its own"
    );
    // A caller's own id (a proxy's, say) is kept, so logs can be joined across systems.
    let mine = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "trace-me-123");
    app.stop().await;
}

async fn metrics_count_requests_deliveries_and_jobs(backend: Backend) {
    let app = spawn_app(backend).await;
    app.client.get(app.url("/health")).send().await.unwrap();
    let src = app.github_source("Codertocat/Hello-World", "s").await;
    let r = app
        .deliver(&src, "push", "m-1", "wrong-secret", b"{}")
        .await;
    assert_eq!(r.status(), 401);
    let body = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(body.status(), 200);
    assert!(
        body.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = body.text().await.unwrap();
    for needle in [
        "covalynce_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}",
        "covalynce_http_request_duration_seconds_bucket",
        "covalynce_webhook_deliveries_total{outcome=\"invalid-signature\"}",
        "covalynce_jobs{status=\"queued\"}",
        "covalynce_database_up 1",
    ] {
        assert!(text.contains(needle), "metrics lack {needle}:\n{text}");
    }
    app.stop().await;
}

async fn unknown_paths_and_methods_answer_problem_json(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "/problems/not-found");
    assert_eq!(p["status"], 404);
    let r = app.client.delete(app.url("/health")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(p["type"], "/problems/method-not-allowed");
    app.stop().await;
}

async fn problem_types_are_documented_at_their_urls(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .client
        .get(app.url("/problems/invalid-signature"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("X-Hub-Signature-256"));
    app.stop().await;
}

/// Every route that takes an id parses it once, in one extractor: text that is no id of its
/// kind is 404 in the words of that kind (never a 400, a 500 or a query), and only after
/// the caller is known (a stranger is told 401 first).
async fn a_malformed_id_in_a_path_is_not_found_and_names_what_was_looked_for(backend: Backend) {
    use reqwest::Method;
    let app = spawn_app(backend).await;
    let routes = [
        (Method::GET, "/api/v1/cards/{x}", "card"),
        (Method::POST, "/api/v1/cards/{x}/approve", "card"),
        (Method::PATCH, "/api/v1/cards/{x}", "card"),
        (Method::POST, "/api/v1/cards/{x}/refine", "card"),
        (Method::GET, "/api/v1/events/{x}", "event"),
        (Method::GET, "/api/v1/sources/{x}", "source"),
        (Method::DELETE, "/api/v1/sources/{x}", "source"),
        (Method::GET, "/api/v1/channels/{x}", "channel"),
        (Method::PUT, "/api/v1/channels/{x}/slots", "channel"),
        (
            Method::POST,
            "/api/v1/publications/{x}/retry",
            "publication",
        ),
        (
            Method::POST,
            "/api/v1/publications/{x}/earlier",
            "publication",
        ),
        (Method::PATCH, "/api/v1/members/{x}", "member"),
        (Method::DELETE, "/api/v1/invitations/{x}", "invitation"),
        (Method::DELETE, "/api/v1/tokens/{x}", "token"),
    ];
    for (method, path, noun) in routes {
        let path = path.replace("{x}", "not-an-id");
        let r = app
            .client
            .request(method.clone(), app.url(&path))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{method} {path} without a token");
        let r = app
            .client
            .request(method.clone(), app.url(&path))
            .bearer_auth(&app.token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{method} {path}");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/not-found", "{method} {path}");
        assert_eq!(
            p["detail"],
            format!("there is no {noun} \"not-an-id\" in this workspace"),
            "{method} {path}"
        );
    }
    // A well-formed id of nothing here says the same, in the use case's words.
    let nothing = covalynce_domain::PublicationId::new();
    let r = app
        .post_json(
            &format!("/api/v1/publications/{nothing}/retry"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 404);
    let p: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        p["detail"],
        format!("there is no publication \"{nothing}\" in this workspace")
    );
    app.stop().await;
}
