//! The job store against a real Postgres: fencing, expiry, attempts, placement, and many
//! concurrent leasers. Each test gets a database of its own.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use randori_coordinator::Error;
use randori_coordinator::model::NewRunNode;
use randori_coordinator::model::{
    JobState, LeaseToken, NewEval, NodeGrade, NodeStatus, Outcome, Requirements, Resources,
    WorkerRegistration,
};
use randori_coordinator::private_postgres::PrivatePostgres;
use randori_coordinator::store::{Completion, JobStore, NewSweep};
use randori_coordinator::sweep_spec::{Budget, NodeResources, SweepSpec};
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(1);

async fn store(test: &str) -> JobStore {
    static PG: OnceLock<PrivatePostgres> = OnceLock::new();
    static N: AtomicU32 = AtomicU32::new(0);
    // The same server the end-to-end tests use; later test binaries attach to it.
    let pg =
        PG.get_or_init(|| PrivatePostgres::start(Path::new("/tmp/randori-test-postgres")).unwrap());
    let name = format!(
        "s_{test}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    pg.ensure_database(&name).await.unwrap();
    JobStore::connect(&pg.url_for(&name)).await.unwrap()
}

fn resources(slots: u32, cpu_millis: u32, memory_gib: u64, gpus: &[u32]) -> Resources {
    Resources {
        slots,
        cpu_millis,
        memory_bytes: memory_gib << 30,
        gpu_ids: gpus.to_vec(),
        disk_bytes: 64 << 30,
    }
}

async fn register(store: &JobStore, name: &str, total: Resources) -> Uuid {
    register_with(store, name, total, &[]).await
}

async fn register_with(store: &JobStore, name: &str, total: Resources, packages: &[&str]) -> Uuid {
    store
        .worker_register(&WorkerRegistration {
            name: name.into(),
            hostname: "test".into(),
            sandbox: "docker".into(),
            version: "0".into(),
            total,
            packages: packages.iter().map(|p| p.to_string()).collect(),
            images: Default::default(),
        })
        .await
        .unwrap()
}

async fn enqueue(store: &JobStore, gpus: u32, max_attempts: u32) -> Uuid {
    enqueue_in(store, gpus, max_attempts, None).await
}

/// A job in the runtime image `image` (None: the worker's own).
async fn enqueue_in(store: &JobStore, gpus: u32, max_attempts: u32, image: Option<&str>) -> Uuid {
    store
        .eval_enqueue(&NewEval {
            task_id: "t".into(),
            task_dir: "/tasks/t".into(),
            data_dir: "/tasks/t/prepared/public".into(),
            code: "print(1)".into(),
            requirements: Requirements {
                gpus,
                cpu_millis: 1000,
                memory_bytes: 1 << 30,
                timeout_ms: 60_000,
                disk_bytes: 4 << 30,
                image: image.map(str::to_owned),
            },
            priority: 0,
            max_attempts,
        })
        .await
        .unwrap()
        .1
}

fn ok_outcome() -> Outcome {
    Outcome {
        exit_code: Some(0),
        submission_exists: true,
        ..Outcome::default()
    }
}

fn graded() -> NodeGrade {
    NodeGrade {
        submission_exists: true,
        valid_submission: true,
        invalid_reason: None,
        val_score: Some(0.9),
        val_source: "hidden".into(),
        test_score: Some(0.8),
        medal: "bronze".into(),
        above_median: true,
        gold_threshold: 0.99,
        silver_threshold: 0.9,
        bronze_threshold: 0.8,
        median_threshold: 0.5,
        is_lower_better: false,
        graded_by: "native".into(),
        validation_invalid_reason: None,
    }
}

fn assert_stale<T: std::fmt::Debug>(r: randori_coordinator::Result<T>, want_current: u64) {
    match r {
        Err(Error::StaleLease { current, .. }) => assert_eq!(current, want_current),
        other => panic!("expected a stale lease, got {other:?}"),
    }
}

#[tokio::test]
async fn reports_are_fenced_by_the_lease_epoch() {
    let s = store("fence").await;
    let w = register(&s, "w", resources(4, 4000, 8, &[])).await;
    let job = enqueue(&s, 0, 3).await;
    let free = resources(4, 4000, 8, &[]);

    let leased = s.job_lease_many(w, &free, &[], 1, TTL).await.unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(
        (leased[0].job_id, leased[0].epoch, leased[0].attempt),
        (job, 1, 1)
    );
    let first = LeaseToken {
        job_id: job,
        epoch: 1,
    };
    assert_stale(
        s.job_complete(
            LeaseToken {
                job_id: job,
                epoch: 0,
            },
            &ok_outcome(),
            None,
            Some(&graded()),
        )
        .await,
        1,
    );

    // The lease runs out: the reaper requeues it and the next lease gets a new epoch.
    tokio::time::sleep(TTL + Duration::from_millis(300)).await;
    let reaped = s.job_reap(None).await.unwrap();
    assert_eq!(reaped.requeued, vec![job]);
    assert_eq!(
        s.job_heartbeat(w, &[first], TTL).await.unwrap(),
        vec![first],
        "lost lease"
    );
    let again = s.job_lease_many(w, &free, &[], 1, TTL).await.unwrap();
    assert_eq!((again[0].epoch, again[0].attempt), (2, 2));
    let second = LeaseToken {
        job_id: job,
        epoch: 2,
    };
    assert!(s.job_heartbeat(w, &[second], TTL).await.unwrap().is_empty());

    // The first holder's late report is refused; the current one is recorded, once.
    assert_stale(
        s.job_complete(first, &ok_outcome(), Some(b"late"), Some(&graded()))
            .await,
        2,
    );
    s.job_complete(second, &ok_outcome(), Some(b"id,y\n"), Some(&graded()))
        .await
        .unwrap();
    assert_stale(
        s.job_complete(second, &ok_outcome(), Some(b"again"), Some(&graded()))
            .await,
        2,
    );
    let view = s.job_get(job).await.unwrap();
    assert_eq!(view.state, JobState::Succeeded);
    assert_eq!(view.submission.as_deref(), Some(&b"id,y\n"[..]));
    assert_eq!(view.node_status, NodeStatus::Ok);
    assert_eq!(
        view.error, None,
        "a success clears the earlier expiry's error"
    );
    assert_eq!(view.grade, Some(graded()));
}

#[tokio::test]
async fn attempts_are_bounded_and_release_does_not_count() {
    let s = store("attempts").await;
    let w = register(&s, "w", resources(4, 4000, 8, &[])).await;
    let free = resources(4, 4000, 8, &[]);
    let job = enqueue(&s, 0, 2).await;

    // A drain hands the job back: requeued, attempt not counted.
    let l = s
        .job_lease_many(w, &free, &[], 1, TTL)
        .await
        .unwrap()
        .remove(0);
    s.job_release(
        LeaseToken {
            job_id: job,
            epoch: l.epoch,
        },
        "drain",
    )
    .await
    .unwrap();
    // An infrastructure error spends an attempt and requeues.
    let l = s
        .job_lease_many(w, &free, &[], 1, TTL)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(l.attempt, 1);
    let state = s
        .job_retry_or_fail(
            LeaseToken {
                job_id: job,
                epoch: l.epoch,
            },
            "no docker",
        )
        .await
        .unwrap();
    assert_eq!(state, JobState::Queued);
    // The last attempt expires: the job fails and its node is buggy.
    let l = s
        .job_lease_many(w, &free, &[], 1, TTL)
        .await
        .unwrap()
        .remove(0);
    assert_eq!((l.attempt, l.epoch), (2, 3));
    tokio::time::sleep(TTL + Duration::from_millis(300)).await;
    assert_eq!(s.job_reap(None).await.unwrap().failed, vec![job]);
    let view = s.job_get(job).await.unwrap();
    assert_eq!(view.state, JobState::Failed);
    assert_eq!(view.node_status, NodeStatus::Buggy);
    assert!(
        view.error
            .unwrap()
            .contains("lease expired (attempt 2 of 2)")
    );
    assert!(
        s.job_lease_many(w, &free, &[], 1, TTL)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn jobs_go_only_where_the_free_resources_fit() {
    let s = store("placement").await;
    let w = register(&s, "w", resources(4, 8000, 32, &[0, 4, 5, 6])).await;
    let gpu_job = enqueue(&s, 2, 3).await;

    let cases = [
        (resources(4, 8000, 32, &[0]), 0, "one free GPU"),
        (resources(4, 500, 32, &[0, 4]), 0, "too little CPU"),
        (resources(4, 8000, 0, &[0, 4]), 0, "too little memory"),
        (resources(0, 8000, 32, &[0, 4]), 0, "no free slot"),
        (
            Resources {
                disk_bytes: 3 << 30,
                ..resources(4, 8000, 32, &[0, 4])
            },
            0,
            "too little disk",
        ),
    ];
    for (free, want, why) in cases {
        assert_eq!(
            s.job_lease_many(w, &free, &[], 4, TTL).await.unwrap().len(),
            want,
            "{why}"
        );
    }
    let leased = s
        .job_lease_many(w, &resources(4, 8000, 32, &[4, 5, 6]), &[], 4, TTL)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(
        (leased[0].job_id, leased[0].gpu_ids.clone()),
        (gpu_job, vec![4, 5])
    );

    // A batch never overcommits: three 1-CPU jobs, two CPUs free.
    for _ in 0..3 {
        enqueue(&s, 0, 3).await;
    }
    let batch = s
        .job_lease_many(w, &resources(4, 2000, 32, &[]), &[], 4, TTL)
        .await
        .unwrap();
    assert_eq!(batch.len(), 2);

    // Nor does it overcommit the disk: one 4 GiB job left, another queued, 6 GiB free.
    enqueue(&s, 0, 3).await;
    let free = Resources {
        disk_bytes: 6 << 30,
        ..resources(4, 8000, 32, &[])
    };
    let batch = s.job_lease_many(w, &free, &[], 4, TTL).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].requirements.disk_bytes, 4 << 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_leasers_never_share_a_job() {
    let s = store("concurrent").await;
    const JOBS: usize = 200;
    let mut all = HashSet::new();
    for _ in 0..JOBS {
        all.insert(enqueue(&s, 0, 3).await);
    }
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let w = register(&s, &format!("w{i}"), resources(3, 3000, 8, &[])).await;
            let mut mine = Vec::new();
            loop {
                let jobs = s
                    .job_lease_many(
                        w,
                        &resources(3, 3000, 8, &[]),
                        &[],
                        3,
                        Duration::from_secs(60),
                    )
                    .await
                    .unwrap();
                if jobs.is_empty() {
                    return mine;
                }
                for j in jobs {
                    let token = LeaseToken {
                        job_id: j.job_id,
                        epoch: j.epoch,
                    };
                    s.job_complete(token, &ok_outcome(), None, Some(&graded()))
                        .await
                        .unwrap();
                    mine.push(token);
                }
            }
        }));
    }
    let mut seen = Vec::new();
    for t in tasks {
        seen.extend(t.await.unwrap());
    }
    assert_eq!(seen.len(), JOBS, "every job leased exactly once");
    let distinct: HashSet<Uuid> = seen.iter().map(|t| t.job_id).collect();
    assert_eq!(distinct, all);
    assert!(seen.iter().all(|t| t.epoch == 1));
}

