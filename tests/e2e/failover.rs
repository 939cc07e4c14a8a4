//! Two coordinator replicas on one database: each running run is driven by exactly one of
//! them at a time (a lease on the run; a live one is never taken), and when the replica
//! driving dies (kill -9) the other takes its runs over within seconds; the sweep completes
//! with every step made once.

use std::time::{Duration, Instant};

use sqlx::Row;

use crate::harness::*;
use crate::sweeps::{spec, submit_spec, wait_completed};

/// The pid in a driver name (`{host}-{pid}-{uuid}`, see `coordinator/src/server.rs`).
fn driver_pid(driver: &str) -> u32 {
    let mut parts = driver.rsplitn(3, '-');
    let _uuid = parts.next();
    parts
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("driver name {driver:?}"))
}

/// Running runs by the pid of the replica driving them (live leases only).
async fn drivers(db: &sqlx::PgPool) -> Vec<(uuid::Uuid, Option<u32>)> {
    sqlx::query(
        "SELECT id, CASE WHEN driver_expires_at > now() THEN driver END AS driver \
         FROM runs WHERE state = 'running' ORDER BY id",
    )
    .fetch_all(db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        let driver: Option<String> = r.get("driver");
        (r.get("id"), driver.as_deref().map(driver_pid))
    })
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_replica_that_drives_hands_its_runs_to_the_other() {
    let url = fresh_database("failover").await;
    let args = ["--lease-ttl", "5s", "--run-lease-ttl", "2s"];
    let (mut a, addr_a) = coordinator_with(&url, "127.0.0.1:0", &args);
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let mut client = control(addr_a).await;
    let sweep_id = submit_spec(
        &mut client,
        &spec("failover", &["taxi-fare", "spooky-authors"], &[0, 1], 5),
    )
    .await;
    let pid_a = a.pid();
    eventually(
        "replica A drives every run",
        Duration::from_secs(60),
        || async {
            let d = drivers(&db).await;
            d.len() == 4 && d.iter().all(|(_, pid)| *pid == Some(pid_a))
        },
    )
    .await;

    // The second replica joins; the worker talks to it (in a deployment both sit behind one
    // address). It does not take runs whose driver is alive.
    let (b, addr_b) = coordinator_with(&url, "127.0.0.1:0", &args);
    let pid_b = b.pid();
    let _worker = docker_worker(addr_b, &unique("failover"), 2);
    eventually("the runs grow", Duration::from_secs(300), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes WHERE status <> 'pending'")
            .fetch_one(&db)
            .await
            .unwrap();
        n >= 4
    })
    .await;
    let before = drivers(&db).await;
    assert!(
        before.iter().all(|(_, pid)| *pid == Some(pid_a)),
        "B took runs from a live A: {before:?}"
    );
    a.kill9();
    let killed = Instant::now();

    eventually(
        "the survivor drives every running run",
        Duration::from_secs(30),
        || async {
            drivers(&db)
                .await
                .iter()
                .all(|(_, pid)| *pid == Some(pid_b))
        },
    )
    .await;
    let handed_over = killed.elapsed();
    eprintln!("runs handed over {handed_over:?} after the kill");
    assert!(
        handed_over < Duration::from_secs(15),
        "handover took {handed_over:?}"
    );

    let mut client = control(addr_b).await;
    wait_completed(&mut client, &sweep_id, Duration::from_secs(600)).await;
    // Nothing lost, nothing done twice: each run has steps 0..5 once, and each node one
    // succeeded job.
    let per_run: Vec<(i64, i64, i32, i32)> = sqlx::query(
        "SELECT count(*) AS nodes, count(DISTINCT step) AS steps, min(step) AS first, \
         max(step) AS last FROM nodes WHERE run_id IS NOT NULL GROUP BY run_id",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| {
        (
            r.get("nodes"),
            r.get("steps"),
            r.get("first"),
            r.get("last"),
        )
    })
    .collect();
    assert_eq!(per_run.len(), 4);
    for run in &per_run {
        assert_eq!(*run, (5, 5, 0, 4), "a run's steps: {per_run:?}");
    }
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT node_id FROM jobs WHERE state = 'succeeded' \
         GROUP BY node_id HAVING count(*) > 1) d",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(doubled, 0, "a node evaluated twice");
    let unfinished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM runs WHERE state <> 'completed'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(unfinished, 0);
}
