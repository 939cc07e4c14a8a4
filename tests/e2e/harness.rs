//! Test harness: a private Postgres shared by the tests (a fresh database each), and the real
//! `randori` binary started as coordinator and worker processes.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use randori_coordinator::private_postgres::PrivatePostgres;
use randori_proto::v1 as pb;
use randori_proto::v1::control_service_client::ControlServiceClient;
use tonic::transport::Channel;

pub const BIN: &str = env!("CARGO_BIN_EXE_randori");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

pub fn toy_task() -> PathBuf {
    fixture("tasks/toy-regression")
}

/// The shared server; tests get a database each. It lives in a fixed place so that later
/// test binaries attach to it instead of starting another.
fn postgres() -> &'static PrivatePostgres {
    static PG: OnceLock<PrivatePostgres> = OnceLock::new();
    PG.get_or_init(|| {
        PrivatePostgres::start(Path::new("/tmp/randori-test-postgres"))
            .expect("starting the test PostgreSQL")
    })
}

/// A fresh, empty database; returns its URL.
pub async fn fresh_database(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "t_{}_{}_{}",
        test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let pg = postgres();
    pg.ensure_database(&name)
        .await
        .expect("creating a test database");
    pg.url_for(&name)
}

/// The runtime image, built once if absent.
pub fn runtime_image() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| {
        let out = Command::new(BIN)
            .args(["image", "build"])
            .stderr(Stdio::inherit())
            .output()
            .expect("running randori image build");
        assert!(out.status.success(), "randori image build failed");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    })
}

/// A child process, stopped when dropped (SIGTERM twice: a worker hands its jobs back and
/// cleans up; SIGKILL after 10 s); its stderr goes to a log file.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid() as i32), sig).unwrap();
    }

    /// Waits for the process to exit by itself.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let pid = nix::unistd::Pid::from_raw(self.pid() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            std::thread::sleep(Duration::from_millis(100));
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let _ = self.wait_exit(Duration::from_secs(10));
        }
        self.kill9();
    }
}

fn log_file(name: &str) -> (PathBuf, std::fs::File) {
    let dir = std::env::temp_dir().join("randori-test-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{}.log", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    (path, file)
}

/// Starts a coordinator on `listen` (port 0 for any) and returns it with its address.
pub fn coordinator(database_url: &str, listen: &str, lease_ttl: &str) -> (Proc, SocketAddr) {
    coordinator_with(database_url, listen, &["--lease-ttl", lease_ttl])
}

/// Starts a coordinator with extra command-line arguments.
pub fn coordinator_with(database_url: &str, listen: &str, args: &[&str]) -> (Proc, SocketAddr) {
    coordinator_with_env(database_url, listen, args, &[])
}

/// Starts a coordinator with extra arguments and environment.
pub fn coordinator_with_env(
    database_url: &str,
    listen: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Proc, SocketAddr) {
    let (proc, grpc, _) = coordinator_with_http(database_url, listen, args, env);
    (proc, grpc)
}

/// Starts a coordinator; returns it with its gRPC and HTTP addresses (the HTTP port is any
/// free one unless `args` name `--http`).
pub fn coordinator_with_http(
    database_url: &str,
    listen: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Proc, SocketAddr, SocketAddr) {
    static N: AtomicU32 = AtomicU32::new(0);
    let (log, file) = log_file(&format!("coordinator-{}", N.fetch_add(1, Ordering::SeqCst)));
    let mut child = Command::new(BIN)
        .args([
            "coordinator",
            "--database-url",
            database_url,
            "--listen",
            listen,
        ])
        .args(args)
        .args(if args.contains(&"--http") {
            &[][..]
        } else {
            &["--http", "127.0.0.1:0"][..]
        })
        .envs(env.iter().copied())
        .env("RANDORI_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(file)
        .spawn()
        .expect("starting the coordinator");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            panic!(
                "coordinator did not start; log: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
    let addr = line
        .rsplit(' ')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the coordinator's second line names its HTTP port");
    let http = line
        .strip_prefix("randori dashboard on http://")
        .and_then(|a| a.trim_end_matches('/').parse().ok())
        .unwrap_or_else(|| panic!("unexpected second line {line:?}"));
    (Proc { child, log }, addr, http)
}

pub struct WorkerOpts<'a> {
    pub name: &'a str,
    pub slots: u32,
    pub gpus: &'a str,
    pub sandbox: &'a str,
    pub extra_env: &'a [(&'a str, &'a str)],
    pub extra_args: &'a [&'a str],
    pub drain_timeout: &'a str,
    /// The runtime image (default: the cpu flavour's, built if absent).
    pub image: Option<&'a str>,
}

impl Default for WorkerOpts<'_> {
    fn default() -> Self {
        Self {
            name: "w",
            slots: 2,
            gpus: "",
            sandbox: "docker",
            extra_env: &[],
            extra_args: &[],
            drain_timeout: "60s",
            image: None,
        }
    }
}

