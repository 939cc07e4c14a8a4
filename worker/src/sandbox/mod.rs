//! Sandboxes run one node program and record what happened. `docker` is the real one (the
//! container contract in ARCHITECTURE.md); `local` is a plain subprocess for debugging, not isolated.

mod container_spec;
pub mod disk;
mod docker;
mod job_dir;
mod local;

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use container_spec::{ContainerSpec, SANDBOX_UID, Shape, container_spec, run_env};
pub use docker::DockerSandbox;
pub use local::LocalSandbox;

use crate::error::Result;

/// Caps on what is kept of a run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub output_head_bytes: usize,
    pub output_tail_bytes: usize,
    pub submission_bytes: u64,
    pub pids: i64,
    /// Live output forwarded per stream while a program runs.
    pub live_output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            output_head_bytes: 32 << 10,
            output_tail_bytes: 64 << 10,
            submission_bytes: 256 << 20,
            pids: 256,
            live_output_bytes: 1 << 20,
        }
    }
}

/// One program to run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub job_id: String,
    pub epoch: u64,
    pub node_id: String,
    pub task_id: String,
    /// The runtime image (a tag) it runs in.
    pub image: String,
    pub data_dir: PathBuf,
    pub code: String,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    /// What the program may write in all (`disk.rs`).
    pub disk_bytes: u64,
    pub timeout: Duration,
    pub gpu_ids: Vec<u32>,
    /// Where live output goes while the program runs (best effort, capped).
    pub live: Option<tokio::sync::mpsc::Sender<LiveChunk>>,
}

/// A piece of a running program's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveChunk {
    pub stderr: bool,
    /// Byte offset of `data` within its stream.
    pub offset: u64,
    pub data: Vec<u8>,
}

/// Forwards the first `cap` bytes of one stream as live chunks. Best effort: a chunk the
/// receiver has no room for is dropped rather than slowing the program down.
pub(crate) struct LiveTap {
    tx: Option<tokio::sync::mpsc::Sender<LiveChunk>>,
    stderr: bool,
    offset: u64,
    cap: u64,
}

impl LiveTap {
    pub(crate) fn new(spec: &RunSpec, stderr: bool, cap: u64) -> Self {
        Self {
            tx: spec.live.clone(),
            stderr,
            offset: 0,
            cap,
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) {
        let offset = self.offset;
        self.offset += data.len() as u64;
        let (Some(tx), true) = (&self.tx, offset < self.cap) else {
            return;
        };
        let take = data.len().min((self.cap - offset) as usize);
        let _ = tx.try_send(LiveChunk {
            stderr: self.stderr,
            offset,
            data: data[..take].to_vec(),
        });
    }
}

/// The line appended to a program's stderr when it was stopped at its disk limit: what the
/// node's outcome, `node show` and an LLM's Debug prompt show.
pub(crate) fn disk_note(limit: u64) -> String {
    format!(
        "\nrandori: disk limit exceeded: the program wrote {} MiB or more (its job directory, scratch and /tmp) and was stopped\n",
        limit >> 20
    )
}

/// What a sandbox recorded.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub duration: Duration,
    pub peak_memory_bytes: Option<u64>,
    pub stdout_head: Vec<u8>,
    pub stdout_tail: Vec<u8>,
    pub stdout_bytes: u64,
    pub stderr_head: Vec<u8>,
    pub stderr_tail: Vec<u8>,
    pub stderr_bytes: u64,
    pub submission: Option<Vec<u8>>,
    pub submission_too_large: bool,
    /// Stopped for writing as much as its disk limit.
    pub disk_limit_exceeded: bool,
}

pub enum Sandbox {
    Docker(DockerSandbox),
    Local(LocalSandbox),
}

impl Sandbox {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Docker(_) => "docker",
            Self::Local(_) => "local",
        }
    }

    /// Removes what the sandbox keeps ahead of runs (warm containers).
    pub async fn close(&self) {
        if let Self::Docker(s) = self {
            s.close().await;
        }
    }

    /// Runs `python3 -c program` once where node programs run (in `image`, else the
    /// sandbox's own) and returns its stdout (start-up probes, like the package listing; not
    /// a job).
    pub async fn probe(&self, image: Option<&str>, program: &str) -> Result<String> {
        match self {
            Self::Docker(s) => s.probe(image, program).await,
            Self::Local(s) => s.probe(program).await,
        }
    }

    /// The runtime images, besides its own, this sandbox can run programs in (Docker: the
    /// runtime images on the daemon, by their label; local: none).
    pub async fn other_images(&self) -> Vec<String> {
        match self {
            Self::Docker(s) => s.other_images().await,
            Self::Local(_) => Vec::new(),
        }
    }

    /// The image a run without one of its own uses.
    pub fn default_image(&self) -> &str {
        match self {
            Self::Docker(s) => s.image(),
            Self::Local(_) => "",
        }
    }

    /// Runs the program to its end, its timeout, or `cancel` (then `Error::Cancelled`).
    pub async fn run(&self, spec: &RunSpec, cancel: &CancellationToken) -> Result<RunOutcome> {
        match self {
            Self::Docker(s) => s.run(spec, cancel).await,
            Self::Local(s) => s.run(spec, cancel).await,
        }
    }
}
