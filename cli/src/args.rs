//! The command line; README.md documents each command and flag.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::CoordinatorArg;

use crate::units::{parse_cpus, parse_duration, parse_gpu_ids, parse_memory, parse_size_or_zero};

#[derive(Parser)]
#[command(
    name = "randori",
    version,
    about = "Orchestrates AI research agents that search over ML code"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the coordinator (gRPC) against a Postgres database.
    Coordinator(CoordinatorArgs),
    /// Run a worker that leases jobs and runs them in sandboxes.
    Worker(WorkerArgs),
    /// Run a sweep file end to end on an embedded stack (Postgres, coordinator, local
    /// workers), show its progress and print its report. Running it again resumes it.
    Run(RunArgs),
    /// Start the embedded stack and keep it running (Ctrl-C stops it).
    Up(UpArgs),
    /// Sweeps on a running coordinator: submit, follow, control, report.
    #[command(subcommand)]
    Sweep(SweepCommand),
    /// Show a run's search tree.
    Tree(TreeArgs),
    /// Nodes: code, plan, operator, parents, logs, scores.
    #[command(subcommand)]
    Node(NodeCommand),
    /// Evaluate one program against a task through the real path (job, lease, sandbox).
    Eval(EvalArgs),
    /// The runtime image programs run in.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Tasks in the MLE-bench layout.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Performance harnesses: randori against a baseline measured in the same run.
    #[command(subcommand)]
    Bench(BenchCommand),
}

impl Command {
    pub fn is_daemon(&self) -> bool {
        matches!(self, Self::Coordinator(_) | Self::Worker(_) | Self::Up(_))
    }

    /// The `service.name` this process's spans carry.
    pub fn service_name(&self) -> &'static str {
        match self {
            Self::Coordinator(_) => "randori-coordinator",
            Self::Worker(_) => "randori-worker",
            _ => "randori",
        }
    }
}

#[derive(Args)]
pub struct CoordinatorArgs {
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Where the dashboard, /metrics and /healthz are served.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    #[command(flatten)]
    pub tokens: TokenArgs,
    /// Serve without tokens on a non-loopback address, on purpose (refused otherwise).
    #[arg(long)]
    pub insecure: bool,
    /// Serve gRPC over TLS: the coordinator's certificate chain (PEM).
    #[arg(long, env = "RANDORI_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// The key of --tls-cert (PEM).
    #[arg(long, env = "RANDORI_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Demand client certificates signed by this CA (mutual TLS).
    #[arg(long, env = "RANDORI_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// How long a lease lasts without a heartbeat.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub lease_ttl: Duration,
    /// Attempts a job gets before it fails.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// How long this coordinator's hold on a run it drives lasts without renewal; another (or
    /// a restarted one) takes the run over after it.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub run_lease_ttl: Duration,
    /// Image for tasks' own grading programs (default: the grading image, `randori image tag
    /// --grading`).
    #[arg(long)]
    pub grading_image: Option<String>,
}

