//! Background work: retried with backoff, failures visible, crashed workers' jobs recovered.

use crate::helpers::{on_both_backends, spawn_app, spawn_app_on, test_jobs_config};
use covalynce::config::JobsConfig;
use covalynce_domain::{EventId, now_millis};
use covalynce_storage::{Backend, JobStatus, NewJob};

on_both_backends!(
    a_failing_job_is_retried_then_fails_with_its_last_error_visible,
    a_job_that_cannot_succeed_fails_at_once,
    a_job_held_by_a_crashed_process_runs_again,
);

async fn workspace_id(app: &crate::helpers::TestApp) -> covalynce_domain::WorkspaceId {
    let ws = app.get_json("/api/v1/workspace").await;
    covalynce_domain::WorkspaceId::parse(ws["data"]["id"].as_str().unwrap()).unwrap()
}

async fn a_failing_job_is_retried_then_fails_with_its_last_error_visible(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = workspace_id(&app).await;
    let missing = EventId::new();
    let id = app
        .store
        .enqueue_job(&NewJob {
            workspace_id: Some(ws),
            job: covalynce_domain::Job::DraftEvent { event: missing },
            run_at: now_millis(),
            max_attempts: 3,
        })
        .await
        .unwrap();
    app.eventually("the job gives up", || async {
        app.store.job(id).await.unwrap().unwrap().status == JobStatus::Failed
    })
    .await;
    let failed = app.get_json("/api/v1/jobs?status=failed").await;
    let job = &failed["data"][0];
    assert_eq!(job["id"], id.to_string());
    assert_eq!(job["attempts"], 3, "tried max_attempts times");
    assert_eq!(job["last_error"], format!("event {missing} not found"));
    assert!(job["finished_at"].is_string());
    app.stop().await;
}

async fn a_job_that_cannot_succeed_fails_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let ws = workspace_id(&app).await;
    // A job this version cannot read (queued by hand, or by a version that wrote it
    // otherwise): the store only queues typed jobs, so it is written as a row.
    let id = app
        .insert_raw_job(ws, "draft_event", r#"{"nonsense": true}"#, now_millis())
        .await;
    app.eventually("the job fails", || async {
        app.store.job(id).await.unwrap().unwrap().status == JobStatus::Failed
    })
    .await;
    let job = app.store.job(id).await.unwrap().unwrap();
    assert_eq!(
        job.attempts, 1,
        "no retries for a payload that can never work"
    );
    assert_eq!(
        job.last_error.as_deref(),
        Some("draft_event job payload has no valid event_id")
    );
    app.stop().await;
}

async fn a_job_held_by_a_crashed_process_runs_again(backend: Backend) {
    // First process: no workers of its own, so the job waits in the queue.
    let (url, dir) = covalynce_storage::testing::fresh_database(backend).await;
    let idle = JobsConfig {
        workers: 0,
        ..test_jobs_config()
    };
    let first = spawn_app_on(backend, url.clone(), dir.clone(), idle).await;
    let src = first.github_source("Codertocat/Hello-World", "s").await;
    let r = first
        .deliver(
            &src,
            "push",
            "p-1",
            "s",
            &crate::helpers::fixture("push/with-new-branch.payload.json"),
        )
        .await;
    assert_eq!(r.status(), 202);
    // A worker takes the job with a short lease and dies without finishing it.
    let claimed = first
        .store
        .claim_jobs("crashed-process", 1, 300)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let id = claimed[0].id;
    first.stop().await;

    // The replacement process finds the job once the lease has expired, and runs it.
    let second = spawn_app_on(backend, url, dir, test_jobs_config()).await;
    second
        .eventually("the expired job runs again", || async {
            second.store.job(id).await.unwrap().unwrap().status == JobStatus::Done
        })
        .await;
    let job = second.store.job(id).await.unwrap().unwrap();
    assert_eq!(
        job.attempts, 2,
        "the crashed attempt and the one that finished"
    );
    assert_ne!(job.locked_by.as_deref(), Some("crashed-process"));
    let events = second.get_json("/api/v1/events").await;
    assert_eq!(events["data"][0]["status"], "drafted");
    second.stop().await;
}
