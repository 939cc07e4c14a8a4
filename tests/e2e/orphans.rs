//! Nothing is left behind by a dead worker: after kill -9 mid-job its container runs to the
//! in-container backstop and stops, and another worker on the same Docker daemon removes it
//! and its job directory (its loop filesystem included), though the dead one never returns.

use std::time::Duration;

use crate::harness::*;

fn job_entries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("randori-"))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_worker_removes_what_a_dead_worker_left() {
    let cluster = cluster("orphans", "3s").await;
    let (dead, reaper) = (unique("orphan-dead"), unique("orphan-reaper"));
    let mut dead_worker = worker(
        cluster.addr,
        WorkerOpts {
            name: &dead,
            slots: 1,
            ..Default::default()
        },
    );
    let mut client = control(cluster.addr).await;
    submit(
        &mut client,
        Eval {
            code: "import time\ntime.sleep(600)\n",
            timeout_ms: 2_000,
            ..Default::default()
        },
    )
    .await;
    let label = format!("randori.worker={dead}");
    // A job's container (named randori-<id>; start-up probes are not).
    let job_containers = |status: &str| {
        let out = std::process::Command::new("docker")
            .args(["ps", "-a", "-q", "--filter", &format!("label={label}")])
            .args([
                "--filter",
                &format!("status={status}"),
                "--filter",
                "name=randori-",
            ])
            .output()
            .unwrap();
        !text(&out.stdout).trim().is_empty()
    };
    eventually(
        "the doomed worker runs the job",
        Duration::from_secs(60),
        || async { job_containers("running") },
    )
    .await;
    let jobs_dir = std::env::temp_dir().join("randori-test-jobs").join(&dead);
    assert!(!job_entries(&jobs_dir).is_empty(), "a job directory exists");
    dead_worker.kill9();

    // The backstop stops the program 10 s after its timeout; nobody removes the container.
    eventually("the orphan stops", Duration::from_secs(60), || async {
        job_containers("exited")
    })
    .await;
    let reaper_worker = worker(
        cluster.addr,
        WorkerOpts {
            name: &reaper,
            slots: 1,
            extra_args: &["--reap-after", "2s"],
            ..Default::default()
        },
    );
    eventually("the orphan is removed", Duration::from_secs(30), || async {
        containers_with_label(&label).is_empty()
    })
    .await;
    eventually(
        "its job directory and filesystem are removed",
        Duration::from_secs(10),
        || async { job_entries(&jobs_dir).is_empty() },
    )
    .await;
    assert!(
        reaper_worker
            .log_text()
            .contains("a dead worker left behind"),
        "{}",
        reaper_worker.log_text()
    );
}
