//! The operator backends a run uses: the offline `builtin` generator, or an LLM (`openai`, or
//! `replay` of an earlier run's journal) prompted with the task, the data preview, the search's
//! memory and the parents. Every LLM call is journaled under `<run>/<step>`, so a resumed run
//! reads its answers back instead of asking again.

use std::collections::HashMap;
use std::time::Duration;

use randori_llm::{
    ChatAnswer, ChatRequest, Endpoints, ExtractError, Health, Journal, JournalError, Message,
    ModelSettings, OpenAiClient, OpenAiConfig, Price, ReplayBackend, ReplayEntry, Role,
    analysis_response_format, ask_journaled, call_fingerprint, extract, parse_analysis,
};
use randori_operators::builtin::{DataPreview, Failure, Generator, GeneratorConfig, Program};
use randori_operators::memory::{MemoryNode, MemoryScheme, MemoryState, render_memory};
use randori_operators::prompts::{
    AIRA, ANALYZE_VERSION, AnalyzeContext, Complexity, OPERATOR_SETS, OUTPUT_SHOWN, OperatorSet,
    PromptContext, PromptKind, operator_set, render_analyze, trim_middle,
};
use randori_search::{Action, Operator};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use super::llm_failure::{FailedCall, classify};
use crate::error::{Error, Result};
use crate::model::{Analysis, NodeStatus, Requirements, RunNode, RunRecord};

/// The sweep file's `[operator]` table, as a run stores it.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    #[serde(default = "builtin")]
    pub backend: String,
    /// The operator set whose prompts the LLM operators use (`aira`, the default, or `aide`).
    pub set: Option<String>,
    /// The memory each operator gets, over the set's defaults.
    pub memory: Option<MemorySettings>,
    /// AIRA-dojo's complexity cue in Draft and Improve prompts (off, as in every released
    /// config).
    pub use_complexity: Option<bool>,
    /// builtin: the share of deliberately broken programs (the Debug path offline).
    pub broken_rate: Option<f64>,
    /// openai: the endpoint and the name of the variable holding its key.
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub max_concurrency: Option<usize>,
    /// openai: how long one attempt may take ("10m" by default: reasoning models are slow).
    pub timeout: Option<String>,
    /// openai: attempts after the first one, if capped; unset, a transient failure (429, 5xx,
    /// timeout, connection) is tried again until the endpoint answers.
    pub max_retries: Option<u32>,
    /// openai: the longest wait between attempts, and between probes of an endpoint that is
    /// down ("30s").
    pub backoff_cap: Option<String>,
    /// openai: dollars per million tokens by model name, over the built-in list prices (a
    /// model with neither costs 0, shown as unknown).
    pub prices: Option<HashMap<String, PriceSetting>>,
    /// The model settings of every operator (`ModelSettings`' fields), unless its own table
    /// says otherwise. Spelled out rather than a flattened `ModelSettings`: serde cannot
    /// refuse unknown keys through `flatten`, and a misspelt key must be an error.
    pub model: Option<String>,
    pub temperature: Option<f64>,
    pub max_output_tokens: Option<u32>,
    pub reasoning_effort: Option<String>,
    pub reasoning: Option<bool>,
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
    /// One operator's own settings, over the ones above.
    pub draft: Option<ModelSettings>,
    pub improve: Option<ModelSettings>,
    pub debug: Option<ModelSettings>,
    pub crossover: Option<ModelSettings>,
    /// The analyze step's own settings (AIRA-dojo used gpt-4o beside o3).
    pub analyze: Option<ModelSettings>,
    /// Whether an analysis that finds a bug makes the node buggy (default true).
    pub analysis_marks_buggy: Option<bool>,
    /// Whether the analyze call asks for structured output (`response_format` with a JSON
    /// schema; default true). Off for endpoints that refuse it: the answer is then read
    /// tolerantly all the same.
    pub structured_output: Option<bool>,
    /// How often an operator asks before its node fails for want of a program (AIRA-dojo's
    /// `max_llm_call_retries`, 3).
    pub max_answer_tries: Option<u32>,
    /// replay, replay_then_live: the run whose journal answers every run of the sweep...
    pub from_run: Option<Uuid>,
    /// ...or the sweep whose run of the same task, policy, seed and prompt set answers each.
    pub from_sweep: Option<Uuid>,
}

fn builtin() -> String {
    "builtin".to_owned()
}

