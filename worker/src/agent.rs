//! The worker component: register, lease, run, report; renew leases by heartbeat; drain on
//! shutdown. A coordinator restart costs nothing: the channel reconnects, running jobs keep
//! running, and heartbeats resume renewing their leases (re-registering if needed).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use randori_proto::auth::BearerToken;
use randori_proto::v1 as pb;
use randori_proto::v1::worker_service_client::WorkerServiceClient;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_stream::StreamExt;
use tokio_util::sync::CancellationToken;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::{Error, Result};
use crate::resources::{Claim, Ledger, Resources};
use crate::sandbox::disk::DiskQuotaChoice;
use crate::sandbox::{
    DockerSandbox, Limits, LiveChunk, LocalSandbox, RunOutcome, RunSpec, Sandbox,
};
use crate::task_cache::{Fetched, TaskCache};

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub coordinator: String,
    /// Stable across restarts: the coordinator keeps the worker's id by it, and the worker
    /// finds its own leftover containers by it.
    pub name: String,
    /// Its resources; a `disk_bytes` of 0 means the jobs filesystem's free space less
    /// `disk_reserve_bytes`, measured at start.
    pub total: Resources,
    /// Free space on the jobs filesystem that jobs never get: the worker leases no job whose
    /// disk limit would cut into it.
    pub disk_reserve_bytes: u64,
    /// How job directories' disk limits are kept (`sandbox::disk`).
    pub disk_quota: DiskQuotaChoice,
    /// Where a job's task data comes from.
    pub task_data: TaskDataSource,
    /// Where fetched task data is kept (by content hash), and how much of it at most.
    pub task_cache_dir: PathBuf,
    pub task_cache_bytes: u64,
    /// "docker" or "local".
    pub sandbox: String,
    pub image: String,
    pub jobs_dir: PathBuf,
    pub limits: Limits,
    /// Containers kept created ahead of their runs, per shape (task data, limits, GPUs): a run
    /// that finds one skips the creation. Each is used once. 0: create at the run.
    pub warm_containers: usize,
    /// Containers of other, dead workers on this Docker daemon, exited this long, are removed
    /// with their job directories (`DockerSandbox::reap_orphans`); checked every half of it.
    pub reap_after: Duration,
    /// How long a SIGTERM'd worker lets running jobs finish before handing them back.
    pub drain_timeout: Duration,
    /// The worker token, when the coordinator requires one.
    pub token: Option<String>,
    /// The CA of an `https://` coordinator, and this worker's certificate for mutual TLS.
    pub tls: randori_proto::tls::TlsFiles,
}

/// Where a job's task data (its `data_dir`) comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskDataSource {
    /// The directory itself when this host sees it (shared storage), else fetched.
    #[default]
    Auto,
    /// Always fetched from the coordinator into the task cache.
    Fetch,
}

impl TaskDataSource {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "fetch" => Some(Self::Fetch),
            _ => None,
        }
    }
}

impl WorkerConfig {
    fn validate(&self) -> Result<()> {
        if self.total.slots == 0 {
            return Err(Error::Config("--slots must be at least 1".into()));
        }
        if self.total.cpu_millis == 0 || self.total.memory_bytes == 0 {
            return Err(Error::Config("--cpus and --memory must be positive".into()));
        }
        if self.name.is_empty() {
            return Err(Error::Config("the worker name is empty".into()));
        }
        if !matches!(self.sandbox.as_str(), "docker" | "local") {
            return Err(Error::Config(format!(
                "unknown sandbox {:?}: use docker or local",
                self.sandbox
            )));
        }
        Ok(())
    }
}

/// The coordinator's worker service, every call carrying the worker token.
pub(crate) type CoordinatorClient = WorkerServiceClient<InterceptedService<Channel, BearerToken>>;

pub struct Worker {
    config: WorkerConfig,
    sandbox: Arc<Sandbox>,
    tasks: Arc<TaskCache>,
    client: CoordinatorClient,
    /// The Python packages its programs can import (`packages.rs`), reported at registration.
    packages: Arc<Vec<String>>,
    /// The runtime images it can run jobs in (its own first), each with its packages.
    images: Arc<Vec<pb::ImagePackages>>,
}

/// A job this worker holds.
struct Held {
    epoch: u64,
    /// Fired when the lease is lost: the run stops and nothing is reported.
    lost: CancellationToken,
}

