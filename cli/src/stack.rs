//! The embedded all-in-one stack: a private Postgres under RANDORI_HOME, a coordinator on a
//! loopback port and local workers, all in this process but talking real gRPC over TCP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};
use randori_coordinator::auth::Tokens;
use randori_coordinator::private_postgres::PrivatePostgres;
use randori_coordinator::{Coordinator, CoordinatorConfig};
use randori_worker::resources::Resources;
use randori_worker::sandbox::Limits;
use randori_worker::{Worker, WorkerConfig};
use sha2::{Digest, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub struct StackOptions {
    /// Local workers; they split the host's CPUs and memory between them.
    pub workers: u32,
    pub sandbox: String,
    pub image: String,
    /// Where the coordinator runs the tasks' own graders (`randori image tag --grading`).
    pub grading_image: String,
    /// An existing Postgres instead of the private one.
    pub database_url: Option<String>,
    /// Where the coordinator listens (port 0: any free one).
    pub listen: SocketAddr,
    /// Where its HTTP port (dashboard, metrics) listens; None: no HTTP port.
    pub http: Option<SocketAddr>,
    /// The tokens its coordinator demands; without them it listens on loopback only.
    pub tokens: Option<Tokens>,
    /// Each worker's warm containers per shape (`randori worker --warm-containers`).
    pub warm_containers: usize,
}

impl StackOptions {
    /// One worker, a private Postgres, a loopback port.
    pub fn local(workers: u32, sandbox: String, image: String) -> Self {
        Self {
            workers,
            sandbox,
            image,
            grading_image: crate::image::grading_tag(),
            database_url: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            http: None,
            tokens: None,
            warm_containers: 0,
        }
    }
}

pub struct Stack {
    // Dropped last: the server stops after everything that uses it, and the home's lock
    // after the server.
    _postgres: Option<PrivatePostgres>,
    _home_lock: Option<Flock<std::fs::File>>,
    pub grpc_addr: SocketAddr,
    pub http_addr: Option<SocketAddr>,
    client_token: Option<String>,
    /// The database everything is stored in (for harnesses that read timings from it).
    pub database_url: String,
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
        // Without tokens anyone who reaches the port could submit work: stay on this host.
        let exposed = [Some(opts.listen), opts.http]
            .into_iter()
            .flatten()
            .find(|a| !a.ip().is_loopback());
        if let (Some(addr), None) = (exposed, &opts.tokens) {
            anyhow::bail!(
                "{addr} is not a loopback address: set RANDORI_CLIENT_TOKEN and RANDORI_WORKER_TOKEN to serve beyond this host"
            );
        }
        let (postgres, home_lock, database_url) = match opts.database_url.clone() {
            Some(url) => (None, None, url),
            None => {
                let home = randori_home();
                let lock = lock_home(&home)?;
                let mut postgres = private_postgres(home).await?;
                // With the lock held, a server already running here was left by a stack that
                // died (kill -9): this one stops it at the end.
                postgres.take_ownership();
                postgres
                    .ensure_database(randori_coordinator::private_postgres::DATABASE)
                    .await
                    .context("creating the stack's database")?;
                let url = postgres.url();
                (Some(postgres), Some(lock), url)
            }
        };
        let mut config = CoordinatorConfig::new(
            database_url.clone(),
            opts.listen,
            opts.grading_image.clone(),
        );
        config.http = opts.http;
        config.tokens = opts.tokens.clone();
        let coordinator = Coordinator::build(config)
            .await
            .with_context(|| format!("starting the coordinator on {}", opts.listen))?;
        let grpc_addr = coordinator.local_addr()?;
        let http_addr = coordinator.http_addr()?;
        let stop_coordinator = CancellationToken::new();
        let stop_workers = CancellationToken::new();
        let c = stop_coordinator.clone();
        let coordinator = tokio::spawn(async move {
            if let Err(e) = coordinator.run(c).await {
                tracing::error!(error = %e, "coordinator stopped");
            }
        });
        let mut workers = Vec::new();
        let share = worker_share(&host_resources(), opts.workers.max(1));
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "localhost".into());
        let stack_id = stack_id(opts.database_url.as_deref());
        for i in 0..opts.workers.max(1) {
            // Stable across runs of the same stack, so that a later run removes what an
            // interrupted one left, and distinct between stacks sharing this Docker daemon.
            let name = format!("{hostname}-embedded-{stack_id}-{i}");
            let task_cache_dir = std::env::temp_dir().join("randori-tasks").join(&name);
            let config = WorkerConfig {
                coordinator: format!("http://{grpc_addr}"),
                jobs_dir: std::env::temp_dir().join("randori-jobs").join(&name),
                name,
                total: share.clone(),
                disk_reserve_bytes: DISK_RESERVE_BYTES,
                disk_quota: Default::default(),
                task_data: Default::default(),
                task_cache_dir,
                task_cache_bytes: 50 << 30,
                sandbox: opts.sandbox.clone(),
                image: opts.image.clone(),
                limits: Limits::default(),
                drain_timeout: Duration::from_secs(5),
                reap_after: Duration::from_secs(60),
                warm_containers: opts.warm_containers,
                token: opts.tokens.as_ref().map(|t| t.worker.clone()),
                tls: Default::default(),
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
            _home_lock: home_lock,
            grpc_addr,
            http_addr,
            client_token: opts.tokens.map(|t| t.client),
            database_url,
            stop_coordinator,
            stop_workers,
            coordinator,
            workers,
        })
    }

    /// The token the stack's own client presents.
    pub fn client_token(&self) -> Option<&str> {
        self.client_token.as_deref()
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

/// Starts (or attaches to) the private Postgres under `home`.
pub async fn private_postgres(home: PathBuf) -> Result<PrivatePostgres> {
    tokio::task::spawn_blocking(move || PrivatePostgres::start(&home))
        .await?
        .context("starting the private PostgreSQL (RANDORI_HOME points at its directory)")
}

/// Names the stack by its database: the external URL, or the private one's home.
fn stack_id(database_url: Option<&str>) -> String {
    let key = match database_url {
        Some(url) => url.to_owned(),
        None => {
            let home = randori_home();
            std::fs::canonicalize(&home)
                .unwrap_or(home)
                .to_string_lossy()
                .into_owned()
        }
    };
    let digest = Sha256::digest(key.as_bytes());
    digest[..3].iter().map(|b| format!("{b:02x}")).collect()
}

/// One stack per RANDORI_HOME at a time: the lock dies with its process, so a killed stack
/// never blocks the next.
fn lock_home(home: &Path) -> Result<Flock<std::fs::File>> {
    std::fs::create_dir_all(home)
        .with_context(|| format!("creating RANDORI_HOME {}", home.display()))?;
    let path = home.join("stack.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
        anyhow::anyhow!(
            "another randori stack is using RANDORI_HOME {} ({e}); stop it, or set RANDORI_HOME to another directory",
            home.display()
        )
    })
}

