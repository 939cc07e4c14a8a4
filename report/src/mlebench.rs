//! MLE-bench's own summaries of a sweep, computed from each run's final pick as `mlebench
//! grade` would report it:
//!
//! - [`MleBenchTotals`]: what MLE-bench's `aggregate_reports` sums over the competition reports
//!   of a `mlebench grade --submission` call, with one report per run (a run that selected no
//!   node is a report without a submission). `randori sweep export --mlebench` writes the JSONL
//!   whose grading gives exactly these totals.
//! - [`MedalRate`]: the headline number of MLE-bench's paper and of AIRA-dojo's, per policy:
//!   for each seed the share of the sweep's competitions whose selected submission won any
//!   medal, then the mean ± SEM over seeds (the SEM with n − 1, as MLE-bench's
//!   `aggregate_grading_reports.py` computes it). A seed that lacks a competition counts it as
//!   no medal, as that script's `--pad-missing` does.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::display::has_medal;
use crate::sweep::{NodeFacts, RunFacts, sample_mean_and_sem};

/// `aggregate_reports`' totals; the field names are MLE-bench's own keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MleBenchTotals {
    pub total_runs: u32,
    pub total_runs_with_submissions: u32,
    pub total_valid_submissions: u32,
    pub total_medals: u32,
    pub total_gold_medals: u32,
    pub total_silver_medals: u32,
    pub total_bronze_medals: u32,
    pub total_above_median: u32,
}

impl MleBenchTotals {
    /// Sums one report per run: its selected node's grade, or none.
    pub fn of<'a>(selected: impl IntoIterator<Item = Option<&'a NodeFacts>>) -> Self {
        let mut t = Self::default();
        for node in selected {
            t.total_runs += 1;
            let Some(n) = node else { continue };
            let count = |hit: bool| u32::from(hit);
            t.total_runs_with_submissions += count(n.submission_exists);
            t.total_valid_submissions += count(n.valid_submission);
            t.total_gold_medals += count(n.medal == "gold");
            t.total_silver_medals += count(n.medal == "silver");
            t.total_bronze_medals += count(n.medal == "bronze");
            t.total_above_median += count(n.above_median);
        }
        t.total_medals = t.total_gold_medals + t.total_silver_medals + t.total_bronze_medals;
        t
    }
}

/// One policy's rates over seeds, in percent of the sweep's competitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedalRate {
    pub policy: String,
    /// The seeds averaged over.
    pub seeds: u32,
    /// The competitions (tasks) each seed is a share of: every task of the sweep.
    pub competitions: u32,
    pub any_medal_pct: f64,
    pub any_medal_sem: f64,
    pub gold_pct: f64,
    pub silver_pct: f64,
    pub bronze_pct: f64,
    pub above_median_pct: f64,
    pub above_median_sem: f64,
    pub valid_submission_pct: f64,
    pub valid_submission_sem: f64,
    /// Any medal, counted on the runs' oracle nodes (the best test score) instead of their
    /// picks: the oracle-gap figure's other bar.
    #[serde(default)]
    pub oracle_any_medal_pct: f64,
    #[serde(default)]
    pub oracle_any_medal_sem: f64,
}

