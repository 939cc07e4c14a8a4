//! The store's queries about search runs and their trees.

use std::time::Duration;

use sqlx::Row;
use uuid::Uuid;

use super::{JobStore, from_i32, from_i64, to_i32, to_i64};
use crate::error::{Error, Result};
use crate::model::{
    Analysis, NewRun, NewRunNode, NodeGrade, NodeStatus, Outcome, Requirements, RunNode, RunRecord,
};

impl JobStore {
    pub async fn run_insert(&self, run: &NewRun) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let r = &run.requirements;
        sqlx::query(include_str!("sql/run_insert.sql"))
            .bind(id)
            .bind(&run.task_dir)
            .bind(&run.task_id)
            .bind(&run.policy)
            .bind(&run.policy_config)
            .bind(&run.operator_config)
            // The seed's 64 bits, stored in a signed column.
            .bind(run.seed as i64)
            .bind(to_i32(run.max_nodes)?)
            .bind(to_i64(run.max_wall_ms)?)
            .bind(to_i64(r.timeout_ms)?)
            .bind(to_i32(run.parallelism)?)
            .bind(to_i32(r.gpus)?)
            .bind(to_i32(r.cpu_millis)?)
            .bind(to_i64(r.memory_bytes)?)
            .bind(to_i64(r.disk_bytes)?)
            .bind(&r.image)
            .execute(self.pool())
            .await?;
        Ok(id)
    }

    /// Takes or keeps the running runs no live driver holds; returns the ones now held.
    pub async fn run_claim(&self, driver: &str, ttl: Duration) -> Result<Vec<Uuid>> {
        let rows = sqlx::query(include_str!("sql/run_claim.sql"))
            .bind(driver)
            .bind(ttl.as_secs_f64())
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(|r| r.get("id")).collect())
    }

    pub async fn run_get(&self, id: Uuid) -> Result<RunRecord> {
        let r = sqlx::query(include_str!("sql/run_get.sql"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("run {id}")))?;
        Ok(RunRecord {
            id,
            spec: NewRun {
                task_id: r.get("task_id"),
                task_dir: r.get("task_dir"),
                policy: r.get("policy"),
                policy_config: r.get("policy_config"),
                operator_config: r.get("operator_config"),
                seed: r.get::<i64, _>("seed") as u64,
                max_nodes: from_i32(r.get("max_nodes"))?,
                max_wall_ms: from_i64(r.get("max_wall_ms"))?,
                parallelism: from_i32(r.get("parallelism"))?,
                requirements: Requirements {
                    gpus: from_i32(r.get("req_gpus"))?,
                    cpu_millis: from_i32(r.get("req_cpu_millis"))?,
                    memory_bytes: from_i64(r.get("req_memory_bytes"))?,
                    timeout_ms: from_i64(r.get("node_timeout_ms"))?,
                    disk_bytes: from_i64(r.get("req_disk_bytes"))?,
                    image: r.get("image"),
                },
            },
            sweep_id: r.get("sweep_id"),
            priority: r.get("priority"),
            state: r.get("state"),
            error: r.get("error"),
            selected_node: r.get("selected_node"),
            oracle_node: r.get("oracle_node"),
        })
    }

    /// A run's nodes in creation order.
    pub async fn run_nodes(&self, run_id: Uuid) -> Result<Vec<RunNode>> {
        let rows = sqlx::query(include_str!("sql/run_nodes.sql"))
            .bind(run_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(run_node).collect()
    }

    /// A node, the run it belongs to (None for a single evaluation) and its latest job.
    pub async fn node_get(&self, node_id: Uuid) -> Result<(RunNode, Option<Uuid>, Uuid)> {
        let row = sqlx::query(include_str!("sql/node_get.sql"))
            .bind(node_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::NotFound(format!("node {node_id}")))?;
        Ok((run_node(&row)?, row.get("run_id"), row.get("job_id")))
    }

    /// Creates a run's node and the job that evaluates it, atomically; false when the step
    /// already exists (a restarted driver redoing its last step).
    pub async fn run_node_insert(
        &self,
        run: &RunRecord,
        node: &NewRunNode,
        data_dir: &str,
        max_attempts: u32,
    ) -> Result<bool> {
        let node_id = node.id;
        let trace_parent = randori_telemetry::propagate::traceparent(&crate::traces::node_context(
            run.sweep_id,
            run.id,
            node_id,
        ));
        let mut tx = self.pool().begin().await?;
        let inserted = sqlx::query(include_str!("sql/run_node_insert.sql"))
            .bind(node_id)
            .bind(&run.spec.task_id)
            .bind(&node.code)
            .bind(&run.spec.task_dir)
            .bind(node.run_id)
            .bind(to_i32(node.step)?)
            .bind(&node.operator)
            .bind(&node.parent_ids)
            .bind(&node.plan)
            .fetch_optional(&mut *tx)
            .await?;
        if inserted.is_none() {
            return Ok(false);
        }
        let req = &run.spec.requirements;
        sqlx::query(include_str!("sql/job_insert.sql"))
            .bind(Uuid::now_v7())
            .bind(node_id)
            .bind(run.priority)
            .bind(to_i32(req.gpus)?)
            .bind(to_i32(req.cpu_millis)?)
            .bind(to_i64(req.memory_bytes)?)
            .bind(to_i64(req.timeout_ms)?)
            .bind(&run.spec.task_id)
            .bind(data_dir)
            .bind(to_i32(max_attempts)?)
            .bind(run.sweep_id)
            .bind(trace_parent)
            .bind(to_i64(req.disk_bytes)?)
            .bind(&req.image)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Records an evaluated node's analysis with the status and score it implies; false when
    /// the node already had one (the first stands).
    pub async fn node_analysis_set(
        &self,
        node_id: Uuid,
        analysis: &Analysis,
        status: NodeStatus,
        val_score: Option<f64>,
    ) -> Result<bool> {
        let done = sqlx::query(include_str!("sql/node_analysis_set.sql"))
            .bind(node_id)
            .bind(sqlx::types::Json(analysis))
            .bind(status.as_str())
            .bind(val_score)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The run's working time so far (evaluations running, LLM calls), in ms; kept on the run.
    pub async fn run_working_time(&self, id: Uuid) -> Result<u64> {
        let ms: Option<i64> = sqlx::query_scalar(include_str!("sql/run_working_time.sql"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        from_i64(ms.unwrap_or(0))
    }

    /// Marks a running run as waiting for its LLM endpoint (`Some(what)`), or not (`None`).
    pub async fn run_waiting_set(&self, id: Uuid, waiting_for: Option<&str>) -> Result<()> {
        sqlx::query(include_str!("sql/run_waiting_set.sql"))
            .bind(id)
            .bind(waiting_for)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends a run and, when it was its sweep's last, the sweep.
    pub async fn run_finish(
        &self,
        run_id: Uuid,
        state: &str,
        error: Option<&str>,
        selected: Option<Uuid>,
        oracle: Option<Uuid>,
    ) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(include_str!("sql/run_finish.sql"))
            .bind(run_id)
            .bind(state)
            .bind(error)
            .bind(selected)
            .bind(oracle)
            .execute(&mut *tx)
            .await?;
        sqlx::query(include_str!("sql/sweep_complete.sql"))
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn run_node(r: &sqlx::postgres::PgRow) -> Result<RunNode> {
    let status: String = r.get("status");
    // Stored JSON that no longer reads is an error naming the node, not a panic.
    let corrupt = |what: &str, e: sqlx::Error| {
        Error::Corrupt(format!("node {}: its {what}: {e}", r.get::<Uuid, _>("id")))
    };
    let outcome: Option<sqlx::types::Json<Outcome>> =
        r.try_get("outcome").map_err(|e| corrupt("outcome", e))?;
    let grade: Option<sqlx::types::Json<NodeGrade>> =
        r.try_get("grade").map_err(|e| corrupt("grade", e))?;
    let analysis: Option<sqlx::types::Json<Analysis>> =
        r.try_get("analysis").map_err(|e| corrupt("analysis", e))?;
    Ok(RunNode {
        id: r.get("id"),
        step: from_i32(r.get("step"))?,
        operator: r.get("operator"),
        parent_ids: r.get("parent_ids"),
        status: NodeStatus::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("node status {status:?}")))?,
        val_score: r.get("val_score"),
        test_score: r.get("test_score"),
        medal: r.get("medal"),
        code: r.get("code"),
        plan: r.get("plan"),
        outcome: outcome.map(|o| o.0),
        grade: grade.map(|g| g.0),
        analysis: analysis.map(|a| a.0),
    })
}
