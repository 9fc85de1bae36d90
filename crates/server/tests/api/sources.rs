//! A user connects sources through the API; tokens keep workspaces apart.

use crate::helpers::{on_both_backends, spawn_app};
use covalynce_storage::Backend;
use serde_json::json;

on_both_backends!(
    the_api_requires_a_valid_bearer_token,
    a_github_source_gets_a_webhook_url,
    a_generated_secret_is_shown_once,
    bad_source_requests_get_clear_problems_and_store_nothing,
    a_local_git_repository_can_be_a_source,
    another_workspaces_ids_answer_404,
    the_webhook_secret_is_not_stored_in_plain_text,
);

async fn the_api_requires_a_valid_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    for auth in [
        None,
        Some("Bearer"),
        Some("Bearer cvl_nope"),
        Some("Basic dXNlcjpwYXNz"),
        Some(&*format!("Token {}", app.token)),
    ] {
        let mut req = app.client.get(app.url("/api/v1/workspace"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{auth:?}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/unauthorized");
    }
    let ws = app.get_json("/api/v1/workspace").await;
    assert_eq!(ws["data"]["slug"], "acme");
    assert_eq!(ws["data"]["plan"], "SOLO");
    assert_eq!(ws["data"]["card_limit"], 5);
    assert_eq!(ws["data"]["cards_used"], 0);
    // The scheme is case-insensitive, as RFC 9110 says.
    let r = app
        .client
        .get(app.url("/api/v1/workspace"))
        .header("authorization", format!("bearer {}", app.token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}

async fn a_github_source_gets_a_webhook_url(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "github", "repo": "acme/rocket", "secret": "s3cret"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = r.json().await.unwrap();
    let id = body["data"]["id"].as_str().unwrap();
    assert_eq!(body["data"]["webhook_url"], format!("/hooks/github/{id}"));
    assert_eq!(body["data"]["repo"], "acme/rocket");
    assert!(
        body["data"].get("secret").is_none(),
        "a secret the user chose is never echoed"
    );
    assert_eq!(location, format!("/api/v1/sources/{id}"));
    let one = app.get_json(&location).await;
    assert_eq!(one["data"]["id"], id);
    assert_eq!(one["data"]["last_delivery_at"], serde_json::Value::Null);
    let all = app.get_json("/api/v1/sources").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 1);
    assert_eq!(all["meta"]["count"], 1);
    app.stop().await;
}

async fn a_generated_secret_is_shown_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "github", "repo": "acme/rocket"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let secret = body["data"]["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32);
    let id = body["data"]["id"].as_str().unwrap();
    let again = app.get_json(&format!("/api/v1/sources/{id}")).await;
    assert!(again["data"].get("secret").is_none());
    // The generated secret is the one deliveries are verified with.
    let ping = crate::helpers::fixture("ping/payload.json");
    let r = app.deliver(id, "ping", "p-1", &secret, &ping).await;
    assert_eq!(r.status(), 200);
    app.stop().await;
}

async fn bad_source_requests_get_clear_problems_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    // The operator allowed the data dir (not a repository itself).
    app.allow_path(&app.data_dir).await;
    let cases: Vec<(reqwest::RequestBuilder, u16, &str, &str)> = vec![
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .body("{not json")
                .header("content-type", "application/json"),
            400,
            "/problems/malformed-json",
            "",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .body(r#"{"kind":"github"}"#),
            415,
            "/problems/unsupported-media-type",
            "",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "gitlab", "repo": "a/b"})),
            422,
            "/problems/validation",
            "unknown variant",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "github"})),
            422,
            "/problems/validation",
            "repo",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "github", "repo": "no-slash"})),
            422,
            "/problems/validation",
            "owner/name",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "github", "repo": "a/b", "secret": ""})),
            422,
            "/problems/validation",
            "secret",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "git", "path": "relative/path"})),
            422,
            "/problems/validation",
            "not a path the server's operator allowed this workspace",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "git", "path": "/definitely/not/here"})),
            422,
            "/problems/validation",
            "not a path the server's operator allowed this workspace",
        ),
        (
            app.client
                .post(app.url("/api/v1/sources"))
                .json(&json!({"kind": "git", "path": app.data_dir.display().to_string()})),
            422,
            "/problems/validation",
            "not a git repository",
        ),
    ];
    for (req, status, kind, detail) in cases {
        let r = req.bearer_auth(&app.token).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{kind} {detail}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["type"], kind);
        assert!(p["detail"].as_str().unwrap().contains(detail), "{p}");
    }
    let all = app.get_json("/api/v1/sources").await;
    assert!(
        all["data"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
    let r = app.get("/api/v1/events?kind=bogus").await;
    assert_eq!(r.status(), 422);
    // An event status is one of the four the drafting job writes, not any text.
    let r = app.get("/api/v1/events?status=ready").await;
    assert_eq!(r.status(), 422);
    let p: serde_json::Value = r.json().await.unwrap();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("status must be one of new, drafted, skipped, over_limit"),
        "{p}"
    );
    assert_eq!(
        app.get("/api/v1/events?status=over_limit").await.status(),
        200
    );
    let r = app.get("/api/v1/jobs?status=bogus").await;
    assert_eq!(r.status(), 422);
    app.stop().await;
}

