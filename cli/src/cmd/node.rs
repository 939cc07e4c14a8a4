//! `randori node show NODE_ID`: everything about one node.

use std::process::ExitCode;

use anyhow::{Context, Result};
use randori_proto::v1 as pb;
use serde_json::json;

use crate::args::NodeCommand;
use crate::client;
use crate::terminal::shown;

pub async fn run(command: NodeCommand) -> Result<ExitCode> {
    let NodeCommand::Show {
        node_id,
        json,
        coordinator,
    } = command;
    let mut c = client::connect(&coordinator.url).await?;
    let r = c
        .get_node(pb::GetNodeRequest {
            node_id: node_id.clone(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("node {node_id}"))?
        .into_inner();
    let node = r.node.context("the coordinator returned no node")?;
    let eval = r.evaluation.unwrap_or_default();
    let outcome = eval.outcome.clone().unwrap_or_default();
    let grade = eval.grade.clone().unwrap_or_default();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let job_state = eval
        .state()
        .as_str_name()
        .trim_start_matches("JOB_STATE_")
        .to_lowercase();
    if json {
        println!(
            "{}",
            json!({
                "node_id": node.node_id, "run_id": r.run_id, "step": node.step,
                "operator": node.operator, "parent_ids": node.parent_ids, "status": node.status,
                "val_score": node.val_score, "test_score": node.test_score, "medal": node.medal,
                "valid_submission": grade.valid_submission, "invalid_reason": grade.invalid_reason,
                "graded_by": grade.graded_by,
                "plan": node.plan, "code": node.code,
                "analysis": (!node.analysis_by.is_empty()).then(|| json!({
                    "is_bug": node.analysis_is_bug, "summary": node.analysis_summary,
                    "metric": node.analysis_metric, "by": node.analysis_by,
                })),
                "job": {"id": eval.job_id, "state": job_state, "attempts": eval.attempts,
                        "worker": eval.worker_name, "error": eval.error},
                "exit_code": outcome.exit_code, "timed_out": outcome.timed_out,
                "oom_killed": outcome.oom_killed,
                "disk_limit_exceeded": outcome.disk_limit_exceeded,
                "duration_ms": outcome.duration_ms,
                "stdout_tail": text(&outcome.stdout_tail), "stderr_tail": text(&outcome.stderr_tail),
            })
        );
        return Ok(ExitCode::SUCCESS);
    }
    let score = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.5}"));
    println!("node {} ({})", node.node_id, node.status);
    if !r.run_id.is_empty() {
        println!("run       {} step {}", r.run_id, node.step);
        println!("operator  {}", node.operator);
        println!(
            "parents   {}",
            if node.parent_ids.is_empty() {
                "-".to_owned()
            } else {
                node.parent_ids.join(", ")
            }
        );
    }
    println!(
        "scores    val {}  test {}  medal {}",
        score(node.val_score),
        score(node.test_score),
        if node.medal.is_empty() {
            "-"
        } else {
            &node.medal
        }
    );
    if !grade.graded_by.is_empty() {
        println!("graded by {}", grade.graded_by);
    }
    if !grade.invalid_reason.is_empty() {
        println!("invalid   {}", shown(&grade.invalid_reason));
    }
    println!(
        "job       {} {} (attempts {}, worker {})",
        eval.job_id,
        job_state,
        eval.attempts,
        if eval.worker_name.is_empty() {
            "-"
        } else {
            &eval.worker_name
        }
    );
    if !eval.error.is_empty() {
        println!("error     {}", shown(&eval.error));
    }
    if eval.outcome.is_some() {
        println!(
            "exit      {} timed out {} OOM {} disk limit {} in {} ms",
            outcome.exit_code.map_or("-".to_owned(), |c| c.to_string()),
            outcome.timed_out,
            outcome.oom_killed,
            outcome.disk_limit_exceeded,
            outcome.duration_ms
        );
    }
    if !node.analysis_by.is_empty() {
        println!(
            "analysis  by {}: {}{}",
            node.analysis_by,
            if node.analysis_is_bug { "a bug; " } else { "" },
            shown(node.analysis_summary.trim())
        );
    }
    if !node.plan.is_empty() {
        println!("\n--- plan\n{}", shown(node.plan.trim_end()));
    }
    println!("\n--- code\n{}", shown(node.code.trim_end()));
    for (name, tail) in [
        ("stdout", &outcome.stdout_tail),
        ("stderr", &outcome.stderr_tail),
    ] {
        if !tail.is_empty() {
            println!("\n--- {name} (tail)\n{}", shown(text(tail).trim_end()));
        }
    }
    Ok(ExitCode::SUCCESS)
}
