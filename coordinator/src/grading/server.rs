//! Grading servers for MLE-bench competitions: a locked-down container that imports pandas,
//! scikit-learn and one competition's grade function and reads its answers once, then grades
//! the submissions it is sent, one at a time, each exactly as `mlebench grade` would (see
//! [`SERVER`]). Idle servers are kept per competition for the next grade, so a node's grade
//! costs the grading itself instead of a container start and the imports.
//!
//! Protocol on the container's stdin and stdout: the server says `ready` (or `failed <why>`),
//! then for each request `<byte count>\n<bytes>` answers one line, `score <float>` or
//! `invalid <why>`. Closing stdin ends it (and `docker run --rm` removes the container), so a
//! coordinator that dies leaves no server behind; so does a server left idle for its idle
//! limit (its third argument, in seconds).

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// One running grading server.
pub(super) struct Server {
    /// The `docker run` process; taken only by `drop`.
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Where the container's stderr goes: read only to explain a failure.
    stderr: std::fs::File,
    /// The container's name, to kill it when a grade overruns.
    container: String,
    /// The image it runs, to name it when it is missing.
    image: String,
}

impl Server {
    /// Starts `docker` (a `docker run -i --name <container> … <image> …` of the server) and
    /// waits, at most `timeout`, for it to say it is ready.
    pub(super) fn start(
        mut docker: Command,
        container: String,
        image: &str,
        timeout: Duration,
    ) -> Result<Self, String> {
        let stderr = tempfile::tempfile().map_err(|e| format!("a file for stderr: {e}"))?;
        let mut child = docker
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr.try_clone().map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("could not run docker: {e}"))?;
        let mut server = Self {
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().expect("stdout is piped")),
            child: Some(child),
            stderr,
            container,
            image: image.to_owned(),
        };
        let line = server.within(timeout, |s| s.read_line())?;
        match line.split_once(' ').unwrap_or((line.as_str(), "")) {
            ("ready", _) => Ok(server),
            ("failed", why) => Err(format!("the grading server did not start: {why}")),
            _ => Err(server.failure(&format!("the grading server said {line:?}"))),
        }
    }

    /// Sends one submission and returns the verdict line; at `timeout` the container is
    /// killed and the server is of no further use.
    pub(super) fn grade(&mut self, submission: &[u8], timeout: Duration) -> Result<String, String> {
        self.within(timeout, |s| {
            let stdin = s.stdin.as_mut().ok_or("the server's stdin is closed")?;
            let sent = stdin
                .write_all(format!("{}\n", submission.len()).as_bytes())
                .and_then(|()| stdin.write_all(submission))
                .and_then(|()| stdin.flush());
            if let Err(e) = sent {
                return Err(s.failure(&format!("sending the submission: {e}")));
            }
            s.read_line()
        })
    }

    /// Runs `f`, killing the container if it has not returned after `timeout`.
    fn within<T>(
        &mut self,
        timeout: Duration,
        f: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<T, String> {
        let (done, wait) = mpsc::channel::<()>();
        let container = self.container.clone();
        let watchdog = std::thread::spawn(move || {
            let overran = wait.recv_timeout(timeout) == Err(RecvTimeoutError::Timeout);
            if overran {
                let _ = Command::new("docker")
                    .args(["kill", &container])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            overran
        });
        let result = f(self);
        drop(done);
        if watchdog.join().unwrap_or(false) {
            return Err(format!(
                "grading took longer than {} s and was stopped",
                timeout.as_secs()
            ));
        }
        result
    }

    /// The server's next line; its end of output is a failure, explained by its stderr.
    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err(self.failure("the grading server exited")),
            Ok(_) => Ok(line.trim_end().to_owned()),
            Err(e) => Err(self.failure(&format!("reading the grading server: {e}"))),
        }
    }

    /// `what`, with the last lines of the container's stderr (the missing image named with the
    /// command that builds it).
    fn failure(&mut self, what: &str) -> String {
        let mut stderr = String::new();
        let _ = self.stderr.rewind();
        let _ = (&self.stderr).take(64 << 10).read_to_string(&mut stderr);
        if let Some(missing) = super::missing_image(&stderr, &self.image) {
            return missing;
        }
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        if tail.is_empty() {
            what.to_owned()
        } else {
            format!("{what}: {}", tail.join(" | "))
        }
    }
}

