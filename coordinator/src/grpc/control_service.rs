//! ControlService: what clients ask of the coordinator (evaluations now; sweeps later).

use std::time::Duration;

use randori_proto::v1 as pb;
use randori_proto::v1::control_service_server::ControlService;
use tonic::{Request, Response, Status};

use super::status_from;
use super::{convert, sweeps};
use crate::grading::Graders;
use crate::model::{NewEval, NewRun};
use crate::store::JobStore;
use crate::wakeups::Wakeups;

const MAX_GET_WAIT: Duration = Duration::from_secs(60);

pub struct ControlApi {
    pub store: JobStore,
    pub graders: Graders,
    pub wakeups: Wakeups,
    pub default_max_attempts: u32,
    pub poll_interval: Duration,
}

#[tonic::async_trait]
impl ControlService for ControlApi {
    async fn submit_eval(
        &self,
        request: Request<pb::SubmitEvalRequest>,
    ) -> Result<Response<pb::SubmitEvalResponse>, Status> {
        let r = request.into_inner();
        if r.task_dir.is_empty() {
            return Err(Status::invalid_argument("task_dir is required"));
        }
        let graders = self.graders.clone();
        let task_dir = std::path::PathBuf::from(&r.task_dir);
        let loaded = tokio::task::spawn_blocking(move || graders.task(&task_dir))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let task = &loaded.task;
        let eval = NewEval {
            task_id: task.id.clone(),
            task_dir: task.dir.to_string_lossy().into_owned(),
            data_dir: task.public_dir.to_string_lossy().into_owned(),
            code: r.code,
            requirements: convert::requirements(r.requirements).map_err(status_from)?,
            priority: 0,
            max_attempts: if r.max_attempts == 0 {
                self.default_max_attempts
            } else {
                r.max_attempts
            },
        };
        let (node_id, job_id) = self.store.eval_enqueue(&eval).await.map_err(status_from)?;
        tracing::info!(%node_id, %job_id, task = %eval.task_id, "evaluation queued");
        Ok(Response::new(pb::SubmitEvalResponse {
            node_id: node_id.to_string(),
            job_id: job_id.to_string(),
        }))
    }

