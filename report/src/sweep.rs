//! A sweep's report, aggregated as MLE-bench does: every run (one seed) contributes one
//! indicator per metric from its selected node, and a task × policy row shows the mean in
//! percent with its standard error.

use serde::{Deserialize, Serialize};

use crate::display::{self, has_medal};
use crate::html::escaped;
use crate::mlebench::{MedalRate, MleBenchTotals, medal_rates};
use crate::table::{Align, Table};

/// The sweep a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepInfo {
    pub id: String,
    pub name: String,
    pub state: String,
    /// RFC 3339.
    pub created_at: String,
    /// What wrote the programs: the operator sets and versions the runs used (`aira/v1`),
    /// or `builtin`. A sweep that compares sets names each run's set beside its policy.
    #[serde(default)]
    pub operators: Vec<String>,
    /// Some run read test scores to steer its search (`use_test_score`, AIRA-dojo's oracle
    /// ablation): its picks are not a fair result.
    #[serde(default)]
    pub oracle_ablation: bool,
}

/// The policy a run is shown under in reports and figures: `greedy`, or `greedy (aide/v1)`
/// when the sweep's runs differ in what wrote their programs (`compared`), so that its groups
/// compare the operator sets as well as the policies.
pub fn arm_label(policy: &str, operators: &str, compared: bool) -> String {
    match compared {
        true => format!("{policy} ({operators})"),
        false => policy.to_owned(),
    }
}

/// The grade of one node: a run's selected node or its oracle node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeFacts {
    pub submission_exists: bool,
    pub valid_submission: bool,
    pub above_median: bool,
    /// "gold" | "silver" | "bronze" | "none".
    pub medal: String,
    pub test_score: Option<f64>,
}

/// What a run spent on LLM calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmUsage {
    pub calls: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cost_usd: f64,
}

/// One run of a sweep, as the caller read it from the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFacts {
    pub id: String,
    pub task: String,
    pub policy: String,
    pub seed: u64,
    /// "running" | "paused" | "completed" | "failed" | "cancelled".
    pub state: String,
    /// Why a failed run failed.
    #[serde(default)]
    pub error: Option<String>,
    pub nodes: u32,
    pub nodes_ok: u32,
    pub nodes_buggy: u32,
    /// Best validation score among ok nodes, the task's direction already applied.
    pub best_val: Option<f64>,
    /// The run's final pick (best validation score); `None` until the run completed, or when
    /// nothing was valid.
    pub selected: Option<NodeFacts>,
    /// The node with the best test score: what a perfect final selection would have picked.
    pub oracle: Option<NodeFacts>,
    pub llm: LlmUsage,
    pub cpu_seconds: f64,
    pub gpu_seconds: f64,
}

/// The report of `randori sweep report`; its JSON field names are a contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    pub sweep: SweepInfo,
    /// One per (task, policy), sorted by task then policy.
    pub rows: Vec<ReportRow>,
    /// One per run, sorted by task, policy, seed.
    pub runs: Vec<RunRow>,
    pub totals: Totals,
    /// What MLE-bench's own tools say of the runs' final picks.
    pub mlebench: MleBenchSummary,
}

/// MLE-bench's summaries of the sweep (see [`crate::mlebench`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MleBenchSummary {
    /// `aggregate_reports` over one report per run.
    pub totals: MleBenchTotals,
    /// Per policy: the any-medal rate over the sweep's competitions, mean ± SEM over seeds.
    pub medal_rates: Vec<MedalRate>,
}

/// The aggregate of one task × policy. Percentages are means over its runs × 100; SEMs are
/// the sample standard deviation (n − 1) over √n, in percentage points, 0 when n < 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRow {
    pub task: String,
    pub policy: String,
    /// Every run counts, finished or not: a run without a selected node scores 0.
    pub runs: u32,
    pub runs_completed: u32,
    pub made_submission_pct: f64,
    pub made_submission_sem: f64,
    pub valid_submission_pct: f64,
    pub valid_submission_sem: f64,
    pub above_median_pct: f64,
    pub above_median_sem: f64,
    pub gold_pct: f64,
    pub silver_pct: f64,
    pub bronze_pct: f64,
    pub any_medal_pct: f64,
    pub any_medal_sem: f64,
    /// Any medal, counted on the oracle nodes instead of the selected ones.
    pub oracle_any_medal_pct: f64,
    /// `oracle_any_medal_pct - any_medal_pct`: what a perfect final selection would add.
    pub oracle_gap_pct: f64,
    /// Mean over the runs that have a best validation score; `None` if none do.
    pub mean_best_val: Option<f64>,
    /// Mean over the runs whose selected node has a test score; `None` if none do.
    pub mean_selected_test: Option<f64>,
    pub llm_tokens_in: u64,
    pub llm_tokens_out: u64,
    pub llm_cost_usd: f64,
    pub cpu_seconds: f64,
    pub gpu_seconds: f64,
}