/// A worker with the Docker sandbox and default options but its name and slots.
pub fn docker_worker(coordinator: SocketAddr, name: &str, slots: u32) -> Proc {
    worker(
        coordinator,
        WorkerOpts {
            name,
            slots,
            ..Default::default()
        },
    )
}

pub fn worker(coordinator: SocketAddr, opts: WorkerOpts<'_>) -> Proc {
    worker_url(&format!("http://{coordinator}"), opts)
}

/// A worker of the coordinator at `url` (`https://` for TLS).
pub fn worker_url(url: &str, opts: WorkerOpts<'_>) -> Proc {
    let (log, file) = log_file(&format!("worker-{}", opts.name));
    let jobs_dir = std::env::temp_dir()
        .join("randori-test-jobs")
        .join(opts.name);
    let child = Command::new(BIN)
        .args(["worker", "--coordinator", url])
        .args(["--name", opts.name, "--slots", &opts.slots.to_string()])
        .args(["--cpus", "2", "--memory", "8G", "--gpus", opts.gpus])
        .args(["--sandbox", opts.sandbox])
        .args([
            "--image",
            match opts.image {
                Some(image) => image,
                None => runtime_image(),
            },
        ])
        .args(["--drain-timeout", opts.drain_timeout])
        .arg("--jobs-dir")
        .arg(jobs_dir)
        .args(opts.extra_args)
        .envs(opts.extra_env.iter().copied())
        .env("RANDORI_LOG", "info")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("starting a worker");
    Proc { child, log }
}

/// A fresh database with a coordinator on it (and a pool for the test's own queries).
pub struct Cluster {
    pub addr: SocketAddr,
    pub db: sqlx::PgPool,
    /// Held so that the coordinator lives as long as the cluster (it is killed on drop).
    _coordinator: Proc,
}

pub async fn cluster(test: &str, lease_ttl: &str) -> Cluster {
    let url = fresh_database(test).await;
    let (coordinator, addr) = coordinator(&url, "127.0.0.1:0", lease_ttl);
    let db = sqlx::PgPool::connect(&url)
        .await
        .expect("connecting to the test database");
    Cluster {
        addr,
        db,
        _coordinator: coordinator,
    }
}

pub async fn control(addr: SocketAddr) -> ControlServiceClient<Channel> {
    ControlServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connecting to the coordinator")
        .max_decoding_message_size(randori_proto::MAX_MESSAGE_BYTES)
}

pub struct Eval<'a> {
    pub code: &'a str,
    pub timeout_ms: u64,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub gpus: u32,
}

impl Default for Eval<'_> {
    fn default() -> Self {
        Self {
            code: "",
            timeout_ms: 60_000,
            memory_bytes: 512 << 20,
            disk_bytes: 1 << 30,
            gpus: 0,
        }
    }
}

pub async fn submit(client: &mut ControlServiceClient<Channel>, eval: Eval<'_>) -> String {
    client
        .submit_eval(pb::SubmitEvalRequest {
            task_dir: toy_task().to_string_lossy().into_owned(),
            code: eval.code.to_owned(),
            requirements: Some(pb::JobRequirements {
                gpus: eval.gpus,
                cpu_millis: 1000,
                memory_bytes: eval.memory_bytes,
                timeout_ms: eval.timeout_ms,
                disk_bytes: eval.disk_bytes,
                image: String::new(),
            }),
            max_attempts: 0,
        })
        .await
        .expect("submitting")
        .into_inner()
        .job_id
}

