//! The Docker sandbox: one hardened container per run, created from `container_spec` (at the
//! run, or ahead of it by the warm pool), output read through the attach stream into bounded
//! buffers, killed at the timeout, always removed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{
    AttachContainerOptions, KillContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StatsOptions, WaitContainerOptions,
};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use super::container_spec::{LABEL_MANAGED, LABEL_WORKER, Shape, container_spec, run_env};
use super::disk::{DiskQuota, DiskQuotaChoice};
use super::job_dir::JobDir;
use super::{Limits, LiveTap, RunOutcome, RunSpec, SANDBOX_UID, disk_note};
use crate::error::{Error, Result};
use crate::output::OutputCapture;

pub struct DockerSandbox {
    factory: Arc<Factory>,
    warm: Arc<WarmPool>,
    /// Removals of used containers (which run while the worker reports, not before) and the
    /// warm pool's creations: `close` waits for them all.
    background: TaskTracker,
}

/// What creating a container takes: the daemon, the image, whose it is, and the limits.
struct Factory {
    docker: Docker,
    image: String,
    worker_name: String,
    user: String,
    jobs_dir: PathBuf,
    limits: Limits,
    disk_quota: DiskQuota,
}

/// A container created (not started) over a job directory of its own, waiting for a program.
struct Prepared {
    id: String,
    dir: JobDir,
}

/// Containers created ahead, per shape, so that a run skips the creation: each is used by
/// one run and removed after it, never reused. After each run of a shape the pool creates its
/// replacement in the background, up to `per_shape` ready.
struct WarmPool {
    per_shape: usize,
    shapes: Mutex<WarmShapes>,
}

#[derive(Default)]
struct WarmShapes {
    ready: HashMap<Shape, Vec<Prepared>>,
    creating: HashMap<Shape, usize>,
    closed: bool,
}

