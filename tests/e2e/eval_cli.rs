//! `randori eval` as a user runs it: a private stack, one program, the JSON on stdout.

use std::process::Command;

use crate::harness::{BIN, fixture, runtime_image, toy_task};

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

#[test]
fn eval_runs_a_sound_program_on_a_private_stack() {
    let home = tempfile::tempdir_in("/tmp").unwrap();
    let task = toy_task();
    let code = fixture("programs/sound.py");
    let out = eval(
        &[
            "--task",
            task.to_str().unwrap(),
            "--code",
            code.to_str().unwrap(),
            "--image",
            runtime_image(),
            "--json",
        ],
        home.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "eval failed: {stderr}");
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    assert_eq!(v["status"], "ok", "{v}");
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
        "import sys\nprint('about to fail', file=sys.stderr)\nraise SystemExit(3)\n",
    )
    .unwrap();
    let task = toy_task();
    let out = eval(
        &[
            "--task",
            task.to_str().unwrap(),
            "--code",
            code.to_str().unwrap(),
            "--image",
            runtime_image(),
            "--json",
        ],
        home.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "buggy");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["submission_exists"], false);
    assert!(v["stderr_tail"].as_str().unwrap().contains("about to fail"));
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
            "task directory /nonexistent/task does not exist",
        ),
        (
            &[
                "--task",
                home.path().to_str().unwrap(),
                "--code",
                code.to_str().unwrap(),
            ],
            "is not a task directory",
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
            "is not a memory size",
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
