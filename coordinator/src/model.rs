//! Domain types of the job queue, free of I/O. The gRPC layer converts to and from these in
//! `grpc::convert`, the store maps rows to them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where a job stands; see the state diagram in `migrations/0001_jobs.sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for a worker; left by Lease (or cancel).
    Queued,
    /// Held by a worker under a lease; left by ReportResult, Release or the reaper.
    Leased,
    /// Final: the program ran and its outcome is recorded.
    Succeeded,
    /// Final: the job could not be run within its attempts.
    Failed,
    /// Final: withdrawn before it ran.
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Leased => "leased",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "queued" => Self::Queued,
            "leased" => Self::Leased,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => return None,
        })
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

/// What one evaluation needs of a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirements {
    pub gpus: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    /// What the program may write in all before it is stopped.
    pub disk_bytes: u64,
    /// The runtime image (a tag) it runs in; None: the worker's own.
    pub image: Option<String>,
}

/// A node's disk limit when its submitter names none.
pub const DEFAULT_DISK_BYTES: u64 = 10 << 30;

/// A worker's resources: its totals at registration, its free share when it leases.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    pub slots: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub gpu_ids: Vec<u32>,
    pub disk_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct WorkerRegistration {
    pub name: String,
    pub hostname: String,
    pub sandbox: String,
    pub version: String,
    pub total: Resources,
    /// The Python packages its programs can import (`name version`).
    pub packages: Vec<String>,
    /// The runtime images it can run jobs in (its own included), each with the packages its
    /// manifest lists.
    pub images: std::collections::BTreeMap<String, Vec<String>>,
}

/// A program to evaluate against a task's public data.
#[derive(Debug, Clone)]
pub struct NewEval {
    pub task_id: String,
    /// Where the coordinator finds the task (and its private answers).
    pub task_dir: String,
    /// The task's public data, as workers see it.
    pub data_dir: String,
    pub code: String,
    pub requirements: Requirements,
    pub priority: i32,
    pub max_attempts: u32,
}

/// A job as handed to the worker that leased it.
#[derive(Debug, Clone)]
pub struct LeasedJob {
    pub job_id: Uuid,
    pub node_id: Uuid,
    pub epoch: u64,
    pub attempt: u32,
    pub requirements: Requirements,
    pub task_id: String,
    pub data_dir: String,
    pub gpu_ids: Vec<u32>,
    pub code: String,
    /// The W3C parent of the job's span; None when the job starts its own trace.
    pub trace_parent: Option<String>,
}

/// The fencing token of a lease: the job and the epoch it was leased at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseToken {
    pub job_id: Uuid,
    pub epoch: u64,
}

/// What the sandbox recorded about one run. Stored as JSON beside the job; the submission
/// travels separately as bytes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub duration_ms: u64,
    pub peak_memory_bytes: Option<u64>,
    pub stdout_head: String,
    pub stdout_tail: String,
    pub stdout_bytes: u64,
    pub stderr_head: String,
    pub stderr_tail: String,
    pub stderr_bytes: u64,
    pub submission_exists: bool,
    pub submission_too_large: bool,
    pub sandbox: String,
    pub worker_name: String,
    pub gpu_ids: Vec<u32>,
    /// Stopped for writing more than its disk limit.
    #[serde(default)]
    pub disk_limit_exceeded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeStatus {
    Pending,
    Ok,
    Buggy,
}

impl NodeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Ok => "ok",
            Self::Buggy => "buggy",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "ok" => Self::Ok,
            "buggy" => Self::Buggy,
            _ => return None,
        })
    }
}

/// A node's grade, as stored beside it (MLE-bench's report fields and the validation score).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeGrade {
    pub submission_exists: bool,
    pub valid_submission: bool,
    pub invalid_reason: Option<String>,
    /// What the search may see.
    pub val_score: Option<f64>,
    /// "hidden" (scored by the system) or "printed" (the program's last line).
    pub val_source: String,
    /// For analysis only: never shown to a search policy or an operator prompt.
    pub test_score: Option<f64>,
    pub medal: String,
    pub above_median: bool,
    pub gold_threshold: f64,
    pub silver_threshold: f64,
    pub bronze_threshold: f64,
    pub median_threshold: f64,
    pub is_lower_better: bool,
    /// The grading path: `native`, `grade.py` or `mlebench` (`Scorer::path`); empty in grades
    /// stored before it was recorded.
    #[serde(default)]
    pub graded_by: String,
    /// With hidden validation on a competition: why the validation rows scored nothing while
    /// the test rows were valid (the node is buggy then: it has no validation score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_invalid_reason: Option<String>,
}

