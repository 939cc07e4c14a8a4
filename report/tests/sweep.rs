//! The sweep report against a hand computation, and the shape of its renderings.

use randori_report::{
    LlmUsage, NodeFacts, ReportRow, RunFacts, SweepInfo, SweepReport, build, render_csv,
    render_json, render_markdown, render_table,
};

const TOLERANCE: f64 = 1e-3;

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < TOLERANCE,
        "{what}: got {actual}, expected {expected}"
    );
}

fn assert_close_opt(actual: Option<f64>, expected: Option<f64>, what: &str) {
    match (actual, expected) {
        (Some(a), Some(e)) => assert_close(a, e, what),
        _ => assert_eq!(actual, expected, "{what}"),
    }
}

fn graded(valid: bool, above_median: bool, medal: &str, test_score: Option<f64>) -> NodeFacts {
    NodeFacts {
        submission_exists: true,
        valid_submission: valid,
        above_median,
        medal: medal.to_owned(),
        test_score,
    }
}

/// A run with nothing selected yet; its LLM calls, tokens, cost and CPU time scale with its
/// node count so that the sums are easy to do by hand.
fn run(
    id: &str,
    task: &str,
    policy: &str,
    seed: u64,
    state: &str,
    (nodes, nodes_ok, nodes_buggy): (u32, u32, u32),
) -> RunFacts {
    RunFacts {
        id: id.to_owned(),
        task: task.to_owned(),
        policy: policy.to_owned(),
        seed,
        state: state.to_owned(),
        error: None,
        nodes,
        nodes_ok,
        nodes_buggy,
        best_val: None,
        selected: None,
        oracle: None,
        llm: LlmUsage {
            calls: u64::from(nodes) + 1,
            tokens_in: u64::from(nodes) * 100,
            tokens_out: u64::from(nodes) * 20,
            cost_usd: f64::from(nodes) * 0.01,
        },
        cpu_seconds: f64::from(nodes) * 10.0,
        gpu_seconds: 0.0,
    }
}

fn info() -> SweepInfo {
    SweepInfo {
        id: "sw-1".to_owned(),
        name: "quickstart".to_owned(),
        state: "running".to_owned(),
        created_at: "2025-01-02T03:04:05Z".to_owned(),
        operators: Vec::new(),
        oracle_ablation: false,
    }
}

/// Seven runs over 2 tasks × 2 policies, given out of order.
fn runs() -> Vec<RunFacts> {
    vec![
        // Still running: no selected node, no oracle, no best score.
        run("r7", "wine", "mcts", 3, "running", (2, 0, 0)),
        RunFacts {
            best_val: Some(0.88),
            selected: Some(graded(true, true, "bronze", Some(0.90))),
            oracle: Some(graded(true, true, "silver", Some(0.93))),
            ..run("r4", "iris", "mcts", 0, "completed", (15, 12, 3))
        },
        RunFacts {
            best_val: Some(0.93),
            selected: Some(graded(true, true, "silver", Some(0.95))),
            oracle: Some(graded(true, true, "gold", Some(0.97))),
            ..run("r2", "iris", "greedy", 1, "completed", (12, 9, 3))
        },
        // The selected submission exists but is invalid; a better node won bronze.
        RunFacts {
            best_val: Some(0.50),
            selected: Some(graded(false, false, "none", None)),
            oracle: Some(graded(true, true, "bronze", Some(0.61))),
            gpu_seconds: 5.0,
            ..run("r6", "wine", "greedy", 0, "completed", (6, 1, 5))
        },
        RunFacts {
            best_val: Some(0.95),
            selected: Some(graded(true, true, "gold", Some(0.97))),
            oracle: Some(graded(true, true, "gold", Some(0.98))),
            gpu_seconds: 10.0,
            ..run("r1", "iris", "greedy", 0, "completed", (10, 8, 2))
        },
        // Failed: it had an ok node but never selected one.
        RunFacts {
            best_val: Some(0.70),
            error: Some("the LLM endpoint answered 401 Unauthorized\nbody: ...".to_owned()),
            ..run("r5", "iris", "mcts", 1, "failed", (4, 1, 3))
        },
        RunFacts {
            best_val: Some(0.85),
            selected: Some(graded(true, false, "none", Some(0.80))),
            oracle: Some(graded(true, true, "bronze", Some(0.85))),
            ..run("r3", "iris", "greedy", 2, "completed", (8, 5, 3))
        },
    ]
}

