//! The store's queries about sweeps: submission (idempotent by fingerprint), life cycle,
//! status counts and report facts.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use randori_report::figures;
use randori_report::{LlmUsage, NodeFacts, RunFacts, SweepInfo, SweepReport};
use sqlx::Row;
use uuid::Uuid;

use super::{JobStore, from_i32, from_i64, to_i32, to_i64};
use crate::error::{Error, Result};
use crate::model::NodeGrade;
use crate::sweep_spec::SweepSpec;

/// A checked sweep, ready to store: its spec and, per task directory, the task's id.
pub struct NewSweep<'a> {
    pub spec: &'a SweepSpec,
    pub task_ids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct SweepRecord {
    pub id: Uuid,
    pub name: String,
    pub state: String,
    pub priority: i32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why randori paused it: an LLM settings error, with the key to fix.
    pub blocked: Option<String>,
}

/// A sweep's runs and their counters, summed (`sweep_status_summary.sql`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepTotals {
    pub runs: u32,
    pub pending: u32,
    pub running: u32,
    pub paused: u32,
    pub completed: u32,
    pub failed: u32,
    pub cancelled: u32,
    pub waiting_for_llm: u32,
    /// What one of the waiting runs waits for.
    pub waiting_reason: Option<String>,
    pub nodes: u32,
    pub ok: u32,
    pub buggy: u32,
    pub queued: u32,
    pub leased: u32,
    pub succeeded: u32,
    pub jobs_failed: u32,
    pub jobs_cancelled: u32,
    pub budget_left: u32,
    pub gold: u32,
    pub silver: u32,
    pub bronze: u32,
}

/// One run of a sweep with its node and job counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepRunCounts {
    pub id: Uuid,
    pub task_id: String,
    pub policy: String,
    pub seed: u64,
    pub state: String,
    /// While its LLM endpoint is down: what it waits for.
    pub waiting_for: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    pub max_nodes: u32,
    /// The wall budget, and the working time the run's driver last recorded.
    pub max_wall_ms: u64,
    pub working_ms: u64,
    pub nodes: u32,
    pub ok: u32,
    pub buggy: u32,
    pub queued: u32,
    pub leased: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub cancelled: u32,
    pub selected_medal: Option<String>,
}

/// One run of a sweep and its final pick, as `sweep export` writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRun {
    pub id: Uuid,
    pub task_id: String,
    /// Where the task is, as stored (a directory or an MLE-bench location).
    pub task_dir: String,
    pub policy: String,
    pub seed: u64,
    pub state: String,
    pub selected_node: Option<Uuid>,
    pub grade: Option<NodeGrade>,
}

/// What submitting found or made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub id: Uuid,
    pub existing: bool,
    pub runs: u32,
}

