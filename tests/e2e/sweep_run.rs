//! `randori run SWEEP.toml`, the all-in-one command, interrupted (Ctrl-C; kill -9 of its whole
//! process group) and run again: the same sweep finishes, with no node lost or duplicated.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use randori_coordinator::private_postgres::{DATABASE, PrivatePostgres};
use sqlx::Row;

use crate::harness::*;
use crate::sweeps::write_sweep_file;

const MAX_NODES: i64 = 3;

fn sweep_body(name: &str) -> String {
    let task = |t: &str| repo_root().join("tasks/mini").join(t);
    format!(
        r#"
name = "{name}"
tasks = ["{}", "{}"]
policies = ["greedy"]
seeds = [0, 1]
[budget]
max_nodes = {MAX_NODES}
node_timeout = "2m"
[policy.greedy]
num_drafts = 2
"#,
        task("taxi-fare").display(),
        task("spooky-authors").display()
    )
}

/// `randori run FILE --json` in a process group of its own, with its private home.
fn start_run(file: &Path, home: &Path, extra: &[&str], log: &str) -> Proc {
    let log = std::env::temp_dir()
        .join("randori-test-logs")
        .join(format!("{log}-{}.log", std::process::id()));
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    let err = std::fs::File::create(&log).unwrap();
    let child = Command::new(BIN)
        .arg("run")
        .arg(file)
        .args(["--json", "--image", runtime_image()])
        .args(extra)
        .env("RANDORI_HOME", home)
        .env_remove("RANDORI_COORDINATOR")
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .process_group(0)
        .spawn()
        .expect("starting randori run");
    Proc { child, log }
}

/// Runs to the end; returns the report printed on stdout.
fn finish_run(mut p: Proc) -> serde_json::Value {
    let status = p
        .wait_exit(Duration::from_secs(600))
        .expect("randori run did not finish");
    let mut out = String::new();
    std::io::Read::read_to_string(p.child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert!(status.success(), "randori run failed: {}", p.log_text());
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("report {out:?}: {e}"))
}

async fn evaluated_nodes(db: &sqlx::PgPool) -> sqlx::Result<i64> {
    sqlx::query("SELECT count(*) AS n FROM nodes WHERE status <> 'pending'")
        .fetch_one(db)
        .await
        .map(|r| r.get("n"))
}