/// State the lease loop, the heartbeat and the job tasks share.
struct Shared {
    ledger: Mutex<Ledger>,
    held: Mutex<HashMap<String, Held>>,
    worker_id: Mutex<String>,
    /// Signalled when a job ends (resources came free).
    job_ended: Notify,
}

impl Worker {
    /// Validates the config, prepares the sandbox (checking Docker and the image) and removes
    /// what an earlier run of this worker left behind. Connecting to the coordinator is lazy.
    pub async fn build(mut config: WorkerConfig) -> Result<Self> {
        config.validate()?;
        std::fs::create_dir_all(&config.jobs_dir).map_err(crate::error::io(format!(
            "creating {}",
            config.jobs_dir.display()
        )))?;
        let room = disk_room(&config)?;
        if config.total.disk_bytes == 0 || config.total.disk_bytes > room {
            config.total.disk_bytes = room;
        }
        let sandbox = match config.sandbox.as_str() {
            "docker" => {
                let s = DockerSandbox::connect(
                    &config.image,
                    &config.name,
                    config.jobs_dir.clone(),
                    config.limits,
                    config.warm_containers,
                    config.disk_quota,
                )
                .await?;
                let removed = s.remove_leftovers().await?;
                if removed > 0 {
                    tracing::warn!(removed, "removed containers left by an earlier run");
                }
                Sandbox::Docker(s)
            }
            _ => Sandbox::Local(LocalSandbox::new(config.jobs_dir.clone(), config.limits)?),
        };
        let channel = randori_proto::tls::endpoint(&config.coordinator, &config.tls)
            .map_err(Error::Config)?
            .connect_timeout(Duration::from_secs(5))
            .tcp_keepalive(Some(Duration::from_secs(10)))
            .connect_lazy();
        let token = BearerToken::new(config.token.as_deref())
            .map_err(|e| Error::Config(format!("the worker token: {e}")))?;
        let packages = Arc::new(crate::packages::installed(&sandbox, None).await);
        let mut images = vec![pb::ImagePackages {
            tag: config.image.clone(),
            packages: packages.to_vec(),
        }];
        for tag in sandbox.other_images().await {
            let packages = crate::packages::installed(&sandbox, Some(&tag)).await;
            images.push(pb::ImagePackages { tag, packages });
        }
        let tasks = Arc::new(TaskCache::new(
            config.task_cache_dir.clone(),
            config.task_cache_bytes,
        )?);
        Ok(Self {
            config,
            tasks,
            packages,
            images: Arc::new(images),
            sandbox: Arc::new(sandbox),
            client: WorkerServiceClient::with_interceptor(channel, token)
                .max_decoding_message_size(randori_proto::MAX_MESSAGE_BYTES)
                .max_encoding_message_size(randori_proto::MAX_MESSAGE_BYTES),
        })
    }

    /// Runs until `shutdown` (drain: finish or hand back running jobs) or `abort` (hand back
    /// at once).
    pub async fn run(self, shutdown: CancellationToken, abort: CancellationToken) -> Result<()> {
        let shared = Arc::new(Shared {
            ledger: Mutex::new(Ledger::new(self.config.total.clone())),
            held: Mutex::new(HashMap::new()),
            worker_id: Mutex::new(String::new()),
            job_ended: Notify::new(),
        });
        let Some(heartbeat_every) = self.register(&shared, &shutdown).await else {
            return Ok(());
        };
        let heartbeat_stop = CancellationToken::new();
        let heartbeat = tokio::spawn(self.clone_parts().heartbeat_loop(
            shared.clone(),
            heartbeat_every,
            shutdown.clone(),
            heartbeat_stop.clone(),
        ));
        let reaper = tokio::spawn(reap_orphans(
            self.sandbox.clone(),
            self.config.reap_after,
            heartbeat_stop.clone(),
        ));
        let mut jobs = JoinSet::new();
        self.lease_loop(&shared, &mut jobs, &shutdown, &abort).await;

        while jobs.try_join_next().is_some() {}
        tracing::info!(running = jobs.len(), "draining");
        let drained = tokio::time::timeout(self.config.drain_timeout, async {
            while jobs.join_next().await.is_some() {}
        });
        tokio::select! {
            r = drained => if r.is_err() {
                tracing::warn!("drain timeout: handing back running jobs");
                abort.cancel();
            },
            _ = abort.cancelled() => if !jobs.is_empty() {
                tracing::warn!(running = jobs.len(), "handing back running jobs");
            },
        }
        while jobs.join_next().await.is_some() {}
        self.sandbox.close().await;
        heartbeat_stop.cancel();
        let _ = heartbeat.await;
        let _ = reaper.await;
        Ok(())
    }