impl JobStore {
    /// Stores a sweep and all its runs in one transaction, or finds the sweep the same spec
    /// made before (running a sweep file again resumes it).
    pub async fn sweep_submit(&self, sweep: &NewSweep<'_>) -> Result<Submitted> {
        let spec = sweep.spec;
        let fingerprint = spec.fingerprint();
        let mut tx = self.pool().begin().await?;
        let id = Uuid::now_v7();
        let inserted = sqlx::query(include_str!("sql/sweep_insert.sql"))
            .bind(id)
            .bind(&spec.name)
            .bind(&fingerprint)
            .bind(sqlx::types::Json(spec))
            .bind(spec.priority)
            .fetch_optional(&mut *tx)
            .await?;
        if inserted.is_none() {
            tx.rollback().await?;
            let row = sqlx::query(include_str!("sql/sweep_find.sql"))
                .bind(&fingerprint)
                .fetch_one(self.pool())
                .await?;
            return Ok(Submitted {
                id: row.get("id"),
                existing: true,
                runs: u32::try_from(row.get::<i64, _>("runs")).unwrap_or(u32::MAX),
            });
        }
        let task_id_of = |dir: &str| {
            spec.tasks
                .iter()
                .position(|t| t == dir)
                .and_then(|i| sweep.task_ids.get(i))
                .cloned()
                .ok_or_else(|| Error::InvalidArgument(format!("no task id for {dir}")))
        };
        let mut ids = Vec::new();
        let mut dirs = Vec::new();
        let mut task_ids = Vec::new();
        let mut policies = Vec::new();
        let mut seeds = Vec::new();
        let mut operator_configs = Vec::new();
        for run in spec.runs() {
            operator_configs.push(spec.operator_config(&run));
            ids.push(Uuid::now_v7());
            dirs.push(run.task_dir.to_owned());
            task_ids.push(task_id_of(run.task_dir)?);
            policies.push(run.policy.to_owned());
            // The seed's 64 bits, stored in a signed column.
            seeds.push(run.seed as i64);
        }
        let b = &spec.budget;
        let r = &spec.resources;
        sqlx::query(include_str!("sql/sweep_runs_insert.sql"))
            .bind(id)
            .bind(&ids)
            .bind(&dirs)
            .bind(&task_ids)
            .bind(&policies)
            .bind(&seeds)
            .bind(&spec.policy)
            .bind(&operator_configs)
            .bind(to_i32(b.max_nodes)?)
            .bind(to_i64(b.max_wall_ms)?)
            .bind(to_i64(b.node_timeout_ms)?)
            .bind(to_i32(b.parallelism)?)
            .bind(to_i32(r.gpus)?)
            .bind(to_i32(r.cpu_millis)?)
            .bind(to_i64(r.memory_bytes)?)
            .bind(to_i64(r.disk_bytes)?)
            .bind(&spec.image)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Submitted {
            id,
            existing: false,
            runs: ids.len() as u32,
        })
    }

    pub async fn sweep_get(&self, id: Uuid) -> Result<SweepRecord> {
        let row = sqlx::query(include_str!("sql/sweep_get.sql"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("sweep {id}")))?;
        Ok(sweep_record(&row))
    }

    /// Every sweep, newest first.
    pub async fn sweep_list(&self) -> Result<Vec<SweepRecord>> {
        let rows = sqlx::query(include_str!("sql/sweep_list.sql"))
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(sweep_record).collect())
    }

    /// The sweep's totals, one row read whatever its size.
    pub async fn sweep_status_summary(&self, id: Uuid) -> Result<SweepTotals> {
        let r = sqlx::query(include_str!("sql/sweep_status_summary.sql"))
            .bind(id)
            .fetch_one(self.pool())
            .await?;
        let n = |c: &str| -> Result<u32> {
            u32::try_from(r.get::<i64, _>(c)).map_err(|_| Error::Corrupt(format!("{c} count")))
        };
        Ok(SweepTotals {
            runs: n("runs")?,
            pending: n("pending")?,
            running: n("running")?,
            paused: n("paused")?,
            completed: n("completed")?,
            failed: n("failed")?,
            cancelled: n("cancelled")?,
            waiting_for_llm: n("waiting_for_llm")?,
            waiting_reason: r.get("waiting_reason"),
            nodes: n("nodes")?,
            ok: n("ok")?,
            buggy: n("buggy")?,
            queued: n("queued")?,
            leased: n("leased")?,
            succeeded: n("succeeded")?,
            jobs_failed: n("jobs_failed")?,
            jobs_cancelled: n("jobs_cancelled")?,
            budget_left: n("budget_left")?,
            gold: n("gold")?,
            silver: n("silver")?,
            bronze: n("bronze")?,
        })
    }

    pub async fn sweep_run_counts(&self, id: Uuid) -> Result<Vec<SweepRunCounts>> {
        let rows = sqlx::query(include_str!("sql/sweep_run_counts.sql"))
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        let count = |r: &sqlx::postgres::PgRow, c: &str| -> Result<u32> {
            u32::try_from(r.get::<i64, _>(c)).map_err(|_| Error::Corrupt(format!("{c} count")))
        };
        rows.iter()
            .map(|r| {
                Ok(SweepRunCounts {
                    id: r.get("id"),
                    task_id: r.get("task_id"),
                    policy: r.get("policy"),
                    seed: r.get::<i64, _>("seed") as u64,
                    state: r.get("state"),
                    waiting_for: r.get("waiting_for"),
                    error: r.get("error"),
                    max_nodes: from_i32(r.get("max_nodes"))?,
                    max_wall_ms: from_i64(r.get("max_wall_ms"))?,
                    working_ms: from_i64(r.get("working_ms"))?,
                    nodes: count(r, "nodes")?,
                    ok: count(r, "ok")?,
                    buggy: count(r, "buggy")?,
                    queued: count(r, "queued")?,
                    leased: count(r, "leased")?,
                    succeeded: count(r, "succeeded")?,
                    failed: count(r, "failed")?,
                    cancelled: count(r, "cancelled")?,
                    selected_medal: r.get("selected_medal"),
                })
            })
            .collect()
    }

    /// Pauses a running sweep; an error names the state it is in otherwise.
    pub async fn sweep_pause(&self, id: Uuid) -> Result<()> {
        self.sweep_pause_for(id, None).await?;
        self.sweep_is(id, &["paused"]).await
    }

    /// Pauses a running sweep because an LLM call showed a settings error; `why` names the
    /// key to fix, and stays on the sweep until it is resumed.
    pub async fn sweep_block(&self, id: Uuid, why: &str) -> Result<()> {
        self.sweep_pause_for(id, Some(why)).await
    }

    async fn sweep_pause_for(&self, id: Uuid, why: Option<&str>) -> Result<()> {
        sqlx::query(include_str!("sql/sweep_pause.sql"))
            .bind(id)
            .bind(why)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Reopens the sweep's failed runs (`runs`: those of them; empty: all) from their stored
    /// nodes; returns the ones reopened. A paused or cancelled sweep is refused.
    pub async fn sweep_retry(&self, id: Uuid, runs: &[Uuid]) -> Result<Vec<Uuid>> {
        let sweep = self.sweep_get(id).await?;
        if !matches!(sweep.state.as_str(), "running" | "completed") {
            return Err(Error::InvalidArgument(format!(
                "sweep {id} is {}; only a running or completed sweep's runs can be retried{}",
                sweep.state,
                match sweep.state.as_str() {
                    "paused" => " (resume it first)",
                    _ => "",
                }
            )));
        }
        let reopened = sqlx::query_scalar(include_str!("sql/sweep_retry.sql"))
            .bind(id)
            .bind(runs)
            .fetch_all(self.pool())
            .await?;
        Ok(reopened)
    }

    pub async fn sweep_resume(&self, id: Uuid) -> Result<()> {
        self.sweep_transition(id, &[include_str!("sql/sweep_resume.sql")], &["running"])
            .await
    }

    /// Cancels a sweep; cancelling one that already ended is an error, a cancelled one is not.
    pub async fn sweep_cancel(&self, id: Uuid) -> Result<()> {
        self.sweep_transition(
            id,
            &[
                include_str!("sql/sweep_cancel.sql"),
                include_str!("sql/sweep_cancel_jobs.sql"),
            ],
            &["cancelled"],
        )
        .await
    }

    /// Runs `statements` (each binding the sweep id as $1) in one transaction, then checks
    /// that the sweep is in one of the `to` states.
    async fn sweep_transition(&self, id: Uuid, statements: &[&str], to: &[&str]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for sql in statements {
            sqlx::query(sql).bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.sweep_is(id, to).await
    }

    /// Ok when the sweep is in one of the `to` states, else an error naming its state.
    async fn sweep_is(&self, id: Uuid, to: &[&str]) -> Result<()> {
        let now = self.sweep_get(id).await?;
        if to.contains(&now.state.as_str()) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "sweep {id} is {}, so it cannot become {}",
                now.state, to[0]
            )))
        }
    }

    /// The facts a report aggregates, one per run of the sweep.
    /// A sweep's report: its runs' facts aggregated per task and policy.
    pub async fn sweep_report(&self, sweep: &SweepRecord) -> Result<SweepReport> {
        let (runs, operators, oracle_ablation) = self.sweep_report_runs(sweep.id).await?;
        Ok(randori_report::build(
            SweepInfo {
                id: sweep.id.to_string(),
                name: sweep.name.clone(),
                state: sweep.state.clone(),
                created_at: sweep.created_at.to_rfc3339(),
                operators,
                oracle_ablation,
            },
            runs,
        ))
    }

    /// The facts of every run, what wrote their programs (see `SweepInfo::operators`) and
    /// whether any run is an oracle ablation.
    /// When runs differ in operator set, each run's policy reads `greedy (aide)`, so the
    /// report's groups compare the sets.
    pub async fn sweep_report_runs(&self, id: Uuid) -> Result<(Vec<RunFacts>, Vec<String>, bool)> {
        let rows = sqlx::query(include_str!("sql/sweep_report_runs.sql"))
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        let count = |r: &sqlx::postgres::PgRow, c: &str| -> u64 {
            u64::try_from(r.get::<i64, _>(c)).unwrap_or(0)
        };
        let labels: Vec<String> = rows.iter().map(operators_of).collect();
        let mut operators = labels.clone();
        operators.sort();
        operators.dedup();
        let compared = operators.len() > 1;
        let oracle_ablation = rows.iter().any(|r| r.get::<bool, _>("use_test_score"));
        let runs = rows
            .iter()
            .zip(&labels)
            .map(|(r, label)| {
                let node = |c: &str| {
                    r.get::<Option<sqlx::types::Json<NodeGrade>>, _>(c)
                        .map(|g| node_facts(&g.0))
                };
                RunFacts {
                    id: r.get::<Uuid, _>("id").to_string(),
                    task: r.get("task_id"),
                    policy: randori_report::arm_label(r.get("policy"), label, compared),
                    seed: r.get::<i64, _>("seed") as u64,
                    state: r.get("state"),
                    error: r.get("error"),
                    nodes: count(r, "nodes") as u32,
                    nodes_ok: count(r, "ok") as u32,
                    nodes_buggy: count(r, "buggy") as u32,
                    best_val: r.get("best_val"),
                    selected: node("selected_grade"),
                    oracle: node("oracle_grade"),
                    llm: LlmUsage {
                        calls: count(r, "llm_calls"),
                        tokens_in: count(r, "tokens_in"),
                        tokens_out: count(r, "tokens_out"),
                        cost_usd: r.get("cost_usd"),
                    },
                    cpu_seconds: r.get("cpu_seconds"),
                    gpu_seconds: r.get("gpu_seconds"),
                }
            })
            .collect();
        Ok((runs, operators, oracle_ablation))
    }
}