/// `[operator.prices."<model>"]`: US dollars per million tokens.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceSetting {
    pub input: f64,
    pub output: f64,
}

/// A duration setting such as "10m" or "90s".
fn duration_setting(key: &str, value: &str) -> Result<Duration> {
    match humantime::parse_duration(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(Error::InvalidArgument(format!(
            "operator settings: {key} = {value:?} is not a duration (like \"10m\" or \"90s\")"
        ))),
    }
}

/// `[operator.memory]`: a memory scheme per operator.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemorySettings {
    pub draft: Option<MemoryScheme>,
    pub improve: Option<MemoryScheme>,
    pub debug: Option<MemoryScheme>,
    pub crossover: Option<MemoryScheme>,
}

/// The tries an operator makes for one answer with a program, by default.
const ANSWER_TRIES: u32 = 3;

impl OperatorConfig {
    /// The defaults every operator's settings fall back to.
    fn defaults(&self) -> ModelSettings {
        ModelSettings {
            model: self.model.clone(),
            temperature: self.temperature,
            max_output_tokens: self.max_output_tokens,
            reasoning_effort: self.reasoning_effort.clone(),
            reasoning: self.reasoning,
            extra: self.extra.clone(),
        }
    }

    /// What the analyze step asks its model with.
    pub fn analyze_settings(&self) -> ModelSettings {
        self.analyze
            .clone()
            .unwrap_or_default()
            .over(&self.defaults())
    }

    /// Whether an analysis that finds a bug makes its node buggy.
    pub fn analysis_marks_buggy(&self) -> bool {
        self.analysis_marks_buggy.unwrap_or(true)
    }

    /// The operator set this run's prompts come from.
    pub fn operator_set(&self) -> &'static OperatorSet {
        self.set.as_deref().and_then(operator_set).unwrap_or(&AIRA)
    }

    /// The memory `kind` gets: its own `[operator.memory]` key, else the set's default.
    pub fn memory(&self, kind: PromptKind) -> MemoryScheme {
        let own = self.memory.as_ref().and_then(|m| match kind {
            PromptKind::Draft => m.draft,
            PromptKind::Improve => m.improve,
            PromptKind::Debug => m.debug,
            PromptKind::Crossover => m.crossover,
        });
        own.unwrap_or_else(|| self.operator_set().default_memory(kind))
    }

    /// What `operator` asks its model with.
    pub fn settings(&self, operator: Operator) -> ModelSettings {
        let own = match operator {
            Operator::Draft => &self.draft,
            Operator::Improve => &self.improve,
            Operator::Debug => &self.debug,
            Operator::Crossover => &self.crossover,
        };
        own.clone().unwrap_or_default().over(&self.defaults())
    }

    /// The endpoint settings of the `openai` backend.
    pub fn openai_config(&self) -> Result<OpenAiConfig> {
        let mut c = OpenAiConfig::new(self.base_url.clone().unwrap_or_default());
        c.api_key_env = self.api_key_env.clone();
        if let Some(n) = self.max_concurrency {
            c.max_concurrency = n;
        }
        if let Some(t) = &self.timeout {
            c.timeout = duration_setting("timeout", t)?;
        }
        c.max_retries = self.max_retries;
        if let Some(cap) = &self.backoff_cap {
            c.backoff_cap = duration_setting("backoff_cap", cap)?;
        }
        for (model, p) in self.prices.iter().flatten() {
            if !(p.input >= 0.0 && p.output >= 0.0) {
                return Err(Error::InvalidArgument(format!(
                    "operator settings: prices.{model:?} must not be negative"
                )));
            }
            let price = Price {
                input_per_mtok: p.input,
                output_per_mtok: p.output,
            };
            c.prices.insert(model.clone(), price);
        }
        Ok(c)
    }

    /// Every distinct model setting this configuration asks with, and who asks with it:
    /// ("draft, improve, debug, crossover", settings), ("analyze", settings).
    pub fn models(&self) -> Vec<(String, ModelSettings)> {
        let mut models: Vec<(String, ModelSettings)> = Vec::new();
        let all = [
            ("draft", self.settings(Operator::Draft)),
            ("improve", self.settings(Operator::Improve)),
            ("debug", self.settings(Operator::Debug)),
            ("crossover", self.settings(Operator::Crossover)),
            ("analyze", self.analyze_settings()),
        ];
        for (name, settings) in all {
            match models.iter_mut().find(|(_, s)| s == &settings) {
                Some((names, _)) => *names += &format!(", {name}"),
                None => models.push((name.to_owned(), settings)),
            }
        }
        models
    }

    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidArgument(format!("operator settings: {m}")));
        self.openai_config()?;
        let operators = [
            ("draft", Operator::Draft),
            ("improve", Operator::Improve),
            ("debug", Operator::Debug),
            ("crossover", Operator::Crossover),
        ];
        for (name, op) in operators {
            if let Some(problem) = self.settings(op).problem() {
                return bad(&format!("{name}: {problem}"));
            }
        }
        if let Some(problem) = self.analyze_settings().problem() {
            return bad(&format!("analyze: {problem}"));
        }
        if let Some(set) = &self.set
            && operator_set(set).is_none()
        {
            let names: Vec<&str> = OPERATOR_SETS.iter().map(|s| s.name).collect();
            return bad(&format!(
                "unknown operator set {set:?} (expected one of {})",
                names.join(", ")
            ));
        }
        if self.max_answer_tries == Some(0) {
            return bad("max_answer_tries must be at least 1");
        }
        let backend = self.backend.as_str();
        let live = matches!(backend, "openai" | "replay_then_live");
        let replay = matches!(backend, "replay" | "replay_then_live");
        if !live && !replay && backend != "builtin" {
            return bad(&format!(
                "unknown backend {backend:?} (builtin, openai, replay or replay_then_live)"
            ));
        }
        if replay && self.from_run.is_some() == self.from_sweep.is_some() {
            return bad(&format!(
                "backend {backend:?} needs one of from_sweep (each run replays its own) or from_run"
            ));
        }
        if !live {
            return Ok(());
        }
        let without_model = operators
            .iter()
            .find(|(_, op)| self.settings(*op).model.is_none());
        if self.base_url.is_none() {
            bad(&format!("backend {backend:?} needs base_url"))
        } else if let Some((name, _)) = without_model {
            bad(&format!(
                "backend {backend:?} needs a model: set model (or [operator.{name}] model)"
            ))
        } else if self.analyze_settings().model.is_none() {
            bad(&format!(
                "backend {backend:?} needs a model for analyze: set model (or [operator.analyze] model)"
            ))
        } else {
            Ok(())
        }
    }
}

