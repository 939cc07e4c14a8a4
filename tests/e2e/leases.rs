//! Leases across real processes: a killed worker, a restarted coordinator, draining, and many
//! jobs over two workers.

use std::time::Duration;

use randori_proto::v1 as pb;
use randori_proto::v1::worker_service_client::WorkerServiceClient;
use sqlx::Row;

use crate::harness::*;

/// A program that runs `secs` seconds, then writes a submission naming its node.
fn slow_program(secs: u32) -> String {
    format!(
        "import os, time\ntime.sleep({secs})\nopen('/home/submission/submission.csv', 'w').write('id,y\\n' + os.environ['RANDORI_NODE_ID'] + ',1\\n')\nprint('done')\n"
    )
}

async fn job_row(db: &sqlx::PgPool, job_id: &str) -> (String, i64, i32, Option<String>) {
    let row = sqlx::query(
        "SELECT j.state, j.epoch, j.attempt, w.name FROM jobs j LEFT JOIN workers w ON w.id = j.worker_id WHERE j.id = $1::uuid",
    )
    .bind(job_id)
    .fetch_one(db)
    .await
    .unwrap();
    (row.get(0), row.get(1), row.get(2), row.get(3))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_job_completes_elsewhere_and_its_late_report_is_refused() {
    let cluster = cluster("kill9", "2s").await;
    let addr = cluster.addr;
    let db = cluster.db.clone();
    let (name_a, name_b) = (unique("kill9-a"), unique("kill9-b"));
    let mut a = docker_worker(addr, &name_a, 1);
    let mut client = control(addr).await;
    let job = submit(
        &mut client,
        Eval {
            code: &slow_program(8),
            ..Default::default()
        },
    )
    .await;

    eventually(
        "worker A holds the job",
        Duration::from_secs(60),
        || async { job_row(&db, &job).await.3.as_deref() == Some(name_a.as_str()) },
    )
    .await;
    // Let its container start, then kill -9 the worker mid-job.
    eventually("A's container runs", Duration::from_secs(30), || async {
        !containers_in_status(&format!("randori.worker={name_a}"), "running").is_empty()
    })
    .await;
    let (_, epoch_a, _, _) = job_row(&db, &job).await;
    let worker_id_a: String = sqlx::query_scalar("SELECT id::text FROM workers WHERE name = $1")
        .bind(&name_a)
        .fetch_one(&db)
        .await
        .unwrap();
    a.kill9();

    let _b = docker_worker(addr, &name_b, 1);
    let r = wait_end(&mut client, &job, Duration::from_secs(120)).await;
    assert_eq!(r.state(), pb::JobState::Succeeded, "{r:?}");
    assert_eq!(r.worker_name, name_b, "completed on the other worker");
    assert_eq!(r.attempts, 2, "one expired lease, one completion");
    let (state, epoch, _, _) = job_row(&db, &job).await;
    assert_eq!((state.as_str(), epoch), ("succeeded", epoch_a + 1));

    // The dead worker's late report, replayed with its old token, is refused.
    let mut wc = WorkerServiceClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let forged = pb::ReportResultRequest {
        worker_id: worker_id_a,
        job_id: job.clone(),
        epoch: epoch_a as u64,
        result: Some(pb::report_result_request::Result::Outcome(pb::Outcome {
            exit_code: Some(0),
            submission: Some(b"id,y\nforged,0\n".to_vec()),
            ..Default::default()
        })),
    };
    let late = wc
        .report_result(forged.clone())
        .await
        .expect_err("a stale report must be refused");
    assert_eq!(late.code(), tonic::Code::FailedPrecondition, "{late}");
    // The same in a batch: refused in its verdict, the call itself succeeds.
    let verdicts = wc
        .report_results(pb::ReportResultsRequest {
            reports: vec![forged],
        })
        .await
        .unwrap()
        .into_inner()
        .verdicts;
    assert_eq!(verdicts.len(), 1);
    assert!(!verdicts[0].accepted);
    assert!(
        verdicts[0].refused.contains("stale lease"),
        "{:?}",
        verdicts[0]
    );
    let r = wait_end(&mut client, &job, Duration::from_secs(5)).await;
    assert!(!text(r.outcome.unwrap().submission.as_deref().unwrap()).contains("forged"));

    // Restarted under its name, A removes the container it left behind.
    let _a2 = docker_worker(addr, &name_a, 1);
    eventually(
        "A's leftover container is removed",
        Duration::from_secs(60),
        || async { containers_with_label(&format!("randori.worker={name_a}")).is_empty() },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_survives_a_coordinator_restart() {
    let url = fresh_database("coord_restart").await;
    let listen = free_listen_addr();
    let (mut coordinator1, addr) = coordinator(&url, &listen, "5s");
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let name = unique("restart");
    let _w = docker_worker(addr, &name, 1);
    let job = {
        let mut client = control(addr).await;
        submit(
            &mut client,
            Eval {
                code: &slow_program(6),
                ..Default::default()
            },
        )
        .await
    };
    eventually("the job is leased", Duration::from_secs(60), || async {
        job_row(&db, &job).await.0 == "leased"
    })
    .await;
    coordinator1.kill9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_coordinator2, addr2) = coordinator(&url, &listen, "5s");
    assert_eq!(addr, addr2);
    let mut client = control(addr2).await;
    let r = wait_end(&mut client, &job, Duration::from_secs(120)).await;
    assert_eq!(r.state(), pb::JobState::Succeeded, "{r:?}");
    assert_eq!(r.attempts, 1, "the job kept running through the restart");
    assert_eq!(r.worker_name, name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_hands_back_what_does_not_finish() {
    let cluster = cluster("drain", "5s").await;
    let addr = cluster.addr;
    let db = cluster.db.clone();
    let name = unique("drain");
    let mut w = worker(
        addr,
        WorkerOpts {
            name: &name,
            slots: 2,
            drain_timeout: "6s",
            ..Default::default()
        },
    );
    let mut client = control(addr).await;
    let short = submit(
        &mut client,
        Eval {
            code: &slow_program(2),
            ..Default::default()
        },
    )
    .await;
    let long = submit(
        &mut client,
        Eval {
            code: &slow_program(300),
            ..Default::default()
        },
    )
    .await;
    eventually("both jobs are leased", Duration::from_secs(60), || async {
        job_row(&db, &short).await.0 == "leased" && job_row(&db, &long).await.0 == "leased"
    })
    .await;
    w.signal(nix::sys::signal::Signal::SIGTERM);
    let status = w
        .wait_exit(Duration::from_secs(60))
        .expect("the worker exits after draining");
    assert!(status.success(), "{status:?}\n{}", w.log_text());
    // The short job finished within the drain; the long one was handed back, its attempt
    // not counted, and no container is left.
    assert_eq!(job_row(&db, &short).await.0, "succeeded");
    let (state, _, attempt, _) = job_row(&db, &long).await;
    assert_eq!((state.as_str(), attempt), ("queued", 0));
    assert!(containers_with_label(&format!("randori.worker={name}")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_complete_every_job_exactly_once() {
    let cluster = cluster("many", "10s").await;
    let addr = cluster.addr;
    let db = cluster.db.clone();
    let (a, b) = (unique("many-a"), unique("many-b"));
    let _wa = docker_worker(addr, &a, 2);
    let _wb = docker_worker(addr, &b, 2);
    let mut client = control(addr).await;
    let code = "import os\nopen('/home/submission/submission.csv', 'w').write('id,y\\n' + os.environ['RANDORI_NODE_ID'] + ',1\\n')\nprint('wrote ' + os.environ['RANDORI_NODE_ID'])\n";
    let mut jobs = Vec::new();
    for _ in 0..24 {
        jobs.push(
            submit(
                &mut client,
                Eval {
                    code,
                    ..Default::default()
                },
            )
            .await,
        );
    }
    let mut by_worker = std::collections::HashMap::<String, usize>::new();
    for job in &jobs {
        let r = wait_end(&mut client, job, Duration::from_secs(300)).await;
        assert_eq!(r.state(), pb::JobState::Succeeded);
        // One lease per job: had two workers held it, the epoch and attempts would show it.
        assert_eq!(r.attempts, 1, "job {job} was leased more than once");
        let submission = text(r.outcome.unwrap().submission.as_deref().unwrap());
        assert!(
            submission.contains(&r.node_id),
            "the job's own program wrote its submission"
        );
        *by_worker.entry(r.worker_name).or_default() += 1;
    }
    let epochs: Vec<i64> = sqlx::query_scalar("SELECT epoch FROM jobs")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(epochs.len(), 24);
    assert!(epochs.iter().all(|&e| e == 1), "{epochs:?}");
    assert_eq!(by_worker.len(), 2, "both workers took jobs: {by_worker:?}");
}
