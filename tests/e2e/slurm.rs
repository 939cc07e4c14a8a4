//! A real SLURM cluster (deploy/slurm/test-cluster): a controller and two compute nodes, each
//! a container of the `randori-slurm` image (SLURM 22.05 and munge from Debian packages) on a
//! private Docker network, the nodes declaring 2 CPUs, 4 GiB and two stand-in GPUs each. The
//! coordinator runs outside the cluster, on the host. `deploy/slurm/randori-workers.sbatch`
//! is submitted with `sbatch --nodes=2`: its workers come up through `srun`, register under
//! SLURM's names with what SLURM allocated on their node (CPUs, memory, GPU indices), and
//! run a sweep. Mid-sweep the allocation is cancelled (`scancel`): the workers drain within
//! the cluster's KillWait and hand back what they hold; a second `sbatch` finishes the sweep,
//! every node evaluated exactly once across the two allocations.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::harness::*;
use crate::sweeps::{stdout_ok, task, write_sweep_file};

const NODES: [&str; 2] = ["node1", "node2"];

/// The cluster's containers and network, removed on drop whatever happened.
struct Cluster {
    prefix: String,
    network: String,
}

impl Cluster {
    fn container(&self, host: &str) -> String {
        format!("{}-{host}", self.prefix)
    }

    /// Runs a command in the controller, where users submit.
    fn on_controller(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = Command::new("docker");
        cmd.arg("exec");
        for (k, v) in env {
            cmd.args(["-e", &format!("{k}={v}")]);
        }
        cmd.arg(self.container("slurmctld"))
            .args(args)
            .output()
            .expect("docker exec")
    }

    fn scontrol(&self, args: &[&str]) -> String {
        let args: Vec<&str> = ["scontrol"].iter().chain(args).copied().collect();
        stdout_ok(self.on_controller(&[], &args), "scontrol")
    }

    /// Whether SLURM still has `job` (pending, running or completing).
    fn job_exists(&self, job: &str) -> bool {
        let out = self.on_controller(&[], &["squeue", "-h", "-j", job, "-o", "%T"]);
        out.status.success() && !text(&out.stdout).trim().is_empty()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for host in std::iter::once("slurmctld").chain(NODES) {
            let _ = Command::new("docker")
                .args(["rm", "-f", &self.container(host)])
                .output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &self.network])
            .output();
    }
}

/// Starts the controller and both nodes; returns once SLURM sees both nodes idle.
async fn start_cluster(image: &str, conf: &Path, shared: &Path) -> Cluster {
    let cluster = Cluster {
        prefix: format!("randori-slurm-{}", std::process::id()),
        network: format!("randori-slurm-{}", std::process::id()),
    };
    docker(&["network", "create", &cluster.network]);
    let conf_mount = format!("{}:/etc/slurm:ro", conf.join("etc").display());
    let key_mount = format!(
        "{}:/run/randori-slurm/munge.key:ro",
        conf.join("munge.key").display()
    );
    let script_mount = format!(
        "{}:/opt/randori/slurm:ro",
        repo_root().join("deploy/slurm").display()
    );
    docker(&[
        "run",
        "-d",
        "--name",
        &cluster.container("slurmctld"),
        "--hostname",
        "slurmctld",
        "--network",
        &cluster.network,
        "--network-alias",
        "slurmctld",
        "-v",
        &conf_mount,
        "-v",
        &key_mount,
        "-v",
        &script_mount,
        image,
        "controller",
    ]);
    // A node's worker starts sandboxes as sibling containers through the host's Docker
    // socket, so its jobs directory and task cache are at the same path on the host.
    let shared_mount = format!("{0}:{0}", shared.display());
    let bin_mount = format!("{BIN}:/usr/local/bin/randori:ro");
    for node in NODES {
        docker(&[
            "run",
            "-d",
            "--name",
            &cluster.container(node),
            "--hostname",
            node,
            "--network",
            &cluster.network,
            "--network-alias",
            node,
            "-v",
            &conf_mount,
            "-v",
            &key_mount,
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            "-v",
            &shared_mount,
            "-v",
            &bin_mount,
            image,
            "node",
        ]);
    }
    eventually("both SLURM nodes are idle", Duration::from_secs(60), || {
        let out = cluster.on_controller(&[], &["sinfo", "-h", "-N", "-o", "%N %t"]);
        let idle = out.status.success()
            && text(&out.stdout)
                .lines()
                .filter(|l| l.ends_with(" idle"))
                .count()
                == NODES.len();
        async move { idle }
    })
    .await;
    cluster
}