impl From<&randori_grading::report::Grade> for NodeGrade {
    fn from(g: &randori_grading::report::Grade) -> Self {
        let r = &g.report;
        Self {
            submission_exists: r.submission_exists,
            valid_submission: r.valid_submission,
            invalid_reason: g.invalid_reason.clone(),
            val_score: g.val_score,
            val_source: match g.val_source {
                randori_grading::report::ValidationSource::Hidden => "hidden",
                randori_grading::report::ValidationSource::Printed => "printed",
            }
            .to_owned(),
            // JSON and the oracle's ordering have no place for NaN: stored as no score (the
            // submission stays valid, as MLE-bench counts it).
            test_score: r.score.filter(|s| s.is_finite()),
            medal: r.medal.as_str().to_owned(),
            above_median: r.above_median,
            gold_threshold: r.thresholds.gold,
            silver_threshold: r.thresholds.silver,
            bronze_threshold: r.thresholds.bronze,
            median_threshold: r.thresholds.median,
            is_lower_better: r.is_lower_better,
            graded_by: g.graded_by.to_owned(),
            validation_invalid_reason: g.validation_invalid_reason.clone(),
        }
    }
}

/// A node is buggy when its program exits non-zero, times out, is OOM-killed, exceeds its disk
/// limit, writes no valid
/// submission, or has no validation score. Without a grade it cannot be ok.
pub fn node_status(outcome: &Outcome, grade: Option<&NodeGrade>) -> NodeStatus {
    let ran_clean = outcome.exit_code == Some(0)
        && !outcome.timed_out
        && !outcome.oom_killed
        && !outcome.disk_limit_exceeded;
    let graded_ok = grade.is_some_and(|g| g.valid_submission && g.val_score.is_some());
    if ran_clean && outcome.submission_exists && !outcome.submission_too_large && graded_ok {
        NodeStatus::Ok
    } else {
        NodeStatus::Buggy
    }
}

/// Of a captured stream's tail, what its head does not already hold, and whether bytes
/// between the two were not kept (a short stream's head and tail hold the same bytes).
pub fn tail_beyond_head<'a>(head: &str, tail: &'a str, bytes: u64) -> (&'a str, bool) {
    let beyond_head = usize::try_from(bytes)
        .unwrap_or(usize::MAX)
        .saturating_sub(head.len());
    let mut from = tail.len().saturating_sub(beyond_head);
    while !tail.is_char_boundary(from) {
        from += 1;
    }
    (&tail[from..], beyond_head > tail.len())
}

impl Outcome {
    /// Everything the program printed that was kept, each byte once: stdout, then stderr.
    pub fn printed(&self) -> String {
        let whole = |head: &str, tail: &str, bytes: u64| {
            let (rest, cut) = tail_beyond_head(head, tail, bytes);
            let gap = if cut {
                "\n[... the middle was not kept ...]\n"
            } else {
                ""
            };
            format!("{head}{gap}{rest}")
        };
        let mut out = whole(&self.stdout_head, &self.stdout_tail, self.stdout_bytes);
        let stderr = whole(&self.stderr_head, &self.stderr_tail, self.stderr_bytes);
        if !stderr.trim().is_empty() {
            out += "\n[stderr]\n";
            out += &stderr;
        }
        out
    }
}

/// What the analyze step said of an evaluated node of a run (an LLM's reading of its code and
/// output, or the builtin analyzer's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Analysis {
    pub is_bug: bool,
    /// What memory, `node show` and the dashboard show of the node.
    pub summary: String,
    /// The validation metric read from the output.
    pub metric: Option<f64>,
    /// `builtin`, or the model that answered.
    pub by: String,
}

