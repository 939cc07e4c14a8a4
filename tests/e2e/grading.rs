//! Grading through the real path: eval prints the grade, and the agent's container cannot
//! reach the private answers.

use std::time::Duration;

use randori_proto::v1 as pb;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_cannot_reach_private_answers() {
    let cluster = cluster("private", "10s").await;
    let addr = cluster.addr;
    let name = unique("private");
    let _w = docker_worker(addr, &name, 1);
    let mut client = control(addr).await;
    let task = toy_task();
    let private = task.join("prepared/private/test.csv");
    // A line found only in the private answers (the public files hold no targets for test ids).
    let answers = std::fs::read_to_string(&private).unwrap();
    let needle = answers.lines().nth(2).unwrap().to_owned();
    assert!(
        !std::fs::read_to_string(task.join("prepared/public/test.csv"))
            .unwrap()
            .contains(&needle)
    );
    let code = format!(
        r#"
import os, json
found = []
for top in ["/", "/home", "/home/data/..", "/home/data/../private"]:
    try:
        found.append((top, sorted(os.listdir(top))))
    except OSError as e:
        found.append((top, str(e)))
# Any readable file holding a line of the private answers (system directories and this
# program aside).
hits = []
for root, dirs, files in os.walk("/"):
    if root.startswith(("/proc", "/sys", "/dev", "/usr", "/home/code")):
        dirs[:] = []
        continue
    for f in files:
        p = os.path.join(root, f)
        try:
            if os.path.getsize(p) < (8 << 20) and {needle:?}.encode() in open(p, "rb").read():
                hits.append(p)
        except OSError:
            pass
tries = {{}}
for p in ["{private}", "/home/data/../private/test.csv", "/home/private/test.csv"]:
    try:
        open(p).read()
        tries[p] = "read"
    except OSError as e:
        tries[p] = "refused: %s" % e
print(json.dumps({{"listing": found, "hits": hits, "tries": tries}}))
"#,
        private = private.display(),
        needle = needle,
    );
    let job = submit(
        &mut client,
        Eval {
            code: &code,
            ..Default::default()
        },
    )
    .await;
    let r = wait_end(&mut client, &job, Duration::from_secs(120)).await;
    let o = r.outcome.expect("outcome");
    let out = text(&o.stdout_tail);
    let v: serde_json::Value =
        serde_json::from_str(out.lines().last().unwrap()).unwrap_or_else(|_| panic!("{out}"));
    assert_eq!(v["hits"], serde_json::json!([]), "{v}");
    for (path, result) in v["tries"].as_object().unwrap() {
        assert!(
            result.as_str().unwrap().starts_with("refused"),
            "{path}: {result}"
        );
    }
    // The answers file the coordinator grades with really is there, on the host.
    assert!(private.is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graded_evaluation_carries_scores_medal_and_thresholds() {
    let cluster = cluster("graded", "10s").await;
    let addr = cluster.addr;
    let name = unique("graded");
    let _w = docker_worker(addr, &name, 2);
    let mut client = control(addr).await;
    let sound = std::fs::read_to_string(fixture("programs/sound.py")).unwrap();
    let good = submit(
        &mut client,
        Eval {
            code: &sound,
            ..Default::default()
        },
    )
    .await;
    let no_metric = "open('/home/submission/submission.csv', 'w').write(open('/home/data/sample_submission.csv').read())\n";
    let silent = submit(
        &mut client,
        Eval {
            code: no_metric,
            ..Default::default()
        },
    )
    .await;

    let r = wait_end(&mut client, &good, Duration::from_secs(120)).await;
    let g = r.grade.expect("graded");
    assert_eq!(r.node_status, "ok");
    assert!(g.valid_submission && g.submission_exists);
    assert_eq!(
        g.val_source, "printed",
        "the fixture has no hidden validation"
    );
    assert!(
        g.val_score.unwrap() > 0.0 && g.val_score.unwrap() < 0.2,
        "{g:?}"
    );
    assert!(g.test_score.unwrap() < 0.2, "{g:?}");
    assert_eq!(
        g.medal, "gold",
        "a linear model fits the linear toy data: {g:?}"
    );
    assert!(g.is_lower_better);
    let t = g.thresholds.unwrap();
    assert!(t.gold < t.silver && t.silver < t.bronze && t.bronze < t.median);

    // Valid but silent: without a printed metric there is no validation score, so buggy.
    let r = wait_end(&mut client, &silent, Duration::from_secs(120)).await;
    assert_eq!(r.state(), pb::JobState::Succeeded);
    let g = r.grade.expect("graded");
    assert!(g.valid_submission);
    assert_eq!(g.val_score, None);
    assert_eq!(g.medal, "none");
    assert_eq!(r.node_status, "buggy");
}

/// The mini-bench's reference programs through the real path: a good model wins a medal and
/// a plain baseline does not, scored on hidden validation rows the program never saw labelled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mini_bench_medals_mean_something() {
    let cluster = cluster("medals", "10s").await;
    let addr = cluster.addr;
    let name = unique("medals");
    let _w = docker_worker(addr, &name, 2);
    let mut client = control(addr).await;
    // Every mini task: tabular, images (PNG files read with Pillow), text.
    let mut tasks: Vec<String> = std::fs::read_dir(repo_root().join("tasks/mini"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().join("config.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    tasks.sort();
    assert!(tasks.len() >= 8);
    let cases: Vec<(&str, &str, bool)> = tasks
        .iter()
        .flat_map(|t| {
            [
                (t.as_str(), "good.py", true),
                (t.as_str(), "baseline.py", false),
            ]
        })
        .collect();
    let mut jobs = Vec::new();
    for &(task, program, _) in &cases {
        let dir = repo_root().join("tasks/mini").join(task);
        let code = std::fs::read_to_string(dir.join("reference").join(program)).unwrap();
        let job = client
            .submit_eval(pb::SubmitEvalRequest {
                task_dir: dir.to_string_lossy().into_owned(),
                code,
                requirements: Some(pb::JobRequirements {
                    gpus: 0,
                    cpu_millis: 1000,
                    memory_bytes: 2 << 30,
                    timeout_ms: 300_000,
                    disk_bytes: 1 << 30,
                    image: String::new(),
                }),
                max_attempts: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .job_id;
        jobs.push(job);
    }
    for ((task, program, medal), job) in cases.iter().zip(&jobs) {
        let r = wait_end(&mut client, job, Duration::from_secs(600)).await;
        let o = r.outcome.as_ref().expect("outcome");
        assert_eq!(
            o.exit_code,
            Some(0),
            "{task}/{program}: {}",
            text(&o.stderr_tail)
        );
        let g = r.grade.expect("graded");
        println!(
            "{task}/{program}: val {:?} test {:?} medal {} ({} ms)",
            g.val_score, g.test_score, g.medal, o.duration_ms
        );
        assert_eq!(g.val_source, "hidden");
        assert!(
            g.val_score.is_some() && g.valid_submission,
            "{task}/{program}: {g:?}"
        );
        assert_eq!(g.medal != "none", *medal, "{task}/{program}: {g:?}");
    }
}