/// What a run's operators know about its task, computed once per driver.
pub struct TaskContext {
    pub preview: DataPreview,
    pub description: String,
    pub preview_text: String,
}

/// What an LLM prompt states beyond the tree: the run's working time so far (against its
/// budget) and the packages its program can import.
pub struct PromptFacts<'a> {
    pub working_ms: u64,
    pub packages: &'a [String],
}

pub enum Operators {
    Builtin(Generator),
    Llm(LlmOperators),
}

pub struct LlmOperators {
    backend: Box<dyn randori_llm::Backend>,
    /// A live endpoint's base URL and health (not for replay).
    health: Option<(String, tokio::sync::watch::Receiver<Health>)>,
    journal: PgJournal,
    /// Boxed: the settings are large next to the builtin generator.
    config: Box<OperatorConfig>,
}

impl Operators {
    /// The run's operators; an `openai` backend shares its endpoint's concurrency limit and
    /// breaker with every run of this process through `endpoints`.
    pub async fn build(
        config: &OperatorConfig,
        pool: &PgPool,
        run: &RunRecord,
        endpoints: &Endpoints,
    ) -> Result<Self> {
        let run_id = run.id;
        let live = || -> Result<(OpenAiClient, String)> {
            let c = config.openai_config()?;
            let endpoint = endpoints.get(&c.base_url, c.max_concurrency);
            let url = c.base_url.clone();
            let client = OpenAiClient::with_endpoint(c, endpoint).map_err(|e| {
                Error::LlmSettings(format!("{e}. Fix the [operator] settings, then resume"))
            })?;
            Ok((client, url))
        };
        let llm = |backend: Box<dyn randori_llm::Backend>, health| {
            Operators::Llm(LlmOperators {
                backend,
                health,
                journal: PgJournal {
                    pool: pool.clone(),
                    run_id,
                    operator_set: config.operator_set().label(),
                },
                config: Box::new(config.clone()),
            })
        };
        Ok(match config.backend.as_str() {
            "openai" => {
                let (client, url) = live()?;
                let health = Some((url, client.health()));
                llm(Box::new(client), health)
            }
            "replay" | "replay_then_live" => {
                let from = match (config.from_run, config.from_sweep) {
                    (Some(from), _) => from,
                    (None, sweep) => {
                        replay_source(pool, sweep.expect("checked"), run, config).await?
                    }
                };
                let replay = ReplayBackend::new(PgJournal::entries_of(pool, from, run_id).await?);
                match config.backend.as_str() {
                    "replay" => llm(Box::new(replay), None),
                    _ => {
                        let (client, url) = live()?;
                        let health = Some((url, client.health()));
                        llm(Box::new(replay.then_live(Box::new(client))), health)
                    }
                }
            }
            _ => Operators::Builtin(Generator::new(GeneratorConfig {
                broken_rate: config
                    .broken_rate
                    .unwrap_or(GeneratorConfig::default().broken_rate),
            })),
        })
    }

