//! `randori run SWEEP.toml` and `randori up`: the embedded all-in-one stack (Postgres,
//! coordinator, local workers), either for one sweep (submit, watch, report) or kept running.

use std::process::ExitCode;

use anyhow::Result;
use randori_coordinator::sweep_spec::SweepSpec;

use randori_proto::v1 as pb;

use crate::args::{RunArgs, StackArgs, UpArgs};
use crate::progress::{WatchOptions, watch};
use crate::stack::{Stack, StackOptions};
use crate::{client, image, sweep_file};

/// Exit status after Ctrl-C, as shells report it.
const INTERRUPTED: u8 = 130;
/// The exit status when the sweep ended but some of its runs failed.
const RUNS_FAILED: u8 = 1;
/// The exit status when randori paused the sweep for an LLM settings error.
const BLOCKED: u8 = 2;

pub async fn run(a: RunArgs) -> Result<ExitCode> {
    // Everything the user wrote is checked before anything starts.
    let spec = sweep_file::load(&a.file)?;
    super::sweep::check_offline(&spec, true)?;
    let r = &spec.resources;
    crate::stack::check_fits_one_worker(
        &crate::stack::Demand {
            gpus: (r.gpus, "resources.gpus"),
            cpu_millis: (r.cpu_millis, "resources.cpus"),
            memory_bytes: (r.memory_bytes, "resources.memory"),
            disk_bytes: (r.disk_bytes, "resources.disk"),
        },
        a.stack.workers,
    )?;
    if let Some(dir) = &a.export_mlebench {
        super::export::empty_dir(dir)?;
    }
    if spec.tasks.iter().any(|t| is_mlebench_location(t)) {
        image::ensure_grading(&image::grading_tag(), false)?;
    }
    // The embedded workers find the sweep's image on this host when they start.
    if let (Some(tag), "docker") = (&spec.image, a.stack.sandbox.as_str()) {
        image::ensure_tag(tag)?;
    }
    let stack = start_stack(&a.stack, None, a.http).await?;
    print_dashboard(&stack);
    let url = stack.url();
    let outcome = tokio::select! {
        r = submit_watch_report(&url, stack.client_token(), &spec, &a) => Some(r),
        _ = super::terminated() => None,
    };
    stack.shutdown().await;
    match outcome {
        Some(Ok(Ending::Ended { failed_runs: 0 })) => Ok(ExitCode::SUCCESS),
        Some(Ok(Ending::Ended { .. })) => Ok(ExitCode::from(RUNS_FAILED)),
        Some(Ok(Ending::Blocked(why))) => {
            eprintln!(
                "sweep {:?} is paused: {}
Nothing was lost; after the fix, `randori run {}` again resumes it.",
                spec.name,
                crate::terminal::shown(&why),
                a.file.display()
            );
            Ok(ExitCode::from(BLOCKED))
        }
        Some(Err(e)) => Err(e),
        None => {
            eprintln!(
                "interrupted: sweep {:?} is saved; run `randori run {}` again to resume it",
                spec.name,
                a.file.display()
            );
            Ok(ExitCode::from(INTERRUPTED))
        }
    }
}

fn is_mlebench_location(task: &str) -> bool {
    randori_coordinator::mlebench::Competition::parse(task).is_some()
}

