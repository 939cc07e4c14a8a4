//! Fault injection on a running sweep (the scenarios of FAULTS.md). Each one ends with the
//! same check, `assert_sweep_sound`: the sweep completed, every run made each of its steps
//! exactly once, every node has exactly one succeeded job, no container of the scenario's
//! workers is left, and the report's counts agree with the store.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use randori_coordinator::private_postgres::PrivatePostgres;
use randori_proto::v1 as pb;
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::harness::*;
use crate::sweeps::{spec, submit_spec, wait_completed};

const RUNS_TASKS: [&str; 2] = ["taxi-fare", "spooky-authors"];
const MAX_NODES: u32 = 4;
const ARGS: [&str; 4] = ["--lease-ttl", "3s", "--run-lease-ttl", "2s"];

async fn submit(addr: SocketAddr, name: &str) -> String {
    let mut client = control(addr).await;
    submit_spec(&mut client, &spec(name, &RUNS_TASKS, &[0], MAX_NODES)).await
}

/// The end state every scenario must reach.
async fn assert_sweep_sound(addr: SocketAddr, db: &sqlx::PgPool, sweep_id: &str, workers: &[&str]) {
    let mut client = control(addr).await;
    wait_completed(&mut client, sweep_id, Duration::from_secs(600)).await;
    let runs: Vec<(String, i64, i64, i32, i32)> = sqlx::query(
        "SELECT r.state, count(n.id) AS nodes, count(DISTINCT n.step) AS steps, \
         coalesce(min(n.step), -1) AS first, coalesce(max(n.step), -1) AS last \
         FROM runs r LEFT JOIN nodes n ON n.run_id = r.id GROUP BY r.id",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("state"),
            r.get("nodes"),
            r.get("steps"),
            r.get("first"),
            r.get("last"),
        )
    })
    .collect();
    let n = i64::from(MAX_NODES);
    assert_eq!(runs.len(), RUNS_TASKS.len());
    for run in &runs {
        assert_eq!(
            *run,
            ("completed".to_owned(), n, n, 0, MAX_NODES as i32 - 1),
            "each run: every step once: {runs:?}"
        );
    }
    let unsound: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM nodes n WHERE n.run_id IS NOT NULL AND \
         (SELECT count(*) FROM jobs j WHERE j.node_id = n.id AND j.state = 'succeeded') <> 1",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(unsound, 0, "a node without exactly one succeeded job");
    for w in workers {
        let label = format!("randori.worker={w}");
        eventually(
            "the workers' containers to go",
            Duration::from_secs(30),
            || async { containers_with_label(&label).is_empty() },
        )
        .await;
    }
    let report = client
        .get_sweep_report(pb::GetSweepReportRequest {
            sweep_id: sweep_id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .report_json;
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let nodes: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes WHERE run_id IS NOT NULL")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(report["totals"]["runs"], RUNS_TASKS.len());
    assert_eq!(report["totals"]["runs_completed"], RUNS_TASKS.len());
    assert_eq!(report["totals"]["nodes"], nodes);
    let per_run: i64 = report["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["nodes"].as_i64().unwrap())
        .sum();
    assert_eq!(per_run, nodes, "the report's runs add up");
}

/// Waits until the named worker holds a lease; returns that job's id.
async fn leased_by(db: &sqlx::PgPool, worker: &str) -> uuid::Uuid {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let job: Option<uuid::Uuid> = sqlx::query_scalar(
            "SELECT j.id FROM jobs j JOIN workers w ON w.id = j.worker_id \
             WHERE w.name = $1 AND j.state = 'leased' LIMIT 1",
        )
        .bind(worker)
        .fetch_optional(db)
        .await
        .unwrap();
        if let Some(job) = job {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{worker} never held a lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_job_loses_nothing() {
    let url = fresh_database("fault_kill_worker").await;
    let (_coordinator, addr) = coordinator_with(&url, "127.0.0.1:0", &ARGS);
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let (victim, survivor) = (unique("kill-a"), unique("kill-b"));
    let mut a = docker_worker(addr, &victim, 1);
    let _b = docker_worker(addr, &survivor, 1);
    let sweep_id = submit(addr, "fault kill worker").await;
    let job = leased_by(&db, &victim).await;
    a.kill9();
    // Its container outlives it; the restarted worker (same name) removes it and hands the
    // dead one's leases back at once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _a = docker_worker(addr, &victim, 1);
    assert_sweep_sound(addr, &db, &sweep_id, &[&victim, &survivor]).await;
    let attempts: i32 = sqlx::query_scalar("SELECT attempt FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(attempts >= 2, "the killed worker's job ran again");
}

/// A TCP proxy the test can cut (every connection dropped, new ones refused), slow down
/// (latency per chunk) and make lossy (a share of connections reset mid-stream).
#[derive(Clone, Default)]
struct Link {
    cut: Arc<AtomicBool>,
    latency_ms: Arc<AtomicU64>,
    /// Out of 1000 chunks, how many reset their connection.
    loss_per_mille: Arc<AtomicU64>,
    generation: Arc<AtomicU64>,
}

impl Link {
    async fn start(upstream: SocketAddr, stop: CancellationToken) -> (SocketAddr, Link) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let link = Link::default();
        let l = link.clone();
        tokio::spawn(async move {
            loop {
                let (down, _) = tokio::select! {
                    a = listener.accept() => match a { Ok(a) => a, Err(_) => continue },
                    _ = stop.cancelled() => return,
                };
                if l.cut.load(Ordering::SeqCst) {
                    continue; // dropped: refused
                }
                let Ok(up) = TcpStream::connect(upstream).await else {
                    continue;
                };
                let l = l.clone();
                tokio::spawn(async move { l.pipe(down, up).await });
            }
        });
        (addr, link)
    }

    async fn pipe(self, down: TcpStream, up: TcpStream) {
        let born = self.generation.load(Ordering::SeqCst);
        let (mut dr, mut dw) = down.into_split();
        let (mut ur, mut uw) = up.into_split();
        let a = self.clone();
        let b = self.clone();
        tokio::select! {
            _ = async move { a.copy(&mut dr, &mut uw, born).await } => {}
            _ = async move { b.copy(&mut ur, &mut dw, born).await } => {}
        }
    }

    async fn copy(
        &self,
        from: &mut tokio::net::tcp::OwnedReadHalf,
        to: &mut tokio::net::tcp::OwnedWriteHalf,
        born: u64,
    ) {
        let mut buf = vec![0u8; 64 << 10];
        let mut chunk = 0u64;
        loop {
            let n =
                match tokio::time::timeout(Duration::from_millis(200), from.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return,
                    Ok(Ok(n)) => n,
                    Err(_) => {
                        if self.generation.load(Ordering::SeqCst) != born {
                            return; // cut while idle
                        }
                        continue;
                    }
                };
            if self.generation.load(Ordering::SeqCst) != born {
                return;
            }
            chunk += 1;
            let loss = self.loss_per_mille.load(Ordering::SeqCst);
            // Deterministic "loss": every (1000 / loss)-th chunk kills its connection.
            if loss > 0 && chunk.is_multiple_of((1000 / loss).max(1)) {
                return;
            }
            let latency = self.latency_ms.load(Ordering::SeqCst);
            if latency > 0 {
                tokio::time::sleep(Duration::from_millis(latency)).await;
            }
            if to.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partitioned_worker_loses_its_lease_and_its_late_report_is_refused() {
    let url = fresh_database("fault_partition").await;
    let (coordinator, addr) = coordinator_with(&url, "127.0.0.1:0", &ARGS);
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let stop = CancellationToken::new();
    let (through, link) = Link::start(addr, stop.clone()).await;
    let (cut_off, other) = (unique("part-a"), unique("part-b"));
    let a = docker_worker(through, &cut_off, 1);
    let sweep_id = submit(addr, "fault partition").await;
    let job = leased_by(&db, &cut_off).await;
    link.cut();
    let _b = docker_worker(addr, &other, 1);
    // The lease expires (3 s TTL), the job is leased again and finished elsewhere.
    eventually(
        "the job to run elsewhere",
        Duration::from_secs(120),
        || async {
            let row = sqlx::query(
                "SELECT j.state, j.epoch, w.name FROM jobs j JOIN workers w ON w.id = j.worker_id \
             WHERE j.id = $1",
            )
            .bind(job)
            .fetch_one(&db)
            .await
            .unwrap();
            row.get::<String, _>("state") == "succeeded" && row.get::<String, _>("name") == other
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    link.heal();
    assert_sweep_sound(addr, &db, &sweep_id, &[&cut_off, &other]).await;
    let epoch: i64 = sqlx::query_scalar("SELECT epoch FROM jobs WHERE id = $1")
        .bind(job)
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(epoch >= 2, "leased again after the partition");
    // The cut-off worker came back and presented its old lease (in a heartbeat, or in its late
    // report): refused by the fence, and the worker dropped the job.
    let job_text = job.to_string();
    eventually(
        "the stale lease refused",
        Duration::from_secs(60),
        || async {
            let log = coordinator.log_text();
            log.lines().any(|l| {
                l.contains(&job_text)
                    && (l.contains("report refused") || l.contains("no longer holds"))
            })
        },
    )
    .await;
    // The worker learned it: its heartbeat was told (and it stopped the run), or the run had
    // ended during the partition and its report was refused.
    let worker_log = a.log_text();
    assert!(
        worker_log.contains("lease lost") || worker_log.contains("report refused"),
        "the worker learned it lost the lease: {worker_log}"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_lossy_network_delays_but_loses_nothing() {
    let url = fresh_database("fault_network").await;
    let (_coordinator, addr) = coordinator_with(&url, "127.0.0.1:0", &["--lease-ttl", "10s"]);
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let stop = CancellationToken::new();
    let (through, link) = Link::start(addr, stop.clone()).await;
    link.latency_ms.store(50, Ordering::SeqCst);
    link.loss_per_mille.store(20, Ordering::SeqCst);
    let name = unique("lossy");
    let _w = docker_worker(through, &name, 2);
    let sweep_id = submit(addr, "fault network").await;
    assert_sweep_sound(addr, &db, &sweep_id, &[&name]).await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_restarted_under_load_is_rejoined_without_help() {
    let home = tempfile::tempdir().unwrap();
    let mut pg = PrivatePostgres::start(home.path()).expect("a private Postgres");
    pg.take_ownership();
    pg.ensure_database("faults").await.unwrap();
    let url = pg.url_for("faults");
    let (_coordinator, addr) = coordinator_with(&url, "127.0.0.1:0", &ARGS);
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let name = unique("pg-restart");
    let _w = docker_worker(addr, &name, 2);
    let sweep_id = submit(addr, "fault postgres").await;
    eventually("some nodes evaluated", Duration::from_secs(300), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes WHERE status <> 'pending'")
            .fetch_one(&db)
            .await
            .unwrap_or(0);
        n >= 2
    })
    .await;
    pg.restart().expect("restarting Postgres");
    // The pool's connections died with the server; sqlx replaces them on next use.
    assert_sweep_sound(addr, &db, &sweep_id, &[&name]).await;
}

/// Unmounts on drop (lazily: a container may still hold the mount for a moment).
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_worker_disk_fails_the_program_that_filled_it_and_the_worker_carries_on() {
    let cluster = cluster("disk_full", "10s").await;
    let name = unique("disk-full");
    // The worker's jobs directory (where programs write) on a 4 MiB tmpfs: the filesystem
    // itself fills, under a watchdog and no reserve (a loop filesystem or a reserve would
    // stop the program before the disk does).
    let jobs = std::env::temp_dir().join("randori-test-jobs").join(&name);
    std::fs::create_dir_all(&jobs).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&jobs)
        .output()
        .unwrap();
    assert!(mounted.status.success(), "mount: {}", text(&mounted.stderr));
    let _mounted = Mounted(jobs.clone());
    let _w = worker(
        cluster.addr,
        WorkerOpts {
            name: &name,
            slots: 1,
            extra_args: &["--disk-quota", "watchdog", "--disk-reserve", "0"],
            ..Default::default()
        },
    );
    let mut client = control(cluster.addr).await;

    // A job whose disk limit the worker's filesystem cannot hold waits for another worker.
    let too_big = crate::harness::submit(
        &mut client,
        Eval {
            code: "print(1)",
            disk_bytes: 1 << 30,
            ..Default::default()
        },
    )
    .await;
    let filler = "import os\nwith open('/home/work/fill', 'wb') as f:\n    for _ in range(64):\n        f.write(os.urandom(1 << 20))\n";
    let id = crate::harness::submit(
        &mut client,
        Eval {
            code: filler,
            disk_bytes: 3 << 20,
            ..Default::default()
        },
    )
    .await;
    let r = wait_end(&mut client, &id, Duration::from_secs(120)).await;
    assert_eq!(r.state(), pb::JobState::Succeeded, "{r:?}");
    let o = r.outcome.unwrap();
    assert_ne!(o.exit_code, Some(0));
    let stderr = text(&o.stderr_tail);
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(o.disk_limit_exceeded, "it wrote past its 3 MiB");

    // Its directory went with it: the next program has the whole disk again.
    let sound = std::fs::read_to_string(fixture("programs/sound.py")).unwrap();
    let id = crate::harness::submit(
        &mut client,
        Eval {
            code: &sound,
            disk_bytes: 3 << 20,
            ..Default::default()
        },
    )
    .await;
    let o = wait_end(&mut client, &id, Duration::from_secs(120))
        .await
        .outcome
        .unwrap();
    assert_eq!(o.exit_code, Some(0), "{}", text(&o.stderr_tail));
    assert!(o.submission.is_some());
    let waiting = wait_end(&mut client, &too_big, Duration::from_secs(1)).await;
    assert_eq!(waiting.state(), pb::JobState::Queued, "never leased here");
    eventually("no job directory is left", Duration::from_secs(10), || {
        let empty = std::fs::read_dir(&jobs).unwrap().next().is_none();
        async move { empty }
    })
    .await;
}
