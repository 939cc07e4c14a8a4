//! The job store: every query of the queue, one method each, over Postgres.
//!
//! The SQL lives in `store/sql/*.sql`, one file per query; the tables, their CHECK constraints
//! and the state diagram in `migrations/0001_jobs.sql`. Time comes from the database clock
//! (`now()`), so that every coordinator replica and the reaper agree on lease expiry.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgPool, PgPoolOptions};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{
    JobState, JobView, LeaseToken, LeasedJob, NewEval, NodeGrade, NodeStatus, Outcome,
    Requirements, Resources, WorkerRegistration, WorkerView, node_status,
};

mod metrics;
mod runs;
mod sweeps;

pub use sweeps::{
    ExportNode, ExportRun, NewSweep, Submitted, SweepRecord, SweepRunCounts, SweepTotals,
};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// One job's outcome as its worker reported it, with the grade the coordinator gave it.
pub struct Completion<'a> {
    pub lease: LeaseToken,
    pub outcome: &'a Outcome,
    pub submission: Option<&'a [u8]>,
    pub grade: Option<&'a NodeGrade>,
}

/// Where a job's submission is graded, and the trace its grading joins.
pub struct GradingInput {
    pub task_dir: String,
    pub trace_parent: Option<String>,
}

/// What the reaper did in one pass.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ReapReport {
    pub requeued: Vec<Uuid>,
    pub failed: Vec<Uuid>,
}

#[derive(Clone)]
pub struct JobStore {
    pool: PgPool,
}

impl JobStore {
    /// Connects and applies the migrations.
    pub async fn connect(database_url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(database_url)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn worker_register(&self, reg: &WorkerRegistration) -> Result<Uuid> {
        let row = sqlx::query(include_str!("sql/worker_register.sql"))
            .bind(Uuid::now_v7())
            .bind(&reg.name)
            .bind(&reg.hostname)
            .bind(&reg.sandbox)
            .bind(&reg.version)
            .bind(to_i32(reg.total.slots)?)
            .bind(to_i32(reg.total.cpu_millis)?)
            .bind(to_i64(reg.total.memory_bytes)?)
            .bind(to_i32_vec(&reg.total.gpu_ids)?)
            .bind(&reg.packages)
            .bind(to_i64(reg.total.disk_bytes)?)
            .bind(sqlx::types::Json(&reg.images))
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get("id"))
    }

    /// The Python packages every active worker reported for `image` (None: each worker's
    /// own), as `name version`, sorted; None when no active worker reported any yet.
    pub async fn worker_packages(&self, image: Option<&str>) -> Result<Option<Vec<String>>> {
        Ok(sqlx::query_scalar(include_str!("sql/worker_packages.sql"))
            .bind(image)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Whether some job names `data_dir` as its task data (what workers may fetch).
    pub async fn data_dir_known(&self, data_dir: &str) -> Result<bool> {
        Ok(sqlx::query_scalar(include_str!("sql/data_dir_known.sql"))
            .bind(data_dir)
            .fetch_one(&self.pool)
            .await?)
    }

    /// Records a sign of life; `NotFound` tells the worker to register again.
    pub async fn worker_touch(&self, worker_id: Uuid, draining: bool) -> Result<()> {
        sqlx::query(include_str!("sql/worker_touch.sql"))
            .bind(worker_id)
            .bind(draining)
            .fetch_optional(&self.pool)
            .await?
            .map(|_| ())
            .ok_or_else(|| Error::NotFound(format!("worker {worker_id}")))
    }

    pub async fn worker_mark_lost(&self, silent_for: Duration) -> Result<Vec<String>> {
        let rows = sqlx::query(include_str!("sql/worker_mark_lost.sql"))
            .bind(silent_for.as_secs_f64())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| r.get("name")).collect())
    }

    pub async fn worker_list(&self) -> Result<Vec<WorkerView>> {
        let rows = sqlx::query(include_str!("sql/worker_list.sql"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let last: chrono::DateTime<chrono::Utc> = r.get("last_heartbeat_at");
                Ok(WorkerView {
                    worker_id: r.get("id"),
                    name: r.get("name"),
                    state: r.get("state"),
                    total: Resources {
                        slots: from_i32(r.get("slots"))?,
                        cpu_millis: from_i32(r.get("cpu_millis"))?,
                        memory_bytes: from_i64(r.get("memory_bytes"))?,
                        gpu_ids: from_i32_vec(r.get("gpu_ids"))?,
                        disk_bytes: from_i64(r.get("disk_bytes"))?,
                    },
                    leased_jobs: u32::try_from(r.get::<i64, _>("leased_jobs")).unwrap_or(u32::MAX),
                    last_heartbeat_unix_ms: last.timestamp_millis(),
                })
            })
            .collect()
    }