/// One node of a sweep as `sweep_export_nodes.sql` reads it, for notebooks.
#[derive(Debug, Clone)]
pub struct ExportNode {
    pub run_id: Uuid,
    pub task_id: String,
    pub policy: String,
    /// What wrote its program: `builtin` or the operator set's label (`aira/v1`).
    pub operators: String,
    pub seed: u64,
    pub node_id: Uuid,
    pub step: u32,
    pub operator: Option<String>,
    pub parent_ids: Vec<Uuid>,
    pub status: String,
    pub buggy_reason: Option<String>,
    pub val_score: Option<f64>,
    pub test_score: Option<f64>,
    pub medal: Option<String>,
    pub above_median: Option<bool>,
    /// The task's direction, from the node's grade (none before it is graded).
    pub lower_is_better: Option<bool>,
    pub queued_at: Option<DateTime<Utc>>,
    pub leased_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub ran_seconds: Option<f64>,
    pub attempts: u32,
    pub worker: Option<String>,
    pub llm_calls: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
    /// How long the LLM calls of the node's step took.
    pub llm_seconds: f64,
}

impl JobStore {
    /// Every run of the sweep with its selected node's grade, in the report's order.
    pub async fn sweep_export_runs(&self, id: Uuid) -> Result<Vec<ExportRun>> {
        let rows = sqlx::query(include_str!("sql/sweep_export_runs.sql"))
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| ExportRun {
                id: r.get("id"),
                task_id: r.get("task_id"),
                task_dir: r.get("task_dir"),
                policy: r.get("policy"),
                seed: r.get::<i64, _>("seed") as u64,
                state: r.get("state"),
                selected_node: r.get("selected_node"),
                grade: r
                    .get::<Option<sqlx::types::Json<NodeGrade>>, _>("grade")
                    .map(|g| g.0),
            })
            .collect())
    }

    /// Every node of the sweep, in the report's run order and by step, read as a stream: a
    /// sweep of a million nodes is never held in memory at once.
    pub fn sweep_export_nodes(
        &self,
        id: Uuid,
    ) -> futures::stream::BoxStream<'_, Result<ExportNode>> {
        use futures::StreamExt;
        sqlx::query(include_str!("sql/sweep_export_nodes.sql"))
            .bind(id)
            .fetch(self.pool())
            .map(|row| {
                let r = row?;
                Ok(ExportNode {
                    run_id: r.get("run_id"),
                    task_id: r.get("task_id"),
                    policy: r.get("policy"),
                    operators: operators_of(&r),
                    seed: from_i64(r.get("seed"))?,
                    node_id: r.get("node_id"),
                    step: from_i32(r.get("step"))?,
                    operator: r.get("operator"),
                    parent_ids: r.get("parent_ids"),
                    status: r.get("status"),
                    buggy_reason: r.get("buggy_reason"),
                    val_score: r.get("val_score"),
                    test_score: r.get("test_score"),
                    medal: r.get("medal"),
                    above_median: r.get("above_median"),
                    lower_is_better: r.get("lower_is_better"),
                    queued_at: r.get("queued_at"),
                    leased_at: r.get("leased_at"),
                    finished_at: r.get("finished_at"),
                    ran_seconds: r.get("ran_seconds"),
                    attempts: from_i32(r.get("attempts"))?,
                    worker: r.get("worker"),
                    llm_calls: from_i64(r.get("llm_calls"))?,
                    tokens_in: from_i64(r.get("tokens_in"))?,
                    tokens_out: from_i64(r.get("tokens_out"))?,
                    cost_usd: r.get("cost_usd"),
                    llm_seconds: r.get("llm_seconds"),
                })
            })
            .boxed()
    }

    /// The sweep's runs with their evaluated nodes and each node's working time, as the
    /// figures need them; the rows are read as a stream and gathered as they come
    /// (`figures::RunsOfRows`).
    pub async fn sweep_figure_runs(&self, id: Uuid) -> Result<Vec<figures::RunNodes>> {
        static SQL: LazyLock<String> =
            LazyLock::new(|| figure_rows_of("SELECT id FROM runs WHERE sweep_id = $1"));
        self.figure_runs(&SQL, id).await
    }

    /// One run with its evaluated nodes, as the figures need it (none for an unknown run).
    pub async fn run_figure_runs(&self, id: Uuid) -> Result<Vec<figures::RunNodes>> {
        static SQL: LazyLock<String> = LazyLock::new(|| figure_rows_of("SELECT $1::uuid AS id"));
        self.figure_runs(&SQL, id).await
    }

    async fn figure_runs(&self, sql: &'static str, id: Uuid) -> Result<Vec<figures::RunNodes>> {
        use futures::TryStreamExt;
        let mut rows = sqlx::query(sql).bind(id).fetch(self.pool());
        let mut runs = figures::RunsOfRows::default();
        while let Some(r) = rows.try_next().await? {
            runs.push(figures::NodeRow {
                run_id: r.get::<Uuid, _>("run_id").to_string(),
                task: r.get("task_id"),
                policy: r.get("policy"),
                operators: operators_of(&r),
                seed: from_i64(r.get("seed"))?,
                step: from_i32(r.get("step"))?,
                status: r.get("status"),
                val: r.get("val_score"),
                test: r.get("test_score"),
                medal: r.get::<Option<String>, _>("medal").unwrap_or_default(),
                lower_is_better: r.get("lower_is_better"),
                leased_at: r.get("leased_at"),
                finished_at: r.get("finished_at"),
                llm_seconds: r.get("llm_seconds"),
            });
        }
        Ok(runs.finish())
    }

    /// The submission the node's evaluation returned; None when it wrote none (or has not
    /// been evaluated).
    pub async fn node_submission(&self, node_id: Uuid) -> Result<Option<Vec<u8>>> {
        Ok(sqlx::query_scalar(include_str!("sql/node_submission.sql"))
            .bind(node_id)
            .fetch_optional(self.pool())
            .await?
            .flatten())
    }
}

