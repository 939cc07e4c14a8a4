//! The figures' numbers against hand computations on a fixed set of nodes.

use randori_report::figures::{
    Axis, Evaluation, Metric, NodePoint, NodeRow, RunNodes, SelectionPoint, TIME_POINTS, anytime,
    generalization_gap, runs_of, scatter, selection_over_time, working_times,
};
use randori_report::mlebench::medal_rates;
use randori_report::{LlmUsage, NodeFacts, RunFacts};

fn node(step: u32, working_s: f64, ok: bool, val: f64, test: f64, medal: &str) -> NodePoint {
    NodePoint {
        step,
        working_s,
        ok,
        val: ok.then_some(val),
        test: ok.then_some(test),
        medal: medal.to_owned(),
    }
}

/// Task t (higher is better), greedy, two seeds; task u (lower is better), one seed.
fn runs() -> Vec<RunNodes> {
    let run = |task: &str, seed, lower_is_better, nodes| RunNodes {
        task: task.into(),
        policy: "greedy".into(),
        seed,
        lower_is_better,
        nodes,
    };
    vec![
        run(
            "t",
            0,
            false,
            vec![
                node(0, 10.0, true, 0.5, 0.4, "none"),
                node(1, 20.0, false, 0.0, 0.0, "none"),
                node(2, 30.0, true, 0.7, 0.6, "bronze"),
            ],
        ),
        run(
            "t",
            1,
            false,
            vec![
                // Out of step order on purpose: the run's order is the steps'.
                node(1, 25.0, true, 0.55, 0.7, "gold"),
                node(0, 15.0, true, 0.6, 0.65, "gold"),
            ],
        ),
        run(
            "u",
            0,
            true,
            vec![
                node(0, 5.0, true, 2.0, 2.5, "none"),
                node(1, 8.0, true, 1.5, 1.8, "silver"),
            ],
        ),
    ]
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn anytime_curves_against_nodes_evaluated() {
    let curves = anytime(&runs(), Axis::Nodes);
    let curve = |task: Option<&str>, metric| {
        curves
            .iter()
            .find(|c| c.task.as_deref() == task && c.metric == metric)
            .unwrap()
    };
    let best = curve(Some("t"), Metric::BestVal);
    assert_eq!(best.points.len(), 3);
    // After 1 and 2 nodes: seed 0 picks step 0 (0.5; step 1 is buggy), seed 1 step 0 (0.6;
    // step 1's 0.55 is worse). After 3: seed 0 picks step 2 (0.7); seed 1, done, keeps 0.6.
    for (i, mean) in [0.55, 0.55, 0.65].into_iter().enumerate() {
        assert!(close(best.points[i].mean, mean), "{:?}", best.points[i]);
        assert_eq!(best.points[i].n, 2);
    }
    // SEM after 1 node: sd of (0.5, 0.6) is 0.1/√2, over √2: 0.05.
    assert!((best.points[0].sem - 0.05).abs() < 1e-9);
    let test = curve(Some("t"), Metric::SelectedTest);
    assert!(close(test.points[0].mean, (0.4 + 0.65) / 2.0));
    assert!(close(test.points[2].mean, (0.6 + 0.65) / 2.0));
    let medal = curve(Some("t"), Metric::AnyMedalPct);
    assert!(close(medal.points[0].mean, 50.0));
    assert!((medal.points[0].sem - 50.0).abs() < 1e-9);
    assert!(close(medal.points[2].mean, 100.0));
    // Lower is better: after 2 nodes u's best is 1.5 and its pick medals.
    let u = curve(Some("u"), Metric::BestVal);
    assert!(close(u.points[1].mean, 1.5));
    // Overall, per seed over both tasks: seed 0 medals on 0 of 2 after 1 node, on u after 2,
    // on both after 3; seed 1 ran only t and medals from its first node: 1 of 2 tasks.
    let overall = curve(None, Metric::AnyMedalPct);
    let means: Vec<f64> = overall.points.iter().map(|p| p.mean.unwrap()).collect();
    assert_eq!(means, vec![25.0, 50.0, 75.0]);
}

#[test]
fn anytime_curves_against_working_time() {
    let curves = anytime(&runs(), Axis::WorkingTime);
    let best = curves
        .iter()
        .find(|c| c.task.as_deref() == Some("t") && c.metric == Metric::BestVal)
        .unwrap();
    assert_eq!(best.points.len(), TIME_POINTS);
    // t = 0: nothing evaluated yet.
    assert_eq!((best.points[0].mean, best.points[0].n), (None, 0));
    // The grid ends at the longest run (30 s), where both picks are final.
    let last = best.points.last().unwrap();
    assert_eq!(last.x, 30.0);
    assert!(close(last.mean, 0.65));
    // Between 15 s and 20 s both runs have one pick: seed 0's step 0 (10 s) and seed 1's
    // step 0 (15 s).
    let at = best.points.iter().find(|p| p.x >= 15.0).unwrap();
    assert!(at.x < 20.0);
    assert!(close(at.mean, 0.55));
    // Between 10 s and 15 s only seed 0 has a pick.
    let early = best.points.iter().find(|p| p.x >= 10.0).unwrap();
    assert!(early.x < 15.0);
    assert_eq!(early.n, 1);
}

#[test]
fn the_generalization_gap_is_in_the_tasks_direction() {
    let gaps = generalization_gap(&runs());
    // t: seed 0's pick 0.7 vs 0.6, seed 1's 0.6 vs 0.65: gaps 0.1 and −0.05.
    let t = &gaps[0];
    assert_eq!((t.task.as_str(), t.runs), ("t", 2));
    assert!(close(t.mean_gap, 0.025));
    // Deviations ±0.075 from the mean: sd 0.075·√2 (n − 1 = 1), SEM sd/√2 = 0.075.
    assert!((t.sem - 0.075).abs() < 1e-9);
    // u, lower is better: pick 1.5 on validation, 1.8 on test: validation flattered it by 0.3.
    assert!(close(gaps[1].mean_gap, 0.3));
}

#[test]
fn oracle_bars_are_the_reports_medal_rates_over_seeds() {
    let facts = |medal: &str| NodeFacts {
        submission_exists: true,
        valid_submission: true,
        above_median: false,
        medal: medal.into(),
        test_score: Some(1.0),
    };
    let run = |task: &str, seed, selected: &str, oracle: &str| RunFacts {
        id: format!("{task}{seed}"),
        task: task.into(),
        policy: "mcts".into(),
        seed,
        state: "completed".into(),
        error: None,
        nodes: 1,
        nodes_ok: 1,
        nodes_buggy: 0,
        best_val: Some(1.0),
        selected: Some(facts(selected)),
        oracle: Some(facts(oracle)),
        llm: LlmUsage::default(),
        cpu_seconds: 0.0,
        gpu_seconds: 0.0,
    };
    // Seed 0: selected medals on 0 of 2 tasks, oracle on 2; seed 1: 1 and 1.
    let bars = medal_rates(&[
        run("a", 0, "none", "gold"),
        run("b", 0, "none", "bronze"),
        run("a", 1, "silver", "silver"),
        run("b", 1, "none", "none"),
    ]);
    assert_eq!(bars.len(), 1);
    let b = &bars[0];
    assert_eq!(
        (b.seeds, b.any_medal_pct, b.oracle_any_medal_pct),
        (2, 25.0, 75.0)
    );
    assert!((b.any_medal_sem - 25.0).abs() < 1e-9 && (b.oracle_any_medal_sem - 25.0).abs() < 1e-9);
}

#[test]
fn working_time_counts_overlapping_evaluations_once_and_adds_llm_time() {
    let eval = |step, leased: Option<f64>, finished: Option<f64>, llm| Evaluation {
        step,
        leased_at: leased,
        finished_at: finished,
        llm_seconds: llm,
    };
    let times = working_times(&[
        // Steps 0 and 1 overlap (100-110 and 105-120), step 2 runs alone (130-135); step 3
        // has not run.
        eval(0, Some(100.0), Some(110.0), 2.0),
        eval(1, Some(105.0), Some(120.0), 3.0),
        eval(2, Some(130.0), Some(135.0), 1.0),
        eval(3, None, None, 4.0),
    ]);
    // Step 0 ends at 110: 10 s ran (step 1's 105-110 is inside) + 2 s LLM.
    // Step 1 ends at 120: 20 s (100-120) + 5 s. Step 2 ends at 135: 25 s + 6 s.
    assert_eq!(times, vec![Some(12.0), Some(25.0), Some(31.0), None]);
}

#[test]
fn the_scatter_marks_each_runs_pick_and_oracle() {
    let points = scatter(&runs());
    // Ok nodes only: 2 of seed 0's 3, both of seed 1's, both of u's.
    assert_eq!(points.len(), 6);
    let marked = |task: &str, val: f64| {
        let p = points
            .iter()
            .find(|p| p.task == task && (p.val - val).abs() < 1e-12)
            .unwrap();
        (p.selected, p.oracle)
    };
    // Seed 0: 0.7 is both best on validation and on test.
    assert_eq!(marked("t", 0.7), (true, true));
    assert_eq!(marked("t", 0.5), (false, false));
    // Seed 1: 0.6 is picked on validation, 0.55 (test 0.7) is the oracle.
    assert_eq!(marked("t", 0.6), (true, false));
    assert_eq!(marked("t", 0.55), (false, true));
    // u, lower is better: 1.5 (test 1.8) is both.
    assert_eq!(marked("u", 1.5), (true, true));
}

#[test]
fn a_runs_pick_over_time_shows_its_validation_and_test_side_by_side() {
    let runs = runs();
    let points = selection_over_time(&runs[0]);
    // t seed 0: step 0 (0.5 / 0.4), step 1 buggy (the pick holds), step 2 (0.7 / 0.6, bronze).
    let point = |nodes, working_s, val, test, medal| SelectionPoint {
        nodes,
        working_s,
        val: Some(val),
        test: Some(test),
        medal,
    };
    assert_eq!(
        points,
        vec![
            point(1, 10.0, 0.5, 0.4, false),
            point(2, 20.0, 0.5, 0.4, false),
            point(3, 30.0, 0.7, 0.6, true),
        ]
    );
    // A run whose first node is buggy has no pick after it.
    let lone = RunNodes {
        task: "t".into(),
        policy: "greedy".into(),
        seed: 0,
        lower_is_better: false,
        nodes: vec![node(0, 5.0, false, 0.0, 0.0, "none")],
    };
    assert_eq!(selection_over_time(&lone)[0].val, None);
}

/// With parallelism > 1 a later step can finish first: the pick at a moment is what had
/// finished by then, and the k-th node is the k-th to finish.
#[test]
fn nodes_count_in_the_order_their_evaluations_ended() {
    let run = RunNodes {
        task: "t".into(),
        policy: "greedy".into(),
        seed: 0,
        lower_is_better: false,
        nodes: vec![
            node(0, 30.0, true, 0.9, 0.8, "gold"),
            node(1, 10.0, true, 0.3, 0.2, "none"),
        ],
    };
    let over_nodes = anytime(std::slice::from_ref(&run), Axis::Nodes);
    let best = over_nodes
        .iter()
        .find(|c| c.task.is_some() && c.metric == Metric::BestVal)
        .unwrap();
    // After the first evaluation to end (step 1, at 10 s) the best is 0.3; after both, 0.9.
    assert!(close(best.points[0].mean, 0.3), "{:?}", best.points);
    assert!(close(best.points[1].mean, 0.9), "{:?}", best.points);
    let over_time = anytime(&[run], Axis::WorkingTime);
    let best = over_time
        .iter()
        .find(|c| c.task.is_some() && c.metric == Metric::BestVal)
        .unwrap();
    // Between 10 s and 30 s only step 1 had ended.
    let between = best
        .points
        .iter()
        .find(|p| p.x > 10.0 && p.x < 30.0)
        .unwrap();
    assert!(close(between.mean, 0.3), "{between:?}");
}

#[test]
fn runs_of_names_the_operator_set_beside_the_policy_only_when_sets_differ() {
    let row = |run: &str, operators: &str| NodeRow {
        run_id: run.into(),
        task: "t".into(),
        policy: "greedy".into(),
        operators: operators.into(),
        seed: 0,
        step: 0,
        status: "ok".into(),
        val: Some(0.5),
        test: Some(0.5),
        medal: "none".into(),
        lower_is_better: Some(false),
        leased_at: Some(0.0),
        finished_at: Some(1.0),
        llm_seconds: 0.0,
    };
    let policies = |rows: &[NodeRow]| -> Vec<String> {
        runs_of(rows.to_vec())
            .into_iter()
            .map(|r| r.policy)
            .collect()
    };
    assert_eq!(
        policies(&[row("a", "aira/v1"), row("b", "aide/v1")]),
        vec!["greedy (aira/v1)", "greedy (aide/v1)"]
    );
    assert_eq!(
        policies(&[row("a", "aira/v1"), row("b", "aira/v1")]),
        vec!["greedy", "greedy"]
    );
    // The same label as the report's.
    assert_eq!(
        randori_report::arm_label("greedy", "aide/v1", true),
        "greedy (aide/v1)"
    );
}

#[test]
fn rows_gather_into_runs_in_any_order_with_working_times_and_no_pending_node() {
    let row = |run: &str, step, status: &str, leased: Option<f64>, finished: Option<f64>| {
        NodeRow {
            run_id: run.into(),
            task: "t".into(),
            policy: "greedy".into(),
            operators: "builtin".into(),
            seed: 0,
            step,
            status: status.into(),
            val: Some(1.0),
            test: Some(1.0),
            medal: "none".into(),
            // Known only once a node is graded.
            lower_is_better: (status == "ok").then_some(true),
            leased_at: leased,
            finished_at: finished,
            llm_seconds: 1.0,
        }
    };
    let runs = runs_of([
        row("b", 0, "ok", Some(0.0), Some(10.0)),
        row("a", 0, "pending", None, None),
        row("b", 1, "buggy", Some(10.0), Some(15.0)),
        row("a", 1, "ok", Some(5.0), Some(6.0)),
        row("b", 2, "pending", None, None),
    ]);
    // In the order of their first rows; the pending nodes are on no curve.
    assert_eq!(runs.len(), 2);
    let b = &runs[0];
    assert!(b.lower_is_better);
    let steps: Vec<(u32, f64)> = b.nodes.iter().map(|n| (n.step, n.working_s)).collect();
    // Step 0: 10 s ran + 1 s LLM; step 1: 15 s + 2 s.
    assert_eq!(steps, vec![(0, 11.0), (1, 17.0)]);
    assert_eq!(runs[1].nodes.len(), 1);
    // a's step 0 is pending but its LLM second counts for step 1: 1 s ran + 2 s.
    assert_eq!(runs[1].nodes[0].working_s, 3.0);
}