    /// Creates a node and the job that evaluates it, atomically.
    pub async fn eval_enqueue(&self, eval: &NewEval) -> Result<(Uuid, Uuid)> {
        let (node_id, job_id) = (Uuid::now_v7(), Uuid::now_v7());
        let req = &eval.requirements;
        let mut tx = self.pool.begin().await?;
        sqlx::query(include_str!("sql/node_insert.sql"))
            .bind(node_id)
            .bind(&eval.task_id)
            .bind(&eval.code)
            .bind(&eval.task_dir)
            .execute(&mut *tx)
            .await?;
        sqlx::query(include_str!("sql/job_insert.sql"))
            .bind(job_id)
            .bind(node_id)
            .bind(eval.priority)
            .bind(to_i32(req.gpus)?)
            .bind(to_i32(req.cpu_millis)?)
            .bind(to_i64(req.memory_bytes)?)
            .bind(to_i64(req.timeout_ms)?)
            .bind(&eval.task_id)
            .bind(&eval.data_dir)
            .bind(to_i32(eval.max_attempts)?)
            .bind(None::<Uuid>)
            .bind(None::<String>)
            .bind(to_i64(req.disk_bytes)?)
            .bind(&req.image)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((node_id, job_id))
    }

    /// Leases up to `max_jobs` queued jobs that fit together in `free` (never more than its
    /// slots), claimed in one statement, in the order they should run.
    pub async fn job_lease_many(
        &self,
        worker_id: Uuid,
        free: &Resources,
        images: &[String],
        max_jobs: u32,
        ttl: Duration,
    ) -> Result<Vec<LeasedJob>> {
        let most = max_jobs.min(free.slots);
        if most == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(include_str!("sql/job_lease.sql"))
            .bind(worker_id)
            .bind(ttl.as_secs_f64())
            .bind(to_i32_vec(&free.gpu_ids)?)
            .bind(to_i32(free.cpu_millis)?)
            .bind(to_i64(free.memory_bytes)?)
            .bind(i64::from(most))
            .bind(to_i64(free.disk_bytes)?)
            .bind(images)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(LeasedJob {
                    job_id: row.get("id"),
                    node_id: row.get("node_id"),
                    epoch: from_i64(row.get("epoch"))?,
                    attempt: from_i32(row.get("attempt"))?,
                    requirements: Requirements {
                        gpus: from_i32(row.get("req_gpus"))?,
                        cpu_millis: from_i32(row.get("req_cpu_millis"))?,
                        memory_bytes: from_i64(row.get("req_memory_bytes"))?,
                        timeout_ms: from_i64(row.get("timeout_ms"))?,
                        disk_bytes: from_i64(row.get("req_disk_bytes"))?,
                        image: row.get("image"),
                    },
                    task_id: row.get("task_id"),
                    data_dir: row.get("data_dir"),
                    gpu_ids: from_i32_vec(row.get("gpu_ids"))?,
                    code: row.get("code"),
                    trace_parent: row.get("trace_parent"),
                })
            })
            .collect()
    }

    /// Renews the given leases of a worker; returns those it no longer holds.
    pub async fn job_heartbeat(
        &self,
        worker_id: Uuid,
        held: &[LeaseToken],
        ttl: Duration,
    ) -> Result<Vec<LeaseToken>> {
        let ids: Vec<Uuid> = held.iter().map(|t| t.job_id).collect();
        let epochs = held
            .iter()
            .map(|t| to_i64(t.epoch))
            .collect::<Result<Vec<_>>>()?;
        let rows = sqlx::query(include_str!("sql/job_heartbeat.sql"))
            .bind(worker_id)
            .bind(ttl.as_secs_f64())
            .bind(&ids)
            .bind(&epochs)
            .fetch_all(&self.pool)
            .await?;
        let renewed: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
        Ok(held
            .iter()
            .filter(|t| !renewed.contains(&t.job_id))
            .copied()
            .collect())
    }

    /// What grading each job needs: its node's task directory (where the answers are) and
    /// the job's trace parent (the grading span joins the job's trace). Unknown jobs are absent.
    pub async fn job_grading_inputs(
        &self,
        job_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, GradingInput>> {
        let rows = sqlx::query(include_str!("sql/job_grading_input.sql"))
            .bind(job_ids)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let input = GradingInput {
                    task_dir: row.get("task_dir"),
                    trace_parent: row.get("trace_parent"),
                };
                (row.get("id"), input)
            })
            .collect())
    }

    /// Records the outcome of a job under its current lease, and the node's grade and status
    /// with it; returns the job's age in seconds.
    pub async fn job_complete(
        &self,
        lease: LeaseToken,
        outcome: &Outcome,
        submission: Option<&[u8]>,
        grade: Option<&NodeGrade>,
    ) -> Result<f64> {
        let completion = Completion {
            lease,
            outcome,
            submission,
            grade,
        };
        self.job_complete_many(&[completion])
            .await?
            .pop()
            .expect("one verdict per completion")
    }

    /// Records several jobs' outcomes (with their nodes' grades and statuses) in one
    /// statement, each only under its current lease. One verdict per completion, in order: the
    /// job's age in seconds, or why its report was refused.
    pub async fn job_complete_many(
        &self,
        completions: &[Completion<'_>],
    ) -> Result<Vec<Result<f64>>> {
        let mut ids = Vec::with_capacity(completions.len());
        let mut epochs = Vec::with_capacity(completions.len());
        let mut outcomes = Vec::with_capacity(completions.len());
        let mut submissions = Vec::with_capacity(completions.len());
        let mut statuses = Vec::with_capacity(completions.len());
        let mut grades = Vec::with_capacity(completions.len());
        for c in completions {
            ids.push(c.lease.job_id);
            epochs.push(to_i64(c.lease.epoch)?);
            outcomes.push(serde_json::to_string(c.outcome)?);
            submissions.push(c.submission);
            statuses.push(node_status(c.outcome, c.grade).as_str());
            grades.push(c.grade);
        }
        let rows = sqlx::query(include_str!("sql/job_complete.sql"))
            .bind(&ids)
            .bind(&epochs)
            .bind(&outcomes)
            .bind(&submissions)
            .bind(&statuses)
            .bind(
                grades
                    .iter()
                    .map(|g| g.map(|g| g.valid_submission))
                    .collect::<Vec<_>>(),
            )
            .bind(
                grades
                    .iter()
                    .map(|g| g.and_then(|g| g.val_score))
                    .collect::<Vec<_>>(),
            )
            .bind(
                grades
                    .iter()
                    .map(|g| g.and_then(|g| g.test_score))
                    .collect::<Vec<_>>(),
            )
            .bind(
                grades
                    .iter()
                    .map(|g| g.map(|g| g.medal.as_str()))
                    .collect::<Vec<_>>(),
            )
            .bind(
                grades
                    .iter()
                    .map(|g| g.map(|g| g.above_median))
                    .collect::<Vec<_>>(),
            )
            .bind(
                grades
                    .iter()
                    .map(|g| g.map(serde_json::to_string).transpose())
                    .collect::<std::result::Result<Vec<_>, _>>()?,
            )
            .fetch_all(&self.pool)
            .await?;
        let ages: HashMap<Uuid, f64> = rows
            .iter()
            .map(|r| (r.get("job_id"), r.get("age_seconds")))
            .collect();
        let mut verdicts = Vec::with_capacity(completions.len());
        for c in completions {
            verdicts.push(match ages.get(&c.lease.job_id) {
                Some(age) => Ok(*age),
                None => Err(self.fence_error(c.lease).await),
            });
        }
        Ok(verdicts)
    }

    /// The holder could not run the job; returns the job's new state (queued or failed).
    pub async fn job_retry_or_fail(&self, lease: LeaseToken, error: &str) -> Result<JobState> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(include_str!("sql/job_retry_or_fail.sql"))
            .bind(lease.job_id)
            .bind(to_i64(lease.epoch)?)
            .bind(error)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(self.fence_error(lease).await);
        };
        let state = parse_state(row.get("state"))?;
        if state == JobState::Failed {
            node_set_status(&mut tx, row.get("node_id"), NodeStatus::Buggy).await?;
        }
        tx.commit().await?;
        Ok(state)
    }

    pub async fn job_release(&self, lease: LeaseToken, reason: &str) -> Result<()> {
        let row = sqlx::query(include_str!("sql/job_release.sql"))
            .bind(lease.job_id)
            .bind(to_i64(lease.epoch)?)
            .bind(reason)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(_) => Ok(()),
            None => Err(self.fence_error(lease).await),
        }
    }

    /// Requeues (or fails) every job whose lease expired, and with `restarted` every job that
    /// worker still held (a restarted worker process holds none).
    pub async fn job_reap(&self, restarted: Option<Uuid>) -> Result<ReapReport> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(include_str!("sql/job_reap.sql"))
            .bind(restarted)
            .fetch_all(&mut *tx)
            .await?;
        let mut report = ReapReport::default();
        for row in rows {
            let id: Uuid = row.get("id");
            if parse_state(row.get("state"))? == JobState::Failed {
                node_set_status(&mut tx, row.get("node_id"), NodeStatus::Buggy).await?;
                report.failed.push(id);
            } else {
                report.requeued.push(id);
            }
        }
        tx.commit().await?;
        Ok(report)
    }

    /// Stores a live output chunk; false when the lease is no longer current.
    /// What the current attempt of a job has printed so far (stdout, stderr), at most the last
    /// `tail_bytes` of each (as whole chunks, so a little more).
    pub async fn job_live_output(&self, job_id: Uuid, tail_bytes: u64) -> Result<(String, String)> {
        let rows = sqlx::query(include_str!("sql/job_live_output.sql"))
            .bind(job_id)
            .bind(to_i64(tail_bytes)?)
            .fetch_all(&self.pool)
            .await?;
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        for row in rows {
            let data: Vec<u8> = row.get("data");
            match row.get::<String, _>("stream").as_str() {
                "stdout" => stdout.extend(data),
                _ => stderr.extend(data),
            }
        }
        Ok((
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        ))
    }

    pub async fn job_output_append(
        &self,
        lease: LeaseToken,
        stream: &str,
        offset: u64,
        data: &[u8],
    ) -> Result<bool> {
        let done = sqlx::query(include_str!("sql/job_output_append.sql"))
            .bind(lease.job_id)
            .bind(to_i64(lease.epoch)?)
            .bind(stream)
            .bind(to_i64(offset)?)
            .bind(data)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn job_get(&self, job_id: Uuid) -> Result<JobView> {
        let row = sqlx::query(include_str!("sql/job_get.sql"))
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| Error::NotFound(format!("job {job_id}")))?;
        let outcome: Option<sqlx::types::Json<Outcome>> = row.get("outcome");
        let grade: Option<sqlx::types::Json<NodeGrade>> = row.get("grade");
        Ok(JobView {
            job_id: row.get("id"),
            node_id: row.get("node_id"),
            state: parse_state(row.get("state"))?,
            attempts: from_i32(row.get("attempt"))?,
            outcome: outcome.map(|j| j.0),
            submission: row.get("submission"),
            error: row.get("error"),
            worker_name: row.get("worker_name"),
            node_status: NodeStatus::parse(row.get("node_status"))
                .ok_or_else(|| Error::Corrupt("unknown node status".into()))?,
            grade: grade.map(|g| g.0),
        })
    }

    /// Explains why a fenced update matched no row.
    async fn fence_error(&self, lease: LeaseToken) -> Error {
        let row = sqlx::query(include_str!("sql/job_fence.sql"))
            .bind(lease.job_id)
            .fetch_optional(&self.pool)
            .await;
        match row {
            Err(e) => e.into(),
            Ok(None) => Error::NotFound(format!("job {}", lease.job_id)),
            Ok(Some(row)) => Error::StaleLease {
                job_id: lease.job_id,
                presented: lease.epoch,
                current: row.get::<i64, _>("epoch").max(0) as u64,
                state: row.get("state"),
            },
        }
    }
}

async fn node_set_status(
    tx: &mut sqlx::PgConnection,
    node_id: Uuid,
    status: NodeStatus,
) -> Result<()> {
    sqlx::query(include_str!("sql/node_set_status.sql"))
        .bind(node_id)
        .bind(status.as_str())
        .execute(tx)
        .await?;
    Ok(())
}

fn parse_state(s: String) -> Result<JobState> {
    JobState::parse(&s).ok_or_else(|| Error::Corrupt(format!("unknown job state {s:?}")))
}

pub(super) fn to_i32(v: u32) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::InvalidArgument(format!("{v} is too large")))
}

pub(super) fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::InvalidArgument(format!("{v} is too large")))
}

fn to_i32_vec(v: &[u32]) -> Result<Vec<i32>> {
    v.iter().map(|&x| to_i32(x)).collect()
}

pub(super) fn from_i32(v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Corrupt(format!("negative count {v}")))
}

pub(super) fn from_i64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative count {v}")))
}

fn from_i32_vec(v: Vec<i32>) -> Result<Vec<u32>> {
    v.into_iter().map(from_i32).collect()
}
