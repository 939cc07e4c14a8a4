//! `randori eval`: one program through the real path (job, lease, sandbox), on a given
//! coordinator or on a private stack started for the purpose.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use randori_coordinator::mlebench::{Competition, Install};
use randori_coordinator::tasks::Task;
use randori_proto::v1 as pb;
use serde_json::json;

use crate::args::EvalArgs;
use crate::image;
use crate::stack::{Stack, StackOptions};
use crate::terminal::shown;

pub async fn run(a: EvalArgs) -> Result<ExitCode> {
    // `mlebench:<id>` names a competition of the install MLEBENCH_REPO and MLEBENCH_DATA_DIR
    // point at.
    let location = match a.task.to_str().and_then(|t| t.strip_prefix("mlebench:")) {
        Some(id) if Competition::parse(&a.task.to_string_lossy()).is_none() => {
            Install::from_settings(None, None)?.location(id).into()
        }
        _ => a.task.clone(),
    };
    // Checked here too, so that a bad task fails before a stack starts.
    let task = Task::load(&location)?;
    if task.competition_grader.is_some() && a.coordinator.is_none() {
        image::ensure_grading(&image::grading_tag(), false)?;
    }
    let code = std::fs::read_to_string(&a.code)
        .with_context(|| format!("reading the program {}", a.code.display()))?;
    let request = pb::SubmitEvalRequest {
        task_dir: task.dir.to_string_lossy().into_owned(),
        code,
        requirements: Some(pb::JobRequirements {
            gpus: a.gpus,
            cpu_millis: a.cpus,
            memory_bytes: a.memory,
            timeout_ms: a.timeout.as_millis() as u64,
            disk_bytes: a.disk,
            image: a.image.as_deref().map(image::resolve).unwrap_or_default(),
        }),
        max_attempts: 0,
    };
    let result = match &a.coordinator {
        Some(url) => submit_and_wait(&mut crate::client::connect(url).await?, request).await,
        None => {
            crate::stack::check_fits_one_worker(
                &crate::stack::Demand {
                    gpus: (a.gpus, "--gpus"),
                    cpu_millis: (a.cpus, "--cpus"),
                    memory_bytes: (a.memory, "--memory"),
                    disk_bytes: (a.disk, "--disk"),
                },
                1,
            )?;
            let image = match a.sandbox.as_str() {
                "docker" => image::ensure_named(a.image.as_deref())?,
                _ => image::resolve(a.image.as_deref().unwrap_or("cpu")),
            };
            let stack = Stack::start(StackOptions::local(1, a.sandbox.clone(), image)).await?;
            let result = match crate::client::connect(&stack.url()).await {
                Ok(mut client) => submit_and_wait(&mut client, request).await,
                Err(e) => Err(e),
            };
            stack.shutdown().await;
            result
        }
    }?;
    print_result(&result, a.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Submits one evaluation and waits until it succeeded (an error when it could not run).
pub async fn submit_and_wait(
    client: &mut crate::client::Client,
    request: pb::SubmitEvalRequest,
) -> Result<pb::GetEvalResponse> {
    let submitted = client
        .submit_eval(request)
        .await
        .map_err(crate::client::status_error)?
        .into_inner();
    let mut warned = false;
    loop {
        let r = client
            .get_eval(pb::GetEvalRequest {
                job_id: submitted.job_id.clone(),
                wait_ms: 30_000,
            })
            .await
            .map_err(crate::client::status_error)?
            .into_inner();
        match r.state() {
            pb::JobState::Succeeded => return Ok(r),
            pb::JobState::Failed | pb::JobState::Cancelled => {
                bail!("the evaluation job {} could not run: {}", r.job_id, r.error)
            }
            pb::JobState::Queued if !warned => {
                eprintln!(
                    "still queued after 30s: no worker with enough free resources has taken job {} yet",
                    r.job_id
                );
                warned = true;
            }
            _ => {}
        }
    }
}

fn print_result(r: &pb::GetEvalResponse, as_json: bool) -> Result<()> {
    let o = r
        .outcome
        .clone()
        .context("the coordinator returned no outcome")?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let g = r.grade.as_ref();
    let value = json!({
        "node_id": r.node_id,
        "job_id": r.job_id,
        "status": r.node_status,
        "exit_code": o.exit_code,
        "timed_out": o.timed_out,
        "oom_killed": o.oom_killed,
        "disk_limit_exceeded": o.disk_limit_exceeded,
        "duration_ms": o.duration_ms,
        "peak_memory_bytes": o.peak_memory_bytes,
        "stdout_head": text(&o.stdout_head),
        "stdout_tail": text(&o.stdout_tail),
        "stdout_bytes": o.stdout_bytes,
        "stderr_head": text(&o.stderr_head),
        "stderr_tail": text(&o.stderr_tail),
        "stderr_bytes": o.stderr_bytes,
        "submission_exists": o.submission.is_some(),
        "submission_bytes": o.submission.as_ref().map(Vec::len),
        "submission_too_large": o.submission_too_large,
        "valid_submission": g.map(|g| g.valid_submission),
        "invalid_reason": g.map(|g| g.invalid_reason.as_str()).filter(|r| !r.is_empty()),
        "val_score": g.and_then(|g| g.val_score),
        "val_source": g.map(|g| g.val_source.as_str()),
        "test_score": g.and_then(|g| g.test_score),
        "medal": g.map(|g| g.medal.as_str()),
        "above_median": g.map(|g| g.above_median),
        "is_lower_better": g.map(|g| g.is_lower_better),
        "graded_by": g.map(|g| g.graded_by.as_str()).filter(|p| !p.is_empty()),
        "thresholds": g.and_then(|g| g.thresholds.as_ref()).map(|t| json!({
            "gold": t.gold, "silver": t.silver, "bronze": t.bronze, "median": t.median,
        })),
        "attempts": r.attempts,
        "worker": r.worker_name,
        "sandbox": o.sandbox,
    });
    if as_json {
        println!("{value}");
    } else {
        println!("node {}  status {}", r.node_id, r.node_status);
        println!(
            "exit {}  timed_out {}  oom_killed {}  disk_limit_exceeded {}  {} ms  peak memory {}",
            o.exit_code.map_or("none".to_owned(), |c| c.to_string()),
            o.timed_out,
            o.oom_killed,
            o.disk_limit_exceeded,
            o.duration_ms,
            o.peak_memory_bytes
                .map_or("?".to_owned(), |b| format!("{} MiB", b >> 20))
        );
        println!(
            "submission: {}",
            if o.submission.is_some() {
                "written"
            } else {
                "none"
            }
        );
        if let Some(g) = g {
            let score = |s: Option<f64>| s.map_or("none".to_owned(), |v| v.to_string());
            println!(
                "valid {}  validation score {} ({})  test score {}  medal {}  above median {}  \
                 graded by {}",
                g.valid_submission,
                score(g.val_score),
                g.val_source,
                score(g.test_score),
                g.medal,
                g.above_median,
                g.graded_by
            );
            if !g.invalid_reason.is_empty() {
                println!("invalid: {}", shown(&g.invalid_reason));
            }
        }
        if !o.stdout_tail.is_empty() {
            println!("--- stdout (tail) ---\n{}", shown(&text(&o.stdout_tail)));
        }
        if !o.stderr_tail.is_empty() {
            println!("--- stderr (tail) ---\n{}", shown(&text(&o.stderr_tail)));
        }
    }
    Ok(())
}