/// What one node evaluation asks for, and what the user called each quantity (a flag or a
/// sweep-file key), for the error.
pub struct Demand<'a> {
    pub gpus: (u32, &'a str),
    pub cpu_millis: (u32, &'a str),
    pub memory_bytes: (u64, &'a str),
    pub disk_bytes: (u64, &'a str),
}

/// The free space an embedded worker keeps back on its jobs filesystem.
const DISK_RESERVE_BYTES: u64 = 2 << 30;

/// The embedded workers split this host: refuse what none of them could ever run, rather
/// than wait for it forever.
pub fn check_fits_one_worker(d: &Demand<'_>, workers: u32) -> Result<()> {
    let share = worker_share(&host_resources(), workers.max(1));
    let one_of = match workers {
        0 | 1 => "the local worker".to_owned(),
        n => format!("one of {n} local workers"),
    };
    if d.gpus.0 as usize > share.gpu_ids.len() {
        anyhow::bail!(
            "{} = {}: {one_of} has no GPUs; start `randori worker --gpus ...` on a GPU host and use --coordinator",
            d.gpus.1,
            d.gpus.0
        );
    }
    if d.memory_bytes.0 > share.memory_bytes {
        anyhow::bail!(
            "{} = {} MiB is more than {one_of} has ({} MiB)",
            d.memory_bytes.1,
            d.memory_bytes.0 >> 20,
            share.memory_bytes >> 20
        );
    }
    let jobs_fs = std::env::temp_dir();
    let room = randori_worker::sandbox::disk::available(&jobs_fs)
        .map_or(u64::MAX, |free| free.saturating_sub(DISK_RESERVE_BYTES));
    if d.disk_bytes.0 > room {
        anyhow::bail!(
            "{} = {} MiB is more than {one_of} has free for jobs in {} ({} MiB, 2 GiB kept in reserve)",
            d.disk_bytes.1,
            d.disk_bytes.0 >> 20,
            jobs_fs.display(),
            room >> 20
        );
    }
    if d.cpu_millis.0 > share.cpu_millis {
        anyhow::bail!(
            "{} = {} is more than {one_of} has ({} CPUs)",
            d.cpu_millis.1,
            f64::from(d.cpu_millis.0) / 1000.0,
            f64::from(share.cpu_millis) / 1000.0
        );
    }
    Ok(())
}

/// One of `n` equal shares of the host (at least one slot and one CPU each).
fn worker_share(host: &Resources, n: u32) -> Resources {
    Resources {
        slots: (host.slots / n).max(1),
        cpu_millis: (host.cpu_millis / n).max(1000),
        memory_bytes: host.memory_bytes / u64::from(n),
        gpu_ids: host.gpu_ids.clone(),
        // Each worker measures its jobs filesystem's room when it starts.
        disk_bytes: 0,
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
        disk_bytes: 0,
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
