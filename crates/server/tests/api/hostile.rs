//! A shared server is hostile ground: what one workspace's editor configures never reaches
//! the server's files or another workspace's repositories (issue 20).

use crate::draft::{commit, git};
use crate::helpers::{TestApp, on_both_backends, spawn_app, spawn_app_on, test_jobs_config};
use crate::publishing::{a_card, outbox};
use covalynce_domain::{ChannelId, WorkspaceSlug};
use covalynce_storage::{Backend, NewChannel};
use serde_json::{Value, json};
use std::path::Path;

on_both_backends!(
    an_editor_cannot_make_an_outbox_write_outside_its_folder,
    outboxes_that_name_server_paths_stop_at_start_and_say_why,
    a_workspace_reads_only_the_local_repositories_the_operator_allowed_it,
);

/// An outbox channel as a release before this one stored it: naming a server path.
async fn legacy_outbox(app: &TestApp, path: &Path) -> String {
    let ws = app
        .store
        .workspace_by_slug(&WorkspaceSlug::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    let id = ChannelId::new();
    app.store
        .insert_channel(&NewChannel {
            id,
            workspace_id: ws.id,
            kind: "outbox".into(),
            name: "Old outbox".into(),
            config: json!({"path": path.display().to_string(), "variant": "x"}),
            sealed_credentials: None,
        })
        .await
        .unwrap();
    id.to_string()
}

async fn an_editor_cannot_make_an_outbox_write_outside_its_folder(backend: Backend) {
    let app = spawn_app(backend).await;
    let home = tempfile::tempdir().unwrap();
    let profile = home.path().join(".bashrc");
    std::fs::write(&profile, "export PATH=/usr/bin\n").unwrap();

    // Naming a path is refused, with what to do instead.
    let r = app
        .post_json(
            "/api/v1/channels",
            &json!({"kind": "outbox", "path": profile.display().to_string()}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("name a file instead, e.g. {\"kind\": \"outbox\", \"file\": \"launches.jsonl\"}"),
        "{problem}"
    );
    // So is a file name that climbs out, or names a folder or a hidden file.
    for file in ["../../.bashrc", "/etc/cron.d/x", "a/b.jsonl", ".bashrc", "..", "x\u{2215}y"] {
        let r = app
            .post_json("/api/v1/channels", &json!({"kind": "outbox", "file": file}))
            .await;
        assert_eq!(r.status(), 422, "{file}");
    }
    assert!(app.get_json("/api/v1/channels").await["data"].as_array().unwrap().is_empty());

    // A channel stored before outboxes were confined still names the profile: approving a
    // card to it writes nothing there, and the channel says why and stops.
    let legacy = legacy_outbox(&app, &profile).await;
    let card = a_card(&app, 1, "feat: shipped v9 $(touch /tmp/PWNED) today").await;
    app.approve(&card, &legacy).await;
    let settled = app.settled(&card).await;
    assert_eq!(settled["status"], "failed", "{settled}");
    let error = settled["publications"][0]["error"].as_str().unwrap();
    assert!(error.contains("names a path on the server"), "{error}");
    assert!(!error.contains(home.path().to_str().unwrap()), "no server path in: {error}");
    let channel = app.get_json(&format!("/api/v1/channels/{legacy}")).await;
    assert_eq!(channel["data"]["status"], "disabled");
    assert!(
        channel["data"]["last_error"]
            .as_str()
            .unwrap()
            .contains("add an outbox with a file name")
    );
    let test = app.test_channel(&legacy).await;
    assert_eq!(test["data"]["ok"], false, "{test}");
    let r = app
        .post_json(&format!("/api/v1/channels/{legacy}/enable"), &json!({}))
        .await;
    assert_eq!(r.status(), 422, "enabling cannot fix it");
    assert_eq!(
        std::fs::read_to_string(&profile).unwrap(),
        "export PATH=/usr/bin\n",
        "the profile is untouched"
    );

    // A named file lands in the workspace's own folder of the data dir.
    let (channel, path) = outbox(&app, "launches.jsonl").await;
    assert!(path.starts_with(app.data_dir.join("outbox")), "{}", path.display());
    let test = app.test_channel(&channel).await;
    assert_eq!(test["data"]["ok"], true, "{test}");
    assert!(!test["data"]["detail"].as_str().unwrap().contains(app.data_dir.to_str().unwrap()));
    assert!(path.exists());
    app.stop().await;
}

async fn outboxes_that_name_server_paths_stop_at_start_and_say_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let elsewhere = tempfile::tempdir().unwrap();
    let legacy = legacy_outbox(&app, &elsewhere.path().join("outbox.jsonl")).await;
    let (kept, _) = outbox(&app, "kept.jsonl").await;
    let (url, dir) = (app.database_url.clone(), app.data_dir.clone());
    app.stop().await;

    // The next start stops it visibly, before any card is approved to it.
    let app = spawn_app_on(backend, url, dir, test_jobs_config()).await;
    let channel = app.get_json(&format!("/api/v1/channels/{legacy}")).await;
    assert_eq!(channel["data"]["status"], "disabled", "{channel}");
    assert!(
        channel["data"]["last_error"]
            .as_str()
            .unwrap()
            .contains("names a path on the server")
    );
    let kept = app.get_json(&format!("/api/v1/channels/{kept}")).await;
    assert_eq!(kept["data"]["status"], "active", "a confined outbox is left alone");
    app.stop().await;
}

fn init_repo(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    git(path, &["init", "-q", "-b", "main"], 1_700_000_000);
    commit(path, "src/lib.rs", "fn a() {}", "feat: first", 1_700_000_100);
}

async fn create_git(app: &TestApp, token: &str, path: &Path) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/sources"))
        .bearer_auth(token)
        .json(&json!({"kind": "git", "path": path.display().to_string()}))
        .send()
        .await
        .unwrap()
}

