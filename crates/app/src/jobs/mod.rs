//! The worker pool: claims due jobs from the shared table, runs them, and records the
//! outcome. Jobs are at-least-once (a crashed worker's lease expires and another process
//! takes the job over), so every handler is idempotent.

mod credentials;
pub mod gate;
mod handlers;
pub mod publish;

use crate::secrets::SecretBox;
use covalynce_domain::{JobKind, now_millis};

use covalynce_storage::{ClaimedJob, JobFinish, JobOutcome, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tracing::Instrument;

/// How the worker pool runs (the server's configuration holds one).
#[derive(Clone, Debug)]
pub struct JobsConfig {
    pub workers: usize,
    /// Jobs a worker claims at once: one claim (one commit) for several jobs.
    pub claim_batch: usize,
    /// How often an idle worker looks for due jobs (it is also woken when this process
    /// enqueues one, so this bounds latency for jobs enqueued by other replicas).
    pub poll_interval: Duration,
    /// How long a claimed job is held before another process may take it over. A worker
    /// renews it every third of this while it works, so it only runs out when the worker
    /// is gone (a crash): short, so another process resumes the work within seconds.
    pub lease: Duration,
    /// The longest one job may run before it is given up as timed out.
    pub max_run: Duration,
    /// First retry delay; doubles per attempt, with jitter.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: 2,
            claim_batch: 8,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(15),
            max_run: Duration::from_secs(300),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
        }
    }
}

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth another try later (a network hiccup, a row not there yet).
    #[error("{0}")]
    Retry(String),
    /// Worth another try, not before `at` (Unix ms): the platform said when.
    #[error("{0}")]
    RetryAt(String, i64),
    /// Trying again cannot help (a malformed payload).
    #[error("{0}")]
    Permanent(String),
    /// Not run now, and not an attempt: run at `at` (a channel paused by its platform's
    /// rate limit, a daily cap reached).
    #[error("{note}")]
    Defer { note: String, at: i64 },
}

/// What jobs need besides the job: the store, the key that unseals channel credentials,
/// and the guarded HTTP client channels publish through.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub secrets: SecretBox,
    pub http: covalynce_publishing::Http,
    pub ai: crate::ai::Settings,
    /// GitHub's API (a local server in tests): diffs for sources that hold a token.
    pub github_api: String,
    /// The server's data dir: outbox files live in `outbox/<workspace id>/` below it.
    pub data_dir: std::path::PathBuf,
    /// Where the server is reached from outside (`COVALYNCE_PUBLIC_URL`): a Slack message
    /// shows a release image by its address there; without one it goes as text.
    pub public_url: Option<String>,
}

impl Context {
    /// The folder a workspace's outbox files are written to. Only the server names it;
    /// a channel names a file in it.
    pub fn outbox_dir(&self, ws: covalynce_domain::WorkspaceId) -> std::path::PathBuf {
        outbox_dir(&self.data_dir, ws)
    }
}

/// `DATA_DIR/outbox/<workspace id>`: by id, not slug, so a workspace made later under a
/// deleted one's slug never writes into its files.
pub fn outbox_dir(
    data_dir: &std::path::Path,
    ws: covalynce_domain::WorkspaceId,
) -> std::path::PathBuf {
    data_dir.join("outbox").join(ws.to_string())
}

impl From<covalynce_storage::StoreError> for JobError {
    fn from(e: covalynce_storage::StoreError) -> Self {
        JobError::Retry(e.to_string())
    }
}

pub struct Pool {
    workers: JoinSet<()>,
}

impl Pool {
    /// Starts `config.workers` workers. They stop claiming when `shutdown` turns true and
    /// give back a running job's lease if it has not finished `grace` later.
    pub fn spawn(
        context: Context,
        config: JobsConfig,
        wakeup: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
        grace: Duration,
    ) -> Self {
        Self::spawn_yielding(context, config, wakeup, shutdown, grace, None)
    }

    /// Like [`Pool::spawn`], but workers hold back while `yield_to` (deliveries waiting to be
    /// committed) is non-zero, for at most 100 ms at a time: on SQLite, jobs and webhooks
    /// share one writer, and a webhook is waiting for its answer while a job is not.
    pub fn spawn_yielding(
        context: Context,
        config: JobsConfig,
        wakeup: Arc<Notify>,
        shutdown: watch::Receiver<bool>,
        grace: Duration,
        yield_to: Option<Arc<std::sync::atomic::AtomicUsize>>,
    ) -> Self {
        let mut workers = JoinSet::new();
        let process = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        for n in 0..config.workers {
            let worker = Worker {
                id: format!("{process}-{n}"),
                store: context.store.clone(),
                context: context.clone(),
                config: config.clone(),
                wakeup: wakeup.clone(),
                shutdown: shutdown.clone(),
                grace,
                yield_to: yield_to.clone(),
            };
            workers.spawn(worker.run());
        }
        Self { workers }
    }

