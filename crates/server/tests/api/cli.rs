//! The `covalynce` binary as a user runs it.

use crate::helpers::{bounded, covalynce_cmd, on_both_backends, serve_process};
use covalynce_storage::Backend;

on_both_backends!(
    token_create_prints_a_working_token_as_the_last_line,
    sigterm_stops_the_server_cleanly,
    json_logs_carry_the_request_id,
    the_operators_commands_go_through_the_use_cases_and_are_audited_as_cli,
    a_token_the_operator_replaces_stops_working,
);

async fn token_create_prints_a_working_token_as_the_last_line(backend: Backend) {
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let out = covalynce_cmd(&dir, url.as_deref())
        .args(["token", "create", "--workspace", "acme"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().to_owned();
    assert!(token.starts_with("cvl_"), "{stdout}");
    let (_server, base) = serve_process(&dir, url.as_deref(), &[]).await;
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/workspace"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ws: serde_json::Value = r.json().await.unwrap();
    assert_eq!(ws["data"]["slug"], "acme");
    // The default workspace is "default".
    let out = covalynce_cmd(&dir, url.as_deref())
        .args(["token", "create"])
        .output()
        .unwrap();
    let token2 = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let r = reqwest::Client::new()
        .get(format!("{base}/api/v1/workspace"))
        .bearer_auth(&token2)
        .send()
        .await
        .unwrap();
    let ws: serde_json::Value = r.json().await.unwrap();
    assert_eq!(ws["data"]["slug"], "default");
}

async fn sigterm_stops_the_server_cleanly(backend: Backend) {
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let (mut server, base) = serve_process(&dir, url.as_deref(), &[]).await;
    assert_eq!(
        reqwest::get(format!("{base}/health"))
            .await
            .unwrap()
            .status(),
        200
    );
    let status = server.terminate();
    assert!(status.success(), "exit {status:?}:\n{}", server.stderr());
    let log = server.stderr();
    assert!(
        log.contains("shutdown signal received") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        reqwest::get(format!("{base}/health")).await.is_err(),
        "no longer accepting"
    );
}

async fn json_logs_carry_the_request_id(backend: Backend) {
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let (mut server, base) = serve_process(&dir, url.as_deref(), &["--log-format", "json"]).await;
    let r = reqwest::Client::new()
        .get(format!("{base}/health"))
        .header("x-request-id", "req-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.terminate();
    let log = server.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("req-abc-123"))
        .unwrap_or_else(|| panic!("no log line carries the request id:\n{log}"));
    let v: serde_json::Value = serde_json::from_str(line).expect("each log line is JSON");
    assert_eq!(v["span"]["request_id"], "req-abc-123", "{v}");
    for l in log.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
    }
}

#[test]
fn bad_input_on_the_command_line_gets_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], Option<&str>, &str); 3] = [
        (
            &["token", "create", "--workspace", "Not Valid"],
            None,
            "workspace name",
        ),
        (
            &["migrate"],
            Some("mysql://root@localhost/x"),
            "unsupported database URL",
        ),
        (
            &["migrate"],
            Some("postgres://nobody:hunter2@127.0.0.1:1/x"),
            "opening the database",
        ),
    ];
    for (args, db, expected) in cases {
        let out = covalynce_cmd(dir.path(), db).args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("error:") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !stderr.contains("hunter2"),
            "passwords never reach messages: {stderr}"
        );
    }
}

#[test]
fn migrate_applies_the_schema_and_exits() {
    bounded_sync(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = covalynce_cmd(dir.path(), None)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied (sqlite)"));
        assert!(dir.path().join("covalynce.db").exists());
    });
}

fn bounded_sync(f: impl FnOnce() + Send + 'static) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(bounded(60, async {
        tokio::task::spawn_blocking(f).await.unwrap()
    }));
}

mod keys {
    use super::*;