fn sweep_spec(name: &str, seeds: Vec<u64>, max_nodes: u32) -> SweepSpec {
    SweepSpec {
        name: name.into(),
        tasks: vec!["/tasks/t".into()],
        policies: vec!["greedy".into()],
        operator_sets: Vec::new(),
        seeds,
        priority: 0,
        budget: Budget {
            max_nodes,
            ..Budget::default()
        },
        resources: NodeResources {
            gpus: 0,
            cpu_millis: 2000,
            memory_bytes: 1 << 30,
            ..NodeResources::default()
        },
        image: None,
        operator: serde_json::json!({}),
        policy: serde_json::json!({}),
    }
}

async fn submit_sweep(s: &JobStore, spec: &SweepSpec) -> Uuid {
    s.sweep_submit(&NewSweep {
        spec,
        task_ids: vec!["t".into()],
    })
    .await
    .unwrap()
    .id
}

/// Adds a node to a run and evaluates it: `grade` None makes it buggy.
async fn evaluated_node(
    s: &JobStore,
    worker: Uuid,
    run: Uuid,
    step: u32,
    grade: Option<NodeGrade>,
) -> Uuid {
    let record = s.run_get(run).await.unwrap();
    let node = NewRunNode {
        id: Uuid::now_v7(),
        run_id: run,
        step,
        operator: "draft".into(),
        parent_ids: vec![],
        code: format!("print({step})"),
        plan: String::new(),
    };
    assert!(s.run_node_insert(&record, &node, "/data", 1).await.unwrap());
    let leased = s
        .job_lease_many(worker, &resources(1, 4000, 8, &[]), &[], 1, TTL)
        .await
        .unwrap();
    let job = &leased[0];
    let outcome = Outcome {
        duration_ms: 1500,
        ..ok_outcome()
    };
    s.job_complete(
        LeaseToken {
            job_id: job.job_id,
            epoch: job.epoch,
        },
        &outcome,
        Some(b"id,y\n"),
        grade.as_ref(),
    )
    .await
    .unwrap();
    job.node_id
}

