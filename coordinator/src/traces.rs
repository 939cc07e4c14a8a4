//! The long-lived spans (sweep → run → node → job), written when each ends, and the contexts
//! that short spans (operator calls, grading, the worker's container) hang under.
//!
//! A sweep's id is its trace id; a run outside a sweep roots its own trace, and so does a lone
//! evaluation job. Span ids are derived from stored ids (`randori_telemetry::ids`), so the tree
//! holds together across coordinator restarts and replicas.

use chrono::{DateTime, Utc};
use opentelemetry::KeyValue;
use opentelemetry::trace::SpanContext;
use randori_telemetry::ids::{Entity, context_of, trace_id};
use randori_telemetry::propagate::parse_traceparent;
use randori_telemetry::record::{FinishedSpan, write};
use sqlx::Row;
use uuid::Uuid;

use crate::store::JobStore;

pub fn run_context(sweep_id: Option<Uuid>, run_id: Uuid) -> SpanContext {
    context_of(trace_id(sweep_id.unwrap_or(run_id)), Entity::Run, run_id)
}

pub fn node_context(sweep_id: Option<Uuid>, run_id: Uuid, node_id: Uuid) -> SpanContext {
    context_of(trace_id(sweep_id.unwrap_or(run_id)), Entity::Node, node_id)
}

/// The job's own span context: in its parent's trace, or in a trace of its own.
pub fn job_context(trace_parent: Option<&str>, job_id: Uuid) -> SpanContext {
    let trace = trace_parent
        .and_then(parse_traceparent)
        .map_or_else(|| trace_id(job_id), |p| p.trace_id());
    context_of(trace, Entity::Job, job_id)
}

fn time(t: DateTime<Utc>) -> std::time::SystemTime {
    t.into()
}

/// Writes the spans of a job that reached a final state, and of its node when the node
/// belongs to a run.
pub async fn job_ended(store: &JobStore, job_id: Uuid) {
    if randori_telemetry::exporting() {
        logged("job", job_id, write_job_spans(store, job_id).await);
    }
}

/// Tracing never fails the caller: a failed write is logged only.
fn logged(what: &str, id: Uuid, written: Result<(), sqlx::Error>) {
    if let Err(e) = written {
        tracing::warn!(%id, what, error = %e, "writing spans");
    }
}

async fn write_job_spans(store: &JobStore, job_id: Uuid) -> Result<(), sqlx::Error> {
    let row = sqlx::query(include_str!("store/sql/trace_job.sql"))
        .bind(job_id)
        .fetch_one(store.pool())
        .await?;
    let trace_parent: Option<String> = row.get("trace_parent");
    let job = job_context(trace_parent.as_deref(), job_id);
    let parent = trace_parent.as_deref().and_then(parse_traceparent);
    let created: DateTime<Utc> = row.get("created_at");
    let leased: Option<DateTime<Utc>> = row.get("leased_at");
    let Some(finished) = row.get::<Option<DateTime<Utc>>, _>("finished_at") else {
        return Ok(());
    };
    let state: String = row.get("state");
    let error: Option<String> = row.get("error");
    let worker: Option<String> = row.get("worker");
    let node_id: Uuid = row.get("node_id");
    let task: String = row.get("task_id");
    let mut attributes = vec![
        KeyValue::new("job.id", job_id.to_string()),
        KeyValue::new("job.state", state.clone()),
        KeyValue::new("job.attempt", i64::from(row.get::<i32, _>("attempt"))),
        KeyValue::new("node.id", node_id.to_string()),
        KeyValue::new("task", task.clone()),
        KeyValue::new("worker", worker.unwrap_or_default()),
        KeyValue::new("timed_out", row.get::<bool, _>("timed_out")),
        KeyValue::new("oom_killed", row.get::<bool, _>("oom_killed")),
    ];
    if let Some(code) = row.get::<Option<i32>, _>("exit_code") {
        attributes.push(KeyValue::new("exit_code", i64::from(code)));
    }
    // The job's phases: waiting in the queue, then held by the worker that finished it.
    let phase = |name, start, end| FinishedSpan {
        name,
        context: context_of(job.trace_id(), Entity::Job, Uuid::new_v4()),
        parent: Some(job.clone()),
        start: time(start),
        end: time(end),
        attributes: Vec::new(),
        error: None,
    };
    if let Some(leased) = leased {
        write(phase("queued", created, leased));
        write(phase("leased", leased, finished));
    }
    write(FinishedSpan {
        name: "job",
        context: job,
        parent,
        start: time(created),
        end: time(finished),
        attributes,
        error: (state != "succeeded").then(|| error.unwrap_or_else(|| state.clone())),
    });

    let Some(run_id) = row.get::<Option<Uuid>, _>("run_id") else {
        return Ok(());
    };
    let sweep_id: Option<Uuid> = row.get("sweep_id");
    let status: String = row.get("status");
    let mut attributes = vec![
        KeyValue::new("node.id", node_id.to_string()),
        KeyValue::new("run.id", run_id.to_string()),
        KeyValue::new("task", task),
        KeyValue::new(
            "policy",
            row.get::<Option<String>, _>("policy").unwrap_or_default(),
        ),
        KeyValue::new(
            "seed",
            row.get::<Option<i64>, _>("seed").unwrap_or_default(),
        ),
        KeyValue::new(
            "node.step",
            i64::from(row.get::<Option<i32>, _>("step").unwrap_or_default()),
        ),
        KeyValue::new(
            "operator",
            row.get::<Option<String>, _>("operator").unwrap_or_default(),
        ),
        KeyValue::new("node.status", status),
    ];
    for (key, column) in [("val_score", "val_score"), ("test_score", "test_score")] {
        if let Some(score) = row.get::<Option<f64>, _>(column) {
            attributes.push(KeyValue::new(key, score));
        }
    }
    if let Some(medal) = row.get::<Option<String>, _>("medal") {
        attributes.push(KeyValue::new("medal", medal));
    }
    write(FinishedSpan {
        name: "node",
        context: node_context(sweep_id, run_id, node_id),
        parent: Some(run_context(sweep_id, run_id)),
        start: time(row.get("node_created_at")),
        end: time(finished),
        attributes,
        error: None,
    });
    Ok(())
}