/// A node's status and the score the search sees, once analyzed. Without hidden validation
/// the analyzed metric (else the printed one) is the score; with it, the system's score stays.
/// An analysis that finds a bug makes the node buggy when `marks_buggy`; otherwise the usual
/// rule ([`node_status`]) decides, with that score.
pub fn analyzed_status(
    outcome: Option<&Outcome>,
    grade: Option<&NodeGrade>,
    analysis: &Analysis,
    marks_buggy: bool,
) -> (NodeStatus, Option<f64>) {
    let grade = grade.map(|g| {
        let mut g = g.clone();
        if g.val_source == "printed" && g.valid_submission {
            g.val_score = analysis.metric.or(g.val_score);
        }
        g
    });
    let val = grade.as_ref().and_then(|g| g.val_score);
    let status = match outcome {
        Some(_) if marks_buggy && analysis.is_bug => NodeStatus::Buggy,
        Some(o) => node_status(o, grade.as_ref()),
        None => NodeStatus::Buggy,
    };
    (status, val)
}

/// A job's current record, as clients see it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub job_id: Uuid,
    pub node_id: Uuid,
    pub state: JobState,
    pub attempts: u32,
    pub outcome: Option<Outcome>,
    pub submission: Option<Vec<u8>>,
    pub error: Option<String>,
    pub worker_name: Option<String>,
    pub node_status: NodeStatus,
    pub grade: Option<NodeGrade>,
}

/// A search run to start: one task × one policy × one seed, with its budgets.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub task_id: String,
    pub task_dir: String,
    pub policy: String,
    pub policy_config: serde_json::Value,
    pub operator_config: serde_json::Value,
    pub seed: u64,
    pub max_nodes: u32,
    pub max_wall_ms: u64,
    pub parallelism: u32,
    /// Per node; `timeout_ms` is the node timeout, enforced by the sandbox.
    pub requirements: Requirements,
}

/// A stored run.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub id: Uuid,
    pub spec: NewRun,
    /// The sweep it belongs to, if any, and that sweep's priority (0 without one).
    pub sweep_id: Option<Uuid>,
    pub priority: i32,
    pub state: String,
    pub error: Option<String>,
    pub selected_node: Option<Uuid>,
    pub oracle_node: Option<Uuid>,
}

/// A node of a run's tree, with what operators and reports need of it.
#[derive(Debug, Clone)]
pub struct RunNode {
    pub id: Uuid,
    pub step: u32,
    pub operator: String,
    pub parent_ids: Vec<Uuid>,
    pub status: NodeStatus,
    pub val_score: Option<f64>,
    pub test_score: Option<f64>,
    pub medal: Option<String>,
    pub code: String,
    pub plan: String,
    pub outcome: Option<Outcome>,
    pub grade: Option<NodeGrade>,
    /// None until the node was evaluated and analyzed.
    pub analysis: Option<Analysis>,
}

/// A run's score direction as its nodes know it: every graded node carries its task's
/// direction (higher is better until one is graded).
pub fn lower_is_better(nodes: &[RunNode]) -> bool {
    nodes
        .iter()
        .find_map(|n| n.grade.as_ref().map(|g| g.is_lower_better))
        .unwrap_or(false)
}

/// A node a driver is about to create.
#[derive(Debug, Clone)]
pub struct NewRunNode {
    /// Chosen before the operator runs, so the operator's span can name its node.
    pub id: Uuid,
    pub run_id: Uuid,
    pub step: u32,
    pub operator: String,
    pub parent_ids: Vec<Uuid>,
    pub code: String,
    pub plan: String,
}

#[derive(Debug, Clone)]
pub struct WorkerView {
    pub worker_id: Uuid,
    pub name: String,
    pub state: String,
    pub total: Resources,
    pub leased_jobs: u32,
    pub last_heartbeat_unix_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(exit: Option<i32>, timed_out: bool, oom: bool, sub: bool) -> Outcome {
        Outcome {
            exit_code: exit,
            timed_out,
            oom_killed: oom,
            submission_exists: sub,
            ..Outcome::default()
        }
    }

