//! Protobuf <-> domain conversions, in one place.

use randori_proto::v1 as pb;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::model::{
    DEFAULT_DISK_BYTES, JobState, JobView, LeasedJob, NodeGrade, Outcome, Requirements, Resources,
    RunNode, WorkerView,
};

pub fn uuid(field: &str, s: &str) -> Result<Uuid> {
    s.parse()
        .map_err(|_| Error::InvalidArgument(format!("{field}: {s:?} is not a UUID")))
}

pub fn resources(r: Option<pb::Resources>) -> Resources {
    let r = r.unwrap_or_default();
    Resources {
        slots: r.slots,
        cpu_millis: r.cpu_millis,
        memory_bytes: r.memory_bytes,
        gpu_ids: r.gpu_ids,
        disk_bytes: r.disk_bytes,
    }
}

pub fn resources_to_pb(r: &Resources) -> pb::Resources {
    pb::Resources {
        slots: r.slots,
        cpu_millis: r.cpu_millis,
        memory_bytes: r.memory_bytes,
        gpu_ids: r.gpu_ids.clone(),
        disk_bytes: r.disk_bytes,
    }
}

pub fn requirements(r: Option<pb::JobRequirements>) -> Result<Requirements> {
    let r = r.ok_or_else(|| Error::InvalidArgument("requirements are missing".into()))?;
    if r.timeout_ms == 0 {
        return Err(Error::InvalidArgument("timeout_ms must be positive".into()));
    }
    if r.memory_bytes == 0 {
        return Err(Error::InvalidArgument(
            "memory_bytes must be positive".into(),
        ));
    }
    Ok(Requirements {
        gpus: r.gpus,
        cpu_millis: r.cpu_millis,
        memory_bytes: r.memory_bytes,
        timeout_ms: r.timeout_ms,
        // Clients from before the limit existed send none.
        disk_bytes: if r.disk_bytes == 0 {
            DEFAULT_DISK_BYTES
        } else {
            r.disk_bytes
        },
        image: Some(r.image).filter(|i| !i.is_empty()),
    })
}

pub fn requirements_to_pb(r: &Requirements) -> pb::JobRequirements {
    pb::JobRequirements {
        gpus: r.gpus,
        cpu_millis: r.cpu_millis,
        memory_bytes: r.memory_bytes,
        timeout_ms: r.timeout_ms,
        disk_bytes: r.disk_bytes,
        image: r.image.clone().unwrap_or_default(),
    }
}

pub fn leased_job_to_pb(j: LeasedJob) -> pb::LeasedJob {
    let trace_context = randori_telemetry::propagate::inject(&crate::traces::job_context(
        j.trace_parent.as_deref(),
        j.job_id,
    ));
    pb::LeasedJob {
        job_id: j.job_id.to_string(),
        epoch: j.epoch,
        attempt: j.attempt,
        requirements: Some(requirements_to_pb(&j.requirements)),
        eval: Some(pb::EvalSpec {
            node_id: j.node_id.to_string(),
            task_id: j.task_id,
            data_dir: j.data_dir,
            code: j.code,
        }),
        gpu_ids: j.gpu_ids,
        trace_context,
    }
}

/// Splits a reported outcome into the stored record and the submission bytes.
pub fn outcome(o: pb::Outcome) -> (Outcome, Option<Vec<u8>>) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let outcome = Outcome {
        exit_code: o.exit_code,
        timed_out: o.timed_out,
        oom_killed: o.oom_killed,
        duration_ms: o.duration_ms,
        peak_memory_bytes: o.peak_memory_bytes,
        stdout_head: text(&o.stdout_head),
        stdout_tail: text(&o.stdout_tail),
        stdout_bytes: o.stdout_bytes,
        stderr_head: text(&o.stderr_head),
        stderr_tail: text(&o.stderr_tail),
        stderr_bytes: o.stderr_bytes,
        submission_exists: o.submission.is_some(),
        submission_too_large: o.submission_too_large,
        sandbox: o.sandbox,
        worker_name: o.worker_name,
        gpu_ids: o.gpu_ids,
        disk_limit_exceeded: o.disk_limit_exceeded,
    };
    (outcome, o.submission)
}

