//! The numbers behind a sweep's figures, from its runs' nodes: anytime curves (what a run
//! would hand in if stopped after k nodes or t seconds of work) and the generalization gap
//! between validation and test of the picks. The oracle-gap figure draws the report's own
//! medal rates (`MedalRate`: selected and oracle, mean ± SEM over seeds). Pure: the caller
//! reads the nodes, the plots draw these numbers.
//!
//! A run's pick at any moment is what its final pick is at the end: the ok node with the best
//! validation score so far (in the task's direction; the earliest on a tie).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::display::has_medal;
use crate::sweep::sample_mean_and_sem;

/// One evaluated node of a run, in the order the run made them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodePoint {
    pub step: u32,
    /// The run's working time when this node's evaluation ended, in seconds.
    pub working_s: f64,
    pub ok: bool,
    pub val: Option<f64>,
    pub test: Option<f64>,
    /// "gold" | "silver" | "bronze" | "none".
    pub medal: String,
}

/// A run and its nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunNodes {
    pub task: String,
    pub policy: String,
    pub seed: u64,
    pub lower_is_better: bool,
    pub nodes: Vec<NodePoint>,
}

/// What a curve's x is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Axis {
    /// Nodes evaluated, 1, 2, …
    Nodes,
    /// The run's working time in seconds, on a grid of [`TIME_POINTS`] points.
    WorkingTime,
}

/// What a curve's y is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The best validation score so far.
    BestVal,
    /// The test score of the node picked at that moment.
    SelectedTest,
    /// Whether the node picked at that moment has a medal, in percent. Overall: the share of
    /// the sweep's tasks a seed medals on (MLE-bench's medal rate).
    AnyMedalPct,
}

/// Points on the working-time axis, 0 to the group's longest run.
pub const TIME_POINTS: usize = 60;

/// A curve: mean ± SEM over the group's runs (seeds) at each x.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// `None`: over every task (only for [`Metric::AnyMedalPct`]).
    pub task: Option<String>,
    pub policy: String,
    pub metric: Metric,
    pub axis: Axis,
    pub points: Vec<CurvePoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub x: f64,
    /// `None` where no run has a value yet.
    pub mean: Option<f64>,
    pub sem: f64,
    /// The runs (seeds) with a value at x.
    pub n: u32,
}

/// What a run would hand in after some of its nodes.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pick {
    best_val: Option<f64>,
    test: Option<f64>,
    medal: bool,
}

/// A run's picks after each of its evaluations (index k: after k + 1 had ended), each with
/// the working time it took effect at, in that order.
type Trajectory = Vec<(f64, Pick)>;

/// A run's [`Trajectory`]: nodes taken in the order their evaluations ended (by step on a
/// tie), which is the order of steps unless several ran at once (`parallelism` > 1).
fn picks(run: &RunNodes) -> Trajectory {
    let mut nodes: Vec<&NodePoint> = run.nodes.iter().collect();
    nodes.sort_by(|a, b| {
        a.working_s
            .total_cmp(&b.working_s)
            .then(a.step.cmp(&b.step))
    });
    let better = |a: f64, b: f64| if run.lower_is_better { a < b } else { a > b };
    let mut best: Option<&NodePoint> = None;
    nodes
        .into_iter()
        .map(|n| {
            if let (true, Some(v)) = (n.ok, n.val)
                && best.and_then(|b| b.val).is_none_or(|b| better(v, b))
            {
                best = Some(n);
            }
            let pick = Pick {
                best_val: best.and_then(|b| b.val),
                test: best.and_then(|b| b.test),
                medal: best.is_some_and(|b| has_medal(&b.medal)),
            };
            (n.working_s, pick)
        })
        .collect()
}

/// The pick in force at `x` on `axis`: after the last node within x (none before the first).
fn pick_at(trajectory: &[(f64, Pick)], axis: Axis, x: f64) -> Option<Pick> {
    let done = match axis {
        Axis::Nodes => (x as usize).min(trajectory.len()),
        Axis::WorkingTime => trajectory.partition_point(|(t, _)| *t <= x),
    };
    done.checked_sub(1).map(|i| trajectory[i].1)
}

