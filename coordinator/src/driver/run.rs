//! One run's driver: grows the tree step by step from the stored nodes, creating each node and
//! its evaluation job in one transaction, until the budget is spent and every node evaluated.
//! It keeps nothing that is not in Postgres, so a killed driver's successor continues exactly.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use randori_llm::{Endpoints, Health};
use tokio::sync::watch;

use randori_search::{Decision, NodeState, Operator, PolicySettings, next_decision, select_final};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::operators::{OperatorConfig, Operators, PromptFacts, operator_name};
use super::view::{StoredNode, evaluated_through, initial_horizon, tree_at};
use crate::error::{Error, Result};
use crate::grading::Graders;
use crate::model::{NewRunNode, NodeStatus, RunNode, RunRecord, analyzed_status};
use crate::store::JobStore;
use crate::traces::node_context;
use crate::wakeups::Wakeups;
use randori_telemetry::propagate::parent_context;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Attempts each node's evaluation job gets.
const NODE_ATTEMPTS: u32 = 3;

pub struct RunDriver {
    pub store: JobStore,
    pub graders: Graders,
    pub wakeups: Wakeups,
    /// LLM endpoints shared by every run of this coordinator.
    pub endpoints: Endpoints,
    pub run_id: Uuid,
}

/// A run's settings, checked.
pub struct RunSettings {
    pub policy: randori_search::PolicyConfig,
    pub operators: OperatorConfig,
    /// The oracle ablation (`[policy] use_test_score`): test scores steer the search.
    pub use_test_score: bool,
}

/// The run's policy and operator settings, checked.
pub fn parse_settings(
    policy: &str,
    policy_config: &serde_json::Value,
    operator_config: &serde_json::Value,
) -> Result<RunSettings> {
    let settings: PolicySettings = serde_json::from_value(policy_config.clone())
        .map_err(|e| Error::InvalidArgument(format!("policy settings: {e}")))?;
    let use_test_score = settings.use_test_score;
    let policy = settings
        .policy(policy)
        .map_err(|e| Error::InvalidArgument(e.to_string()))?;
    let operators: OperatorConfig = serde_json::from_value(operator_config.clone())
        .map_err(|e| Error::InvalidArgument(format!("operator settings: {e}")))?;
    operators.check()?;
    Ok(RunSettings {
        policy,
        operators,
        use_test_score,
    })
}

impl RunDriver {
    /// Drives the run until it ends or `cancel` fires; a run that cannot go on is marked failed.
    pub async fn drive(self, cancel: CancellationToken) {
        let run_id = self.run_id;
        match self.drive_inner(&cancel).await {
            Ok(()) => {}
            Err(e @ (Error::Database(_) | Error::Journal(_))) => {
                // Transient: the run stays running and a driver picks it up again.
                tracing::warn!(%run_id, error = %e, "run driver stopped by a database error");
            }
            Err(Error::LlmSettings(why)) => self.settings_error(&why).await,
            Err(e) => {
                tracing::error!(%run_id, error = %e, "run failed");
                if self
                    .store
                    .run_finish(run_id, "failed", Some(&e.to_string()), None, None)
                    .await
                    .is_ok()
                {
                    crate::traces::run_ended(&self.store, run_id).await;
                }
            }
        }
    }

    /// An LLM call showed a settings error: the run's sweep is paused with the line naming the
    /// key to fix, so no other run pays for the same mistake and no node is spent on it; a
    /// run outside a sweep fails with that line.
    async fn settings_error(&self, why: &str) {
        let run_id = self.run_id;
        tracing::error!(%run_id, "{why}");
        let ended = match self.store.run_get(run_id).await.map(|r| r.sweep_id) {
            Ok(Some(sweep_id)) => self.store.sweep_block(sweep_id, why).await,
            Ok(None) => {
                let line = Error::LlmSettings(why.to_owned()).to_string();
                let ended = self
                    .store
                    .run_finish(run_id, "failed", Some(&line), None, None)
                    .await;
                if ended.is_ok() {
                    crate::traces::run_ended(&self.store, run_id).await;
                }
                ended
            }
            Err(e) => Err(e),
        };
        if let Err(e) = ended {
            // The run stays running; its next driver meets the same error and tries again.
            tracing::warn!(%run_id, error = %e, "recording a settings error");
        }
    }