impl Drop for Server {
    /// Closing stdin ends the server; its `docker` process is reaped off the caller's thread.
    fn drop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
    }
}

/// Idle servers, each kept for the competition (task location) it was started for.
pub(super) struct ServerPool {
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
    idle_for: Duration,
}

struct Idle {
    task: PathBuf,
    server: Server,
    since: Instant,
}

impl ServerPool {
    /// At most `max_idle` servers wait, none longer than `idle_for`.
    pub(super) fn new(max_idle: usize, idle_for: Duration) -> Self {
        Self {
            idle: Mutex::default(),
            max_idle,
            idle_for,
        }
    }

    /// An idle server of `task`'s, if one waits (and has not waited too long).
    pub(super) fn take(&self, task: &Path) -> Option<Server> {
        let mut idle = self.idle.lock().unwrap();
        let i = idle
            .iter()
            .position(|s| s.task == task && s.since.elapsed() <= self.idle_for)?;
        Some(idle.swap_remove(i).server)
    }

    /// Keeps `server` for `task`'s next grade; servers idle too long, and the oldest beyond
    /// the cap, are stopped.
    pub(super) fn put(&self, task: &Path, server: Server) {
        let stopped = {
            let mut idle = self.idle.lock().unwrap();
            idle.push(Idle {
                task: task.to_owned(),
                server,
                since: Instant::now(),
            });
            idle.sort_by_key(|s| std::cmp::Reverse(s.since));
            let keep = self.max_idle.min(idle.len());
            let mut stopped = idle.split_off(keep);
            let (stale, fresh): (Vec<Idle>, Vec<Idle>) = idle
                .drain(..)
                .partition(|s| s.since.elapsed() > self.idle_for);
            *idle = fresh;
            stopped.extend(stale);
            stopped
        };
        // Dropped outside the lock: each drop closes a server.
        drop(stopped);
    }
}

/// The server: what MLE-bench's `grade_csv` does for each file it is sent. Both files are read
/// with `read_csv(float_precision="round_trip")` (an empty file as an empty frame), `.jsonl`
/// answers as JSON lines; the grade function is imported from the checkout (so `mlebench.*`
/// and sibling modules import); it gets a fresh copy of the answers each time (a grade
/// function may change them in place); any exception makes the submission invalid; the score
/// is `round(score, 5)` on the value the function returned. What the grade function prints
/// goes nowhere: stdout carries only the protocol.
pub(super) const SERVER: &str = r#"
import copy, importlib, json, os, select, sys
protocol = sys.stdout
sys.stdout = sys.stderr
def one_line(e):
    return (type(e).__name__ + ": " + str(e)).replace("\n", " ")[:2000]
def say(line):
    protocol.write(line + "\n")
    protocol.flush()
try:
    import pandas as pd
    sys.path.insert(0, "/home/grading/mle-bench")
    def read_csv(path):
        try:
            return pd.read_csv(path, float_precision="round_trip")
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
    answers_path, grade_fn, idle_exit = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if answers_path.endswith(".jsonl"):
        with open(answers_path) as f:
            answers = [json.loads(line) for line in f]
    else:
        answers = read_csv(answers_path)
    module, name = grade_fn.split(":")
    grade = getattr(importlib.import_module(module), name)
except Exception as e:
    say("failed " + one_line(e))
    sys.exit(1)
sys.stdout = sys.stderr = open(os.devnull, "w")
say("ready")
requests = sys.stdin.buffer
while select.select([requests], [], [], idle_exit)[0]:
    header = requests.readline()
    if not header:
        break
    data = requests.read(int(header))
    with open("/tmp/submission.csv", "wb") as f:
        f.write(data)
    try:
        submission = read_csv("/tmp/submission.csv")
        if isinstance(answers, pd.DataFrame):
            fresh = answers.copy(deep=True)
        else:
            fresh = copy.deepcopy(answers)
        score = grade(submission, fresh)
        say("score " + repr(float(round(score, 5))))
    except Exception as e:
        say("invalid " + one_line(e))
"#;