/// Per policy, sorted by name: the rates of each seed, averaged over seeds.
pub fn medal_rates(runs: &[RunFacts]) -> Vec<MedalRate> {
    let competitions = runs.iter().map(|r| &r.task).collect::<BTreeSet<_>>().len();
    let mut by_policy_seed: BTreeMap<&str, BTreeMap<u64, Vec<&RunFacts>>> = BTreeMap::new();
    for run in runs {
        by_policy_seed
            .entry(&run.policy)
            .or_default()
            .entry(run.seed)
            .or_default()
            .push(run);
    }
    by_policy_seed
        .into_iter()
        .map(|(policy, seeds)| {
            let per_seed = |hit: &dyn Fn(&RunFacts) -> bool| -> Vec<f64> {
                seeds
                    .values()
                    .map(|runs| {
                        let hits = runs.iter().filter(|r| hit(r)).count();
                        100.0 * hits as f64 / competitions as f64
                    })
                    .collect()
            };
            let selected = |hit: fn(&NodeFacts) -> bool| {
                move |r: &RunFacts| r.selected.as_ref().is_some_and(hit)
            };
            let any = sample_mean_and_sem(&per_seed(&selected(|n| has_medal(&n.medal))));
            let oracle = sample_mean_and_sem(&per_seed(&|r| {
                r.oracle.as_ref().is_some_and(|n| has_medal(&n.medal))
            }));
            let above = sample_mean_and_sem(&per_seed(&selected(|n| n.above_median)));
            let valid = sample_mean_and_sem(&per_seed(&selected(|n| n.valid_submission)));
            let medal = |m: &str| {
                sample_mean_and_sem(&per_seed(&|r| {
                    r.selected.as_ref().is_some_and(|n| n.medal == m)
                }))
                .0
            };
            MedalRate {
                policy: policy.to_owned(),
                seeds: seeds.len() as u32,
                competitions: competitions as u32,
                any_medal_pct: any.0,
                any_medal_sem: any.1,
                gold_pct: medal("gold"),
                silver_pct: medal("silver"),
                bronze_pct: medal("bronze"),
                above_median_pct: above.0,
                above_median_sem: above.1,
                valid_submission_pct: valid.0,
                valid_submission_sem: valid.1,
                oracle_any_medal_pct: oracle.0,
                oracle_any_medal_sem: oracle.1,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(valid: bool, above: bool, medal: &str) -> NodeFacts {
        NodeFacts {
            submission_exists: true,
            valid_submission: valid,
            above_median: above,
            medal: medal.into(),
            test_score: valid.then_some(1.0),
        }
    }

    fn run(task: &str, policy: &str, seed: u64, selected: Option<NodeFacts>) -> RunFacts {
        RunFacts {
            id: format!("{task}-{policy}-{seed}"),
            task: task.into(),
            policy: policy.into(),
            seed,
            state: "completed".into(),
            error: None,
            nodes: 1,
            nodes_ok: 1,
            nodes_buggy: 0,
            best_val: None,
            selected,
            oracle: None,
            llm: Default::default(),
            cpu_seconds: 0.0,
            gpu_seconds: 0.0,
        }
    }

    #[test]
    fn totals_count_every_run_and_a_run_without_a_pick_as_no_submission() {
        let nodes = [
            Some(node(true, true, "gold")),
            Some(node(true, true, "bronze")),
            Some(node(true, false, "none")),
            Some(NodeFacts {
                submission_exists: false,
                ..node(false, false, "none")
            }),
            Some(node(false, false, "none")),
            None,
        ];
        let t = MleBenchTotals::of(nodes.iter().map(Option::as_ref));
        assert_eq!(
            t,
            MleBenchTotals {
                total_runs: 6,
                total_runs_with_submissions: 4,
                total_valid_submissions: 3,
                total_medals: 2,
                total_gold_medals: 1,
                total_silver_medals: 0,
                total_bronze_medals: 1,
                total_above_median: 2,
            }
        );
    }

    #[test]
    fn the_medal_rate_is_a_share_of_competitions_per_seed_averaged_over_seeds() {
        // 2 competitions × greedy seeds 0..3; seed 0: 2 medals (100 %), seed 1: 1 (50 %),
        // seed 2: none, and its run of "b" is missing (0 %).
        let runs = vec![
            run("a", "greedy", 0, Some(node(true, true, "gold"))),
            run("b", "greedy", 0, Some(node(true, true, "bronze"))),
            run("a", "greedy", 1, Some(node(true, true, "silver"))),
            run("b", "greedy", 1, None),
            run("a", "greedy", 2, Some(node(true, false, "none"))),
            run("a", "mcts", 0, Some(node(true, true, "gold"))),
            run("b", "mcts", 0, Some(node(false, false, "none"))),
        ];
        let rates = medal_rates(&runs);
        assert_eq!(
            rates.iter().map(|r| r.policy.as_str()).collect::<Vec<_>>(),
            ["greedy", "mcts"]
        );
        let g = &rates[0];
        assert_eq!((g.seeds, g.competitions), (3, 2));
        assert!((g.any_medal_pct - 50.0).abs() < 1e-9);
        // Sample SD of (100, 50, 0) is 50; over √3.
        assert!((g.any_medal_sem - 50.0 / 3f64.sqrt()).abs() < 1e-9);
        assert!((g.gold_pct - 50.0 / 3.0).abs() < 1e-9);
        assert!((g.valid_submission_pct - 200.0 / 3.0).abs() < 1e-9);
        let m = &rates[1];
        assert_eq!((m.seeds, m.any_medal_pct, m.any_medal_sem), (1, 50.0, 0.0));
        assert_eq!(m.valid_submission_pct, 50.0);
    }
}