    /// Awaits one LLM step (a program, an analysis): while the endpoint is down the run is
    /// marked as waiting for it; `None` when the driver is stopped meanwhile (a call in flight
    /// is then dropped unjournaled, and asked again when the run goes on).
    async fn llm_step<T>(
        &self,
        health: Option<&(String, watch::Receiver<Health>)>,
        cancel: &CancellationToken,
        step: impl Future<Output = Result<T>>,
    ) -> Result<Option<T>> {
        tokio::pin!(step);
        let mut health = health.map(|(url, rx)| (url.as_str(), rx.clone()));
        let mut marked = false;
        let outcome = loop {
            let waiting_for =
                health
                    .as_mut()
                    .and_then(|(url, rx)| match &*rx.borrow_and_update() {
                        Health::Down { last, .. } => Some(format!("LLM endpoint {url}: {last}")),
                        Health::Up => None,
                    });
            if waiting_for.is_some() || marked {
                self.store
                    .run_waiting_set(self.run_id, waiting_for.as_deref())
                    .await?;
                marked = waiting_for.is_some();
            }
            tokio::select! {
                done = &mut step => break Some(done),
                _ = cancel.cancelled() => break None,
                changed = async {
                    match health.as_mut() {
                        Some((_, rx)) => rx.changed().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if changed.is_err() {
                        health = None;
                    }
                }
            }
        };
        if marked {
            self.store.run_waiting_set(self.run_id, None).await?;
        }
        outcome.transpose()
    }

    async fn drive_inner(&self, cancel: &CancellationToken) -> Result<()> {
        let run = self.store.run_get(self.run_id).await?;
        if run.state != "running" {
            return Ok(());
        }
        let graders = self.graders.clone();
        let dir = std::path::PathBuf::from(&run.spec.task_dir);
        let (loaded, task) = tokio::task::spawn_blocking(move || {
            let loaded = graders.task(&dir)?;
            let task = super::preview::task_context(&loaded);
            Ok::<_, crate::tasks::TaskError>((loaded, task))
        })
        .await
        .map_err(|e| Error::Corrupt(e.to_string()))?
        .map_err(|e| Error::Task(e.to_string()))?;
        let RunSettings {
            policy,
            operators,
            use_test_score,
        } = parse_settings(
            &run.spec.policy,
            &run.spec.policy_config,
            &run.spec.operator_config,
        )?;
        if use_test_score {
            tracing::warn!(run_id = %run.id, "oracle ablation: test scores steer this run's search (use_test_score)");
        }
        let marks_buggy = operators.analysis_marks_buggy();
        let operators =
            Operators::build(&operators, self.store.pool(), &run, &self.endpoints).await?;
        let health = operators.health();
        let lower_is_better = loaded.grader.leaderboard.lower_is_better();
        tracing::info!(run_id = %run.id, policy = %run.spec.policy, task = %run.spec.task_id, "driving run");

        let mut evaluated = self.wakeups.run_node.subscribe();
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let mut nodes = self.store.run_nodes(run.id).await?;
            let analyzed = self.analyze_evaluated(&run, &nodes, &operators, &task, marks_buggy);
            match self.llm_step(health.as_ref(), cancel, analyzed).await? {
                None => return Ok(()),
                Some(true) => nodes = self.store.run_nodes(run.id).await?,
                Some(false) => {}
            }
            let stored = stored_nodes(&nodes, use_test_score)?;
            // The wall budget counts the run's own working time, as AIRA-dojo does: waiting for
            // a worker or paused is not work (see `run_working_time.sql`).
            let working_ms = self.store.run_working_time(run.id).await?;
            let budget_left =
                (nodes.len() as u32) < run.spec.max_nodes && working_ms < run.spec.max_wall_ms;
            // Out of budget, or the policy's own end (Evolutionary's `num_generations`).
            let decision = match budget_left {
                true => self.decide(
                    &stored,
                    &policy,
                    run.spec.seed,
                    run.spec.parallelism,
                    lower_is_better,
                )?,
                false => Decision::Finish,
            };
            // LLM prompts quote the packages the workers' image has: until a worker has
            // reported them, an LLM run waits (it could not evaluate anything anyway). Asked
            // only when a node is about to be made.
            let packages = match (&decision, operators.quotes_packages()) {
                (Decision::Act(_), true) => {
                    self.store
                        .worker_packages(run.spec.requirements.image.as_deref())
                        .await?
                }
                _ => Some(Vec::new()),
            };
            match decision {
                Decision::Finish if stored.iter().all(|n| n.state != NodeState::Pending) => {
                    return self.finish(&run, &nodes, &stored, lower_is_better).await;
                }
                Decision::Act(action) if packages.is_some() => {
                    let packages = packages.unwrap_or_default();
                    let node_id = Uuid::now_v7();
                    let operator = operator_name(action.operator);
                    let span = tracing::info_span!("operator", operator, node.id = %node_id,
                        node.step = nodes.len(), task = %run.spec.task_id, policy = %run.spec.policy,
                        seed = run.spec.seed);
                    let _ = span.set_parent(parent_context(&node_context(
                        run.sweep_id,
                        run.id,
                        node_id,
                    )));
                    let facts = PromptFacts {
                        working_ms,
                        packages: &packages,
                    };
                    let program = operators
                        .program(&run, &nodes, &task, &action, &facts)
                        .instrument(span);
                    let Some(program) = self.llm_step(health.as_ref(), cancel, program).await?
                    else {
                        return Ok(());
                    };
                    let node = NewRunNode {
                        id: node_id,
                        run_id: run.id,
                        step: nodes.len() as u32,
                        operator: operator.to_owned(),
                        parent_ids: action.parents.iter().map(|p| nodes[p.index()].id).collect(),
                        code: program.code,
                        plan: program.plan,
                    };
                    let data_dir = loaded.task.public_dir.to_string_lossy().into_owned();
                    if self
                        .store
                        .run_node_insert(&run, &node, &data_dir, NODE_ATTEMPTS)
                        .await?
                    {
                        tracing::info!(run_id = %run.id, step = node.step, operator = %node.operator, "node created");
                    } else if self.store.run_get(run.id).await?.state != "running" {
                        // Paused or cancelled under us: the supervisor stops this driver.
                        return Ok(());
                    }
                }
                Decision::Finish | Decision::Wait | Decision::Act(_) => {
                    // Wait for one of this run's evaluations to end, or poll (a notification
                    // can be lost, and the wall budget can run out while waiting).
                    let poll = tokio::time::sleep(Duration::from_secs(5));
                    tokio::pin!(poll);
                    loop {
                        tokio::select! {
                            msg = evaluated.recv() => match msg {
                                Ok(id) if id != run.id => continue,
                                _ => break,
                            },
                            _ = &mut poll => break,
                            _ = cancel.cancelled() => return Ok(()),
                        }
                    }
                }
            }
        }
    }

