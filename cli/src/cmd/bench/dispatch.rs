//! `randori bench dispatch`: no-op jobs through the full path (SubmitEval, gRPC lease,
//! report, graded and recorded) against the raw SQL ceiling on the same Postgres server in
//! the same run (a minimal SKIP LOCKED lease plus a fenced completion from as many
//! connections as there are workers), and the time from enqueue until an idle worker holds
//! the job.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use randori_coordinator::model::{Resources, WorkerRegistration};
use randori_coordinator::store::JobStore;
use randori_coordinator::{Coordinator, CoordinatorConfig};
use randori_proto::v1 as pb;
use randori_proto::v1::worker_service_client::WorkerServiceClient;
use serde_json::json;
use sqlx::{Connection, Row};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use super::stats::{millis, quantile, rate};
use crate::args::BenchDispatchArgs;
use crate::client::Client;

/// A harness's figures: one JSON object, or text for people.
pub struct Measured {
    pub json: serde_json::Value,
    pub text: String,
}

impl Measured {
    pub fn print(&self, as_json: bool) {
        if as_json {
            println!("{}", self.json);
        } else {
            print!("{}", self.text);
        }
    }
}

pub async fn measure(a: &BenchDispatchArgs, raw_url: &str, path_url: &str) -> Result<Measured> {
    let raw = raw_ceiling(raw_url, a.jobs, a.workers).await?;
    let path = full_path(a, path_url).await?;
    let ratio = path.jobs_per_s / raw.max(f64::MIN_POSITIVE);
    let p50 = millis(quantile(&path.idle_latency, 0.5));
    let p99 = millis(quantile(&path.idle_latency, 0.99));
    let json = json!({
        "jobs": a.jobs,
        "workers": a.workers,
        "lease_batch": a.batch,
        "raw_ceiling_jobs_per_s": raw,
        "full_path_jobs_per_s": path.jobs_per_s,
        "ratio": ratio,
        "enqueue_jobs_per_s": path.enqueue_per_s,
        "idle_latency_ms": {"samples": path.idle_latency.len(), "p50": p50, "p99": p99},
        "goals": {"ratio": 0.7, "idle_p99_ms": 20.0},
    });
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1} ms"));
    let text = format!(
        "dispatch: {} no-op jobs, {} workers (lease batch {})\n  raw SQL ceiling  {:>9.0} jobs/s\n  full path        {:>9.0} jobs/s   ratio {:.2} (goal ≥ 0.70)\n  enqueue          {:>9.0} jobs/s\n  idle worker holds a new job: p50 {}, p99 {} over {} samples (goal p99 < 20 ms)\n",
        a.jobs,
        a.workers,
        a.batch,
        raw,
        path.jobs_per_s,
        ratio,
        path.enqueue_per_s,
        ms(p50),
        ms(p99),
        path.idle_latency.len()
    );
    Ok(Measured { json, text })
}

/// Jobs per second of the least a queue can do: `connections` loops of lease + complete.
async fn raw_ceiling(url: &str, jobs: u32, connections: u32) -> Result<f64> {
    let store = JobStore::connect(url)
        .await
        .context("the ceiling's database")?;
    let worker = store
        .worker_register(&WorkerRegistration {
            name: "bench-raw".into(),
            hostname: "bench".into(),
            sandbox: "none".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            total: Resources::default(),
            packages: Vec::new(),
            images: Default::default(),
        })
        .await?;
    sqlx::query(include_str!("sql/raw_fill.sql"))
        .bind(i32::try_from(jobs)?)
        .execute(store.pool())
        .await?;
    let started = Instant::now();
    let mut loops = Vec::new();
    for _ in 0..connections.max(1) {
        let url = url.to_owned();
        loops.push(tokio::spawn(async move {
            let mut conn = sqlx::PgConnection::connect(&url).await?;
            let mut done = 0u64;
            while let Some(row) = sqlx::query(include_str!("sql/raw_lease.sql"))
                .bind(worker)
                .fetch_optional(&mut conn)
                .await?
            {
                sqlx::query(include_str!("sql/raw_complete.sql"))
                    .bind(row.get::<uuid::Uuid, _>("id"))
                    .bind(row.get::<i64, _>("epoch"))
                    .execute(&mut conn)
                    .await?;
                done += 1;
            }
            Ok::<_, sqlx::Error>(done)
        }));
    }
    let mut done = 0;
    for l in loops {
        done += l.await??;
    }
    anyhow::ensure!(
        done == u64::from(jobs),
        "the ceiling completed {done} of {jobs} jobs"
    );
    Ok(rate(done, started.elapsed()))
}

