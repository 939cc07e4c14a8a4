//! `randori sweep export ID --mlebench DIR`: each run's final pick as MLE-bench grades it
//! (`--nodes` is `nodes_export`).
//!
//! DIR gets `<run id>/submission.csv` (the selected node's submission, byte for byte),
//! `submissions.jsonl` (one line per run, `{"competition_id", "submission_path"}` and where it
//! came from: the input of `mlebench grade --submission`) and `randori_grades.json` (randori's
//! grades of the same files in the shape of MLE-bench's grading report: `aggregate_reports`'
//! totals and one competition report per run), so that the two can be compared field by field.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use randori_proto::v1 as pb;
use randori_report::{MleBenchTotals, NodeFacts};
use serde_json::{Value, json};

use crate::client::{self, Client};

/// Writes the export of sweep `sweep_id` into `dir` (see the module's header); returns a
/// summary of what was written and the command that re-checks it.
pub async fn mlebench(c: &mut Client, sweep_id: &str, dir: &Path) -> Result<String> {
    let dir = empty_dir(dir)?;
    let mut stream = c
        .export_sweep(pb::SweepRequest {
            sweep_id: sweep_id.to_owned(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("sweep {sweep_id}"))?
        .into_inner();
    let (mut lines, mut reports, mut facts) = (String::new(), Vec::new(), Vec::new());
    let mut unfinished = 0;
    while let Some(run) = stream.message().await.map_err(client::status_error)? {
        if matches!(run.state.as_str(), "running" | "paused") {
            unfinished += 1;
        }
        let path = if run.submission_exists {
            let run_dir = dir.join(&run.run_id);
            std::fs::create_dir(&run_dir)
                .with_context(|| format!("creating {}", run_dir.display()))?;
            let path = run_dir.join("submission.csv");
            std::fs::write(&path, &run.submission)
                .with_context(|| format!("writing {}", path.display()))?;
            Some(path.to_string_lossy().into_owned())
        } else {
            None
        };
        lines += &jsonl_line(&run, path.as_deref());
        lines += "\n";
        reports.push(competition_report(&run, path.as_deref()));
        facts.push(
            run.grade
                .as_ref()
                .map(|g| node_facts(g, run.submission_exists)),
        );
    }
    let totals = MleBenchTotals::of(facts.iter().map(Option::as_ref));
    let mut summary = serde_json::to_value(&totals)?;
    summary["competition_reports"] = Value::Array(reports);
    let jsonl = dir.join("submissions.jsonl");
    std::fs::write(&jsonl, lines).with_context(|| format!("writing {}", jsonl.display()))?;
    let grades = dir.join("randori_grades.json");
    std::fs::write(&grades, serde_json::to_string_pretty(&summary)? + "\n")
        .with_context(|| format!("writing {}", grades.display()))?;
    if unfinished > 0 {
        eprintln!(
            "note: {unfinished} runs have not ended; they have no final pick yet and count as \
             runs without a submission"
        );
    }
    Ok(format!(
        "exported {} runs ({} with a submission, {} valid, {} medals) to {}\n\
         re-check: mlebench grade --submission {} --output-dir OUT\n",
        totals.total_runs,
        totals.total_runs_with_submissions,
        totals.total_valid_submissions,
        totals.total_medals,
        dir.display(),
        jsonl.display()
    ))
}

/// `dir`, created if absent, absolute; refused when it holds anything, so that no file of an
/// earlier export can be mistaken for this one's.
pub fn empty_dir(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("opening {}", dir.display()))?;
    if std::fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "{} is not empty: export into a new directory",
            dir.display()
        );
    }
    Ok(dir)
}

/// What `mlebench grade --submission` reads (`competition_id`, `submission_path`, which is
/// null for a run without a submission, as MLE-bench's own `make_submission.py` writes it),
/// and where the file came from.
fn jsonl_line(run: &pb::ExportedRun, path: Option<&str>) -> String {
    json!({
        "competition_id": run.task_id,
        "submission_path": path,
        "run_id": run.run_id,
        "policy": run.policy,
        "seed": run.seed,
        "node_id": (!run.selected_node_id.is_empty()).then_some(&run.selected_node_id),
    })
    .to_string()
}

/// MLE-bench's `CompetitionReport.to_dict()` fields, from randori's grade of the same file.
/// Without a selected node nothing was graded: the thresholds are unknown (null).
fn competition_report(run: &pb::ExportedRun, path: Option<&str>) -> Value {
    let g = run.grade.clone().unwrap_or_default();
    let t = g.thresholds.unwrap_or_default();
    let graded = run.grade.is_some();
    let medal = |m: &str| g.medal == m;
    json!({
        "competition_id": run.task_id,
        "score": g.test_score,
        "gold_threshold": graded.then_some(t.gold),
        "silver_threshold": graded.then_some(t.silver),
        "bronze_threshold": graded.then_some(t.bronze),
        "median_threshold": graded.then_some(t.median),
        "any_medal": medal("gold") || medal("silver") || medal("bronze"),
        "gold_medal": medal("gold"),
        "silver_medal": medal("silver"),
        "bronze_medal": medal("bronze"),
        "above_median": g.above_median,
        "submission_exists": path.is_some(),
        "valid_submission": g.valid_submission,
        "is_lower_better": graded.then_some(g.is_lower_better),
        "submission_path": path.unwrap_or("None"),
        "graded_by": g.graded_by,
    })
}

/// The grade as the report counts it; `submission_exists`: whether a file was exported.
fn node_facts(g: &pb::Grade, submission_exists: bool) -> NodeFacts {
    NodeFacts {
        submission_exists,
        valid_submission: g.valid_submission,
        above_median: g.above_median,
        medal: g.medal.clone(),
        test_score: g.test_score,
    }
}