/// `figure_rows.sql` for the runs `picked` selects (their ids, from `$1`).
fn figure_rows_of(picked: &str) -> String {
    include_str!("sql/figure_rows.sql").replace("PICKED_RUNS", picked)
}

/// What wrote a run's programs, from a row with its `backend` and `operator_set`: `builtin`,
/// or the operator set's label (`aira/v1`), as reports and figures name it.
fn operators_of(r: &sqlx::postgres::PgRow) -> String {
    let set: String = r.get("operator_set");
    match r.get::<String, _>("backend").as_str() {
        "builtin" => "builtin".to_owned(),
        _ => randori_operators::prompts::operator_set(&set).map_or(set, |s| s.label()),
    }
}

fn node_facts(g: &NodeGrade) -> NodeFacts {
    NodeFacts {
        submission_exists: g.submission_exists,
        valid_submission: g.valid_submission,
        above_median: g.above_median,
        medal: g.medal.clone(),
        test_score: g.test_score,
    }
}

fn sweep_record(r: &sqlx::postgres::PgRow) -> SweepRecord {
    SweepRecord {
        id: r.get("id"),
        name: r.get("name"),
        state: r.get("state"),
        priority: r.get("priority"),
        created_at: r.get("created_at"),
        finished_at: r.get("finished_at"),
        blocked: r.get("blocked"),
    }
}
