//! `randori bench scale`: fills a fresh database with a finished sweep of many runs and nodes
//! and times the queries the CLI (and a dashboard) make against it: sweep status, the
//! report's per-run facts, and one run's tree. Status and report read the per-run counters;
//! beside them, the same run times the queries that aggregate every node instead (the
//! baseline: what both did before the counters).

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use randori_coordinator::store::JobStore;
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

use super::dispatch::Measured;
use super::stats::{millis, quantile};
use crate::args::BenchScaleArgs;

/// The queries status and report made before the per-run counters: the baseline, and the
/// recount the counters are tested against.
pub const STATUS_BY_AGGREGATION: &str = include_str!("sql/status_by_aggregation.sql");
pub const REPORT_BY_AGGREGATION: &str = include_str!("sql/report_by_aggregation.sql");

/// The dashboard's sweep page (report and figures, every node read and drawn) is timed up to
/// this many nodes: 1,000 runs × 100 nodes; at 10⁶ it takes minutes and is not a page.
const PAGE_MAX_NODES: u64 = 100_000;
/// Samples of the pages that draw every node afresh; the others take `--samples`, enough to
/// reach Postgres's generic plans (after five executions of a statement).
const PAGE_SAMPLES: usize = 5;

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
    let mut status_runs = Vec::new();
    let mut report = Vec::new();
    let mut status_aggregated = Vec::new();
    let mut report_aggregated = Vec::new();
    let mut tree = Vec::new();
    let aggregated = |sql: &'static str| {
        let pool = store.pool().clone();
        async move {
            sqlx::query(sql).bind(sweep).fetch_all(&pool).await?;
            Ok::<_, randori_coordinator::Error>(())
        }
    };
    for i in 0..a.samples as usize {
        status.push(timed(store.sweep_status_summary(sweep)).await?);
        status_runs.push(timed(store.sweep_run_counts(sweep)).await?);
        status_aggregated.push(timed(aggregated(STATUS_BY_AGGREGATION)).await?);
        report.push(timed(store.sweep_report_runs(sweep)).await?);
        report_aggregated.push(timed(aggregated(REPORT_BY_AGGREGATION)).await?);
        let run = runs[(i * 7919) % runs.len()].id;
        tree.push(timed(store.run_nodes(run)).await?);
    }
    let nodes = u64::from(a.runs) * u64::from(a.nodes_per_run);
    let pages = match nodes <= PAGE_MAX_NODES {
        true => Some(pages(&store, sweep, runs[0].id, a.samples as usize).await?),
        false => None,
    };
    let resumed = resume(&store, url, sweep, a).await?;
    let q =
        |s: &[Duration]| json!({"p50": millis(quantile(s, 0.5)), "p99": millis(quantile(s, 0.99))});
    let json = json!({
        "runs": a.runs,
        "nodes": nodes,
        "fill_s": fill.as_secs_f64(),
        "samples": a.samples,
        "sweep_status_ms": q(&status),
        "sweep_status_runs_ms": q(&status_runs),
        "sweep_status_aggregating_ms": q(&status_aggregated),
        "sweep_report_ms": q(&report),
        "sweep_report_aggregating_ms": q(&report_aggregated),
        "run_tree_ms": q(&tree),
        "dashboard_sweep_page_ms": pages.as_ref().map(|p| q(&p.sweep.0)),
        "dashboard_sweep_page_bytes": pages.as_ref().map(|p| p.sweep.1),
        "dashboard_sweep_page_kept_figures_ms": pages.as_ref().map(|p| q(&p.sweep_kept.0)),
        "dashboard_run_page_ms": pages.as_ref().map(|p| q(&p.run.0)),
        "dashboard_run_page_bytes": pages.as_ref().map(|p| p.run.1),
        "dashboard_compare_page_ms": pages.as_ref().map(|p| q(&p.compare.0)),
        "dashboard_compare_page_bytes": pages.as_ref().map(|p| p.compare.1),
        "html_report_bytes": pages.as_ref().map(|p| p.html_report_bytes),
        "resume": {
            "active_runs": resumed.active,
            "taken_s": resumed.taken.as_secs_f64(),
            "stepped_s": resumed.stepped.map(|d| d.as_secs_f64()),
            "coordinator_rss_kib": resumed.rss_kib,
            "coordinator_peak_rss_kib": resumed.peak_rss_kib,
        },
    });
    let line = |what: &str, s: &[Duration]| {
        format!(
            "  {what:<22} p50 {:>8.1} ms  p99 {:>8.1} ms\n",
            millis(quantile(s, 0.5)).unwrap_or(0.0),
            millis(quantile(s, 0.99)).unwrap_or(0.0)
        )
    };
    // The counters' figures, then the baseline's, and how many times faster (p99).
    let versus = |what: &str, s: &[Duration], baseline: &[Duration]| {
        let p99 = |d: &[Duration]| millis(quantile(d, 0.99)).unwrap_or(0.0);
        format!(
            "{}{}  {:<22} ×{:.0} faster at p99\n",
            line(what, s),
            line("  aggregating (before)", baseline),
            "",
            p99(baseline) / p99(s).max(1e-3)
        )
    };
    let stepped = resumed.stepped.map_or_else(
        || "not measured (no --task-dir)".to_owned(),
        |d| format!("{:.2} s", d.as_secs_f64()),
    );
    let page_line = match &pages {
        None => format!("  dashboard pages        not timed (over {PAGE_MAX_NODES} nodes)\n"),
        Some(p) => {
            let timed = |what: &str, (samples, bytes): &(Vec<Duration>, usize)| {
                format!(
                    "{}  {:<22} {:.2} MB, {} samples\n",
                    line(what, samples),
                    "",
                    *bytes as f64 / 1e6,
                    samples.len()
                )
            };
            format!(
                "{}{}{}{}  {:<22} {:.2} MB (sweep report --format html)\n",
                timed("dashboard sweep page", &p.sweep),
                line("  figures kept", &p.sweep_kept.0),
                timed("dashboard run page", &p.run),
                timed("dashboard compare page", &p.compare),
                "html report",
                p.html_report_bytes as f64 / 1e6
            )
        }
    };
    let text = format!(
        "scale: {} runs, {nodes} nodes (filled in {:.1} s), {} samples\n{}{}{}{}{page_line}\
         resume: a new coordinator took up {} orphaned runs in {:.2} s; all made their next step: {stepped}\n\
         coordinator memory while driving them: RSS {} MiB (peak {} MiB)\n",
        a.runs,
        fill.as_secs_f64(),
        a.samples,
        versus("sweep status", &status, &status_aggregated),
        line("sweep status --runs", &status_runs),
        versus("sweep report facts", &report, &report_aggregated),
        line(&format!("one run's tree ({})", a.nodes_per_run), &tree),
        resumed.active,
        resumed.taken.as_secs_f64(),
        resumed.rss_kib / 1024,
        resumed.peak_rss_kib / 1024,
    );
    Ok(Measured { json, text })
}

