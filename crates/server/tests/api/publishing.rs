//! Approve → publish, exactly once: the outbox channel.

use crate::helpers::{TestApp, on_both_backends, push_of_commit, spawn_app};
use covalynce_domain::now_millis;
use covalynce_storage::{Backend, NewJob};
use serde_json::{Value, json};

on_both_backends!(
    an_approved_card_is_written_to_the_outbox_exactly_once,
    approvals_are_refused_when_they_cannot_be_honoured,
    the_emergency_stop_holds_everything_until_lifted,
    the_trust_policy_auto_approves_green_cards_after_enough_unedited_approvals,
);

const SECRET: &str = "s";

pub(crate) async fn a_card(app: &TestApp, n: usize, message: &str) -> String {
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let mut v: Value = serde_json::from_slice(&push_of_commit(&format!("{n:040x}"))).unwrap();
    v["commits"][0]["message"] = message.into();
    v["commits"][0]["added"] = json!(["src/lib.rs"]);
    v["head_commit"]["message"] = message.into();
    app.deliver(
        &src,
        "push",
        &format!("p{n}"),
        SECRET,
        &serde_json::to_vec(&v).unwrap(),
    )
    .await;
    app.eventually("the card is drafted", || async {
        !app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;
    app.get_json("/api/v1/cards").await["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An outbox channel writing `file` (in the workspace's folder of the data dir): its id
/// and the file's path.
pub(crate) async fn outbox(app: &TestApp, file: &str) -> (String, std::path::PathBuf) {
    let r = app
        .post_json(
            "/api/v1/channels",
            &json!({"kind": "outbox", "file": file, "variant": "x"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["data"]["config"]["file"], file);
    let id = body["data"]["id"].as_str().unwrap().to_owned();
    (id, app.outbox_path(file).await)
}

async fn an_approved_card_is_written_to_the_outbox_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let card = a_card(&app, 1, "feat: add CSV export").await;
    let (channel, path) = outbox(&app, "outbox.jsonl").await;
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({"channels": [channel]}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let approved: Value = r.json().await.unwrap();
    assert_eq!(approved["data"]["status"], "approved");
    app.eventually("the card is published", || async {
        app.get_json(&format!("/api/v1/cards/{card}")).await["data"]["status"] == "published"
    })
    .await;
    let one = app.get_json(&format!("/api/v1/cards/{card}")).await;
    let publication = &one["data"]["publications"][0];
    assert_eq!(publication["status"], "published");
    assert_eq!(publication["channel_id"], channel.as_str());
    assert_eq!(publication["attempts"], 1);
    assert_eq!(publication["url"], "outbox:outbox.jsonl");
    let lines: Vec<Value> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["card_id"], card.as_str());
    assert_eq!(lines[0]["channel_id"], channel.as_str());
    assert_eq!(lines[0]["text"], one["data"]["variants"]["x"]);
    assert!(lines[0]["idempotency_key"].is_string() && lines[0]["published_at"].is_string());

    // The same publication run again (a crash after writing, before recording) adds nothing.
    let ws = covalynce_domain::WorkspaceId::parse(
        app.get_json("/api/v1/workspace").await["data"]["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let pid = publication["id"].as_str().unwrap();
    app.store
        .set_publication(
            covalynce_domain::PublicationId::parse(pid).unwrap(),
            covalynce_domain::PublicationStatus::Publishing,
            None,
            None,
        )
        .await
        .unwrap();
    let job = app
        .store
        .enqueue_job(&NewJob {
            workspace_id: Some(ws),
            job: covalynce_domain::Job::Publish {
                publication: covalynce_domain::PublicationId::parse(pid).unwrap(),
            },
            run_at: now_millis(),
            max_attempts: 3,
        })
        .await
        .unwrap();
    app.eventually("the re-run finishes", || async {
        app.store.job(job).await.unwrap().unwrap().status == covalynce_storage::JobStatus::Done
    })
    .await;
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        1,
        "exactly once"
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/cards/{card}")).await["data"]["publications"][0]["status"],
        "published"
    );
    app.stop().await;
}

async fn approvals_are_refused_when_they_cannot_be_honoured(backend: Backend) {
    let app = spawn_app(backend).await;
    let card = a_card(&app, 2, "feat: add PDF export").await;
    let (channel, path) = outbox(&app, "outbox.jsonl").await;
    let approve = |body: Value| {
        let url = format!("/api/v1/cards/{card}/approve");
        let app = &app;
        async move { app.post_json(&url, &body).await }
    };
    for (body, status, what) in [
        (json!({"channels": []}), 422, "at least one channel"),
        (json!({"channels": ["nope"]}), 422, "not a channel id"),
        (
            json!({"channels": [covalynce_domain::ChannelId::new().to_string()]}),
            422,
            "no active channel",
        ),
        (
            json!({"channels": [channel], "publish_at": "tomorrow"}),
            422,
            "RFC 3339",
        ),
    ] {
        let r = approve(body).await;
        assert_eq!(r.status().as_u16(), status, "{what}");
        let p: Value = r.json().await.unwrap();
        assert!(p["detail"].as_str().unwrap().contains(what), "{p}");
    }
    // A red card needs an edit first.
    let token = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/cards/{card}")))
        .bearer_auth(&app.token)
        .json(&json!({"variants": {"x": format!("key {token}")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = approve(json!({"channels": [channel]})).await;
    assert_eq!(r.status(), 409);
    let p: Value = r.json().await.unwrap();
    assert!(p["detail"].as_str().unwrap().contains("red"), "{p}");
    let r = app
        .client
        .patch(app.url(&format!("/api/v1/cards/{card}")))
        .bearer_auth(&app.token)
        .json(&json!({"variants": {"x": "PDF export is here."}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Scheduled for later: approved, queued, nothing written yet.
    let r = approve(json!({"channels": [channel], "publish_at": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(r.status(), 202);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let one = app.get_json(&format!("/api/v1/cards/{card}")).await;
    assert_eq!(one["data"]["status"], "approved");
    assert_eq!(one["data"]["publications"][0]["status"], "queued");
    assert!(!path.exists() || std::fs::read_to_string(&path).unwrap().is_empty());
    // Approving twice is a conflict.
    let r = approve(json!({"channels": [channel]})).await;
    assert_eq!(r.status(), 409);
    // Another card, approved for the same late hour: withdrawing the first leaves it alone.
    a_card(&app, 4, "feat: add CSV import").await;
    app.eventually("the second card is drafted", || async {
        app.get_json("/api/v1/cards").await["data"]
            .as_array()
            .unwrap()
            .len()
            == 2
    })
    .await;
    let other = app.get_json("/api/v1/cards").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .find(|id| *id != card)
        .unwrap();
    let r = app
        .post_json(
            &format!("/api/v1/cards/{other}/approve"),
            &json!({"channels": [channel], "publish_at": "2999-01-01T00:00:00Z"}),
        )
        .await;
    let status = r.status();
    assert_eq!(status, 202, "{}", r.text().await.unwrap());
    // A publish job for the same publication as an older version wrote it (other spacing,
    // a field this version does not know): withdrawing must find it too, by what it is.
    let ws = covalynce_domain::WorkspaceId::parse(
        app.get_json("/api/v1/workspace").await["data"]["id"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let publication = one["data"]["publications"][0]["id"].as_str().unwrap();
    app.insert_raw_job(
        ws,
        "publish",
        &format!(r#"{{ "note": "queued by 0.9", "publication_id" : "{publication}" }}"#),
        // Due when the approval is: year 2999.
        32_503_680_000_000,
    )
    .await;
    // Withdrawn before it went out: pending again, its publication and jobs gone.
    let unapprove = || {
        app.client
            .post(app.url(&format!("/api/v1/cards/{card}/unapprove")))
            .bearer_auth(&app.token)
            .send()
    };
    let r = unapprove().await.unwrap();
    assert_eq!(r.status(), 200);
    let one = app.get_json(&format!("/api/v1/cards/{card}")).await;
    assert_eq!(one["data"]["status"], "pending");
    assert!(one["data"]["publications"].as_array().unwrap().is_empty());
    let queued = app.get_json("/api/v1/jobs?status=queued").await;
    let other_publication =
        app.get_json(&format!("/api/v1/cards/{other}")).await["data"]["publications"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let publish_jobs: Vec<&Value> = queued["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "publish")
        .collect();
    assert_eq!(
        publish_jobs.len(),
        1,
        "only the other card's job is left: {queued}"
    );
    assert_eq!(
        publish_jobs[0]["payload"]["publication_id"], other_publication,
        "{queued}"
    );
    let still = app.get_json(&format!("/api/v1/cards/{other}")).await;
    assert_eq!(still["data"]["status"], "approved");
    assert_eq!(
        unapprove().await.unwrap().status(),
        409,
        "only an approved card can be withdrawn"
    );
    // And it can be approved again, for now this time.
    assert_eq!(approve(json!({"channels": [channel]})).await.status(), 202);
    app.eventually("published after all", || async {
        app.get_json(&format!("/api/v1/cards/{card}")).await["data"]["status"] == "published"
    })
    .await;
    assert_eq!(
        unapprove().await.unwrap().status(),
        409,
        "too late once published"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    app.stop().await;
}

async fn the_emergency_stop_holds_everything_until_lifted(backend: Backend) {
    let app = spawn_app(backend).await;
    let card = a_card(&app, 3, "feat: add XML export").await;
    let (channel, path) = outbox(&app, "stop-outbox.jsonl").await;
    let r = app
        .client
        .put(app.url("/api/v1/workspace/emergency-stop"))
        .bearer_auth(&app.token)
        .json(&json!({"on": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["emergency_stop"],
        true
    );
    let r = app
        .post_json(
            &format!("/api/v1/cards/{card}/approve"),
            &json!({"channels": [channel]}),
        )
        .await;
    assert_eq!(r.status(), 202);
    app.eventually(
        "the publish job has run and held the publication",
        || async {
            let jobs = app.get_json("/api/v1/jobs").await;
            jobs["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|j| j["kind"] == "publish" && j["status"] == "done")
        },
    )
    .await;
    let one = app.get_json(&format!("/api/v1/cards/{card}")).await;
    assert_eq!(one["data"]["status"], "approved");
    assert_eq!(one["data"]["publications"][0]["status"], "queued");
    assert!(!path.exists(), "nothing was published while stopped");

    // Lifted from the command line, as an operator would in a hurry.
    let out = crate::helpers::covalynce_cmd(&app.data_dir, app.database_url.as_deref())
        .args(["stop", "--workspace", "acme", "--lift"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 publication(s) resume"));
    app.eventually("the held card is published after the lift", || async {
        app.get_json(&format!("/api/v1/cards/{card}")).await["data"]["status"] == "published"
    })
    .await;
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 1);
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["emergency_stop"],
        false
    );
    // Both the API's stop and the operator's lift are in the audit log, newest first.
    let audit = app.get_json("/api/v1/audit").await;
    let actions: Vec<(&str, &str)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .filter(|(_, a)| a.contains("stop"))
        .collect();
    // The operator's lift went through the same use case as the API's stop.
    assert_eq!(actions[0], ("cli", "workspace.emergency_stop"), "{audit}");
    let lift = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["actor"] == "cli")
        .unwrap();
    assert_eq!(lift["detail"]["on"], false, "{audit}");
    assert_eq!(lift["detail"]["resumed"], 1, "{audit}");
    assert!(
        actions[1..]
            .iter()
            .any(|(who, a)| who.starts_with("token:") && *a == "workspace.emergency_stop"),
        "{audit}"
    );
    app.stop().await;
}

async fn the_trust_policy_auto_approves_green_cards_after_enough_unedited_approvals(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let src = app.github_source("Codertocat/Hello-World", SECRET).await;
    let (channel, path) = outbox(&app, "trust-outbox.jsonl").await;
    // The changelog is trusted too: it takes release cards only, so pushes go to the
    // outbox alone rather than nowhere.
    let changelog = crate::changelog::changelog_channel(&app).await;
    let r = app
        .client
        .patch(app.url("/api/v1/workspace"))
        .bearer_auth(&app.token)
        .json(&json!({"trust": {"after": 2, "channels": [channel, changelog]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let bad = app.client.patch(app.url("/api/v1/workspace")).bearer_auth(&app.token)
        .json(&json!({"trust": {"after": 2, "channels": [covalynce_domain::ChannelId::new().to_string()]}}))
        .send().await.unwrap();
    assert_eq!(bad.status(), 422);

    let mut n = 10;
    let mut next_card = |message: &'static str| {
        n += 1;
        let (app, src) = (&app, src.clone());
        let k = n;
        async move {
            let mut v: Value =
                serde_json::from_slice(&push_of_commit(&format!("{k:040x}"))).unwrap();
            v["commits"][0]["message"] = message.into();
            v["commits"][0]["added"] = json!(["src/lib.rs"]);
            app.deliver(
                &src,
                "push",
                &format!("t{k}"),
                SECRET,
                &serde_json::to_vec(&v).unwrap(),
            )
            .await;
            app.eventually("the card is drafted", || async {
                app.get_json("/api/v1/cards").await["data"]
                    .as_array()
                    .unwrap()
                    .len()
                    == k - 10
            })
            .await;
            let cards = app.get_json("/api/v1/cards").await;
            (
                cards["data"][0]["id"].as_str().unwrap().to_owned(),
                cards["data"][0]["status"].as_str().unwrap().to_owned(),
            )
        }
    };
    let approve = |card: String| {
        let (app, channel) = (&app, channel.clone());
        async move {
            let r = app
                .post_json(
                    &format!("/api/v1/cards/{card}/approve"),
                    &json!({"channels": [channel]}),
                )
                .await;
            assert_eq!(r.status(), 202);
        }
    };
    // An edited approval does not count; two clean ones in a row do.
    let (c1, _) = next_card("feat: add export one").await;
    app.client
        .patch(app.url(&format!("/api/v1/cards/{c1}")))
        .bearer_auth(&app.token)
        .json(&json!({"variants": {"x": "Export one."}}))
        .send()
        .await
        .unwrap();
    approve(c1).await;
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["trust"]["streak"],
        0
    );
    let (c2, s2) = next_card("feat: add export two").await;
    assert_eq!(s2, "pending", "streak 0: a person reviews");
    approve(c2.clone()).await;
    let (c3, s3) = next_card("feat: add export three").await;
    assert_eq!(s3, "pending", "streak 1 of 2");
    approve(c3).await;
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["trust"]["streak"],
        2
    );
    // Yellow still waits for a person.
    let (c4, _) = next_card("feat: the fastest export ever").await;
    // Green goes out by itself.
    let (c5, _) = next_card("feat: add export five").await;
    app.eventually(
        "the trusted card is published without anyone approving it",
        || async {
            app.get_json(&format!("/api/v1/cards/{c5}")).await["data"]["status"] == "published"
        },
    )
    .await;
    let lines = std::fs::read_to_string(&path).unwrap();
    assert!(lines.contains(&c5));
    let published = app.get_json(&format!("/api/v1/cards/{c5}")).await;
    assert_eq!(
        published["data"]["publications"].as_array().unwrap().len(),
        1,
        "the outbox only: {published}"
    );
    // The policy's own approval goes through the same approval as a person's, but earns it
    // no trust: the streak counts people's approvals only.
    assert_eq!(
        app.get_json("/api/v1/workspace").await["data"]["trust"]["streak"],
        2
    );
    // By now the yellow card's job finished long ago: it is still waiting for a person.
    let yellow = app.get_json(&format!("/api/v1/cards/{c4}")).await;
    assert_eq!(yellow["data"]["risk"], "yellow");
    assert_eq!(yellow["data"]["status"], "pending");
    // The audit log says who approved what: a person's token the cards it approved, the
    // policy the one it approved on its own; nobody the yellow one.
    let audit = app.get_json("/api/v1/audit").await;
    let approvals: Vec<(&str, &str)> = audit["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "card.approve")
        .map(|e| (e["actor"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    assert!(
        approvals.contains(&("trust-policy", c5.as_str())),
        "{audit}"
    );
    assert!(
        approvals
            .iter()
            .any(|(who, card)| *card == c2 && who.starts_with("token:")),
        "{audit}"
    );
    assert!(!approvals.iter().any(|(_, card)| *card == c4), "{audit}");
    app.stop().await;
}