    /// Waits for every worker to stop (after shutdown was signalled).
    pub async fn join(mut self) {
        while self.workers.join_next().await.is_some() {}
    }
}

struct Worker {
    id: String,
    store: Arc<dyn Store>,
    context: Context,
    config: JobsConfig,
    wakeup: Arc<Notify>,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
    yield_to: Option<Arc<std::sync::atomic::AtomicUsize>>,
}

impl Worker {
    async fn run(mut self) {
        let lease_ms = self.config.lease.as_millis() as i64;
        let wakeup = self.wakeup.clone();
        while !*self.shutdown.borrow() {
            // Register for a wake-up before looking, so a job enqueued between the claim
            // and the wait is not missed until the next poll.
            if let Some(pending) = &self.yield_to {
                for _ in 0..50 {
                    if pending.load(std::sync::atomic::Ordering::Relaxed) == 0 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            let notified = wakeup.notified();
            match self
                .store
                .claim_jobs(&self.id, self.config.claim_batch.max(1) as i64, lease_ms)
                .await
            {
                Ok(jobs) if !jobs.is_empty() => {
                    // The batch's leases are renewed while it runs: they lapse only if this
                    // process dies, and then another takes the jobs over within a lease.
                    let heartbeat = self.heartbeat(jobs.iter().map(|j| j.id).collect());
                    let mut finished = Vec::with_capacity(jobs.len());
                    for job in jobs {
                        if let Some(outcome) = self.execute(&job).await {
                            finished.push((job, outcome));
                        }
                    }
                    heartbeat.abort();
                    self.record(finished).await;
                }
                Ok(_) => {
                    tokio::select! {
                        _ = notified => {}
                        _ = tokio::time::sleep(self.config.poll_interval) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "claiming jobs failed");
                    // A database that is down or locked is not hammered: at least a second
                    // between tries (on SQLite a claim that waits for a lock held elsewhere
                    // also holds the one writer that requests need).
                    let pause = (self.config.poll_interval * 4).max(Duration::from_secs(1));
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = self.shutdown.changed() => {}
                    }
                }
            }
        }
    }

    /// Renews the leases of `ids` every third of a lease until aborted.
    fn heartbeat(&self, ids: Vec<covalynce_domain::JobId>) -> tokio::task::JoinHandle<()> {
        let (store, worker, lease) = (self.store.clone(), self.id.clone(), self.config.lease);
        tokio::spawn(async move {
            let every = (lease / 3).max(Duration::from_millis(50));
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = store
                    .renew_leases(&worker, &ids, lease.as_millis() as i64)
                    .await
                {
                    tracing::warn!(error = %e, "could not renew job leases");
                }
            }
        })
    }

    /// Runs one claimed job; `None` when it was given back (shutdown) instead.
    async fn execute(&self, job: &ClaimedJob) -> Option<JobOutcome> {
        let span =
            tracing::info_span!("job", job_id = %job.id, kind = %job.kind, attempt = job.attempts);
        self.execute_in_span(job).instrument(span).await
    }