/// The dashboard's pages with figures (times and the size of the last one drawn), and the
/// size of the self-contained HTML report, at this scale.
struct Pages {
    /// Its figures drawn afresh each time, as for its first viewer.
    sweep: (Vec<Duration>, usize),
    /// Its figures kept from an earlier drawing, as for every refresh while they are current.
    sweep_kept: (Vec<Duration>, usize),
    run: (Vec<Duration>, usize),
    /// The sweep's policies compared (one arm each).
    compare: (Vec<Duration>, usize),
    html_report_bytes: usize,
}

async fn pages(store: &JobStore, sweep: Uuid, run: Uuid, samples: usize) -> Result<Pages> {
    async fn sampled<F: Future<Output = randori_coordinator::Result<String>>>(
        n: usize,
        mut page: impl FnMut() -> F,
    ) -> Result<(Vec<Duration>, usize)> {
        let (mut samples, mut bytes) = (Vec::new(), 0);
        for _ in 0..n {
            let started = Instant::now();
            bytes = page().await?.len();
            samples.push(started.elapsed());
        }
        Ok((samples, bytes))
    }
    let picked = [sweep];
    let kept = randori_coordinator::FigureCache::default();
    randori_coordinator::sweep_page_html(store, Some(&kept), sweep).await?;
    let record = store.sweep_get(sweep).await?;
    let report = store.sweep_report(&record).await?;
    let runs = store.sweep_figure_runs(sweep).await?;
    let html = randori_report::plots::html_page(
        &report,
        &randori_report::plots::sweep_figures(&report, &runs),
        &randori_report::figures::generalization_gap(&runs),
    );
    Ok(Pages {
        sweep: sampled(PAGE_SAMPLES, || {
            randori_coordinator::sweep_page_html(store, None, sweep)
        })
        .await?,
        sweep_kept: sampled(samples, || {
            randori_coordinator::sweep_page_html(store, Some(&kept), sweep)
        })
        .await?,
        run: sampled(samples, || randori_coordinator::run_page_html(store, run)).await?,
        compare: sampled(samples, || {
            randori_coordinator::compare_page_html(store, &picked)
        })
        .await?,
        html_report_bytes: html.len(),
    })
}

