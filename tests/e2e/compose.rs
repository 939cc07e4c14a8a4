//! The compose cluster of deploy/compose, started for real: Postgres (an image built offline),
//! a coordinator and two workers as containers on the compose project's private network, the
//! workers starting their sandboxes as sibling containers through the host's Docker socket.
//! A sweep runs on it from the CLI on the host, through the published port and with tokens,
//! while one worker is killed (and started again, as its restart policy would), the
//! coordinator is killed and started again, and the other worker is cut from the network
//! (`docker network disconnect`) past its lease, and Postgres is restarted. At the end the sweep completed with every
//! node once, and `docker-compose down` leaves no sandbox container behind.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

use crate::harness::*;
use crate::sweeps::{stdout_ok, task, write_sweep_file};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A compose project of its own; `down -v` on drop, whatever happened.
struct Project {
    name: String,
    env: Vec<(String, String)>,
}

impl Project {
    fn compose(&self, args: &[&str]) -> Output {
        Command::new("docker-compose")
            .args(["-p", &self.name, "-f"])
            .arg(repo_root().join("deploy/compose/docker-compose.yml"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("running docker-compose")
    }

    fn ids(&self, service: &str) -> Vec<String> {
        stdout_ok(self.compose(&["ps", "-q", service]), "compose ps")
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "-v", "--timeout", "30"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compose_sweep_survives_kills_a_partition_and_a_database_restart() {
    let randori_image = format!("randori-compose-test:{}", std::process::id());
    build_randori_image(&randori_image);
    let grpc_port = free_port();
    let client_token = format!("client-{}", unique("t"));
    let project = Project {
        name: format!("randori-e2e-{}", std::process::id()),
        env: vec![
            ("RANDORI_IMAGE".into(), randori_image.clone()),
            ("RUNTIME_IMAGE".into(), runtime_image().to_owned()),
            ("POSTGRES_IMAGE".into(), offline_image("postgres", &[])),
            ("RANDORI_CLIENT_TOKEN".into(), client_token.clone()),
            (
                "RANDORI_WORKER_TOKEN".into(),
                format!("worker-{}", unique("t")),
            ),
            (
                "RANDORI_TASKS_DIR".into(),
                repo_root().join("tasks").to_string_lossy().into_owned(),
            ),
            ("RANDORI_GRPC_PORT".into(), grpc_port.to_string()),
            ("RANDORI_LEASE_TTL".into(), "4s".into()),
            ("RANDORI_HTTP_PORT".into(), free_port().to_string()),
        ],
    };
    stdout_ok(
        project.compose(&["up", "-d", "--scale", "worker=2"]),
        "compose up",
    );
    let coordinator = format!("http://127.0.0.1:{grpc_port}");
    let cli = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("RANDORI_COORDINATOR", &coordinator)
            .env("RANDORI_TOKEN", &client_token)
            .output()
            .expect("running randori")
    };
    eventually(
        "the compose coordinator answers",
        Duration::from_secs(120),
        || {
            let up = cli(&["sweep", "list"]).status.success();
            async move { up }
        },
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let file = write_sweep_file(
        dir.path(),
        "compose",
        &format!(
            r#"
name = "{}"
tasks = ["{}"]
policies = ["greedy"]
seeds = [0, 1, 2]
[budget]
max_nodes = 5
node_timeout = "2m"
"#,
            unique("compose"),
            task("taxi-fare"),
        ),
    );
    let id = stdout_ok(cli(&["sweep", "submit", file.to_str().unwrap()]), "submit")
        .trim()
        .to_owned();

    // Mid-sweep: kill -9 one worker's container and start it again (same hostname, so the
    // same worker, which removes what it left behind); then the coordinator's.
    let workers = project.ids("worker");
    assert_eq!(workers.len(), 2);
    let succeeded = || {
        let out = cli(&["sweep", "status", &id, "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice::<serde_json::Value>(&out.stdout).ok())
            .flatten()
            .and_then(|s| s["jobs"]["succeeded"].as_u64())
            .unwrap_or(0)
    };
    let nodes_done = |at_least: u64| {
        let done = succeeded() >= at_least;
        async move { done }
    };
    eventually("the sweep is under way", Duration::from_secs(180), || {
        nodes_done(2)
    })
    .await;
    docker(&["kill", "-s", "KILL", &workers[0]]);
    docker(&["start", &workers[0]]);
    // Faults apart: a job hit by each of them in turn would use up its attempts and fail, as
    // it should.
    let before = succeeded();
    eventually(
        "the sweep goes on after the worker's restart",
        Duration::from_secs(180),
        || nodes_done(before + 2),
    )
    .await;
    let coordinators = project.ids("coordinator");
    docker(&["kill", "-s", "KILL", &coordinators[0]]);
    docker(&["start", &coordinators[0]]);

    // Partition the other worker from the project's network while it runs a program, for
    // longer than the lease TTL (4 s): its job is leased again, and when the network is back
    // its heartbeat or late report is refused.
    eventually("the sweep goes on", Duration::from_secs(180), || {
        nodes_done(5)
    })
    .await;
    let network = format!("{}_default", project.name);
    let label = format!("randori.worker=compose-{}", &workers[1][..12]);
    eventually(
        "the second worker runs a program",
        Duration::from_secs(120),
        || {
            let running = !containers_in_status(&label, "running").is_empty();
            async move { running }
        },
    )
    .await;
    docker(&["network", "disconnect", &network, &workers[1]]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    docker(&["network", "connect", &network, &workers[1]]);

    // Restart Postgres under load: coordinator and workers carry on without help.
    eventually("the sweep goes on", Duration::from_secs(180), || {
        nodes_done(8)
    })
    .await;
    let postgres = project.ids("postgres");
    docker(&["restart", &postgres[0]]);

    stdout_ok(cli(&["sweep", "watch", &id]), "watch");
    let status: serde_json::Value = serde_json::from_str(&stdout_ok(
        cli(&["sweep", "status", &id, "--json"]),
        "status",
    ))
    .unwrap();
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["runs"]["completed"], 3, "{status}");
    assert_eq!(status["nodes"]["total"], 15, "{status}");
    assert_eq!(status["jobs"]["succeeded"], 15, "{status}");
    let report: serde_json::Value = serde_json::from_str(&stdout_ok(
        cli(&["sweep", "report", &id, "--format", "json"]),
        "report",
    ))
    .unwrap();
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "{report}");
    // Every run's tree has its 5 nodes, each once (steps 0..5).
    for run in runs {
        assert_eq!(run["nodes"], 5, "{run}");
        let tree = stdout_ok(
            cli(&["tree", run["id"].as_str().unwrap(), "--format", "json"]),
            "tree",
        );
        let tree: serde_json::Value = serde_json::from_str(&tree).unwrap();
        let mut steps: Vec<u64> = tree["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["step"].as_u64().unwrap())
            .collect();
        steps.sort_unstable();
        assert_eq!(steps, vec![0, 1, 2, 3, 4], "{tree}");
    }

    let down = project.compose(&["down", "-v", "--timeout", "30"]);
    assert!(
        down.status.success(),
        "compose down: {}",
        text(&down.stderr)
    );
    let _ = Command::new("docker")
        .args(["rmi", "-f", &randori_image])
        .output();
    for w in &workers {
        let label = format!("randori.worker=compose-{}", &w[..12]);
        assert!(
            containers_with_label(&label).is_empty(),
            "{label}: sandbox containers left behind"
        );
    }
}
