//! `randori bench sandbox`: how long a trivial program takes from lease to recorded result
//! through a real worker's Docker sandbox (job directory, hardened container, output capture,
//! inspect, removal, report, grading), without and with a warm container pool, against
//! `docker run --rm IMAGE python3 -c pass` of the same image, alternating one of each so both
//! see the same machine.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use randori_proto::v1 as pb;
use serde_json::json;
use sqlx::Row;

use super::dispatch::Measured;
use super::stats::{millis, quantile};
use crate::args::BenchSandboxArgs;
use crate::stack::{Stack, StackOptions};

pub async fn measure(a: &BenchSandboxArgs) -> Result<Measured> {
    let image = crate::image::ensure_named(a.image.as_deref())?;
    let task = std::fs::canonicalize(&a.task)
        .with_context(|| format!("the task {}", a.task.display()))?
        .to_string_lossy()
        .into_owned();
    // Without a pool (each run creates its container), then with one warm container per
    // shape; the bare run alternates with both.
    let (cold, mut bare) = alternate(a, &task, &image, 0).await?;
    let (warm, bare_too) = alternate(a, &task, &image, 1).await?;
    bare.extend(bare_too);
    let q = |s: &[Duration], p| millis(quantile(s, p));
    let ratio = |randori: &[Duration]| match (q(randori, 0.5), q(&bare, 0.5)) {
        (Some(r), Some(b)) if b > 0.0 => r / b,
        _ => 0.0,
    };
    let (cold_ratio, warm_ratio) = (ratio(&cold), ratio(&warm));
    let json = json!({
        "samples": a.samples,
        "image": image,
        "randori_lease_to_result_ms": {"p50": q(&cold, 0.5), "p99": q(&cold, 0.99)},
        "randori_warm_lease_to_result_ms": {"p50": q(&warm, 0.5), "p99": q(&warm, 0.99)},
        "docker_run_ms": {"p50": q(&bare, 0.5), "p99": q(&bare, 0.99)},
        "ratio": cold_ratio,
        "warm_ratio": warm_ratio,
        "goal": {"ratio": 1.2, "warm_ratio": 1.0},
    });
    let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0} ms"));
    let text = format!(
        "sandbox: a trivial program, {} samples each, image {image}\n  randori lease → result            p50 {}  p99 {}   ratio (p50) {cold_ratio:.2} (goal ≤ 1.20)\n  randori, warm container pool      p50 {}  p99 {}   ratio (p50) {warm_ratio:.2} (goal < 1.00)\n  docker run --rm                   p50 {}  p99 {}\n",
        a.samples,
        ms(q(&cold, 0.5)),
        ms(q(&cold, 0.99)),
        ms(q(&warm, 0.5)),
        ms(q(&warm, 0.99)),
        ms(q(&bare, 0.5)),
        ms(q(&bare, 0.99)),
    );
    Ok(Measured { json, text })
}

/// Starts a stack whose worker keeps `warm` containers per shape, and alternates its runs
/// with bare ones: (randori's, bare).
async fn alternate(
    a: &BenchSandboxArgs,
    task: &str,
    image: &str,
    warm: usize,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let mut options = StackOptions::local(1, "docker".into(), image.to_owned());
    options.warm_containers = warm;
    let stack = Stack::start(options).await?;
    let result = alternate_on(a, &stack, task, image).await;
    stack.shutdown().await;
    result
}

async fn alternate_on(
    a: &BenchSandboxArgs,
    stack: &Stack,
    task: &str,
    image: &str,
) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let mut control = crate::client::connect(&stack.url()).await?;
    let db = sqlx::PgPool::connect(&stack.database_url).await?;
    let (mut randori, mut bare) = (Vec::new(), Vec::new());
    // One of each first, unmeasured: caches warm for both (and the pool learns the shape).
    for i in 0..=a.samples {
        let took = lease_to_result(&mut control, &db, task).await?;
        let ran = docker_run(image)?;
        if i > 0 {
            randori.push(took);
            bare.push(ran);
        }
    }
    Ok((randori, bare))
}

/// Lease to recorded result, by the database clock.
async fn lease_to_result(
    control: &mut crate::client::Client,
    db: &sqlx::PgPool,
    task: &str,
) -> Result<Duration> {
    let request = pb::SubmitEvalRequest {
        task_dir: task.to_owned(),
        code: "pass\n".into(),
        requirements: Some(pb::JobRequirements {
            gpus: 0,
            cpu_millis: 1000,
            memory_bytes: 512 << 20,
            timeout_ms: 60_000,
            disk_bytes: 1 << 30,
            image: String::new(),
        }),
        max_attempts: 1,
    };
    let job_id = crate::cmd::eval::submit_and_wait(control, request)
        .await?
        .job_id;
    let row = sqlx::query(
        "SELECT extract(epoch FROM finished_at - leased_at)::float8 AS s FROM jobs WHERE id = $1::uuid",
    )
    .bind(&job_id)
    .fetch_one(db)
    .await?;
    Ok(Duration::from_secs_f64(row.get::<f64, _>("s")))
}

/// The baseline: the same image, the same trivial program, nothing else.
fn docker_run(image: &str) -> Result<Duration> {
    let started = Instant::now();
    let status = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            image,
            "python3",
            "-c",
            "pass",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running docker")?;
    if !status.success() {
        bail!("docker run of {image} failed: {status}");
    }
    Ok(started.elapsed())
}
