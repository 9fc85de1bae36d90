//! GitHub delivers webhooks: every recorded payload goes through the real server with a
//! real signature, and lands as exactly the work it describes.

use crate::helpers::{TestApp, fixture, on_both_backends, spawn_app};
use covalynce_storage::Backend;
use serde_json::Value;

on_both_backends!(
    every_recorded_payload_is_accepted_and_classified,
    a_push_to_the_default_branch_becomes_an_event_and_then_work,
    a_redelivery_stores_nothing_new,
    the_same_commit_pushed_twice_is_one_event,
    a_tag_created_and_pushed_is_one_event,
    published_and_released_for_one_release_are_one_event,
    unsigned_or_wrongly_signed_deliveries_are_refused_and_not_stored,
    unknown_sources_are_404,
    oversized_bodies_are_413,
    malformed_deliveries_are_400_and_store_nothing,
    deliveries_about_another_repository_are_ignored,
);

const SECRET: &str = "It's a Secret to Everybody";

async fn deliveries(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/deliveries?limit=200").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

async fn events(app: &TestApp) -> Vec<Value> {
    app.get_json("/api/v1/events?limit=200").await["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn merged(pr_closed: &[u8]) -> Vec<u8> {
    // octokit's recorded `closed` examples are unmerged; GitHub sends the same shape with
    // merged=true for a merge, so the merged case is that payload with the flag set.
    let mut v: Value = serde_json::from_slice(pr_closed).unwrap();
    v["pull_request"]["merged"] = Value::Bool(true);
    v["pull_request"]["merged_at"] = Value::String("2019-05-15T15:20:33Z".into());
    serde_json::to_vec(&v).unwrap()
}

async fn every_recorded_payload_is_accepted_and_classified(backend: Backend) {
    let app = spawn_app(backend).await;
    let hello = app.github_source("Codertocat/Hello-World", SECRET).await;
    let octo = app.github_source("octo-org/octo-repo", SECRET).await;
    let pr = fixture("pull_request/closed.payload.json");
    // (source, event, body, status, expected answer: Ok(kind) for an event, Err(reason) ignored)
    type Case<'a> = (&'a str, &'a str, Vec<u8>, u16, Result<&'a str, &'a str>);
    let cases: Vec<Case> = vec![
        (&hello, "ping", fixture("ping/payload.json"), 200, Err("")),
        (
            &hello,
            "push",
            fixture("push/payload.json"),
            202,
            Err("tag simple-tag was deleted"),
        ),
        (
            &hello,
            "push",
            fixture("push/with-new-branch.payload.json"),
            202,
            Ok("push"),
        ),
        (
            &hello,
            "create",
            fixture("create/payload.json"),
            202,
            Ok("tag"),
        ),
        (
            &hello,
            "release",
            fixture("release/published.payload.json"),
            202,
            Ok("release"),
        ),
        (
            &hello,
            "release",
            fixture("release/prereleased.payload.json"),
            202,
            Err("\"prereleased\" is not a publication"),
        ),
        (
            &hello,
            "pull_request",
            pr.clone(),
            202,
            Err("closed without merging"),
        ),
        (
            &hello,
            "pull_request",
            merged(&pr),
            202,
            Ok("pull_request_merged"),
        ),
        (
            &octo,
            "workflow_run",
            fixture("workflow_run/completed.payload.json"),
            202,
            Ok("ci_run"),
        ),
        (
            &octo,
            "workflow_run",
            fixture("workflow_run/completed.with-pull-requests.payload.json"),
            202,
            Ok("ci_run"),
        ),
        (
            &hello,
            "issues",
            br#"{"action":"opened","repository":{"full_name":"Codertocat/Hello-World"}}"#.to_vec(),
            202,
            Err("\"issues\" events are not watched"),
        ),
    ];
    for (n, (source, event, body, status, expected)) in cases.iter().enumerate() {
        let r = app
            .deliver(source, event, &format!("delivery-{n}"), SECRET, body)
            .await;
        assert_eq!(r.status().as_u16(), *status, "{event} #{n}");
        let answer: Value = r.json().await.unwrap();
        match (event, expected) {
            (&"ping", _) => assert_eq!(answer["pong"], true, "{answer}"),
            (_, Ok(kind)) => {
                assert_eq!(answer["events"][0]["kind"], *kind, "{event} #{n}: {answer}");
                assert!(answer["delivery_id"].is_string());
            }
            (_, Err(reason)) => {
                let ignored = answer["ignored"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{event} #{n} should be ignored: {answer}"));
                assert!(
                    ignored.contains(reason),
                    "{ignored:?} should mention {reason:?}"
                );
            }
        }
    }
    // Every verified delivery is kept, byte for byte.
    assert_eq!(deliveries(&app).await.len(), cases.len());
    for (n, (_, _, body, ..)) in cases.iter().enumerate() {
        let stored = app
            .store
            .delivery_body(ws_id(&app).await, &format!("delivery-{n}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&stored, body, "delivery-{n} stored verbatim");
    }
    // Both workflow_run payloads describe run 289782451 attempt 1: one CI event.
    let kinds: Vec<String> = events(&app)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    let mut sorted = kinds.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec!["ci_run", "pull_request_merged", "push", "release", "tag"]
    );
    let ci = app.get_json("/api/v1/events?kind=ci_run").await;
    assert_eq!(ci["data"][0]["data"]["conclusion"], "success");
    assert_eq!(
        ci["data"][0]["source_event_id"],
        "ci:octo-org/octo-repo:289782451:1"
    );
    app.stop().await;
}

async fn ws_id(app: &TestApp) -> covalynce_domain::WorkspaceId {
    let ws = app.get_json("/api/v1/workspace").await;
    covalynce_domain::WorkspaceId::parse(ws["data"]["id"].as_str().unwrap()).unwrap()
}

async fn a_push_to_the_default_branch_becomes_an_event_and_then_work(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let r = app
        .deliver(
            &src,
            "push",
            "p-1",
            SECRET,
            &fixture("push/with-new-branch.payload.json"),
        )
        .await;
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    let event_id = answer["events"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(answer["events"][0]["new"], true);
    let event = app.get_json(&format!("/api/v1/events/{event_id}")).await["data"].clone();
    assert_eq!(event["kind"], "push");
    assert_eq!(event["repo"], "Codertocat/Hello-World");
    assert_eq!(event["title"], "Initial commit");
    assert_eq!(
        event["source_event_id"],
        "push:Codertocat/Hello-World:6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );
    assert_eq!(event["data"]["branch"], "master");
    assert_eq!(
        event["data"]["commits"][0]["id"],
        "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
    );
    assert_eq!(
        event["data"]["commits"][0]["author"]["username"],
        "Codertocat"
    );
    assert_eq!(event["data"]["commits"][0]["added"][0], "README.md");
    assert_eq!(event["occurred_at"], "2019-05-15T15:19:25.000Z");
    // The event's next step runs in a job: drafting it into a card.
    app.eventually("the event is drafted into a card", || async {
        let e = app.get_json(&format!("/api/v1/events/{event_id}")).await;
        e["data"]["status"] == "drafted"
    })
    .await;
    // The job's own completion is recorded just after the event's status: wait for it.
    app.eventually("the drafting job is done", || async {
        app.get_json("/api/v1/jobs").await["data"][0]["status"] == "done"
    })
    .await;
    let jobs = app.get_json("/api/v1/jobs").await;
    assert_eq!(jobs["data"][0]["kind"], "draft_event");
    assert_eq!(jobs["data"][0]["status"], "done");
    assert_eq!(jobs["data"][0]["attempts"], 1);
    let cards = app.get_json("/api/v1/cards?status=pending").await;
    assert_eq!(cards["data"].as_array().unwrap().len(), 1);
    let card = &cards["data"][0];
    assert_eq!(card["source_event"], event_id.as_str());
    assert_eq!(card["status"], "pending");
    // "Initial commit" adding README.md: documentation work, a note for the team.
    assert_eq!(card["category"], "ENG");
    assert_eq!(card["title"], "Initial commit");
    assert_eq!(card["risk"], "green", "{card}");
    for channel in ["linkedin", "x", "mastodon", "bluesky", "slack", "discord"] {
        assert!(
            card["variants"][channel]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{channel}"
        );
    }
    assert!(card["content"].as_str().unwrap().contains("Initial commit"));
    let one = app
        .get_json(&format!("/api/v1/cards/{}", card["id"].as_str().unwrap()))
        .await;
    assert_eq!(one["data"]["id"], card["id"]);
    let ws = app.get_json("/api/v1/workspace").await;
    assert_eq!(ws["data"]["cards_used"], 1);
    let source = app.get_json(&format!("/api/v1/sources/{src}")).await;
    assert!(source["data"]["last_delivery_at"].is_string());
    app.stop().await;
}

async fn a_redelivery_stores_nothing_new(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = fixture("push/with-new-branch.payload.json");
    assert_eq!(
        app.deliver(&src, "push", "same-guid", SECRET, &body)
            .await
            .status(),
        202
    );
    for _ in 0..3 {
        let r = app.deliver(&src, "push", "same-guid", SECRET, &body).await;
        assert_eq!(r.status(), 200);
        let answer: Value = r.json().await.unwrap();
        assert_eq!(answer["duplicate"], true);
    }
    assert_eq!(deliveries(&app).await.len(), 1);
    assert_eq!(events(&app).await.len(), 1);
    assert_eq!(
        app.get_json("/api/v1/jobs").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.stop().await;
}

async fn the_same_commit_pushed_twice_is_one_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = fixture("push/with-new-branch.payload.json");
    let first: Value = app
        .deliver(&src, "push", "guid-a", SECRET, &body)
        .await
        .json()
        .await
        .unwrap();
    let r = app.deliver(&src, "push", "guid-b", SECRET, &body).await;
    assert_eq!(r.status(), 202);
    let second: Value = r.json().await.unwrap();
    assert_eq!(second["events"][0]["new"], false);
    assert_eq!(second["events"][0]["id"], first["events"][0]["id"]);
    assert_eq!(
        deliveries(&app).await.len(),
        2,
        "both deliveries are on record"
    );
    assert_eq!(events(&app).await.len(), 1, "but the work is stored once");
    app.stop().await;
}

async fn a_tag_created_and_pushed_is_one_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let create = fixture("create/payload.json");
    // The same tag as a push of refs/tags/simple-tag (created, not deleted).
    let mut push: Value = serde_json::from_slice(&fixture("push/payload.json")).unwrap();
    push["created"] = Value::Bool(true);
    push["deleted"] = Value::Bool(false);
    push["after"] = Value::String("6113728f27ae82c7b1a177c8d03f9e96e0adf246".into());
    let a: Value = app
        .deliver(&src, "create", "t-1", SECRET, &create)
        .await
        .json()
        .await
        .unwrap();
    let b: Value = app
        .deliver(
            &src,
            "push",
            "t-2",
            SECRET,
            &serde_json::to_vec(&push).unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(a["events"][0]["kind"], "tag");
    assert_eq!(b["events"][0]["kind"], "tag");
    assert_eq!(b["events"][0]["new"], false);
    let tags = app.get_json("/api/v1/events?kind=tag").await;
    assert_eq!(tags["data"].as_array().unwrap().len(), 1);
    assert_eq!(tags["data"][0]["title"], "simple-tag");
    app.stop().await;
}

async fn published_and_released_for_one_release_are_one_event(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let published = fixture("release/published.payload.json");
    let mut released: Value = serde_json::from_slice(&published).unwrap();
    released["action"] = Value::String("released".into());
    assert_eq!(
        app.deliver(&src, "release", "r-1", SECRET, &published)
            .await
            .status(),
        202
    );
    let r: Value = app
        .deliver(
            &src,
            "release",
            "r-2",
            SECRET,
            &serde_json::to_vec(&released).unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["events"][0]["new"], false);
    let rel = app.get_json("/api/v1/events?kind=release").await;
    assert_eq!(rel["data"].as_array().unwrap().len(), 1);
    assert_eq!(rel["data"][0]["data"]["tag"], "0.0.1");
    app.stop().await;
}

async fn unsigned_or_wrongly_signed_deliveries_are_refused_and_not_stored(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let body = fixture("push/with-new-branch.payload.json");
    let url = app.url(&format!("/hooks/github/{src}"));
    let good = covalynce_sources::github::sign(SECRET.as_bytes(), &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let attempts: Vec<(Option<String>, Vec<u8>, &str)> = vec![
        (None, body.clone(), "missing"),
        (
            Some("sha256=".to_owned() + &"0".repeat(64)),
            body.clone(),
            "does not match",
        ),
        (
            Some(covalynce_sources::github::sign(b"wrong secret", &body)),
            body.clone(),
            "does not match",
        ),
        (
            Some(good.replace("sha256=", "sha1=")),
            body.clone(),
            "sha256=",
        ),
        (Some(good.clone()), tampered, "does not match"),
    ];
    for (sig, payload, detail) in attempts {
        let mut req = app
            .client
            .post(&url)
            .header("x-github-event", "push")
            .header("x-github-delivery", "evil")
            .body(payload);
        if let Some(s) = &sig {
            req = req.header("x-hub-signature-256", s);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 401, "{sig:?}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/invalid-signature");
        assert!(p["detail"].as_str().unwrap().contains(detail), "{p}");
        assert!(
            !p.to_string().contains(SECRET),
            "the secret never appears in errors"
        );
    }
    assert!(deliveries(&app).await.is_empty(), "nothing stored");
    assert!(events(&app).await.is_empty());
    // And the real one still goes through afterwards.
    assert_eq!(
        app.deliver(&src, "push", "evil", SECRET, &body)
            .await
            .status(),
        202
    );
    app.stop().await;
}

async fn unknown_sources_are_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = fixture("ping/payload.json");
    for id in [
        covalynce_domain::SourceId::new().to_string(),
        "not-a-uuid".into(),
        "..%2F..%2Fetc".into(),
    ] {
        let r = app.deliver(&id, "ping", "x", SECRET, &body).await;
        assert_eq!(r.status(), 404, "{id}");
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["type"], "/problems/not-found");
    }
    app.stop().await;
}

async fn oversized_bodies_are_413(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    // A body over 25 MB is refused from its Content-Length, before a byte of it is read.
    // (Sent by hand: a client that insists on writing all 25 MB first would see the
    // connection closed under it — the server does not read what it has refused.)
    let addr = app.addr.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /hooks/github/{src} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-github-event: push\r\nx-github-delivery: big\r\nx-hub-signature-256: sha256={}\r\ncontent-length: {}\r\n\r\n",
        "0".repeat(64),
        25 * 1024 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut response),
    )
    .await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("/problems/payload-too-large"),
        "{response}"
    );
    // Exactly at the limit is allowed through to verification and parsing.
    let mut at_limit = br#"{"zen":"x"}"#.to_vec();
    at_limit.resize(25 * 1024 * 1024, b' ');
    let r = app
        .deliver(&src, "ping", "at-limit", SECRET, &at_limit)
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        deliveries(&app).await.len(),
        1,
        "only the delivery within the limit is stored"
    );
    app.stop().await;
}

async fn malformed_deliveries_are_400_and_store_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let r = app
        .deliver(&src, "push", "m-1", SECRET, b"{\"ref\": ")
        .await;
    assert_eq!(r.status(), 400);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["type"], "/problems/malformed-json");
    let r = app.deliver(&src, "push", "m-2", SECRET, b"[1,2,3]").await;
    assert_eq!(r.status(), 400);
    let r = app
        .deliver(
            &src,
            "push",
            "m-3",
            SECRET,
            br#"{"ref":"refs/heads/master"}"#,
        )
        .await;
    assert_eq!(r.status(), 400, "a push with no repository");
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["type"], "/problems/bad-request");
    // Missing GitHub headers.
    let body = fixture("ping/payload.json");
    let sig = covalynce_sources::github::sign(SECRET.as_bytes(), &body);
    let url = app.url(&format!("/hooks/github/{src}"));
    let r = app
        .client
        .post(&url)
        .header("x-hub-signature-256", &sig)
        .header("x-github-delivery", "m-4")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = app
        .client
        .post(&url)
        .header("x-hub-signature-256", &sig)
        .header("x-github-event", "ping")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(deliveries(&app).await.is_empty());
    app.stop().await;
}

async fn deliveries_about_another_repository_are_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let src = app.github_source("acme/rocket", SECRET).await;
    let r = app
        .deliver(
            &src,
            "push",
            "x-1",
            SECRET,
            &fixture("push/with-new-branch.payload.json"),
        )
        .await;
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["ignored"],
        "the delivery is about Codertocat/Hello-World, but this source watches acme/rocket"
    );
    assert!(events(&app).await.is_empty());
    // Names are case-insensitive on GitHub, so they are here.
    let src2 = app.github_source("codertocat/hello-world", SECRET).await;
    assert_eq!(
        app.deliver(
            &src2,
            "push",
            "x-2",
            SECRET,
            &fixture("push/with-new-branch.payload.json")
        )
        .await
        .status(),
        202
    );
    assert_eq!(events(&app).await.len(), 1);
    app.stop().await;
}