fn grid(axis: Axis, trajectories: &[&[(f64, Pick)]]) -> Vec<f64> {
    match axis {
        Axis::Nodes => {
            let most = trajectories.iter().map(|t| t.len()).max().unwrap_or(0);
            (1..=most).map(|k| k as f64).collect()
        }
        Axis::WorkingTime => {
            let end = trajectories
                .iter()
                .filter_map(|t| t.last().map(|(s, _)| *s))
                .fold(0.0, f64::max);
            (0..TIME_POINTS)
                .map(|i| end * i as f64 / (TIME_POINTS - 1) as f64)
                .collect()
        }
    }
}

fn point(x: f64, values: &[f64]) -> CurvePoint {
    let (mean, sem) = sample_mean_and_sem(values);
    CurvePoint {
        x,
        mean: (!values.is_empty()).then_some(mean),
        sem,
        n: values.len() as u32,
    }
}

/// Anytime curves on `axis`: per task × policy, the best validation score, the picked node's
/// test score and its medal rate; per policy over every task, the medal rate. Sorted by task
/// (overall last), policy, metric.
pub fn anytime(runs: &[RunNodes], axis: Axis) -> Vec<Curve> {
    let mut groups: BTreeMap<(&str, &str), Vec<Trajectory>> = BTreeMap::new();
    for run in runs {
        groups
            .entry((&run.task, &run.policy))
            .or_default()
            .push(picks(run));
    }
    let mut curves = Vec::new();
    for ((task, policy), trajectories) in &groups {
        let refs: Vec<&[(f64, Pick)]> = trajectories.iter().map(Vec::as_slice).collect();
        let xs = grid(axis, &refs);
        for metric in [Metric::BestVal, Metric::SelectedTest, Metric::AnyMedalPct] {
            let points = xs
                .iter()
                .map(|&x| {
                    let values: Vec<f64> = refs
                        .iter()
                        .filter_map(|t| {
                            let pick = pick_at(t, axis, x);
                            match metric {
                                Metric::BestVal => pick?.best_val,
                                Metric::SelectedTest => pick?.test,
                                Metric::AnyMedalPct => {
                                    Some(100.0 * f64::from(u8::from(pick.is_some_and(|p| p.medal))))
                                }
                            }
                        })
                        .collect();
                    point(x, &values)
                })
                .collect();
            curves.push(Curve {
                task: Some((*task).to_owned()),
                policy: (*policy).to_owned(),
                metric,
                axis,
                points,
            });
        }
    }
    curves.extend(overall_medal_curves(runs, axis));
    curves
}

/// Per policy: at each x, each seed's share of the sweep's tasks whose run medals then, mean ±
/// SEM over seeds.
fn overall_medal_curves(runs: &[RunNodes], axis: Axis) -> Vec<Curve> {
    let tasks = runs.iter().map(|r| &r.task).collect::<BTreeSet<_>>().len() as f64;
    let mut by_policy: BTreeMap<&str, BTreeMap<u64, Vec<Trajectory>>> = BTreeMap::new();
    for run in runs {
        by_policy
            .entry(&run.policy)
            .or_default()
            .entry(run.seed)
            .or_default()
            .push(picks(run));
    }
    by_policy
        .into_iter()
        .map(|(policy, seeds)| {
            let all: Vec<&[(f64, Pick)]> = seeds.values().flatten().map(Vec::as_slice).collect();
            let points = grid(axis, &all)
                .into_iter()
                .map(|x| {
                    let per_seed: Vec<f64> = seeds
                        .values()
                        .map(|runs| {
                            let medals = runs
                                .iter()
                                .filter(|t| pick_at(t, axis, x).is_some_and(|p| p.medal))
                                .count();
                            100.0 * medals as f64 / tasks
                        })
                        .collect();
                    point(x, &per_seed)
                })
                .collect();
            Curve {
                task: None,
                policy: policy.to_owned(),
                metric: Metric::AnyMedalPct,
                axis,
                points,
            }
        })
        .collect()
}

/// What one run would hand in if stopped after each of its evaluated nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionPoint {
    /// Nodes evaluated so far.
    pub nodes: u32,
    /// The run's working time then, in seconds.
    pub working_s: f64,
    /// The pick's validation score (`None` before the first ok node).
    pub val: Option<f64>,
    /// The pick's test score.
    pub test: Option<f64>,
    /// Whether the pick has a medal.
    pub medal: bool,
}