fn report() -> SweepReport {
    build(info(), runs())
}

struct Expected {
    task: &'static str,
    policy: &'static str,
    runs: u32,
    runs_completed: u32,
    made: (f64, f64),
    valid: (f64, f64),
    above_median: (f64, f64),
    gold_silver_bronze: (f64, f64, f64),
    any_medal: (f64, f64),
    oracle_any_medal: f64,
    oracle_gap: f64,
    mean_best_val: Option<f64>,
    mean_selected_test: Option<f64>,
    tokens: (u64, u64),
    cost: f64,
    cpu_gpu: (f64, f64),
}

fn check(row: &ReportRow, e: &Expected) {
    let at = format!("{}/{}", e.task, e.policy);
    assert_eq!((row.task.as_str(), row.policy.as_str()), (e.task, e.policy));
    assert_eq!(
        (row.runs, row.runs_completed),
        (e.runs, e.runs_completed),
        "{at} runs"
    );
    assert_close(row.made_submission_pct, e.made.0, &format!("{at} made %"));
    assert_close(row.made_submission_sem, e.made.1, &format!("{at} made sem"));
    assert_close(
        row.valid_submission_pct,
        e.valid.0,
        &format!("{at} valid %"),
    );
    assert_close(
        row.valid_submission_sem,
        e.valid.1,
        &format!("{at} valid sem"),
    );
    assert_close(
        row.above_median_pct,
        e.above_median.0,
        &format!("{at} above %"),
    );
    assert_close(
        row.above_median_sem,
        e.above_median.1,
        &format!("{at} above sem"),
    );
    assert_close(row.gold_pct, e.gold_silver_bronze.0, &format!("{at} gold"));
    assert_close(
        row.silver_pct,
        e.gold_silver_bronze.1,
        &format!("{at} silver"),
    );
    assert_close(
        row.bronze_pct,
        e.gold_silver_bronze.2,
        &format!("{at} bronze"),
    );
    assert_close(row.any_medal_pct, e.any_medal.0, &format!("{at} any %"));
    assert_close(row.any_medal_sem, e.any_medal.1, &format!("{at} any sem"));
    assert_close(
        row.oracle_any_medal_pct,
        e.oracle_any_medal,
        &format!("{at} oracle"),
    );
    assert_close(row.oracle_gap_pct, e.oracle_gap, &format!("{at} gap"));
    assert_close_opt(
        row.mean_best_val,
        e.mean_best_val,
        &format!("{at} best val"),
    );
    assert_close_opt(
        row.mean_selected_test,
        e.mean_selected_test,
        &format!("{at} test"),
    );
    assert_eq!(
        (row.llm_tokens_in, row.llm_tokens_out),
        e.tokens,
        "{at} tokens"
    );
    assert_close(row.llm_cost_usd, e.cost, &format!("{at} cost"));
    assert_close(row.cpu_seconds, e.cpu_gpu.0, &format!("{at} cpu"));
    assert_close(row.gpu_seconds, e.cpu_gpu.1, &format!("{at} gpu"));
}