/// One run in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub task: String,
    pub policy: String,
    pub seed: u64,
    pub state: String,
    /// Why a failed run failed: a run that failed is told apart from one that found nothing.
    #[serde(default)]
    pub error: Option<String>,
    pub nodes: u32,
    pub nodes_ok: u32,
    pub nodes_buggy: u32,
    pub best_val: Option<f64>,
    pub selected_test: Option<f64>,
    /// The selected node's medal, "none" without a selected node.
    pub medal: String,
    pub valid_submission: bool,
    /// The oracle node's medal, "none" without an oracle node.
    pub oracle_medal: String,
    pub llm_tokens_in: u64,
    pub llm_tokens_out: u64,
    pub llm_cost_usd: f64,
    pub cpu_seconds: f64,
    pub gpu_seconds: f64,
}

/// Sums over every run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub runs: u32,
    pub runs_completed: u32,
    pub nodes: u64,
    pub llm_calls: u64,
    pub llm_tokens_in: u64,
    pub llm_tokens_out: u64,
    pub llm_cost_usd: f64,
    pub cpu_seconds: f64,
    pub gpu_seconds: f64,
}

/// Aggregates a sweep's runs into its report.
pub fn build(sweep: SweepInfo, mut runs: Vec<RunFacts>) -> SweepReport {
    // One sort gives both the row groups and the run order; the id keeps equal seeds stable.
    runs.sort_by(|a, b| {
        (&a.task, &a.policy, a.seed, &a.id).cmp(&(&b.task, &b.policy, b.seed, &b.id))
    });
    let rows = runs
        .chunk_by(|a, b| a.task == b.task && a.policy == b.policy)
        .map(report_row)
        .collect();
    SweepReport {
        sweep,
        rows,
        runs: runs.iter().map(run_row).collect(),
        totals: totals(&runs),
        mlebench: MleBenchSummary {
            totals: MleBenchTotals::of(runs.iter().map(|r| r.selected.as_ref())),
            medal_rates: medal_rates(&runs),
        },
    }
}

/// Mean and standard error of 0/1 indicators, both in percent.
struct Share {
    pct: f64,
    sem: f64,
}

impl Share {
    /// Counts `hit` on each run's node; a run without that node counts as a miss.
    fn of(nodes: &[Option<&NodeFacts>], hit: impl Fn(&NodeFacts) -> bool) -> Self {
        let values: Vec<f64> = nodes
            .iter()
            .map(|node| if node.is_some_and(&hit) { 100.0 } else { 0.0 })
            .collect();
        let (pct, sem) = sample_mean_and_sem(&values);
        Self { pct, sem }
    }
}