async fn a_workspace_reads_only_the_local_repositories_the_operator_allowed_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let bravo = app.token_for("bravo").await;
    let root = tempfile::tempdir().unwrap();
    let root = root.path().canonicalize().unwrap();
    let ours = root.join("acme-repos");
    init_repo(&ours.join("rocket"));
    init_repo(&root.join("bravo-repo"));
    std::os::unix::fs::symlink("../bravo-repo", ours.join("sneaky")).unwrap();

    // Nothing allowed yet: an existing repository and a missing path get the same answer.
    let detail = |v: Value| v["detail"].as_str().unwrap().to_owned();
    let existing = create_git(&app, &app.token, &root.join("bravo-repo")).await;
    assert_eq!(existing.status(), 422);
    let missing = create_git(&app, &app.token, &root.join("no-such-repo")).await;
    assert_eq!(missing.status(), 422);
    assert_eq!(
        detail(existing.json().await.unwrap()).replace("bravo-repo", "X"),
        detail(missing.json().await.unwrap()).replace("no-such-repo", "X"),
        "a refusal tells nothing about what exists"
    );

    // The operator allows each workspace its own.
    app.allow_path(&ours).await;
    let b = app
        .store
        .workspace_by_slug(&WorkspaceSlug::parse("bravo").unwrap())
        .await
        .unwrap()
        .unwrap();
    let bravo_repo = root.join("bravo-repo").display().to_string();
    app.store.allow_path(b.id, &bravo_repo).await.unwrap();
    let r = create_git(&app, &app.token, &ours.join("rocket")).await;
    assert_eq!(r.status(), 201);
    let rocket: Value = r.json().await.unwrap();
    let rocket = rocket["data"]["id"].as_str().unwrap().to_owned();
    // Bravo's repository stays Bravo's: not directly, not through `..`, not through a link.
    for sneaky in [
        root.join("bravo-repo"),
        ours.join("../bravo-repo"),
        ours.join("rocket/../../bravo-repo"),
        ours.join("sneaky"),
    ] {
        let r = create_git(&app, &app.token, &sneaky).await;
        assert_eq!(r.status(), 422, "{}", sneaky.display());
    }
    let r = create_git(&app, &bravo, &root.join("bravo-repo")).await;
    assert_eq!(r.status(), 201);
    let theirs: Value = r.json().await.unwrap();
    let theirs = theirs["data"]["id"].as_str().unwrap().to_owned();

    // The operator takes Acme's allowance back: its source stops being read, and says so.
    app.watcher_has_seen(&rocket).await;
    app.watcher_has_seen(&theirs).await;
    let a = app
        .store
        .workspace_by_slug(&WorkspaceSlug::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(app.store.revoke_path(a.id, &ours.display().to_string()).await.unwrap());
    let source = app.get_json(&format!("/api/v1/sources/{rocket}")).await;
    assert!(
        source["data"]["stopped"]
            .as_str()
            .unwrap()
            .contains("not watched"),
        "{source}"
    );
    commit(&ours.join("rocket"), "src/new.rs", "fn b() {}", "feat: second", 1_700_000_200);
    commit(&root.join("bravo-repo"), "src/new.rs", "fn b() {}", "feat: theirs", 1_700_000_200);
    // Bravo's allowed repository is read (so the watcher ran), Acme's revoked one is not.
    let events_of = |token: String| {
        let app = &app;
        async move {
            let r = app
                .client
                .get(app.url("/api/v1/events"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            let v: Value = r.json().await.unwrap();
            v["data"].as_array().unwrap().len()
        }
    };
    app.eventually("bravo's new commit is an event", || async {
        events_of(bravo.clone()).await == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(events_of(app.token.clone()).await, 0, "a revoked path is not read");
    app.stop().await;
}