impl Factory {
    async fn prepare(&self, shape: &Shape) -> Result<Prepared> {
        let name = format!("randori-{}", uuid::Uuid::new_v4().simple());
        let dir = JobDir::create(&self.jobs_dir, &name, self.disk_quota, shape.disk_bytes)?;
        let cs = container_spec(
            shape,
            name,
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
            .instrument(tracing::info_span!("create", image = %shape.image))
            .await?;
        Ok(Prepared {
            id: created.id,
            dir,
        })
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

    /// Every container (running or not) matching `filters`.
    async fn list(
        &self,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<bollard::models::ContainerSummary>> {
        Ok(self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await?)
    }

    /// Runs `cmd` once in a locked-down container of the image with `binds` and returns its
    /// stdout (start-up checks: no job, no warm pool, no span).
    async fn run_once(&self, image: &str, cmd: Vec<String>, binds: Vec<String>) -> Result<String> {
        let labels = HashMap::from([
            (LABEL_MANAGED.to_owned(), "true".to_owned()),
            (LABEL_WORKER.to_owned(), self.worker_name.clone()),
        ]);
        let body = bollard::models::ContainerCreateBody {
            image: Some(image.to_owned()),
            cmd: Some(cmd),
            entrypoint: Some(vec![]),
            user: Some(self.user.clone()),
            labels: Some(labels),
            network_disabled: Some(true),
            host_config: Some(bollard::models::HostConfig {
                binds: Some(binds),
                network_mode: Some("none".to_owned()),
                readonly_rootfs: Some(true),
                cap_drop: Some(vec!["ALL".to_owned()]),
                security_opt: Some(vec!["no-new-privileges".to_owned()]),
                pids_limit: Some(self.limits.pids),
                memory: Some(512 << 20),
                memory_swap: Some(512 << 20),
                ..Default::default()
            }),
            ..Default::default()
        };
        let id = self
            .docker
            .create_container(
                None::<bollard::query_parameters::CreateContainerOptions>,
                body,
            )
            .await?
            .id;
        let printed = async {
            self.docker
                .start_container(
                    &id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await?;
            let mut wait = self
                .docker
                .wait_container(&id, None::<WaitContainerOptions>);
            // A non-zero exit arrives as an error: the output still says what happened.
            let _ = tokio::time::timeout(Duration::from_secs(60), wait.next()).await;
            let options = bollard::query_parameters::LogsOptions {
                stdout: true,
                ..Default::default()
            };
            let mut logs = self.docker.logs(&id, Some(options));
            let mut out = Vec::new();
            while let Some(chunk) = logs.next().await {
                out.extend_from_slice(&chunk?.into_bytes());
            }
            Ok::<_, Error>(String::from_utf8_lossy(&out).into_owned())
        }
        .await;
        self.remove(&id).await;
        printed
    }

    /// Whether a container sees what is written in a loop filesystem mounted in the jobs
    /// directory: a daemon in another mount namespace sees the empty directory beneath.
    async fn daemon_sees_job_mounts(&self) -> bool {
        let name = format!("randori-disk-check-{}", uuid::Uuid::new_v4().simple());
        let Ok(dir) = JobDir::create(&self.jobs_dir, &name, DiskQuota::LoopFs, 1 << 20) else {
            return false;
        };
        if std::fs::write(dir.work().join("seen"), "yes").is_err() {
            return false;
        }
        let cmd = vec!["cat".into(), "/check/seen".into()];
        let binds = vec![format!("{}:/check:ro", dir.work().display())];
        matches!(self.run_once(&self.image, cmd, binds).await, Ok(out) if out.trim() == "yes")
    }
}

impl WarmPool {
    fn take(&self, shape: &Shape) -> Option<Prepared> {
        self.shapes.lock().unwrap().ready.get_mut(shape)?.pop()
    }

    /// Starts creating what the shape lacks, in the background.
    fn refill(self: &Arc<Self>, factory: &Arc<Factory>, shape: &Shape, tasks: &TaskTracker) {
        let lacking = {
            let mut shapes = self.shapes.lock().unwrap();
            let have = shapes.ready.get(shape).map_or(0, Vec::len)
                + shapes.creating.get(shape).copied().unwrap_or(0);
            let lacking = self.per_shape.saturating_sub(have);
            if shapes.closed || lacking == 0 {
                return;
            }
            *shapes.creating.entry(shape.clone()).or_default() += lacking;
            lacking
        };
        for _ in 0..lacking {
            let (pool, factory, shape) = (self.clone(), factory.clone(), shape.clone());
            tasks.spawn(async move {
                let prepared = factory.prepare(&shape).await;
                let unwanted = {
                    let mut shapes = pool.shapes.lock().unwrap();
                    if let Some(n) = shapes.creating.get_mut(&shape) {
                        *n -= 1;
                    }
                    match prepared {
                        Ok(p) if !shapes.closed => {
                            shapes.ready.entry(shape).or_default().push(p);
                            None
                        }
                        Ok(p) => Some(p),
                        Err(e) => {
                            tracing::warn!(error = %e, "creating a warm container");
                            None
                        }
                    }
                };
                if let Some(p) = unwanted {
                    factory.remove(&p.id).await;
                }
            });
        }
    }

    /// Stops refilling and hands back every ready container, to be removed.
    fn close(&self) -> Vec<Prepared> {
        let mut shapes = self.shapes.lock().unwrap();
        shapes.closed = true;
        shapes.ready.drain().flat_map(|(_, ready)| ready).collect()
    }
}

impl DockerSandbox {
    /// Connects to the daemon, checks that the image exists and chooses how job directories'
    /// disk limits are kept. With `warm_per_shape` > 0, that many containers of each shape
    /// seen are kept created ahead of their runs.
    pub async fn connect(
        image: &str,
        worker_name: &str,
        jobs_dir: PathBuf,
        limits: Limits,
        warm_per_shape: usize,
        disk_quota: DiskQuotaChoice,
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
        let quota = super::disk::choose(disk_quota, &jobs_dir)?;
        let mut factory = Factory {
            docker,
            image: image.to_owned(),
            worker_name: worker_name.to_owned(),
            user,
            jobs_dir,
            limits,
            disk_quota: quota,
        };
        if factory.disk_quota == DiskQuota::LoopFs && !factory.daemon_sees_job_mounts().await {
            if disk_quota == DiskQuotaChoice::LoopFs {
                return Err(Error::Config(
                    "--disk-quota loop: the Docker daemon does not see filesystems mounted in the jobs directory (is the worker in a container without shared mount propagation?)".into(),
                ));
            }
            tracing::warn!(
                "the Docker daemon does not see the worker's mounts; job directories' disk limit is a watchdog"
            );
            factory.disk_quota = DiskQuota::Watchdog;
        }
        tracing::info!(
            mechanism = factory.disk_quota.name(),
            "job directories' disk limit"
        );
        Ok(Self {
            factory: Arc::new(factory),
            warm: Arc::new(WarmPool {
                per_shape: warm_per_shape,
                shapes: Mutex::new(WarmShapes::default()),
            }),
            background: TaskTracker::new(),
        })
    }

    /// Removes the warm containers (none is created after) and waits for the removals of
    /// used ones still under way: a closed sandbox leaves no container behind.
    pub async fn close(&self) {
        for p in self.warm.close() {
            self.factory.remove(&p.id).await;
        }
        self.background.close();
        self.background.wait().await;
    }

    /// Runs `python3 -c program` once in a locked-down container of the image (no network,
    /// no mounts, read-only root, no capabilities, 512 MiB, 60 s) and returns what it printed
    /// on stdout. For start-up probes (the package listing): no job, no warm pool, no span.
    pub async fn probe(&self, image: Option<&str>, program: &str) -> Result<String> {
        let cmd = vec!["python3".into(), "-c".into(), program.into()];
        let image = image.unwrap_or(&self.factory.image);
        self.factory.run_once(image, cmd, Vec::new()).await
    }

    /// The worker's own image.
    pub fn image(&self) -> &str {
        &self.factory.image
    }

    /// The other runtime images on the daemon (labelled as randori's), by tag; empty when
    /// they cannot be listed.
    pub async fn other_images(&self) -> Vec<String> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{RUNTIME_IMAGE_LABEL}=randori-runtime")],
        )]);
        let listed = self
            .factory
            .docker
            .list_images(Some(bollard::query_parameters::ListImagesOptions {
                filters: Some(filters),
                ..Default::default()
            }))
            .await;
        let images = match listed {
            Ok(images) => images,
            Err(e) => {
                tracing::warn!(error = %e, "listing the runtime images");
                return Vec::new();
            }
        };
        let mut tags: Vec<String> = images
            .into_iter()
            .flat_map(|i| i.repo_tags)
            .filter(|t| t != &self.factory.image && !t.ends_with(":<none>"))
            .collect();
        tags.sort();
        tags
    }

