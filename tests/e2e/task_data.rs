//! Task data without shared storage: a worker that does not see a task's directory fetches
//! its public files from the coordinator once, verifies them, caches them by content hash and
//! runs a sweep on them; the coordinator serves no directory a job does not name (so never a
//! task's private answers).

use std::path::Path;
use std::time::{Duration, Instant};

use randori_proto::v1 as pb;
use randori_proto::v1::worker_service_client::WorkerServiceClient;

use crate::harness::*;
use crate::sweeps::{spec, submit_spec, task, wait_completed};

fn cache_entries(cache: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect()
}

/// A worker that always fetches task data (as on a host without the tasks) into `cache`.
fn fetching_worker(addr: std::net::SocketAddr, name: &str, slots: u32, cache: &Path) -> Proc {
    let cache = cache.to_string_lossy();
    worker(
        addr,
        WorkerOpts {
            name,
            slots,
            extra_args: &["--task-data", "fetch", "--task-cache", &cache],
            ..Default::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_without_the_task_fetches_it_once_and_runs_a_sweep_on_it() {
    let cluster = cluster("task-data", "10s").await;
    let cache = tempfile::tempdir().unwrap();
    let w = fetching_worker(cluster.addr, &unique("fetcher"), 2, cache.path());
    let mut client = control(cluster.addr).await;
    let mut sweep = spec("fetched", &["spooky-authors"], &[0], 4);
    sweep.budget.parallelism = 2;
    let id = submit_spec(&mut client, &sweep).await;
    let done = wait_completed(&mut client, &id, Duration::from_secs(300)).await;
    let nodes = done.nodes.unwrap_or_default();
    assert!(nodes.ok >= 1, "{done:?}\n{}", w.log_text());

    // One fetch for every job on the task, concurrent ones included.
    let log = w.log_text();
    assert_eq!(log.matches("fetched a task's data").count(), 1, "{log}");
    // The cache holds the task's public files, byte for byte, under one hash, and nothing else.
    let entries = cache_entries(cache.path());
    assert_eq!(entries.len(), 1, "{entries:?}");
    let public = Path::new(&task("spooky-authors")).join("prepared/public");
    let mut names = Vec::new();
    for f in std::fs::read_dir(&public).unwrap().flatten() {
        let cached = entries[0].join(f.file_name());
        assert_eq!(
            std::fs::read(f.path()).unwrap(),
            std::fs::read(&cached).unwrap()
        );
        names.push(f.file_name());
    }
    let cached_names: Vec<_> = std::fs::read_dir(&entries[0])
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .collect();
    assert_eq!(cached_names.len(), names.len(), "{cached_names:?}");

    // The coordinator serves only directories jobs name: not a task's private answers.
    let mut worker_api = WorkerServiceClient::connect(format!("http://{}", cluster.addr))
        .await
        .unwrap();
    let private = Path::new(&task("spooky-authors")).join("prepared/private");
    let refused = worker_api
        .get_task_data(pb::TaskDataRequest {
            data_dir: private.to_string_lossy().into_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound, "{refused:?}");
    let manifest = worker_api
        .get_task_data(pb::TaskDataRequest {
            data_dir: public.to_string_lossy().into_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    let escape = worker_api
        .fetch_task_file(pb::TaskFileRequest {
            data_dir: public.to_string_lossy().into_owned(),
            hash: manifest.hash,
            path: "../private/answers.csv".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(escape.code(), tonic::Code::NotFound);
}

/// The log line without its ANSI colour sequences (`ESC [ ... m`).
fn without_colours(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// Fetch throughput for a 1 GB task and the start of a second job once the cache is warm.
/// Ignored by default (it writes 1 GB twice); `cargo test --test e2e task_data -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes 1 GB of task data; a measurement, run by hand"]
async fn a_one_gigabyte_task_is_fetched_once_and_the_second_job_starts_from_the_cache() {
    let root = tempfile::tempdir().unwrap();
    let copy = root.path().join("toy-regression");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(toy_task())
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    let blob = copy.join("prepared/public/blob.bin");
    let status = std::process::Command::new("head")
        .args(["-c", "1000000000", "/dev/urandom"])
        .stdout(std::fs::File::create(&blob).unwrap())
        .status()
        .unwrap();
    assert!(status.success());

    let cluster = cluster("task-data-1gb", "30s").await;
    let cache = tempfile::tempdir().unwrap();
    let w = fetching_worker(cluster.addr, &unique("fetch-1gb"), 1, cache.path());
    let mut client = control(cluster.addr).await;
    let mut times = Vec::new();
    for _ in 0..2 {
        let started = Instant::now();
        let job = client
            .submit_eval(pb::SubmitEvalRequest {
                task_dir: copy.to_string_lossy().into_owned(),
                code: "import os\nprint(os.path.getsize('/home/data/blob.bin'))\n".into(),
                requirements: Some(pb::JobRequirements {
                    cpu_millis: 1000,
                    memory_bytes: 512 << 20,
                    timeout_ms: 600_000,
                    disk_bytes: 1 << 30,
                    ..Default::default()
                }),
                max_attempts: 1,
            })
            .await
            .unwrap()
            .into_inner()
            .job_id;
        let r = wait_end(&mut client, &job, Duration::from_secs(900)).await;
        let o = r.outcome.expect("an outcome");
        assert_eq!(
            text(&o.stdout_tail).trim(),
            "1000000000",
            "{}",
            w.log_text()
        );
        times.push(started.elapsed());
    }
    let log = w.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("fetched a task's data"))
        .map(without_colours)
        .expect("the fetch was logged");
    let field = |key: &str| -> f64 {
        let at = line.find(&format!("{key}=")).unwrap() + key.len() + 1;
        let digits: String = line[at..]
            .chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().unwrap()
    };
    let (bytes, millis) = (field("bytes"), field("millis"));
    println!(
        "1 GB task: fetched {:.0} MB in {:.1} s ({:.0} MB/s, verified); first job end to end {:.1} s, second (warm cache) {:.2} s",
        bytes / 1e6,
        millis / 1e3,
        bytes / 1e6 / (millis / 1e3),
        times[0].as_secs_f64(),
        times[1].as_secs_f64()
    );
    assert_eq!(log.matches("fetched a task's data").count(), 1);
}