pub fn outcome_to_pb(o: Outcome, submission: Option<Vec<u8>>) -> pb::Outcome {
    pb::Outcome {
        exit_code: o.exit_code,
        timed_out: o.timed_out,
        oom_killed: o.oom_killed,
        duration_ms: o.duration_ms,
        peak_memory_bytes: o.peak_memory_bytes,
        stdout_head: o.stdout_head.into_bytes(),
        stdout_tail: o.stdout_tail.into_bytes(),
        stdout_bytes: o.stdout_bytes,
        stderr_head: o.stderr_head.into_bytes(),
        stderr_tail: o.stderr_tail.into_bytes(),
        stderr_bytes: o.stderr_bytes,
        submission,
        submission_too_large: o.submission_too_large,
        sandbox: o.sandbox,
        worker_name: o.worker_name,
        gpu_ids: o.gpu_ids,
        disk_limit_exceeded: o.disk_limit_exceeded,
    }
}

pub fn grade_to_pb(g: NodeGrade) -> pb::Grade {
    pb::Grade {
        submission_exists: g.submission_exists,
        valid_submission: g.valid_submission,
        invalid_reason: g.invalid_reason.unwrap_or_default(),
        val_score: g.val_score,
        val_source: g.val_source,
        test_score: g.test_score,
        medal: g.medal,
        above_median: g.above_median,
        thresholds: Some(pb::Thresholds {
            gold: g.gold_threshold,
            silver: g.silver_threshold,
            bronze: g.bronze_threshold,
            median: g.median_threshold,
        }),
        is_lower_better: g.is_lower_better,
        graded_by: g.graded_by,
    }
}

pub fn job_state_to_pb(s: JobState) -> pb::JobState {
    match s {
        JobState::Queued => pb::JobState::Queued,
        JobState::Leased => pb::JobState::Leased,
        JobState::Succeeded => pb::JobState::Succeeded,
        JobState::Failed => pb::JobState::Failed,
        JobState::Cancelled => pb::JobState::Cancelled,
    }
}

pub fn worker_to_pb(w: WorkerView) -> pb::WorkerInfo {
    pb::WorkerInfo {
        worker_id: w.worker_id.to_string(),
        name: w.name,
        state: w.state,
        total: Some(resources_to_pb(&w.total)),
        leased_jobs: w.leased_jobs,
        last_heartbeat_unix_ms: w.last_heartbeat_unix_ms,
    }
}

pub fn eval_to_pb(job: JobView) -> pb::GetEvalResponse {
    pb::GetEvalResponse {
        node_id: job.node_id.to_string(),
        job_id: job.job_id.to_string(),
        state: job_state_to_pb(job.state).into(),
        attempts: job.attempts,
        outcome: job.outcome.map(|o| outcome_to_pb(o, job.submission)),
        error: job.error.unwrap_or_default(),
        worker_name: job.worker_name.unwrap_or_default(),
        node_status: job.node_status.as_str().to_owned(),
        grade: job.grade.map(grade_to_pb),
    }
}

pub fn run_node_to_pb(n: RunNode) -> pb::RunNode {
    let analysis = n.analysis.unwrap_or(crate::model::Analysis {
        is_bug: false,
        summary: String::new(),
        metric: None,
        by: String::new(),
    });
    pb::RunNode {
        analysis_is_bug: analysis.is_bug,
        analysis_summary: analysis.summary,
        analysis_metric: analysis.metric,
        analysis_by: analysis.by,
        node_id: n.id.to_string(),
        step: n.step,
        operator: n.operator,
        parent_ids: n.parent_ids.iter().map(|p| p.to_string()).collect(),
        status: n.status.as_str().to_owned(),
        val_score: n.val_score,
        test_score: n.test_score,
        medal: n.medal.unwrap_or_default(),
        plan: n.plan,
        code: n.code,
    }
}