    async fn get_eval(
        &self,
        request: Request<pb::GetEvalRequest>,
    ) -> Result<Response<pb::GetEvalResponse>, Status> {
        let r = request.into_inner();
        let job_id = convert::uuid("job_id", &r.job_id).map_err(status_from)?;
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(r.wait_ms).min(MAX_GET_WAIT);
        let mut ended = self.wakeups.job_ended.subscribe();
        loop {
            let job = self.store.job_get(job_id).await.map_err(status_from)?;
            let now = tokio::time::Instant::now();
            if job.state.is_final() || now >= deadline {
                return Ok(Response::new(convert::eval_to_pb(job)));
            }
            let nap = (deadline - now).min(self.poll_interval);
            tokio::select! {
                _ = async {
                    while let Ok(id) = ended.recv().await {
                        if id == job_id { break; }
                    }
                } => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn start_run(
        &self,
        request: Request<pb::StartRunRequest>,
    ) -> Result<Response<pb::StartRunResponse>, Status> {
        let r = request.into_inner();
        let graders = self.graders.clone();
        let task_dir = std::path::PathBuf::from(&r.task_dir);
        let loaded = tokio::task::spawn_blocking(move || graders.task(&task_dir))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let json = |field: &str, text: &str| -> Result<serde_json::Value, Status> {
            let text = if text.trim().is_empty() { "{}" } else { text };
            serde_json::from_str(text)
                .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
        };
        let policy_config = json("policy_settings_json", &r.policy_settings_json)?;
        let operator_config = json("operator_json", &r.operator_json)?;
        // Refuse bad settings now rather than in the driver.
        crate::driver::check_run_settings(&r.policy, &policy_config, &operator_config)
            .map_err(status_from)?;
        if r.max_nodes == 0 || r.max_wall_ms == 0 || r.parallelism == 0 {
            return Err(Status::invalid_argument(
                "max_nodes, max_wall_ms and parallelism must be positive",
            ));
        }
        let run = NewRun {
            task_id: loaded.task.id.clone(),
            task_dir: loaded.task.dir.to_string_lossy().into_owned(),
            policy: r.policy,
            policy_config,
            operator_config,
            seed: r.seed,
            max_nodes: r.max_nodes,
            max_wall_ms: r.max_wall_ms,
            parallelism: r.parallelism,
            requirements: convert::requirements(r.requirements).map_err(status_from)?,
        };
        let id = self.store.run_insert(&run).await.map_err(status_from)?;
        tracing::info!(run_id = %id, task = %run.task_id, policy = %run.policy, seed = run.seed, "run started");
        Ok(Response::new(pb::StartRunResponse {
            run_id: id.to_string(),
        }))
    }

    async fn get_run(
        &self,
        request: Request<pb::GetRunRequest>,
    ) -> Result<Response<pb::GetRunResponse>, Status> {
        let id = convert::uuid("run_id", &request.into_inner().run_id).map_err(status_from)?;
        let run = self.store.run_get(id).await.map_err(status_from)?;
        let nodes = self.store.run_nodes(id).await.map_err(status_from)?;
        let text = |u: Option<uuid::Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
        let lower_is_better = crate::model::lower_is_better(&nodes);
        Ok(Response::new(pb::GetRunResponse {
            run_id: id.to_string(),
            state: run.state,
            error: run.error.unwrap_or_default(),
            selected_node: text(run.selected_node),
            oracle_node: text(run.oracle_node),
            nodes: nodes.into_iter().map(convert::run_node_to_pb).collect(),
            task_id: run.spec.task_id,
            policy: run.spec.policy,
            seed: run.spec.seed,
            sweep_id: text(run.sweep_id),
            lower_is_better,
        }))
    }

    async fn list_workers(
        &self,
        _request: Request<pb::ListWorkersRequest>,
    ) -> Result<Response<pb::ListWorkersResponse>, Status> {
        let workers = self.store.worker_list().await.map_err(status_from)?;
        Ok(Response::new(pb::ListWorkersResponse {
            workers: workers.into_iter().map(convert::worker_to_pb).collect(),
        }))
    }

    async fn get_node(
        &self,
        request: Request<pb::GetNodeRequest>,
    ) -> Result<Response<pb::GetNodeResponse>, Status> {
        let id = convert::uuid("node_id", &request.into_inner().node_id).map_err(status_from)?;
        let (node, run_id, job_id) = self.store.node_get(id).await.map_err(status_from)?;
        let job = self.store.job_get(job_id).await.map_err(status_from)?;
        Ok(Response::new(pb::GetNodeResponse {
            run_id: run_id.map(|r| r.to_string()).unwrap_or_default(),
            node: Some(convert::run_node_to_pb(node)),
            evaluation: Some(convert::eval_to_pb(job)),
        }))
    }

    async fn submit_sweep(
        &self,
        request: Request<pb::SubmitSweepRequest>,
    ) -> Result<Response<pb::SubmitSweepResponse>, Status> {
        let r = request.into_inner();
        sweeps::submit(&self.store, &self.graders, &r.spec_json)
            .await
            .map(Response::new)
    }

    async fn list_sweeps(
        &self,
        _request: Request<pb::ListSweepsRequest>,
    ) -> Result<Response<pb::ListSweepsResponse>, Status> {
        sweeps::list(&self.store).await.map(Response::new)
    }

    async fn get_sweep_status(
        &self,
        request: Request<pb::GetSweepStatusRequest>,
    ) -> Result<Response<pb::SweepStatus>, Status> {
        let r = request.into_inner();
        sweeps::status(&self.store, &r.sweep_id, !r.summary_only)
            .await
            .map(Response::new)
    }

    async fn cancel_sweep(
        &self,
        request: Request<pb::SweepRequest>,
    ) -> Result<Response<pb::SweepStatus>, Status> {
        let id = request.into_inner().sweep_id;
        sweeps::change(&self.store, &id, sweeps::Change::Cancel)
            .await
            .map(Response::new)
    }

    async fn pause_sweep(
        &self,
        request: Request<pb::SweepRequest>,
    ) -> Result<Response<pb::SweepStatus>, Status> {
        let id = request.into_inner().sweep_id;
        sweeps::change(&self.store, &id, sweeps::Change::Pause)
            .await
            .map(Response::new)
    }

    async fn retry_sweep(
        &self,
        request: Request<pb::RetrySweepRequest>,
    ) -> Result<Response<pb::RetrySweepResponse>, Status> {
        sweeps::retry(&self.store, &request.into_inner())
            .await
            .map(Response::new)
    }

    async fn resume_sweep(
        &self,
        request: Request<pb::SweepRequest>,
    ) -> Result<Response<pb::SweepStatus>, Status> {
        let id = request.into_inner().sweep_id;
        sweeps::change(&self.store, &id, sweeps::Change::Resume)
            .await
            .map(Response::new)
    }

    type ExportSweepStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::ExportedRun, Status>>;

    async fn export_sweep(
        &self,
        request: Request<pb::SweepRequest>,
    ) -> Result<Response<Self::ExportSweepStream>, Status> {
        let id = request.into_inner().sweep_id;
        Ok(Response::new(
            sweeps::export(&self.store, &self.graders, &id).await?,
        ))
    }

    type ExportNodesStream =
        tokio_stream::wrappers::ReceiverStream<Result<pb::ExportedNodes, Status>>;

    async fn export_nodes(
        &self,
        request: Request<pb::SweepRequest>,
    ) -> Result<Response<Self::ExportNodesStream>, Status> {
        let id = request.into_inner().sweep_id;
        Ok(Response::new(sweeps::export_nodes(&self.store, &id).await?))
    }

    async fn get_sweep_report(
        &self,
        request: Request<pb::GetSweepReportRequest>,
    ) -> Result<Response<pb::GetSweepReportResponse>, Status> {
        let id = request.into_inner().sweep_id;
        let report_json = sweeps::report(&self.store, &id).await?;
        Ok(Response::new(pb::GetSweepReportResponse { report_json }))
    }
}
