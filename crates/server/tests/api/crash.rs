//! Crash test: approve cards to the outbox, SIGKILL the server while it publishes, restart,
//! repeat; every publication must be in the outbox exactly once — with one server, and with
//! two PostgreSQL replicas sharing the data dir (each workspace's outbox file in its own
//! folder there).

use crate::helpers::{bounded, push_of_commit, serve_process};
use covalynce_storage::Backend;
use serde_json::{Value, json};
use std::collections::HashMap;

async fn crash_and_recover(backend: Backend, replicas: usize) {
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let client = reqwest::Client::new();
    let args = ["--job-lease-secs", "1"];
    let mut servers = Vec::new();
    for _ in 0..replicas {
        servers.push(serve_process(&dir, url.as_deref(), &args).await);
    }
    let base = servers[0].1.clone();
    // Four workspaces (the SOLO plan drafts 5 cards each): 20 cards to publish.
    let mut approvals: Vec<(String, String, String)> = Vec::new(); // (token, card, channel)
    for w in 0..4 {
        let token = crate::helpers::cli_token(&dir, url.as_deref(), &format!("ws{w}"));
        let src: Value = client
            .post(format!("{base}/api/v1/sources"))
            .bearer_auth(&token)
            .json(&json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": "s"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hook = src["data"]["webhook_url"].as_str().unwrap().to_owned();
        let channel: Value = client
            .post(format!("{base}/api/v1/channels"))
            .bearer_auth(&token)
            .json(&json!({"kind": "outbox"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let channel = channel["data"]["id"].as_str().unwrap().to_owned();
        for n in 0..5 {
            let mut v: Value =
                serde_json::from_slice(&push_of_commit(&format!("{w:020x}{n:020x}"))).unwrap();
            v["commits"][0]["message"] = format!("feat: add feature {w}-{n}").into();
            v["commits"][0]["added"] = json!(["src/lib.rs"]);
            let body = serde_json::to_vec(&v).unwrap();
            client
                .post(format!("{base}{hook}"))
                .header("x-github-event", "push")
                .header("x-github-delivery", format!("d{w}-{n}"))
                .header(
                    "x-hub-signature-256",
                    covalynce_sources::github::sign(b"s", &body),
                )
                .body(body)
                .send()
                .await
                .unwrap();
        }
        let cards = crate::helpers::drafted_cards(&client, &base, &token, 5).await;
        for card in cards {
            approvals.push((token.clone(), card, channel.clone()));
        }
    }
    // Approve everything, killing the server at random moments along the way.
    let mut rng_state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    for (round, chunk) in approvals.chunks(5).enumerate() {
        // Approvals go to one replica; with several, another may be the one publishing.
        let api = servers[round % replicas].1.clone();
        for (token, card, channel) in chunk {
            let r = client
                .post(format!("{api}/api/v1/cards/{card}/approve"))
                .bearer_auth(token)
                .json(&json!({"channels": [channel]}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 202);
        }
        tokio::time::sleep(std::time::Duration::from_millis(next() % 40)).await;
        let victim = (next() as usize) % replicas;
        servers[victim].0.child.kill().unwrap(); // SIGKILL
        servers[victim].0.child.wait().unwrap();
        servers[victim] = serve_process(&dir, url.as_deref(), &args).await;
    }
    let base = servers[0].1.clone();
    // After the last restart everything settles: each card published, each line once.
    for _ in 0..300 {
        let mut published = 0;
        for (token, card, _) in &approvals {
            let r: Value = client
                .get(format!("{base}/api/v1/cards/{card}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if r["data"]["status"] == "published" {
                published += 1;
            }
        }
        if published == approvals.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let lines = crate::helpers::all_outbox_lines(&dir);
    let mut per_card: HashMap<String, usize> = HashMap::new();
    for line in &lines {
        let v: Value = serde_json::from_str(line).expect("every line is whole JSON");
        *per_card
            .entry(v["card_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(
        per_card.len(),
        approvals.len(),
        "every approved card is in the outbox"
    );
    assert!(
        per_card.values().all(|&n| n == 1),
        "and each exactly once: {per_card:?}"
    );
    drop(servers);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_publishing_loses_and_repeats_nothing_on_sqlite() {
    bounded(240, crash_and_recover(Backend::Sqlite, 1)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_while_publishing_loses_and_repeats_nothing_on_postgres() {
    bounded(240, crash_and_recover(Backend::Postgres, 1)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_one_of_two_postgres_replicas_while_publishing_loses_and_repeats_nothing() {
    bounded(240, crash_and_recover(Backend::Postgres, 2)).await
}
