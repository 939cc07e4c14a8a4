//! The four operators (Draft, Improve, Crossover, Debug) as pure functions of the data
//! preview, the parents' code and a seed.

use serde_json::Value;

use super::bugs::Bug;
use super::params::Params;
use super::plan::describe;
use super::preview::{DataPreview, Shape};
use super::rng::Rng;
use super::{moves, render, space};
use crate::Error;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratorConfig {
    /// Probability that a drafted or improved program carries a deliberate, recorded bug, so
    /// that the Debug path runs offline too.
    pub broken_rate: f64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self { broken_rate: 0.2 }
    }
}

/// An operator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// One paragraph: what the program does and why.
    pub plan: String,
    /// The Python program; its first line is the parameter header.
    pub code: String,
}

/// How a parent's evaluation failed, as the worker and the grader report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    pub exit_code: Option<i32>,
    pub timed_out: bool,
    pub oom_killed: bool,
    pub stderr_tail: String,
    /// Why the submission was refused (e.g. none was written), when the program ran.
    pub invalid_reason: Option<String>,
}

/// The offline program generator.
#[derive(Debug, Clone, Default)]
pub struct Generator {
    config: GeneratorConfig,
}

impl Generator {
    pub fn new(config: GeneratorConfig) -> Self {
        Self { config }
    }

    /// A fresh program: every parameter sampled.
    pub fn draft(&self, preview: &DataPreview, seed: u64) -> Result<Program, Error> {
        let shape = Shape::of(preview)?;
        let mut rng = rng(preview, seed);
        let mut p = moves::sample(&shape, &mut rng);
        self.maybe_break(&mut p, &mut rng);
        let plan = format!(
            "Draft: a first solution from the builtin search space. {}",
            describe(&shape, &p)
        );
        Ok(program(&shape, &p, plan))
    }

    /// The parent with exactly one used parameter moved one step (its bug marker, if any,
    /// dropped, and a new one drawn with `broken_rate`), so the score difference measures
    /// that one change.
    pub fn improve(
        &self,
        preview: &DataPreview,
        parent_code: &str,
        seed: u64,
    ) -> Result<Program, Error> {
        let shape = Shape::of(preview)?;
        let parent = parent_params(&shape, parent_code)?;
        let mut rng = rng(preview, seed);
        let (mut p, change) = moves::step(&shape, &parent, &mut rng);
        p.bug = None;
        self.maybe_break(&mut p, &mut rng);
        let plan = format!(
            "Improve: change the {} from {} to {}, as {}; everything else stays as in the parent, so the score difference measures this change alone. {}",
            change.label,
            show(&change.from),
            show(&change.to),
            change.why,
            describe(&shape, &p)
        );
        Ok(program(&shape, &p, plan))
    }