/// A run's pick over its nodes: its validation and test scores side by side, which is where
/// the generalization gap of one run shows (validation still rising, test flat).
pub fn selection_over_time(run: &RunNodes) -> Vec<SelectionPoint> {
    picks(run)
        .into_iter()
        .enumerate()
        .map(|(i, (working_s, pick))| SelectionPoint {
            nodes: i as u32 + 1,
            working_s,
            val: pick.best_val,
            test: pick.test,
            medal: pick.medal,
        })
        .collect()
}

/// The generalization gap of one task × policy: how much better the final pick looked on
/// validation than it scored on test, in the task's direction (positive: validation
/// flattered it), mean ± SEM over the runs whose pick has both scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapRow {
    pub task: String,
    pub policy: String,
    pub runs: u32,
    pub mean_gap: Option<f64>,
    pub sem: f64,
}

pub fn generalization_gap(runs: &[RunNodes]) -> Vec<GapRow> {
    let mut groups: BTreeMap<(&str, &str), Vec<f64>> = BTreeMap::new();
    for run in runs {
        let gaps = groups.entry((&run.task, &run.policy)).or_default();
        let last = picks(run).last().map(|(_, p)| *p);
        if let Some(Pick {
            best_val: Some(val),
            test: Some(test),
            ..
        }) = last
        {
            gaps.push(if run.lower_is_better {
                test - val
            } else {
                val - test
            });
        }
    }
    groups
        .into_iter()
        .map(|((task, policy), gaps)| {
            let (mean, sem) = sample_mean_and_sem(&gaps);
            GapRow {
                task: task.to_owned(),
                policy: policy.to_owned(),
                runs: gaps.len() as u32,
                mean_gap: (!gaps.is_empty()).then_some(mean),
                sem,
            }
        })
        .collect()
}

/// One node's evaluation as the store recorded it, for [`working_times`]. Times in seconds
/// since any fixed origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub step: u32,
    pub leased_at: Option<f64>,
    pub finished_at: Option<f64>,
    /// How long the LLM calls of this node's step took.
    pub llm_seconds: f64,
}

/// Each node's run working time when its evaluation ended, as the wall budget counts it: the
/// time at least one of the run's evaluations ran (the union of their lease intervals, cut at
/// that moment) plus the LLM time of its step and the steps before. `None` for a node not
/// evaluated yet. In the order given.
pub fn working_times(evals: &[Evaluation]) -> Vec<Option<f64>> {
    let mut spans: Vec<(f64, f64)> = evals
        .iter()
        .filter_map(|e| Some((e.leased_at?, e.finished_at?)))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    evals
        .iter()
        .map(|e| {
            let end = e.finished_at?;
            let (mut covered, mut reach) = (0.0, f64::NEG_INFINITY);
            for &(start, finish) in spans.iter().take_while(|(s, _)| *s < end) {
                let finish = finish.min(end);
                let start = start.max(reach);
                if finish > start {
                    covered += finish - start;
                }
                reach = reach.max(finish);
            }
            let llm: f64 = evals
                .iter()
                .filter(|o| o.step <= e.step)
                .map(|o| o.llm_seconds)
                .sum();
            Some(covered + llm)
        })
        .collect()
}

/// A point of the generalization scatter: an ok node's validation and test score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScatterPoint {
    pub task: String,
    pub policy: String,
    pub val: f64,
    pub test: f64,
    /// Its run's final pick.
    pub selected: bool,
    /// Its run's best test score (what a perfect final selection would pick).
    pub oracle: bool,
}

/// Every ok node with both scores, marked when it is its run's pick or oracle node.
pub fn scatter(runs: &[RunNodes]) -> Vec<ScatterPoint> {
    let mut points = Vec::new();
    for run in runs {
        let better = |a: f64, b: f64| if run.lower_is_better { a < b } else { a > b };
        let mut nodes: Vec<&NodePoint> = run.nodes.iter().filter(|n| n.ok).collect();
        nodes.sort_by_key(|n| n.step);
        let best_by = |score: fn(&NodePoint) -> Option<f64>| {
            nodes
                .iter()
                .filter(|n| score(n).is_some())
                .fold(None::<&NodePoint>, |best, n| match best {
                    Some(b) if !better(score(n).unwrap(), score(b).unwrap()) => Some(b),
                    _ => Some(n),
                })
                .map(|n| n.step)
        };
        let (selected, oracle) = (best_by(|n| n.val), best_by(|n| n.test));
        for n in &nodes {
            if let (Some(val), Some(test)) = (n.val, n.test) {
                points.push(ScatterPoint {
                    task: run.task.clone(),
                    policy: run.policy.clone(),
                    val,
                    test,
                    selected: selected == Some(n.step),
                    oracle: oracle == Some(n.step),
                });
            }
        }
    }
    points
}

