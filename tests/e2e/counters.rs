//! The per-run counters (`run_counters`, kept by triggers) against a full recount: a random
//! mix of node inserts, leases, completions, retries, releases, reaps, analyses, LLM calls,
//! pauses, resumes, failed runs retried and a cancel, through the store's own statements,
//! with the counters compared to the queries that aggregate everything (what status and
//! report ran before the counters) along the way.

use std::time::Duration;

use randori_coordinator::model::{
    Analysis, LeaseToken, NewRunNode, NodeGrade, NodeStatus, Outcome, Resources, WorkerRegistration,
};
use randori_coordinator::store::{JobStore, NewSweep};
use uuid::Uuid;

use crate::harness::*;

const STATUS_BY_COUNTERS: &str =
    include_str!("../../coordinator/src/store/sql/sweep_run_counts.sql");
const REPORT_BY_COUNTERS: &str =
    include_str!("../../coordinator/src/store/sql/sweep_report_runs.sql");
const STATUS_BY_AGGREGATION: &str =
    include_str!("../../cli/src/cmd/bench/sql/status_by_aggregation.sql");
const REPORT_BY_AGGREGATION: &str =
    include_str!("../../cli/src/cmd/bench/sql/report_by_aggregation.sql");

/// xorshift64*: the test's choices, reproducible from the seed it prints.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n.max(1)
    }
}

/// A query's rows as JSON, in its order.
async fn rows(db: &sqlx::PgPool, sql: &str, sweep: Uuid) -> Vec<serde_json::Value> {
    let wrapped = format!("SELECT coalesce(jsonb_agg(to_jsonb(q)), '[]') FROM (\n{sql}\n) q");
    let all: serde_json::Value = sqlx::query_scalar(&wrapped)
        .bind(sweep)
        .fetch_one(db)
        .await
        .unwrap();
    all.as_array().unwrap().clone()
}

/// Equal, floats within rounding (a sum kept step by step against one summed at once).
fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// The totals `sweep status` reads, against the recount's rows summed here.
async fn assert_summary_matches(store: &JobStore, sweep: Uuid, when: &str) {
    let rows = rows(store.pool(), STATUS_BY_AGGREGATION, sweep).await;
    let sum = |f: &dyn Fn(&serde_json::Value) -> bool| rows.iter().filter(|r| f(r)).count() as u32;
    let total = |c: &str| rows.iter().map(|r| r[c].as_u64().unwrap()).sum::<u64>() as u32;
    let state = |s: &'static str| move |r: &serde_json::Value| r["state"] == s;
    let started = |r: &serde_json::Value| {
        r["ok"].as_u64().unwrap() + r["buggy"].as_u64().unwrap() + r["leased"].as_u64().unwrap() > 0
    };
    let t = store.sweep_status_summary(sweep).await.unwrap();
    let budget_left: u64 = rows
        .iter()
        .filter(|r| r["state"] == "running" || r["state"] == "paused")
        .map(|r| {
            r["max_nodes"]
                .as_u64()
                .unwrap()
                .saturating_sub(r["nodes"].as_u64().unwrap())
        })
        .sum();
    assert_eq!(
        (
            t.runs,
            t.pending,
            t.running,
            t.paused,
            t.completed,
            t.failed,
            t.cancelled
        ),
        (
            rows.len() as u32,
            sum(&|r| r["state"] == "running" && !started(r)),
            sum(&|r| r["state"] == "running" && started(r)),
            sum(&state("paused")),
            sum(&state("completed")),
            sum(&state("failed")),
            sum(&state("cancelled")),
        ),
        "{when}: runs"
    );
    assert_eq!(
        (
            t.nodes,
            t.ok,
            t.buggy,
            t.queued,
            t.leased,
            t.succeeded,
            t.jobs_failed,
            t.jobs_cancelled
        ),
        (
            total("nodes"),
            total("ok"),
            total("buggy"),
            total("queued"),
            total("leased"),
            total("succeeded"),
            total("failed"),
            total("cancelled")
        ),
        "{when}: nodes and jobs"
    );
    assert_eq!(u64::from(t.budget_left), budget_left, "{when}: budget left");
}