    /// A live LLM endpoint's base URL and health, to show a run waiting while it is down.
    pub fn health(&self) -> Option<(String, tokio::sync::watch::Receiver<Health>)> {
        match self {
            Operators::Llm(llm) => llm.health.clone(),
            Operators::Builtin(_) => None,
        }
    }

    /// Whether this backend's prompts quote the workers' packages (the LLM ones).
    pub fn quotes_packages(&self) -> bool {
        matches!(self, Operators::Llm(_))
    }

    /// The program for `action` at `step`: a pure function of the run's seed, the step and
    /// the parents for builtin; the journaled answer (or a new call) for LLM backends, whose
    /// prompt states `facts`.
    pub async fn program(
        &self,
        run: &RunRecord,
        nodes: &[RunNode],
        task: &TaskContext,
        action: &Action,
        facts: &PromptFacts<'_>,
    ) -> Result<Program> {
        let step = nodes.len() as u32;
        let parents: Vec<&RunNode> = action.parents.iter().map(|p| &nodes[p.index()]).collect();
        match self {
            Operators::Builtin(g) => {
                let seed = run.spec.seed ^ u64::from(step).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let p = &task.preview;
                match action.operator {
                    Operator::Draft => g.draft(p, seed),
                    Operator::Improve => g.improve(p, &parents[0].code, seed),
                    Operator::Crossover => g.crossover(p, &parents[0].code, &parents[1].code, seed),
                    Operator::Debug => g.debug(p, &parents[0].code, &failure_of(parents[0]), seed),
                }
                .map_err(|e| Error::Operator(format!("{:?}: {e}", action.operator)))
            }
            Operators::Llm(llm) => llm.program(run, nodes, task, action, &parents, facts).await,
        }
    }
}

impl Operators {
    /// What the analyze step says of an evaluated node: the builtin analyzer's verdict for the
    /// builtin backend and for a node that left nothing to read (its job failed), an LLM's for
    /// the others, journaled as `<run>/<step>/analyze`.
    pub async fn analyze(
        &self,
        run: &RunRecord,
        node: &RunNode,
        task: &TaskContext,
    ) -> Result<Analysis> {
        let builtin = builtin_analysis(node);
        match self {
            Operators::Llm(llm) if node.outcome.is_some() => {
                llm.analyze(run, node, task, builtin).await
            }
            _ => Ok(builtin),
        }
    }
}

/// The offline analyzer: the node's own status, the metric it printed, and a summary built
/// from its plan and how it ended. Deterministic, so builtin runs stay reproducible.
fn builtin_analysis(node: &RunNode) -> Analysis {
    let printed = node
        .grade
        .as_ref()
        .filter(|g| g.val_source == "printed")
        .and_then(|g| g.val_score);
    let plan = first_line(&node.plan);
    let summary = match (node.status, node.val_score) {
        (NodeStatus::Ok, Some(v)) => format!("Ran cleanly, validation score {v}. Plan: {plan}"),
        _ if node.outcome.is_none() => format!("Its evaluation failed. Plan: {plan}"),
        _ => format!("Failed: {}. Plan: {plan}", describe(&failure_of(node))),
    };
    Analysis {
        is_bug: node.status != NodeStatus::Ok,
        summary,
        metric: printed,
        by: "builtin".to_owned(),
    }
}