#[tokio::test]
async fn report_facts_follow_the_stored_nodes() {
    let s = store("sweep_report").await;
    let w = register(&s, "w", resources(1, 4000, 8, &[])).await;
    let sweep = submit_sweep(&s, &sweep_spec("r", vec![0, 1], 3)).await;
    let runs = s.sweep_run_counts(sweep).await.unwrap();
    let (a, b) = (runs[0].id, runs[1].id);
    // Run a: lower is better; val 0.3 (gold) and 0.2 (no medal), one buggy node.
    let lower = |val: f64, test: f64, medal: &str| NodeGrade {
        val_score: Some(val),
        test_score: Some(test),
        medal: medal.into(),
        is_lower_better: true,
        graded_by: "native".into(),
        validation_invalid_reason: None,
        ..graded()
    };
    let a0 = evaluated_node(&s, w, a, 0, Some(lower(0.3, 0.1, "gold"))).await;
    let a1 = evaluated_node(&s, w, a, 1, Some(lower(0.2, 0.4, "none"))).await;
    evaluated_node(&s, w, a, 2, None).await;
    // The final pick is the best validation score (a1); the oracle the best test score (a0).
    s.run_finish(a, "completed", None, Some(a1), Some(a0))
        .await
        .unwrap();
    // Run b: one bronze node, still running.
    evaluated_node(&s, w, b, 0, Some(graded())).await;

    let (facts, operators, oracle) = s.sweep_report_runs(sweep).await.unwrap();
    assert!(!oracle);
    assert_eq!(operators, ["builtin"]);
    let fa = facts.iter().find(|f| f.id == a.to_string()).unwrap();
    assert_eq!((fa.nodes, fa.nodes_ok, fa.nodes_buggy), (3, 2, 1));
    assert_eq!(fa.best_val, Some(0.2), "lower is better");
    assert_eq!(fa.selected.as_ref().unwrap().medal, "none");
    assert_eq!(fa.oracle.as_ref().unwrap().medal, "gold");
    // 3 evaluations of 1.5 s on 2 CPUs.
    assert!((fa.cpu_seconds - 9.0).abs() < 1e-9, "{}", fa.cpu_seconds);
    let fb = facts.iter().find(|f| f.id == b.to_string()).unwrap();
    assert_eq!(fb.best_val, Some(0.9));
    assert!(fb.selected.is_none());

    let report = randori_report::build(
        randori_report::SweepInfo {
            id: sweep.to_string(),
            name: "r".into(),
            state: "running".into(),
            created_at: String::new(),
            operators,
            oracle_ablation: oracle,
        },
        facts,
    );
    let row = &report.rows[0];
    assert_eq!(row.runs, 2);
    // Neither run's selection has a medal; run a's oracle has gold: 1 of 2.
    assert_eq!(row.any_medal_pct, 0.0);
    assert_eq!(row.oracle_any_medal_pct, 50.0);
    assert_eq!(row.made_submission_pct, 50.0);
    assert!((row.mean_best_val.unwrap() - 0.55).abs() < 1e-9);

    // The sweep completes with its last run.
    s.run_finish(b, "completed", None, None, None)
        .await
        .unwrap();
    assert_eq!(s.sweep_get(sweep).await.unwrap().state, "completed");
}

