//! `randori sweep …`: submit, list, status, watch, cancel, pause, resume, report, export, against a
//! running coordinator.

use std::process::ExitCode;

use anyhow::{Context, Result};
use randori_proto::v1 as pb;
use serde_json::json;

use crate::args::SweepCommand;
use crate::client::{self, Client};
use crate::progress::{WatchOptions, watch};
use crate::sweep_file;
use crate::terminal::shown;
use randori_coordinator::sweep_spec::SweepSpec;

pub async fn run(command: SweepCommand) -> Result<ExitCode> {
    match command {
        SweepCommand::Submit { file, coordinator } => {
            let spec = sweep_file::load(&file)?;
            let mut c = client::connect(&coordinator.url).await?;
            println!("{}", submit(&mut c, &spec).await?.sweep_id);
        }
        SweepCommand::Check { file, offline } => return check(&file, offline).await,
        SweepCommand::Example => print!("{}", EXAMPLE),
        SweepCommand::List { coordinator } => {
            let mut c = client::connect(&coordinator.url).await?;
            let sweeps = c
                .list_sweeps(pb::ListSweepsRequest {})
                .await
                .map_err(client::status_error)?
                .into_inner()
                .sweeps;
            print_list(&sweeps);
        }
        SweepCommand::Status {
            id,
            json,
            runs,
            coordinator,
        } => {
            let mut c = client::connect(&coordinator.url).await?;
            let s = status(&mut c, &id, !runs).await?;
            if json {
                println!("{}", status_json(&s));
            } else {
                print_status(&s);
                print_runs(&s.run_list);
            }
        }
        SweepCommand::Watch { id, coordinator } => {
            let mut c = client::connect_lazily(&coordinator.url)?;
            let s = watch(&mut c, &id, WatchOptions { quiet: false }).await?;
            print_status(&s);
        }
        SweepCommand::Cancel { id, coordinator } => {
            change(&coordinator.url, &id, Change::Cancel).await?
        }
        SweepCommand::Pause { id, coordinator } => {
            change(&coordinator.url, &id, Change::Pause).await?
        }
        SweepCommand::Resume { id, coordinator } => {
            change(&coordinator.url, &id, Change::Resume).await?
        }
        SweepCommand::Retry {
            id,
            run,
            coordinator,
        } => {
            let mut c = client::connect(&coordinator.url).await?;
            let reopened = retry(&mut c, &id, run).await?;
            println!("sweep {id}: {reopened} failed runs reopened");
        }
        SweepCommand::Export {
            id,
            mlebench,
            nodes,
            coordinator,
        } => {
            let mut c = client::connect(&coordinator.url).await?;
            if let Some(dir) = mlebench {
                print!("{}", super::export::mlebench(&mut c, &id, &dir).await?);
            }
            if let Some(file) = nodes {
                print!("{}", super::nodes_export::nodes(&mut c, &id, &file).await?);
            }
        }
        SweepCommand::Report {
            id,
            format,
            coordinator,
        } => {
            return super::views::report(&coordinator.url, &id, format).await;
        }
        SweepCommand::Plot {
            id,
            out,
            coordinator,
        } => {
            let mut c = client::connect(&coordinator.url).await?;
            print!("{}", super::figures::plot(&mut c, &id, &out).await?);
        }
        SweepCommand::Compare {
            ids,
            format,
            resamples,
            seed,
            coordinator,
        } => {
            return super::views::compare(&coordinator.url, &ids, format, resamples, seed).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `randori sweep example`: every key of a sweep file, commented, with its default. The test
/// below loads it, so it stays a valid file.
const EXAMPLE: &str = include_str!("../../../examples/sweep-full.toml");

/// What `sweep check` found: problems (nothing can be queued) and notes.
#[derive(Default)]
struct Findings {
    problems: Vec<String>,
    notes: Vec<String>,
}

/// The checks that need no network: the spec's keys, every policy's and the operator's
/// settings, and (`with_tasks`, where the task directories are this host's) every task's
/// files. `run` makes them before it starts anything, `sweep submit` without the tasks
/// (the coordinator loads those from where it sees them).
pub fn check_offline(spec: &SweepSpec, with_tasks: bool) -> Result<()> {
    let findings = offline_findings(spec, with_tasks);
    match findings.problems.is_empty() {
        true => Ok(()),
        false => anyhow::bail!("{}", findings.problems.join("\n")),
    }
}

fn offline_findings(spec: &SweepSpec, with_tasks: bool) -> Findings {
    let mut f = Findings {
        problems: spec.problems(),
        ..Findings::default()
    };
    for policy in &spec.policies {
        if let Err(e) =
            randori_coordinator::check_run_settings(policy, &spec.policy, &spec.operator)
        {
            f.problems.push(format!("{policy}: {e}"));
        }
    }
    if with_tasks {
        for t in &spec.tasks {
            match randori_coordinator::tasks::Task::load(std::path::Path::new(t)) {
                Ok(task) => f.notes.push(format!("task {} loads ({t})", task.id)),
                Err(e) => f.problems.push(format!("task {t}: {e}")),
            }
        }
    }
    f
}

/// `randori sweep check FILE`: exits 1 when anything would stop the sweep.
async fn check(file: &std::path::Path, offline: bool) -> Result<ExitCode> {
    let spec = sweep_file::load(file)?;
    let mut f = offline_findings(&spec, true);
    if f.problems.is_empty() && !offline {
        use randori_coordinator::preflight::{Verdict, probe};
        let probes = probe(&spec.operator)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for p in probes {
            match p.verdict {
                Verdict::Answered { latency, price } => {
                    f.notes.push(format!(
                        "{}: {} at {} answered in {:.1} s",
                        p.operators,
                        p.model,
                        p.base_url,
                        latency.as_secs_f64()
                    ));
                    f.notes
                        .push(format!("{}: price of {}: {price}", p.operators, p.model));
                }
                Verdict::Failed(why) => f.problems.push(format!("{}: {why}", p.operators)),
            }
        }
    }
    for note in &f.notes {
        println!("ok     {}", shown(note));
    }
    for problem in &f.problems {
        println!("error  {}", shown(problem));
    }
    let runs = spec.run_count();
    Ok(match f.problems.is_empty() {
        true => {
            println!("{}: {runs} runs, ready to submit", file.display());
            ExitCode::SUCCESS
        }
        false => {
            println!("{}: {} problems", file.display(), f.problems.len());
            ExitCode::FAILURE
        }
    })
}

/// Submits a sweep (or finds the same one) and says which on stderr.
pub async fn submit(c: &mut Client, spec: &SweepSpec) -> Result<pb::SubmitSweepResponse> {
    check_offline(spec, false)?;
    if spec.policy["use_test_score"] == true {
        eprintln!(
            "warning: [policy] use_test_score = true: an oracle ablation; test scores steer every run's search, so its picks are not a fair result"
        );
    }
    let r = c
        .submit_sweep(pb::SubmitSweepRequest {
            spec_json: serde_json::to_string(spec)?,
        })
        .await
        .map_err(client::status_error)
        .context("submitting the sweep")?
        .into_inner();
    let what = if r.existing { "resuming" } else { "submitted" };
    eprintln!(
        "sweep {:?} {what}: {} ({} runs)",
        spec.name, r.sweep_id, r.runs
    );
    Ok(r)
}

/// Reopens the sweep's failed runs (those named, or all); returns how many were reopened.
pub async fn retry(c: &mut Client, id: &str, runs: Vec<String>) -> Result<usize> {
    let r = c
        .retry_sweep(pb::RetrySweepRequest {
            sweep_id: id.to_owned(),
            run_ids: runs,
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("retrying sweep {id}"))?
        .into_inner();
    Ok(r.reopened.len())
}

enum Change {
    Cancel,
    Pause,
    Resume,
}

async fn change(url: &str, id: &str, change: Change) -> Result<()> {
    let mut c = client::connect(url).await?;
    let request = pb::SweepRequest {
        sweep_id: id.to_owned(),
    };
    let status = match change {
        Change::Cancel => c.cancel_sweep(request).await,
        Change::Pause => c.pause_sweep(request).await,
        Change::Resume => c.resume_sweep(request).await,
    }
    .map_err(client::status_error)?
    .into_inner();
    println!("sweep {id}: {}", status.state);
    Ok(())
}

async fn status(c: &mut Client, id: &str, summary_only: bool) -> Result<pb::SweepStatus> {
    Ok(c.get_sweep_status(pb::GetSweepStatusRequest {
        sweep_id: id.to_owned(),
        summary_only,
    })
    .await
    .map_err(client::status_error)
    .with_context(|| format!("sweep {id}"))?
    .into_inner())
}

fn rfc3339(unix_ms: i64) -> Option<String> {
    (unix_ms != 0)
        .then(|| chrono::DateTime::from_timestamp_millis(unix_ms).map(|t| t.to_rfc3339()))
        .flatten()
}

/// The `sweep status --json` object.
fn status_json(s: &pb::SweepStatus) -> serde_json::Value {
    let r = s.runs.unwrap_or_default();
    let n = s.nodes.unwrap_or_default();
    let j = s.jobs.unwrap_or_default();
    let m = s.medals.unwrap_or_default();
    json!({
        "id": s.id,
        "name": s.name,
        "state": s.state,
        "priority": s.priority,
        "created_at": rfc3339(s.created_at_unix_ms),
        "finished_at": rfc3339(s.finished_at_unix_ms),
        "blocked": (!s.blocked.is_empty()).then_some(&s.blocked),
        "waiting_for_llm": (!s.waiting_for_llm.is_empty()).then_some(&s.waiting_for_llm),
        "runs": {"total": r.total, "pending": r.pending, "running": r.running, "paused": r.paused,
                 "completed": r.completed, "failed": r.failed, "cancelled": r.cancelled,
                 "waiting_for_llm": r.waiting_for_llm},
        "nodes": {"total": n.total, "ok": n.ok, "buggy": n.buggy, "pending": n.pending,
                  "budget_left": s.nodes_budget_left},
        "jobs": {"queued": j.queued, "leased": j.leased, "succeeded": j.succeeded,
                 "failed": j.failed, "cancelled": j.cancelled},
        "medals": {"gold": m.gold, "silver": m.silver, "bronze": m.bronze},
        "run_list": s.run_list.iter().map(|r| json!({
            "id": r.id, "task": r.task_id, "policy": r.policy, "seed": r.seed, "state": r.state,
            "nodes": r.nodes, "max_nodes": r.max_nodes,
            "working_ms": r.working_ms, "max_wall_ms": r.max_wall_ms,
            "waiting_for": (!r.waiting_for.is_empty()).then_some(&r.waiting_for),
            "error": (!r.error.is_empty()).then_some(&r.error),
        })).collect::<Vec<_>>(),
    })
}

fn print_status(s: &pb::SweepStatus) {
    let r = s.runs.unwrap_or_default();
    let n = s.nodes.unwrap_or_default();
    let j = s.jobs.unwrap_or_default();
    let m = s.medals.unwrap_or_default();
    println!(
        "sweep {} ({}): {}, priority {}",
        s.name, s.id, s.state, s.priority
    );
    if !s.blocked.is_empty() {
        println!("  paused by randori: {}", shown(&s.blocked));
    }
    if r.waiting_for_llm > 0 {
        println!(
            "  waiting for LLM: {} runs; {}",
            r.waiting_for_llm,
            shown(&s.waiting_for_llm)
        );
    }
    println!(
        "  runs   {} total: {} pending, {} running, {} paused, {} completed, {} failed, {} cancelled",
        r.total, r.pending, r.running, r.paused, r.completed, r.failed, r.cancelled
    );
    println!(
        "  nodes  {} total: {} ok, {} buggy, {} pending; {} more in the budget",
        n.total, n.ok, n.buggy, n.pending, s.nodes_budget_left
    );
    println!(
        "  jobs   {} queued, {} running, {} succeeded, {} failed, {} cancelled",
        j.queued, j.leased, j.succeeded, j.failed, j.cancelled
    );
    println!(
        "  medals {} gold, {} silver, {} bronze (selected nodes of completed runs)",
        m.gold, m.silver, m.bronze
    );
}

/// One line per run (`--runs`): what it is, how far it got, its working time and budget.
fn print_runs(runs: &[pb::SweepRun]) {
    let minutes = |ms: u64| format!("{:.1} min", ms as f64 / 60_000.0);
    for r in runs {
        let state = match (r.waiting_for.is_empty(), r.error.is_empty()) {
            (false, _) => format!("{}, waiting for LLM ({})", r.state, shown(&r.waiting_for)),
            (_, false) => format!("{}: {}", r.state, shown(&r.error)),
            _ => r.state.clone(),
        };
        println!(
            "  run {} {} {} seed {}: {state}, {}/{} nodes, working {} of {}",
            r.id,
            r.task_id,
            r.policy,
            r.seed,
            r.nodes,
            r.max_nodes,
            minutes(r.working_ms),
            minutes(r.max_wall_ms)
        );
    }
}

fn print_list(sweeps: &[pb::SweepStatus]) {
    let rows: Vec<[String; 6]> = sweeps
        .iter()
        .map(|s| {
            let r = s.runs.unwrap_or_default();
            [
                s.id.clone(),
                s.name.clone(),
                s.state.clone(),
                s.priority.to_string(),
                format!("{}/{}", r.completed + r.failed + r.cancelled, r.total),
                rfc3339(s.created_at_unix_ms).unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["id", "name", "state", "priority", "runs ended", "created"].map(str::to_owned);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `sweep example` prints a file that loads and passes the offline checks, its task
    /// included, with every default spelled out as the code has it.
    #[test]
    fn the_example_is_a_valid_sweep_file_of_defaults() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("example.toml");
        let text = EXAMPLE.replace(
            "\"tasks/mini/",
            &format!("\"{}/tasks/mini/", root.display()),
        );
        std::fs::write(&file, text).unwrap();
        let spec = sweep_file::load_with_roots(&file, &[]).unwrap();
        let findings = offline_findings(&spec, true);
        assert!(findings.problems.is_empty(), "{:?}", findings.problems);
        let defaults = randori_coordinator::sweep_spec::Budget::default();
        assert_eq!(spec.budget, defaults);
        assert_eq!(
            spec.resources,
            randori_coordinator::sweep_spec::NodeResources::default()
        );
        let policy: randori_search::PolicySettings =
            serde_json::from_value(spec.policy.clone()).unwrap();
        assert_eq!(policy, randori_search::PolicySettings::default());
    }
}
