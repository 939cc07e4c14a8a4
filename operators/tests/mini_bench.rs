//! The builtin generator's programs, run for real: for every mini-bench task, two drafts, an
//! improvement and a crossover run in the runtime image under the node sandbox's flags, and
//! their submissions are graded by the coordinator's own grader. Also: a broken variant fails
//! and its Debug child succeeds, and thousands of variants (every operator, other graders on
//! the same data) compile in the image.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use randori_coordinator::tasks::Task;
use randori_grading::metrics::Metric;
use randori_grading::report::Grade;
use randori_operators::builtin::{
    DataPreview, Failure, Generator, GeneratorConfig, Params, Program,
};

const PROGRAM_TIMEOUT: Duration = Duration::from_secs(300);
/// Docker jobs at once: the machine has 2 cores and each job gets one.
const PARALLEL: usize = 2;

fn mini_tasks() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tasks/mini");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("config.yaml").is_file())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 8, "the mini-bench has 8 tasks");
    dirs
}

fn header(path: &Path) -> Vec<String> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    r.headers().unwrap().iter().map(str::to_owned).collect()
}

/// The preview the coordinator computes from a task's public files.
fn preview(task: &Task) -> DataPreview {
    let public = &task.public_dir;
    let sample = header(&task.sample_submission);
    let mut files: Vec<String> = std::fs::read_dir(public)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect();
    files.sort();
    DataPreview {
        task_id: task.id.clone(),
        grader: task.grader_name.clone(),
        id_column: sample[0].clone(),
        target_columns: sample[1..].to_vec(),
        train_columns: header(&public.join("train.csv")),
        test_columns: header(&public.join("test.csv")),
        files,
        lower_is_better: Metric::from_grader_name(&task.grader_name)
            .is_some_and(Metric::lower_is_better),
    }
}

/// RANDORI_RUNTIME_IMAGE, else the newest runtime image that has Pillow.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(|| {
        if let Ok(image) = std::env::var("RANDORI_RUNTIME_IMAGE") {
            return image;
        }
        let out = Command::new("docker")
            .args([
                "images",
                "--filter",
                "label=org.opencontainers.image.title=randori-runtime",
            ])
            .args(["--format", "{{.Repository}}:{{.Tag}}"])
            .output()
            .expect(
                "docker is not installed: the mini-bench test runs programs in the runtime image",
            );
        assert!(
            out.status.success(),
            "docker images failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|image| {
                Command::new("docker")
                    .args([
                        "run",
                        "--rm",
                        "--network",
                        "none",
                        image,
                        "python3",
                        "-c",
                        "import PIL, sklearn",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            })
            .unwrap_or_else(|| {
                panic!("no randori-runtime image with Pillow: run `cargo run -- image build`")
            })
            .to_owned()
    })
}

/// A counting semaphore, so that all tests of this file together run at most PARALLEL jobs.
static SLOTS: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

fn with_slot<T>(f: impl FnOnce() -> T) -> T {
    let (busy, freed) = &SLOTS;
    let mut n = freed
        .wait_while(busy.lock().unwrap(), |n| *n >= PARALLEL)
        .unwrap();
    *n += 1;
    drop(n);
    let out = f();
    *busy.lock().unwrap() -= 1;
    freed.notify_one();
    out
}

struct Run {
    exit_code: Option<i32>,
    timed_out: bool,
    stdout: String,
    stderr: String,
    submission: Option<Vec<u8>>,
    secs: f64,
}

fn scratch() -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("randori-ops-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    d
}

