//! The job queue: claimed with a lease, renewed while running, finished in batches.

use crate::{ClaimedJob, JobFinish, JobOutcome, JobRecord, JobStatus, NewJob, Result};
use async_trait::async_trait;
use covalynce_domain::{JobId, WorkspaceId};

#[async_trait]
pub trait JobStore {
    async fn enqueue_job(&self, job: &NewJob) -> Result<JobId>;
    /// Takes up to `limit` runnable jobs (queued and due, or running with an expired
    /// lease) for `worker`, leasing them for `lease_ms`. A job is held by one worker at a
    /// time, across processes.
    async fn claim_jobs(&self, worker: &str, limit: i64, lease_ms: i64) -> Result<Vec<ClaimedJob>>;
    /// Records how each of `worker`'s runs ended, in one commit. Each answer is false when
    /// the worker no longer held that job (its lease expired and another took it).
    async fn finish_jobs(&self, worker: &str, results: &[JobFinish]) -> Result<Vec<bool>>;
    /// [`Store::finish_jobs`] for one successful run.
    async fn complete_job(&self, id: JobId, worker: &str) -> Result<bool> {
        let done = self
            .finish_jobs(
                worker,
                &[JobFinish {
                    id,
                    outcome: JobOutcome::Done,
                }],
            )
            .await?;
        Ok(done[0])
    }

    /// Records the error; the job runs again at `retry_at`, or fails for good when `None`.
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool> {
        let outcome = match retry_at {
            Some(at) => JobOutcome::Retry {
                error: error.to_owned(),
                at,
            },
            None => JobOutcome::Failed {
                error: error.to_owned(),
            },
        };
        Ok(self
            .finish_jobs(worker, &[JobFinish { id, outcome }])
            .await?[0])
    }

    /// Extends the leases of running jobs that `worker` still holds to `lease_ms` from now:
    /// a worker renews while it works, so a lease can be short and a crashed worker's
    /// jobs are taken over within seconds.
    async fn renew_leases(&self, worker: &str, ids: &[JobId], lease_ms: i64) -> Result<()>;
    /// Gives a job back unfinished (shutdown): it runs again at once, and this attempt
    /// does not count.
    async fn release_job(&self, id: JobId, worker: &str) -> Result<bool>;
    async fn list_jobs(
        &self,
        ws: WorkspaceId,
        status: Option<JobStatus>,
        limit: i64,
    ) -> Result<Vec<JobRecord>>;
    async fn job(&self, id: JobId) -> Result<Option<JobRecord>>;
    /// Jobs per status across all workspaces, for metrics.
    async fn job_counts(&self) -> Result<Vec<(JobStatus, i64)>>;
}