/// How a node's evaluation ended, for the analyze step.
fn ending_of(node: &RunNode) -> String {
    let f = failure_of(node);
    let disk_full = node.outcome.as_ref().is_some_and(|o| o.disk_limit_exceeded);
    let mut ending = match (f.exit_code, f.timed_out, f.oom_killed) {
        (_, true, _) => "It was stopped at its time limit.".to_owned(),
        (_, _, true) => "It was stopped: out of memory.".to_owned(),
        _ if disk_full => "It was stopped: disk limit exceeded.".to_owned(),
        (Some(code), ..) => format!("It exited with code {code}."),
        (None, ..) => "It was stopped.".to_owned(),
    };
    match (&node.grade, &f.invalid_reason) {
        (Some(_), Some(reason)) => ending += &format!(" Its submission was refused: {reason}"),
        (Some(g), None) if g.valid_submission => ending += " Its submission was valid.",
        _ => ending += " It wrote no submission.",
    }
    ending
}

impl LlmOperators {
    /// The journaled answer, or a new call; a failure becomes the error its kind calls for.
    async fn ask(&self, key: &str, operator: &str, request: &ChatRequest) -> Result<ChatAnswer> {
        ask_journaled(&self.journal, self.backend.as_ref(), key, request)
            .await
            .map_err(|e| {
                classify(
                    e,
                    &FailedCall {
                        key,
                        operator,
                        request,
                        api_key_env: self.config.api_key_env.as_deref(),
                    },
                )
            })
    }

    async fn analyze(
        &self,
        run: &RunRecord,
        node: &RunNode,
        task: &TaskContext,
        builtin: Analysis,
    ) -> Result<Analysis> {
        let (system, user) = render_analyze(&AnalyzeContext {
            task_description: task.description.clone(),
            code: node.code.clone(),
            ending: ending_of(node),
            output: node
                .outcome
                .as_ref()
                .map(|o| o.printed())
                .unwrap_or_default(),
        });
        let messages = chat(system, user);
        let mut request = self
            .config
            .analyze_settings()
            .request(messages, Some(run.spec.seed ^ u64::from(node.step)));
        if self.config.structured_output.unwrap_or(true) {
            request.response_format = Some(analysis_response_format());
        }
        request.fingerprint = Some(call_fingerprint(&["analyze", &node.code]));
        let key = format!("{}/{}/analyze", run.id, node.step);
        let answer = self.ask(&key, "analyze", &request).await?;
        Ok(match parse_analysis(&answer.content) {
            Ok(a) => Analysis {
                is_bug: a.is_bug,
                summary: a.summary,
                metric: a.metric,
                by: answer.model,
            },
            // The run goes on with the offline verdict; the summary says why.
            Err(e) => {
                tracing::warn!(%key, error = %e, "the analysis answer was unreadable");
                Analysis {
                    summary: format!("{} (the analysis was unreadable: {e})", builtin.summary),
                    ..builtin
                }
            }
        })
    }