#[tokio::test]
async fn submitting_the_same_sweep_twice_finds_the_first() {
    let s = store("sweep_twice").await;
    let spec = sweep_spec("twice", vec![0, 1, 2], 5);
    let first = s
        .sweep_submit(&NewSweep {
            spec: &spec,
            task_ids: vec!["t".into()],
        })
        .await
        .unwrap();
    let second = s
        .sweep_submit(&NewSweep {
            spec: &spec,
            task_ids: vec!["t".into()],
        })
        .await
        .unwrap();
    assert!(!first.existing && second.existing);
    assert_eq!((first.id, first.runs), (second.id, second.runs));
    assert_eq!(s.sweep_list().await.unwrap().len(), 1);
}

/// Not a timed assertion: prints how long a 1,000-run sweep takes to submit and to count.
#[tokio::test]
async fn a_sweep_of_1000_runs_is_stored_in_one_transaction() {
    let s = store("sweep_1000").await;
    let spec = sweep_spec("thousand", (0..1000).collect(), 20);
    let started = std::time::Instant::now();
    let id = submit_sweep(&s, &spec).await;
    let submit = started.elapsed();
    let started = std::time::Instant::now();
    let runs = s.sweep_run_counts(id).await.unwrap();
    let count = started.elapsed();
    assert_eq!(runs.len(), 1000);
    assert!(runs.iter().all(|r| r.state == "running" && r.nodes == 0));
    println!("1000-run sweep: submit {submit:?}, status counts {count:?}");
}