#[test]
fn rows_match_a_hand_computation() {
    let report = report();
    let third = 100.0 / 3.0;
    let expected = [
        // iris/greedy, runs r1 r2 r3: every selected submission exists and is valid: [1,1,1]
        // → 100 ± 0. Above median and any medal [1,1,0]: mean 2/3, squared deviations
        // 1/9 + 1/9 + 4/9 = 6/9, / (n−1 = 2) = 1/3, sd 0.57735, / √3 = 0.33333 → 66.67 ± 33.33.
        // Gold [1,0,0] and silver [0,1,0] → 33.33 each. Oracle [1,1,1] → 100, gap 33.33.
        // Best val (0.95 + 0.93 + 0.85) / 3 = 0.91; selected test (0.97 + 0.95 + 0.80) / 3
        // = 0.90667. Nodes 10 + 12 + 8 = 30 → tokens 3000 / 600, cost 0.30.
        Expected {
            task: "iris",
            policy: "greedy",
            runs: 3,
            runs_completed: 3,
            made: (100.0, 0.0),
            valid: (100.0, 0.0),
            above_median: (2.0 * third, third),
            gold_silver_bronze: (third, third, 0.0),
            any_medal: (2.0 * third, third),
            oracle_any_medal: 100.0,
            oracle_gap: third,
            mean_best_val: Some(0.91),
            mean_selected_test: Some(0.906_667),
            tokens: (3000, 600),
            cost: 0.30,
            cpu_gpu: (300.0, 10.0),
        },
        // iris/mcts, runs r4 (bronze) and r5 (failed, nothing selected, still counted):
        // every indicator [1,0] → mean 0.5, squared deviations 0.25 + 0.25 = 0.5, / (n−1 = 1),
        // sd 0.70711, / √2 = 0.5 → 50 ± 50. Oracle [1,0] → 50, gap 0. Best val over both runs
        // (0.88 + 0.70) / 2 = 0.79; selected test only r4's 0.90. Nodes 19.
        Expected {
            task: "iris",
            policy: "mcts",
            runs: 2,
            runs_completed: 1,
            made: (50.0, 50.0),
            valid: (50.0, 50.0),
            above_median: (50.0, 50.0),
            gold_silver_bronze: (0.0, 0.0, 50.0),
            any_medal: (50.0, 50.0),
            oracle_any_medal: 50.0,
            oracle_gap: 0.0,
            mean_best_val: Some(0.79),
            mean_selected_test: Some(0.90),
            tokens: (1900, 380),
            cost: 0.19,
            cpu_gpu: (190.0, 0.0),
        },
        // wine/greedy, run r6: a submission that exists but is invalid → made 100, valid 0;
        // n = 1 so every SEM is 0. Its oracle won bronze → 100, gap 100. No test score.
        Expected {
            task: "wine",
            policy: "greedy",
            runs: 1,
            runs_completed: 1,
            made: (100.0, 0.0),
            valid: (0.0, 0.0),
            above_median: (0.0, 0.0),
            gold_silver_bronze: (0.0, 0.0, 0.0),
            any_medal: (0.0, 0.0),
            oracle_any_medal: 100.0,
            oracle_gap: 100.0,
            mean_best_val: Some(0.50),
            mean_selected_test: None,
            tokens: (600, 120),
            cost: 0.06,
            cpu_gpu: (60.0, 5.0),
        },
        // wine/mcts, run r7, still running: zeros everywhere, no means.
        Expected {
            task: "wine",
            policy: "mcts",
            runs: 1,
            runs_completed: 0,
            made: (0.0, 0.0),
            valid: (0.0, 0.0),
            above_median: (0.0, 0.0),
            gold_silver_bronze: (0.0, 0.0, 0.0),
            any_medal: (0.0, 0.0),
            oracle_any_medal: 0.0,
            oracle_gap: 0.0,
            mean_best_val: None,
            mean_selected_test: None,
            tokens: (200, 40),
            cost: 0.02,
            cpu_gpu: (20.0, 0.0),
        },
    ];
    assert_eq!(report.rows.len(), expected.len());
    for (row, e) in report.rows.iter().zip(&expected) {
        check(row, e);
    }
}

#[test]
fn totals_sum_every_run() {
    let totals = report().totals;
    assert_eq!(totals.runs, 7);
    assert_eq!(totals.runs_completed, 5);
    // 2 + 15 + 12 + 6 + 10 + 4 + 8 nodes; calls 3 + 16 + 13 + 7 + 11 + 5 + 9.
    assert_eq!(totals.nodes, 57);
    assert_eq!(totals.llm_calls, 64);
    assert_eq!((totals.llm_tokens_in, totals.llm_tokens_out), (5700, 1140));
    assert_close(totals.llm_cost_usd, 0.57, "cost");
    assert_close(totals.cpu_seconds, 570.0, "cpu");
    assert_close(totals.gpu_seconds, 15.0, "gpu");
}

