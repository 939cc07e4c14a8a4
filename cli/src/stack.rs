//! The embedded all-in-one stack: a private Postgres under RANDORI_HOME, a coordinator on a
//! loopback port and local workers, all in this process but talking real gRPC over TCP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use randori_coordinator::private_postgres::PrivatePostgres;
use randori_coordinator::{Coordinator, CoordinatorConfig};
use randori_worker::resources::Resources;
use randori_worker::sandbox::Limits;
use randori_worker::{Worker, WorkerConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct StackOptions {
    pub workers: u32,
    pub sandbox: String,
    pub image: String,
}

pub struct Stack {
    // Dropped last: the server stops after everything that uses it.
    _postgres: PrivatePostgres,
    pub grpc_addr: SocketAddr,
    stop_coordinator: CancellationToken,
    stop_workers: CancellationToken,
    coordinator: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
}

pub fn randori_home() -> PathBuf {
    std::env::var_os("RANDORI_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".randori"))
}

impl Stack {
    pub async fn start(opts: StackOptions) -> Result<Self> {
        let home = randori_home();
        let postgres = tokio::task::spawn_blocking(move || PrivatePostgres::start(&home))
            .await?
            .context("starting the private PostgreSQL (RANDORI_HOME points at its directory)")?;
        postgres
            .ensure_database(randori_coordinator::private_postgres::DATABASE)
            .await
            .context("creating the stack's database")?;
        let coordinator = Coordinator::build(CoordinatorConfig::new(
            postgres.url(),
            "127.0.0.1:0".parse()?,
            opts.image.clone(),
        ))
        .await
        .context("starting the coordinator")?;
        let grpc_addr = coordinator.local_addr()?;
        let stop_coordinator = CancellationToken::new();
        let stop_workers = CancellationToken::new();
        let c = stop_coordinator.clone();
        let coordinator = tokio::spawn(async move {
            if let Err(e) = coordinator.run(c).await {
                tracing::error!(error = %e, "coordinator stopped");
            }
        });
        let mut workers = Vec::new();
        let host = host_resources();
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        for i in 0..opts.workers.max(1) {
            // Stable across runs, so that a later run removes what an interrupted one left.
            let name = format!("{hostname}-embedded-{i}");
            let config = WorkerConfig {
                coordinator: format!("http://{grpc_addr}"),
                jobs_dir: std::env::temp_dir().join("randori-jobs").join(&name),
                name,
                total: host.clone(),
                sandbox: opts.sandbox.clone(),
                image: opts.image.clone(),
                limits: Limits::default(),
                drain_timeout: Duration::from_secs(5),
            };
            let worker = Worker::build(config).await?;
            // One token for both: at shutdown the stack hands running jobs back at once.
            let s = stop_workers.clone();
            workers.push(tokio::spawn(async move {
                if let Err(e) = worker.run(s.clone(), s).await {
                    tracing::error!(error = %e, "worker stopped");
                }
            }));
        }
        Ok(Self {
            _postgres: postgres,
            grpc_addr,
            stop_coordinator,
            stop_workers,
            coordinator,
            workers,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Stops workers (handing back what runs), then the coordinator, then Postgres.
    pub async fn shutdown(self) {
        self.stop_workers.cancel();
        for t in self.workers {
            let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
        }
        self.stop_coordinator.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(15), self.coordinator).await;
    }
}

/// The host's CPUs and 90% of its memory.
pub fn host_resources() -> Resources {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    Resources {
        slots: cpus,
        cpu_millis: cpus * 1000,
        memory_bytes: host_memory_bytes() / 10 * 9,
        gpu_ids: Vec::new(),
    }
}

fn host_memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(4 << 30)
}