pub async fn up(a: UpArgs) -> Result<ExitCode> {
    let stack = start_stack(&a.stack, Some(a.listen), a.http).await?;
    eprintln!(
        "randori is up: coordinator at {url} (export RANDORI_COORDINATOR={url}); Ctrl-C stops it",
        url = stack.url()
    );
    print_dashboard(&stack);
    super::terminated().await;
    eprintln!("stopping: workers hand back running jobs, then the coordinator stops");
    stack.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn print_dashboard(stack: &Stack) {
    if let Some(addr) = stack.http_addr {
        eprintln!("dashboard: http://{addr}/");
    }
}

async fn start_stack(
    a: &StackArgs,
    listen: Option<std::net::SocketAddr>,
    http: std::net::SocketAddr,
) -> Result<Stack> {
    let image = match a.sandbox.as_str() {
        "docker" => image::ensure_named(a.image.as_deref())?,
        _ => image::resolve(a.image.as_deref().unwrap_or("cpu")),
    };
    let mut opts = StackOptions::local(a.workers, a.sandbox.clone(), image);
    opts.database_url = a.database_url.clone();
    if let Some(listen) = listen {
        opts.listen = listen;
    }
    opts.http = Some(http);
    opts.tokens = a.tokens.tokens()?;
    Stack::start(opts).await
}

/// How a watched sweep ended.
enum Ending {
    Ended {
        failed_runs: usize,
    },
    /// Paused by randori for an LLM settings error: the line naming the key to fix.
    Blocked(String),
}

/// Submits (or finds) the sweep, shows progress until it ends, prints the report, and writes
/// the MLE-bench export when asked. A found sweep that randori paused for a settings error is
/// resumed (the user ran the file again after the fix), and with `--retry-failed` its failed
/// runs are reopened.
async fn submit_watch_report(
    url: &str,
    token: Option<&str>,
    spec: &SweepSpec,
    a: &RunArgs,
) -> Result<Ending> {
    let mut client = client::connect_with_token(url, token).await?;
    let submitted = super::sweep::submit(&mut client, spec).await?;
    let id = &submitted.sweep_id;
    if submitted.existing {
        resume_if_blocked(&mut client, id).await?;
        if a.retry_failed {
            let reopened = super::sweep::retry(&mut client, id, Vec::new()).await?;
            eprintln!("{reopened} failed runs reopened");
        }
    }
    let status = watch(&mut client, id, WatchOptions { quiet: false }).await?;
    if status.state == "paused" && !status.blocked.is_empty() {
        return Ok(Ending::Blocked(status.blocked));
    }
    let (as_json, export_mlebench) = (a.json, a.export_mlebench.as_deref());
    let report = super::views::fetch_report(&mut client, id).await?;
    if as_json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", randori_report::render_table(&report));
    }
    if let Some(dir) = export_mlebench {
        // stdout carries the report alone: the export's summary goes to stderr.
        let summary = super::export::mlebench(&mut client, id, dir).await?;
        eprint!("{summary}");
    }
    Ok(Ending::Ended {
        failed_runs: report_failed_runs(&report),
    })
}

/// Resumes a sweep randori paused for a settings error, saying so.
async fn resume_if_blocked(client: &mut client::Client, id: &str) -> Result<()> {
    let status = client
        .get_sweep_status(pb::GetSweepStatusRequest {
            sweep_id: id.to_owned(),
            summary_only: true,
        })
        .await
        .map_err(client::status_error)?
        .into_inner();
    if status.state == "paused" && !status.blocked.is_empty() {
        eprintln!(
            "resuming: it was paused for {}",
            crate::terminal::shown(&status.blocked)
        );
        client
            .resume_sweep(pb::SweepRequest {
                sweep_id: id.to_owned(),
            })
            .await
            .map_err(client::status_error)?;
    }
    Ok(())
}

/// Says on stderr which runs failed and why; returns how many did.
fn report_failed_runs(report: &randori_report::SweepReport) -> usize {
    let failed: Vec<_> = report.runs.iter().filter(|r| r.state == "failed").collect();
    if !failed.is_empty() {
        eprintln!("{} of {} runs failed:", failed.len(), report.runs.len());
        for r in &failed {
            let error = r.error.as_deref().unwrap_or("no error recorded");
            eprintln!(
                "  {} {} seed {} (run {}): {}",
                r.task,
                r.policy,
                r.seed,
                r.id,
                crate::terminal::shown(error.lines().next().unwrap_or_default())
            );
        }
    }
    failed.len()
}
