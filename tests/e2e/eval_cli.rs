//! `randori eval` as a user runs it: a private stack, one program, the JSON on stdout.

use std::path::Path;
use std::process::Command;

use crate::harness::{BIN, fixture, repo_root, runtime_image, toy_task};

fn eval(args: &[&str], home: &std::path::Path) -> std::process::Output {
    // The private Postgres runs as an unprivileged user, who must reach RANDORI_HOME.
    std::fs::set_permissions(home, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    Command::new(BIN)
        .arg("eval")
        .args(args)
        .env("RANDORI_HOME", home)
        .env_remove("RANDORI_COORDINATOR")
        .output()
        .expect("running randori eval")
}

/// Runs `randori eval --json` on a private stack under `home`; the program must have run.
fn eval_json(task: &Path, code: &Path, home: &Path) -> serde_json::Value {
    let (task, code) = (task.to_str().unwrap(), code.to_str().unwrap());
    let out = eval(
        &[
            "--task",
            task,
            "--code",
            code,
            "--image",
            runtime_image(),
            "--json",
        ],
        home,
    );
    assert!(
        out.status.success(),
        "eval failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn eval_runs_a_sound_program_on_a_private_stack() {
    let home = tempfile::tempdir_in("/tmp").unwrap();
    let task = toy_task();
    let code = fixture("programs/sound.py");
    let v = eval_json(&task, &code, home.path());
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["graded_by"], "native", "{v}");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["timed_out"], false);
    assert_eq!(v["oom_killed"], false);
    assert_eq!(v["submission_exists"], true);
    assert_eq!(v["sandbox"], "docker");
    assert!(
        v["stdout_tail"]
            .as_str()
            .unwrap()
            .contains("randori:metric="),
        "{v}"
    );
    assert!(v["duration_ms"].as_u64().unwrap() > 0);
    for key in [
        "node_id",
        "peak_memory_bytes",
        "stderr_tail",
        "valid_submission",
        "val_score",
        "test_score",
        "medal",
        "above_median",
        "thresholds",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    // The private Postgres keeps its data in RANDORI_HOME, and is stopped afterwards.
    let pg = home.path().join("postgres");
    assert!(
        pg.join("PG_VERSION").is_file(),
        "no database under RANDORI_HOME"
    );
    assert!(
        !pg.join("postmaster.pid").exists(),
        "the private PostgreSQL is still running"
    );
}

#[test]
fn eval_of_a_crashing_program_reports_buggy_and_exits_zero() {
    let home = tempfile::tempdir_in("/tmp").unwrap();
    let code = home.path().join("crash.py");
    std::fs::write(
        &code,
        "import sys\nprint('about to fail', file=sys.stderr)\n\
         print('\\x1b]0;pwned\\x07\\x1b[2Jgone', file=sys.stderr)\nraise SystemExit(3)\n",
    )
    .unwrap();
    let task = toy_task();
    let v = eval_json(&task, &code, home.path());
    assert_eq!(v["status"], "buggy");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["submission_exists"], false);
    assert_eq!(v["valid_submission"], false);
    assert_eq!(v["test_score"], serde_json::Value::Null);
    assert_eq!(v["medal"], "none");
    let stderr = v["stderr_tail"].as_str().unwrap();
    assert!(stderr.contains("about to fail"));
    // JSON stays exact; the text view shows the program's escape sequences instead of
    // obeying them.
    assert!(stderr.contains("\x1b]0;pwned\x07\x1b[2Jgone"), "{stderr:?}");
    let (task, code) = (task.to_str().unwrap(), code.to_str().unwrap());
    let out = eval(
        &["--task", task, "--code", code, "--image", runtime_image()],
        home.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\\x1b]0;pwned\\x07\\x1b[2Jgone") && !text.contains('\x1b'),
        "{text:?}"
    );
}

#[test]
fn eval_errors_are_one_clear_line() {
    let home = tempfile::tempdir_in("/tmp").unwrap();
    let code = fixture("programs/sound.py");
    let task = toy_task();
    let task = task.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--task",
                "/nonexistent/task",
                "--code",
                code.to_str().unwrap(),
            ],
            "/nonexistent/task: cannot open the task directory",
        ),
        (
            &[
                "--task",
                home.path().to_str().unwrap(),
                "--code",
                code.to_str().unwrap(),
            ],
            "config.yaml: No such file",
        ),
        (
            &["--task", task, "--code", "/nonexistent.py"],
            "reading the program /nonexistent.py",
        ),
        (
            &[
                "--task",
                task,
                "--code",
                code.to_str().unwrap(),
                "--memory",
                "lots",
            ],
            "is not a size",
        ),
        (
            &[
                "--task",
                task,
                "--code",
                code.to_str().unwrap(),
                "--coordinator",
                "http://127.0.0.1:1",
            ],
            "cannot reach the coordinator at http://127.0.0.1:1",
        ),
    ];
    for (args, want) in cases {
        let out = eval(args, home.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
            "{stderr}"
        );
    }
}

#[test]
fn a_task_without_a_rust_metric_is_graded_by_its_own_program() {
    let home = tempfile::tempdir_in("/tmp").unwrap();
    let task = fixture("tasks/toy-custom-grader");
    let code = home.path().join("zeros.py");
    std::fs::write(
        &code,
        "import pandas as pd\ns = pd.read_csv('/home/data/sample_submission.csv')\ns['y'] = 0.0\ns.to_csv('/home/submission/submission.csv', index=False)\nprint('randori:metric=1.0')\n",
    )
    .unwrap();
    let v = eval_json(&task, &code, home.path());
    // The median of |y| over the private answers, computed here independently.
    let answers = std::fs::read_to_string(task.join("prepared/private/test.csv")).unwrap();
    let mut ys: Vec<f64> = answers
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<f64>().unwrap().abs())
        .collect();
    ys.sort_by(f64::total_cmp);
    let median = (ys[ys.len() / 2 - 1] + ys[ys.len() / 2]) / 2.0;
    let got = v["test_score"].as_f64().unwrap_or_else(|| panic!("{v}"));
    assert!(
        (got - median).abs() < 1e-5,
        "grade.py scored {got}, expected {median}"
    );
    assert_eq!(v["valid_submission"], true);
    assert_eq!(v["val_score"], 1.0);
    assert_eq!(v["graded_by"], "grade.py");
}

#[test]
fn task_list_and_validate() {
    let run = |args: &[&str]| Command::new(BIN).arg("task").args(args).output().unwrap();
    let mini = repo_root().join("tasks/mini");
    let out = run(&["list", mini.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.lines().count() > 8,
        "a header and at least 8 tasks:\n{listed}"
    );
    assert!(
        listed
            .lines()
            .skip(1)
            .all(|l| l.contains(" yes ") && l.contains(" native: ")),
        "hidden validation, graded natively:\n{listed}"
    );

    let toy = toy_task();
    let out = run(&["validate", toy.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: toy-regression"));

    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("config.yaml"), "id: broken\n").unwrap();
    let out = run(&["validate", broken.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("config.yaml: missing field `dataset`"),
        "{stderr}"
    );
}
