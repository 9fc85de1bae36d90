//! A red build is never announced: once CI has been seen for a repository, a card about a
//! commit waits until CI for that commit is green.

use crate::helpers::{TestApp, fixture, on_both_backends, push_of_commit, spawn_app};
use covalynce_storage::Backend;
use serde_json::{Value, json};

on_both_backends!(
    a_card_waits_for_green_ci_and_a_red_build_holds_it_until_a_rerun_is_green,
    the_gate_can_name_its_workflows_or_be_turned_off,
    ci_reported_by_another_tool_gates_too,
    the_review_page_lists_held_cards_with_the_failing_run,
    a_newly_connected_repository_with_the_gate_on_holds_its_first_push_until_ci_answers,
    a_repository_without_ci_gets_its_held_card_back_when_the_wait_runs_out,
);

const SECRET: &str = "s";

/// GitHub's recorded `workflow_run`, re-targeted at `sha` of the push fixture's repository.
fn workflow_run(sha: &str, workflow: &str, run: i64, attempt: i64, conclusion: &str) -> Vec<u8> {
    let push: Value = serde_json::from_slice(&push_of_commit(sha)).unwrap();
    let mut v: Value =
        serde_json::from_slice(&fixture("workflow_run/completed.payload.json")).unwrap();
    v["repository"] = push["repository"].clone();
    let r = &mut v["workflow_run"];
    r["head_sha"] = json!(sha);
    r["name"] = json!(workflow);
    r["id"] = json!(run);
    r["run_attempt"] = json!(attempt);
    r["conclusion"] = json!(conclusion);
    r["html_url"] = json!(format!(
        "https://github.com/Codertocat/Hello-World/actions/runs/{run}"
    ));
    serde_json::to_vec(&v).unwrap()
}

async fn run(app: &TestApp, src: &str, body: Vec<u8>, guid: &str) {
    let r = app.deliver(src, "workflow_run", guid, SECRET, &body).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
}

async fn push(app: &TestApp, src: &str, sha: &str) {
    let r = app
        .deliver(
            src,
            "push",
            &format!("push-{sha}"),
            SECRET,
            &push_of_commit(sha),
        )
        .await;
    assert_eq!(r.status(), 202);
}

async fn held(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/cards?status=held").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn wait_held(app: &TestApp, n: usize) -> Vec<Value> {
    app.eventually(&format!("{n} held cards"), || async {
        held(app).await.len() == n
    })
    .await;
    held(app).await
}