/// The GPU indices in use on a node, from its `scontrol -d -o show node` record: the
/// `GresUsed=gpu:N(IDX:0-1,3)` list where SLURM prints one, else (22.05 prints none without
/// GPU accounting) every index of the node when all its GPUs are in use.
fn allocated_gpus(record: &str) -> Vec<i32> {
    let count = |gres: &str| -> i32 {
        let n = gres
            .strip_prefix("gpu:")
            .unwrap_or_else(|| panic!("{gres}"));
        n.split('(').next().unwrap().parse().unwrap()
    };
    let (total, used) = (field(record, "Gres"), field(record, "GresUsed"));
    match used.split_once("(IDX:") {
        Some((_, list)) => list
            .trim_end_matches(')')
            .split(',')
            .flat_map(|part| match part.split_once('-') {
                Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<i32>>(),
                None => vec![part.parse().unwrap()],
            })
            .collect(),
        None => {
            assert_eq!(count(used), count(total), "some GPUs in use: {record}");
            (0..count(total)).collect()
        }
    }
}

/// `KEY=value` of a one-line `scontrol -o` record.
fn field<'a>(record: &'a str, key: &str) -> &'a str {
    record
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key} in {record}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slurm_allocations_run_a_sweep_and_drain_on_scancel() {
    let image = offline_image("slurm", &["deploy/slurm/test-cluster/randori-slurm"]);
    let runtime = runtime_image().to_owned();
    let conf = tempfile::tempdir().unwrap();
    let etc = conf.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    for file in ["slurm.conf", "gres.conf"] {
        std::fs::copy(
            repo_root().join("deploy/slurm/test-cluster").join(file),
            etc.join(file),
        )
        .unwrap();
    }
    // The cluster's munge key: 1 KiB from the OS's random source (64 v4 UUIDs).
    let key: Vec<u8> = (0..64)
        .flat_map(|_| *uuid::Uuid::new_v4().as_bytes())
        .collect();
    std::fs::write(conf.path().join("munge.key"), key).unwrap();
    let shared = tempfile::Builder::new()
        .prefix("randori-slurm-")
        .tempdir_in("/var/tmp")
        .unwrap();
    let cluster = start_cluster(&image, conf.path(), shared.path()).await;

    // The coordinator, outside the cluster: on the host, at the network's gateway address.
    let gateway = docker(&[
        "network",
        "inspect",
        "-f",
        "{{(index .IPAM.Config 0).Gateway}}",
        &cluster.network,
    ])
    .trim()
    .to_owned();
    let (client_token, worker_token) = (unique("client"), unique("worker"));
    let url = fresh_database("slurm").await;
    let (_coordinator, addr) = coordinator_with_env(
        &url,
        &format!("{gateway}:0"),
        &["--lease-ttl", "10s"],
        &[
            ("RANDORI_CLIENT_TOKEN", &client_token),
            ("RANDORI_WORKER_TOKEN", &worker_token),
        ],
    );
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let coordinator = format!("http://{addr}");
    let cli = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("RANDORI_COORDINATOR", &coordinator)
            .env("RANDORI_TOKEN", &client_token)
            .output()
            .expect("running randori")
    };

    let dir = tempfile::tempdir().unwrap();
    let file = write_sweep_file(
        dir.path(),
        "slurm",
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
            unique("slurm"),
            task("taxi-fare"),
        ),
    );
    let sweep = stdout_ok(cli(&["sweep", "submit", file.to_str().unwrap()]), "submit")
        .trim()
        .to_owned();

    let jobs_root = shared.path().join("jobs").display().to_string();
    let task_cache = shared.path().join("tasks").display().to_string();
    let chdir = format!("--chdir={}", shared.path().display());
    let sbatch = || {
        let out = cluster.on_controller(
            &[
                ("RANDORI_COORDINATOR", &coordinator),
                ("RANDORI_TOKEN", &worker_token),
                ("RANDORI_JOBS_ROOT", &jobs_root),
                ("RANDORI_TASK_CACHE", &task_cache),
                ("RANDORI_IMAGE", &runtime),
            ],
            &[
                "sbatch",
                "--parsable",
                "--nodes=2",
                "--gres=gpu:2",
                &chdir,
                "/opt/randori/slurm/randori-workers.sbatch",
            ],
        );
        stdout_ok(out, "sbatch").trim().to_owned()
    };
    let registered = |job: String| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM workers WHERE name LIKE $1 AND state = 'active'",
            )
            .bind(format!("slurm-{job}-%"))
            .fetch_one(&db)
            .await
            .unwrap()
                == NODES.len() as i64
        }
    };
    let allocation_log = |job: &str| {
        std::fs::read_to_string(shared.path().join(format!("randori-workers-{job}.out")))
            .unwrap_or_default()
    };

    // First allocation: both workers register under SLURM's names.
    let submitted = Instant::now();
    let first = sbatch();
    eventually(
        "the first allocation's workers register",
        Duration::from_secs(120),
        || registered(first.clone()),
    )
    .await;
    let registered_after = submitted.elapsed();

    // Each worker has what SLURM allocated on its node: CPUs, memory and GPU indices.
    for node in NODES {
        let record = cluster.scontrol(&["-d", "-o", "show", "node", node]);
        let (cpus, mem_mib): (i32, i64) = (
            field(&record, "CPUAlloc").parse().unwrap(),
            field(&record, "AllocMem").parse().unwrap(),
        );
        let gpus = allocated_gpus(&record);
        let (cpu_millis, memory_bytes, gpu_ids): (i32, i64, Vec<i32>) =
            sqlx::query_as("SELECT cpu_millis, memory_bytes, gpu_ids FROM workers WHERE name = $1")
                .bind(format!("slurm-{first}-{node}"))
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(
            (cpu_millis, memory_bytes, &gpu_ids),
            (cpus * 1000, mem_mib << 20, &gpus),
            "{node}: the worker's resources against SLURM's allocation {record}"
        );
        assert_eq!(gpus.len(), 2, "{record}");
    }

    // Mid-sweep, while a sandbox runs on the allocation: scancel.
    let succeeded = || {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE state = 'succeeded'")
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    eventually(
        "the sweep is under way",
        Duration::from_secs(300),
        || async { succeeded().await >= 3 },
    )
    .await;
    let sandbox_label = |node: &str| format!("randori.worker=slurm-{first}-{node}");
    eventually(
        "a sandbox runs on the first allocation",
        Duration::from_secs(120),
        || {
            let running = NODES
                .iter()
                .any(|n| !containers_in_status(&sandbox_label(n), "running").is_empty());
            async move { running }
        },
    )
    .await;
    let cancelled = Instant::now();
    stdout_ok(cluster.on_controller(&[], &["scancel", &first]), "scancel");
    eventually(
        "the cancelled allocation's workers drain and exit",
        Duration::from_secs(150),
        || {
            let gone = !cluster.job_exists(&first);
            async move { gone }
        },
    )
    .await;
    let drained_in = cancelled.elapsed();
    let held: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM jobs j JOIN workers w ON w.id = j.worker_id
         WHERE w.name LIKE $1 AND j.state = 'leased'",
    )
    .bind(format!("slurm-{first}-%"))
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(held, 0, "jobs still leased to the cancelled allocation");
    for node in NODES {
        assert!(
            containers_with_label(&sandbox_label(node)).is_empty(),
            "{node}: sandboxes left behind by the cancelled allocation"
        );
    }
    let log = allocation_log(&first);
    assert!(log.contains("draining"), "{log}");
    for line in log
        .lines()
        .filter(|l| l.contains("drain") || l.contains("handing back"))
    {
        println!("allocation {first}: {line}");
    }

    // Second allocation: the sweep finishes.
    let second = sbatch();
    eventually(
        "the second allocation's workers register",
        Duration::from_secs(120),
        || registered(second.clone()),
    )
    .await;
    stdout_ok(cli(&["sweep", "watch", &sweep]), "watch");
    let status: serde_json::Value = serde_json::from_str(&stdout_ok(
        cli(&["sweep", "status", &sweep, "--json"]),
        "status",
    ))
    .unwrap();
    assert_eq!(status["state"], "completed", "{status}");
    assert_eq!(status["nodes"]["total"], 15, "{status}");
    assert_eq!(status["jobs"]["succeeded"], 15, "{status}");

    // Every node was evaluated once: one succeeded job each, none elsewhere.
    let per_node: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE j.state = 'succeeded'), count(j.id)
         FROM nodes n LEFT JOIN jobs j ON j.node_id = n.id GROUP BY n.id",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(per_node.len(), 15);
    assert!(
        per_node.iter().all(|&(ok, all)| ok == 1 && all == 1),
        "{per_node:?}"
    );
    let by_allocation: Vec<(String, i64)> = sqlx::query_as(
        "SELECT split_part(outcome->>'worker_name', '-', 2), count(*) FROM jobs
         WHERE state = 'succeeded' GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    let count = |job: &str| {
        by_allocation
            .iter()
            .find(|(j, _)| j == job)
            .map_or(0, |(_, n)| *n)
    };
    assert!(count(&first) > 0 && count(&second) > 0, "{by_allocation:?}");
    assert_eq!(count(&first) + count(&second), 15, "{by_allocation:?}");
    let attempts: i64 = sqlx::query_scalar("SELECT sum(attempt) FROM jobs")
        .fetch_one(&db)
        .await
        .unwrap();

    stdout_ok(cluster.on_controller(&[], &["scancel", &second]), "scancel");
    eventually(
        "the second allocation ends",
        Duration::from_secs(150),
        || {
            let gone = !cluster.job_exists(&second);
            async move { gone }
        },
    )
    .await;
    println!(
        "slurm: sbatch to 2 workers registered {:.1} s; scancel to drained {:.1} s; \
         nodes evaluated {} by allocation {first}, {} by allocation {second}, 15 in all, \
         each once ({attempts} attempts counted)",
        registered_after.as_secs_f64(),
        drained_in.as_secs_f64(),
        count(&first),
        count(&second),
    );
}
