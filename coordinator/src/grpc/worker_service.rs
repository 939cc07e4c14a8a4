//! WorkerService: registration, long-poll leasing, heartbeats and fenced reports.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use randori_proto::v1 as pb;
use randori_proto::v1::worker_service_server::WorkerService;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert;
use super::status_from;
use crate::error::Error;
use crate::grading::Graders;
use crate::metrics::Metrics;
use crate::model::{JobState, LeaseToken, NodeGrade, Outcome, WorkerRegistration};
use crate::store::{Completion, GradingInput, JobStore};
use crate::task_data::{Manifest, TaskData};
use crate::traces::job_context;
use crate::wakeups::Wakeups;
use randori_telemetry::propagate::parent_context;
use std::sync::Arc;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

/// The longest a Lease call waits for work before answering with none.
const MAX_LEASE_WAIT: Duration = Duration::from_secs(30);

pub struct WorkerApi {
    pub store: JobStore,
    pub graders: Graders,
    pub wakeups: Wakeups,
    pub lease_ttl: Duration,
    /// How often a waiting Lease polls in case a notification was lost.
    pub poll_interval: Duration,
    pub metrics: Arc<Metrics>,
    pub task_data: TaskData,
}

/// Bytes per `TaskFileChunk`.
const TASK_CHUNK_BYTES: usize = 1 << 20;

impl WorkerApi {
    /// The manifest of a job's data directory; refused for a directory no job names.
    async fn task_manifest(&self, data_dir: &str) -> Result<Arc<Manifest>, Status> {
        if !self
            .store
            .data_dir_known(data_dir)
            .await
            .map_err(status_from)?
        {
            return Err(Status::not_found(format!(
                "no job names the data directory {data_dir:?}"
            )));
        }
        self.task_data
            .manifest(std::path::Path::new(data_dir))
            .await
            .map_err(status_from)
    }
}

/// A worker's report of one job, parsed.
struct Report {
    lease: LeaseToken,
    result: ReportedResult,
}

enum ReportedResult {
    /// The program ran (whatever it did): its outcome and the submission it wrote, if any.
    Ran(Box<Outcome>, Option<Vec<u8>>),
    /// The worker could not run the job (image missing, Docker down).
    Infrastructure(String),
}

impl Report {
    fn parse(r: pb::ReportResultRequest) -> Result<Self, Status> {
        let lease = LeaseToken {
            job_id: convert::uuid("job_id", &r.job_id).map_err(status_from)?,
            epoch: r.epoch,
        };
        let result = match r.result {
            Some(pb::report_result_request::Result::Outcome(o)) => {
                let (outcome, submission) = convert::outcome(o);
                ReportedResult::Ran(Box::new(outcome), submission)
            }
            Some(pb::report_result_request::Result::InfrastructureError(error)) => {
                ReportedResult::Infrastructure(error)
            }
            None => return Err(Status::invalid_argument("report carries no result")),
        };
        Ok(Self { lease, result })
    }
}

/// A refusal the worker must accept (its lease is gone, the job unknown); any other error is
/// transient and fails the whole call, so that the worker retries it.
fn refusal(e: Error) -> Result<Error, Status> {
    match e {
        Error::StaleLease { .. } | Error::NotFound(_) => Ok(e),
        other => Err(status_from(other)),
    }
}

impl WorkerApi {
    /// Records a batch of reports: the programs that ran are graded and completed together,
    /// in one statement. One verdict per report, in order: `Ok`, or the refusal.
    async fn record(&self, reports: Vec<Report>) -> Result<Vec<Result<(), Error>>, Status> {
        let ran: Vec<(LeaseToken, &Outcome, Option<&[u8]>)> = reports
            .iter()
            .filter_map(|r| match &r.result {
                ReportedResult::Ran(o, s) => Some((r.lease, &**o, s.as_deref())),
                ReportedResult::Infrastructure(_) => None,
            })
            .collect();
        let mut ran_verdicts = self.complete(&ran).await?.into_iter();
        let mut verdicts = Vec::with_capacity(reports.len());
        for r in &reports {
            let verdict = match &r.result {
                ReportedResult::Ran(..) => ran_verdicts.next().expect("a verdict per run"),
                ReportedResult::Infrastructure(error) => self.retry_or_fail(r.lease, error).await?,
            };
            if let Err(e) = &verdict {
                tracing::warn!(job_id = %r.lease.job_id, epoch = r.lease.epoch, error = %e, "report refused");
            }
            verdicts.push(verdict);
        }
        Ok(verdicts)
    }

