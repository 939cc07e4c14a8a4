//! `randori bench scale`: fills a fresh database with a finished sweep of many runs and nodes
//! and times the queries the CLI (and a dashboard) make against it: sweep status, the
//! report's per-run facts, and one run's tree.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use randori_coordinator::store::JobStore;
use serde_json::json;
use uuid::Uuid;

use super::dispatch::Measured;
use super::stats::{millis, quantile};
use crate::args::BenchScaleArgs;

pub async fn measure(a: &BenchScaleArgs, url: &str) -> Result<Measured> {
    let store = JobStore::connect(url).await.context("the scale database")?;
    let sweep = Uuid::now_v7();
    let started = Instant::now();
    sqlx::query(include_str!("sql/scale_fill.sql"))
        .bind(sweep)
        .bind(i32::try_from(a.runs)?)
        .bind(i32::try_from(a.nodes_per_run)?)
        .execute(store.pool())
        .await
        .context("filling the store")?;
    sqlx::query(include_str!("sql/scale_select.sql"))
        .execute(store.pool())
        .await?;
    sqlx::query("ANALYZE").execute(store.pool()).await?;
    let fill = started.elapsed();

    let runs = store.sweep_run_counts(sweep).await?;
    let mut status = Vec::new();
    let mut report = Vec::new();
    let mut tree = Vec::new();
    for i in 0..a.samples as usize {
        status.push(timed(store.sweep_run_counts(sweep)).await?);
        report.push(timed(store.sweep_report_runs(sweep)).await?);
        let run = runs[(i * 7919) % runs.len()].id;
        tree.push(timed(store.run_nodes(run)).await?);
    }
    let nodes = u64::from(a.runs) * u64::from(a.nodes_per_run);
    let q =
        |s: &[Duration]| json!({"p50": millis(quantile(s, 0.5)), "p99": millis(quantile(s, 0.99))});
    let json = json!({
        "runs": a.runs,
        "nodes": nodes,
        "fill_s": fill.as_secs_f64(),
        "samples": a.samples,
        "sweep_status_ms": q(&status),
        "sweep_report_ms": q(&report),
        "run_tree_ms": q(&tree),
    });
    let line = |what: &str, s: &[Duration]| {
        format!(
            "  {what:<22} p50 {:>8.1} ms  p99 {:>8.1} ms\n",
            millis(quantile(s, 0.5)).unwrap_or(0.0),
            millis(quantile(s, 0.99)).unwrap_or(0.0)
        )
    };
    let text = format!(
        "scale: {} runs, {nodes} nodes (filled in {:.1} s), {} samples\n{}{}{}",
        a.runs,
        fill.as_secs_f64(),
        a.samples,
        line("sweep status counts", &status),
        line("sweep report facts", &report),
        line(&format!("one run's tree ({})", a.nodes_per_run), &tree),
    );
    Ok(Measured { json, text })
}

async fn timed<T>(
    f: impl std::future::Future<Output = randori_coordinator::Result<T>>,
) -> Result<Duration> {
    let started = Instant::now();
    f.await?;
    Ok(started.elapsed())
}
