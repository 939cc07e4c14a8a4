//! Sweeps compared (`randori sweep compare A B …`): each arm's any-medal rate per task and
//! overall, and each arm's difference from the first with a bootstrap 95% confidence interval
//! over seeds. An arm is one policy of one sweep, so a greedy-vs-MCTS sweep and two sweeps of
//! one policy each (O_AIDE vs O_AIRA) read the same way.
//!
//! Seeds are the unit: per task an arm's value for a seed is 1 if that run's pick won a medal;
//! overall it is the share of the compared tasks that seed's runs medalled on (MLE-bench's
//! medal rate). The bootstrap resamples each arm's seeds with replacement, independently, and
//! takes the 2.5th and 97.5th percentiles of the resampled differences of means.

use std::collections::{BTreeMap, BTreeSet};

use randori_search::Rng;
use serde::{Deserialize, Serialize};

use crate::display::{MISSING, has_medal, percent};
use crate::sweep::{SweepReport, csv_cell, sample_mean_and_sem};
use crate::table::{Align, Table};

/// Resamples when the caller does not say.
pub const DEFAULT_RESAMPLES: u32 = 10_000;

/// The bootstrap's RNG seed when the caller does not say.
pub const DEFAULT_SEED: u64 = 0;

/// One arm's runs: its label and, per run, the task, the seed and whether the pick medalled.
#[derive(Debug, Clone, PartialEq)]
pub struct Arm {
    pub label: String,
    pub runs: Vec<ArmRun>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ArmRun {
    pub task: String,
    pub seed: u64,
    pub any_medal: bool,
}

/// The arms of sweep reports: one per (sweep, policy), labelled `sweep name/policy` (just the
/// sweep's name when it has one policy), in the order given and then by policy.
pub fn arms_of(reports: &[SweepReport]) -> Vec<Arm> {
    let mut arms = Vec::new();
    for report in reports {
        let policies: BTreeSet<&str> = report.runs.iter().map(|r| r.policy.as_str()).collect();
        for policy in &policies {
            let label = if policies.len() == 1 {
                report.sweep.name.clone()
            } else {
                format!("{}/{policy}", report.sweep.name)
            };
            let runs = report
                .runs
                .iter()
                .filter(|r| r.policy == *policy)
                .map(|r| ArmRun {
                    task: r.task.clone(),
                    seed: r.seed,
                    any_medal: has_medal(&r.medal),
                })
                .collect();
            arms.push(Arm { label, runs });
        }
    }
    arms
}

/// The comparison; its JSON field names are a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub arms: Vec<String>,
    /// The arm every other is compared with.
    pub baseline: String,
    pub resamples: u32,
    pub seed: u64,
    /// Per task (sorted), then overall (`task` null): one row per arm.
    pub rows: Vec<CompareRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
    /// `None`: overall, over the tasks every arm ran.
    pub task: Option<String>,
    pub arm: String,
    pub seeds: u32,
    pub any_medal_pct: f64,
    pub any_medal_sem: f64,
    /// This arm's rate minus the baseline's, in percentage points; `None` on the baseline's
    /// rows and where either side has no seed.
    pub diff_pct: Option<f64>,
    pub ci_low_pct: Option<f64>,
    pub ci_high_pct: Option<f64>,
}

/// Compares `arms` (the first is the baseline) with `resamples` bootstrap draws from the RNG
/// seeded with `seed`.
pub fn compare(arms: &[Arm], resamples: u32, seed: u64) -> Comparison {
    if arms.is_empty() {
        return Comparison {
            arms: Vec::new(),
            baseline: String::new(),
            resamples,
            seed,
            rows: Vec::new(),
        };
    }
    let shared_tasks: BTreeSet<&str> = arms
        .iter()
        .map(|a| {
            a.runs
                .iter()
                .map(|r| r.task.as_str())
                .collect::<BTreeSet<_>>()
        })
        .reduce(|a, b| a.intersection(&b).copied().collect())
        .unwrap_or_default();
    let all_tasks: BTreeSet<&str> = arms
        .iter()
        .flat_map(|a| a.runs.iter().map(|r| r.task.as_str()))
        .collect();
    let mut rng = Rng::for_step(seed, 0);
    let mut rows = Vec::new();
    let scopes = all_tasks
        .iter()
        .map(|t| Some(*t))
        .chain(std::iter::once(None));
    for scope in scopes {
        let per_arm: Vec<Vec<f64>> = arms
            .iter()
            .map(|arm| match scope {
                Some(task) => per_seed(arm, &BTreeSet::from([task])),
                None => per_seed(arm, &shared_tasks),
            })
            .collect();
        let baseline = &per_arm[0];
        for (i, (arm, values)) in arms.iter().zip(&per_arm).enumerate() {
            let (mean, sem) = sample_mean_and_sem(values);
            let compared = i > 0 && !values.is_empty() && !baseline.is_empty();
            let ci = compared.then(|| bootstrap_ci(baseline, values, resamples, &mut rng));
            rows.push(CompareRow {
                task: scope.map(str::to_owned),
                arm: arm.label.clone(),
                seeds: values.len() as u32,
                any_medal_pct: 100.0 * mean,
                any_medal_sem: 100.0 * sem,
                diff_pct: compared.then(|| 100.0 * (mean - sample_mean_and_sem(baseline).0)),
                ci_low_pct: ci.map(|(low, _)| 100.0 * low),
                ci_high_pct: ci.map(|(_, high)| 100.0 * high),
            });
        }
    }
    Comparison {
        arms: arms.iter().map(|a| a.label.clone()).collect(),
        baseline: arms.first().map(|a| a.label.clone()).unwrap_or_default(),
        resamples,
        seed,
        rows,
    }
}

