//! The benchmark harnesses as a smoke test with tiny sizes: they run and print their figures.
//! (The figures themselves are in BENCHMARKS.md; no timing is asserted here.)

use std::process::Command;

use crate::harness::{BIN, repo_root, runtime_image};

/// `randori bench ARGS --json` on a private Postgres of its own; its one JSON object.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let home = tempfile::tempdir().unwrap();
    // The private Postgres runs as an unprivileged user, who must reach RANDORI_HOME.
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("bench")
        .args(args)
        .arg("--json")
        .env("RANDORI_HOME", home.path())
        .output()
        .expect("running randori bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

fn task() -> String {
    repo_root()
        .join("tasks/mini/spooky-authors")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn bench_dispatch_prints_both_rates_their_ratio_and_latency_quantiles() {
    let task = task();
    let v = bench_json(&[
        "dispatch",
        "--jobs",
        "40",
        "--workers",
        "2",
        "--latency-samples",
        "5",
        "--task",
        &task,
    ]);
    for key in ["raw_ceiling_jobs_per_s", "full_path_jobs_per_s", "ratio"] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    let ratio =
        v["full_path_jobs_per_s"].as_f64().unwrap() / v["raw_ceiling_jobs_per_s"].as_f64().unwrap();
    assert!((v["ratio"].as_f64().unwrap() - ratio).abs() < 1e-9);
    let latency = &v["idle_latency_ms"];
    assert_eq!(latency["samples"], 5);
    assert!(latency["p99"].as_f64().unwrap() >= latency["p50"].as_f64().unwrap());
}

#[test]
fn bench_sandbox_prints_randori_and_bare_docker_quantiles_and_their_ratio() {
    let task = task();
    let v = bench_json(&[
        "sandbox",
        "--samples",
        "2",
        "--image",
        runtime_image(),
        "--task",
        &task,
    ]);
    let p50 = |k: &str| v[k]["p50"].as_f64().unwrap();
    assert!(
        p50("randori_lease_to_result_ms") > 0.0 && p50("docker_run_ms") > 0.0,
        "{v}"
    );
    let ratio = p50("randori_lease_to_result_ms") / p50("docker_run_ms");
    assert!((v["ratio"].as_f64().unwrap() - ratio).abs() < 1e-9, "{v}");
}

#[test]
fn bench_scale_times_status_report_and_tree_on_a_filled_store() {
    let v = bench_json(&[
        "scale",
        "--runs",
        "30",
        "--nodes-per-run",
        "4",
        "--samples",
        "3",
        "--active",
        "5",
        "--task-dir",
        &repo_root().join("tasks/mini/taxi-fare").to_string_lossy(),
    ]);
    assert_eq!(v["nodes"], 120, "{v}");
    for key in [
        "sweep_status_ms",
        "sweep_report_ms",
        "run_tree_ms",
        "dashboard_sweep_page_ms",
        "dashboard_sweep_page_kept_figures_ms",
        "dashboard_run_page_ms",
        "dashboard_compare_page_ms",
    ] {
        assert!(v[key]["p50"].as_f64().unwrap() > 0.0, "{key}: {v}");
    }
    for key in [
        "dashboard_sweep_page_bytes",
        "dashboard_run_page_bytes",
        "dashboard_compare_page_bytes",
        "html_report_bytes",
    ] {
        assert!(v[key].as_u64().unwrap() > 1000, "{key}: {v}");
    }
    let resume = &v["resume"];
    assert_eq!(resume["active_runs"], 5, "{v}");
    let (taken, stepped) = (
        resume["taken_s"].as_f64().unwrap(),
        resume["stepped_s"].as_f64().unwrap(),
    );
    assert!(taken > 0.0 && stepped >= taken, "{v}");
    assert!(
        resume["coordinator_peak_rss_kib"].as_u64().unwrap() > 1000,
        "{v}"
    );
}