    fn clone_parts(&self) -> Parts {
        Parts {
            client: self.client.clone(),
            config: self.config.clone(),
            sandbox: self.sandbox.clone(),
            tasks: self.tasks.clone(),
            packages: self.packages.clone(),
            images: self.images.clone(),
        }
    }

    /// Registers, retrying until the coordinator answers; returns the heartbeat interval.
    async fn register(&self, shared: &Shared, shutdown: &CancellationToken) -> Option<Duration> {
        let parts = self.clone_parts();
        let mut backoff = Backoff::new();
        loop {
            match parts.register_once(shared, true).await {
                Ok(ttl) => return Some(ttl),
                Err(e) => tracing::warn!(error = %e, "registering with the coordinator; retrying"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = backoff.wait() => {}
            }
        }
    }

    async fn lease_loop(
        &self,
        shared: &Arc<Shared>,
        jobs: &mut JoinSet<()>,
        shutdown: &CancellationToken,
        abort: &CancellationToken,
    ) {
        let parts = self.clone_parts();
        let mut backoff = Backoff::new();
        while !shutdown.is_cancelled() {
            while jobs.try_join_next().is_some() {}
            let mut free = shared.ledger.lock().unwrap().free();
            // What the filesystem has now, whoever else wrote to it, bounds the booked share.
            free.disk_bytes = free.disk_bytes.min(disk_room(&self.config).unwrap_or(0));
            if free.slots == 0 {
                tokio::select! {
                    _ = shared.job_ended.notified() => {}
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
            let request = pb::LeaseRequest {
                worker_id: shared.worker_id.lock().unwrap().clone(),
                max_jobs: free.slots,
                free: Some(resources_to_pb(&free)),
                wait_ms: 10_000,
                images: self.images.iter().map(|i| i.tag.clone()).collect(),
            };
            let mut client = self.client.clone();
            let lease = client.lease(request);
            tokio::pin!(lease);
            let response = tokio::select! {
                r = &mut lease => r,
                _ = shutdown.cancelled() => {
                    // Jobs may already be claimed for this call: take them and hand them back
                    // rather than letting their leases expire.
                    if let Ok(r) = lease.await {
                        for job in r.into_inner().jobs {
                            parts.hand_back(shared, &job).await;
                        }
                    }
                    return;
                }
            };
            match response {
                Ok(r) => {
                    backoff.reset();
                    for job in r.into_inner().jobs {
                        parts.start_job(shared, jobs, job, abort);
                    }
                }
                Err(status) if status.code() == tonic::Code::NotFound => {
                    tracing::warn!("the coordinator does not know this worker; registering again");
                    let _ = parts.register_once(shared, false).await;
                }
                Err(status) => {
                    tracing::warn!(error = %status, "leasing; retrying");
                    tokio::select! {
                        _ = backoff.wait() => {}
                        _ = shutdown.cancelled() => return,
                    }
                }
            }
        }
    }
}

/// The cloneable parts job tasks and the heartbeat need.
#[derive(Clone)]
struct Parts {
    client: CoordinatorClient,
    config: WorkerConfig,
    sandbox: Arc<Sandbox>,
    tasks: Arc<TaskCache>,
    packages: Arc<Vec<String>>,
    images: Arc<Vec<pb::ImagePackages>>,
}

impl Parts {
    /// Registers once; returns the heartbeat interval the coordinator asks for. `fresh_start`:
    /// this process has never held a lease.
    async fn register_once(&self, shared: &Shared, fresh_start: bool) -> Result<Duration> {
        let hostname = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let r = self
            .client
            .clone()
            .register(pb::RegisterRequest {
                name: self.config.name.clone(),
                hostname,
                total: Some(resources_to_pb(&self.config.total)),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                sandbox: self.sandbox.kind().to_owned(),
                fresh_start,
                packages: self.packages.to_vec(),
                images: self.images.to_vec(),
            })
            .await?
            .into_inner();
        tracing::info!(worker_id = %r.worker_id, name = %self.config.name, "registered with the coordinator");
        *shared.worker_id.lock().unwrap() = r.worker_id;
        Ok(Duration::from_millis(r.heartbeat_interval_ms.max(100)))
    }

    async fn hand_back(&self, shared: &Shared, job: &pb::LeasedJob) {
        let worker_id = shared.worker_id.lock().unwrap().clone();
        let released = self
            .client
            .clone()
            .release(pb::ReleaseRequest {
                worker_id,
                job_id: job.job_id.clone(),
                epoch: job.epoch,
                reason: format!("worker {} is shutting down", self.config.name),
            })
            .await;
        if let Err(e) = released {
            tracing::warn!(job_id = %job.job_id, error = %e, "handing back a job; its lease will expire instead");
        }
    }

    fn start_job(
        &self,
        shared: &Arc<Shared>,
        jobs: &mut JoinSet<()>,
        job: pb::LeasedJob,
        abort: &CancellationToken,
    ) {
        let req = job.requirements.clone().unwrap_or_default();
        let claim = Claim {
            cpu_millis: req.cpu_millis,
            memory_bytes: req.memory_bytes,
            disk_bytes: req.disk_bytes,
            gpu_ids: job.gpu_ids.clone(),
        };
        let lost = CancellationToken::new();
        let reserved = shared.ledger.lock().unwrap().reserve(&job.job_id, claim);
        shared.held.lock().unwrap().insert(
            job.job_id.clone(),
            Held {
                epoch: job.epoch,
                lost: lost.clone(),
            },
        );
        let parts = self.clone();
        let shared = shared.clone();
        let abort = abort.clone();
        jobs.spawn(async move {
            let job_id = job.job_id.clone();
            let epoch = job.epoch;
            let result = match reserved {
                Ok(()) => parts.run_job(job, req, &lost, &abort).await,
                Err(e) => JobEnd::Infrastructure(format!("worker refused the lease: {e}")),
            };
            parts.finish(&shared, &job_id, epoch, result, &lost).await;
            shared.ledger.lock().unwrap().release(&job_id);
            shared.held.lock().unwrap().remove(&job_id);
            shared.job_ended.notify_one();
        });
    }

    async fn run_job(
        &self,
        job: pb::LeasedJob,
        req: pb::JobRequirements,
        lost: &CancellationToken,
        abort: &CancellationToken,
    ) -> JobEnd {
        let eval = job.eval.unwrap_or_default();
        let shared = PathBuf::from(&eval.data_dir);
        // Held for the run: a cached task is not evicted under it.
        let (data_dir, _cached) =
            if self.config.task_data == TaskDataSource::Auto && shared.is_dir() {
                (shared, None)
            } else {
                match self.tasks.get(&self.client, &eval.data_dir).await {
                    Ok((cached, fetched)) => {
                        if let Fetched::Downloaded { bytes, millis } = fetched {
                            tracing::info!(data_dir = %eval.data_dir, bytes, millis,
                                "fetched a task's data from the coordinator");
                        }
                        (cached.dir.clone(), Some(cached))
                    }
                    Err(e) => {
                        return JobEnd::Infrastructure(format!(
                            "task data {} is not on worker {} and fetching it failed: {e}",
                            eval.data_dir, self.config.name
                        ));
                    }
                }
            };
        let spec = RunSpec {
            job_id: job.job_id.clone(),
            epoch: job.epoch,
            node_id: eval.node_id,
            task_id: eval.task_id,
            image: match req.image.as_str() {
                "" => self.config.image.clone(),
                image => image.to_owned(),
            },
            data_dir,
            code: eval.code,
            cpu_millis: req.cpu_millis,
            memory_bytes: req.memory_bytes,
            disk_bytes: req.disk_bytes,
            timeout: Duration::from_millis(req.timeout_ms),
            gpu_ids: job.gpu_ids.clone(),
            live: Some(self.stream_output(&job.job_id, job.epoch)),
        };
        tracing::info!(job_id = %spec.job_id, epoch = spec.epoch, attempt = job.attempt, gpus = ?spec.gpu_ids, "running job");
        // The job's span lives in the coordinator; the container's joins it through the
        // W3C context the lease carried.
        let span = tracing::info_span!("container", job.id = %spec.job_id, node.id = %spec.node_id,
            task = %spec.task_id, worker = %self.config.name, sandbox = self.sandbox.kind(),
            attempt = job.attempt, exit_code = tracing::field::Empty,
            timed_out = tracing::field::Empty, oom_killed = tracing::field::Empty);
        if let Some(parent) = randori_telemetry::propagate::extract(&job.trace_context) {
            let _ = span.set_parent(randori_telemetry::propagate::parent_context(&parent));
        }
        let stop = CancellationToken::new();
        let run = self.sandbox.run(&spec, &stop).instrument(span.clone());
        tokio::pin!(run);
        let result = tokio::select! {
            r = &mut run => r,
            _ = lost.cancelled() => { stop.cancel(); let _ = run.await; return JobEnd::Lost; }
            _ = abort.cancelled() => { stop.cancel(); let _ = run.await; return JobEnd::HandBack; }
        };
        match result {
            Ok(outcome) => {
                if let Some(code) = outcome.exit_code {
                    span.record("exit_code", code);
                }
                span.record("timed_out", outcome.timed_out);
                span.record("oom_killed", outcome.oom_killed);
                JobEnd::Outcome(Box::new(outcome), job.gpu_ids)
            }
            Err(Error::Cancelled) => JobEnd::Lost,
            Err(e) => JobEnd::Infrastructure(e.to_string()),
        }
    }

    /// A channel whose chunks go to the coordinator as live output (AppendOutput) until the
    /// run drops its sender. Best effort: output is in the final report either way.
    fn stream_output(&self, job_id: &str, epoch: u64) -> tokio::sync::mpsc::Sender<LiveChunk> {
        let (tx, rx) = tokio::sync::mpsc::channel::<LiveChunk>(64);
        let job_id = job_id.to_owned();
        let chunks =
            tokio_stream::wrappers::ReceiverStream::new(rx).map(move |c| pb::OutputChunk {
                job_id: job_id.clone(),
                epoch,
                stream: if c.stderr {
                    pb::OutputStream::Stderr
                } else {
                    pb::OutputStream::Stdout
                }
                .into(),
                offset: c.offset,
                data: c.data,
            });
        let mut client = self.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.append_output(chunks).await {
                tracing::debug!(error = %e, "live output stream ended");
            }
        });
        tx
    }

    /// Tells the coordinator how the job ended, retrying while it is unreachable, until the
    /// report is accepted, refused (the lease is no longer ours) or the lease is lost.
    async fn finish(
        &self,
        shared: &Shared,
        job_id: &str,
        epoch: u64,
        end: JobEnd,
        lost: &CancellationToken,
    ) {
        let worker_id = shared.worker_id.lock().unwrap().clone();
        let mut backoff = Backoff::new();
        loop {
            let mut client = self.client.clone();
            let sent = match &end {
                JobEnd::Lost => {
                    tracing::warn!(%job_id, epoch, "lease lost; the run was stopped and nothing is reported");
                    return;
                }
                JobEnd::HandBack => client
                    .release(pb::ReleaseRequest {
                        worker_id: worker_id.clone(),
                        job_id: job_id.to_owned(),
                        epoch,
                        reason: format!("worker {} shut down", self.config.name),
                    })
                    .await
                    .map(|_| ()),
                JobEnd::Outcome(o, gpu_ids) => {
                    client
                        .report_result(pb::ReportResultRequest {
                            worker_id: worker_id.clone(),
                            job_id: job_id.to_owned(),
                            epoch,
                            result: Some(pb::report_result_request::Result::Outcome(
                                outcome_to_pb(o, gpu_ids, &self.config.name, self.sandbox.kind()),
                            )),
                        })
                        .await
                        .map(|_| ())
                }
                JobEnd::Infrastructure(error) => client
                    .report_result(pb::ReportResultRequest {
                        worker_id: worker_id.clone(),
                        job_id: job_id.to_owned(),
                        epoch,
                        result: Some(pb::report_result_request::Result::InfrastructureError(
                            error.clone(),
                        )),
                    })
                    .await
                    .map(|_| ()),
            };
            match sent {
                Ok(()) => {
                    tracing::info!(%job_id, epoch, "job reported");
                    return;
                }
                Err(s)
                    if matches!(
                        s.code(),
                        tonic::Code::FailedPrecondition
                            | tonic::Code::NotFound
                            | tonic::Code::InvalidArgument
                    ) =>
                {
                    tracing::warn!(%job_id, epoch, error = %s, "report refused");
                    return;
                }
                Err(s) => tracing::warn!(%job_id, epoch, error = %s, "reporting; retrying"),
            }
            tokio::select! {
                _ = backoff.wait() => {}
                _ = lost.cancelled() => {
                    tracing::warn!(%job_id, epoch, "lease lost before the report got through");
                    return;
                }
            }
        }
    }

    async fn heartbeat_loop(
        self,
        shared: Arc<Shared>,
        interval: Duration,
        draining: CancellationToken,
        stop: CancellationToken,
    ) {
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let held: Vec<pb::HeldLease> = shared
                .held
                .lock()
                .unwrap()
                .iter()
                .map(|(id, h)| pb::HeldLease {
                    job_id: id.clone(),
                    epoch: h.epoch,
                })
                .collect();
            let request = pb::HeartbeatRequest {
                worker_id: shared.worker_id.lock().unwrap().clone(),
                held,
                draining: draining.is_cancelled(),
            };
            match self.client.clone().heartbeat(request).await {
                Ok(r) => {
                    let held = shared.held.lock().unwrap();
                    for l in r.into_inner().lost {
                        if let Some(h) = held.get(&l.job_id).filter(|h| h.epoch == l.epoch) {
                            tracing::warn!(job_id = %l.job_id, epoch = l.epoch, "lease lost; stopping the job");
                            h.lost.cancel();
                        }
                    }
                }
                Err(s) if s.code() == tonic::Code::NotFound => {
                    tracing::warn!("the coordinator does not know this worker; registering again");
                    let _ = self.register_once(&shared, false).await;
                }
                Err(s) => tracing::warn!(error = %s, "heartbeat failed; running jobs continue"),
            }
        }
    }
}