/// An arm's value per seed over `tasks`: the share of them its run on that seed medalled on
/// (a seed that did not run a task counts it as no medal). Seeds that ran none of them are
/// left out.
fn per_seed(arm: &Arm, tasks: &BTreeSet<&str>) -> Vec<f64> {
    let mut by_seed: BTreeMap<u64, f64> = BTreeMap::new();
    for run in arm.runs.iter().filter(|r| tasks.contains(r.task.as_str())) {
        *by_seed.entry(run.seed).or_default() += f64::from(u8::from(run.any_medal));
    }
    by_seed
        .into_values()
        .map(|hits| hits / tasks.len() as f64)
        .collect()
}

/// The percentile interval (2.5th, 97.5th) of `mean(b*) - mean(a*)` over `resamples` draws,
/// `a*` and `b*` resampled with replacement from `a` and `b` independently. Percentiles are
/// nearest-rank: the ⌈p·R⌉-th smallest draw.
fn bootstrap_ci(a: &[f64], b: &[f64], resamples: u32, rng: &mut Rng) -> (f64, f64) {
    let resampled_mean = |values: &[f64], rng: &mut Rng| {
        (0..values.len())
            .map(|_| values[rng.below(values.len())])
            .sum::<f64>()
            / values.len() as f64
    };
    let mut diffs: Vec<f64> = (0..resamples.max(1))
        .map(|_| resampled_mean(b, rng) - resampled_mean(a, rng))
        .collect();
    diffs.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let k = (p * diffs.len() as f64).ceil() as usize;
        diffs[k.clamp(1, diffs.len()) - 1]
    };
    (rank(0.025), rank(0.975))
}

fn table(c: &Comparison) -> Table {
    let mut table = Table::new(&[
        ("task", Align::Left),
        ("arm", Align::Left),
        ("seeds", Align::Right),
        ("any medal %", Align::Right),
        ("± SEM", Align::Right),
        ("Δ vs baseline (pp)", Align::Right),
        ("95% CI (pp)", Align::Right),
    ]);
    for row in &c.rows {
        let ci = match (row.ci_low_pct, row.ci_high_pct) {
            (Some(low), Some(high)) => format!("[{}, {}]", percent(low), percent(high)),
            _ => MISSING.to_owned(),
        };
        table.push(vec![
            row.task.clone().unwrap_or_else(|| "overall".to_owned()),
            row.arm.clone(),
            row.seeds.to_string(),
            percent(row.any_medal_pct),
            percent(row.any_medal_sem),
            row.diff_pct.map_or_else(|| MISSING.to_owned(), percent),
            ci,
        ]);
    }
    table
}

fn headline(c: &Comparison) -> String {
    format!(
        "Any-medal rate by arm, mean ± SEM over seeds; differences from {} with bootstrap 95% \
         intervals over seeds ({} resamples, seed {}). Overall: over the tasks every arm ran.",
        c.baseline, c.resamples, c.seed
    )
}

pub fn render_table(c: &Comparison) -> String {
    format!("{}\n\n{}", headline(c), table(c).to_text())
}

pub fn render_markdown(c: &Comparison) -> String {
    format!("{}\n\n{}", headline(c), table(c).to_markdown())
}

/// Full precision, missing values empty, `task` empty on the overall rows.
pub fn render_csv(c: &Comparison) -> String {
    let optional = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    let mut out = String::from(
        "task,arm,seeds,any_medal_pct,any_medal_sem,diff_pct,ci_low_pct,ci_high_pct\n",
    );
    for row in &c.rows {
        let cells = [
            row.task.clone().unwrap_or_default(),
            row.arm.clone(),
            row.seeds.to_string(),
            row.any_medal_pct.to_string(),
            row.any_medal_sem.to_string(),
            optional(row.diff_pct),
            optional(row.ci_low_pct),
            optional(row.ci_high_pct),
        ];
        let cells: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out += &cells.join(",");
        out += "\n";
    }
    out
}