/// The queries, once for both backends (`impl_store!`).
macro_rules! impl_jobs {
    ($store:ty, $db:ty, claim_sql = $claim_sql:expr) => {

        #[async_trait::async_trait]
        impl $crate::JobStore for $store {
            async fn enqueue_job(
                &self,
                job: &$crate::NewJob,
            ) -> $crate::Result<covalynce_domain::JobId> {
                let mut tx = self.pools.write($crate::unit::Scope::System).await?;
                let id = covalynce_domain::JobId::new();
                let now = covalynce_domain::now_millis();
                sqlx::query(
                    "INSERT INTO jobs (id, workspace_id, kind, payload, run_at, max_attempts, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(id.to_string())
                .bind(job.workspace_id.map(|w| w.to_string()))
                .bind(job.job.kind().as_str())
                .bind(job.job.payload())
                .bind(job.run_at)
                .bind(job.max_attempts)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn claim_jobs(
                &self,
                worker: &str,
                limit: i64,
                lease_ms: i64,
            ) -> $crate::Result<Vec<$crate::ClaimedJob>> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                let rows: Vec<$crate::sql::ClaimRow> = sqlx::query_as($claim_sql)
                    .bind(worker)
                    .bind(now + lease_ms)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn finish_jobs(
                &self,
                worker: &str,
                results: &[$crate::JobFinish],
            ) -> $crate::Result<Vec<bool>> {
                let now = covalynce_domain::now_millis();
                let mut answers = vec![false; results.len()];
                if results.is_empty() {
                    return Ok(answers);
                }
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                let done: Vec<String> = results
                    .iter()
                    .filter(|r| r.outcome == $crate::JobOutcome::Done)
                    .map(|r| r.id.to_string())
                    .collect();
                if !done.is_empty() {
                    let mut qb = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE jobs SET status = 'done', finished_at = ",
                    );
                    qb.push_bind(now)
                        .push(", updated_at = ")
                        .push_bind(now)
                        .push(", locked_until = NULL, last_error = NULL WHERE status = 'running' AND locked_by = ")
                        .push_bind(worker.to_owned())
                        .push(" AND id IN (");
                    let mut ids = qb.separated(", ");
                    for id in &done {
                        ids.push_bind(id.clone());
                    }
                    qb.push(") RETURNING id");
                    let finished: std::collections::HashSet<String> =
                        qb.build_query_scalar().fetch_all(&mut *tx).await?.into_iter().collect();
                    for (answer, r) in answers.iter_mut().zip(results) {
                        if r.outcome == $crate::JobOutcome::Done {
                            *answer = finished.contains(&r.id.to_string());
                        }
                    }
                }
                for (answer, r) in answers.iter_mut().zip(results) {
                    let (status, run_at, finished, error, uncounted) = match &r.outcome {
                        $crate::JobOutcome::Done => continue,
                        $crate::JobOutcome::Defer { note, at } => ("queued", Some(*at), None, note, 1),
                        $crate::JobOutcome::Retry { error, at } => ("queued", Some(*at), None, error, 0),
                        $crate::JobOutcome::Failed { error } => ("failed", None, Some(now), error, 0),
                    };
                    let updated = sqlx::query(
                        "UPDATE jobs SET status = $1, run_at = COALESCE($2, run_at), finished_at = $3,
                                last_error = $4, updated_at = $5, locked_until = NULL, attempts = attempts - $8
                         WHERE id = $6 AND locked_by = $7 AND status = 'running'",
                    )
                    .bind(status)
                    .bind(run_at)
                    .bind(finished)
                    .bind(error.as_str())
                    .bind(now)
                    .bind(r.id.to_string())
                    .bind(worker)
                    .bind(uncounted as i64)
                    .execute(&mut *tx)
                    .await?;
                    *answer = updated.rows_affected() == 1;
                }
                tx.commit().await?;
                Ok(answers)
            }

            async fn renew_leases(
                &self,
                worker: &str,
                ids: &[covalynce_domain::JobId],
                lease_ms: i64,
            ) -> $crate::Result<()> {
                if ids.is_empty() {
                    return Ok(());
                }
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                for id in ids {
                    sqlx::query(
                        "UPDATE jobs SET locked_until = $1
                         WHERE id = $2 AND locked_by = $3 AND status = 'running'",
                    )
                    .bind(now + lease_ms)
                    .bind(id.to_string())
                    .bind(worker)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn release_job(
                &self,
                id: covalynce_domain::JobId,
                worker: &str,
            ) -> $crate::Result<bool> {
                let mut tx = self.pools.relaxed($crate::unit::Scope::System).await?;
                let now = covalynce_domain::now_millis();
                let done = sqlx::query(
                    "UPDATE jobs SET status = 'queued', run_at = $1, updated_at = $1,
                            attempts = attempts - 1, locked_by = NULL, locked_until = NULL
                     WHERE id = $2 AND locked_by = $3 AND status = 'running'",
                )
                .bind(now)
                .bind(id.to_string())
                .bind(worker)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_jobs(
                &self,
                ws: covalynce_domain::WorkspaceId,
                status: Option<$crate::JobStatus>,
                limit: i64,
            ) -> $crate::Result<Vec<$crate::JobRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::Workspace(ws)).await?;
                let rows: Vec<$crate::sql::JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {} FROM jobs WHERE workspace_id = $1 AND ($2 IS NULL OR status = $2)
                     ORDER BY id DESC LIMIT $3",
                    $crate::sql::JOB_COLS
                )))
                .bind(ws.to_string())
                .bind(status.map(|s| s.as_str()))
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                $crate::sql::collect(rows)
            }

            async fn job(
                &self,
                id: covalynce_domain::JobId,
            ) -> $crate::Result<Option<$crate::JobRecord>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let row: Option<$crate::sql::JobRow> = sqlx::query_as(sqlx::AssertSqlSafe(
                    format!("SELECT {} FROM jobs WHERE id = $1", $crate::sql::JOB_COLS),
                ))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
                tx.commit().await?;
                row.map(TryInto::try_into).transpose()
            }

            async fn job_counts(&self) -> $crate::Result<Vec<($crate::JobStatus, i64)>> {
                let mut tx = self.pools.read($crate::unit::Scope::System).await?;
                let rows: Vec<(String, i64)> =
                    sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                        .fetch_all(&mut *tx)
                        .await?;
                tx.commit().await?;
                rows.into_iter()
                    .map(|(s, n)| {
                        $crate::JobStatus::parse(&s)
                            .map(|s| (s, n))
                            .ok_or_else(|| $crate::StoreError::Corrupt(format!("job status {s:?}")))
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_jobs;
