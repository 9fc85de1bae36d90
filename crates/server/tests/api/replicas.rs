//! Two `covalynce serve` processes on one PostgreSQL database: deliveries are stored once
//! and jobs run once, whichever replica gets them.

use crate::helpers::{bounded, covalynce_cmd, push_of_commit, serve_process};
use covalynce_storage::Backend;
use std::collections::HashSet;

const SECRET: &str = "replica-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_store_each_delivery_once_and_run_each_job_once() {
    bounded(180, async {
        let (url, dir) = covalynce_storage::testing::fresh_database(Backend::Postgres).await;
        let url = url.unwrap();
        let out = covalynce_cmd(&dir, Some(&url)).args(["token", "create", "--workspace", "team"]).output().unwrap();
        assert!(out.status.success());
        let token = String::from_utf8(out.stdout).unwrap().lines().last().unwrap().to_owned();
        // Replicas on separate machines share the key through the environment; here they
        // also share the data dir, where the first start wrote it.
        let (_a, base_a) = serve_process(&dir, Some(&url), &[]).await;
        let (_b, base_b) = serve_process(&dir, Some(&url), &[]).await;
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{base_a}/api/v1/sources"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"kind": "github", "repo": "Codertocat/Hello-World", "secret": SECRET}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let source: serde_json::Value = r.json().await.unwrap();
        let hook = source["data"]["webhook_url"].as_str().unwrap().to_owned();

        let send = |base: String, guid: String, body: Vec<u8>| {
            let client = client.clone();
            let hook = hook.clone();
            async move {
                client
                    .post(format!("{base}{hook}"))
                    .header("x-github-event", "push")
                    .header("x-github-delivery", guid)
                    .header("x-hub-signature-256", covalynce_sources::github::sign(SECRET.as_bytes(), &body))
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        };

        // The same delivery to both replicas at the same moment: one stores it, the other
        // answers that it is a duplicate.
        for n in 0..20 {
            let body = push_of_commit(&format!("{n:040x}"));
            let guid = format!("same-{n}");
            let (sa, sb) = tokio::join!(
                send(base_a.clone(), guid.clone(), body.clone()),
                send(base_b.clone(), guid, body)
            );
            let mut statuses = [sa, sb];
            statuses.sort();
            assert_eq!(statuses, [200, 202], "delivery {n}: one stored, one duplicate");
        }
        // Distinct deliveries spread over both replicas: each becomes one job.
        let mut sends = Vec::new();
        for n in 20..120 {
            let base = if n % 2 == 0 { base_a.clone() } else { base_b.clone() };
            sends.push(tokio::spawn(send(base, format!("d-{n}"), push_of_commit(&format!("{n:040x}")))));
        }
        for s in sends {
            assert_eq!(s.await.unwrap(), 202);
        }

        let store = covalynce_storage::open(&covalynce_storage::testing::connect_for(Some(&url), &dir)).await.unwrap();
        let ws = store.ensure_workspace(&covalynce_domain::WorkspaceSlug::parse("team").unwrap()).await.unwrap();
        assert_eq!(store.list_deliveries(ws.id, None, 500).await.unwrap().len(), 120);
        let mut jobs = Vec::new();
        for _ in 0..400 {
            jobs = store.list_jobs(ws.id, None, 500).await.unwrap();
            if jobs.len() == 120 && jobs.iter().all(|j| j.status == covalynce_storage::JobStatus::Done) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(jobs.len(), 120, "one job per event");
        for j in &jobs {
            assert_eq!(j.status, covalynce_storage::JobStatus::Done, "{j:?}");
            assert_eq!(j.attempts, 1, "each job ran exactly once: {j:?}");
        }
        let processes: HashSet<&str> = jobs
            .iter()
            .filter_map(|j| j.locked_by.as_deref())
            .map(|w| w.rsplit_once('-').map_or(w, |(p, _)| p))
            .collect();
        assert_eq!(processes.len(), 2, "both replicas ran jobs: {processes:?}");
        let events = store
            .list_events(ws.id, &covalynce_storage::EventFilter { limit: 500, ..Default::default() })
            .await
            .unwrap();
        assert_eq!(events.len(), 120);
        // Both replicas drafted concurrently against one plan: exactly card_limit cards.
        let drafted = events.iter().filter(|e| e.status == covalynce_domain::EventStatus::Drafted).count();
        let over = events.iter().filter(|e| e.status == covalynce_domain::EventStatus::OverLimit).count();
        assert_eq!((drafted, over), (5, 115), "the SOLO plan's 5 cards, no more");
        let ws = store.workspace(ws.id).await.unwrap().unwrap();
        assert_eq!(ws.cards_used, 5);
    })
    .await
}