fn sha(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

async fn a_card_waits_for_green_ci_and_a_red_build_holds_it_until_a_rerun_is_green(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;

    // Before any CI is seen, a push goes straight to the stack.
    push(&app, &src, &sha('a')).await;
    app.wait_pending(1).await;

    // CI reports on that commit: now the repository has CI.
    run(
        &app,
        &src,
        workflow_run(&sha('a'), "CI", 100, 1, "success"),
        "run-100",
    )
    .await;

    // The next push waits for its own CI.
    push(&app, &src, &sha('b')).await;
    let cards = wait_held(&app, 1).await;
    assert_eq!(cards[0]["status"], "held");
    assert_eq!(cards[0]["gate"]["state"], "waiting");
    assert_eq!(cards[0]["gate"]["sha"], sha('b'));
    assert_eq!(
        app.get_json("/api/v1/cards?status=pending").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let card = cards[0]["id"].as_str().unwrap().to_owned();

    // A held card cannot be approved, even to a channel that would take it.
    let channel = crate::publishing::outbox(&app, "held-outbox.jsonl").await.0;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({"channels": [channel]}),
        )
        .await;
    assert_eq!(r.status(), 409);
    let why = r.text().await.unwrap();
    assert!(
        why.contains("is held") && why.contains("only a pending card can be approved"),
        "{why}"
    );

    // CI is red: the card stays held, with the failing run linked.
    run(
        &app,
        &src,
        workflow_run(&sha('b'), "CI", 200, 1, "failure"),
        "run-200-1",
    )
    .await;
    app.eventually("the failing run is linked", || async {
        app.card(&card).await["gate"]["state"] == "failed"
    })
    .await;
    let c = app.card(&card).await;
    assert_eq!(c["status"], "held");
    assert_eq!(
        c["gate"]["run_url"],
        "https://github.com/Codertocat/Hello-World/actions/runs/200"
    );
    assert_eq!(c["gate"]["conclusion"], "failure");

    // A re-run of the same commit is green: the card goes to the stack.
    run(
        &app,
        &src,
        workflow_run(&sha('b'), "CI", 200, 2, "success"),
        "run-200-2",
    )
    .await;
    app.wait_pending(2).await;
    assert!(held(&app).await.is_empty());
    assert_eq!(app.card(&card).await["gate"]["state"], "passed");

    // CI that finished before the card was drafted counts too.
    run(
        &app,
        &src,
        workflow_run(&sha('c'), "CI", 300, 1, "success"),
        "run-300",
    )
    .await;
    push(&app, &src, &sha('c')).await;
    app.wait_pending(3).await;
    assert!(held(&app).await.is_empty());
    app.stop().await;
}

async fn the_gate_can_name_its_workflows_or_be_turned_off(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let r = patch_gate(
        &app,
        &src,
        json!({"enabled": true, "workflows": ["CI", "E2E"]}),
    )
    .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["data"]["gate"],
        json!({"enabled": true, "workflows": ["CI", "E2E"]})
    );

    run(
        &app,
        &src,
        workflow_run(&sha('1'), "CI", 1, 1, "success"),
        "r1",
    )
    .await;
    push(&app, &src, &sha('d')).await;
    let cards = wait_held(&app, 1).await;
    let card = cards[0]["id"].as_str().unwrap().to_owned();
    // A red workflow that is not named does not hold; a named one still missing does.
    run(
        &app,
        &src,
        workflow_run(&sha('d'), "Lint", 10, 1, "failure"),
        "r10",
    )
    .await;
    run(
        &app,
        &src,
        workflow_run(&sha('d'), "CI", 11, 1, "success"),
        "r11",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let c = app.card(&card).await;
    assert_eq!(c["status"], "held", "E2E has not reported: {c}");
    assert_eq!(c["gate"]["state"], "waiting");
    run(
        &app,
        &src,
        workflow_run(&sha('d'), "E2E", 12, 1, "success"),
        "r12",
    )
    .await;
    app.wait_pending(1).await;

    // Another held card; turning the gate off releases it.
    push(&app, &src, &sha('e')).await;
    wait_held(&app, 1).await;
    let r = patch_gate(&app, &src, json!({"enabled": false})).await;
    assert_eq!(r.status(), 200);
    app.wait_pending(2).await;
    assert!(held(&app).await.is_empty());
    // And new cards no longer wait.
    push(&app, &src, &sha('f')).await;
    app.wait_pending(3).await;

    // Bad settings are refused and change nothing.
    let r = patch_gate(&app, &src, json!({"enabled": true, "workflows": [""]})).await;
    assert_eq!(r.status(), 422);
    let s = app.get_json(&format!("/api/v1/sources/{src}")).await;
    assert_eq!(s["data"]["gate"]["enabled"], false);
    app.stop().await;
}

async fn ci_reported_by_another_tool_gates_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let ci = |sha: &str, conclusion: &str, key: &str| {
        json!({
            "kind": "ci_run", "title": "gitlab-ci", "conclusion": conclusion,
            "refs": {"repo": "acme/rocket", "commit": sha},
            "url": format!("https://gitlab.com/acme/rocket/-/pipelines/{key}"),
            "idempotency_key": key,
        })
    };
    let deploy = |sha: &str, key: &str| {
        json!({
            "kind": "deploy", "title": "Deployed search v2", "body": "- feat: search answers in 50 ms",
            "refs": {"repo": "acme/rocket", "commit": sha}, "idempotency_key": key,
        })
    };
    assert_eq!(
        app.post_json("/api/v1/events", &ci(&sha('1'), "success", "p1"))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post_json("/api/v1/events", &deploy(&sha('2'), "d2"))
            .await
            .status(),
        201
    );
    let cards = wait_held(&app, 1).await;
    assert_eq!(cards[0]["gate"]["sha"], sha('2'));
    assert_eq!(
        app.post_json("/api/v1/events", &ci(&sha('2'), "failed", "p2"))
            .await
            .status(),
        201
    );
    let card = cards[0]["id"].as_str().unwrap().to_owned();
    app.eventually("held as failed", || async {
        app.card(&card).await["gate"]["state"] == "failed"
    })
    .await;
    assert_eq!(
        app.card(&card).await["gate"]["run_url"],
        "https://gitlab.com/acme/rocket/-/pipelines/p2"
    );
    assert_eq!(
        app.post_json("/api/v1/events", &ci(&sha('2'), "success", "p3"))
            .await
            .status(),
        201
    );
    app.wait_pending(1).await;
    app.stop().await;
}