    /// Grades the programs that ran and records them, fenced, in one statement.
    async fn complete(
        &self,
        ran: &[(LeaseToken, &Outcome, Option<&[u8]>)],
    ) -> Result<Vec<Result<(), Error>>, Status> {
        if ran.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = ran.iter().map(|(lease, ..)| lease.job_id).collect();
        let inputs = self
            .store
            .job_grading_inputs(&ids)
            .await
            .map_err(status_from)?;
        let grades = self.grade(ran, &inputs).await?;
        let completions: Vec<Completion> = ran
            .iter()
            .zip(&grades)
            .map(|(&(lease, outcome, submission), grade)| Completion {
                lease,
                outcome,
                submission,
                grade: grade.as_ref(),
            })
            .collect();
        let recorded = self
            .store
            .job_complete_many(&completions)
            .await
            .map_err(status_from)?;
        let mut verdicts = Vec::with_capacity(ran.len());
        for (&(lease, outcome, _), age) in ran.iter().zip(recorded) {
            verdicts.push(match age {
                Ok(age_seconds) => {
                    tracing::info!(job_id = %lease.job_id, epoch = lease.epoch, exit_code = ?outcome.exit_code, timed_out = outcome.timed_out, oom_killed = outcome.oom_killed, "job completed");
                    self.metrics.jobs_succeeded.add(1);
                    self.metrics
                        .job_run_seconds
                        .observe(outcome.duration_ms as f64 / 1000.0);
                    self.metrics.job_total_seconds.observe(age_seconds);
                    crate::traces::job_ended(&self.store, lease.job_id).await;
                    Ok(())
                }
                Err(e) => Err(refusal(e)?),
            });
        }
        Ok(verdicts)
    }

    /// Grades each reported submission against its task's answers, off the async runtime.
    /// A job the store does not know gets no grade (its completion is refused anyway).
    async fn grade(
        &self,
        ran: &[(LeaseToken, &Outcome, Option<&[u8]>)],
        inputs: &HashMap<Uuid, GradingInput>,
    ) -> Result<Vec<Option<NodeGrade>>, Status> {
        let work: Vec<_> = ran
            .iter()
            .map(|&(lease, outcome, submission)| {
                let input = inputs.get(&lease.job_id)?;
                let span = tracing::info_span!("grading", job.id = %lease.job_id, task_dir = %input.task_dir);
                let _ = span.set_parent(parent_context(&job_context(
                    input.trace_parent.as_deref(),
                    lease.job_id,
                )));
                Some((
                    span,
                    PathBuf::from(&input.task_dir),
                    submission.map(<[u8]>::to_vec),
                    outcome.stdout_tail.clone(),
                ))
            })
            .collect();
        let graders = self.graders.clone();
        tokio::task::spawn_blocking(move || {
            work.into_iter()
                .map(|w| {
                    let (span, task_dir, submission, stdout_tail) = w?;
                    span.in_scope(|| graders.grade(&task_dir, submission.as_deref(), &stdout_tail))
                })
                .collect()
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))
    }

    /// The worker could not run the job: requeue it, or fail it after its last attempt.
    async fn retry_or_fail(
        &self,
        lease: LeaseToken,
        error: &str,
    ) -> Result<Result<(), Error>, Status> {
        match self.store.job_retry_or_fail(lease, error).await {
            Ok(state) => {
                tracing::warn!(job_id = %lease.job_id, error = %error, now = state.as_str(), "worker could not run job");
                if state == JobState::Failed {
                    self.metrics.jobs_failed.add(1);
                    crate::traces::job_ended(&self.store, lease.job_id).await;
                }
                Ok(Ok(()))
            }
            Err(e) => Ok(Err(refusal(e)?)),
        }
    }
}