/// The mean and its standard error: the sample standard deviation (n − 1) over √n; 0 when
/// n < 2, and (0, 0) without values.
pub(crate) fn sample_mean_and_sem(values: &[f64]) -> (f64, f64) {
    let Some(mean) = mean(values) else {
        return (0.0, 0.0);
    };
    let n = values.len() as f64;
    if values.len() < 2 {
        return (mean, 0.0);
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance.sqrt() / n.sqrt())
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn count_completed(runs: &[RunFacts]) -> u32 {
    runs.iter().filter(|r| r.state == "completed").count() as u32
}

fn report_row(group: &[RunFacts]) -> ReportRow {
    let selected: Vec<Option<&NodeFacts>> = group.iter().map(|r| r.selected.as_ref()).collect();
    let oracle: Vec<Option<&NodeFacts>> = group.iter().map(|r| r.oracle.as_ref()).collect();
    let made_submission = Share::of(&selected, |n| n.submission_exists);
    let valid_submission = Share::of(&selected, |n| n.valid_submission);
    let above_median = Share::of(&selected, |n| n.above_median);
    let any_medal = Share::of(&selected, |n| has_medal(&n.medal));
    let oracle_any_medal = Share::of(&oracle, |n| has_medal(&n.medal));
    let medal_pct = |medal: &str| Share::of(&selected, |n| n.medal == medal).pct;
    let best_vals: Vec<f64> = group.iter().filter_map(|r| r.best_val).collect();
    let selected_tests: Vec<f64> = selected
        .iter()
        .flatten()
        .filter_map(|n| n.test_score)
        .collect();
    ReportRow {
        task: group[0].task.clone(),
        policy: group[0].policy.clone(),
        runs: group.len() as u32,
        runs_completed: count_completed(group),
        made_submission_pct: made_submission.pct,
        made_submission_sem: made_submission.sem,
        valid_submission_pct: valid_submission.pct,
        valid_submission_sem: valid_submission.sem,
        above_median_pct: above_median.pct,
        above_median_sem: above_median.sem,
        gold_pct: medal_pct("gold"),
        silver_pct: medal_pct("silver"),
        bronze_pct: medal_pct("bronze"),
        any_medal_pct: any_medal.pct,
        any_medal_sem: any_medal.sem,
        oracle_any_medal_pct: oracle_any_medal.pct,
        oracle_gap_pct: oracle_any_medal.pct - any_medal.pct,
        mean_best_val: mean(&best_vals),
        mean_selected_test: mean(&selected_tests),
        llm_tokens_in: group.iter().map(|r| r.llm.tokens_in).sum(),
        llm_tokens_out: group.iter().map(|r| r.llm.tokens_out).sum(),
        llm_cost_usd: group.iter().map(|r| r.llm.cost_usd).sum(),
        cpu_seconds: group.iter().map(|r| r.cpu_seconds).sum(),
        gpu_seconds: group.iter().map(|r| r.gpu_seconds).sum(),
    }
}

fn medal_of(node: Option<&NodeFacts>) -> String {
    node.map_or_else(|| "none".to_owned(), |n| n.medal.clone())
}

fn run_row(run: &RunFacts) -> RunRow {
    let selected = run.selected.as_ref();
    RunRow {
        id: run.id.clone(),
        task: run.task.clone(),
        policy: run.policy.clone(),
        seed: run.seed,
        state: run.state.clone(),
        error: run.error.clone(),
        nodes: run.nodes,
        nodes_ok: run.nodes_ok,
        nodes_buggy: run.nodes_buggy,
        best_val: run.best_val,
        selected_test: selected.and_then(|n| n.test_score),
        medal: medal_of(selected),
        valid_submission: selected.is_some_and(|n| n.valid_submission),
        oracle_medal: medal_of(run.oracle.as_ref()),
        llm_tokens_in: run.llm.tokens_in,
        llm_tokens_out: run.llm.tokens_out,
        llm_cost_usd: run.llm.cost_usd,
        cpu_seconds: run.cpu_seconds,
        gpu_seconds: run.gpu_seconds,
    }
}

fn totals(runs: &[RunFacts]) -> Totals {
    Totals {
        runs: runs.len() as u32,
        runs_completed: count_completed(runs),
        nodes: runs.iter().map(|r| u64::from(r.nodes)).sum(),
        llm_calls: runs.iter().map(|r| r.llm.calls).sum(),
        llm_tokens_in: runs.iter().map(|r| r.llm.tokens_in).sum(),
        llm_tokens_out: runs.iter().map(|r| r.llm.tokens_out).sum(),
        llm_cost_usd: runs.iter().map(|r| r.llm.cost_usd).sum(),
        cpu_seconds: runs.iter().map(|r| r.cpu_seconds).sum(),
        gpu_seconds: runs.iter().map(|r| r.gpu_seconds).sum(),
    }
}

fn headline(sweep: &SweepInfo) -> String {
    let operators = match sweep.operators.as_slice() {
        [] => String::new(),
        sets => format!("; operators {}", sets.join(", ")),
    };
    let oracle = match sweep.oracle_ablation {
        true => "; ORACLE ABLATION: test scores steered the search (use_test_score)",
        false => "",
    };
    format!(
        "sweep {} ({}): {}, created {}{operators}{oracle}",
        sweep.name, sweep.id, sweep.state, sweep.created_at
    )
}

fn mean_and_sem(pct: f64, sem: f64) -> String {
    format!("{} ± {}", display::percent(pct), display::percent(sem))
}

fn rows_table(rows: &[ReportRow]) -> Table {
    let mut table = Table::new(&[
        ("task", Align::Left),
        ("policy", Align::Left),
        ("runs", Align::Right),
        ("valid %", Align::Right),
        ("above median %", Align::Right),
        ("any medal %", Align::Right),
        ("gold %", Align::Right),
        ("silver %", Align::Right),
        ("bronze %", Align::Right),
        ("oracle any %", Align::Right),
        ("mean best val", Align::Right),
        ("mean selected test", Align::Right),
    ]);
    for row in rows {
        table.push(vec![
            row.task.clone(),
            row.policy.clone(),
            row.runs.to_string(),
            mean_and_sem(row.valid_submission_pct, row.valid_submission_sem),
            mean_and_sem(row.above_median_pct, row.above_median_sem),
            mean_and_sem(row.any_medal_pct, row.any_medal_sem),
            display::percent(row.gold_pct),
            display::percent(row.silver_pct),
            display::percent(row.bronze_pct),
            display::percent(row.oracle_any_medal_pct),
            display::score(row.mean_best_val),
            display::score(row.mean_selected_test),
        ]);
    }
    table
}

fn runs_table(runs: &[RunRow]) -> Table {
    let mut table = Table::new(&[
        ("task", Align::Left),
        ("policy", Align::Left),
        ("seed", Align::Right),
        ("state", Align::Left),
        ("nodes (ok/buggy)", Align::Right),
        ("best val", Align::Right),
        ("selected test", Align::Right),
        ("medal", Align::Left),
        ("error", Align::Left),
    ]);
    for run in runs {
        table.push(vec![
            run.task.clone(),
            run.policy.clone(),
            run.seed.to_string(),
            run.state.clone(),
            format!("{} ({}/{})", run.nodes, run.nodes_ok, run.nodes_buggy),
            display::score(run.best_val),
            display::score(run.selected_test),
            run.medal.clone(),
            run.error.as_deref().map(error_shown).unwrap_or_default(),
        ]);
    }
    table
}

/// A run's error as a table cell: its first line, at most 100 characters.
fn error_shown(error: &str) -> String {
    let line = error.lines().next().unwrap_or_default();
    match line.char_indices().nth(100) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    }
}