    async fn program(
        &self,
        run: &RunRecord,
        nodes: &[RunNode],
        task: &TaskContext,
        action: &Action,
        parents: &[&RunNode],
        facts: &PromptFacts<'_>,
    ) -> Result<Program> {
        let step = nodes.len() as u32;
        let spec = &run.spec;
        let (working_ms, packages) = (facts.working_ms, facts.packages);
        let time_left = spec.max_wall_ms.saturating_sub(working_ms);
        let kind = match action.operator {
            Operator::Draft => PromptKind::Draft,
            Operator::Improve => PromptKind::Improve,
            Operator::Debug => PromptKind::Debug,
            Operator::Crossover => PromptKind::Crossover,
        };
        let first = parents.first();
        let set = self.config.operator_set();
        let complexity = self.config.use_complexity.unwrap_or(false).then(|| {
            // Draft: the drafts so far; Improve: the parent's children (AIRA-dojo).
            Complexity::of_count(match (kind, first) {
                (PromptKind::Draft, _) => nodes.iter().filter(|n| n.operator == "draft").count(),
                (_, Some(p)) => nodes
                    .iter()
                    .filter(|n| n.parent_ids.first() == Some(&p.id))
                    .count(),
                (_, None) => 0,
            })
        });
        let ctx = PromptContext {
            task_description: task.description.clone(),
            data_preview: task.preview_text.clone(),
            memory: render_memory(
                self.config.memory(kind),
                &memory_nodes(nodes),
                first.map(|p| p.step),
            ),
            parent_code: parents.iter().map(|p| p.code.clone()).collect(),
            parent_output: first.map(|p| output_of(p)).unwrap_or_default(),
            failure: first.map(|p| describe(&failure_of(p))).unwrap_or_default(),
            complexity,
            time_limit: duration_text(spec.requirements.timeout_ms.min(time_left)),
            resources: resources_text(&spec.requirements),
            packages: match packages {
                [] => "none listed (the workers' images reported no Python packages in common)"
                    .to_owned(),
                listed => listed.join(", "),
            },
            budget: format!(
                "This is step {} of at most {} in this search; about {} of its working time is left.",
                step + 1,
                spec.max_nodes,
                duration_text(time_left)
            ),
        };
        let (system, user) = set.render(kind, &ctx);
        let messages = chat(system, user);
        let settings = self.config.settings(action.operator);
        let tries = self.config.max_answer_tries.unwrap_or(ANSWER_TRIES);
        // A call is its place in the tree: its operator and parents. The memory and the time
        // left may differ between a run and its replay (scores vary a little between
        // evaluations, time always), and a replay names no model, without making it another
        // call.
        let mut fingerprint_parts = vec![operator_name(action.operator)];
        fingerprint_parts.extend(parents.iter().map(|p| p.code.as_str()));
        let (mut last, mut last_answer) = (ExtractError::NoCode, String::new());
        for attempt in 0..tries {
            // Each try is a call of its own, journaled under its own key (the first one under
            // the step's, as before), with its own seed so that the model may answer otherwise.
            let key = match attempt {
                0 => format!("{}/{step}", run.id),
                n => format!("{}/{step}/try{}", run.id, n + 1),
            };
            let seed = run.spec.seed ^ u64::from(step) ^ (u64::from(attempt) << 32);
            let mut request: ChatRequest = settings.request(messages.clone(), Some(seed));
            request.fingerprint = Some(call_fingerprint(&fingerprint_parts));
            let answer = self
                .ask(&key, operator_name(action.operator), &request)
                .await?;
            match extract(&answer.content) {
                Ok(x) => {
                    return Ok(Program {
                        plan: x.plan,
                        code: x.code,
                    });
                }
                Err(e) => {
                    tracing::warn!(%key, error = %e, "the answer held no usable program");
                    last = e;
                    last_answer = answer.content;
                }
            }
        }
        // A clear node failure: the node runs, fails with the reason, and can be debugged. The
        // last answer stands as its plan, to show what the model said.
        let plan: String = last_answer.chars().take(2000).collect();
        Ok(match last {
            ExtractError::Unparseable { largest, .. } => Program {
                plan,
                code: largest,
            },
            e => Program {
                plan,
                code: format!(
                    "raise SystemExit({:?})\n",
                    format!(
                        "randori: after {tries} tries the model's answers held no usable program: {e}"
                    )
                ),
            },
        })
    }
}

pub fn operator_name(op: Operator) -> &'static str {
    match op {
        Operator::Draft => "draft",
        Operator::Improve => "improve",
        Operator::Debug => "debug",
        Operator::Crossover => "crossover",
    }
}

/// The run of `sweep` whose journal a replaying `run` reads: the one with its task, policy,
/// seed and prompt set.
async fn replay_source(
    pool: &PgPool,
    sweep: Uuid,
    run: &RunRecord,
    config: &OperatorConfig,
) -> Result<Uuid> {
    let set = config.operator_set().name;
    sqlx::query_scalar(include_str!("../store/sql/run_replay_source.sql"))
        .bind(sweep)
        .bind(&run.spec.task_id)
        .bind(&run.spec.policy)
        .bind(run.spec.seed as i64)
        .bind(set)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| {
            Error::Replay(format!(
                "sweep {sweep} (from_sweep) has no run of task {}, policy {}, seed {} and prompt \
                 set {set} to replay",
                run.spec.task_id, run.spec.policy, run.spec.seed
            ))
        })
}

/// The messages of one call: a system message, then the user's.
fn chat(system: String, user: String) -> Vec<Message> {
    vec![
        Message {
            role: Role::System,
            content: system,
        },
        Message {
            role: Role::User,
            content: user,
        },
    ]
}

/// What a node's container is given, as a prompt says it: "2 CPUs, 4 GiB of memory and no GPU".
fn resources_text(r: &Requirements) -> String {
    let cpus = f64::from(r.cpu_millis) / 1000.0;
    let cpus = match cpus {
        1.0 => "1 CPU".to_owned(),
        c if c.fract() == 0.0 => format!("{c} CPUs"),
        c => format!("{c:.1} CPUs"),
    };
    let gib = r.memory_bytes as f64 / f64::from(1u32 << 30);
    let memory = if gib >= 1.0 {
        format!("{} GiB", (gib * 10.0).round() / 10.0)
    } else {
        format!("{} MiB", r.memory_bytes >> 20)
    };
    let gpus = match r.gpus {
        0 => "no GPU".to_owned(),
        1 => "1 GPU".to_owned(),
        n => format!("{n} GPUs"),
    };
    format!("{cpus}, {memory} of memory and {gpus}")
}

