//! A node's disk limit: a program that writes without end is stopped at its limit (job
//! directory or /tmp, whichever it fills), its node is buggy with the reason in its outcome,
//! and the worker carries on with the next node. Both mechanisms: the loop filesystem (this
//! suite runs as root) and the watchdog.

use std::time::Duration;

use randori_proto::v1 as pb;

use crate::harness::*;

/// Writes 4 MiB at a time into `DIR` without end, printing the running total; catches
/// ENOSPC and keeps trying, as a careless program would.
fn writer(dir: &str) -> String {
    format!(
        r#"
import os, sys, time
chunk = b"x" * (4 << 20)
total = 0
i = 0
while True:
    try:
        with open(os.path.join("{dir}", "f%d" % i), "wb") as f:
            f.write(chunk)
        total += len(chunk)
        i += 1
        print("wrote", total >> 20, "MiB", flush=True)
    except OSError as e:
        print("refused:", e, flush=True)
        time.sleep(0.05)
"#
    )
}

const LIMIT: u64 = 64 << 20;

async fn contained(mechanism: &str, quota: &str) {
    let cluster = cluster(&format!("disk-{quota}"), "10s").await;
    let name = unique(&format!("disk-{quota}"));
    let worker = worker(
        cluster.addr,
        WorkerOpts {
            name: &name,
            slots: 1,
            extra_args: &["--disk-quota", quota],
            ..Default::default()
        },
    );
    let mut client = control(cluster.addr).await;
    for dir in ["/home/work", "/tmp"] {
        let code = writer(dir);
        let id = submit(
            &mut client,
            Eval {
                code: &code,
                timeout_ms: 120_000,
                disk_bytes: LIMIT,
                ..Default::default()
            },
        )
        .await;
        let r = wait_end(&mut client, &id, Duration::from_secs(150)).await;
        assert_eq!(
            r.state(),
            pb::JobState::Succeeded,
            "{r:?}\n{}",
            worker.log_text()
        );
        let o = r.outcome.unwrap();
        let out = text(&o.stdout_tail);
        let written_mib: u64 = out
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("wrote ")?.split(' ').next()?.parse().ok())
            .unwrap_or(0);
        println!(
            "{mechanism}, writing into {dir}: stopped after {written_mib} MiB of a {} MiB limit, {} ms",
            LIMIT >> 20,
            o.duration_ms
        );
        assert!(o.disk_limit_exceeded, "{dir}: {o:?}");
        assert!(!o.timed_out, "{dir}: stopped by the timeout, not the limit");
        assert_ne!(o.exit_code, Some(0));
        assert!(
            text(&o.stderr_tail).contains("disk limit exceeded"),
            "{}",
            text(&o.stderr_tail)
        );
        // Stopped at the limit. A loop filesystem refuses writes past it, so what got through
        // is bounded in bytes; the watchdog stops the program within about a second of
        // crossing it, so what got through is bounded in time (its bytes are the disk's speed).
        assert!(
            written_mib >= (LIMIT >> 20) - 8,
            "{dir}: wrote {written_mib} MiB"
        );
        if quota == "loop" {
            assert!(
                written_mib <= (LIMIT >> 20) + 16,
                "{dir}: wrote {written_mib} MiB"
            );
        }
        assert!(
            o.duration_ms < 10_000,
            "{dir}: stopped after {} ms",
            o.duration_ms
        );
        let node: uuid::Uuid = sqlx::query_scalar("SELECT node_id FROM jobs WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&cluster.db)
            .await
            .unwrap();
        let status: String = sqlx::query_scalar("SELECT status FROM nodes WHERE id = $1")
            .bind(node)
            .fetch_one(&cluster.db)
            .await
            .unwrap();
        assert_eq!(status, "buggy");
    }
    assert!(
        worker.log_text().contains(mechanism),
        "the worker names its mechanism:\n{}",
        worker.log_text()
    );
    // The worker carries on: the next node runs, and no job directory is left behind.
    assert_a_sound_program_runs(&mut client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_filling_its_disk_is_stopped_by_its_loop_filesystem() {
    contained("loop filesystem", "loop").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_filling_its_disk_is_stopped_by_the_watchdog() {
    contained("watchdog", "watchdog").await;
}
