//! A user's MLE-bench install used as it is (`tests/fixtures/mlebench`: a checkout and a data
//! directory in MLE-bench's layout, written for these tests): competitions listed with what
//! they lack, named by id and by split in a sweep, and every submission graded by the
//! competition's own grade function in the grading container, malformed ones included.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use randori_coordinator::mlebench::Install;
use randori_grading::metrics::{Column, Metric};
use randori_proto::v1 as pb;

use crate::harness::*;

fn install() -> Install {
    let root = fixture("mlebench");
    Install::new(&root.join("repo"), &root.join("data")).unwrap()
}

/// `randori` with the install in the environment, as a user who exported it.
fn randori(args: &[&str]) -> std::process::Output {
    let i = install();
    Command::new(BIN)
        .args(args)
        .env("MLEBENCH_REPO", &i.repo)
        .env("MLEBENCH_DATA_DIR", &i.data_dir)
        .env_remove("RANDORI_COORDINATOR")
        .output()
        .expect("running randori")
}

#[test]
fn task_list_shows_every_competition_and_the_fix_for_each_that_does_not_load() {
    let out = randori(&["task", "list", "--mlebench"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let row = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(row("toy-spaceship")[1..3], ["yes", "present"]);
    assert_eq!(
        row("toy-spaceship")[4],
        "mlebench.competitions.toy-spaceship.grade:grade"
    );
    assert_eq!(row("toy-leaf")[1..3], ["yes", "present"]);
    assert_eq!(row("toy-lfs")[1..4], ["yes", "lfs-pointer", "-"]);
    assert_eq!(row("toy-unprepared")[1..4], ["no", "present", "-"]);
    assert!(stdout.contains("2 of 4 competitions load"), "{stdout}");
    assert!(stderr.contains("toy-lfs: ") && stderr.contains("run `git lfs pull` in"));
    assert!(stderr.contains("run `mlebench prepare -c toy-unprepared --data-dir"));
}

#[test]
fn splits_resolve_by_alias_and_by_file_and_unknown_names_list_the_splits() {
    let i = install();
    assert_eq!(i.resolve("lite").unwrap(), ["toy-spaceship", "toy-leaf"]);
    assert_eq!(i.resolve("low").unwrap(), ["toy-spaceship", "toy-leaf"]);
    assert_eq!(i.resolve("dev").unwrap().len(), 4);
    assert_eq!(i.resolve("toy-leaf").unwrap(), ["toy-leaf"]);
    let e = i.resolve("nope").unwrap_err().to_string();
    assert!(
        e.contains("no competition or split \"nope\"") && e.contains("lite (= low)"),
        "{e}"
    );
    assert!(i.resolve("../splits/low").is_err());
}

/// The scores of the hand-written submissions below, and whether each is valid, as the
/// competitions' grade functions decide.
struct Case {
    competition: &'static str,
    name: &'static str,
    /// Python that writes /home/submission/submission.csv.
    program: &'static str,
    /// Err: invalid, with a reason containing this text.
    expect: Result<Expected, &'static str>,
}

enum Expected {
    /// The share of False in the answers: what the all-False sample scores.
    SampleAccuracy,
    /// The native multi-class log-loss of the probabilities the program wrote.
    NativeLogLoss,
}

const LEAF_PROBABILITIES: &str = r#"
import pandas as pd
test = pd.read_csv("/home/data/test.csv")
sub = pd.DataFrame({"id": test["id"]})
sub["Acer"] = (test["margin1"] < 0.8).astype(float) * 0.6 + 0.1
sub["Betula"] = 0.2
sub["Quercus"] = 1.0 - sub["Acer"] - sub["Betula"]
"#;

fn cases() -> Vec<Case> {
    vec![
        Case {
            competition: "toy-spaceship",
            name: "the sample submission: all False",
            program: r#"
import shutil
shutil.copy("/home/data/sample_submission.csv", "/home/submission/submission.csv")
"#,
            expect: Ok(Expected::SampleAccuracy),
        },
        Case {
            competition: "toy-spaceship",
            name: "an extra index column (to_csv without index=False) is accepted",
            program: r#"
import pandas as pd
sub = pd.read_csv("/home/data/sample_submission.csv")
sub.to_csv("/home/submission/submission.csv")
"#,
            expect: Ok(Expected::SampleAccuracy),
        },
        Case {
            competition: "toy-spaceship",
            name: "a repeated id",
            program: r#"
import pandas as pd
sub = pd.read_csv("/home/data/sample_submission.csv")
sub.loc[1, "PassengerId"] = sub.loc[0, "PassengerId"]
sub.to_csv("/home/submission/submission.csv", index=False)
"#,
            expect: Err("InvalidSubmissionError: the submission repeats ids"),
        },
        Case {
            competition: "toy-leaf",
            name: "probabilities summing to 1",
            program: LEAF_PROBABILITIES,
            expect: Ok(Expected::NativeLogLoss),
        },
        Case {
            competition: "toy-leaf",
            name: "rows that do not sum to 1",
            program: r#"
import pandas as pd
sub = pd.read_csv("/home/data/sample_submission.csv")
sub["Acer"] = 0.9
sub.to_csv("/home/submission/submission.csv", index=False)
"#,
            expect: Err("each row's probabilities must sum to 1"),
        },
        Case {
            competition: "toy-leaf",
            name: "an extra index column is refused by this grader",
            program: r#"
import pandas as pd
pd.read_csv("/home/data/sample_submission.csv").to_csv("/home/submission/submission.csv")
"#,
            expect: Err("columns must be exactly"),
        },
        Case {
            competition: "toy-leaf",
            name: "not a CSV at all",
            program: r#"
open("/home/submission/submission.csv", "w").write('"unclosed\n')
"#,
            expect: Err("Error"),
        },
    ]
}

/// The program with its submission written, if the case's program builds a frame `sub`.
fn full_program(case: &Case) -> String {
    let mut code = case.program.to_owned();
    if code.contains("sub[\"Quercus\"]") {
        code.push_str("sub.to_csv(\"/home/submission/submission.csv\", index=False)\n");
    }
    code
}

fn share_of_false(install: &Install) -> f64 {
    let answers = std::fs::read_to_string(
        install
            .prepared_dir("toy-spaceship")
            .join("private/test.csv"),
    )
    .unwrap();
    let labels: Vec<&str> = answers
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap())
        .collect();
    labels.iter().filter(|l| **l == "False").count() as f64 / labels.len() as f64
}

/// The native metric on the probabilities `LEAF_PROBABILITIES` writes, computed from the
/// answers and test features here: the competition's own grader must agree with it.
fn native_leaf_log_loss(install: &Install) -> f64 {
    let read = |rel: &str| -> Vec<Vec<String>> {
        std::fs::read_to_string(install.prepared_dir("toy-leaf").join(rel))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    };
    let test = read("public/test.csv");
    let answers = read("private/test.csv");
    let acer: Vec<f64> = test
        .iter()
        .map(|r| {
            let m1: f64 = r[1].parse().unwrap();
            f64::from(u8::from(m1 < 0.8)) * 0.6 + 0.1
        })
        .collect();
    let betula = vec![0.2; acer.len()];
    let quercus: Vec<f64> = acer.iter().map(|a| 1.0 - a - 0.2).collect();
    let truth: Vec<Column> = (1..=3)
        .map(|c| Column::Numbers(answers.iter().map(|r| r[c].parse().unwrap()).collect()))
        .collect();
    let predicted = [acer, betula, quercus].map(Column::Numbers);
    Metric::MultiClassLogLoss.score(&truth, &predicted).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_submission_gets_the_grade_its_competitions_grader_gives() {
    let i = install();
    let cluster = cluster("mlebench-grades", "30s").await;
    let _w = docker_worker(cluster.addr, &unique("mlebench"), 2);
    let mut client = control(cluster.addr).await;
    let expected_accuracy = (share_of_false(&i) * 1e5).round() / 1e5;
    let native = native_leaf_log_loss(&i);
    let mut jobs = Vec::new();
    for case in cases() {
        let job = client
            .submit_eval(pb::SubmitEvalRequest {
                task_dir: i.location(case.competition),
                code: full_program(&case),
                requirements: Some(pb::JobRequirements {
                    gpus: 0,
                    cpu_millis: 1000,
                    memory_bytes: 512 << 20,
                    timeout_ms: 60_000,
                }),
                max_attempts: 0,
            })
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name))
            .into_inner()
            .job_id;
        jobs.push((case, job));
    }
    let mut wrong = Vec::new();
    for (case, job) in jobs {
        let r = wait_end(&mut client, &job, Duration::from_secs(300)).await;
        let g = r
            .grade
            .unwrap_or_else(|| panic!("{}: no grade: {}", case.name, r.error));
        match (&case.expect, g.valid_submission) {
            (Ok(expected), true) => {
                let want = match expected {
                    Expected::SampleAccuracy => expected_accuracy,
                    Expected::NativeLogLoss => (native * 1e5).round() / 1e5,
                };
                if g.test_score != Some(want) {
                    wrong.push(format!(
                        "{}: score {:?}, want {want}",
                        case.name, g.test_score
                    ));
                }
                if !g.is_lower_better && case.competition == "toy-leaf" {
                    wrong.push(format!("{}: log-loss is lower-better", case.name));
                }
            }
            (Err(reason), false) if g.invalid_reason.contains(reason) => {}
            _ => wrong.push(format!(
                "{}: valid {} ({:?}), expected {}",
                case.name,
                g.valid_submission,
                g.invalid_reason,
                match &case.expect {
                    Ok(_) => "valid".to_owned(),
                    Err(r) => format!("invalid with {r:?}"),
                }
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_sweep_runs_a_split_of_the_install_and_names_the_fix_for_what_cannot_load() {
    let i = install();
    let home = tempfile::tempdir_in("/tmp").unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let sweep = |name: &str, tasks: &str| -> PathBuf {
        let path = home.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                r#"
name = "{name}"
tasks = [{tasks}]
policies = ["greedy"]
seeds = [0]
[budget]
max_nodes = 2
node_timeout = "2m"
[policy.greedy]
num_drafts = 2
[mlebench]
repo = "{}"
data_dir = "{}"
"#,
                i.repo.display(),
                i.data_dir.display()
            ),
        )
        .unwrap();
        path
    };
    let run = |file: &PathBuf| {
        Command::new(BIN)
            .arg("run")
            .arg(file)
            .args(["--json", "--image", runtime_image()])
            .env("RANDORI_HOME", home.path())
            .env_remove("RANDORI_COORDINATOR")
            .env_remove("MLEBENCH_REPO")
            .env_remove("MLEBENCH_DATA_DIR")
            .output()
            .expect("running randori run")
    };

    let unknown = run(&sweep("unknown", r#""mlebench:nope""#));
    assert!(!unknown.status.success());
    let e = text(&unknown.stderr);
    assert!(
        e.contains("tasks[0]: no competition or split \"nope\""),
        "{e}"
    );

    let broken = run(&sweep("broken", r#""mlebench:dev""#));
    assert!(!broken.status.success());
    let e = text(&broken.stderr);
    assert!(
        e.contains("git lfs pull") || e.contains("mlebench prepare -c toy-unprepared"),
        "{e}"
    );

    // The lite split and one of its ids again: two runs, one per competition.
    let out = run(&sweep("lite", r#""mlebench:lite", "mlebench:toy-leaf""#));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(report["sweep"]["state"], "completed", "{report:#}");
    let runs = report["runs"].as_array().unwrap();
    let mut tasks: Vec<&str> = runs.iter().map(|r| r["task"].as_str().unwrap()).collect();
    tasks.sort();
    assert_eq!(tasks, ["toy-leaf", "toy-spaceship"], "{report:#}");
    for run in runs {
        assert_eq!(
            (&run["state"], &run["nodes"]),
            (&"completed".into(), &2.into())
        );
    }
}