async fn a_local_git_repository_can_be_a_source(backend: Backend) {
    let app = spawn_app(backend).await;
    let repo = app.data_dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let status = std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(&repo)
        .status()
        .unwrap();
    assert!(status.success());
    app.allow_path(&repo).await;
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "git", "path": repo.display().to_string()}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["data"]["kind"], "git");
    assert_eq!(body["data"]["webhook_url"], serde_json::Value::Null);
    assert_eq!(
        body["data"]["path"],
        repo.canonicalize().unwrap().display().to_string()
    );
    // The same repository again (by another spelling of its path) is not a second source:
    // every change in it would be drafted twice.
    let again = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "git", "path": format!("{}/", repo.join(".").display())}),
        )
        .await;
    assert_eq!(again.status(), 409);
    let p: serde_json::Value = again.json().await.unwrap();
    assert_eq!(p["type"], "/problems/conflict");
    assert!(
        p["detail"].as_str().unwrap().contains(&format!(
            "is already source {}",
            body["data"]["id"].as_str().unwrap()
        )),
        "{p}"
    );
    // A git source does not take GitHub webhooks.
    let id = body["data"]["id"].as_str().unwrap();
    let r = app.deliver(id, "ping", "x", "s", b"{}").await;
    assert_eq!(r.status(), 404);
    app.stop().await;
}

async fn another_workspaces_ids_answer_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", "s3cret").await;
    let push = crate::helpers::fixture("push/with-new-branch.payload.json");
    assert_eq!(
        app.deliver(&src, "push", "d-1", "s3cret", &push)
            .await
            .status(),
        202
    );
    let events = app.get_json("/api/v1/events").await;
    let event_id = events["data"][0]["id"].as_str().unwrap().to_owned();

    let other = app.token_for("globex").await;
    for path in [
        format!("/api/v1/sources/{src}"),
        format!("/api/v1/events/{event_id}"),
        "/api/v1/sources/not-an-id".into(),
    ] {
        let r = app
            .client
            .get(app.url(&path))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/not-found");
    }
    for path in [
        "/api/v1/sources",
        "/api/v1/events",
        "/api/v1/deliveries",
        "/api/v1/jobs",
    ] {
        let r = app
            .client
            .get(app.url(path))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(
            body["data"].as_array().unwrap().is_empty(),
            "{path} leaks: {body}"
        );
        let mine = app.get_json(path).await;
        assert!(
            !mine["data"].as_array().unwrap().is_empty(),
            "{path} shows the owner's rows"
        );
    }
    app.stop().await;
}

async fn the_webhook_secret_is_not_stored_in_plain_text(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = "correct-horse-battery-staple-42";
    app.github_source("acme/rocket", secret).await;
    match backend {
        Backend::Sqlite => {
            app.store.close().await;
            let mut found = false;
            for entry in std::fs::read_dir(&app.data_dir).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                found |= bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            }
            assert!(!found, "the secret appears in a file in the data dir");
        }
        Backend::Postgres => {
            // As the administrator: row level security hides the rows from a session
            // that names no workspace, which would make this search vacuous.
            let url =
                covalynce_storage::testing::admin_url_for(app.database_url.as_deref().unwrap());
            let out = std::process::Command::new("pg_dump")
                .args(["--data-only", &url])
                .output();
            let dump = match out {
                Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
                _ => {
                    // No pg_dump client: read every text and bytea column of sources instead.
                    use sqlx::Connection;
                    let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                    let rows: Vec<(Option<String>, Option<Vec<u8>>)> =
                        sqlx::query_as("SELECT repo, secret FROM sources")
                            .fetch_all(&mut c)
                            .await
                            .unwrap();
                    format!(
                        "{rows:?}{}",
                        rows.iter()
                            .map(
                                |(_, s)| String::from_utf8_lossy(s.as_deref().unwrap_or_default())
                                    .into_owned()
                            )
                            .collect::<String>()
                    )
                }
            };
            assert!(dump.contains("acme/rocket"), "the dump has the source");
            assert!(
                !dump.contains(secret),
                "the secret appears in the database dump"
            );
        }
    }
    app.stop().await;
}
