//! Grading at the coordinator, where the private answers are: task graders loaded once per
//! task directory and kept, and a node's grade computed from its submission and output. A task
//! whose grader has no Rust metric is scored by its own `grade.py` in a container of its own,
//! with the answers mounted there and nowhere else.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use randori_grading::report::TaskGrader;
use randori_grading::table::Table;

use crate::model::NodeGrade;
use crate::tasks::{Task, TaskError};

/// A loaded task: its description and public data for dispatch, its grader for results.
pub struct LoadedTask {
    pub task: Task,
    pub grader: TaskGrader,
}

#[derive(Clone)]
pub struct Graders {
    loaded: Arc<Mutex<HashMap<PathBuf, Arc<LoadedTask>>>>,
    /// The image external grading programs run in.
    image: String,
}

impl Graders {
    pub fn new(image: String) -> Self {
        Self {
            loaded: Arc::default(),
            image,
        }
    }

    /// The task at `dir`, loaded and checked on first use (blocking: call off the runtime).
    pub fn task(&self, dir: &Path) -> Result<Arc<LoadedTask>, TaskError> {
        if let Some(t) = self.loaded.lock().unwrap().get(dir) {
            return Ok(t.clone());
        }
        let task = Task::load(dir)?;
        let grader = task.grader()?;
        let loaded = Arc::new(LoadedTask { task, grader });
        self.loaded
            .lock()
            .unwrap()
            .insert(dir.to_owned(), loaded.clone());
        Ok(loaded)
    }

    /// Grades a node's submission (blocking); None when its task can no longer be loaded.
    pub fn grade(
        &self,
        task_dir: &Path,
        submission: Option<&[u8]>,
        stdout_tail: &str,
    ) -> Option<NodeGrade> {
        let loaded = match self.task(task_dir) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "cannot grade: the task does not load");
                return None;
            }
        };
        let external =
            |rows: &[u8], answers: &Table| self.run_grade_program(&loaded.task, rows, answers);
        Some(NodeGrade::from(&loaded.grader.grade_with(
            submission,
            stdout_tail,
            &external,
        )))
    }

    /// Runs the task's `grade.py` on `rows` against `answers` in a locked-down container.
    fn run_grade_program(&self, task: &Task, rows: &[u8], answers: &Table) -> Result<f64, String> {
        let program = task
            .grade_program
            .as_ref()
            .ok_or("the task has no grade.py")?;
        let dir = tempfile::Builder::new()
            .prefix("randori-grade-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, String> {
            let path = dir.path().join(name);
            let mut f = std::fs::File::create(&path).map_err(|e| e.to_string())?;
            f.write_all(bytes).map_err(|e| e.to_string())?;
            Ok(path)
        };
        let submission = write("submission.csv", rows)?;
        let answers = write("answers.csv", &table_csv(answers)?)?;
        let mount = |host: &Path, inside: &str| format!("{}:{inside}:ro", host.display());
        // Files written as root must stay readable by the container's unprivileged user.
        let _ = Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(dir.path())
            .status();
        let out = Command::new("timeout")
            .args([
                "-s",
                "KILL",
                "600",
                "docker",
                "run",
                "--rm",
                "--network",
                "none",
            ])
            .args([
                "--read-only",
                "--cap-drop",
                "ALL",
                "--security-opt",
                "no-new-privileges",
            ])
            .args([
                "--user",
                "10001:10001",
                "--memory",
                "4g",
                "--pids-limit",
                "256",
            ])
            .args(["--tmpfs", "/tmp", "--log-driver", "none", "-i"])
            .args(["-v", &mount(&submission, "/home/grading/submission.csv")])
            .args(["-v", &mount(&answers, "/home/grading/answers.csv")])
            .args(["-v", &mount(program, "/home/grading/grade.py")])
            .args([&self.image, "python3", "-c", GRADE_DRIVER])
            .output()
            .map_err(|e| format!("running docker: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            return Err(format!("grade.py failed ({}): {tail}", out.status));
        }
        stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("grade.py printed no score: {stdout:?}"))
    }
}

/// Calls MLE-bench's `grade(submission, answers) -> float` and prints the score last.
const GRADE_DRIVER: &str = "\
import importlib.util, pandas as pd
spec = importlib.util.spec_from_file_location('grade', '/home/grading/grade.py')
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sub = pd.read_csv('/home/grading/submission.csv')
ans = pd.read_csv('/home/grading/answers.csv')
print(repr(float(module.grade(sub, ans))))
";

fn table_csv(t: &Table) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&t.header).map_err(|e| e.to_string())?;
    for r in &t.rows {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    w.into_inner().map_err(|e| e.to_string())
}