#[tokio::test]
async fn paused_sweeps_wait_and_equal_sweeps_take_turns() {
    let s = store("sweep_turns").await;
    let w = register(&s, "w", resources(1, 4000, 8, &[])).await;
    let big = submit_sweep(&s, &sweep_spec("big", (0..6).collect(), 1)).await;
    let small = submit_sweep(&s, &sweep_spec("small", vec![0, 1], 1)).await;
    draft_every_run(&s, &[big, small]).await;
    s.sweep_pause(small).await.unwrap();
    let mut order = Vec::new();
    let lease_one = async |order: &mut Vec<Uuid>| {
        let leased = s
            .job_lease_many(w, &resources(1, 4000, 8, &[]), &[], 1, TTL)
            .await
            .unwrap();
        let job = &leased[0];
        s.job_complete(
            LeaseToken {
                job_id: job.job_id,
                epoch: job.epoch,
            },
            &ok_outcome(),
            None,
            None,
        )
        .await
        .unwrap();
        order.push(job.node_id);
    };
    lease_one(&mut order).await;
    s.sweep_resume(small).await.unwrap();
    for _ in 0..3 {
        lease_one(&mut order).await;
    }
    let mut sweeps = Vec::new();
    for n in &order {
        sweeps.push(sweep_of_node(&s, *n).await);
    }
    // While paused, the small sweep waits; resumed, its service starts level with the big
    // one's, and they take turns (first come, first served would give the big one all four).
    assert_eq!(sweeps, vec![big, big, small, big]);
}

/// Inserts each run's first node (a draft), which queues its job.
async fn draft_every_run(s: &JobStore, sweeps: &[Uuid]) {
    for &sweep in sweeps {
        for run in s.sweep_run_counts(sweep).await.unwrap() {
            let record = s.run_get(run.id).await.unwrap();
            let node = NewRunNode {
                id: Uuid::now_v7(),
                run_id: run.id,
                step: 0,
                operator: "draft".into(),
                parent_ids: vec![],
                code: String::new(),
                plan: String::new(),
            };
            s.run_node_insert(&record, &node, "/data", 1).await.unwrap();
        }
    }
}

async fn sweep_of_node(s: &JobStore, node: Uuid) -> Uuid {
    let (_, run, _) = s.node_get(node).await.unwrap();
    s.run_get(run.unwrap()).await.unwrap().sweep_id.unwrap()
}

