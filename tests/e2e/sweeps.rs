//! Sweeps on a cluster (a coordinator process, Docker workers): the CLI from submit to report,
//! pause and resume, cancel, and fair sharing between sweeps of equal priority.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use randori_coordinator::sweep_spec::{Budget, NodeResources, SweepSpec};
use randori_proto::v1 as pb;
use randori_proto::v1::control_service_client::ControlServiceClient;
use sqlx::Row;
use tonic::transport::Channel;

use crate::harness::*;

pub fn task(name: &str) -> String {
    repo_root()
        .join("tasks/mini")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A sweep of the builtin generator over `tasks` × greedy × `seeds`, parallelism 1.
pub fn spec(name: &str, tasks: &[&str], seeds: &[u64], max_nodes: u32) -> SweepSpec {
    SweepSpec {
        name: name.to_owned(),
        tasks: tasks.iter().map(|t| task(t)).collect(),
        policies: vec!["greedy".into()],
        operator_sets: Vec::new(),
        seeds: seeds.to_vec(),
        priority: 0,
        budget: Budget {
            max_nodes,
            max_wall_ms: 900_000,
            node_timeout_ms: 120_000,
            parallelism: 1,
        },
        resources: NodeResources::default(),
        image: None,
        operator: serde_json::json!({}),
        policy: serde_json::json!({"greedy": {"num_drafts": 1}}),
    }
}

pub async fn submit_spec(client: &mut ControlServiceClient<Channel>, spec: &SweepSpec) -> String {
    client
        .submit_sweep(pb::SubmitSweepRequest {
            spec_json: serde_json::to_string(spec).unwrap(),
        })
        .await
        .expect("submit_sweep")
        .into_inner()
        .sweep_id
}

pub async fn status(client: &mut ControlServiceClient<Channel>, id: &str) -> pb::SweepStatus {
    sweep_status(client, id, true).await
}

/// The status with its list of runs.
pub async fn status_with_runs(
    client: &mut ControlServiceClient<Channel>,
    id: &str,
) -> pb::SweepStatus {
    sweep_status(client, id, false).await
}

async fn sweep_status(
    client: &mut ControlServiceClient<Channel>,
    id: &str,
    summary_only: bool,
) -> pb::SweepStatus {
    client
        .get_sweep_status(pb::GetSweepStatusRequest {
            sweep_id: id.to_owned(),
            summary_only,
        })
        .await
        .expect("get_sweep_status")
        .into_inner()
}

/// Polls until `done` holds for the sweep's status; returns that status.
pub async fn wait_status(
    client: &mut ControlServiceClient<Channel>,
    id: &str,
    what: &str,
    within: Duration,
    done: impl Fn(&pb::SweepStatus) -> bool,
) -> pb::SweepStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let s = status(client, id).await;
        if done(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sweep {id}: {what} did not happen: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Polls until the sweep has completed; returns its status.
pub async fn wait_completed(
    client: &mut ControlServiceClient<Channel>,
    id: &str,
    within: Duration,
) -> pb::SweepStatus {
    wait_status(client, id, "completion", within, |s| s.state == "completed").await
}

fn evaluated(s: &pb::SweepStatus) -> u32 {
    let n = s.nodes.unwrap_or_default();
    n.ok + n.buggy
}

pub fn cli(addr: std::net::SocketAddr, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RANDORI_COORDINATOR", format!("http://{addr}"))
        .output()
        .expect("running randori")
}

pub fn stdout_ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn write_sweep_file(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, body).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_file_runs_through_the_cli_from_submit_to_report() {
    let cluster = cluster("sweep_cli", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("sweep-cli"), 2);
    let dir = tempfile::tempdir().unwrap();
    let file = write_sweep_file(
        dir.path(),
        "cli",
        &format!(
            r#"
name = "{}"
tasks = ["{}", "{}"]
policies = ["greedy", "mcts"]
seeds = [0]
[budget]
max_nodes = 3
node_timeout = "2m"
[policy.greedy]
num_drafts = 2
[policy.mcts]
num_children = 2
"#,
            unique("cli"),
            task("taxi-fare"),
            task("spooky-authors")
        ),
    );
    let file = file.to_str().unwrap();
    let id = stdout_ok(cli(cluster.addr, &["sweep", "submit", file]), "submit")
        .trim()
        .to_owned();
    // The same file again is the same sweep.
    let again = stdout_ok(cli(cluster.addr, &["sweep", "submit", file]), "resubmit");
    assert_eq!(again.trim(), id);

    stdout_ok(cli(cluster.addr, &["sweep", "watch", &id]), "watch");
    let status: serde_json::Value = serde_json::from_str(&stdout_ok(
        cli(cluster.addr, &["sweep", "status", &id, "--json"]),
        "status",
    ))
    .unwrap();
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["runs"]["total"], 4);
    assert_eq!(status["runs"]["completed"], 4);
    assert_eq!(status["nodes"]["total"], 12);
    assert_eq!(status["nodes"]["pending"], 0);
    assert_eq!(status["jobs"]["succeeded"], 12);

    let report: serde_json::Value = serde_json::from_str(&stdout_ok(
        cli(cluster.addr, &["sweep", "report", &id, "--format", "json"]),
        "report",
    ))
    .unwrap();
    let rows = report["rows"].as_array().unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!((rows.len(), runs.len()), (4, 4), "{report}");
    for run in runs {
        assert_eq!(run["state"], "completed");
        assert_eq!(run["nodes"], 3);
    }
    // Each row aggregates its one run: any-medal is 100 exactly when that run has a medal.
    for row in rows {
        let run = runs
            .iter()
            .find(|r| r["task"] == row["task"] && r["policy"] == row["policy"])
            .unwrap();
        let medal = run["medal"].as_str().unwrap() != "none";
        assert_eq!(
            row["any_medal_pct"].as_f64().unwrap(),
            if medal { 100.0 } else { 0.0 }
        );
    }
    let csv = stdout_ok(
        cli(cluster.addr, &["sweep", "report", &id, "--format", "csv"]),
        "csv report",
    );
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let table = stdout_ok(cli(cluster.addr, &["sweep", "report", &id]), "table report");
    assert!(
        table.contains("taxi-fare") && table.contains("mcts"),
        "{table}"
    );

    let run_id = runs[0]["id"].as_str().unwrap();
    let dot = stdout_ok(
        cli(cluster.addr, &["tree", run_id, "--format", "dot"]),
        "tree",
    );
    assert!(dot.starts_with("digraph"), "{dot}");
    let tree: serde_json::Value = serde_json::from_str(&stdout_ok(
        cli(cluster.addr, &["tree", run_id, "--format", "json"]),
        "tree json",
    ))
    .unwrap();
    let node_id = tree["nodes"][0]["id"].as_str().unwrap();
    let shown = stdout_ok(cli(cluster.addr, &["node", "show", node_id]), "node show");
    assert!(
        shown.contains("draft") && shown.contains("import"),
        "{shown}"
    );
    let listed = stdout_ok(cli(cluster.addr, &["sweep", "list"]), "list");
    assert!(listed.contains(&id), "{listed}");

    // Every node for notebooks, read back with Python's csv module: one row per node, each
    // run's steps 0..3, the scores as numbers, each evaluation's worker and timings.
    let export_nodes = |file: &Path| {
        let written = stdout_ok(
            cli(
                cluster.addr,
                &["sweep", "export", &id, "--nodes", file.to_str().unwrap()],
            ),
            "export --nodes",
        );
        assert!(written.starts_with("12 nodes written"), "{written}");
    };
    let nodes_csv = dir.path().join("nodes.csv");
    export_nodes(&nodes_csv);
    let read_back = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
runs = {}
for r in rows:
    runs.setdefault(r["run_id"], []).append(int(r["step"]))
    if r["status"] == "ok":
        float(r["val_score"])
    assert r["worker"] and r["queued_at"] and r["finished_at"], r
    assert (r["status"] == "buggy") == bool(r["buggy_reason"]), r
    assert (r["operator"] == "draft") == (r["parent_ids"] == ""), r
print(json.dumps({"rows": len(rows), "columns": list(rows[0].keys()),
                  "steps": sorted(sorted(s) for s in runs.values()),
                  "ok": {k: sum(r["status"] == "ok" for r in rows if r["run_id"] == k) for k in runs}}))
"#,
        )
        .arg(&nodes_csv)
        .output()
        .unwrap();
    let read_back: serde_json::Value =
        serde_json::from_str(&stdout_ok(read_back, "python's csv reader")).unwrap();
    assert_eq!(read_back["rows"], 12, "{read_back}");
    assert_eq!(
        read_back["steps"],
        serde_json::json!([[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2]])
    );
    assert_eq!(read_back["columns"][0], "sweep_id");
    for run in runs {
        assert_eq!(
            read_back["ok"][run["id"].as_str().unwrap()],
            run["nodes_ok"]
        );
    }

    // The same nodes as Parquet, typed: read back by pyarrow (as pandas would) and by the
    // parquet crate's own reader.
    let nodes_parquet = dir.path().join("nodes.parquet");
    export_nodes(&nodes_parquet);
    let by_reader = parquet_rows(&nodes_parquet);
    assert_eq!(by_reader.len(), 12);
    let csv_rows: Vec<csv::StringRecord> = csv::Reader::from_path(&nodes_csv)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .collect();
    let node_ids = |column: usize, rows: Vec<String>| {
        let mut ids = rows;
        ids.sort();
        assert_eq!(ids.len(), 12, "column {column}");
        ids
    };
    assert_eq!(
        node_ids(7, by_reader.iter().map(|r| r["node_id"].clone()).collect()),
        node_ids(7, csv_rows.iter().map(|r| r[7].to_owned()).collect()),
        "the same nodes in both files"
    );
    match pyarrow_read(&nodes_parquet) {
        Some(types) => {
            assert_eq!(types["rows"], 12, "{types}");
            assert_eq!(types["val_score"], "double", "{types}");
            assert_eq!(types["seed"], "int64", "{types}");
            assert_eq!(types["queued_at"], "timestamp[us, tz=UTC]", "{types}");
            assert_eq!(types["lower_is_better"], "bool", "{types}");
            assert_eq!(types["columns"], read_back["columns"], "the CSV's columns");
        }
        None => eprintln!("pyarrow is not installed: the Parquet file was read by Rust only"),
    }

    // The figures as SVG and PNG files, and the self-contained HTML report that inlines them.
    let plots = dir.path().join("plots");
    let listed = stdout_ok(
        cli(
            cluster.addr,
            &["sweep", "plot", &id, "--out", plots.to_str().unwrap()],
        ),
        "plot",
    );
    let mut names: Vec<String> = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in [
        "medal-rate-nodes",
        "medal-rate-time",
        "oracle-gap",
        "taxi-fare-best-val",
        "taxi-fare-selected-test",
        "taxi-fare-medal",
        "taxi-fare-best-val-time",
        "taxi-fare-selected-test-time",
        "taxi-fare-medal-time",
        "spooky-authors-best-val",
        "spooky-authors-medal-time",
    ] {
        for ext in ["svg", "png"] {
            assert!(
                names.contains(&format!("{name}.{ext}")),
                "{name}.{ext} not in {names:?}\n{listed}"
            );
        }
    }
    let svgs: Vec<&String> = names.iter().filter(|n| n.ends_with(".svg")).collect();
    for name in &svgs {
        let svg = std::fs::read_to_string(plots.join(name)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{name}"
        );
        // Each PNG is its SVG (720 × 420) at twice the size.
        let png = std::fs::read(plots.join(name.replace(".svg", ".png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        assert_eq!((dimension(16), dimension(20)), (1440, 840), "{name}");
    }
    assert_eq!(svgs.len() * 2, names.len(), "a PNG per SVG: {names:?}");
    let html = stdout_ok(
        cli(cluster.addr, &["sweep", "report", &id, "--format", "html"]),
        "html report",
    );
    assert!(html.starts_with("<!doctype html>"), "{html}");
    assert_eq!(
        html.matches("<svg").count(),
        svgs.len(),
        "one inline SVG per figure"
    );
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "self-contained, no script"
    );
    println!(
        "sweep report --format html: {} bytes, {} figures",
        html.len(),
        svgs.len()
    );
}

/// Every row of a Parquet file, each field as text, read by the parquet crate.
fn parquet_rows(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(std::fs::File::open(path).unwrap()).unwrap();
    reader
        .get_row_iter(None)
        .unwrap()
        .map(|row| {
            row.unwrap()
                .get_column_iter()
                .map(|(name, field)| (name.clone(), field.to_string().trim_matches('"').to_owned()))
                .collect()
        })
        .collect()
}

/// The Parquet file as pyarrow reads it: its rows, columns and some column types; `None`
/// when pyarrow is not installed, unless `RANDORI_REQUIRE_PYARROW` is set (CI sets it).
fn pyarrow_read(path: &std::path::Path) -> Option<serde_json::Value> {
    let out = Command::new("python3")
        .arg("-c")
        .arg(
            r#"
import json, sys
try:
    import pyarrow.parquet as pq
except ImportError:
    sys.exit(3)
t = pq.read_table(sys.argv[1])
types = {f.name: str(f.type) for f in t.schema}
print(json.dumps({"rows": t.num_rows, "columns": t.column_names, **types}))
"#,
        )
        .arg(path)
        .output()
        .unwrap();
    if out.status.code() == Some(3) {
        assert!(
            std::env::var_os("RANDORI_REQUIRE_PYARROW").is_none(),
            "RANDORI_REQUIRE_PYARROW is set but pyarrow is not installed"
        );
        return None;
    }
    Some(serde_json::from_str(&stdout_ok(out, "pyarrow's reader")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_sweep_grows_no_further_until_resumed() {
    let cluster = cluster("sweep_pause", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("sweep-pause"), 2);
    let mut client = control(cluster.addr).await;
    let id = submit_spec(
        &mut client,
        &spec(&unique("pause"), &["taxi-fare"], &[0, 1], 4),
    )
    .await;
    wait_status(
        &mut client,
        &id,
        "a first evaluation",
        Duration::from_secs(120),
        |s| evaluated(s) >= 1,
    )
    .await;

    let paused = client
        .pause_sweep(pb::SweepRequest {
            sweep_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paused.state, "paused");
    assert_eq!(paused.runs.unwrap().paused, 2, "{paused:?}");
    // What was running finishes; then nothing moves.
    let settled = wait_status(
        &mut client,
        &id,
        "running jobs to finish",
        Duration::from_secs(120),
        |s| s.jobs.unwrap_or_default().leased == 0,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let later = status(&mut client, &id).await;
    assert_eq!(later.nodes, settled.nodes, "a paused sweep grew");
    assert_eq!(later.jobs, settled.jobs, "a paused sweep's job moved");
    assert!(later.nodes.unwrap().total < 8);

    let resumed = client
        .resume_sweep(pb::SweepRequest {
            sweep_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resumed.state, "running");
    let done = wait_status(
        &mut client,
        &id,
        "completion",
        Duration::from_secs(300),
        |s| s.state == "completed",
    )
    .await;
    assert_eq!(done.runs.unwrap().completed, 2);
    assert_eq!(done.nodes.unwrap().total, 8);
    assert_eq!(done.nodes.unwrap().pending, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sweep_ends_its_runs_jobs_and_containers() {
    let cluster = cluster("sweep_cancel", "10s").await;
    let worker_name = unique("sweep-cancel");
    let _w = docker_worker(cluster.addr, &worker_name, 2);
    let mut client = control(cluster.addr).await;
    let id = submit_spec(
        &mut client,
        &spec(&unique("cancel"), &["taxi-fare"], &[0, 1, 2], 30),
    )
    .await;
    wait_status(
        &mut client,
        &id,
        "a job running",
        Duration::from_secs(120),
        |s| s.jobs.unwrap_or_default().leased >= 1,
    )
    .await;
    let cancelled = client
        .cancel_sweep(pb::SweepRequest {
            sweep_id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(cancelled.state, "cancelled");
    let runs = cancelled.runs.unwrap();
    assert_eq!((runs.cancelled, runs.running, runs.pending), (3, 0, 0));
    let jobs = cancelled.jobs.unwrap();
    assert_eq!((jobs.queued, jobs.leased), (0, 0), "{jobs:?}");
    // The worker learns at its next heartbeat and stops the containers.
    eventually(
        "the sweep's containers to go",
        Duration::from_secs(30),
        || async { containers_with_label(&format!("randori.worker={worker_name}")).is_empty() },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = status(&mut client, &id).await;
    assert_eq!(later.nodes, cancelled.nodes, "a cancelled sweep grew");
    // Cancelling twice is fine; pausing a cancelled sweep is refused.
    client
        .cancel_sweep(pb::SweepRequest {
            sweep_id: id.clone(),
        })
        .await
        .unwrap();
    let refused = client
        .pause_sweep(pb::SweepRequest {
            sweep_id: id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeps_of_equal_priority_share_the_workers() {
    let cluster = cluster("sweep_fair", "10s").await;
    // One slot: every lease is a scheduling decision.
    let _w = docker_worker(cluster.addr, &unique("sweep-fair"), 1);
    let mut client = control(cluster.addr).await;
    let big = submit_spec(
        &mut client,
        &spec(&unique("big"), &["taxi-fare"], &[0, 1, 2, 3, 4, 5, 6, 7], 2),
    )
    .await;
    wait_status(
        &mut client,
        &big,
        "the big sweep running",
        Duration::from_secs(120),
        |s| s.jobs.unwrap_or_default().leased >= 1,
    )
    .await;
    let small = submit_spec(
        &mut client,
        &spec(&unique("small"), &["taxi-fare"], &[100, 101], 2),
    )
    .await;
    wait_status(
        &mut client,
        &small,
        "the small sweep to complete",
        Duration::from_secs(300),
        |s| s.state == "completed",
    )
    .await;
    // The order in which jobs were first leased after the small sweep arrived.
    let rows = sqlx::query(
        "SELECT j.sweep_id::text AS sweep FROM jobs j
         WHERE j.leased_at > (SELECT created_at FROM sweeps WHERE id = $1::uuid)
         ORDER BY j.leased_at",
    )
    .bind(&small)
    .fetch_all(&cluster.db)
    .await
    .unwrap();
    let order: Vec<String> = rows.iter().map(|r| r.get("sweep")).collect();
    let last_small = order.iter().rposition(|s| *s == small).unwrap();
    let big_before = order[..last_small].iter().filter(|s| **s == big).count();
    // Fair share alternates; first come, first served would run the big sweep's 7 queued
    // jobs (and more) before the small one's first.
    assert!(
        big_before <= 4,
        "the small sweep waited behind {big_before} of the big one's jobs: {order:?}"
    );
    assert_eq!(order.iter().filter(|s| **s == small).count(), 4);
}