/// Writes a finished run's span, and its sweep's once the run was the sweep's last.
pub async fn run_ended(store: &JobStore, run_id: Uuid) {
    if randori_telemetry::exporting() {
        logged("run", run_id, write_run_spans(store, run_id).await);
    }
}

async fn write_run_spans(store: &JobStore, run_id: Uuid) -> Result<(), sqlx::Error> {
    let row = sqlx::query(include_str!("store/sql/trace_run.sql"))
        .bind(run_id)
        .fetch_one(store.pool())
        .await?;
    let Some(finished) = row.get::<Option<DateTime<Utc>>, _>("finished_at") else {
        return Ok(());
    };
    let sweep_id: Option<Uuid> = row.get("sweep_id");
    let state: String = row.get("state");
    let sweep = sweep_id.map(|s| context_of(trace_id(s), Entity::Sweep, s));
    write(FinishedSpan {
        name: "run",
        context: run_context(sweep_id, run_id),
        parent: sweep.clone(),
        start: time(row.get("created_at")),
        end: time(finished),
        attributes: vec![
            KeyValue::new("run.id", run_id.to_string()),
            KeyValue::new("task", row.get::<String, _>("task_id")),
            KeyValue::new("policy", row.get::<String, _>("policy")),
            KeyValue::new("seed", row.get::<i64, _>("seed")),
            KeyValue::new("run.state", state.clone()),
            KeyValue::new("run.nodes", row.get::<i64, _>("nodes")),
        ],
        error: (state == "failed")
            .then(|| row.get::<Option<String>, _>("error").unwrap_or_default()),
    });
    let (Some(sweep_id), Some(sweep)) = (sweep_id, sweep) else {
        return Ok(());
    };
    if let Some(sweep_finished) = row.get::<Option<DateTime<Utc>>, _>("sweep_finished_at") {
        write(FinishedSpan {
            name: "sweep",
            context: sweep,
            parent: None,
            start: time(row.get("sweep_created_at")),
            end: time(sweep_finished),
            attributes: vec![
                KeyValue::new("sweep.id", sweep_id.to_string()),
                KeyValue::new(
                    "sweep.name",
                    row.get::<Option<String>, _>("sweep_name")
                        .unwrap_or_default(),
                ),
                KeyValue::new(
                    "sweep.state",
                    row.get::<Option<String>, _>("sweep_state")
                        .unwrap_or_default(),
                ),
            ],
            error: None,
        });
    }
    Ok(())
}