#[derive(Args)]
pub struct WorkerArgs {
    #[arg(
        long,
        env = "RANDORI_COORDINATOR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub coordinator: String,
    /// Stable name of this worker (default: the hostname).
    #[arg(long)]
    pub name: Option<String>,
    /// Jobs run at once (default: the number of CPUs).
    #[arg(long)]
    pub slots: Option<u32>,
    /// GPU ids this worker owns, e.g. 0,1.
    #[arg(long, value_parser = parse_gpu_ids, default_value = "")]
    // The full path keeps clap from reading this as a repeated flag: one value, parsed whole.
    pub gpus: std::vec::Vec<u32>,
    /// CPUs to hand out (default: all), fractions allowed.
    #[arg(long, value_parser = parse_cpus)]
    pub cpus: Option<u32>,
    /// Memory to hand out, e.g. 32G (default: 90% of the host's).
    #[arg(long, value_parser = parse_memory)]
    pub memory: Option<u64>,
    #[arg(long, default_value = "docker", value_parser = ["docker", "local"])]
    pub sandbox: String,
    /// Runtime image: a flavour (cpu, dl: the image `randori image build --flavor F` makes) or
    /// a tag (default: cpu).
    #[arg(long)]
    pub image: Option<String>,
    /// Where job directories go (default: /var/tmp/randori-worker/NAME).
    #[arg(long)]
    pub jobs_dir: Option<PathBuf>,
    /// Room for jobs' disk limits, e.g. 200G (default: the jobs filesystem's free space less
    /// --disk-reserve).
    #[arg(long, value_parser = parse_memory)]
    pub disk: Option<u64>,
    /// Free space on the jobs filesystem no job may take: the worker leases no job whose disk
    /// limit would cut into it.
    #[arg(long, default_value = "2G", value_parser = parse_size_or_zero)]
    pub disk_reserve: u64,
    /// How a job's disk limit is kept: loop (an ext4 filesystem of its own: needs root and
    /// loop devices), watchdog (its usage is summed each second), or auto (loop where it works).
    #[arg(long, default_value = "auto", value_parser = ["auto", "loop", "watchdog"])]
    pub disk_quota: String,
    /// On SIGTERM, how long running jobs may finish before they are handed back.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Containers kept created ahead of their runs, per shape (task data, CPU, memory, GPUs):
    /// a run that finds one starts without waiting for the creation. Each is used once.
    #[arg(long, default_value_t = 0)]
    pub warm_containers: usize,
    /// Where a job's task data comes from: auto (the task's own directory when this host sees
    /// it, else fetched from the coordinator) or fetch (always fetched: no shared storage).
    #[arg(long, default_value = "auto", value_parser = ["auto", "fetch"])]
    pub task_data: String,
    /// Where fetched task data is cached by content hash (default: /var/tmp/randori-tasks/NAME).
    #[arg(long)]
    pub task_cache: Option<PathBuf>,
    /// The task cache's cap; the least recently used tasks no job holds go first.
    #[arg(long, default_value = "50G", value_parser = parse_memory)]
    pub task_cache_size: u64,
    /// Containers that other workers on this Docker daemon left when they died are removed,
    /// with their job directories, once exited this long.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub reap_after: Duration,
    /// The worker token the coordinator was given as RANDORI_WORKER_TOKEN.
    #[arg(long, env = "RANDORI_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// The embedded stack, as `run` and `up` start it.
#[derive(Args)]
pub struct StackArgs {
    /// Local workers; they split this host's CPUs and memory.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub workers: u32,
    /// Use this Postgres instead of the private one under RANDORI_HOME.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    #[arg(long, default_value = "docker", value_parser = ["docker", "local"])]
    pub sandbox: String,
    /// Runtime image: a flavour (cpu, dl), built when absent, or a tag (default: cpu).
    #[arg(long)]
    pub image: Option<String>,
    #[command(flatten)]
    pub tokens: TokenArgs,
}

/// The tokens a coordinator demands: both, or neither.
#[derive(Args, Clone, Default)]
pub struct TokenArgs {
    /// The token clients present (control calls, the dashboard, /metrics).
    #[arg(long, env = "RANDORI_CLIENT_TOKEN", hide_env_values = true)]
    pub client_token: Option<String>,
    /// The token workers present (lease, heartbeat, report).
    #[arg(long, env = "RANDORI_WORKER_TOKEN", hide_env_values = true)]
    pub worker_token: Option<String>,
}

impl TokenArgs {
    /// Both tokens, neither, or an error naming the missing one.
    pub fn tokens(&self) -> anyhow::Result<Option<randori_coordinator::auth::Tokens>> {
        let set = |t: &Option<String>| t.clone().filter(|t| !t.trim().is_empty());
        match (set(&self.client_token), set(&self.worker_token)) {
            (None, None) => Ok(None),
            (Some(client), Some(worker)) => {
                Ok(Some(randori_coordinator::auth::Tokens { client, worker }))
            }
            (Some(_), None) => anyhow::bail!(
                "RANDORI_CLIENT_TOKEN is set but RANDORI_WORKER_TOKEN is not: set both, or neither"
            ),
            (None, Some(_)) => anyhow::bail!(
                "RANDORI_WORKER_TOKEN is set but RANDORI_CLIENT_TOKEN is not: set both, or neither"
            ),
        }
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// The sweep file (TOML; see examples/quickstart.toml).
    pub file: PathBuf,
    #[command(flatten)]
    pub stack: StackArgs,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// When the sweep has ended, write each run's final pick into DIR for `mlebench grade`
    /// (as `sweep export --mlebench` does; DIR must be empty or absent).
    #[arg(long, value_name = "DIR")]
    pub export_mlebench: Option<PathBuf>,
    /// Where the dashboard is served while the sweep runs (port 0: any free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub http: SocketAddr,
    /// When the file's sweep exists and some of its runs failed, reopen them (as `sweep
    /// retry` does) and finish them.
    #[arg(long)]
    pub retry_failed: bool,
}

#[derive(Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub stack: StackArgs,
    /// Where the coordinator's gRPC listens.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Where the dashboard, /metrics and /healthz are served.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Task directory (MLE-bench layout: prepared/public holds what the program sees).
    #[arg(long)]
    pub task: PathBuf,
    /// The program to run.
    #[arg(long)]
    pub code: PathBuf,
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    #[arg(long, default_value = "2G", value_parser = parse_memory)]
    pub memory: u64,
    /// What the program may write in all (job directory, scratch, /tmp); past it, it is
    /// stopped and the node is buggy.
    #[arg(long, default_value = "10G", value_parser = parse_memory)]
    pub disk: u64,
    #[arg(long, default_value = "1", value_parser = parse_cpus)]
    pub cpus: u32,
    #[arg(long, default_value_t = 0)]
    pub gpus: u32,
    #[arg(long)]
    pub json: bool,
    /// Use this coordinator instead of starting a private stack.
    #[arg(long, env = "RANDORI_COORDINATOR")]
    pub coordinator: Option<String>,
    #[arg(long, default_value = "docker", value_parser = ["docker", "local"])]
    pub sandbox: String,
    /// Runtime image: a flavour (cpu, dl), built when absent, or a tag (default: cpu).
    #[arg(long)]
    pub image: Option<String>,
}

#[derive(Subcommand)]
pub enum SweepCommand {
    /// Submit a sweep file; prints the sweep's id (the same file again: the same sweep).
    Submit {
        file: PathBuf,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Check a sweep file without queueing anything: every key, task, policy and operator
    /// setting, then one tiny call per LLM endpoint and model (key, model, parameters, price).
    Check {
        file: PathBuf,
        /// Only the checks that need no network.
        #[arg(long)]
        offline: bool,
    },
    /// Print a complete sweep file: every key, commented, with its default.
    Example,
    /// Every sweep, newest first.
    List {
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Counts of runs, nodes and jobs.
    Status {
        id: String,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        /// Also each run: state, nodes, and working time against its wall budget.
        #[arg(long)]
        runs: bool,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Live progress until the sweep ends.
    Watch {
        id: String,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// End every run and job of the sweep (running containers are stopped).
    Cancel {
        id: String,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Stop growing the sweep: no new nodes or leases; running evaluations finish.
    Pause {
        id: String,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Continue a paused sweep.
    Resume {
        id: String,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Reopen failed runs from their stored nodes: the journal keeps every LLM answer, so
    /// nothing answered is asked (or paid) again.
    Retry {
        id: String,
        /// Only this run (repeatable); without it, every failed run of the sweep.
        #[arg(long, value_name = "RUN_ID")]
        run: Vec<String>,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Each run's final pick for MLE-bench (`--mlebench DIR`: the submissions, a JSONL for
    /// `mlebench grade --submission`, and randori's grades of them in MLE-bench's report
    /// format), and every node for notebooks (`--nodes FILE.csv`: one row per node).
    #[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["mlebench", "nodes"])))]
    Export {
        id: String,
        /// The directory to write (created; it must be empty).
        #[arg(long, value_name = "DIR")]
        mlebench: Option<PathBuf>,
        /// The file to write, CSV or Parquet by its extension, one row per node: run, task,
        /// policy, operator set, seed, step, operator, parents, status, why buggy, scores,
        /// medal, timings, worker, LLM usage.
        #[arg(long, value_name = "FILE.csv|FILE.parquet")]
        nodes: Option<PathBuf>,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Medal rates and scores per task × policy (mean ± SEM over seeds), and per run.
    Report {
        id: String,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// The sweep's figures as SVG files: medal rate over nodes and over working time per
    /// policy, per task the best validation score and the pick's test score over nodes and
    /// validation against test of every ok node, and the oracle gap.
    Plot {
        id: String,
        /// The directory to write them to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
    /// Sweeps side by side: each arm's (sweep and policy's) any-medal rate per task and
    /// overall, and its difference from the first arm with a bootstrap 95% interval over seeds.
    Compare {
        /// Two or more sweeps; the first one's (first) policy is the baseline.
        #[arg(required = true, num_args = 2..)]
        ids: Vec<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
        /// Bootstrap resamples.
        #[arg(long, default_value_t = randori_report::compare::DEFAULT_RESAMPLES)]
        resamples: u32,
        /// The bootstrap's RNG seed: the same seed gives the same intervals.
        #[arg(long, default_value_t = randori_report::compare::DEFAULT_SEED)]
        seed: u64,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Table,
    Md,
    Json,
    Csv,
    /// One self-contained page with the tables and every figure (`sweep report` only).
    Html,
}

#[derive(Args)]
pub struct TreeArgs {
    pub run_id: String,
    #[arg(long, value_enum, default_value_t = TreeFormat::Text)]
    pub format: TreeFormat,
    #[command(flatten)]
    pub coordinator: CoordinatorArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TreeFormat {
    Text,
    Dot,
    Json,
    Html,
}

#[derive(Subcommand)]
pub enum NodeCommand {
    /// A node's code, plan, operator, parents, evaluation, logs and scores.
    Show {
        node_id: String,
        /// One JSON object on stdout.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        coordinator: CoordinatorArg,
    },
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// No-op jobs through the full path against the raw SQL ceiling, and the time from
    /// enqueue until an idle worker holds a job. Uses the private Postgres under RANDORI_HOME.
    Dispatch(BenchDispatchArgs),
    /// A trivial program from lease to result through a real worker's Docker sandbox, against
    /// a bare `docker run --rm` of the same image.
    Sandbox(BenchSandboxArgs),
    /// Fills a fresh database with a finished sweep of many runs and nodes and times the
    /// status, report and tree queries.
    Scale(BenchScaleArgs),
}

#[derive(Args)]
pub struct BenchScaleArgs {
    #[arg(long, default_value_t = 10_000)]
    pub runs: u32,
    #[arg(long, default_value_t = 100)]
    pub nodes_per_run: u32,
    /// Times each query is measured.
    #[arg(long, default_value_t = 20)]
    pub samples: u32,
    /// Greedy runs reopened as if their coordinator died, for the resume measurement (at most
    /// a third of --runs are greedy).
    #[arg(long, default_value_t = 1_000)]
    pub active: u32,
    /// A real task for the reopened runs, so that resuming includes their next step (e.g.
    /// tasks/mini/taxi-fare); without it only the takeover is timed.
    #[arg(long)]
    pub task_dir: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchSandboxArgs {
    /// Measurements of each (after one unmeasured warm-up of each).
    #[arg(long, default_value_t = 20)]
    pub samples: u32,
    /// The task the trivial program runs against.
    #[arg(long, default_value = "tasks/mini/spooky-authors")]
    pub task: PathBuf,
    /// Runtime image: a flavour (cpu, dl), built when absent, or a tag (default: cpu).
    #[arg(long)]
    pub image: Option<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BenchDispatchArgs {
    /// No-op jobs per throughput measurement.
    #[arg(long, default_value_t = 2000)]
    pub jobs: u32,
    /// Workers (gRPC clients that run nothing), and connections of the raw ceiling.
    #[arg(long, default_value_t = 4)]
    pub workers: u32,
    /// Jobs a worker asks for per lease.
    #[arg(long, default_value_t = 8)]
    pub batch: u32,
    /// Jobs enqueued one at a time to idle workers.
    #[arg(long, default_value_t = 200)]
    pub latency_samples: u32,
    /// The task the no-op jobs name (their reports are graded against it).
    #[arg(long, default_value = "tasks/mini/spooky-authors")]
    pub task: PathBuf,
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum TaskCommand {
    /// List the tasks under DIR (default: tasks), or with --mlebench every competition of
    /// the MLE-bench install: prepared or not, its leaderboard, and the grader it will use.
    List {
        #[arg(default_value = "tasks")]
        dir: PathBuf,
        #[arg(long)]
        mlebench: bool,
        /// The MLE-bench checkout (with --mlebench).
        #[arg(long, env = "MLEBENCH_REPO")]
        repo: Option<PathBuf>,
        /// MLE-bench's data directory (default: MLE-bench's, ~/.cache/mle-bench/data).
        #[arg(long, env = "MLEBENCH_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Check a task directory: config, files, answers, leaderboard, and that its sample
    /// submission grades.
    Validate { dir: PathBuf },
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// Build a runtime image (cpu: docker build where a registry is reachable, else offline
    /// from Debian packages; dl: the cpu image plus pinned wheels from PyPI); does nothing when
    /// it exists.
    Build {
        #[arg(long)]
        tag: Option<String>,
        /// Rebuild even when the image exists.
        #[arg(long)]
        force: bool,
        /// What node programs can import: cpu (numpy, pandas, scikit-learn, Pillow) or dl
        /// (adds torch, torchvision, timm, transformers, lightgbm, xgboost, catboost, OpenCV,
        /// librosa).
        #[arg(long, value_enum, default_value = "cpu")]
        flavor: crate::image::Flavor,
        /// Build the grading image instead: the cpu image plus what MLE-bench's graders
        /// import (scikit-learn 1.5, pandas 2.2, numpy 1.26), fetched with the host's pip.
        #[arg(long, conflicts_with = "flavor")]
        grading: bool,
    },
    /// Print a runtime image's tag (the cpu flavour's by default).
    Tag {
        #[arg(long, value_enum, default_value = "cpu")]
        flavor: crate::image::Flavor,
        /// The grading image's tag instead.
        #[arg(long, conflicts_with = "flavor")]
        grading: bool,
    },
    /// List the runtime images on this host: flavour, size, and how many packages their
    /// manifest lists.
    List {
        /// Print each image's whole manifest (`name==version` per line).
        #[arg(long)]
        manifest: bool,
        /// One JSON array on stdout, manifests included.
        #[arg(long)]
        json: bool,
    },
}