#[test]
fn runs_are_sorted_and_carry_their_selected_and_oracle_medals() {
    let report = report();
    let order: Vec<(&str, &str, &str, u64)> = report
        .runs
        .iter()
        .map(|r| (r.id.as_str(), r.task.as_str(), r.policy.as_str(), r.seed))
        .collect();
    assert_eq!(
        order,
        [
            ("r1", "iris", "greedy", 0),
            ("r2", "iris", "greedy", 1),
            ("r3", "iris", "greedy", 2),
            ("r4", "iris", "mcts", 0),
            ("r5", "iris", "mcts", 1),
            ("r6", "wine", "greedy", 0),
            ("r7", "wine", "mcts", 3),
        ]
    );
    let r1 = &report.runs[0];
    assert_eq!(
        (r1.medal.as_str(), r1.oracle_medal.as_str()),
        ("gold", "gold")
    );
    assert!(r1.valid_submission);
    assert_eq!(r1.selected_test, Some(0.97));
    assert_eq!((r1.nodes, r1.nodes_ok, r1.nodes_buggy), (10, 8, 2));
    let r5 = &report.runs[4];
    assert_eq!(
        (r5.medal.as_str(), r5.oracle_medal.as_str()),
        ("none", "none")
    );
    assert_eq!((r5.state.as_str(), r5.valid_submission), ("failed", false));
    assert_eq!(
        r5.error.as_deref(),
        Some("the LLM endpoint answered 401 Unauthorized\nbody: ...")
    );
    assert_eq!(report.runs[0].error, None);
    // Every format shows why: the error's first line in the runs table.
    let text = randori_report::render_table(&report);
    assert!(
        text.contains("the LLM endpoint answered 401 Unauthorized"),
        "{text}"
    );
    assert!(!text.contains("body: ..."));
    assert!(randori_report::render_markdown(&report).contains("401 Unauthorized"));
    assert_eq!((r5.best_val, r5.selected_test), (Some(0.70), None));
    let r6 = &report.runs[5];
    assert_eq!(
        (r6.medal.as_str(), r6.oracle_medal.as_str()),
        ("none", "bronze")
    );
    assert!(!r6.valid_submission);
}

#[test]
fn no_runs_make_an_empty_report() {
    let report = build(info(), Vec::new());
    assert!(report.rows.is_empty() && report.runs.is_empty());
    assert_eq!(report.totals.runs, 0);
    assert_eq!(render_csv(&report).lines().count(), 1);
}

const CSV_HEADER: &str = "task,policy,runs,runs_completed,made_submission_pct,\
made_submission_sem,valid_submission_pct,valid_submission_sem,above_median_pct,\
above_median_sem,gold_pct,silver_pct,bronze_pct,any_medal_pct,any_medal_sem,\
oracle_any_medal_pct,oracle_gap_pct,mean_best_val,mean_selected_test,llm_tokens_in,\
llm_tokens_out,llm_cost_usd,cpu_seconds,gpu_seconds";

#[test]
fn csv_header_is_the_row_json_fields_in_declaration_order() {
    let report = report();
    let csv = render_csv(&report);
    assert_eq!(csv.lines().next(), Some(CSV_HEADER));
    // serde writes struct fields in declaration order: the header must follow it.
    let json = serde_json::to_string(&report.rows[0]).unwrap();
    let object = serde_json::from_str::<serde_json::Value>(&json).unwrap();
    let fields: Vec<&str> = CSV_HEADER.split(',').collect();
    assert_eq!(object.as_object().unwrap().len(), fields.len());
    let positions: Vec<usize> = fields
        .iter()
        .map(|f| json.find(&format!("\"{f}\":")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");
}

#[test]
fn csv_rows_hold_full_precision_and_empty_missing_values() {
    let csv = render_csv(&report());
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(
        lines[4],
        "wine,mcts,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,,,200,40,0.02,20,0"
    );
    assert!(lines[1].starts_with("iris,greedy,3,3,100,0,100,0,66.666666666666"));
}

#[test]
fn csv_quotes_cells_with_commas_or_quotes() {
    let mut runs = runs();
    runs[0].task = "wine, red".to_owned();
    runs[0].policy = "say \"mcts\"".to_owned();
    let csv = render_csv(&build(info(), runs));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("\"wine, red\",\"say \"\"mcts\"\"\",1,0,")),
        "{csv}"
    );
}

/// Pipes that separate cells: those not escaped with a backslash.
fn cell_separators(line: &str) -> usize {
    line.match_indices('|')
        .filter(|&(i, _)| !line[..i].ends_with('\\'))
        .count()
}

#[test]
fn markdown_tables_have_one_cell_per_column_on_every_line() {
    let mut runs = runs();
    runs[0].task = "a|b".to_owned();
    let markdown = render_markdown(&build(info(), runs));
    assert!(markdown.starts_with("## sweep quickstart (sw-1)"));
    let mut tables: Vec<Vec<&str>> = Vec::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let is_row = line.starts_with('|');
        if is_row && !in_table {
            tables.push(Vec::new());
        }
        if is_row {
            tables.last_mut().unwrap().push(line);
        }
        in_table = is_row;
    }
    // 12 columns in the task × policy table, 9 in the runs table, 10 in the medal rates.
    let separators: Vec<usize> = tables.iter().map(|t| cell_separators(t[0])).collect();
    assert_eq!(separators, [13, 10, 11]);
    assert_eq!(tables.iter().map(Vec::len).collect::<Vec<_>>(), [6, 9, 4]);
    for table in &tables {
        for line in table {
            assert_eq!(cell_separators(line), cell_separators(table[0]), "{line}");
        }
    }
}