/// Runs the sound fixture program and checks that it succeeds and its submission comes back.
pub async fn assert_a_sound_program_runs(client: &mut ControlServiceClient<Channel>) {
    let sound = std::fs::read_to_string(fixture("programs/sound.py")).unwrap();
    let id = submit(
        client,
        Eval {
            code: &sound,
            ..Default::default()
        },
    )
    .await;
    let r = wait_end(client, &id, Duration::from_secs(120)).await;
    let o = r.outcome.expect("an outcome");
    assert_eq!(o.exit_code, Some(0), "{}", text(&o.stderr_tail));
    let submission = text(o.submission.as_deref().expect("submission came back"));
    assert!(submission.starts_with("id,y\n"));
    assert_eq!(submission.lines().count(), 61);
}

/// Waits until the job ends (or `within` passes) and returns its last view.
pub async fn wait_end(
    client: &mut ControlServiceClient<Channel>,
    job_id: &str,
    within: Duration,
) -> pb::GetEvalResponse {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = client
            .get_eval(pb::GetEvalRequest {
                job_id: job_id.to_owned(),
                wait_ms: 5_000,
            })
            .await
            .expect("get_eval")
            .into_inner();
        let ended = matches!(
            r.state(),
            pb::JobState::Succeeded | pb::JobState::Failed | pb::JobState::Cancelled
        );
        if ended || tokio::time::Instant::now() >= deadline {
            return r;
        }
    }
}

/// Waits until `check` holds, polling; panics with `what` after `within`.
pub async fn eventually<F, Fut>(what: &str, within: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Containers (running or not) carrying `label`.
/// Runs `docker ARGS`; returns its stdout, panicking with its stderr if it failed.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// An image of `deploy/runtime/build-offline.sh`'s `flavor` (postgres, slurm), tagged
/// `randori-FLAVOR:HASH` by the builder's hash and that of the `recipe` files it reads
/// (relative to the repository), so that it is built once per recipe.
pub fn offline_image(flavor: &str, recipe: &[&str]) -> String {
    use sha2::Digest;
    let script = repo_root().join("deploy/runtime/build-offline.sh");
    let mut hash = sha2::Sha256::new();
    for file in std::iter::once(script.clone()).chain(recipe.iter().map(|r| repo_root().join(r))) {
        hash.update(std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())));
    }
    let hex: String = hash.finalize()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tag = format!("randori-{flavor}:{hex}");
    let exists = Command::new("docker")
        .args(["image", "inspect", &tag])
        .output()
        .unwrap()
        .status
        .success();
    if !exists {
        let built = Command::new("bash")
            .arg(&script)
            .args([&tag, flavor])
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "building {tag}: {}",
            text(&built.stderr)
        );
    }
    tag
}

/// Builds the randori image (deploy/randori) around the binary under test.
pub fn build_randori_image(tag: &str) {
    let context = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("deploy/randori/Dockerfile"),
        context.path().join("Dockerfile"),
    )
    .unwrap();
    std::fs::copy(BIN, context.path().join("randori")).unwrap();
    let built = Command::new("docker")
        .args(["build", "-q", "--build-arg"])
        .arg(format!("RUNTIME_IMAGE={}", runtime_image()))
        .args(["-t", tag])
        .arg(context.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "docker build: {}",
        text(&built.stderr)
    );
}

/// Ids of the containers with `label`, whatever their state.
pub fn containers_with_label(label: &str) -> Vec<String> {
    docker_ps(&["-a", "--filter", &format!("label={label}")])
}

/// Ids of the containers with `label` in `status` (created, running, exited...).
pub fn containers_in_status(label: &str, status: &str) -> Vec<String> {
    docker_ps(&[
        "-a",
        "--no-trunc",
        "--filter",
        &format!("label={label}"),
        "--filter",
        &format!("status={status}"),
    ])
}

fn docker_ps(filters: &[&str]) -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "-q"])
        .args(filters)
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A name unique to this test process.
pub fn unique(name: &str) -> String {
    format!("{name}-{}", std::process::id())
}

/// Waits until a run is no longer running and returns it.
pub async fn wait_run(
    client: &mut ControlServiceClient<Channel>,
    run_id: &str,
    within: Duration,
) -> pb::GetRunResponse {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let r = client
            .get_run(pb::GetRunRequest {
                run_id: run_id.to_owned(),
            })
            .await
            .expect("get_run")
            .into_inner();
        if r.state != "running" {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "run {run_id} still running: {} nodes",
            r.nodes.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A loopback address free now, for a coordinator that must come back on the same port after
/// a restart.
pub fn free_listen_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("finding a free port")
        .port();
    format!("127.0.0.1:{port}")
}
