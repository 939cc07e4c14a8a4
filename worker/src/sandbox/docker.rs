//! The Docker sandbox: one hardened container per run, created from `container_spec`, output
//! read through the attach stream into bounded buffers, killed at the timeout, always removed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    AttachContainerOptions, KillContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StatsOptions, WaitContainerOptions,
};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::container_spec::{LABEL_MANAGED, LABEL_WORKER, container_spec};
use super::job_dir::JobDir;
use super::{Limits, LiveTap, RunOutcome, RunSpec, SANDBOX_UID};
use crate::error::{Error, Result};
use crate::output::OutputCapture;

pub struct DockerSandbox {
    docker: Docker,
    image: String,
    worker_name: String,
    user: String,
    jobs_dir: PathBuf,
    limits: Limits,
}

impl DockerSandbox {
    /// Connects to the daemon and checks that the image exists.
    pub async fn connect(
        image: &str,
        worker_name: &str,
        jobs_dir: PathBuf,
        limits: Limits,
    ) -> Result<Self> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| Error::DockerUnavailable(e.to_string()))?
            .negotiate_version()
            .await
            .map_err(|e| Error::DockerUnavailable(e.to_string()))?;
        docker
            .ping()
            .await
            .map_err(|e| Error::DockerUnavailable(e.to_string()))?;
        if docker.inspect_image(image).await.is_err() {
            return Err(Error::ImageMissing(image.to_owned()));
        }
        // As root, programs run as the image's unprivileged user; otherwise as ourselves, which
        // is unprivileged already and can clean up what the program wrote.
        let user = if nix::unistd::Uid::effective().is_root() {
            format!("{SANDBOX_UID}:{SANDBOX_UID}")
        } else {
            format!(
                "{}:{}",
                nix::unistd::Uid::effective(),
                nix::unistd::Gid::effective()
            )
        };
        std::fs::create_dir_all(&jobs_dir)
            .map_err(crate::error::io(format!("creating {}", jobs_dir.display())))?;
        Ok(Self {
            docker,
            image: image.to_owned(),
            worker_name: worker_name.to_owned(),
            user,
            jobs_dir,
            limits,
        })
    }

    /// Removes every container this worker left behind (it was killed mid-job) and their
    /// job directories; returns how many containers went.
    pub async fn remove_leftovers(&self) -> Result<usize> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![
                format!("{LABEL_MANAGED}=true"),
                format!("{LABEL_WORKER}={}", self.worker_name),
            ],
        )]);
        let leftovers = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await?;
        for c in &leftovers {
            if let Some(id) = &c.id {
                tracing::warn!(container = %id, "removing a container left behind by an earlier run of this worker");
                self.remove(id).await;
            }
        }
        if let Ok(entries) = std::fs::read_dir(&self.jobs_dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        Ok(leftovers.len())
    }

    pub async fn run(&self, spec: &RunSpec, cancel: &CancellationToken) -> Result<RunOutcome> {
        let dir = JobDir::create(
            &self.jobs_dir,
            &format!("{}-{}", spec.job_id, spec.epoch),
            &spec.code,
        )?;
        let cs = container_spec(
            spec,
            &self.image,
            &self.worker_name,
            &self.user,
            dir.root(),
            &self.limits,
        );
        let created = self
            .docker
            .create_container(
                Some(bollard::query_parameters::CreateContainerOptions {
                    name: Some(cs.name.clone()),
                    ..Default::default()
                }),
                cs.body,
            )
            .instrument(tracing::info_span!("create", image = %self.image))
            .await?;
        let id = created.id;
        let result = self.run_created(&id, spec, &dir, cancel).await;
        self.remove(&id).await;
        result
    }

    async fn run_created(
        &self,
        id: &str,
        spec: &RunSpec,
        dir: &JobDir,
        cancel: &CancellationToken,
    ) -> Result<RunOutcome> {
        let attached = self
            .docker
            .attach_container(
                id,
                Some(AttachContainerOptions {
                    stream: true,
                    stdout: true,
                    stderr: true,
                    ..Default::default()
                }),
            )
            .await?;
        let limits = self.limits;
        let mut live_out = LiveTap::new(spec, false, limits.live_output_bytes);
        let mut live_err = LiveTap::new(spec, true, limits.live_output_bytes);
        let reader = tokio::spawn(async move {
            let mut out = OutputCapture::new(limits.output_head_bytes, limits.output_tail_bytes);
            let mut err = OutputCapture::new(limits.output_head_bytes, limits.output_tail_bytes);
            let mut stream = attached.output;
            while let Some(Ok(chunk)) = stream.next().await {
                match chunk {
                    bollard::container::LogOutput::StdErr { message } => {
                        err.push(&message);
                        live_err.push(&message);
                    }
                    other => {
                        let bytes = other.into_bytes();
                        out.push(&bytes);
                        live_out.push(&bytes);
                    }
                }
            }
            (out, err)
        });
        let started = Instant::now();
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .instrument(tracing::info_span!("start"))
            .await?;
        let peak_bytes = Arc::new(AtomicU64::new(0));
        let peak = tokio::spawn(sample_peak_memory(
            self.docker.clone(),
            id.to_owned(),
            peak_bytes.clone(),
        ));

        let mut wait = self.docker.wait_container(
            id,
            Some(WaitContainerOptions {
                condition: "not-running".to_owned(),
            }),
        );
        let ran = async {
            tokio::select! {
                _ = wait.next() => Some(false),
                _ = tokio::time::sleep(spec.timeout) => {
                    self.kill(id).await;
                    // Wait for the kill to land before reading the final state.
                    let _ = tokio::time::timeout(Duration::from_secs(30), wait.next()).await;
                    Some(true)
                }
                _ = cancel.cancelled() => {
                    self.kill(id).await;
                    None
                }
            }
        }
        .instrument(tracing::info_span!("run"))
        .await;
        let Some(timed_out) = ran else {
            peak.abort();
            reader.abort();
            return Err(Error::Cancelled);
        };
        let duration = started.elapsed();
        async {
            let state = self
                .docker
                .inspect_container(
                    id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await?
                .state
                .unwrap_or_default();
            // The attach stream ends with the container; do not wait forever on a wedged daemon.
            let (out, err) = match tokio::time::timeout(Duration::from_secs(10), reader).await {
                Ok(Ok(captures)) => captures,
                _ => (OutputCapture::new(0, 0), OutputCapture::new(0, 0)),
            };
            peak.abort();
            let peak_memory_bytes = Some(peak_bytes.load(Ordering::Relaxed)).filter(|&b| b > 0);
            let oom_killed = state.oom_killed.unwrap_or(false);
            let (submission, submission_too_large) =
                dir.read_submission(self.limits.submission_bytes)?;
            let (stdout_head, stdout_tail, stdout_bytes) = out.into_parts();
            let (stderr_head, stderr_tail, stderr_bytes) = err.into_parts();
            Ok(RunOutcome {
                exit_code: state.exit_code.map(|c| c as i32),
                timed_out,
                oom_killed,
                duration,
                peak_memory_bytes: if oom_killed {
                    Some(spec.memory_bytes)
                } else {
                    peak_memory_bytes
                },
                stdout_head,
                stdout_tail,
                stdout_bytes,
                stderr_head,
                stderr_tail,
                stderr_bytes,
                submission,
                submission_too_large,
            })
        }
        .instrument(tracing::info_span!("collect"))
        .await
    }

    async fn kill(&self, id: &str) {
        let options = KillContainerOptions {
            signal: "SIGKILL".to_owned(),
        };
        if let Err(e) = self.docker.kill_container(id, Some(options)).await {
            tracing::debug!(container = %id, error = %e, "kill (container may have ended already)");
        }
    }

    async fn remove(&self, id: &str) {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => {}
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => tracing::warn!(container = %id, error = %e, "removing a container"),
        }
    }
}

/// Records into `peak` the highest memory use Docker reports while the container runs,
/// sampled every 200ms with one-shot stats (a streamed sample comes only after a second, too
/// late for short programs). cgroup v1 reports the peak itself; on v2 the samples' maximum
/// stands in for it. Runs until aborted.
async fn sample_peak_memory(docker: Docker, id: String, peak: Arc<AtomicU64>) {
    loop {
        let mut stats = docker.stats(
            &id,
            Some(StatsOptions {
                stream: false,
                one_shot: true,
            }),
        );
        if let Some(Ok(s)) = stats.next().await {
            let seen = s
                .memory_stats
                .and_then(|m| m.max_usage.or(m.usage))
                .unwrap_or(0);
            peak.fetch_max(seen, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