    fn grade(valid: bool, val: Option<f64>) -> NodeGrade {
        NodeGrade {
            submission_exists: true,
            valid_submission: valid,
            invalid_reason: None,
            val_score: val,
            val_source: "hidden".into(),
            test_score: valid.then_some(0.5),
            medal: "none".into(),
            above_median: false,
            gold_threshold: 1.0,
            silver_threshold: 0.9,
            bronze_threshold: 0.8,
            median_threshold: 0.6,
            is_lower_better: false,
            graded_by: "native".into(),
            validation_invalid_reason: None,
        }
    }

    #[test]
    fn node_status_follows_the_buggy_rule() {
        let good = grade(true, Some(0.7));
        let cases = [
            (
                outcome(Some(0), false, false, true),
                Some(&good),
                NodeStatus::Ok,
            ),
            (
                outcome(Some(1), false, false, true),
                Some(&good),
                NodeStatus::Buggy,
            ),
            (
                outcome(Some(0), false, false, false),
                Some(&good),
                NodeStatus::Buggy,
            ),
            (
                outcome(None, true, false, true),
                Some(&good),
                NodeStatus::Buggy,
            ),
            (
                outcome(Some(137), false, true, true),
                Some(&good),
                NodeStatus::Buggy,
            ),
            (
                outcome(Some(0), false, false, true),
                Some(&grade(false, None)),
                NodeStatus::Buggy,
            ),
            (
                outcome(Some(0), false, false, true),
                Some(&grade(true, None)),
                NodeStatus::Buggy,
            ),
            (
                outcome(Some(0), false, false, true),
                None,
                NodeStatus::Buggy,
            ),
        ];
        for (o, g, want) in cases {
            assert_eq!(node_status(&o, g), want, "{o:?} {g:?}");
        }
        let too_large = Outcome {
            submission_too_large: true,
            ..outcome(Some(0), false, false, true)
        };
        assert_eq!(node_status(&too_large, Some(&good)), NodeStatus::Buggy);
    }

    #[test]
    fn an_analysis_can_find_a_bug_and_gives_the_printed_tasks_score() {
        let clean = outcome(Some(0), false, false, true);
        let printed = NodeGrade {
            val_source: "printed".into(),
            ..grade(true, Some(0.7))
        };
        let analysis = |is_bug: bool, metric: Option<f64>| Analysis {
            is_bug,
            summary: "s".into(),
            metric,
            by: "builtin".into(),
        };
        let cases = [
            // A bug found in a clean run (a label leak, say): buggy, unless the switch is off.
            (
                Some(&printed),
                analysis(true, Some(0.9)),
                true,
                (NodeStatus::Buggy, Some(0.9)),
            ),
            (
                Some(&printed),
                analysis(true, Some(0.9)),
                false,
                (NodeStatus::Ok, Some(0.9)),
            ),
            // The metric read from the output replaces the printed one; none keeps it.
            (
                Some(&printed),
                analysis(false, Some(0.8)),
                true,
                (NodeStatus::Ok, Some(0.8)),
            ),
            (
                Some(&printed),
                analysis(false, None),
                true,
                (NodeStatus::Ok, Some(0.7)),
            ),
            // With hidden validation the system's score stays.
            (
                Some(&grade(true, Some(0.7))),
                analysis(false, Some(0.1)),
                true,
                (NodeStatus::Ok, Some(0.7)),
            ),
            // A metric in the output of a program that printed none makes it ok.
            (
                Some(&NodeGrade {
                    val_score: None,
                    ..printed.clone()
                }),
                analysis(false, Some(0.6)),
                true,
                (NodeStatus::Ok, Some(0.6)),
            ),
        ];
        for (g, a, marks, want) in cases {
            assert_eq!(
                analyzed_status(Some(&clean), g, &a, marks),
                want,
                "{a:?} {marks}"
            );
        }
        assert_eq!(
            analyzed_status(None, None, &analysis(false, Some(1.0)), true).0,
            NodeStatus::Buggy
        );
    }

    #[test]
    fn job_state_names_round_trip() {
        for s in [
            JobState::Queued,
            JobState::Leased,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
        ] {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
        assert_eq!(JobState::parse("running"), None);
    }
}