#[test]
fn text_tables_are_aligned_rectangles() {
    let text = render_table(&report());
    let blocks: Vec<Vec<&str>> = text
        .split("\n\n")
        .map(|block| block.lines().collect())
        .collect();
    assert_eq!(
        blocks.len(),
        5,
        "headline, rows, runs, medal rates, totals:\n{text}"
    );
    assert_eq!(
        blocks[0],
        ["sweep quickstart (sw-1): running, created 2025-01-02T03:04:05Z"]
    );
    for table in &blocks[1..4] {
        let width = table[0].chars().count();
        for line in table {
            assert_eq!(line.chars().count(), width, "{line:?}");
        }
    }
    assert_eq!(blocks[1].len(), 6);
    assert_eq!(blocks[2].len(), 9);
    assert!(blocks[1][2].contains("66.7 ± 33.3"), "{}", blocks[1][2]);
    assert!(blocks[1][2].contains("0.9100"), "{}", blocks[1][2]);
    let last_cells: Vec<&str> = blocks[1][5].split_whitespace().rev().take(2).collect();
    assert_eq!(last_cells, ["-", "-"], "{}", blocks[1][5]);
    assert!(blocks[2][2].contains("10 (8/2)"));
    assert_eq!(blocks[3].len(), 4);
    assert!(
        blocks[3][2].starts_with("greedy") && blocks[3][2].contains("33.3 ± 16.7"),
        "{}",
        blocks[3][2]
    );
    assert_eq!(
        blocks[4],
        [
            "MLE-bench totals (aggregate_reports over each run's pick): 7 runs, 5 with \
             submissions, 4 valid, 3 medals (1 gold, 1 silver, 1 bronze), 3 above median",
            "totals: 7 runs (5 completed), 57 nodes, LLM 64 calls, 5700 tokens in, \
             1140 tokens out, $0.5700, CPU 570.0 s, GPU 15.0 s"
        ]
    );
}

#[test]
fn json_round_trips_with_the_contract_keys() {
    let report = report();
    let json = render_json(&report);
    assert_eq!(serde_json::from_str::<SweepReport>(&json).unwrap(), report);
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    for key in ["sweep", "rows", "runs", "totals", "mlebench"] {
        assert!(value.get(key).is_some(), "{key}");
    }
    assert_eq!(value["sweep"]["created_at"], "2025-01-02T03:04:05Z");
    assert!(value["rows"][3]["mean_best_val"].is_null());
    assert_eq!(value["mlebench"]["totals"]["total_valid_submissions"], 4);
    assert_eq!(value["mlebench"]["medal_rates"][1]["policy"], "mcts");
}

/// Per policy and seed, the share of the sweep's 2 competitions with a medal: greedy has
/// 50 % (seed 0: iris gold, wine invalid), 50 % (seed 1: silver) and 0 % (seed 2); mcts 50 %
/// (seed 0: bronze), 0 % (seed 1: failed) and 0 % (seed 3: running).
#[test]
fn the_medal_rate_per_policy_is_a_share_of_every_competition_averaged_over_seeds() {
    let rates = report().mlebench.medal_rates;
    assert_eq!(rates.len(), 2);
    for (rate, policy, any, gold) in [
        (&rates[0], "greedy", 100.0 / 3.0, 50.0 / 3.0),
        (&rates[1], "mcts", 50.0 / 3.0, 0.0),
    ] {
        assert_eq!(
            (rate.policy.as_str(), rate.seeds, rate.competitions),
            (policy, 3, 2)
        );
        assert_close(rate.any_medal_pct, any, "any medal");
        assert_close(rate.any_medal_sem, 50.0 / 3.0, "any medal SEM");
        assert_close(rate.gold_pct, gold, "gold");
    }
    // greedy: valid on 1, 1 and 1 of 2 competitions.
    assert_close(rates[0].valid_submission_pct, 50.0, "greedy valid");
    assert_close(rates[0].valid_submission_sem, 0.0, "greedy valid SEM");
}