/// One stored node as a figure needs it (the store's or the export's row, mapped by the
/// caller). Times in seconds since any fixed origin.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRow {
    pub run_id: String,
    pub task: String,
    pub policy: String,
    /// What wrote its program: `builtin` or an operator set's label (`aira/v1`).
    pub operators: String,
    pub seed: u64,
    pub step: u32,
    /// "pending" | "ok" | "buggy".
    pub status: String,
    pub val: Option<f64>,
    pub test: Option<f64>,
    pub medal: String,
    pub lower_is_better: Option<bool>,
    pub leased_at: Option<f64>,
    pub finished_at: Option<f64>,
    pub llm_seconds: f64,
}

/// The runs of a sweep's node rows, each node with its working time (see [`RunsOfRows`]).
pub fn runs_of(rows: impl IntoIterator<Item = NodeRow>) -> Vec<RunNodes> {
    let mut runs = RunsOfRows::default();
    for row in rows {
        runs.push(row);
    }
    runs.finish()
}

/// A sweep's node rows gathered into runs one row at a time, as a store or a stream reads
/// them: a run's task, policy and operators are kept once and of each node only what a
/// figure needs, so a sweep of a million nodes is never held as rows. Pending nodes (not
/// evaluated yet) are on no curve and left out. Runs come out in the order of their first
/// row; when the rows differ in what wrote their programs, each run's policy names its
/// operator set as the report's does ([`crate::arm_label`]).
#[derive(Debug, Default)]
pub struct RunsOfRows {
    order: Vec<String>,
    runs: BTreeMap<String, RunRows>,
}

#[derive(Debug)]
struct RunRows {
    task: String,
    policy: String,
    operators: String,
    seed: u64,
    lower_is_better: Option<bool>,
    evals: Vec<Evaluation>,
    /// Beside each evaluation: its node's point, its working time still to be found; `None`
    /// for a pending node.
    points: Vec<Option<NodePoint>>,
}

impl RunsOfRows {
    pub fn push(&mut self, row: NodeRow) {
        let run = match self.runs.get_mut(&row.run_id) {
            Some(run) => run,
            None => {
                self.order.push(row.run_id.clone());
                self.runs.entry(row.run_id.clone()).or_insert(RunRows {
                    task: row.task,
                    policy: row.policy,
                    operators: row.operators,
                    seed: row.seed,
                    lower_is_better: None,
                    evals: Vec::new(),
                    points: Vec::new(),
                })
            }
        };
        run.lower_is_better = run.lower_is_better.or(row.lower_is_better);
        run.evals.push(Evaluation {
            step: row.step,
            leased_at: row.leased_at,
            finished_at: row.finished_at,
            llm_seconds: row.llm_seconds,
        });
        run.points
            .push((row.status != "pending").then(|| NodePoint {
                step: row.step,
                working_s: 0.0,
                ok: row.status == "ok",
                val: row.val,
                test: row.test,
                medal: row.medal,
            }));
    }

    pub fn finish(mut self) -> Vec<RunNodes> {
        let compared = self
            .runs
            .values()
            .map(|r| r.operators.as_str())
            .collect::<BTreeSet<_>>()
            .len()
            > 1;
        self.order
            .iter()
            .filter_map(|id| self.runs.remove(id))
            .map(|run| RunNodes {
                policy: crate::arm_label(&run.policy, &run.operators, compared),
                task: run.task,
                seed: run.seed,
                lower_is_better: run.lower_is_better.unwrap_or(false),
                nodes: run
                    .points
                    .into_iter()
                    .zip(working_times(&run.evals))
                    .filter_map(|(point, working_s)| {
                        Some(NodePoint {
                            working_s: working_s?,
                            ..point?
                        })
                    })
                    .collect(),
            })
            .collect()
    }
}