    async fn execute_in_span(&self, job: &ClaimedJob) -> Option<JobOutcome> {
        if job.attempts > job.max_attempts {
            // Its lease expired more times than it may run: a job that crashes its worker.
            let msg = format!(
                "gave up after {} attempts (the worker holding it stopped each time)",
                job.max_attempts
            );
            if let Ok(what) = job.job()
                && let Err(e) = handlers::abandon(&self.context, what, &msg).await
            {
                tracing::warn!(error = %e, "could not record the abandoned job's outcome");
            }
            return Some(self.outcome(job, Err(JobError::Permanent(msg))));
        }
        if JobKind::parse(&job.kind).is_none() {
            let msg = format!(
                "unknown job kind {:?} (written by a newer version?)",
                job.kind
            );
            return Some(self.outcome(job, Err(JobError::Permanent(msg))));
        };
        // Decoded once, here: a payload without its id fails for good, with the reason.
        let what = match job.job() {
            Ok(what) => what,
            Err(e) => return Some(self.outcome(job, Err(JobError::Permanent(e)))),
        };
        let run = handlers::run(&self.context, what, job);
        // A job may take at most `max_run` (its lease is renewed meanwhile).
        let run = tokio::time::timeout(self.config.max_run, run);
        let mut shutdown = self.shutdown.clone();
        let grace = self.grace;
        let gave_up = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            result = run => {
                let result = result.unwrap_or_else(|_| Err(JobError::Retry(format!(
                    "timed out after {} s", self.config.max_run.as_secs()
                ))));
                Some(self.outcome(job, result))
            }
            _ = gave_up => {
                tracing::warn!("shutting down: releasing the job for another worker");
                if let Err(e) = self.store.release_job(job.id, &self.id).await {
                    tracing::warn!(error = %e, "could not release the job; its lease will expire");
                }
                metrics::counter!("covalynce_jobs_processed_total", "kind" => job.kind.clone(), "outcome" => "released").increment(1);
                None
            }
        }
    }

    fn outcome(&self, job: &ClaimedJob, result: Result<(), JobError>) -> JobOutcome {
        match result {
            Ok(()) => JobOutcome::Done,
            Err(JobError::Defer { note, at }) => {
                tracing::info!(job_id = %job.id, note = %note, run_at = at, "job deferred");
                JobOutcome::Defer { note, at }
            }
            Err(JobError::Retry(error)) if job.attempts < job.max_attempts => {
                let at = now_millis() + backoff_ms(&self.config, job.attempts);
                tracing::warn!(job_id = %job.id, error = %error, retry_at = at, "job failed; will retry");
                JobOutcome::Retry { error, at }
            }
            Err(JobError::RetryAt(error, at)) if job.attempts < job.max_attempts => {
                tracing::warn!(job_id = %job.id, error = %error, retry_at = at, "job failed; will retry when told");
                JobOutcome::Retry { error, at }
            }
            Err(e) => {
                tracing::error!(job_id = %job.id, error = %e, "job failed for good");
                JobOutcome::Failed {
                    error: e.to_string(),
                }
            }
        }
    }

    /// Records a claimed batch's outcomes in one commit.
    async fn record(&self, finished: Vec<(ClaimedJob, JobOutcome)>) {
        let results: Vec<JobFinish> = finished
            .iter()
            .map(|(job, outcome)| JobFinish {
                id: job.id,
                outcome: outcome.clone(),
            })
            .collect();
        match self.store.finish_jobs(&self.id, &results).await {
            Ok(held) => {
                for ((job, _), held) in finished.iter().zip(held) {
                    if !held {
                        tracing::warn!(job_id = %job.id, "lost the job's lease before finishing; another worker owns it now");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not record job outcomes; their leases will expire")
            }
        }
        for (job, outcome) in &finished {
            let label = match outcome {
                JobOutcome::Done => "done",
                JobOutcome::Defer { .. } => "deferred",
                JobOutcome::Retry { .. } => "retry",
                JobOutcome::Failed { .. } => "failed",
            };
            metrics::counter!("covalynce_jobs_processed_total", "kind" => job.kind.clone(), "outcome" => label).increment(1);
        }
    }
}

/// Exponential backoff with jitter: base · 2^(attempt−1), capped, then scaled by a random
/// factor in [0.5, 1.0] so jobs that failed together do not retry in lockstep.
pub fn backoff_ms(config: &JobsConfig, attempt: i64) -> i64 {
    let base = config.backoff_base.as_millis() as f64;
    let cap = config.backoff_max.as_millis() as f64;
    let exp = base * 2f64.powi((attempt.clamp(1, 40) - 1) as i32);
    let jitter = 0.5 + rand::random::<f64>() * 0.5;
    (exp.min(cap) * jitter).max(1.0) as i64
}

impl crate::App {
    /// The workspace's background jobs, newest first.
    pub async fn jobs(
        &self,
        who: &crate::Acting<crate::Viewer>,
        status: Option<covalynce_storage::JobStatus>,
        limit: i64,
    ) -> Result<Vec<covalynce_storage::JobRecord>, crate::AppError> {
        Ok(self
            .store()
            .list_jobs(who.workspace().id, status, limit)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let config = JobsConfig {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            ..JobsConfig::default()
        };
        for attempt in 1..=10 {
            let full = (1000f64 * 2f64.powi(attempt as i32 - 1)).min(60_000.0);
            for _ in 0..50 {
                let d = backoff_ms(&config, attempt) as f64;
                assert!(
                    d >= full * 0.5 - 1.0 && d <= full,
                    "attempt {attempt}: {d} not in [{}, {full}]",
                    full * 0.5
                );
            }
        }
        let spread: std::collections::HashSet<i64> =
            (0..50).map(|_| backoff_ms(&config, 3)).collect();
        assert!(spread.len() > 1, "jitter must vary the delay");
    }
}