fn medal_rates_table(rates: &[MedalRate]) -> Table {
    let mut table = Table::new(&[
        ("policy", Align::Left),
        ("seeds", Align::Right),
        ("competitions", Align::Right),
        ("any medal %", Align::Right),
        ("gold %", Align::Right),
        ("silver %", Align::Right),
        ("bronze %", Align::Right),
        ("above median %", Align::Right),
        ("valid %", Align::Right),
        ("oracle any medal %", Align::Right),
    ]);
    for rate in rates {
        table.push(vec![
            rate.policy.clone(),
            rate.seeds.to_string(),
            rate.competitions.to_string(),
            mean_and_sem(rate.any_medal_pct, rate.any_medal_sem),
            display::percent(rate.gold_pct),
            display::percent(rate.silver_pct),
            display::percent(rate.bronze_pct),
            mean_and_sem(rate.above_median_pct, rate.above_median_sem),
            mean_and_sem(rate.valid_submission_pct, rate.valid_submission_sem),
            mean_and_sem(rate.oracle_any_medal_pct, rate.oracle_any_medal_sem),
        ]);
    }
    table
}

fn mlebench_totals_line(t: &MleBenchTotals) -> String {
    format!(
        "MLE-bench totals (aggregate_reports over each run's pick): {} runs, {} with submissions, \
         {} valid, {} medals ({} gold, {} silver, {} bronze), {} above median",
        t.total_runs,
        t.total_runs_with_submissions,
        t.total_valid_submissions,
        t.total_medals,
        t.total_gold_medals,
        t.total_silver_medals,
        t.total_bronze_medals,
        t.total_above_median
    )
}

fn totals_line(totals: &Totals) -> String {
    format!(
        "totals: {} runs ({} completed), {} nodes, LLM {} calls, {} tokens in, {} tokens out, \
         ${:.4}, CPU {:.1} s, GPU {:.1} s",
        totals.runs,
        totals.runs_completed,
        totals.nodes,
        totals.llm_calls,
        totals.llm_tokens_in,
        totals.llm_tokens_out,
        totals.llm_cost_usd,
        totals.cpu_seconds,
        totals.gpu_seconds
    )
}

