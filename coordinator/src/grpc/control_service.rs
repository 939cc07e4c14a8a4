//! ControlService: what clients ask of the coordinator (evaluations now; sweeps later).

use std::time::Duration;

use randori_proto::v1 as pb;
use randori_proto::v1::control_service_server::ControlService;
use tonic::{Request, Response, Status};

use super::convert;
use super::status_from;
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
                return Ok(Response::new(pb::GetEvalResponse {
                    node_id: job.node_id.to_string(),
                    job_id: job.job_id.to_string(),
                    state: convert::job_state_to_pb(job.state).into(),
                    attempts: job.attempts,
                    outcome: job
                        .outcome
                        .map(|o| convert::outcome_to_pb(o, job.submission)),
                    error: job.error.unwrap_or_default(),
                    worker_name: job.worker_name.unwrap_or_default(),
                    node_status: job.node_status.as_str().to_owned(),
                    grade: job.grade.map(convert::grade_to_pb),
                }));
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
        Ok(Response::new(pb::GetRunResponse {
            run_id: id.to_string(),
            state: run.state,
            error: run.error.unwrap_or_default(),
            selected_node: text(run.selected_node),
            oracle_node: text(run.oracle_node),
            nodes: nodes
                .into_iter()
                .map(|n| pb::RunNode {
                    node_id: n.id.to_string(),
                    step: n.step,
                    operator: n.operator,
                    parent_ids: n.parent_ids.iter().map(|p| p.to_string()).collect(),
                    status: n.status.as_str().to_owned(),
                    val_score: n.val_score,
                    test_score: n.test_score,
                    medal: n.medal.unwrap_or_default(),
                    plan: n.plan,
                    code: n.code,
                })
                .collect(),
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
}
