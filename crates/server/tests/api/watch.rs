//! Watching local repositories: no GitHub account, new work becomes cards.

use crate::draft::{commit, git};
use crate::helpers::{covalynce_cmd, on_both_backends, serve_process, spawn_app};
use covalynce_storage::{Backend, EventFilter};
use serde_json::json;

on_both_backends!(
    watch_drafts_new_commits_and_tags_and_never_twice,
    a_git_source_added_through_the_api_is_watched_by_the_server,
    a_release_folds_its_waiting_pushes_and_does_not_announce_published_ones_again,
    watching_a_path_allows_that_path_only_and_once,
);

/// The store a `covalynce watch` run wrote, and its workspace `acme`.
async fn acme(
    url: Option<&str>,
    data: &std::path::Path,
) -> (
    std::sync::Arc<dyn covalynce_storage::Store>,
    covalynce_storage::Workspace,
) {
    let store = covalynce_storage::open(&covalynce_storage::testing::connect_for(url, data))
        .await
        .unwrap();
    let ws = store
        .ensure_workspace(&covalynce_domain::WorkspaceSlug::parse("acme").unwrap())
        .await
        .unwrap();
    (store, ws)
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"], 1_700_000_000);
    commit(
        dir.path(),
        "src/lib.rs",
        "fn a() {}",
        "feat: an old feature",
        1_700_000_100,
    );
    dir
}