async fn assert_counters_match(db: &sqlx::PgPool, sweep: Uuid, when: &str) {
    for (by_counters, by_aggregation) in [
        (STATUS_BY_COUNTERS, STATUS_BY_AGGREGATION),
        (REPORT_BY_COUNTERS, REPORT_BY_AGGREGATION),
    ] {
        let counted = rows(db, by_counters, sweep).await;
        let recounted = rows(db, by_aggregation, sweep).await;
        assert!(
            same(
                &serde_json::Value::Array(counted.clone()),
                &serde_json::Value::Array(recounted.clone())
            ),
            "{when}: counters {counted:#?}\nrecount {recounted:#?}"
        );
    }
}

fn grade(val: Option<f64>, lower: bool) -> NodeGrade {
    NodeGrade {
        submission_exists: true,
        valid_submission: val.is_some(),
        invalid_reason: val.is_none().then(|| "no rows".to_owned()),
        val_score: val,
        val_source: "hidden".into(),
        test_score: val,
        medal: "none".into(),
        above_median: false,
        gold_threshold: 1.0,
        silver_threshold: 1.0,
        bronze_threshold: 1.0,
        median_threshold: 1.0,
        is_lower_better: lower,
        graded_by: "native".into(),
        validation_invalid_reason: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counters_agree_with_a_recount_after_a_random_mix() {
    let url = fresh_database("counters").await;
    let store = JobStore::connect(&url).await.unwrap();
    let db = store.pool().clone();
    let worker = store
        .worker_register(&WorkerRegistration {
            name: "counters".into(),
            hostname: "h".into(),
            sandbox: "local".into(),
            version: "test".into(),
            total: Resources::default(),
            packages: Vec::new(),
            images: Default::default(),
        })
        .await
        .unwrap();
    let spec = crate::sweeps::spec("counters", &["taxi-fare", "forest-cover"], &[0, 1, 2], 40);
    let sweep = store
        .sweep_submit(&NewSweep {
            spec: &spec,
            task_ids: vec!["taxi-fare".into(), "forest-cover".into()],
        })
        .await
        .unwrap()
        .id;
    let runs: Vec<Uuid> = store
        .sweep_run_counts(sweep)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("counters: dice seed {seed}");
    let mut dice = Dice(seed);
    let mut steps = vec![0u32; runs.len()];
    // Each held lease, and whether its task's metric is lower-is-better (one direction per
    // task, as a real task has).
    let mut held: Vec<(LeaseToken, bool)> = Vec::new();
    let mut paused = false;
    let free = Resources {
        slots: 8,
        cpu_millis: 64_000,
        memory_bytes: 1 << 40,
        gpu_ids: Vec::new(),
        disk_bytes: 1 << 50,
    };
    for i in 0..600 {
        match dice.below(12) {
            0..=2 => {
                let r = dice.below(runs.len());
                let record = store.run_get(runs[r]).await.unwrap();
                let node = NewRunNode {
                    id: Uuid::now_v7(),
                    run_id: runs[r],
                    step: steps[r],
                    operator: "draft".into(),
                    parent_ids: Vec::new(),
                    code: "print(1)".into(),
                    plan: String::new(),
                };
                if store
                    .run_node_insert(&record, &node, "/data", 2)
                    .await
                    .unwrap()
                {
                    steps[r] += 1;
                }
            }
            3 | 4 => {
                let leased = store
                    .job_lease_many(
                        worker,
                        &free,
                        &[],
                        1 + dice.below(4) as u32,
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                held.extend(leased.iter().map(|j| {
                    let token = LeaseToken {
                        job_id: j.job_id,
                        epoch: j.epoch,
                    };
                    (token, j.task_id == "taxi-fare")
                }));
            }
            5 | 6 if !held.is_empty() => {
                let (lease, lower) = held.swap_remove(dice.below(held.len()));
                let outcome = Outcome {
                    exit_code: Some(0),
                    duration_ms: 100 + dice.below(5000) as u64,
                    ..Outcome::default()
                };
                let val = (dice.below(4) > 0).then(|| dice.below(1000) as f64 / 7.0);
                let _ = store
                    .job_complete(lease, &outcome, None, Some(&grade(val, lower)))
                    .await;
            }
            7 if !held.is_empty() => {
                let (lease, _) = held.swap_remove(dice.below(held.len()));
                let _ = match dice.below(2) {
                    0 => store
                        .job_retry_or_fail(lease, "infrastructure")
                        .await
                        .map(|_| ()),
                    _ => store.job_release(lease, "drain").await,
                };
            }
            8 => {
                let evaluated: Vec<(Uuid, Option<f64>)> = sqlx::query_as(
                    "SELECT n.id, n.val_score FROM nodes n JOIN runs r ON r.id = n.run_id
                     WHERE r.sweep_id = $1 AND n.status <> 'pending' AND n.analysis IS NULL",
                )
                .bind(sweep)
                .fetch_all(&db)
                .await
                .unwrap();
                if let Some((node, val)) = evaluated.get(dice.below(evaluated.len())) {
                    let is_bug = dice.below(3) == 0;
                    let analysis = Analysis {
                        is_bug,
                        summary: "s".into(),
                        metric: *val,
                        by: "builtin".into(),
                    };
                    let status = match (is_bug, val) {
                        (false, Some(_)) => NodeStatus::Ok,
                        _ => NodeStatus::Buggy,
                    };
                    let val = val.map(|v| v + dice.below(3) as f64);
                    store
                        .node_analysis_set(*node, &analysis, status, val.filter(|_| !is_bug))
                        .await
                        .unwrap();
                }
            }
            9 => {
                sqlx::query(
                    "INSERT INTO llm_calls (key, run_id, model, prompt, answer, tokens_in,
                                            tokens_out, latency_ms, cost_usd)
                     VALUES ($1, $2, 'm', '{}', 'a', $3, $4, 10, $5)",
                )
                .bind(format!("{i}"))
                .bind(runs[dice.below(runs.len())])
                .bind(dice.below(1000) as i64)
                .bind(dice.below(1000) as i64)
                .bind(dice.below(100) as f64 / 1000.0)
                .execute(&db)
                .await
                .unwrap();
            }
            10 => {
                match paused {
                    true => store.sweep_resume(sweep).await.unwrap(),
                    false => store.sweep_pause(sweep).await.unwrap(),
                }
                paused = !paused;
            }
            11 => match dice.below(3) {
                // A restarted worker: every lease it held handed back at once.
                0 => {
                    store.job_reap(Some(worker)).await.unwrap();
                    held.clear();
                }
                // A run fails, and is retried.
                1 if !paused => {
                    let run = runs[dice.below(runs.len())];
                    store
                        .run_finish(run, "failed", Some("x"), None, None)
                        .await
                        .unwrap();
                    store.sweep_retry(sweep, &[run]).await.unwrap();
                }
                _ => {}
            },
            _ => {}
        }
        if i % 150 == 149 {
            assert_counters_match(&db, sweep, &format!("after step {i}")).await;
            assert_summary_matches(&store, sweep, &format!("after step {i}")).await;
        }
    }
    // Half the runs finish with a pick (the selected node their best graded one, the oracle
    // another graded one): the report's grades, copied onto the run, against the nodes'.
    let picks: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "SELECT run_id, (array_agg(id ORDER BY val_score DESC NULLS LAST))[1],
                (array_agg(id ORDER BY val_score ASC NULLS LAST))[1]
         FROM nodes WHERE run_id = ANY($1) AND grade IS NOT NULL GROUP BY run_id",
    )
    .bind(&runs)
    .fetch_all(&db)
    .await
    .unwrap();
    if paused {
        store.sweep_resume(sweep).await.unwrap();
    }
    for (run, selected, oracle) in picks.iter().step_by(2) {
        store
            .run_finish(*run, "completed", None, Some(*selected), Some(*oracle))
            .await
            .unwrap();
    }
    assert_counters_match(&db, sweep, "after runs finished with picks").await;
    let graded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM runs WHERE sweep_id = $1 AND selected_grade IS NOT NULL",
    )
    .bind(sweep)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(graded > 0, "no run finished with a graded pick");
    store.sweep_cancel(sweep).await.unwrap();
    assert_counters_match(&db, sweep, "after the cancel").await;
    assert_summary_matches(&store, sweep, "after the cancel").await;
    let nodes: i64 = sqlx::query_scalar("SELECT sum(nodes) FROM run_counters")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(nodes > 50, "the mix made {nodes} nodes");
}
