//! `randori sweep compare` on two sweeps written straight into the store (finished runs whose
//! picks' medals the test chooses), through a coordinator and the CLI: the rates, differences
//! and seeded bootstrap intervals are the hand-computed ones, in JSON and CSV.

use std::process::Command;

use uuid::Uuid;

use crate::harness::*;
use crate::sweeps::stdout_ok;

/// A finished sweep named `name` with one completed run per (task, seed, medal of its pick).
async fn sweep_with_picks(db: &sqlx::PgPool, name: &str, runs: &[(&str, i64, &str)]) -> Uuid {
    let sweep = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO sweeps (id, name, fingerprint, spec, state, finished_at)
         VALUES ($1, $2, $1::text, '{}', 'completed', now())",
    )
    .bind(sweep)
    .bind(name)
    .execute(db)
    .await
    .unwrap();
    for (task, seed, medal) in runs {
        sqlx::query(
            "INSERT INTO runs (id, sweep_id, task_dir, task_id, policy, policy_config,
                               operator_config, seed, max_nodes, max_wall_ms, node_timeout_ms,
                               parallelism, req_gpus, req_cpu_millis, req_memory_bytes, state,
                               finished_at, selected_medal, selected_grade)
             VALUES (gen_random_uuid(), $1, '/tasks/' || $2, $2, 'greedy', '{}', '{}', $3, 5,
                     3600000, 300000, 1, 0, 1000, 1073741824, 'completed', now(), $4,
                     jsonb_build_object('submission_exists', true, 'valid_submission', true,
                        'invalid_reason', null, 'val_score', 0.5, 'val_source', 'hidden',
                        'test_score', 0.5, 'medal', $4, 'above_median', $4 <> 'none',
                        'gold_threshold', 1, 'silver_threshold', 1, 'bronze_threshold', 1,
                        'median_threshold', 1, 'is_lower_better', false))",
        )
        .bind(sweep)
        .bind(task)
        .bind(seed)
        .bind(medal)
        .execute(db)
        .await
        .unwrap();
    }
    sweep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_gives_the_hand_computed_rates_and_intervals() {
    let cluster = cluster("compare", "10s").await;
    // Task t: A medals on seed 1 only, B on both. Task u: neither medals.
    let a = sweep_with_picks(
        &cluster.db,
        "aide",
        &[
            ("t", 0, "none"),
            ("t", 1, "gold"),
            ("u", 0, "none"),
            ("u", 1, "none"),
        ],
    )
    .await;
    let b = sweep_with_picks(
        &cluster.db,
        "aira",
        &[
            ("t", 0, "silver"),
            ("t", 1, "bronze"),
            ("u", 0, "none"),
            ("u", 1, "none"),
        ],
    )
    .await;
    let compare = |format: &str| {
        let out = Command::new(BIN)
            .args(["sweep", "compare", &a.to_string(), &b.to_string()])
            .args(["--format", format, "--seed", "11"])
            .env("RANDORI_COORDINATOR", format!("http://{}", cluster.addr))
            .output()
            .unwrap();
        stdout_ok(out, "sweep compare")
    };
    let json: serde_json::Value = serde_json::from_str(&compare("json")).unwrap();
    assert_eq!(json["baseline"], "aide");
    let row = |task: serde_json::Value, arm: &str| {
        json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == task && r["arm"] == arm)
            .unwrap_or_else(|| panic!("no row {task} {arm}: {json}"))
            .clone()
    };
    let hand = |task: serde_json::Value, rate: f64, diff: f64, low: f64, high: f64| {
        let r = row(task, "aira");
        assert_eq!(
            (r["any_medal_pct"].as_f64(), r["diff_pct"].as_f64()),
            (Some(rate), Some(diff)),
            "{r}"
        );
        assert_eq!(
            (r["ci_low_pct"].as_f64(), r["ci_high_pct"].as_f64()),
            (Some(low), Some(high)),
            "{r}"
        );
    };
    // t: A's resampled mean is 0, 1/2 or 1 (1/4, 1/2, 1/4), B's always 1: the difference's
    // 2.5th and 97.5th percentiles are 0 and 1.
    hand("t".into(), 100.0, 50.0, 0.0, 100.0);
    // u: nothing to tell apart.
    hand("u".into(), 0.0, 0.0, 0.0, 0.0);
    // Overall, per seed over t and u: A 0 and 1/2, B 1/2 and 1/2; differences 1/2, 1/4, 0.
    hand(serde_json::Value::Null, 50.0, 25.0, 0.0, 50.0);
    assert_eq!(row(serde_json::Value::Null, "aide")["any_medal_pct"], 25.0);

    // CSV: a header and one row per task and arm, overall last with an empty task.
    let csv = compare("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 3 * 2, "{csv}");
    assert_eq!(
        lines[5],
        "aide".replace("aide", ",aide,2,25,25,,,"),
        "{csv}"
    );
    assert!(compare("table").contains("overall"));
}