    /// An operator rotates the key that seals credentials: everything is re-sealed, and
    /// once the old key is thrown away the server still verifies webhooks with the
    /// source's secret.
    async fn story(backend: Backend) {
        let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
        let out = covalynce_cmd(&dir, url.as_deref())
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
        let secret = "rotate-me-source-secret";
        let body = crate::helpers::push_of_commit(&"a".repeat(40));
        let deliver = |base: String, source: String, guid: &'static str| {
            let client = client.clone();
            let body = body.clone();
            async move {
                client
                    .post(format!("{base}/hooks/github/{source}"))
                    .header("content-type", "application/json")
                    .header("x-github-event", "push")
                    .header("x-github-delivery", guid)
                    .header(
                        "x-hub-signature-256",
                        covalynce_sources::github::sign(secret.as_bytes(), &body),
                    )
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        let source = {
            let (mut server, base) = serve_process(&dir, url.as_deref(), &[]).await;
            let r = client
                .post(format!("{base}/api/v1/sources"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": secret}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: serde_json::Value = r.json().await.unwrap();
            let source = v["data"]["id"].as_str().unwrap().to_owned();
            let r = client
                .post(format!("{base}/api/v1/channels"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"kind": "webhook", "url": "https://example.com/hook", "secret": "channel-secret"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            assert_eq!(deliver(base, source.clone(), "before").await, 202);
            server.terminate();
            source
        };
        let old_key = std::fs::read_to_string(dir.join("secret.key")).unwrap();
        // On PostgreSQL a new secret key means a new scope key in the database, which only
        // the tables' owner may store: without its URL, rotation refuses before it starts.
        let owner = url
            .as_deref()
            .map(covalynce_storage::testing::owner_url_for);
        let rotate = || {
            let mut cmd = covalynce_cmd(&dir, url.as_deref());
            cmd.args(["keys", "rotate"]);
            if let Some(owner) = &owner {
                cmd.env("COVALYNCE_DATABASE_OWNER_URL", owner);
            }
            cmd
        };
        if url.is_some() {
            let out = covalynce_cmd(&dir, url.as_deref())
                .args(["keys", "rotate"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{stderr}");
            assert!(stderr.contains("--database-owner-url"), "{stderr}");
            assert_eq!(
                std::fs::read_to_string(dir.join("secret.key")).unwrap(),
                old_key,
                "nothing rotated"
            );
        }

        let out = rotate().output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("2 secret(s) re-sealed"), "{stdout}");
        let new_key = std::fs::read_to_string(dir.join("secret.key")).unwrap();
        assert_ne!(new_key, old_key);
        assert!(
            !stdout.contains(new_key.trim()) && !stdout.contains(old_key.trim()),
            "keys are never printed"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("secret.key.previous"))
                .unwrap()
                .trim(),
            old_key.trim()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["secret.key", "secret.key.previous"] {
                let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
        // Nothing is left under the old key: throw it away.
        std::fs::remove_file(dir.join("secret.key.previous")).unwrap();
        let (_server, base) = serve_process(&dir, url.as_deref(), &[]).await;
        assert_eq!(
            deliver(base, source, "after").await,
            202,
            "the re-sealed secret opens"
        );
        // A second rotation with nothing old left re-seals everything again, fine.
        let out = rotate().output().unwrap();
        assert!(out.status.success());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rotation_reseals_every_credential_on_sqlite() {
        bounded(120, story(Backend::Sqlite)).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rotation_reseals_every_credential_on_postgres() {
        bounded(120, story(Backend::Postgres)).await
    }
}

/// `plan` and `paths allow|revoke` are the operator's word: done by the use cases, so the
/// workspace's audit log names them (as `cli`) like any member's action.
async fn the_operators_commands_go_through_the_use_cases_and_are_audited_as_cli(backend: Backend) {
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let run = |args: &[&str]| {
        let out = covalynce_cmd(&dir, url.as_deref())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let token = run(&["token", "create", "--workspace", "acme"])
        .lines()
        .last()
        .unwrap()
        .to_owned();
    assert!(run(&["plan", "acme", "pro"]).contains("acme is on the PRO plan"));
    let repos = tempfile::tempdir().unwrap();
    let at = repos.path().to_str().unwrap();
    run(&["paths", "allow", "--workspace", "acme", at]);
    run(&["paths", "revoke", "--workspace", "acme", at]);
    // Revoking what was never allowed says so, and is not audited.
    let out = covalynce_cmd(&dir, url.as_deref())
        .args(["paths", "revoke", "--workspace", "acme", at])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("was not allowed"));

    let (_server, base) = serve_process(&dir, url.as_deref(), &[]).await;
    let get = |path: &str| {
        reqwest::Client::new()
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
    };
    let ws: serde_json::Value = get("/api/v1/workspace")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ws["data"]["plan"], "PRO");
    let audit: serde_json::Value = get("/api/v1/audit").await.unwrap().json().await.unwrap();
    let by_cli: Vec<(&str, &serde_json::Value)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "cli")
        .map(|e| (e["action"].as_str().unwrap(), &e["detail"]))
        .collect();
    let actions: Vec<&str> = by_cli.iter().map(|(a, _)| *a).collect();
    for want in [
        "token.create",
        "workspace.plan",
        "paths.allow",
        "paths.revoke",
    ] {
        assert_eq!(
            actions.iter().filter(|a| **a == want).count(),
            1,
            "{want} in {audit}"
        );
    }
    let plan = by_cli
        .iter()
        .find(|(a, _)| *a == "workspace.plan")
        .unwrap()
        .1;
    assert_eq!(
        (plan["plan"].as_str(), plan["was"].as_str()),
        (Some("pro"), Some("solo")),
        "{plan}"
    );
}

/// The demo prints a fresh token each start; the one an earlier start printed is revoked
/// rather than left working beside it. A member can never set a plan.
async fn a_token_the_operator_replaces_stops_working(backend: Backend) {
    use covalynce_app::operator::Earlier;
    let store = covalynce_storage::testing::fresh_store(backend).await;
    let app = covalynce_app::App::new(store.clone());
    let slug = covalynce_domain::WorkspaceSlug::parse("demo").unwrap();
    let (ws, first) = app
        .operator_token(&slug, "demo", Earlier::Revoke)
        .await
        .unwrap();
    let (_, kept) = app
        .operator_token(&slug, "ci", Earlier::Keep)
        .await
        .unwrap();
    let (_, second) = app
        .operator_token(&slug, "demo", Earlier::Revoke)
        .await
        .unwrap();
    let live = |t: &str| {
        let hash = covalynce_app::tokens::hash(t);
        let store = store.clone();
        async move { store.workspace_for_token(&hash).await.unwrap().is_some() }
    };
    assert!(
        !live(&first.token).await,
        "the earlier demo token is revoked"
    );
    assert!(live(&second.token).await);
    assert!(live(&kept.token).await, "a token of another name is kept");

    let member = covalynce_app::Principal::new(
        covalynce_app::Actor::Token {
            id: second.id,
            user: None,
        },
        covalynce_domain::Role::Owner,
        None,
        None,
    );
    let owner = covalynce_app::Acting::authorize(ws, member).unwrap();
    let refused = app
        .set_plan(&owner, covalynce_domain::Plan::Unlimited)
        .await;
    assert!(
        matches!(refused, Err(covalynce_app::AppError::Forbidden(_))),
        "{refused:?}"
    );
    store.close().await;
}