enum JobEnd {
    /// What the sandbox recorded, and the GPUs the run had.
    Outcome(Box<RunOutcome>, Vec<u32>),
    Infrastructure(String),
    /// The lease went to someone else: report nothing.
    Lost,
    /// Shutting down before the job ended: give it back.
    HandBack,
}

fn resources_to_pb(r: &Resources) -> pb::Resources {
    pb::Resources {
        slots: r.slots,
        cpu_millis: r.cpu_millis,
        memory_bytes: r.memory_bytes,
        gpu_ids: r.gpu_ids.clone(),
        disk_bytes: r.disk_bytes,
    }
}

/// Removes what dead workers on this Docker daemon left behind, every half of `after`, until
/// `stop`.
async fn reap_orphans(sandbox: Arc<Sandbox>, after: Duration, stop: CancellationToken) {
    let Sandbox::Docker(docker) = &*sandbox else {
        return;
    };
    let every = (after / 2).max(Duration::from_secs(1));
    loop {
        match docker.reap_orphans(after).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "removed containers of dead workers"),
            Err(e) => tracing::warn!(error = %e, "looking for dead workers' containers"),
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// The jobs filesystem's free space less the reserve.
fn disk_room(config: &WorkerConfig) -> Result<u64> {
    let available = crate::sandbox::disk::available(&config.jobs_dir)?;
    Ok(available.saturating_sub(config.disk_reserve_bytes))
}

fn outcome_to_pb(o: &RunOutcome, gpu_ids: &[u32], worker_name: &str, sandbox: &str) -> pb::Outcome {
    pb::Outcome {
        exit_code: o.exit_code,
        timed_out: o.timed_out,
        oom_killed: o.oom_killed,
        duration_ms: o.duration.as_millis() as u64,
        peak_memory_bytes: o.peak_memory_bytes,
        stdout_head: o.stdout_head.clone(),
        stdout_tail: o.stdout_tail.clone(),
        stdout_bytes: o.stdout_bytes,
        stderr_head: o.stderr_head.clone(),
        stderr_tail: o.stderr_tail.clone(),
        stderr_bytes: o.stderr_bytes,
        submission: o.submission.clone(),
        submission_too_large: o.submission_too_large,
        sandbox: sandbox.to_owned(),
        worker_name: worker_name.to_owned(),
        gpu_ids: gpu_ids.to_vec(),
        disk_limit_exceeded: o.disk_limit_exceeded,
    }
}

/// Exponential backoff from 200ms to 5s.
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: Duration::from_millis(200),
        }
    }

    fn reset(&mut self) {
        self.next = Duration::from_millis(200);
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(Duration::from_secs(5));
    }
}