/// The headline and the table as HTML (the dashboard's compare page), everything escaped.
pub fn render_html(c: &Comparison) -> String {
    format!(
        "<p>{}</p>\n{}",
        crate::html::escaped(&headline(c)),
        table(c).to_html()
    )
}

pub fn render_json(c: &Comparison) -> String {
    serde_json::to_string_pretty(c).expect("plain structs always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(label: &str, runs: &[(&str, u64, bool)]) -> Arm {
        Arm {
            label: label.into(),
            runs: runs
                .iter()
                .map(|&(task, seed, any_medal)| ArmRun {
                    task: task.into(),
                    seed,
                    any_medal,
                })
                .collect(),
        }
    }

    #[test]
    fn the_interval_is_the_hand_computed_bootstrap() {
        // Task t: A medals on one of two seeds, B on both. A resampled mean is 0, 1/2 or 1
        // with probabilities 1/4, 1/2, 1/4; B's is always 1. The difference B − A is then
        // 1, 1/2 or 0 with those probabilities: its 2.5th percentile is 0 and its 97.5th 1
        // (each end has probability 1/4, far above 2.5%).
        let a = arm("A", &[("t", 0, false), ("t", 1, true)]);
        let b = arm("B", &[("t", 0, true), ("t", 1, true)]);
        let c = compare(&[a, b], 10_000, 7);
        let row = |task: Option<&str>, arm: &str| {
            c.rows
                .iter()
                .find(|r| r.task.as_deref() == task && r.arm == arm)
                .unwrap()
                .clone()
        };
        let (ra, rb) = (row(Some("t"), "A"), row(Some("t"), "B"));
        assert_eq!((ra.any_medal_pct, ra.seeds), (50.0, 2));
        assert_eq!(ra.any_medal_sem, 50.0); // sd √(1/2) over √2
        assert_eq!((ra.diff_pct, ra.ci_low_pct), (None, None));
        assert_eq!(rb.any_medal_pct, 100.0);
        assert_eq!(rb.diff_pct, Some(50.0));
        assert_eq!((rb.ci_low_pct, rb.ci_high_pct), (Some(0.0), Some(100.0)));
        // One task: overall is the same.
        assert_eq!(row(None, "B").diff_pct, Some(50.0));
    }

    #[test]
    fn overall_is_the_medal_rate_per_seed_over_shared_tasks() {
        // Seeds 0 and 1 over tasks t and u; B also ran v, which overall leaves out.
        let a = arm(
            "A",
            &[
                ("t", 0, true),
                ("u", 0, false),
                ("t", 1, true),
                ("u", 1, true),
            ],
        );
        let b = arm(
            "B",
            &[
                ("t", 0, false),
                ("u", 0, false),
                ("t", 1, true),
                ("u", 1, false),
                ("v", 0, true),
            ],
        );
        let c = compare(&[a, b], 2_000, 1);
        let overall: Vec<&CompareRow> = c.rows.iter().filter(|r| r.task.is_none()).collect();
        // A: seed 0 → 1/2, seed 1 → 2/2: mean 75%; B: 0 and 1/2: mean 25%.
        assert_eq!(overall[0].any_medal_pct, 75.0);
        assert_eq!(overall[1].any_medal_pct, 25.0);
        assert_eq!(overall[1].diff_pct, Some(-50.0));
        // Every resampled difference lies between the extremes (0 − 1 and 1/2 − 1/2).
        let (low, high) = (
            overall[1].ci_low_pct.unwrap(),
            overall[1].ci_high_pct.unwrap(),
        );
        assert!((-100.0..=0.0).contains(&low) && (-100.0..=0.0).contains(&high));
        assert!(low <= -50.0 && high >= -50.0, "{low} {high}");
        // v is a row of its own, where A has no seed and so no difference.
        let v: Vec<&CompareRow> = c
            .rows
            .iter()
            .filter(|r| r.task.as_deref() == Some("v"))
            .collect();
        assert_eq!((v[0].seeds, v[1].seeds, v[1].diff_pct), (0, 1, None));
    }

    #[test]
    fn the_same_seed_gives_the_same_interval() {
        let a = arm("A", &[("t", 0, false), ("t", 1, true), ("t", 2, false)]);
        let b = arm("B", &[("t", 0, true), ("t", 1, true), ("t", 2, false)]);
        let arms = [a, b];
        assert_eq!(compare(&arms, 500, 3), compare(&arms, 500, 3));
        let csv = render_csv(&compare(&arms, 500, 3));
        assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
        assert!(csv.starts_with("task,arm,seeds,"));
        assert!(render_table(&compare(&arms, 500, 3)).contains("overall"));
    }
}
