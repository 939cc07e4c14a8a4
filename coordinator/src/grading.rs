//! Grading at the coordinator, where the private answers are: task graders loaded once per
//! task directory and kept, and a node's grade computed from its submission and output. A task
//! whose grader has no Rust metric is scored by its own `grade.py` in a container of its own,
//! with the answers mounted there and nowhere else. An MLE-bench competition is scored the same
//! way by its own grade function, imported from the user's checkout, on the file as written,
//! by a grading server kept warm per competition (`server`).

mod server;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use randori_grading::report::{Answers, TaskGrader};
use randori_grading::table::Table;

use crate::model::NodeGrade;
use crate::tasks::{CompetitionGrader, Task, TaskError};

/// A loaded task: its description and public data for dispatch, its grader for results.
pub struct LoadedTask {
    pub task: Task,
    pub grader: TaskGrader,
}

/// The longest one grade may take in a grading container.
const GRADE_TIMEOUT: Duration = Duration::from_secs(600);
/// Idle competition servers kept, and for how long.
const MAX_IDLE_SERVERS: usize = 8;
const SERVER_IDLE_FOR: Duration = Duration::from_secs(300);
/// A server nobody closed (its pool is gone or never took it back) exits after this.
const SERVER_IDLE_EXIT: Duration = Duration::from_secs(900);

#[derive(Clone)]
pub struct Graders {
    loaded: Arc<Mutex<HashMap<PathBuf, Arc<LoadedTask>>>>,
    /// The image external grading programs run in.
    image: String,
    servers: Arc<server::ServerPool>,
}