/// Waits until `n` nodes are evaluated in the database `db_url()` names (asked again each
/// time: a private server's port is known only once it runs).
async fn wait_for_evaluations<F, Fut>(db_url: F, n: i64)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<String>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        // The server, the database and its tables may not exist yet while the stack starts.
        let last = match db_url().await {
            None => "no server yet".to_owned(),
            Some(url) => match sqlx::PgPool::connect(&url).await {
                Ok(db) => {
                    let seen = evaluated_nodes(&db).await;
                    db.close().await;
                    match seen {
                        Ok(seen) if seen >= n => return,
                        Ok(seen) => format!("{seen} evaluated"),
                        Err(e) => format!("{url}: {e}"),
                    }
                }
                Err(e) => format!("{url}: {e}"),
            },
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "no progress: {last}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The whole sweep, once: one sweep, every run completed with its budget of nodes, steps
/// 0..n-1 without gaps, and one job per node, succeeded.
async fn assert_finished_once(db: &sqlx::PgPool, report: &serde_json::Value) {
    let sweeps: i64 = sqlx::query("SELECT count(*) AS n FROM sweeps")
        .fetch_one(db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(sweeps, 1, "running the file again made another sweep");
    let runs = sqlx::query(
        "SELECT r.state, count(n.id) AS nodes, coalesce(max(n.step), -1) AS last_step,
                count(DISTINCT n.step) AS steps
         FROM runs r LEFT JOIN nodes n ON n.run_id = r.id GROUP BY r.id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(runs.len(), 4);
    for r in &runs {
        assert_eq!(r.get::<String, _>("state"), "completed");
        assert_eq!(r.get::<i64, _>("nodes"), MAX_NODES);
        assert_eq!(r.get::<i64, _>("steps"), MAX_NODES);
        assert_eq!(i64::from(r.get::<i32, _>("last_step")), MAX_NODES - 1);
    }
    let jobs = sqlx::query(
        "SELECT count(*) AS jobs, count(*) FILTER (WHERE j.state = 'succeeded') AS ok,
                count(DISTINCT j.node_id) AS nodes
         FROM jobs j JOIN nodes n ON n.id = j.node_id WHERE n.run_id IS NOT NULL",
    )
    .fetch_one(db)
    .await
    .unwrap();
    let total = 4 * MAX_NODES;
    assert_eq!(
        (
            jobs.get::<i64, _>("jobs"),
            jobs.get::<i64, _>("ok"),
            jobs.get::<i64, _>("nodes")
        ),
        (total, total, total)
    );
    assert_eq!(report["runs"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(report["sweep"]["state"], "completed");
}

fn private_home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    // The private Postgres runs as an unprivileged user, who must reach RANDORI_HOME.
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_then_running_again_finishes_the_same_sweep() {
    let db_url = fresh_database("sweep_run_sigint").await;
    let home = private_home();
    let file = write_sweep_file(home.path(), "interrupted", &sweep_body(&unique("sigint")));
    let run = start_run(
        &file,
        home.path(),
        &["--database-url", &db_url],
        "run-sigint",
    );
    wait_for_evaluations(|| async { Some(db_url.clone()) }, 2).await;
    run.signal(nix::sys::signal::Signal::SIGINT);
    let mut run = run;
    let status = run
        .wait_exit(Duration::from_secs(60))
        .expect("randori run did not stop on Ctrl-C");
    assert_eq!(status.code(), Some(130), "{}", run.log_text());
    assert!(
        run.log_text().contains("run `randori run"),
        "{}",
        run.log_text()
    );
    let db = sqlx::PgPool::connect(&db_url).await.unwrap();
    let leased: i64 = sqlx::query("SELECT count(*) AS n FROM jobs WHERE state = 'leased'")
        .fetch_one(&db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(leased, 0, "the stopped workers handed their jobs back");

    let again = start_run(
        &file,
        home.path(),
        &["--database-url", &db_url],
        "run-sigint-2",
    );
    let report = finish_run(again);
    assert_finished_once(&db, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_the_process_group_then_running_again_finishes_the_same_sweep() {
    let home = private_home();
    let file = write_sweep_file(home.path(), "killed", &sweep_body(&unique("kill9")));
    let run = start_run(&file, home.path(), &[], "run-kill9");
    // Watch progress through the private server once it runs, as an observer:
    // `PrivatePostgres::start` here could start a server of its own while the stack's is
    // still starting.
    let attached = || {
        let home = home.path().to_owned();
        async move {
            tokio::task::spawn_blocking(move || PrivatePostgres::running(&home))
                .await
                .unwrap()
                .ok()
                .flatten()
                .map(|pg| pg.url_for(DATABASE))
        }
    };
    wait_for_evaluations(attached, 2).await;
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(run.pid() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    drop(run);

    let report = finish_run(start_run(&file, home.path(), &[], "run-kill9-2"));
    // The second run stopped its server on the way out; start it again to look inside.
    let home_path = home.path().to_owned();
    let pg = tokio::task::spawn_blocking(move || PrivatePostgres::start(&home_path))
        .await
        .unwrap()
        .expect("restarting the private Postgres");
    let db = sqlx::PgPool::connect(&pg.url_for(DATABASE)).await.unwrap();
    assert_finished_once(&db, &report).await;
    db.close().await;
}

/// A sweep whose run fails ends `randori run` with status 1, the run and its error on stderr
/// and in the report. The run replays a journal that holds nothing: its first call fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exits_non_zero_and_says_why_when_a_run_failed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_sweep_file(
        dir.path(),
        "failing.toml",
        &format!(
            r#"
name = "failing"
tasks = ["{}"]
policies = ["greedy"]
seeds = [0]
[budget]
max_nodes = 2
[operator]
backend = "replay"
from_run = "00000000-0000-7000-8000-000000000000"
"#,
            repo_root().join("tasks/mini/taxi-fare").display()
        ),
    );
    let mut p = start_run(&file, &dir.path().join("home"), &[], "run-failing");
    let status = p
        .wait_exit(Duration::from_secs(600))
        .expect("randori run did not finish");
    let mut out = String::new();
    std::io::Read::read_to_string(p.child.stdout.as_mut().unwrap(), &mut out).unwrap();
    assert_eq!(status.code(), Some(1), "{}", p.log_text());
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let run = &report["runs"][0];
    assert_eq!(run["state"], "failed");
    let error = run["error"]
        .as_str()
        .expect("the run's error in the report");
    assert!(!error.is_empty());
    let log = p.log_text();
    assert!(log.contains("1 of 1 runs failed:"), "{log}");
    assert!(log.contains(error.lines().next().unwrap()), "{log}");
}