/// A duration as a prompt says it: "4h", "1h 30m", "45m", "30s".
fn duration_text(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

/// The run's nodes as memory sees them (`memory.rs`): plans, analysis summaries and
/// validation scores, never test scores.
fn memory_nodes(nodes: &[RunNode]) -> Vec<MemoryNode> {
    let step_of: std::collections::HashMap<Uuid, u32> =
        nodes.iter().map(|n| (n.id, n.step)).collect();
    nodes
        .iter()
        .map(|n| MemoryNode {
            step: n.step,
            is_fix: n.operator == "debug",
            plan: n.plan.clone(),
            summary: n
                .analysis
                .as_ref()
                .map(|a| a.summary.clone())
                .unwrap_or_default(),
            state: match (n.status, &n.analysis) {
                (NodeStatus::Pending, _) | (_, None) => MemoryState::Pending,
                (NodeStatus::Ok, Some(_)) => MemoryState::Ok,
                (NodeStatus::Buggy, Some(_)) => MemoryState::Buggy,
            },
            val_score: (n.status == NodeStatus::Ok)
                .then_some(n.val_score)
                .flatten(),
            parent: n.parent_ids.first().and_then(|p| step_of.get(p).copied()),
        })
        .collect()
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// What a node printed, as a model sees it: each byte once, trimmed to its first and last
/// 2,500 characters.
fn output_of(n: &RunNode) -> String {
    let printed = n.outcome.as_ref().map(|o| o.printed()).unwrap_or_default();
    trim_middle(&printed, OUTPUT_SHOWN)
}

/// How a node failed, for Debug.
pub fn failure_of(n: &RunNode) -> Failure {
    let o = n.outcome.clone().unwrap_or_default();
    Failure {
        exit_code: o.exit_code,
        timed_out: o.timed_out,
        oom_killed: o.oom_killed,
        stderr_tail: o.stderr_tail,
        invalid_reason: n.grade.as_ref().and_then(|g| g.invalid_reason.clone()),
    }
}

fn describe(f: &Failure) -> String {
    if f.timed_out {
        return "it ran out of time".into();
    }
    if f.oom_killed {
        return "it ran out of memory".into();
    }
    let last = f
        .stderr_tail
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    match (f.exit_code, &f.invalid_reason) {
        (Some(0), Some(r)) => format!("it ran, but its submission was refused: {r}"),
        (Some(0), None) => "it printed no validation metric".into(),
        (code, _) => format!("it exited with {code:?}: {last}"),
    }
}

/// `llm_calls` as the journal of one run. Each call records the prompts it was asked with:
/// the run's operator set (`aira/v1`) for operator calls, `analyze/v1` for analyze calls.
struct PgJournal {
    pool: PgPool,
    run_id: Uuid,
    operator_set: String,
}

impl PgJournal {
    /// An earlier run's answers, keyed for this run (`<from>/<step>` → `<run>/<step>`).
    async fn entries_of(pool: &PgPool, from: Uuid, run: Uuid) -> Result<Vec<ReplayEntry>> {
        let rows = sqlx::query(include_str!("../store/sql/llm_call_entries.sql"))
            .bind(format!("{from}/%"))
            .fetch_all(pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| {
                // `<from>/<step>` or `<from>/<step>/try<n>`: the same call of this run.
                let key: String = r.get("key");
                let call = key.split_once('/').map_or("", |(_, call)| call);
                ReplayEntry {
                    key: format!("{run}/{call}"),
                    answer: answer_of(r),
                    fingerprint: r.get("fingerprint"),
                }
            })
            .collect())
    }
}

fn answer_of(r: &sqlx::postgres::PgRow) -> ChatAnswer {
    ChatAnswer {
        content: r.get("answer"),
        model: r.get("model"),
        tokens_in: r.get::<i64, _>("tokens_in").max(0) as u64,
        tokens_out: r.get::<i64, _>("tokens_out").max(0) as u64,
        latency_ms: r.get::<i64, _>("latency_ms").max(0) as u64,
        cost_usd: r.get("cost_usd"),
        replayed: r.get("replayed"),
    }
}

fn journal_error(e: sqlx::Error) -> JournalError {
    JournalError(Box::new(e))
}

impl Journal for PgJournal {
    fn lookup<'a>(
        &'a self,
        key: &'a str,
    ) -> randori_llm::BoxFuture<'a, Result<Option<ChatAnswer>, JournalError>> {
        Box::pin(async move {
            let row = sqlx::query(include_str!("../store/sql/llm_call_get.sql"))
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(journal_error)?;
            Ok(row.as_ref().map(answer_of))
        })
    }

    fn record<'a>(
        &'a self,
        key: &'a str,
        request: &'a ChatRequest,
        answer: &'a ChatAnswer,
    ) -> randori_llm::BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(async move {
            let prompt = serde_json::to_value(request).map_err(|e| JournalError(Box::new(e)))?;
            let prompts = match key.ends_with("/analyze") {
                true => ANALYZE_VERSION,
                false => self.operator_set.as_str(),
            };
            sqlx::query(include_str!("../store/sql/llm_call_insert.sql"))
                .bind(key)
                .bind(self.run_id)
                .bind(&answer.model)
                .bind(prompt)
                .bind(&answer.content)
                .bind(answer.tokens_in as i64)
                .bind(answer.tokens_out as i64)
                .bind(answer.latency_ms as i64)
                .bind(answer.cost_usd)
                .bind(prompts)
                .bind(&request.fingerprint)
                .bind(answer.replayed)
                .execute(&self.pool)
                .await
                .map_err(journal_error)?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> Result<OperatorConfig> {
        let c: OperatorConfig =
            serde_json::from_value(json).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        c.check().map(|()| c)
    }

    #[test]
    fn each_operator_takes_its_own_table_over_the_defaults() {
        let c = config(serde_json::json!({
            "backend": "openai", "base_url": "http://127.0.0.1:1/v1",
            "model": "o3", "temperature": 1.0, "max_output_tokens": 8000,
            "debug": {"model": "gpt-4o", "temperature": 0.2},
        }))
        .unwrap();
        let debug = c.settings(Operator::Debug);
        assert_eq!(
            (
                debug.model.as_deref(),
                debug.temperature,
                debug.max_output_tokens
            ),
            (Some("gpt-4o"), Some(0.2), Some(8000))
        );
        let draft = c.settings(Operator::Draft);
        assert_eq!(draft.model.as_deref(), Some("o3"));
        assert!(draft.is_reasoning() && !debug.is_reasoning());
    }

    #[test]
    fn prompts_state_resources_and_durations_as_a_person_would() {
        let r = |cpu_millis, memory_bytes, gpus| Requirements {
            gpus,
            cpu_millis,
            memory_bytes,
            timeout_ms: 1,
            disk_bytes: 1 << 30,
            image: None,
        };
        assert_eq!(
            resources_text(&r(1000, 2 << 30, 0)),
            "1 CPU, 2 GiB of memory and no GPU"
        );
        assert_eq!(
            resources_text(&r(24_000, 128 << 30, 1)),
            "24 CPUs, 128 GiB of memory and 1 GPU"
        );
        assert_eq!(
            resources_text(&r(1500, 512 << 20, 2)),
            "1.5 CPUs, 512 MiB of memory and 2 GPUs"
        );
        assert_eq!(duration_text(4 * 3_600_000), "4h");
        assert_eq!(duration_text(5_400_000), "1h 30m");
        assert_eq!(duration_text(45 * 60_000), "45m");
        assert_eq!(duration_text(30_500), "30s");
    }

    #[test]
    fn bad_settings_are_refused_with_the_operator_and_the_key() {
        let refused = |json: serde_json::Value, want: &str| {
            let e = config(json).expect_err("refused").to_string();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
        };
        let base = "http://127.0.0.1:1/v1";
        refused(
            serde_json::json!({"backend": "openai", "base_url": base, "draft": {"model": "o3"}}),
            "set model (or [operator.improve] model)",
        );
        refused(
            serde_json::json!({"backend": "openai", "base_url": base, "model": "o3",
                "crossover": {"reasoning_effort": "extreme"}}),
            "crossover: reasoning_effort",
        );
        refused(
            serde_json::json!({"backend": "openai", "base_url": base, "model": "o3",
                "draft": {"modle": "o3"}}),
            "unknown field `modle`",
        );
        refused(
            serde_json::json!({"backend": "openai", "base_url": base, "model": "o3",
                "max_answer_tries": 0}),
            "max_answer_tries",
        );
    }
}