impl Graders {
    pub fn new(image: String) -> Self {
        Self {
            loaded: Arc::default(),
            image,
            servers: Arc::new(server::ServerPool::new(MAX_IDLE_SERVERS, SERVER_IDLE_FOR)),
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
        let task = &loaded.task;
        let external = |rows: &[u8], answers: Answers<'_>| match &task.competition_grader {
            Some(competition) => {
                let answers_file = match answers {
                    Answers::Test(_) => Some(&task.answers),
                    Answers::Validation(_) => task.validation_answers.as_ref(),
                };
                let answers_file = answers_file.ok_or("the task has no validation answers")?;
                self.run_competition_grader(task, competition, answers_file, rows)
            }
            None => self.run_grade_program(task, rows, answers.table()),
        };
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
        let mounts = [
            (submission.as_path(), "/home/grading/submission.csv"),
            (answers.as_path(), "/home/grading/answers.csv"),
            (program.as_path(), "/home/grading/grade.py"),
        ];
        let stdout = self
            .run_grading_container(dir.path(), &mounts, &["python3", "-c", GRADE_DRIVER])
            .map_err(|e| format!("grade.py {e}"))?;
        stdout
            .lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("grade.py printed no score: {stdout:?}"))
    }

    /// Runs the competition's grade function on the submission's bytes as the agent wrote
    /// them, against `answers` (the test answers, or the hidden validation ones), with the
    /// checkout mounted read-only: what `mlebench grade`'s `grade_csv` does, returning its
    /// score (already rounded to 5 decimals) or the reason the submission is invalid. A warm
    /// server of this competition and answers grades it when one is idle; one that fails (it
    /// may have died while idle) is dropped and the next tried, ending with a fresh server,
    /// whose failure is final.
    fn run_competition_grader(
        &self,
        task: &Task,
        grader: &CompetitionGrader,
        answers: &Path,
        submission: &[u8],
    ) -> Result<f64, String> {
        let started = std::time::Instant::now();
        // The task's location names the checkout and the data; the answers file the side.
        let key = PathBuf::from(format!("{}\n{}", task.dir.display(), answers.display()));
        let (server, verdict, warm) = loop {
            let Some(mut server) = self.servers.take(&key) else {
                let mut server = self.start_competition_server(grader, answers)?;
                let verdict = server.grade(submission, GRADE_TIMEOUT)?;
                break (server, verdict, false);
            };
            match server.grade(submission, GRADE_TIMEOUT) {
                Ok(verdict) => break (server, verdict, true),
                Err(e) => {
                    tracing::warn!(task = %task.id, error = %e, "an idle grading server failed; trying another")
                }
            }
        };
        self.servers.put(&key, server);
        tracing::debug!(task = %task.id, warm, ms = started.elapsed().as_millis(), "graded");
        parse_competition_verdict(&verdict)
    }

    /// A grading server for the competition: its answers file (name kept: MLE-bench picks the
    /// reader by its suffix) and the checkout mounted read-only, nothing else.
    fn start_competition_server(
        &self,
        grader: &CompetitionGrader,
        answers: &Path,
    ) -> Result<server::Server, String> {
        let answers_name = answers
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "answers.csv".into());
        let answers_inside = format!("/home/grading/answers/{answers_name}");
        let mounts = [
            (answers, answers_inside.as_str()),
            (grader.repo.as_path(), "/home/grading/mle-bench"),
        ];
        let container = format!("randori-grader-{}", uuid::Uuid::new_v4().simple());
        // No backstop: the server lives across grades, each limited by its own watchdog.
        let mut docker = self.grading_container(&mounts, None);
        docker
            .args(["--name", &container, "--label", "randori.managed=true"])
            .arg(&self.image)
            .args([
                "python3",
                "-c",
                server::SERVER,
                &answers_inside,
                &grader.grade_fn,
                &SERVER_IDLE_EXIT.as_secs().to_string(),
            ]);
        server::Server::start(docker, container, &self.image, GRADE_TIMEOUT)
    }

    /// `command` in a locked-down container of the grading image with `mounts` (host path,
    /// path inside) read-only; its stdout, or why it failed.
    fn run_grading_container(
        &self,
        scratch: &Path,
        mounts: &[(&Path, &str)],
        command: &[&str],
    ) -> Result<String, String> {
        // Files written as root must stay readable by the container's unprivileged user.
        let _ = Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(scratch)
            .status();
        let out = self
            .grading_container(mounts, Some(GRADE_TIMEOUT))
            .arg(&self.image)
            .args(command)
            .output()
            .map_err(|e| format!("could not run docker: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if let Some(missing) = missing_image(&stderr, &self.image) {
                return Err(missing);
            }
            let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
            return Err(format!("failed ({}): {}", out.status, tail.join(" | ")));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `docker run` of a locked-down grading container with `mounts` (host path, path inside)
    /// read-only, up to the image: no network, read-only root, no capabilities, an
    /// unprivileged user, 8 GiB without swap, 256 processes, stdin attached. With `backstop`,
    /// the whole command is killed after it.
    fn grading_container(&self, mounts: &[(&Path, &str)], backstop: Option<Duration>) -> Command {
        let mut docker = match backstop {
            Some(limit) => {
                let mut c = Command::new("timeout");
                c.args(["-s", "KILL", &limit.as_secs().to_string(), "docker"]);
                c
            }
            None => Command::new("docker"),
        };
        docker
            .args(["run", "--rm", "--network", "none"])
            .args(["--read-only", "--cap-drop", "ALL"])
            .args(["--security-opt", "no-new-privileges"])
            .args([
                "--user",
                "10001:10001",
                "--memory",
                "8g",
                "--memory-swap",
                "8g",
            ])
            .args([
                "--pids-limit",
                "256",
                "--tmpfs",
                "/tmp",
                "--log-driver",
                "none",
            ])
            .args(["--pull", "never", "-i"]);
        for (host, inside) in mounts {
            docker
                .arg("-v")
                .arg(format!("{}:{inside}:ro", host.display()));
        }
        docker
    }
}

/// What to do when `docker run`'s stderr says the grading image is not there.
fn missing_image(stderr: &str, image: &str) -> Option<String> {
    stderr.contains("No such image").then(|| {
        format!(
            "cannot run: the grading image {image} is missing; build it with `randori image build --grading`"
        )
    })
}

/// The server's verdict: `score <float>` or `invalid <reason>`. A score of `nan` or `inf` is
/// kept: MLE-bench counts it as a valid submission and ranks it as such (NaN wins nothing).
fn parse_competition_verdict(stdout: &str) -> Result<f64, String> {
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty());
    match last.map(|l| l.split_once(' ').unwrap_or((l, ""))) {
        Some(("score", v)) => v
            .trim()
            .parse::<f64>()
            .map_err(|_| format!("the grading server printed {v:?} as a score")),
        Some(("invalid", reason)) => Err(reason.to_owned()),
        _ => Err(format!("the grading server printed no verdict: {stdout:?}")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verdict_is_a_score_nan_included_or_the_reason_it_is_invalid() {
        assert_eq!(parse_competition_verdict("score 0.25\n"), Ok(0.25));
        assert!(parse_competition_verdict("score nan").unwrap().is_nan());
        assert_eq!(parse_competition_verdict("score inf"), Ok(f64::INFINITY));
        assert_eq!(
            parse_competition_verdict("invalid KeyError: 'id'"),
            Err("KeyError: 'id'".to_owned())
        );
        assert!(parse_competition_verdict("score many").is_err());
        assert!(parse_competition_verdict("").is_err());
    }
}