struct Resumed {
    active: usize,
    /// Until a live driver held (or had ended) every reopened run.
    taken: Duration,
    /// Until every reopened run had made its next step (with a real task only).
    stepped: Option<Duration>,
    rss_kib: u64,
    peak_rss_kib: u64,
}

/// Reopens runs as if their coordinator had died while driving them, starts a coordinator
/// process on the database and times how long it takes to drive them all again; reads that
/// process's memory meanwhile.
async fn resume(store: &JobStore, url: &str, sweep: Uuid, a: &BenchScaleArgs) -> Result<Resumed> {
    let task_dir = match &a.task_dir {
        Some(dir) => Some(
            std::fs::canonicalize(dir)
                .with_context(|| format!("--task-dir {}", dir.display()))?
                .to_string_lossy()
                .into_owned(),
        ),
        None => None,
    };
    let ids: Vec<Uuid> = sqlx::query_scalar(include_str!("sql/scale_reopen.sql"))
        .bind(sweep)
        .bind(i64::from(a.active))
        .bind(task_dir.as_deref())
        .fetch_all(store.pool())
        .await
        .context("reopening runs")?;
    let since = chrono::Utc::now();
    let started = Instant::now();
    let mut coordinator = tokio::process::Command::new(std::env::current_exe()?)
        .args(["coordinator", "--database-url", url])
        .args(["--listen", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .env("RANDORI_LOG", "error")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting a coordinator")?;
    let pid = coordinator.id().context("the coordinator's pid")?;
    let (mut taken, mut stepped) = (None, None);
    let deadline = started + Duration::from_secs(600);
    while stepped.is_none() && Instant::now() < deadline {
        let row = sqlx::query(include_str!("sql/scale_resumed.sql"))
            .bind(&ids)
            .bind(since)
            .fetch_one(store.pool())
            .await?;
        let (t, s): (i64, i64) = (row.get("taken"), row.get("stepped"));
        if task_dir.is_some() && row.get::<i64, _>("failed") > 0 {
            let error: Option<String> = row.get("error");
            anyhow::bail!(
                "a reopened run failed instead of resuming: {}",
                error.unwrap_or_default()
            );
        }
        if taken.is_none() && t as usize == ids.len() {
            taken = Some(started.elapsed());
            if task_dir.is_none() {
                break;
            }
        }
        if s as usize == ids.len() {
            stepped = Some(started.elapsed());
        }
        if let Some(status) = coordinator.try_wait()? {
            anyhow::bail!("the coordinator exited ({status}) while resuming");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let memory = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib = |key: &str| {
        memory
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let (rss_kib, peak_rss_kib) = (kib("VmRSS:"), kib("VmHWM:"));
    coordinator.start_kill()?;
    coordinator.wait().await?;
    Ok(Resumed {
        active: ids.len(),
        taken: taken.context("the reopened runs were not all taken up within 10 minutes")?,
        stepped,
        rss_kib,
        peak_rss_kib,
    })
}

async fn timed<T>(
    f: impl std::future::Future<Output = randori_coordinator::Result<T>>,
) -> Result<Duration> {
    let started = Instant::now();
    f.await?;
    Ok(started.elapsed())
}
