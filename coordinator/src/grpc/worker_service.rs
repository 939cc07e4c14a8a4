//! WorkerService: registration, long-poll leasing, heartbeats and fenced reports.

use std::time::Duration;

use randori_proto::v1 as pb;
use randori_proto::v1::worker_service_server::WorkerService;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert;
use super::status_from;
use crate::grading::Graders;
use crate::metrics::Metrics;
use crate::model::{LeaseToken, WorkerRegistration};
use crate::store::JobStore;
use crate::traces::job_context;
use crate::wakeups::Wakeups;
use randori_telemetry::propagate::parent_context;
use std::sync::Arc;
use tracing_opentelemetry::OpenTelemetrySpanExt;

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
}

impl WorkerApi {
    /// Grades a reported submission against its task's answers, off the async runtime.
    async fn grade(
        &self,
        lease: LeaseToken,
        outcome: &crate::model::Outcome,
        submission: Option<Vec<u8>>,
    ) -> Result<Option<crate::model::NodeGrade>, Status> {
        let (task_dir, trace_parent) = self
            .store
            .job_grading_input(lease.job_id)
            .await
            .map_err(status_from)?;
        let graders = self.graders.clone();
        let stdout_tail = outcome.stdout_tail.clone();
        let span = tracing::info_span!("grading", job.id = %lease.job_id, task_dir = %task_dir);
        let _ = span.set_parent(parent_context(&job_context(
            trace_parent.as_deref(),
            lease.job_id,
        )));
        tokio::task::spawn_blocking(move || {
            span.in_scope(|| {
                graders.grade(
                    std::path::Path::new(&task_dir),
                    submission.as_deref(),
                    &stdout_tail,
                )
            })
        })
        .await
        .map_err(|e| Status::internal(e.to_string()))
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
                .job_lease_many(worker_id, &free, r.max_jobs, self.lease_ttl)
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
        let r = request.into_inner();
        let lease = LeaseToken {
            job_id: convert::uuid("job_id", &r.job_id).map_err(status_from)?,
            epoch: r.epoch,
        };
        let result = match r.result {
            Some(pb::report_result_request::Result::Outcome(o)) => {
                let (outcome, submission) = convert::outcome(o);
                let grade = self.grade(lease, &outcome, submission.clone()).await?;
                self.store
                    .job_complete(lease, &outcome, submission.as_deref(), grade.as_ref())
                    .await
                    .map(|age_seconds| {
                        tracing::info!(job_id = %lease.job_id, epoch = lease.epoch, exit_code = ?outcome.exit_code, timed_out = outcome.timed_out, oom_killed = outcome.oom_killed, "job completed");
                        self.metrics.jobs_succeeded.add(1);
                        self.metrics
                            .job_run_seconds
                            .observe(outcome.duration_ms as f64 / 1000.0);
                        self.metrics.job_total_seconds.observe(age_seconds);
                        true
                    })
            }
            Some(pb::report_result_request::Result::InfrastructureError(error)) => self
                .store
                .job_retry_or_fail(lease, &error)
                .await
                .map(|state| {
                    tracing::warn!(job_id = %lease.job_id, error = %error, now = state.as_str(), "worker could not run job");
                    let failed = state == crate::model::JobState::Failed;
                    if failed {
                        self.metrics.jobs_failed.add(1);
                    }
                    failed
                }),
            None => return Err(Status::invalid_argument("report carries no result")),
        };
        if let Err(e) = &result {
            tracing::warn!(job_id = %lease.job_id, epoch = lease.epoch, error = %e, "report refused");
        }
        if result.map_err(status_from)? {
            crate::traces::job_ended(&self.store, lease.job_id).await;
        }
        Ok(Response::new(pb::ReportResultResponse {}))
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
