//! The local sandbox: a plain subprocess, for debugging only. It is NOT isolated: the program
//! sees the host, its network and its files. Paths come through environment variables
//! (`RANDORI_DATA_DIR`, `RANDORI_SUBMISSION_DIR`) since /home/data does not exist here. Its
//! disk limit is the watchdog's, over the job directory only.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::disk::DiskQuota;
use super::job_dir::JobDir;
use super::{Limits, LiveTap, RunOutcome, RunSpec, disk_note};
use crate::error::{Error, Result, io};
use crate::output::OutputCapture;

pub struct LocalSandbox {
    jobs_dir: PathBuf,
    limits: Limits,
    python: String,
}

impl LocalSandbox {
    pub fn new(jobs_dir: PathBuf, limits: Limits) -> Result<Self> {
        tracing::warn!("the local sandbox does not isolate programs: use it for debugging only");
        std::fs::create_dir_all(&jobs_dir)
            .map_err(io(format!("creating {}", jobs_dir.display())))?;
        Ok(Self {
            jobs_dir,
            limits,
            python: std::env::var("RANDORI_PYTHON").unwrap_or_else(|_| "python3".to_owned()),
        })
    }

    /// Runs `python3 -c program` once (a start-up probe) and returns its stdout.
    pub async fn probe(&self, program: &str) -> Result<String> {
        let out = Command::new(&self.python)
            .arg("-c")
            .arg(program)
            .kill_on_drop(true)
            .output()
            .await
            .map_err(io(format!("running {}", self.python)))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub async fn run(&self, spec: &RunSpec, cancel: &CancellationToken) -> Result<RunOutcome> {
        let dir = JobDir::create(
            &self.jobs_dir,
            &format!("{}-{}", spec.job_id, spec.epoch),
            DiskQuota::Watchdog,
            spec.disk_bytes,
        )?;
        dir.write_program(&spec.code, None)?;
        let gpus: Vec<String> = spec.gpu_ids.iter().map(u32::to_string).collect();
        let mut child = Command::new(&self.python)
            .arg(dir.code().join("solution.py"))
            .current_dir(dir.work())
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", dir.work())
            .env("TMPDIR", dir.tmp())
            .env("COMPETITION_ID", &spec.task_id)
            .env("RANDORI_NODE_ID", &spec.node_id)
            .env("RANDORI_DATA_DIR", &spec.data_dir)
            .env("RANDORI_SUBMISSION_DIR", dir.submission())
            .env("CUDA_VISIBLE_DEVICES", gpus.join(","))
            .env(
                "OMP_NUM_THREADS",
                spec.cpu_millis.div_ceil(1000).max(1).to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("starting {}", self.python)))?;
        let started = Instant::now();
        let pgid = child.id().map(|p| p as i32);
        let live = |stderr| LiveTap::new(spec, stderr, self.limits.live_output_bytes);
        let out = tokio::spawn(capture(child.stdout.take(), self.limits, live(false)));
        let err = tokio::spawn(capture(child.stderr.take(), self.limits, live(true)));
        let kill_group = || {
            if let Some(pgid) = pgid {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pgid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        };
        let (mut timed_out, mut disk_full) = (false, false);
        let status = tokio::select! {
            s = child.wait() => Some(s.map_err(io("waiting for the program"))?),
            _ = tokio::time::sleep(spec.timeout) => { timed_out = true; None }
            _ = dir.disk_full() => { disk_full = true; None }
            _ = cancel.cancelled() => { kill_group(); return Err(Error::Cancelled); }
        };
        // Whatever the program left running in its group goes with it, as in a container.
        kill_group();
        let status = match status {
            Some(s) => s,
            None => child.wait().await.map_err(io("waiting for the program"))?,
        };
        let duration = started.elapsed();
        let (stdout_head, stdout_tail, stdout_bytes) = out
            .await
            .unwrap_or_else(|_| OutputCapture::new(0, 0))
            .into_parts();
        let disk_limit_exceeded = disk_full || dir.disk_exceeded();
        let mut err = err.await.unwrap_or_else(|_| OutputCapture::new(0, 0));
        if disk_limit_exceeded {
            err.push(disk_note(dir.disk_limit()).as_bytes());
        }
        let (stderr_head, stderr_tail, stderr_bytes) = err.into_parts();
        let (submission, submission_too_large) =
            dir.read_submission(self.limits.submission_bytes)?;
        Ok(RunOutcome {
            exit_code: status.code().or_else(|| {
                use std::os::unix::process::ExitStatusExt;
                status.signal().map(|s| 128 + s)
            }),
            timed_out,
            oom_killed: false,
            duration,
            peak_memory_bytes: None,
            stdout_head,
            stdout_tail,
            stdout_bytes,
            stderr_head,
            stderr_tail,
            stderr_bytes,
            submission,
            submission_too_large,
            disk_limit_exceeded,
        })
    }
}

async fn capture(
    pipe: Option<impl AsyncRead + Unpin>,
    limits: Limits,
    mut live: LiveTap,
) -> OutputCapture {
    let mut capture = OutputCapture::new(limits.output_head_bytes, limits.output_tail_bytes);
    let Some(mut pipe) = pipe else { return capture };
    let mut buf = vec![0u8; 64 << 10];
    while let Ok(n) = pipe.read(&mut buf).await {
        if n == 0 {
            break;
        }
        capture.push(&buf[..n]);
        live.push(&buf[..n]);
    }
    capture
}