struct PathFigures {
    jobs_per_s: f64,
    enqueue_per_s: f64,
    idle_latency: Vec<Duration>,
}

async fn full_path(a: &BenchDispatchArgs, url: &str) -> Result<PathFigures> {
    let coordinator = Coordinator::build(CoordinatorConfig::new(
        url.to_owned(),
        "127.0.0.1:0".parse()?,
        crate::image::default_tag(),
    ))
    .await
    .context("starting the coordinator")?;
    let addr = format!("http://{}", coordinator.local_addr()?);
    let stop = CancellationToken::new();
    let server = tokio::spawn(coordinator.run(stop.clone()));
    let result = drive_full_path(a, &addr).await;
    stop.cancel();
    let _ = server.await;
    result
}

async fn drive_full_path(a: &BenchDispatchArgs, addr: &str) -> Result<PathFigures> {
    let task = std::fs::canonicalize(&a.task)
        .with_context(|| format!("the task {}", a.task.display()))?
        .to_string_lossy()
        .into_owned();
    let mut control = crate::client::connect(addr).await?;
    // Enqueue everything first (concurrently), then let the workers drain the queue.
    let started = Instant::now();
    let mut submits = tokio::task::JoinSet::new();
    for i in 0..a.jobs {
        let (mut c, task) = (control.clone(), task.clone());
        submits.spawn(async move { c.submit_eval(noop(&task)).await });
        if i % 32 == 31 {
            while submits.len() > 16 {
                submits.join_next().await.expect("a submit")??;
            }
        }
    }
    while let Some(r) = submits.join_next().await {
        r??;
    }
    let enqueue_per_s = rate(u64::from(a.jobs), started.elapsed());

    let channel = tonic::transport::Endpoint::from_shared(addr.to_owned())?
        .connect()
        .await?;
    let completed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..a.workers.max(1) {
        let (channel, completed, batch, jobs) = (
            channel.clone(),
            completed.clone(),
            a.batch,
            u64::from(a.jobs),
        );
        workers.spawn(async move {
            let mut w = BenchWorker::register(channel, &format!("bench-{i}")).await?;
            while completed.load(Ordering::SeqCst) < jobs {
                let leased = w.lease(batch, 200).await?;
                w.report(&leased).await?;
                completed.fetch_add(leased.len() as u64, Ordering::SeqCst);
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(r) = workers.join_next().await {
        r??;
    }
    let jobs_per_s = rate(completed.load(Ordering::SeqCst), started.elapsed());
    let idle_latency = idle_latency(&mut control, channel, &task, a).await?;
    Ok(PathFigures {
        jobs_per_s,
        enqueue_per_s,
        idle_latency,
    })
}

/// Idle workers long-poll; one job at a time is enqueued, timed until a worker holds it.
async fn idle_latency(
    control: &mut Client,
    channel: Channel,
    task: &str,
    a: &BenchDispatchArgs,
) -> Result<Vec<Duration>> {
    let (held_tx, mut held_rx) = tokio::sync::mpsc::unbounded_channel::<(String, Instant)>();
    let stop = CancellationToken::new();
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..a.workers.max(1) {
        let (channel, held_tx, stop) = (channel.clone(), held_tx.clone(), stop.clone());
        workers.spawn(async move {
            let mut w = BenchWorker::register(channel, &format!("bench-idle-{i}")).await?;
            loop {
                let leased = tokio::select! {
                    _ = stop.cancelled() => return Ok::<_, anyhow::Error>(()),
                    l = w.lease(1, 10_000) => l?,
                };
                for job in &leased {
                    let _ = held_tx.send((job.job_id.clone(), Instant::now()));
                }
                w.report(&leased).await?;
            }
        });
    }
    // Let every worker reach its long poll.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut samples = Vec::new();
    for _ in 0..a.latency_samples {
        let enqueued = Instant::now();
        let job_id = control.submit_eval(noop(task)).await?.into_inner().job_id;
        let held = loop {
            let (id, at) = tokio::time::timeout(Duration::from_secs(30), held_rx.recv())
                .await
                .context("no worker took the job within 30 s")?
                .context("the bench workers stopped")?;
            if id == job_id {
                break at;
            }
        };
        samples.push(held.duration_since(enqueued));
        // Let the worker report and return to its long poll.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    while let Some(r) = workers.join_next().await {
        r??;
    }
    Ok(samples)
}

fn noop(task_dir: &str) -> pb::SubmitEvalRequest {
    pb::SubmitEvalRequest {
        task_dir: task_dir.to_owned(),
        code: "pass\n".into(),
        requirements: Some(pb::JobRequirements {
            gpus: 0,
            cpu_millis: 1,
            memory_bytes: 1 << 20,
            timeout_ms: 60_000,
            disk_bytes: 1 << 30,
            image: String::new(),
        }),
        max_attempts: 1,
    }
}

/// A worker that runs nothing: it leases a batch and reports every job of it at once (an empty
/// successful outcome each, in one ReportResults call), so what is measured is the
/// coordinator and the store.
struct BenchWorker {
    client: WorkerServiceClient<Channel>,
    id: String,
}

impl BenchWorker {
    async fn register(channel: Channel, name: &str) -> Result<Self> {
        let mut client = WorkerServiceClient::new(channel);
        let r = client
            .register(pb::RegisterRequest {
                name: name.to_owned(),
                hostname: "bench".into(),
                total: Some(unlimited()),
                version: env!("CARGO_PKG_VERSION").into(),
                sandbox: "none".into(),
                fresh_start: true,
                packages: Vec::new(),
                images: Vec::new(),
            })
            .await?
            .into_inner();
        Ok(Self {
            client,
            id: r.worker_id,
        })
    }

    async fn lease(&mut self, max_jobs: u32, wait_ms: u64) -> Result<Vec<pb::LeasedJob>> {
        Ok(self
            .client
            .lease(pb::LeaseRequest {
                worker_id: self.id.clone(),
                free: Some(unlimited()),
                max_jobs,
                wait_ms,
                images: Vec::new(),
            })
            .await?
            .into_inner()
            .jobs)
    }

    /// Reports the leased jobs in one call (an empty successful outcome each); every report
    /// must be accepted.
    async fn report(&mut self, jobs: &[pb::LeasedJob]) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let reports = jobs
            .iter()
            .map(|job| pb::ReportResultRequest {
                worker_id: self.id.clone(),
                job_id: job.job_id.clone(),
                epoch: job.epoch,
                result: Some(pb::report_result_request::Result::Outcome(pb::Outcome {
                    exit_code: Some(0),
                    sandbox: "none".into(),
                    ..Default::default()
                })),
            })
            .collect();
        let verdicts = self
            .client
            .report_results(pb::ReportResultsRequest { reports })
            .await?
            .into_inner()
            .verdicts;
        anyhow::ensure!(
            verdicts.len() == jobs.len(),
            "{} verdicts for {} reports",
            verdicts.len(),
            jobs.len()
        );
        if let Some(refused) = verdicts.iter().find(|v| !v.accepted) {
            anyhow::bail!("a report was refused: {}", refused.refused);
        }
        Ok(())
    }
}

fn unlimited() -> pb::Resources {
    pb::Resources {
        slots: 1024,
        cpu_millis: 1 << 30,
        memory_bytes: 1 << 50,
        gpu_ids: Vec::new(),
        disk_bytes: 1 << 50,
    }
}