async fn the_review_page_lists_held_cards_with_the_failing_run(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner =
        crate::accounts::Browser::sign_up(&app, "ada@example.com", json!({"workspace": "team"}))
            .await;
    let (status, source) = owner
        .send(
            reqwest::Method::POST,
            "/api/v1/sources",
            Some(json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": SECRET})),
        )
        .await;
    assert_eq!(status, 201);
    let src = source["data"]["id"].as_str().unwrap().to_owned();
    run(
        &app,
        &src,
        workflow_run(&sha('a'), "CI", 100, 1, "success"),
        "run-100",
    )
    .await;
    push(&app, &src, &sha('b')).await;
    app.eventually("the held card is listed", || async {
        owner.page("/").await.html.contains("Waiting for CI (1)")
    })
    .await;
    let html = owner.page("/").await.html;
    assert!(html.contains("waiting for CI"), "{html}");
    assert!(
        !html.contains("data-card data-id"),
        "a held card is not in the stack to approve"
    );

    run(
        &app,
        &src,
        workflow_run(&sha('b'), "CI", 200, 1, "failure"),
        "run-200",
    )
    .await;
    app.eventually("the failure is shown", || async {
        owner
            .page("/")
            .await
            .html
            .contains("CI failed: CI (failure)")
    })
    .await;
    let html = owner.page("/").await.html;
    assert!(
        html.contains("href=\"https://github.com/Codertocat/Hello-World/actions/runs/200\""),
        "{html}"
    );

    run(
        &app,
        &src,
        workflow_run(&sha('b'), "CI", 200, 2, "success"),
        "run-200-2",
    )
    .await;
    app.eventually("the card joins the stack", || async {
        owner.page("/").await.html.contains("data-card data-id")
    })
    .await;
    assert!(!owner.page("/").await.html.contains("Waiting for CI"));
    app.stop().await;
}

async fn patch_gate(app: &TestApp, src: &str, gate: Value) -> reqwest::Response {
    app.client
        .patch(app.url(&format!("/api/v1/sources/{src}")))
        .bearer_auth(&app.token)
        .json(&json!({ "gate": gate }))
        .send()
        .await
        .unwrap()
}

async fn gate_on(app: &TestApp, src: &str, gate: Value) {
    let r = patch_gate(app, src, gate).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// A founder connects a repository and turns the gate on, naming the workflow. Its very
/// first push is held (no CI was ever seen for it), though GitHub sends the workflow's name
/// only in `workflow.name` (the recorded run's `workflow_run.name` is empty). A red run
/// holds it; the green re-run releases it, and the card's gate then describes the green run,
/// not the red one.
async fn a_newly_connected_repository_with_the_gate_on_holds_its_first_push_until_ci_answers(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    gate_on(&app, &src, json!({"enabled": true, "workflows": ["test"]})).await;

    push(&app, &src, &sha('7')).await;
    let cards = wait_held(&app, 1).await;
    let card = cards[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(cards[0]["gate"]["state"], "waiting");

    // The recorded payload, as GitHub sent it: `workflow_run.name` empty, `workflow.name`
    // "test".
    let recorded = |run: i64, attempt: i64, conclusion: &str| {
        let mut v: Value =
            serde_json::from_slice(&workflow_run(&sha('7'), "", run, attempt, conclusion)).unwrap();
        assert_eq!(
            v["workflow"]["name"], "test",
            "the fixture names its workflow there"
        );
        v["workflow_run"]["name"] = json!("");
        serde_json::to_vec(&v).unwrap()
    };
    run(&app, &src, recorded(70, 1, "failure"), "run-70-1").await;
    app.eventually("the red run holds the card", || async {
        app.card(&card).await["gate"]["state"] == "failed"
    })
    .await;
    let c = app.card(&card).await;
    assert_eq!(c["gate"]["workflow"], "test");
    assert_eq!(c["gate"]["conclusion"], "failure");

    run(&app, &src, recorded(70, 2, "success"), "run-70-2").await;
    app.wait_pending(1).await;
    let c = app.card(&card).await;
    assert_eq!(c["gate"]["state"], "passed");
    assert_eq!(c["gate"]["conclusion"], "success", "{}", c["gate"]);
    assert_eq!(c["gate"]["workflow"], "test");
    assert_eq!(
        c["gate"]["run_url"],
        "https://github.com/Codertocat/Hello-World/actions/runs/70"
    );
    app.stop().await;
}

/// A repository with no CI at all and the gate turned on: its card waits for the wait the
/// source allows (here 1 s), then goes to the stack saying CI is absent. A repository that
/// did not ask for the gate never waits.
async fn a_repository_without_ci_gets_its_held_card_back_when_the_wait_runs_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let r = patch_gate(&app, &src, json!({"enabled": true, "absent_after_secs": 0})).await;
    assert_eq!(r.status(), 422, "a wait of 0 s is refused");
    gate_on(&app, &src, json!({"enabled": true, "absent_after_secs": 1})).await;
    let s = app.get_json(&format!("/api/v1/sources/{src}")).await;
    assert_eq!(s["data"]["gate"]["absent_after_secs"], 1);

    push(&app, &src, &sha('8')).await;
    app.wait_pending(1).await;
    let pending = app.get_json("/api/v1/cards?status=pending").await;
    let card = pending["data"][0]["id"].as_str().unwrap().to_owned();
    let c = app.card(&card).await;
    // "no CI" is only ever written on a held card: it waited, then came back.
    assert_eq!(c["gate"]["state"], "no CI", "{}", c["gate"]);
    assert!(
        c["gate"]["note"]
            .as_str()
            .unwrap()
            .contains("within 1 second of this card: CI is taken to be absent"),
        "{}",
        c["gate"]
    );
    app.stop().await;
}
