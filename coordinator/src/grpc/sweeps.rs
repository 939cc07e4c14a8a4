//! The sweep calls of ControlService: submit (checked, idempotent), status, life cycle,
//! report. The counting behind `sweep status` is a pure function of the per-run counts.

use randori_proto::v1 as pb;
use tonic::Status;
use uuid::Uuid;

use super::{convert, status_from};
use crate::error::Error;
use crate::grading::Graders;
use crate::store::{JobStore, NewSweep, SweepRecord, SweepRunCounts, SweepTotals};
use crate::sweep_spec::SweepSpec;

/// Checks a submitted spec completely (every task loads, every policy's and the operator's
/// settings parse) before anything is stored, then stores it or finds the same one.
pub async fn submit(
    store: &JobStore,
    graders: &Graders,
    spec_json: &str,
) -> Result<pb::SubmitSweepResponse, Status> {
    let spec: SweepSpec = serde_json::from_str(spec_json)
        .map_err(|e| Status::invalid_argument(format!("sweep spec: {e}")))?;
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(Status::invalid_argument(problems.join("; ")));
    }
    for policy in &spec.policies {
        crate::driver::check_run_settings(policy, &spec.policy, &spec.operator)
            .map_err(status_from)?;
    }
    let graders = graders.clone();
    let dirs = spec.tasks.clone();
    let task_ids = tokio::task::spawn_blocking(move || {
        dirs.iter()
            .map(|d| {
                graders
                    .task(std::path::Path::new(d))
                    .map(|t| t.task.id.clone())
                    .map_err(|e| format!("task {d}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| Status::internal(e.to_string()))?
    .map_err(Status::invalid_argument)?;
    let submitted = store
        .sweep_submit(&NewSweep {
            spec: &spec,
            task_ids,
        })
        .await
        .map_err(status_from)?;
    tracing::info!(sweep_id = %submitted.id, name = %spec.name, runs = submitted.runs,
        existing = submitted.existing, "sweep submitted");
    Ok(pb::SubmitSweepResponse {
        sweep_id: submitted.id.to_string(),
        existing: submitted.existing,
        runs: submitted.runs,
    })
}

pub async fn status(
    store: &JobStore,
    sweep_id: &str,
    with_runs: bool,
) -> Result<pb::SweepStatus, Status> {
    let id = convert::uuid("sweep_id", sweep_id).map_err(status_from)?;
    let sweep = store.sweep_get(id).await.map_err(status_from)?;
    let totals = store.sweep_status_summary(id).await.map_err(status_from)?;
    let runs = match with_runs {
        true => store.sweep_run_counts(id).await.map_err(status_from)?,
        false => Vec::new(),
    };
    Ok(status_of(&sweep, &totals, &runs))
}

pub async fn list(store: &JobStore) -> Result<pb::ListSweepsResponse, Status> {
    let mut sweeps = Vec::new();
    for sweep in store.sweep_list().await.map_err(status_from)? {
        let totals = store
            .sweep_status_summary(sweep.id)
            .await
            .map_err(status_from)?;
        sweeps.push(status_of(&sweep, &totals, &[]));
    }
    Ok(pb::ListSweepsResponse { sweeps })
}

/// Which life-cycle change a client asked for.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Pause,
    Resume,
    Cancel,
}

pub async fn change(
    store: &JobStore,
    sweep_id: &str,
    change: Change,
) -> Result<pb::SweepStatus, Status> {
    let id = convert::uuid("sweep_id", sweep_id).map_err(status_from)?;
    match change {
        Change::Pause => store.sweep_pause(id).await,
        Change::Resume => store.sweep_resume(id).await,
        Change::Cancel => store.sweep_cancel(id).await,
    }
    .map_err(status_from)?;
    tracing::info!(sweep_id = %id, ?change, "sweep changed");
    status(store, sweep_id, false).await
}

/// Reopens failed runs; names the runs asked for that are not failed runs of the sweep.
pub async fn retry(
    store: &JobStore,
    request: &pb::RetrySweepRequest,
) -> Result<pb::RetrySweepResponse, Status> {
    let id = convert::uuid("sweep_id", &request.sweep_id).map_err(status_from)?;
    let runs = request
        .run_ids
        .iter()
        .map(|r| convert::uuid("run_ids", r))
        .collect::<Result<Vec<_>, _>>()
        .map_err(status_from)?;
    let reopened = store.sweep_retry(id, &runs).await.map_err(status_from)?;
    let not_failed: Vec<String> = runs
        .iter()
        .filter(|r| !reopened.contains(r))
        .map(Uuid::to_string)
        .collect();
    if !not_failed.is_empty() {
        return Err(Status::failed_precondition(format!(
            "not failed runs of sweep {id}: {} (the others named were reopened)",
            not_failed.join(", ")
        )));
    }
    tracing::info!(sweep_id = %id, runs = reopened.len(), "failed runs reopened");
    Ok(pb::RetrySweepResponse {
        reopened: reopened.iter().map(Uuid::to_string).collect(),
        status: Some(status(store, &request.sweep_id, false).await?),
    })
}

pub async fn report(store: &JobStore, sweep_id: &str) -> Result<String, Status> {
    let id: Uuid = convert::uuid("sweep_id", sweep_id).map_err(status_from)?;
    let sweep = store.sweep_get(id).await.map_err(status_from)?;
    let report = store.sweep_report(&sweep).await.map_err(status_from)?;
    serde_json::to_string(&report)
        .map_err(|e| status_from(Error::Corrupt(format!("the report: {e}"))))
}

/// Streams every run of the sweep with its selected node's grade and submission, fetching one
/// submission at a time; the stream ends early when the client goes away. With hidden
/// validation the submission is its test side, the file `mlebench grade` must see.
pub async fn export(
    store: &JobStore,
    graders: &Graders,
    sweep_id: &str,
) -> Result<tokio_stream::wrappers::ReceiverStream<Result<pb::ExportedRun, Status>>, Status> {
    let id: Uuid = convert::uuid("sweep_id", sweep_id).map_err(status_from)?;
    store.sweep_get(id).await.map_err(status_from)?;
    let runs = store.sweep_export_runs(id).await.map_err(status_from)?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let (store, graders) = (store.clone(), graders.clone());
    tokio::spawn(async move {
        for run in runs {
            let submission = match run.selected_node {
                Some(node) => match store.node_submission(node).await {
                    Ok(Some(bytes)) => test_side(&graders, &run.task_dir, bytes).await.map(Some),
                    Ok(None) => Ok(None),
                    Err(e) => Err(status_from(e)),
                },
                None => Ok(None),
            };
            let message = submission.map(|submission| pb::ExportedRun {
                run_id: run.id.to_string(),
                task_id: run.task_id,
                policy: run.policy,
                seed: run.seed,
                state: run.state,
                selected_node_id: run.selected_node.map(|n| n.to_string()).unwrap_or_default(),
                grade: run.grade.map(convert::grade_to_pb),
                submission_exists: submission.is_some(),
                submission: submission.unwrap_or_default(),
            });
            let failed = message.is_err();
            if tx.send(message).await.is_err() || failed {
                break;
            }
        }
    });
    Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Nodes sent per message of `ExportNodes`.
const EXPORT_BATCH: usize = 1_000;

/// Streams every node of the sweep in batches, reading them from the store as a stream.
pub async fn export_nodes(
    store: &JobStore,
    sweep_id: &str,
) -> Result<tokio_stream::wrappers::ReceiverStream<Result<pb::ExportedNodes, Status>>, Status> {
    use futures::StreamExt;
    let id: Uuid = convert::uuid("sweep_id", sweep_id).map_err(status_from)?;
    store.sweep_get(id).await.map_err(status_from)?;
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let store = store.clone();
    tokio::spawn(async move {
        let mut rows = store.sweep_export_nodes(id).ready_chunks(EXPORT_BATCH);
        while let Some(batch) = rows.next().await {
            let message = batch
                .into_iter()
                .map(|row| row.map(exported_node).map_err(status_from))
                .collect::<Result<Vec<_>, _>>()
                .map(|nodes| pb::ExportedNodes { nodes });
            let failed = message.is_err();
            if tx.send(message).await.is_err() || failed {
                break;
            }
        }
    });
    Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn exported_node(n: crate::store::ExportNode) -> pb::ExportedNode {
    let time =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    pb::ExportedNode {
        run_id: n.run_id.to_string(),
        task_id: n.task_id,
        policy: n.policy,
        seed: n.seed,
        node_id: n.node_id.to_string(),
        step: n.step,
        operator: n.operator.unwrap_or_default(),
        parent_ids: n.parent_ids.iter().map(Uuid::to_string).collect(),
        status: n.status,
        buggy_reason: n.buggy_reason.unwrap_or_default(),
        val_score: n.val_score,
        test_score: n.test_score,
        medal: n.medal.unwrap_or_default(),
        above_median: n.above_median.unwrap_or(false),
        queued_at: time(n.queued_at),
        leased_at: time(n.leased_at),
        finished_at: time(n.finished_at),
        ran_seconds: n.ran_seconds,
        attempts: n.attempts,
        worker: n.worker.unwrap_or_default(),
        llm_calls: n.llm_calls,
        tokens_in: n.tokens_in,
        tokens_out: n.tokens_out,
        cost_usd: n.cost_usd,
        lower_is_better: n.lower_is_better,
        llm_seconds: n.llm_seconds,
        operators: n.operators,
    }
}

/// The part of a submission that was graded as the test: all of it, but for an MLE-bench
/// competition with hidden validation, where the validation rows are left out.
async fn test_side(graders: &Graders, task_dir: &str, bytes: Vec<u8>) -> Result<Vec<u8>, Status> {
    let hidden = crate::mlebench::Competition::parse(task_dir)
        .is_some_and(|c| c.hidden_validation.is_some());
    if !hidden {
        return Ok(bytes);
    }
    let (graders, dir) = (graders.clone(), std::path::PathBuf::from(task_dir));
    tokio::task::spawn_blocking(move || {
        let loaded = graders.task(&dir).map_err(|e| {
            Status::failed_precondition(format!(
                "{e} (needed to leave the hidden validation rows out of the export)"
            ))
        })?;
        Ok(loaded.grader.test_side(&bytes))
    })
    .await
    .map_err(|e| Status::internal(e.to_string()))?
}

/// The status message: the sweep, its totals, and `runs` as its run list (empty for a
/// summary). A run's `waiting_for` shows only while it is running.
pub fn status_of(sweep: &SweepRecord, t: &SweepTotals, runs: &[SweepRunCounts]) -> pb::SweepStatus {
    let unix_ms = |t: chrono::DateTime<chrono::Utc>| t.timestamp_millis();
    pb::SweepStatus {
        id: sweep.id.to_string(),
        name: sweep.name.clone(),
        state: sweep.state.clone(),
        priority: sweep.priority,
        created_at_unix_ms: unix_ms(sweep.created_at),
        finished_at_unix_ms: sweep.finished_at.map_or(0, unix_ms),
        runs: Some(pb::RunCounts {
            total: t.runs,
            pending: t.pending,
            running: t.running,
            paused: t.paused,
            completed: t.completed,
            failed: t.failed,
            cancelled: t.cancelled,
            waiting_for_llm: t.waiting_for_llm,
        }),
        nodes: Some(pb::NodeCounts {
            total: t.nodes,
            ok: t.ok,
            buggy: t.buggy,
            pending: t.nodes.saturating_sub(t.ok + t.buggy),
        }),
        jobs: Some(pb::JobCounts {
            queued: t.queued,
            leased: t.leased,
            succeeded: t.succeeded,
            failed: t.jobs_failed,
            cancelled: t.jobs_cancelled,
        }),
        medals: Some(pb::MedalCounts {
            gold: t.gold,
            silver: t.silver,
            bronze: t.bronze,
        }),
        nodes_budget_left: t.budget_left,
        blocked: sweep.blocked.clone().unwrap_or_default(),
        waiting_for_llm: t.waiting_reason.clone().unwrap_or_default(),
        run_list: runs
            .iter()
            .map(|run| pb::SweepRun {
                id: run.id.to_string(),
                task_id: run.task_id.clone(),
                policy: run.policy.clone(),
                seed: run.seed,
                state: run.state.clone(),
                nodes: run.nodes,
                max_nodes: run.max_nodes,
                working_ms: run.working_ms,
                max_wall_ms: run.max_wall_ms,
                waiting_for: run
                    .waiting_for
                    .clone()
                    .filter(|_| run.state == "running")
                    .unwrap_or_default(),
                error: run.error.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_carries_the_totals_and_shows_waiting_only_for_running_runs() {
        let sweep = SweepRecord {
            id: Uuid::nil(),
            name: "s".into(),
            state: "paused".into(),
            priority: 0,
            created_at: chrono::DateTime::from_timestamp_millis(1_000).unwrap(),
            finished_at: None,
            blocked: Some("fix api_key_env".into()),
        };
        let totals = SweepTotals {
            runs: 2,
            running: 1,
            paused: 1,
            waiting_for_llm: 1,
            waiting_reason: Some("LLM endpoint http://h/v1: HTTP 429".into()),
            nodes: 20,
            ok: 11,
            buggy: 4,
            budget_left: 7,
            silver: 1,
            ..SweepTotals::default()
        };
        let run = |state: &str| SweepRunCounts {
            state: state.into(),
            waiting_for: Some("LLM endpoint http://h/v1: HTTP 429".into()),
            ..SweepRunCounts::default()
        };
        let s = status_of(&sweep, &totals, &[run("running"), run("paused")]);
        let (r, n) = (s.runs.unwrap(), s.nodes.unwrap());
        assert_eq!(
            (r.total, r.running, r.paused, r.waiting_for_llm),
            (2, 1, 1, 1)
        );
        assert_eq!((n.total, n.ok, n.buggy, n.pending), (20, 11, 4, 5));
        assert_eq!((s.nodes_budget_left, s.medals.unwrap().silver), (7, 1));
        assert_eq!(s.created_at_unix_ms, 1_000);
        assert_eq!(s.blocked, "fix api_key_env");
        assert_eq!(s.waiting_for_llm, "LLM endpoint http://h/v1: HTTP 429");
        let waiting: Vec<&str> = s.run_list.iter().map(|r| r.waiting_for.as_str()).collect();
        assert_eq!(waiting, ["LLM endpoint http://h/v1: HTTP 429", ""]);
    }
}