    /// Analyzes every evaluated node that has no analysis yet, in step order, and records each
    /// with the status and score it implies; true when it recorded any.
    async fn analyze_evaluated(
        &self,
        run: &RunRecord,
        nodes: &[RunNode],
        operators: &Operators,
        task: &super::operators::TaskContext,
        marks_buggy: bool,
    ) -> Result<bool> {
        let mut recorded = false;
        for node in nodes
            .iter()
            .filter(|n| n.status != NodeStatus::Pending && n.analysis.is_none())
        {
            let analysis = operators.analyze(run, node, task).await?;
            let (status, val_score) = analyzed_status(
                node.outcome.as_ref(),
                node.grade.as_ref(),
                &analysis,
                marks_buggy,
            );
            recorded |= self
                .store
                .node_analysis_set(node.id, &analysis, status, val_score)
                .await?;
        }
        Ok(recorded)
    }

    /// The next action; `Wait` while the evaluations it depends on are still running;
    /// `Finish` when the policy has reached its own end.
    fn decide(
        &self,
        stored: &[StoredNode],
        policy: &randori_search::PolicyConfig,
        seed: u64,
        parallelism: u32,
        lower_is_better: bool,
    ) -> Result<Decision> {
        let mut horizon = initial_horizon(stored, parallelism);
        loop {
            if !evaluated_through(stored, horizon) {
                return Ok(Decision::Wait);
            }
            let tree = tree_at(stored, horizon, lower_is_better)
                .map_err(|e| Error::Corrupt(format!("the run's tree: {e}")))?;
            match next_decision(policy, &tree, seed) {
                decision @ (Decision::Act(_) | Decision::Finish) => return Ok(decision),
                Decision::Wait => {
                    let next = horizon.map_or(0, |h| h + 1);
                    if next as usize >= stored.len() {
                        return Err(Error::Corrupt(
                            "the policy waits with nothing pending".into(),
                        ));
                    }
                    horizon = Some(next);
                }
            }
        }
    }