    /// Removes every container this worker left behind (it was killed mid-job) and their
    /// job directories; returns how many containers went.
    pub async fn remove_leftovers(&self) -> Result<usize> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![
                format!("{LABEL_MANAGED}=true"),
                format!("{LABEL_WORKER}={}", self.factory.worker_name),
            ],
        )]);
        let leftovers = self.factory.list(filters).await?;
        for c in &leftovers {
            if let Some(id) = &c.id {
                tracing::warn!(container = %id, "removing a container left behind by an earlier run of this worker");
                self.factory.remove(id).await;
            }
        }
        // Job directories, their loop filesystems unmounted first, and the filesystems' files.
        if let Ok(entries) = std::fs::read_dir(&self.factory.jobs_dir) {
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    super::disk::unmount(&path);
                    let _ = std::fs::remove_dir_all(&path);
                } else {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        Ok(leftovers.len())
    }

    /// Removes the containers other workers on this Docker daemon left behind when they died
    /// (killed mid-job: the in-container backstop ended the program, nobody removed its
    /// container), once exited for `after`, and their job directories where this worker sees
    /// them. Its own containers are its own business (`remove_leftovers`, `run`). Returns
    /// how many went.
    pub async fn reap_orphans(&self, after: Duration) -> Result<usize> {
        let f = &self.factory;
        let filters = HashMap::from([
            ("label".to_owned(), vec![format!("{LABEL_MANAGED}=true")]),
            (
                "status".to_owned(),
                vec!["exited".to_owned(), "dead".to_owned()],
            ),
        ]);
        let exited = f.list(filters).await?;
        let mut reaped = 0;
        for c in exited {
            let labels = c.labels.unwrap_or_default();
            let Some(id) = c.id else { continue };
            if labels.get(LABEL_WORKER) == Some(&f.worker_name) {
                continue;
            }
            let inspected = f
                .docker
                .inspect_container(
                    &id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await?;
            let finished = inspected
                .state
                .and_then(|s| s.finished_at)
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok());
            let exited_for = finished
                .and_then(|t| (chrono::Utc::now() - t.to_utc()).to_std().ok())
                .unwrap_or_default();
            if exited_for < after {
                continue;
            }
            tracing::warn!(container = %id, worker = labels.get(LABEL_WORKER).map_or("", String::as_str),
                exited_secs = exited_for.as_secs(), "removing a container a dead worker left behind");
            f.remove(&id).await;
            reaped += 1;
            let name = inspected.name.unwrap_or_default();
            let work = c
                .mounts
                .unwrap_or_default()
                .into_iter()
                .find(|m| m.destination.as_deref() == Some("/home/work"))
                .and_then(|m| m.source);
            if let Some(root) = work.as_deref().map(Path::new).and_then(Path::parent) {
                remove_orphan_job_dir(root, name.trim_start_matches('/'));
            }
        }
        Ok(reaped)
    }

    pub async fn run(&self, spec: &RunSpec, cancel: &CancellationToken) -> Result<RunOutcome> {
        let shape = Shape::of(spec);
        let warm = self.warm.take(&shape);
        let was_warm = warm.is_some();
        let prepared = match warm {
            Some(p) => p,
            None => self.factory.prepare(&shape).await?,
        };
        tracing::debug!(container = %prepared.id, job_id = %spec.job_id, warm = was_warm, "container for the run");
        let result = match prepared.dir.write_program(&spec.code, Some(&run_env(spec))) {
            Ok(()) => {
                self.run_created(&prepared.id, spec, &prepared.dir, cancel)
                    .await
            }
            Err(e) => Err(e),
        };
        // The outcome is complete (inspected, submission read): the container and its
        // directory go while the worker reports.
        // The replacement warm container is created after, not while the program starts.
        let (factory, warm, background) = (
            self.factory.clone(),
            self.warm.clone(),
            self.background.clone(),
        );
        self.background.spawn(async move {
            factory.remove(&prepared.id).await;
            drop(prepared.dir);
            warm.refill(&factory, &shape, &background);
        });
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
            .factory
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
        let limits = self.factory.limits;
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
        self.factory
            .docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .instrument(tracing::info_span!("start"))
            .await?;
        let peak_bytes = Arc::new(AtomicU64::new(0));
        let peak = tokio::spawn(sample_peak_memory(
            self.factory.docker.clone(),
            id.to_owned(),
            peak_bytes.clone(),
        ));

        let mut wait = self.factory.docker.wait_container(
            id,
            Some(WaitContainerOptions {
                condition: "not-running".to_owned(),
            }),
        );
        let ran = async {
            let stopped = tokio::select! {
                _ = wait.next() => return Some(Stop::Ended),
                _ = tokio::time::sleep(spec.timeout) => Stop::TimedOut,
                _ = dir.disk_full() => Stop::DiskFull,
                _ = cancel.cancelled() => {
                    self.kill(id).await;
                    return None;
                }
            };
            self.kill(id).await;
            // Wait for the kill to land before reading the final state.
            let _ = tokio::time::timeout(Duration::from_secs(30), wait.next()).await;
            Some(stopped)
        }
        .instrument(tracing::info_span!("run"))
        .await;
        let Some(stopped) = ran else {
            peak.abort();
            reader.abort();
            return Err(Error::Cancelled);
        };
        let timed_out = stopped == Stop::TimedOut;
        // A program that hit the limit and then exited on its own (ENOSPC) exceeded it too.
        let disk_limit_exceeded = stopped == Stop::DiskFull || dir.disk_exceeded();
        let duration = started.elapsed();
        async {
            let state = self
                .factory
                .docker
                .inspect_container(
                    id,
                    None::<bollard::query_parameters::InspectContainerOptions>,
                )
                .await?
                .state
                .unwrap_or_default();
            // The attach stream ends with the container; do not wait forever on a wedged daemon.
            let (out, mut err) = match tokio::time::timeout(Duration::from_secs(10), reader).await {
                Ok(Ok(captures)) => captures,
                _ => (OutputCapture::new(0, 0), OutputCapture::new(0, 0)),
            };
            if disk_limit_exceeded {
                err.push(disk_note(dir.disk_limit()).as_bytes());
            }
            peak.abort();
            let peak_memory_bytes = Some(peak_bytes.load(Ordering::Relaxed)).filter(|&b| b > 0);
            let oom_killed = state.oom_killed.unwrap_or(false);
            let (submission, submission_too_large) =
                dir.read_submission(self.factory.limits.submission_bytes)?;
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
                disk_limit_exceeded,
            })
        }
        .instrument(tracing::info_span!("collect"))
        .await
    }

    async fn kill(&self, id: &str) {
        let options = KillContainerOptions {
            signal: "SIGKILL".to_owned(),
        };
        if let Err(e) = self.factory.docker.kill_container(id, Some(options)).await {
            tracing::debug!(container = %id, error = %e, "kill (container may have ended already)");
        }
    }
}

/// The label every randori runtime image carries (any flavour).
const RUNTIME_IMAGE_LABEL: &str = "org.opencontainers.image.title";

/// Removes a dead worker's job directory `root` (and its loop filesystem), if this worker
/// sees it and it is the one of the container named `name`: job directories are named after
/// their containers, so nothing else is ever removed.
fn remove_orphan_job_dir(root: &Path, name: &str) {
    if name.is_empty() || root.file_name() != Some(std::ffi::OsStr::new(name)) || !root.is_dir() {
        return;
    }
    super::disk::unmount(root);
    let image = root.with_extension("img");
    if image.is_file() {
        let _ = std::fs::remove_file(&image);
    }
    if let Err(e) = std::fs::remove_dir_all(root) {
        tracing::warn!(dir = %root.display(), error = %e, "removing a dead worker's job directory");
    }
}

/// Why a run stopped, when the worker did not stop it for good (`cancel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Ended,
    TimedOut,
    DiskFull,
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