async fn watch_drafts_new_commits_and_tags_and_never_twice(backend: Backend) {
    let (url, data) = covalynce_storage::testing::fresh_database(backend).await;
    let repo = repo();
    let path = repo.path().to_str().unwrap().to_owned();
    let once = || {
        let out = covalynce_cmd(&data, url.as_deref())
            .args(["watch", "--workspace", "acme", "--once", &path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // The first look remembers where the repository is; history is not drafted.
    assert!(once().ends_with("0 new event(s)\n"));
    commit(
        repo.path(),
        "src/wrap.rs",
        "fn wrap() {}",
        "feat: add --wrap=word flag",
        1_700_000_200,
    );
    commit(
        repo.path(),
        "src/lib.rs",
        "fn a() { }",
        "fix: handle empty input",
        1_700_000_300,
    );
    git(repo.path(), &["tag", "v1.0.0"], 1_700_000_300);
    assert!(once().ends_with("2 new event(s)\n"), "one push, one tag");
    // A restart (another run) drafts nothing twice.
    assert!(once().ends_with("0 new event(s)\n"));

    let (store, ws) = acme(url.as_deref(), &data).await;
    let events = store
        .list_events(
            ws.id,
            &EventFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|e| e.status == covalynce_domain::EventStatus::Drafted),
        "{events:?}"
    );
    let push = events
        .iter()
        .find(|e| e.kind == covalynce_domain::EventKind::Push)
        .unwrap();
    assert_eq!(push.facts.commits().len(), 2, "only the new commits");
    let cards = store
        .list_cards(
            ws.id,
            &covalynce_storage::CardFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cards.len(), 2);
    let release = cards
        .iter()
        .find(|c| c.title.ends_with("v1.0.0"))
        .expect("a release card for the tag");
    assert!(
        release.content.contains("Add --wrap=word flag")
            && release.content.contains("Handle empty input")
    );
    store.close().await;
}

/// `covalynce watch repo/src`, twice: one source, for exactly the path the operator named,
/// and only that path allowed: naming a folder inside a clone must not open the clone (or
/// anything above it) to the workspace's members. A folder that is no repository is told
/// in words and allows nothing.
async fn watching_a_path_allows_that_path_only_and_once(backend: Backend) {
    let (url, data) = covalynce_storage::testing::fresh_database(backend).await;
    let repo = repo();
    let src = repo.path().join("src").canonicalize().unwrap();
    let watch = |path: &std::path::Path| {
        covalynce_cmd(&data, url.as_deref())
            .args(["watch", "--workspace", "acme", "--once"])
            .arg(path)
            .output()
            .unwrap()
    };
    let mut lines = Vec::new();
    for _ in 0..2 {
        let out = watch(&src);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let line = stdout.lines().find(|l| l.starts_with("watching ")).unwrap();
        assert!(
            line.starts_with(&format!("watching {} (source ", src.display())),
            "{line}"
        );
        lines.push(line.to_owned());
    }
    assert_eq!(lines[0], lines[1], "one source for the path");
    let elsewhere = tempfile::tempdir().unwrap();
    let out = watch(elsewhere.path());
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a git repository"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (store, ws) = acme(url.as_deref(), &data).await;
    assert_eq!(
        store.allowed_paths(ws.id).await.unwrap(),
        vec![src.display().to_string()],
        "exactly what the operator named"
    );
}

/// A repository the operator allowed, added as a git source through the API, after the
/// server's first look at it (history is not drafted): what is committed next is new work.
async fn watched_repo(app: &crate::helpers::TestApp) -> tempfile::TempDir {
    let repo = repo();
    app.allow_path(repo.path()).await;
    let r = app
        .post_json(
            "/api/v1/sources",
            &json!({"kind": "git", "path": repo.path().to_str().unwrap()}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let sources = app.get_json("/api/v1/sources").await;
    app.watcher_has_seen(sources["data"][0]["id"].as_str().unwrap())
        .await;
    repo
}

async fn a_git_source_added_through_the_api_is_watched_by_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let repo = watched_repo(&app).await;
    commit(
        repo.path(),
        "src/export.rs",
        "fn export() {}",
        "feat: add CSV export",
        1_700_000_200,
    );
    app.eventually("the new commit becomes a card", || async {
        let cards = app.get_json("/api/v1/cards").await;
        cards["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["title"] == "Add CSV export")
    })
    .await;
    app.stop().await;
}

/// Waits for the card whose title `matches` and returns it.
async fn wait_card(
    app: &crate::helpers::TestApp,
    what: &str,
    matches: impl Fn(&str) -> bool,
) -> serde_json::Value {
    let find = || async {
        app.get_json("/api/v1/cards?limit=50").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["title"].as_str().is_some_and(&matches))
            .cloned()
    };
    app.eventually(what, || async { find().await.is_some() })
        .await;
    find().await.unwrap()
}

/// A founder posts the CSV export as soon as it lands, leaves the next fix on the stack,
/// then tags v1.0.0. The release is one card: it does not announce the CSV export again,
/// and the fix's push card folds into it (dismissed), so nothing is announced twice.
async fn a_release_folds_its_waiting_pushes_and_does_not_announce_published_ones_again(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let repo = watched_repo(&app).await;
    let (channel, _) = crate::publishing::outbox(&app, "launches.jsonl").await;

    commit(
        repo.path(),
        "src/export.rs",
        "fn export() {}",
        "feat: add CSV export",
        1_700_000_200,
    );
    let export = wait_card(&app, "the export's push card", |t| t == "Add CSV export").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .post_json(
            &format!("/api/v1/cards/{export}/approve"),
            &json!({"channels": [channel]}),
        )
        .await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    app.eventually("the export is published", || async {
        app.card(&export).await["status"] == "published"
    })
    .await;

    commit(
        repo.path(),
        "src/lib.rs",
        "fn a() { }",
        "fix: handle empty input",
        1_700_000_300,
    );
    let fix = wait_card(&app, "the fix's push card", |t| t == "Handle empty input").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.card(&fix).await["status"], "pending");

    git(repo.path(), &["tag", "v1.0.0"], 1_700_000_300);
    let release = wait_card(&app, "the release card", |t| t.ends_with("v1.0.0")).await;
    let notes = release["content"].as_str().unwrap();
    assert!(notes.contains("Handle empty input"), "{notes}");
    assert!(!notes.contains("CSV export"), "published already: {notes}");
    for (channel, text) in release["variants"].as_object().unwrap() {
        assert!(
            !text.as_str().unwrap().contains("CSV export"),
            "{channel}: {text}"
        );
    }
    app.eventually("the fix's push card folds into the release", || async {
        app.card(&fix).await["status"] == "dismissed"
    })
    .await;
    assert_eq!(app.card(&export).await["status"], "published");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_works_while_serve_runs_on_the_same_data_dir() {
    crate::helpers::bounded(120, async {
        let (_, data) = covalynce_storage::testing::fresh_database(Backend::Sqlite).await;
        let out = covalynce_cmd(&data, None)
            .args(["token", "create", "--workspace", "acme"])
            .output()
            .unwrap();
        let token = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .to_owned();
        let (_server, base) = serve_process(&data, None, &[]).await;
        let repo = repo();
        let path = repo.path().to_str().unwrap().to_owned();
        let run = || {
            covalynce_cmd(&data, None)
                .args(["watch", "--workspace", "acme", "--once", &path])
                .output()
                .unwrap()
        };
        assert!(run().status.success());
        commit(
            repo.path(),
            "src/new.rs",
            "fn new() {}",
            "feat: add the new thing",
            1_700_000_200,
        );
        let out = run();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cards: serde_json::Value = reqwest::Client::new()
            .get(format!("{base}/api/v1/cards"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(cards["data"][0]["title"], "Add the new thing", "{cards}");
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_drafts_cards_from_the_current_repositorys_history() {
    crate::helpers::bounded(120, async {
        let repo = repo();
        commit(
            repo.path(),
            "src/export.rs",
            "fn export() {}",
            "feat: add CSV export",
            1_700_000_200,
        );
        git(repo.path(), &["tag", "v0.1.0"], 1_700_000_200);
        commit(
            repo.path(),
            "src/export.rs",
            "fn export() { }",
            "fix: quote commas in CSV export",
            1_700_000_300,
        );
        let data = tempfile::tempdir().unwrap();
        let port = crate::helpers::free_port();
        let stdout_path = data.path().join("demo.out");
        let log_path = data.path().join("demo.log");
        let mut child = covalynce_cmd(data.path(), None)
            .args(["serve", "--demo", "--addr", &format!("127.0.0.1:{port}")])
            .current_dir(repo.path())
            .stdout(std::fs::File::create(&stdout_path).unwrap())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        let mut cards = serde_json::Value::Null;
        for _ in 0..1200 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let out = std::fs::read_to_string(&stdout_path).unwrap_or_default();
            let Some(token) = out
                .lines()
                .find_map(|l| l.trim().strip_prefix("Token:"))
                .map(str::trim)
            else {
                continue;
            };
            let Ok(r) = client
                .get(format!("http://127.0.0.1:{port}/api/v1/cards"))
                .bearer_auth(token)
                .send()
                .await
            else {
                continue;
            };
            cards = r.json().await.unwrap();
            // The release card is drafted after the commits' cards, so wait for
            // every expected card rather than for a count.
            let has = |want: &dyn Fn(&str) -> bool| {
                cards["data"].as_array().is_some_and(|c| {
                    c.iter()
                        .any(|card| card["title"].as_str().is_some_and(want))
                })
            };
            if has(&|t| t == "Add CSV export")
                && has(&|t| t == "Quote commas in CSV export")
                && has(&|t| t.ends_with("v0.1.0"))
            {
                break;
            }
        }
        // The demo is the operator's own trial: no plan limit spent by the seed.
        let out = std::fs::read_to_string(&stdout_path).unwrap();
        let token = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Token:"))
            .map(str::trim)
            .unwrap()
            .to_owned();
        let ws: serde_json::Value = client
            .get(format!("http://127.0.0.1:{port}/api/v1/workspace"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ws["data"]["plan"], "UNLIMITED", "{ws}");
        assert_eq!(ws["data"]["card_limit"], serde_json::Value::Null);
        // The one-time link printed at start opens the populated stack in a browser.
        let link = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Review:"))
            .and_then(|l| l.split_whitespace().next())
            .expect("a review link is printed")
            .to_owned();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let signed_in = browser.get(&link).send().await.unwrap();
        assert_eq!(signed_in.status(), 303);
        let cookie = signed_in
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("the link signs in")
            .to_owned();
        let stack = browser
            .get(format!("http://127.0.0.1:{port}/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(stack.status(), 200);
        let html = stack.text().await.unwrap();
        assert!(
            html.contains("Add CSV export") && html.contains("data-count"),
            "{html}"
        );
        let channels = browser
            .get(format!("http://127.0.0.1:{port}/channels"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            channels.contains("Outbox (demo)"),
            "approvals have somewhere to go"
        );
        let again = browser.get(&link).send().await.unwrap();
        assert_eq!(again.status(), 404, "the link works once");
        // The used link says how to get a new one without stopping the demo.
        let page = again.text().await.unwrap();
        assert!(page.contains("covalynce demo-link"), "{page}");
        // `covalynce demo-link` beside the running demo prints a fresh link that signs in;
        // a second one replaces it.
        let demo_link = || {
            let out = covalynce_cmd(data.path(), None)
                .args(["demo-link", "--url", &format!("http://127.0.0.1:{port}/")])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let link = String::from_utf8(out.stdout).unwrap().trim().to_owned();
            assert!(
                link.starts_with(&format!("http://127.0.0.1:{port}/login/link/")),
                "{link}"
            );
            link
        };
        let replaced = demo_link();
        let fresh = demo_link();
        assert_eq!(
            browser.get(&replaced).send().await.unwrap().status(),
            404,
            "only the newest link works"
        );
        let signed_in = browser.get(&fresh).send().await.unwrap();
        assert_eq!(signed_in.status(), 303);
        assert!(signed_in.headers().get("set-cookie").is_some());
        assert_eq!(browser.get(&fresh).send().await.unwrap().status(), 404);
        // The request log names the route, never a link's token.
        let log = std::fs::read_to_string(&log_path).unwrap();
        assert!(log.contains("/login/link/{token}"), "{log}");
        for used in [&link, &replaced, &fresh] {
            let token = used.rsplit('/').next().unwrap();
            assert!(!log.contains(token), "a sign-in token in the log");
        }
        // Where there is no demo, the command refuses and says why.
        let elsewhere = tempfile::tempdir().unwrap();
        let refused = || {
            let out = covalynce_cmd(elsewhere.path(), None)
                .args(["demo-link"])
                .output()
                .unwrap();
            assert!(!out.status.success());
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        let err = refused();
        assert!(err.contains("covalynce serve --demo"), "{err}");
        // A workspace someone else named "demo" gets no reviewer and no link.
        crate::helpers::cli_token(elsewhere.path(), None, "demo");
        let err = refused();
        assert!(err.contains("no demo reviewer"), "{err}");
        let _ = child.kill();
        let _ = child.wait();
        let titles: Vec<&str> = cards["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap())
            .collect();
        for expected in ["Add CSV export", "Quote commas in CSV export"] {
            assert!(titles.contains(&expected), "{titles:?}");
        }
        assert!(
            titles.iter().any(|t| t.ends_with("v0.1.0")),
            "the release gets a card: {titles:?}"
        );
        let out = std::fs::read_to_string(&stdout_path).unwrap();
        assert!(out.contains("from the git history of"), "{out}");
    })
    .await
}