    /// Each parameter taken from one parent or the other (the random seed from the first).
    pub fn crossover(
        &self,
        preview: &DataPreview,
        a_code: &str,
        b_code: &str,
        seed: u64,
    ) -> Result<Program, Error> {
        let shape = Shape::of(preview)?;
        let (a, b) = (
            parent_params(&shape, a_code)?,
            parent_params(&shape, b_code)?,
        );
        let mut rng = rng(preview, seed);
        let (mut p, from_b) = moves::cross(&shape, &a, &b, &mut rng);
        p.bug = None;
        let pick = |b: bool| {
            from_b
                .iter()
                .filter(|(_, x)| *x == b)
                .map(|(l, _)| *l)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let plan = format!(
            "Crossover: from the first parent the {}; from the second the {}. Recombining two working solutions field by field keeps what each got right. {}",
            or_none(pick(false)),
            or_none(pick(true)),
            describe(&shape, &p)
        );
        Ok(program(&shape, &p, plan))
    }

    /// A repair: a timeout or out-of-memory kill shrinks the model and the data; a bug this
    /// generator injected is fixed when its symptom shows; anything else falls back to a
    /// safe parameter set (chosen by `seed` among those that differ from the parent).
    /// Debugged programs never carry a new bug.
    pub fn debug(
        &self,
        preview: &DataPreview,
        parent_code: &str,
        failure: &Failure,
        seed: u64,
    ) -> Result<Program, Error> {
        let shape = Shape::of(preview)?;
        let fallback = |parent: Option<&Params>, why: String| {
            let n = space::families(&shape).len();
            let seed32 = parent.map_or(seed as u32, |p| p.seed);
            let p = (0..n)
                .map(|i| moves::safe(&shape, seed32, (seed as usize).wrapping_add(i)))
                .find(|s| parent.is_none_or(|q| !same_but_bug(s, q)))
                .unwrap_or_else(|| moves::safe(&shape, seed32, 0));
            (
                p,
                format!("{why}; falling back to a safe, known-good parameter set"),
            )
        };
        let parent =
            Params::from_code(parent_code).and_then(|p| space::check(&shape, &p).map(|()| p));
        let (p, why) = match parent {
            Err(e) => fallback(
                None,
                format!("the parent's parameters cannot be read ({e})"),
            ),
            Ok(parent)
                if failure.timed_out
                    || failure.oom_killed
                    || failure.stderr_tail.contains("MemoryError") =>
            {
                let what = if failure.timed_out {
                    "ran out of time"
                } else {
                    "ran out of memory"
                };
                match moves::shrink(&shape, &parent) {
                    Some((mut p, notes)) => {
                        p.bug = None;
                        (
                            p,
                            format!(
                                "the parent {what}, so the model and the data shrink: {}",
                                notes.join(", ")
                            ),
                        )
                    }
                    None => {
                        let (p, why) = fallback(
                            Some(&parent),
                            format!("the parent {what} with nothing left to shrink"),
                        );
                        (
                            moves::smallest(&shape, p),
                            format!("{why}, at its smallest"),
                        )
                    }
                }
            }
            Ok(parent) => match parent.bug.filter(|b| b.recognises(failure, &shape.id)) {
                Some(bug) => {
                    let mut p = parent.clone();
                    p.bug = None;
                    (
                        p,
                        format!("{}; nothing else changes", bug.diagnosis(&shape.id)),
                    )
                }
                None => fallback(
                    Some(&parent),
                    format!("the parent failed with {}", symptom(failure)),
                ),
            },
        };
        let plan = format!("Debug: {why}. {}", describe(&shape, &p));
        Ok(program(&shape, &p, plan))
    }

    fn maybe_break(&self, p: &mut Params, rng: &mut Rng) {
        if rng.chance(self.config.broken_rate) {
            p.bug = Some(*rng.pick(&Bug::ALL));
        }
    }
}

/// The operator's generator: the seed mixed with the task's id (FNV-1a), so that one seed
/// gives different programs on different tasks.
fn rng(preview: &DataPreview, seed: u64) -> Rng {
    let task = preview
        .task_id
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    Rng::new(seed ^ task)
}

fn program(shape: &Shape, p: &Params, plan: String) -> Program {
    Program {
        plan,
        code: render::program(shape, p),
    }
}

fn parent_params(shape: &Shape, code: &str) -> Result<Params, Error> {
    let p = Params::from_code(code)?;
    space::check(shape, &p)?;
    Ok(p)
}

fn same_but_bug(a: &Params, b: &Params) -> bool {
    Params {
        bug: None,
        seed: 0,
        ..a.clone()
    } == Params {
        bug: None,
        seed: 0,
        ..b.clone()
    }
}

/// The failure in a few words: the last line of stderr, or what the grader said.
fn symptom(f: &Failure) -> String {
    let last = f
        .stderr_tail
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty());
    match (last, &f.invalid_reason, f.exit_code) {
        (Some(line), _, _) => format!("`{line}`"),
        (None, Some(reason), _) => format!("an invalid submission ({reason})"),
        (None, None, Some(code)) => format!("exit code {code} and no error output"),
        (None, None, None) => "no error output".to_owned(),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "unlimited".to_owned(),
        other => other.to_string(),
    }
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "nothing".to_owned()
    } else {
        s
    }
}