    /// Budget spent, every node evaluated: record the final pick and the oracle pick.
    async fn finish(
        &self,
        run: &RunRecord,
        nodes: &[RunNode],
        stored: &[StoredNode],
        lower_is_better: bool,
    ) -> Result<()> {
        let all = stored.len().checked_sub(1).map(|h| h as u32);
        let tree = tree_at(stored, all, lower_is_better)
            .map_err(|e| Error::Corrupt(format!("the run's tree: {e}")))?;
        let selected = select_final(&tree).map(|id| nodes[id.index()].id);
        // Analysis only: the best test score among valid submissions.
        let oracle = nodes
            .iter()
            .filter_map(|n| n.test_score.map(|s| (s, n.id)))
            .reduce(|best, c| {
                let better = if lower_is_better {
                    c.0 < best.0
                } else {
                    c.0 > best.0
                };
                if better { c } else { best }
            })
            .map(|(_, id)| id);
        self.store
            .run_finish(run.id, "completed", None, selected, oracle)
            .await?;
        crate::traces::run_ended(&self.store, run.id).await;
        tracing::info!(run_id = %run.id, nodes = nodes.len(), ?selected, "run completed");
        Ok(())
    }
}

fn parse_operator(s: &str) -> Result<Operator> {
    Ok(match s {
        "draft" => Operator::Draft,
        "improve" => Operator::Improve,
        "debug" => Operator::Debug,
        "crossover" => Operator::Crossover,
        _ => return Err(Error::Corrupt(format!("operator {s:?}"))),
    })
}

/// The run's nodes as the policy's view takes them: parents by step. With `use_test_score`
/// (the oracle ablation) an ok node's score is its test score, and an ok node without one
/// counts as buggy, as AIRA-dojo counts a node without a metric.
fn stored_nodes(nodes: &[RunNode], use_test_score: bool) -> Result<Vec<StoredNode>> {
    let step_of: HashMap<Uuid, u32> = nodes.iter().map(|n| (n.id, n.step)).collect();
    nodes
        .iter()
        .map(|n| {
            let parents = n
                .parent_ids
                .iter()
                .map(|p| {
                    step_of.get(p).copied().ok_or_else(|| {
                        Error::Corrupt(format!("node {} has a parent outside its run", n.id))
                    })
                })
                .collect::<Result<_>>()?;
            let score = match use_test_score {
                true => n.test_score,
                false => n.val_score,
            };
            // A node is shown to the policy once evaluated and analyzed.
            let state = match (n.status, &n.analysis) {
                (NodeStatus::Pending, _) | (_, None) => NodeState::Pending,
                (NodeStatus::Ok, Some(_)) if score.is_some() => NodeState::Ok,
                (NodeStatus::Ok | NodeStatus::Buggy, Some(_)) => NodeState::Buggy,
            };
            Ok(StoredNode {
                step: n.step,
                operator: parse_operator(&n.operator)?,
                parents,
                state,
                val_score: score.filter(|_| state == NodeState::Ok),
                exec_seconds: n
                    .outcome
                    .as_ref()
                    .map_or(0.0, |o| o.duration_ms as f64 / 1000.0),
            })
        })
        .collect()
}