/// Plain aligned text for a terminal: headline, the task × policy table, the runs, the
/// MLE-bench medal rate per policy, the MLE-bench totals and randori's totals.
pub fn render_table(report: &SweepReport) -> String {
    format!(
        "{}\n\n{}\n{}\n{}\n{}\n{}\n",
        headline(&report.sweep),
        rows_table(&report.rows).to_text(),
        runs_table(&report.runs).to_text(),
        medal_rates_table(&report.mlebench.medal_rates).to_text(),
        mlebench_totals_line(&report.mlebench.totals),
        totals_line(&report.totals)
    )
}

/// The same content as [`render_table`], as GitHub markdown.
pub fn render_markdown(report: &SweepReport) -> String {
    format!(
        "## {}\n\n{}\n{}\n{}\n{}\n\n{}\n",
        headline(&report.sweep),
        rows_table(&report.rows).to_markdown(),
        runs_table(&report.runs).to_markdown(),
        medal_rates_table(&report.mlebench.medal_rates).to_markdown(),
        mlebench_totals_line(&report.mlebench.totals),
        totals_line(&report.totals)
    )
}

/// The same content as [`render_table`], as an HTML fragment (for the dashboard's sweep page).
pub fn render_html(report: &SweepReport) -> String {
    format!(
        "<p>{}</p>\n<h3>By task and policy</h3>\n{}<h3>Runs</h3>\n{}\
         <h3>MLE-bench medal rate by policy (mean ± SEM over seeds)</h3>\n{}<p>{}</p>\n<p>{}</p>\n",
        escaped(&headline(&report.sweep)),
        rows_table(&report.rows).to_html(),
        runs_table(&report.runs).to_html(),
        medal_rates_table(&report.mlebench.medal_rates).to_html(),
        escaped(&mlebench_totals_line(&report.mlebench.totals)),
        escaped(&totals_line(&report.totals))
    )
}

/// [`ReportRow`]'s JSON field names, in declaration order.
const CSV_HEADER: [&str; 24] = [
    "task",
    "policy",
    "runs",
    "runs_completed",
    "made_submission_pct",
    "made_submission_sem",
    "valid_submission_pct",
    "valid_submission_sem",
    "above_median_pct",
    "above_median_sem",
    "gold_pct",
    "silver_pct",
    "bronze_pct",
    "any_medal_pct",
    "any_medal_sem",
    "oracle_any_medal_pct",
    "oracle_gap_pct",
    "mean_best_val",
    "mean_selected_test",
    "llm_tokens_in",
    "llm_tokens_out",
    "llm_cost_usd",
    "cpu_seconds",
    "gpu_seconds",
];

/// One CSV cell per [`CSV_HEADER`] entry, in the same order.
fn csv_cells(row: &ReportRow) -> [String; 24] {
    let optional = |v: Option<f64>| v.map_or_else(String::new, |v| v.to_string());
    [
        row.task.clone(),
        row.policy.clone(),
        row.runs.to_string(),
        row.runs_completed.to_string(),
        row.made_submission_pct.to_string(),
        row.made_submission_sem.to_string(),
        row.valid_submission_pct.to_string(),
        row.valid_submission_sem.to_string(),
        row.above_median_pct.to_string(),
        row.above_median_sem.to_string(),
        row.gold_pct.to_string(),
        row.silver_pct.to_string(),
        row.bronze_pct.to_string(),
        row.any_medal_pct.to_string(),
        row.any_medal_sem.to_string(),
        row.oracle_any_medal_pct.to_string(),
        row.oracle_gap_pct.to_string(),
        optional(row.mean_best_val),
        optional(row.mean_selected_test),
        row.llm_tokens_in.to_string(),
        row.llm_tokens_out.to_string(),
        row.llm_cost_usd.to_string(),
        row.cpu_seconds.to_string(),
        row.gpu_seconds.to_string(),
    ]
}

/// RFC 4180: quoted only when the cell holds a separator, a quote or a line break.
pub(crate) fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// The task × policy rows as CSV: a header of [`ReportRow`]'s field names, numbers at full
/// precision, missing values empty, lines ended by `\n`.
pub fn render_csv(report: &SweepReport) -> String {
    let mut out = CSV_HEADER.join(",") + "\n";
    for row in &report.rows {
        let cells: Vec<String> = csv_cells(row).iter().map(|c| csv_cell(c)).collect();
        out += &cells.join(",");
        out += "\n";
    }
    out
}

/// The report as pretty JSON (the `--format json` contract).
pub fn render_json(report: &SweepReport) -> String {
    serde_json::to_string_pretty(report).expect("plain structs always serialize")
}
