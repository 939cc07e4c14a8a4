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

/// The grading image's tag, as `randori image tag --grading` prints it.
fn grading_image() -> String {
    let out = Command::new(BIN)
        .args(["image", "tag", "--grading"])
        .output()
        .unwrap();
    text(&out.stdout).trim().to_owned()
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
        row("toy-spaceship")[3..5],
        [
            "mlebench:",
            "mlebench.competitions.toy-spaceship.grade:grade"
        ]
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

/// One evaluation of `code` on the task at `task_dir`: 1 CPU, 512 MiB, 60 s.
fn eval_request(task_dir: String, code: String) -> pb::SubmitEvalRequest {
    pb::SubmitEvalRequest {
        task_dir,
        code,
        requirements: Some(pb::JobRequirements {
            gpus: 0,
            cpu_millis: 1000,
            memory_bytes: 512 << 20,
            timeout_ms: 60_000,
            disk_bytes: 1 << 30,
            image: String::new(),
        }),
        max_attempts: 0,
    }
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
            .submit_eval(eval_request(
                i.location(case.competition),
                full_program(&case),
            ))
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
        if g.graded_by != "mlebench" {
            wrong.push(format!("{}: graded by {:?}", case.name, g.graded_by));
        }
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
    let export = home.path().join("export");
    let run = |file: &PathBuf| {
        Command::new(BIN)
            .arg("run")
            .arg(file)
            .args(["--json", "--image", runtime_image(), "--export-mlebench"])
            .arg(&export)
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
    assert_eq!(report["mlebench"]["totals"]["total_runs"], 2);
    assert_eq!(report["mlebench"]["medal_rates"][0]["competitions"], 2);
    check_export(&export, &report, &i);
}

/// The export of a finished sweep: one JSONL line per run naming a file that holds the
/// selected node's submission, randori's grades of them whose totals are the report's, and,
/// graded again the way `mlebench grade --submission` does (each file read with pandas and
/// handed to its competition's grade function, in the grading image, without randori), the
/// same validity and score for every file.
fn check_export(dir: &std::path::Path, report: &serde_json::Value, i: &Install) {
    let jsonl = std::fs::read_to_string(dir.join("submissions.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{jsonl}");
    for line in &lines {
        let path = line["submission_path"].as_str().expect("a submission path");
        assert!(std::path::Path::new(path).is_file(), "{path}");
    }
    let grades: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("randori_grades.json")).unwrap()).unwrap();
    for (key, value) in report["mlebench"]["totals"].as_object().unwrap() {
        assert_eq!(&grades[key], value, "{key}");
    }
    let grading_image = grading_image();
    let out = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--user", "10001:10001"])
        .arg("-v")
        .arg(format!("{}:/repo:ro", i.repo.display()))
        .arg("-v")
        .arg(format!("{}:/data:ro", i.data_dir.display()))
        .arg("-v")
        .arg(format!("{}:{}:ro", dir.display(), dir.display()))
        .args([&grading_image, "python3", "-c", REGRADE])
        .arg(dir.join("submissions.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let regraded: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let reports = grades["competition_reports"].as_array().unwrap();
    assert_eq!(regraded.len(), reports.len());
    for (again, ours) in regraded.iter().zip(reports) {
        assert_eq!(again["competition_id"], ours["competition_id"]);
        assert_eq!(again["score"], ours["score"], "{ours}");
        assert_eq!(
            again["valid_submission"], ours["valid_submission"],
            "{ours}"
        );
    }
}

/// `mlebench grade --submission`'s loop over a JSONL, written for this test: a path that is a
/// `.csv` file is read with `read_csv(float_precision="round_trip")` and graded by the
/// competition's `grade_fn` against the answers its config names; an exception means invalid.
const REGRADE: &str = r#"
import importlib, json, os, sys, yaml
import pandas as pd
sys.path.insert(0, "/repo")
for line in open(sys.argv[1]):
    entry = json.loads(line)
    cid, path = entry["competition_id"], str(entry["submission_path"])
    config = yaml.safe_load(open(f"/repo/mlebench/competitions/{cid}/config.yaml"))
    module, name = config["grader"]["grade_fn"].split(":")
    grade = getattr(importlib.import_module(module), name)
    score = None
    if os.path.isfile(path) and path.lower().endswith(".csv"):
        answers = pd.read_csv("/data/" + config["dataset"]["answers"], float_precision="round_trip")
        try:
            score = round(grade(pd.read_csv(path, float_precision="round_trip"), answers), 5)
        except Exception:
            score = None
    print(json.dumps({"competition_id": cid, "score": None if score is None else float(score),
                      "valid_submission": score is not None}))
"#;

/// A warm grading server grades every submission exactly as a freshly started one does (its
/// answers are copied for each grade, so a grade cannot change the next one), and the time of
/// each path is printed: cold = a new server for the one grade, warm = a server already up.
#[test]
fn a_warm_grading_server_grades_as_a_fresh_one_and_says_how_much_faster() {
    use randori_coordinator::grading::Graders;
    let i = install();
    let image = grading_image();
    let public =
        |id: &str, file: &str| std::fs::read(i.prepared_dir(id).join("public").join(file)).unwrap();
    let leaf_sample = public("toy-leaf", "sample_submission.csv");
    // Every row's first probability raised to 0.9: the rows no longer sum to 1.
    let leaf_unsummed: String = String::from_utf8(leaf_sample.clone())
        .unwrap()
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let mut cells: Vec<&str> = line.split(',').collect();
            if n > 0 {
                cells[1] = "0.9";
            }
            cells.join(",") + "\n"
        })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("toy-leaf", leaf_sample),
        ("toy-leaf", leaf_unsummed.into_bytes()),
        ("toy-leaf", Vec::new()),
        ("toy-leaf", b"\"unclosed\n".to_vec()),
        (
            "toy-spaceship",
            public("toy-spaceship", "sample_submission.csv"),
        ),
    ];
    let warm = Graders::new(image.clone());
    let (mut cold_ms, mut warm_ms) = (Vec::new(), Vec::new());
    for (id, submission) in &cases {
        let task = std::path::PathBuf::from(i.location(id));
        let timed = |graders: &Graders| {
            let started = std::time::Instant::now();
            let grade = graders
                .grade(&task, Some(submission), "")
                .expect("the task loads");
            (grade, started.elapsed().as_secs_f64() * 1e3)
        };
        // Loading the task is not grading: done once for each set of graders beforehand.
        let cold_graders = Graders::new(image.clone());
        cold_graders.task(&task).unwrap();
        warm.task(&task).unwrap();
        let (cold, cold_time) = timed(&cold_graders);
        let _ = timed(&warm); // starts the competition's server if it is not up yet
        let (again, warm_time) = timed(&warm);
        let (third, _) = timed(&warm);
        assert_eq!(cold.graded_by, "mlebench");
        assert_eq!(again, cold, "{id}: warm and cold grades differ");
        assert_eq!(third, cold, "{id}: a second warm grade differs");
        cold_ms.push(cold_time);
        warm_ms.push(warm_time);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (cold, warm) = (median(&mut cold_ms), median(&mut warm_ms));
    println!(
        "competition grading per node: cold (new server) median {cold:.0} ms, warm median \
         {warm:.0} ms ({:.1}x faster) over {} submissions",
        cold / warm,
        cases.len()
    );
}

/// Hidden validation on a competition of the install (a copy of the fixture's data directory,
/// since carving writes beside the prepared data): the carved rows leave train.csv and join
/// test.csv and the sample; a node's validation score is the competition's own grade of its
/// carved rows and its test score that of the other rows, each as an independent computation
/// here says; a file without the carved rows has a valid test side and no validation score;
/// a competition whose answers are not columns of train.csv is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_validation_grades_the_carved_rows_by_the_competitions_own_rules() {
    use randori_coordinator::hidden_validation::is_carved;
    let fixture = install();
    let data = tempfile::tempdir_in("/tmp").unwrap();
    let copied = Command::new("cp")
        .arg("-r")
        .arg(fixture.data_dir.join("."))
        .arg(data.path())
        .status()
        .unwrap();
    assert!(copied.success());
    let i = Install::new(&fixture.repo, data.path()).unwrap();
    let fraction = 0.25;

    // The carved ids and the share of False among their answers, from train.csv.
    let train =
        std::fs::read_to_string(i.prepared_dir("toy-spaceship").join("public/train.csv")).unwrap();
    let carved: Vec<(String, String)> = train
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_owned(), cells[3].to_owned())
        })
        .filter(|(id, _)| is_carved(id, fraction))
        .collect();
    assert!(carved.len() > 10, "{} carved rows", carved.len());
    let val_false =
        carved.iter().filter(|(_, t)| t == "False").count() as f64 / carved.len() as f64;

    let cluster = cluster("mlebench-hidden", "30s").await;
    let _w = docker_worker(cluster.addr, &unique("hidden"), 2);
    let mut client = control(cluster.addr).await;
    let submit = |code: &str| {
        eval_request(
            i.location_with("toy-spaceship", Some(fraction)),
            code.to_owned(),
        )
    };
    // What the program sees: no carved row in train.csv, every carved id in test.csv and the
    // sample; it writes the sample (all False) as its submission.
    let sees = format!(
        r#"
import pandas as pd, shutil
carved = set({:?})
train = pd.read_csv("/home/data/train.csv", dtype=str)
test = pd.read_csv("/home/data/test.csv", dtype=str)
sample = pd.read_csv("/home/data/sample_submission.csv", dtype=str)
assert not carved & set(train["PassengerId"]), "a carved row is still in train"
assert carved <= set(test["PassengerId"]) and carved <= set(sample["PassengerId"])
assert "Transported" not in test.columns
shutil.copy("/home/data/sample_submission.csv", "/home/submission/submission.csv")
"#,
        carved.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()
    );
    let whole = client
        .submit_eval(submit(&sees))
        .await
        .unwrap()
        .into_inner()
        .job_id;
    let test_only = client
        .submit_eval(submit(
            r#"
import pandas as pd
sample = pd.read_csv("/home/data/sample_submission.csv", dtype=str)
original = pd.read_csv("/home/data/test.csv", dtype=str).head(40)
sample[sample["PassengerId"].isin(original["PassengerId"])].to_csv(
    "/home/submission/submission.csv", index=False)
"#,
        ))
        .await
        .unwrap()
        .into_inner()
        .job_id;

    let round5 = |x: f64| (x * 1e5).round() / 1e5;
    let r = wait_end(&mut client, &whole, Duration::from_secs(300)).await;
    let g = r.grade.unwrap_or_else(|| panic!("no grade: {}", r.error));
    let o = r.outcome.unwrap_or_default();
    assert_eq!(o.exit_code, Some(0), "{}", text(&o.stderr_tail));
    assert_eq!(g.val_source, "hidden");
    assert_eq!(g.val_score, Some(round5(val_false)), "{g:?}");
    assert_eq!(g.test_score, Some(round5(share_of_false(&i))), "{g:?}");
    assert_eq!(
        (g.valid_submission, g.graded_by.as_str()),
        (true, "mlebench")
    );

    let r = wait_end(&mut client, &test_only, Duration::from_secs(300)).await;
    let g = r.grade.unwrap_or_else(|| panic!("no grade: {}", r.error));
    assert!(g.valid_submission, "the test side alone is valid: {g:?}");
    assert_eq!(g.test_score, Some(round5(share_of_false(&i))));
    assert_eq!(g.val_score, None);

    let e = client
        .submit_eval(pb::SubmitEvalRequest {
            task_dir: i.location_with("toy-leaf", Some(fraction)),
            ..submit("")
        })
        .await
        .unwrap_err();
    assert!(
        e.message()
            .contains("column \"Acer\" of the answers is not in train.csv"),
        "{}",
        e.message()
    );
}