#[tokio::test]
async fn a_batch_lease_interleaves_sweeps_and_a_batch_report_is_fenced_per_job() {
    let s = store("batch").await;
    let w = register(&s, "w", resources(8, 16000, 32, &[])).await;
    let big = submit_sweep(&s, &sweep_spec("big", (0..6).collect(), 1)).await;
    let small = submit_sweep(&s, &sweep_spec("small", vec![0, 1], 1)).await;
    draft_every_run(&s, &[big, small]).await;
    // Each job takes 2 CPUs: 10 CPUs cut the batch of 6 at 5, whatever the slots say.
    let batch = s
        .job_lease_many(w, &resources(8, 10000, 32, &[]), &[], 6, TTL)
        .await
        .unwrap();
    let mut sweeps = Vec::new();
    for job in &batch {
        sweeps.push(sweep_of_node(&s, job.node_id).await);
    }
    // Equal service: the sweeps take turns (the big one's jobs are older), until the small
    // one has no more.
    assert_eq!(sweeps, vec![big, small, big, small, big]);

    // One report batch: the first two current, the third under a stale epoch.
    let token = |i: usize, stale: bool| LeaseToken {
        job_id: batch[i].job_id,
        epoch: batch[i].epoch + u64::from(stale),
    };
    let (ok, grade) = (ok_outcome(), graded());
    let completion = |lease| Completion {
        lease,
        outcome: &ok,
        submission: Some(b"id,y\n"),
        grade: Some(&grade),
    };
    let verdicts = s
        .job_complete_many(&[
            completion(token(0, false)),
            completion(token(1, false)),
            completion(token(2, true)),
        ])
        .await
        .unwrap();
    assert!(verdicts[0].is_ok() && verdicts[1].is_ok(), "{verdicts:?}");
    assert!(
        matches!(verdicts[2], Err(Error::StaleLease { current: 1, .. })),
        "{verdicts:?}"
    );
    for (i, want) in [
        (0, JobState::Succeeded),
        (1, JobState::Succeeded),
        (2, JobState::Leased),
    ] {
        let job = s.job_get(batch[i].job_id).await.unwrap();
        assert_eq!(job.state, want, "job {i}");
    }
    let (node, _, _) = s.node_get(batch[1].node_id).await.unwrap();
    assert_eq!(node.status, NodeStatus::Ok);
    assert_eq!(node.val_score, Some(0.9));
}

#[tokio::test]
async fn prompts_quote_the_packages_every_active_worker_reported() {
    let s = store("packages").await;
    assert_eq!(
        s.worker_packages(None).await.unwrap(),
        None,
        "nobody reported"
    );
    register(&s, "silent", resources(1, 1000, 1, &[])).await;
    assert_eq!(
        s.worker_packages(None).await.unwrap(),
        None,
        "an empty list is no report"
    );
    register_with(
        &s,
        "a",
        resources(1, 1000, 1, &[]),
        &["numpy 1.26.4", "Pillow 10.0", "torch 2.5.1"],
    )
    .await;
    let b = register_with(
        &s,
        "b",
        resources(1, 1000, 1, &[]),
        &["pillow 9.0", "numpy 1.26.4", "Pillow 10.0"],
    )
    .await;
    assert_eq!(
        s.worker_packages(None).await.unwrap().unwrap(),
        ["numpy 1.26.4", "Pillow 10.0"],
        "those every reporting worker has, by name"
    );
    sqlx::query("UPDATE workers SET state = 'lost' WHERE id = $1")
        .bind(b)
        .execute(s.pool())
        .await
        .unwrap();
    assert_eq!(
        s.worker_packages(None).await.unwrap().unwrap(),
        ["numpy 1.26.4", "Pillow 10.0", "torch 2.5.1"],
        "a lost worker no longer counts"
    );
}

#[tokio::test]
async fn a_job_in_another_image_goes_only_to_workers_that_have_it_and_prompts_quote_that_image() {
    let s = store("images").await;
    let w = s
        .worker_register(&WorkerRegistration {
            name: "dl".into(),
            hostname: "test".into(),
            sandbox: "docker".into(),
            version: "0".into(),
            total: resources(2, 4000, 8, &[]),
            packages: vec!["numpy 1.24.2".into()],
            images: [(
                "randori-runtime-dl:1".to_owned(),
                vec!["numpy 1.26.4".to_owned(), "torch 2.5.1".to_owned()],
            )]
            .into(),
        })
        .await
        .unwrap();
    assert_eq!(
        s.worker_packages(Some("randori-runtime-dl:1"))
            .await
            .unwrap()
            .unwrap(),
        ["numpy 1.26.4", "torch 2.5.1"]
    );
    assert_eq!(
        s.worker_packages(None).await.unwrap().unwrap(),
        ["numpy 1.24.2"]
    );
    assert_eq!(s.worker_packages(Some("other:1")).await.unwrap(), None);

    let job = enqueue_in(&s, 0, 3, Some("randori-runtime-dl:1")).await;
    let free = resources(2, 4000, 8, &[]);
    assert!(
        s.job_lease_many(w, &free, &[], 2, TTL)
            .await
            .unwrap()
            .is_empty(),
        "a worker without the image"
    );
    let leased = s
        .job_lease_many(w, &free, &["randori-runtime-dl:1".to_owned()], 2, TTL)
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    assert_eq!(leased[0].job_id, job);
    assert_eq!(
        leased[0].requirements.image.as_deref(),
        Some("randori-runtime-dl:1")
    );
}
