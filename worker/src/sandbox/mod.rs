//! Sandboxes run one node program and record what happened. `docker` is the real one (the
//! container contract of DESIGN.md); `local` is a plain subprocess for debugging, not isolated.

mod container_spec;
mod docker;
mod job_dir;
mod local;

use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use container_spec::{ContainerSpec, SANDBOX_UID, container_spec};
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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            output_head_bytes: 32 << 10,
            output_tail_bytes: 64 << 10,
            submission_bytes: 256 << 20,
            pids: 256,
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
    pub data_dir: PathBuf,
    pub code: String,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub timeout: Duration,
    pub gpu_ids: Vec<u32>,
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

    /// Runs the program to its end, its timeout, or `cancel` (then `Error::Cancelled`).
    pub async fn run(&self, spec: &RunSpec, cancel: &CancellationToken) -> Result<RunOutcome> {
        match self {
            Self::Docker(s) => s.run(spec, cancel).await,
            Self::Local(s) => s.run(spec, cancel).await,
        }
    }
}