/// Runs a program as the node sandbox does.
fn run(task: &Task, code: &str) -> Run {
    let (code_dir, sub_dir, work_dir) = (scratch(), scratch(), scratch());
    std::fs::write(code_dir.path().join("solution.py"), code).unwrap();
    let mount = |host: &Path, inside: &str| format!("{}:{inside}", host.display());
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "randori-ops-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    with_slot(|| {
        let start = Instant::now();
        let mut child = Command::new("docker")
            .args([
                "run",
                "--rm",
                "--name",
                &name,
                "--network",
                "none",
                "--read-only",
                "--tmpfs",
                "/tmp",
            ])
            .args([
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
                "--user",
                "10001:10001",
            ])
            .args(["--memory", "2g", "--cpus", "1", "-e", "OMP_NUM_THREADS=1"])
            .args([
                "-v",
                &format!("{}:ro", mount(&task.public_dir, "/home/data")),
            ])
            .args([
                "-v",
                &format!("{}:ro", mount(code_dir.path(), "/home/code")),
            ])
            .args(["-v", &mount(sub_dir.path(), "/home/submission")])
            .args([
                "-v",
                &mount(work_dir.path(), "/home/work"),
                "-w",
                "/home/work",
            ])
            .args([image(), "python3", "/home/code/solution.py"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("docker run");
        // Read the pipes on threads so that a chatty program cannot block on a full pipe.
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let out = std::thread::spawn(move || std::io::read_to_string(&mut out).unwrap_or_default());
        let err = std::thread::spawn(move || std::io::read_to_string(&mut err).unwrap_or_default());
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if !timed_out && start.elapsed() > PROGRAM_TIMEOUT {
                timed_out = true;
                let _ = Command::new("docker")
                    .args(["kill", &name])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        Run {
            exit_code: status.code(),
            timed_out,
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
            submission: std::fs::read(sub_dir.path().join("submission.csv")).ok(),
            secs: start.elapsed().as_secs_f64(),
        }
    })
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// What the sandbox and the grader would tell Debug.
fn failure(run: &Run, grade: &Grade) -> Failure {
    Failure {
        exit_code: run.exit_code,
        timed_out: run.timed_out,
        oom_killed: false,
        stderr_tail: tail(&run.stderr, 20),
        invalid_reason: grade.invalid_reason.clone(),
    }
}

/// Why a run does not meet the contract, if it does not.
fn problems(task: &Task, run: &Run, grade: &Grade) -> Vec<String> {
    let mut p = Vec::new();
    if run.exit_code != Some(0) {
        p.push(format!(
            "exit {:?} (timed out: {}); stderr:\n{}",
            run.exit_code,
            run.timed_out,
            tail(&run.stderr, 15)
        ));
    }
    match &run.submission {
        None => p.push("no submission.csv".into()),
        Some(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            let sample = std::fs::read_to_string(&task.sample_submission).unwrap();
            if text.lines().next() != sample.lines().next() {
                p.push(format!(
                    "header {:?} is not the sample's {:?}",
                    text.lines().next(),
                    sample.lines().next()
                ));
            }
            if text.lines().count() != sample.lines().count() {
                p.push(format!(
                    "{} lines, the sample has {}",
                    text.lines().count(),
                    sample.lines().count()
                ));
            }
        }
    }
    let last = run
        .stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let printed = last
        .strip_prefix("randori:metric=")
        .and_then(|v| v.trim().parse::<f64>().ok());
    if !printed.is_some_and(f64::is_finite) {
        p.push(format!(
            "last stdout line {last:?} is not randori:metric=<finite float>"
        ));
    }
    if !grade.report.valid_submission || grade.report.score.is_none() {
        p.push(format!("invalid submission: {:?}", grade.invalid_reason));
    }
    p
}

struct Job {
    task: usize,
    what: &'static str,
    program: Program,
}

#[test]
fn builtin_programs_run_in_the_sandbox_and_grade_on_every_mini_task() {
    let started = Instant::now();
    let tasks: Vec<Task> = mini_tasks()
        .iter()
        .map(|d| Task::load(d).unwrap())
        .collect();
    let g = Generator::new(GeneratorConfig { broken_rate: 0.0 });
    let mut jobs = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let p = preview(task);
        let a = g.draft(&p, 0).unwrap();
        let b = g.draft(&p, 1).unwrap();
        let improved = g.improve(&p, &a.code, 2).unwrap();
        let crossed = g.crossover(&p, &a.code, &b.code, 3).unwrap();
        for (what, program) in [
            ("draft 0", a),
            ("draft 1", b),
            ("improve", improved),
            ("crossover", crossed),
        ] {
            jobs.push(Job {
                task: i,
                what,
                program,
            });
        }
    }
    let graders: Vec<_> = tasks.iter().map(|t| t.grader().unwrap()).collect();
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|j| s.spawn(|| run(&tasks[j.task], &j.program.code)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    println!(
        "\n{:<20} {:<9} {:<62} {:>9} {:>9} {:>9} {:<7} {:>6}",
        "task", "program", "params", "cv", "val", "test", "medal", "secs"
    );
    for (job, run) in jobs.iter().zip(&runs) {
        let task = &tasks[job.task];
        let grade = graders[job.task].grade(run.submission.as_deref(), &run.stdout);
        let cv = run
            .stdout
            .lines()
            .last()
            .and_then(|l| l.strip_prefix("randori:metric="))
            .unwrap_or("-");
        let summary = Params::from_code(&job.program.code).unwrap().summary();
        let num = |x: Option<f64>| x.map_or("-".to_owned(), |x| format!("{x:.5}"));
        println!(
            "{:<20} {:<9} {:<62} {:>9} {:>9} {:>9} {:<7} {:>6.1}",
            task.id,
            job.what,
            summary,
            &cv[..cv.len().min(9)],
            num(grade.val_score),
            num(grade.report.score),
            grade.report.medal.as_str(),
            run.secs
        );
        for problem in problems(task, run, &grade) {
            failures.push(format!(
                "{} {}: {problem}\nplan: {}",
                task.id, job.what, job.program.plan
            ));
        }
    }
    println!(
        "{} programs in {:.0}s",
        runs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} programs broke the contract:\n\n{}",
        failures.len(),
        runs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_broken_variant_fails_and_its_debug_child_succeeds() {
    let dir = mini_tasks()
        .into_iter()
        .find(|d| d.ends_with("forest-cover"))
        .unwrap();
    let task = Task::load(&dir).unwrap();
    let grader = task.grader().unwrap();
    let p = preview(&task);
    let broken = Generator::new(GeneratorConfig { broken_rate: 1.0 })
        .draft(&p, 0)
        .unwrap();
    let bug = Params::from_code(&broken.code)
        .unwrap()
        .bug
        .expect("broken_rate 1 injects a bug");
    let run1 = run(&task, &broken.code);
    let grade1 = grader.grade(run1.submission.as_deref(), &run1.stdout);
    assert!(
        !problems(&task, &run1, &grade1).is_empty(),
        "the {bug:?} variant ran cleanly"
    );
    let fixed = Generator::default()
        .debug(&p, &broken.code, &failure(&run1, &grade1), 0)
        .unwrap();
    assert!(
        fixed.plan.starts_with("Debug: the program"),
        "Debug did not recognise {bug:?}: {}",
        fixed.plan
    );
    let run2 = run(&task, &fixed.code);
    let grade2 = grader.grade(run2.submission.as_deref(), &run2.stdout);
    let problems = problems(&task, &run2, &grade2);
    assert!(
        problems.is_empty(),
        "the debugged program failed: {problems:?}\nplan: {}",
        fixed.plan
    );
    println!(
        "{bug:?}: {} → test score {:?}",
        fixed.plan, grade2.report.score
    );
}

/// Every grader the mini-bench's data can stand in for, beyond each task's own.
const OTHER_GRADERS: [(&str, &str); 8] = [
    ("forest-cover", "macro-f1"),
    ("forest-cover", "quadratic-weighted-kappa"),
    ("binary-interactions", "log-loss"),
    ("taxi-fare", "mean-absolute-error"),
    ("message-tags", "log-loss"),
    ("spooky-authors", "auc-roc"),
    ("leaf-species", "mean-column-wise-roc-auc"),
    ("conductors", "root-mean-squared-error"),
];

#[test]
fn many_variants_of_every_kind_compile_in_the_runtime_image() {
    let mut previews: Vec<DataPreview> = mini_tasks()
        .iter()
        .map(|d| preview(&Task::load(d).unwrap()))
        .collect();
    for (id, grader) in OTHER_GRADERS {
        let mut p = previews.iter().find(|p| p.task_id == id).unwrap().clone();
        p.grader = grader.into();
        previews.push(p);
    }
    let dir = scratch();
    let (clean, broken) = (
        Generator::new(GeneratorConfig { broken_rate: 0.0 }),
        Generator::new(GeneratorConfig { broken_rate: 1.0 }),
    );
    let mut n = 0;
    for p in &previews {
        for seed in 0..25 {
            let a = clean.draft(p, seed).unwrap();
            let b = broken.draft(p, seed + 100).unwrap();
            let timeout = Failure {
                timed_out: true,
                ..Failure::default()
            };
            for prog in [
                clean.improve(p, &a.code, seed).unwrap(),
                clean.crossover(p, &a.code, &b.code, seed).unwrap(),
                clean.debug(p, &b.code, &timeout, seed).unwrap(),
                a,
                b,
            ] {
                std::fs::write(dir.path().join(format!("p{n}.py")), prog.code).unwrap();
                n += 1;
            }
        }
    }
    let out = with_slot(|| {
        Command::new("docker")
            .args(["run", "--rm", "--network", "none", "--read-only", "--user", "10001:10001"])
            .args(["-v", &format!("{}:/home/code:ro", dir.path().display()), image()])
            .args(["python3", "-c", "import glob\nfor f in sorted(glob.glob('/home/code/*.py')):\n    compile(open(f).read(), f, 'exec')\nprint('compiled', len(glob.glob('/home/code/*.py')))"])
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "a variant does not compile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.trim(), format!("compiled {n}"));
}