#[tonic::async_trait]
impl WorkerService for WorkerApi {
    async fn register(
        &self,
        request: Request<pb::RegisterRequest>,
    ) -> Result<Response<pb::RegisterResponse>, Status> {
        let r = request.into_inner();
        if r.name.is_empty() {
            return Err(Status::invalid_argument("worker name is empty"));
        }
        let reg = WorkerRegistration {
            name: r.name,
            hostname: r.hostname,
            sandbox: r.sandbox,
            version: r.version,
            total: convert::resources(r.total),
            packages: r.packages,
            images: r.images.into_iter().map(|i| (i.tag, i.packages)).collect(),
        };
        let id = self
            .store
            .worker_register(&reg)
            .await
            .map_err(status_from)?;
        tracing::info!(worker = %reg.name, worker_id = %id, total = ?reg.total, "worker registered");
        if r.fresh_start {
            let orphans = self.store.job_reap(Some(id)).await.map_err(status_from)?;
            if !orphans.requeued.is_empty() || !orphans.failed.is_empty() {
                tracing::warn!(worker = %reg.name, requeued = orphans.requeued.len(),
                    failed = orphans.failed.len(), "worker restarted: its earlier leases handed back");
            }
        }
        Ok(Response::new(pb::RegisterResponse {
            worker_id: id.to_string(),
            lease_ttl_ms: self.lease_ttl.as_millis() as u64,
            heartbeat_interval_ms: (self.lease_ttl / 3).as_millis() as u64,
        }))
    }

