//! Search runs driven by the coordinator: a tree grows through real evaluations, and a run
//! whose coordinator is killed -9 mid-way finishes with the same tree as an uninterrupted one.

use std::time::Duration;

use randori_proto::v1 as pb;

use crate::harness::*;

fn start(policy: &str, seed: u64, max_nodes: u32) -> pb::StartRunRequest {
    pb::StartRunRequest {
        task_dir: repo_root().join("tasks/mini/taxi-fare").to_string_lossy().into_owned(),
        policy: policy.to_owned(),
        policy_settings_json: r#"{"greedy": {"num_drafts": 2}, "mcts": {"num_children": 2}, "evolutionary": {"individuals_per_generation": 2}}"#.to_owned(),
        operator_json: r#"{"backend": "builtin", "broken_rate": 0.3}"#.to_owned(),
        seed,
        max_nodes,
        max_wall_ms: 600_000,
        parallelism: 2,
        requirements: Some(pb::JobRequirements {
            gpus: 0,
            cpu_millis: 1000,
            memory_bytes: 2 << 30,
            timeout_ms: 120_000,
            disk_bytes: 1 << 30,
            image: String::new(),
        }),
    }
}

/// What must be equal between an interrupted and an uninterrupted run: per step, the operator,
/// the parents (by step) and the code.
fn shape(r: &pb::GetRunResponse) -> Vec<(u32, String, Vec<u32>, String)> {
    let step_of = |id: &str| {
        r.nodes
            .iter()
            .find(|n| n.node_id == id)
            .map(|n| n.step)
            .unwrap()
    };
    r.nodes
        .iter()
        .map(|n| {
            (
                n.step,
                n.operator.clone(),
                n.parent_ids.iter().map(|p| step_of(p)).collect(),
                n.code.clone(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_parallelism_3_keeps_3_nodes_in_flight() {
    let cluster = cluster("run_parallel", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("run-parallel"), 3);
    let mut client = control(cluster.addr).await;
    let mut request = start("greedy", 4, 9);
    request.parallelism = 3;
    // Three evaluations fit the worker's two CPUs.
    request.requirements.as_mut().unwrap().cpu_millis = 500;
    let run_id = client.start_run(request).await.unwrap().into_inner().run_id;
    let mut most = 0;
    loop {
        let (in_flight, running): (i64, bool) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM jobs j JOIN nodes n ON n.id = j.node_id \
             WHERE n.run_id = r.id AND j.state IN ('queued', 'leased')), r.state = 'running' \
             FROM runs r WHERE r.id = $1::uuid",
        )
        .bind(&run_id)
        .fetch_one(&cluster.db)
        .await
        .unwrap();
        assert!(
            in_flight <= 3,
            "never more than parallelism nodes in flight"
        );
        most = most.max(in_flight);
        if !running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(most, 3, "3 nodes in flight at some point");
    let r = wait_run(&mut client, &run_id, Duration::from_secs(10)).await;
    assert_eq!(
        (r.state.as_str(), r.nodes.len()),
        ("completed", 9),
        "{}",
        r.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greedy_run_grows_a_tree_and_selects_its_best_node() {
    let cluster = cluster("run_greedy", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("run-greedy"), 2);
    let mut client = control(cluster.addr).await;
    let run_id = client
        .start_run(start("greedy", 3, 5))
        .await
        .unwrap()
        .into_inner()
        .run_id;
    let r = wait_run(&mut client, &run_id, Duration::from_secs(600)).await;
    assert_eq!(r.state, "completed", "{}", r.error);
    assert_eq!(r.nodes.len(), 5);
    assert!(
        r.nodes[..2].iter().all(|n| n.operator == "draft"),
        "num_drafts = 2 first"
    );
    assert!(r.nodes.iter().all(|n| n.status != "pending"));
    // The selection is the best validation score among ok nodes (RMSE: lowest).
    let best = r
        .nodes
        .iter()
        .filter(|n| n.status == "ok")
        .min_by(|a, b| a.val_score.unwrap().total_cmp(&b.val_score.unwrap()))
        .expect("an ok node");
    assert_eq!(r.selected_node, best.node_id);
    assert!(!r.oracle_node.is_empty());
}

/// The wall budget is the run's working time: a run that waits 32 s for a worker, with a wall
/// budget of 30 s, still grows its whole tree once a worker comes, and its recorded working
/// time is its evaluations' time, not its age.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_runs_wall_budget_does_not_shrink_while_it_waits() {
    let cluster = cluster("run_waits", "10s").await;
    let mut client = control(cluster.addr).await;
    let mut request = start("greedy", 4, 3);
    request.max_wall_ms = 30_000;
    request.parallelism = 1;
    let run_id = client.start_run(request).await.unwrap().into_inner().run_id;
    tokio::time::sleep(Duration::from_secs(32)).await;
    let _w = docker_worker(cluster.addr, &unique("run-waits"), 1);
    let r = wait_run(&mut client, &run_id, Duration::from_secs(300)).await;
    assert_eq!(r.state, "completed", "{}", r.error);
    assert_eq!(
        r.nodes.len(),
        3,
        "the wait did not count against the budget"
    );
    let (working_ms, age_ms): (i64, f64) = sqlx::query_as(
        "SELECT working_ms, (extract(epoch FROM finished_at - created_at) * 1000)::float8 FROM runs WHERE id = $1::uuid",
    )
    .bind(&run_id)
    .fetch_one(&cluster.db)
    .await
    .unwrap();
    assert!(
        working_ms > 0 && (working_ms as f64) < age_ms - 30_000.0,
        "working {working_ms} ms of an age of {age_ms} ms"
    );
    println!("working time {working_ms} ms, age {age_ms:.0} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_resumed_after_kill_9_grows_the_same_tree() {
    let url = fresh_database("run_resume").await;
    let listen = free_listen_addr();
    let args = ["--lease-ttl", "5s", "--run-lease-ttl", "2s"];
    let (first, addr) = coordinator_with(&url, &listen, &args);
    let _w = docker_worker(addr, &unique("run-resume"), 2);
    let mut client = control(addr).await;
    let policies = ["greedy", "mcts", "evolutionary"];
    let mut reference = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        reference.push(
            client
                .start_run(start(p, 11 + i as u64, 6))
                .await
                .unwrap()
                .into_inner()
                .run_id,
        );
    }
    let mut resumed = Vec::new();
    for (i, p) in policies.iter().enumerate() {
        resumed.push(
            client
                .start_run(start(p, 11 + i as u64, 6))
                .await
                .unwrap()
                .into_inner()
                .run_id,
        );
    }
    // Kill the coordinator -9 twice while the second set of runs is part-way, at different
    // points of each run.
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let mut current = first;
    for kill_at in [4, 10] {
        eventually(
            "the resumed runs grow",
            Duration::from_secs(300),
            || async {
                let n: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM nodes WHERE run_id = ANY($1::uuid[])")
                        .bind(&resumed)
                        .fetch_one(&db)
                        .await
                        .unwrap();
                n >= kill_at
            },
        )
        .await;
        current.kill9();
        current = coordinator_with(&url, &listen, &args).0;
    }
    let _last = current;
    let mut client = control(addr).await;
    for (i, p) in policies.iter().enumerate() {
        let a = wait_run(&mut client, &reference[i], Duration::from_secs(600)).await;
        let b = wait_run(&mut client, &resumed[i], Duration::from_secs(600)).await;
        assert_eq!(a.state, "completed", "{p}: {}", a.error);
        assert_eq!(b.state, "completed", "{p}: {}", b.error);
        assert_eq!(a.nodes.len(), 6, "{p}");
        let (sa, sb) = (shape(&a), shape(&b));
        for (x, y) in sa.iter().zip(&sb) {
            assert_eq!(
                (x.0, &x.1, &x.2),
                (y.0, &y.1, &y.2),
                "{p}: the trees differ"
            );
            assert_eq!(x.3, y.3, "{p}: step {} has different code", x.0);
        }
        assert_eq!(sa.len(), sb.len(), "{p}");
    }
}

/// How to spoil a request, and what the refusal must say.
type BadSetting = (fn(&mut pb::StartRunRequest), &'static str);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_run_settings_are_refused_with_the_reason() {
    let cluster = cluster("run_bad", "10s").await;
    let mut client = control(cluster.addr).await;
    let cases: &[BadSetting] = &[
        (|r| r.policy = "astar".into(), "astar"),
        (
            |r| r.policy_settings_json = r#"{"greedy": {"num_draft": 2}}"#.into(),
            "num_draft",
        ),
        (
            |r| r.operator_json = r#"{"backend": "openai"}"#.into(),
            "backend \"openai\" needs base_url",
        ),
        (
            |r| {
                r.operator_json =
                    r#"{"backend": "openai", "base_url": "http://127.0.0.1:1/v1"}"#.into()
            },
            "backend \"openai\" needs a model",
        ),
        (|r| r.operator_json = "{".into(), "operator_json"),
        (|r| r.max_nodes = 0, "must be positive"),
        (
            |r| r.task_dir = "/nonexistent".into(),
            "cannot open the task directory",
        ),
    ];
    for (breakit, want) in cases {
        let mut request = start("greedy", 1, 3);
        breakit(&mut request);
        let err = client.start_run(request).await.expect_err(want);
        assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
        assert!(err.message().contains(want), "{want}: {}", err.message());
    }
}