    async fn lease(
        &self,
        request: Request<pb::LeaseRequest>,
    ) -> Result<Response<pb::LeaseResponse>, Status> {
        let r = request.into_inner();
        let worker_id = convert::uuid("worker_id", &r.worker_id).map_err(status_from)?;
        self.store
            .worker_touch(worker_id, false)
            .await
            .map_err(status_from)?;
        let free = convert::resources(r.free);
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(r.wait_ms).min(MAX_LEASE_WAIT);
        loop {
            // Armed before the claim, so a job queued between the claim and the wait wakes us.
            let notified = self.wakeups.job_queued.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let jobs = self
                .store
                .job_lease_many(worker_id, &free, &r.images, r.max_jobs, self.lease_ttl)
                .await
                .map_err(status_from)?;
            let now = tokio::time::Instant::now();
            if !jobs.is_empty() || now >= deadline {
                self.metrics.lease_grants.add(jobs.len() as u64);
                for j in &jobs {
                    tracing::info!(job_id = %j.job_id, epoch = j.epoch, attempt = j.attempt, worker_id = %worker_id, "job leased");
                }
                let jobs = jobs.into_iter().map(convert::leased_job_to_pb).collect();
                return Ok(Response::new(pb::LeaseResponse { jobs }));
            }
            let nap = (deadline - now).min(self.poll_interval);
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn heartbeat(
        &self,
        request: Request<pb::HeartbeatRequest>,
    ) -> Result<Response<pb::HeartbeatResponse>, Status> {
        let r = request.into_inner();
        let worker_id = convert::uuid("worker_id", &r.worker_id).map_err(status_from)?;
        self.store
            .worker_touch(worker_id, r.draining)
            .await
            .map_err(status_from)?;
        let held = r
            .held
            .iter()
            .map(|h| {
                Ok(LeaseToken {
                    job_id: convert::uuid("job_id", &h.job_id)?,
                    epoch: h.epoch,
                })
            })
            .collect::<crate::Result<Vec<_>>>()
            .map_err(status_from)?;
        let lost = self
            .store
            .job_heartbeat(worker_id, &held, self.lease_ttl)
            .await
            .map_err(status_from)?;
        // Debug only: a heartbeat racing the job's own report lands here too; expiries and
        // cancellations are logged where they happen.
        for l in &lost {
            tracing::info!(job_id = %l.job_id, epoch = l.epoch, worker_id = %worker_id, "heartbeat for a lease the worker no longer holds: refused");
        }
        Ok(Response::new(pb::HeartbeatResponse {
            lost: lost
                .into_iter()
                .map(|l| pb::HeldLease {
                    job_id: l.job_id.to_string(),
                    epoch: l.epoch,
                })
                .collect(),
        }))
    }

    async fn report_result(
        &self,
        request: Request<pb::ReportResultRequest>,
    ) -> Result<Response<pb::ReportResultResponse>, Status> {
        let report = Report::parse(request.into_inner())?;
        let verdict = self.record(vec![report]).await?.pop();
        match verdict.expect("one verdict per report") {
            Ok(()) => Ok(Response::new(pb::ReportResultResponse {})),
            Err(refused) => Err(status_from(refused)),
        }
    }

    async fn report_results(
        &self,
        request: Request<pb::ReportResultsRequest>,
    ) -> Result<Response<pb::ReportResultsResponse>, Status> {
        let reports = request
            .into_inner()
            .reports
            .into_iter()
            .map(Report::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let verdicts = self
            .record(reports)
            .await?
            .into_iter()
            .map(|v| match v {
                Ok(()) => pb::ReportVerdict {
                    accepted: true,
                    refused: String::new(),
                },
                Err(refused) => pb::ReportVerdict {
                    accepted: false,
                    refused: refused.to_string(),
                },
            })
            .collect();
        Ok(Response::new(pb::ReportResultsResponse { verdicts }))
    }

    async fn append_output(
        &self,
        request: Request<Streaming<pb::OutputChunk>>,
    ) -> Result<Response<pb::AppendOutputResponse>, Status> {
        let mut chunks = request.into_inner();
        let mut accepted = 0;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            let lease = LeaseToken {
                job_id: convert::uuid("job_id", &chunk.job_id).map_err(status_from)?,
                epoch: chunk.epoch,
            };
            let stream = match chunk.stream() {
                pb::OutputStream::Stdout => "stdout",
                pb::OutputStream::Stderr => "stderr",
                pb::OutputStream::Unspecified => {
                    return Err(Status::invalid_argument("output chunk without a stream"));
                }
            };
            if self
                .store
                .job_output_append(lease, stream, chunk.offset, &chunk.data)
                .await
                .map_err(status_from)?
            {
                accepted += 1;
            }
        }
        Ok(Response::new(pb::AppendOutputResponse { accepted }))
    }

    async fn get_task_data(
        &self,
        request: Request<pb::TaskDataRequest>,
    ) -> Result<Response<pb::TaskDataManifest>, Status> {
        let manifest = self.task_manifest(&request.into_inner().data_dir).await?;
        Ok(Response::new(pb::TaskDataManifest {
            hash: manifest.hash.clone(),
            files: manifest
                .files
                .iter()
                .map(|f| pb::TaskFile {
                    path: f.path.clone(),
                    size: f.size,
                    sha256: f.sha256.clone(),
                })
                .collect(),
        }))
    }

    type FetchTaskFileStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::TaskFileChunk, Status>>;

    async fn fetch_task_file(
        &self,
        request: Request<pb::TaskFileRequest>,
    ) -> Result<Response<Self::FetchTaskFileStream>, Status> {
        let r = request.into_inner();
        let manifest = self.task_manifest(&r.data_dir).await?;
        if manifest.hash != r.hash {
            return Err(Status::failed_precondition(format!(
                "the task's data changed (now {}); fetch its manifest again",
                manifest.hash
            )));
        }
        // Only what the manifest lists: a relative path of the directory's own files.
        if !manifest.files.iter().any(|f| f.path == r.path) {
            return Err(Status::not_found(format!(
                "{:?} is not in the task's data",
                r.path
            )));
        }
        let path = std::path::Path::new(&r.data_dir).join(&r.path);
        let mut file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| Status::internal(format!("{}: {e}", path.display())))?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            loop {
                let mut buf = vec![0u8; TASK_CHUNK_BYTES];
                let chunk = match file.read(&mut buf).await {
                    Ok(0) => return,
                    Ok(n) => {
                        buf.truncate(n);
                        Ok(pb::TaskFileChunk { data: buf })
                    }
                    Err(e) => Err(Status::internal(format!("{}: {e}", path.display()))),
                };
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        let r = request.into_inner();
        let lease = LeaseToken {
            job_id: convert::uuid("job_id", &r.job_id).map_err(status_from)?,
            epoch: r.epoch,
        };
        self.store
            .job_release(lease, &r.reason)
            .await
            .map_err(status_from)?;
        tracing::info!(job_id = %lease.job_id, reason = %r.reason, "job handed back and requeued");
        Ok(Response::new(pb::ReleaseResponse {}))
    }
}
