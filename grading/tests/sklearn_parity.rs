//! Every metric against scikit-learn itself, on generated inputs: the cases are serialised as
//! JSON and scored by scikit-learn inside the grading image (one `docker run` for all of them),
//! then compared with `Metric::score`. Where sklearn raises (or returns NaN) the metric must
//! return an error.
//!
//! Needs Docker and the grading image (`cargo run -- image build --grading`: scikit-learn 1.5.2,
//! the version MLE-bench's graders run with); without them the test fails rather than passing
//! unchecked.

use std::io::Write;
use std::process::{Command, Stdio};

use randori_grading::metrics::{Column, Metric};
use serde_json::{Value, json};

#[path = "sklearn_parity/cases.rs"]
mod cases;

use cases::{Case, cases};

/// Relative tolerance, and the absolute one for values near zero.
const RELATIVE: f64 = 1e-9;
const ABSOLUTE: f64 = 1e-12;
const MIN_CASES_PER_METRIC: usize = 5;

/// Scores each case with the grading image's sklearn and prints a JSON list: a float, or {"error": ...}.
/// Inputs are passed as sklearn would get them from an MLE-bench grader; the comments say where
/// the grader's own conventions are applied first.
const SKLEARN_SCRIPT: &str = r#"
import json, math, sys, warnings
import numpy as np
import sklearn
from sklearn import metrics as m

assert tuple(map(int, sklearn.__version__.split(".")[:2])) >= (1, 5), sklearn.__version__

def num(column):
    return np.asarray(column, dtype=float)

def score(metric, A, P):
    if metric == "accuracy":
        return m.accuracy_score(np.asarray(A[0]), np.asarray(P[0]))
    if metric == "auc-roc":
        return m.roc_auc_score(np.asarray(A[0]), num(P[0]))
    if metric == "mean-column-wise-roc-auc":
        return np.mean([m.roc_auc_score(np.asarray(a), num(p)) for a, p in zip(A, P)])
    if metric == "log-loss":
        # As MLE-bench's graders call it, without eps (sklearn >= 1.5 clips at the dtype's
        # epsilon); labels given so that answers of a single class are scored too.
        return m.log_loss(num(A[0]), num(P[0]), labels=[0, 1])
    if metric == "multi-class-log-loss":
        y = np.argmax(np.column_stack([num(a) for a in A]), axis=1)
        probs = np.column_stack([num(p) for p in P])
        return m.log_loss(y, probs, labels=list(range(len(A))))
    if metric == "root-mean-squared-error":
        return math.sqrt(m.mean_squared_error(num(A[0]), num(P[0])))
    if metric == "mean-absolute-error":
        return m.mean_absolute_error(num(A[0]), num(P[0]))
    if metric == "mean-column-wise-rmsle":
        return np.mean([math.sqrt(m.mean_squared_log_error(num(a), num(p))) for a, p in zip(A, P)])
    if metric == "quadratic-weighted-kappa":
        # Integer labels, as MLE-bench's kappa graders cast them ("3.0" -> 3).
        ints = lambda c: num(c).astype(int)
        return m.cohen_kappa_score(ints(A[0]), ints(P[0]), weights="quadratic")
    if metric == "macro-f1":
        return m.f1_score(np.asarray(A[0]), np.asarray(P[0]), average="macro", zero_division=0)
    raise KeyError(metric)

results = []
for case in json.load(sys.stdin):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(score(case["metric"], case["answers"], case["predictions"]))
        results.append(value if math.isfinite(value) else {"error": "sklearn returned " + str(value)})
    except Exception as e:
        results.append({"error": type(e).__name__ + ": " + str(e)})
json.dump(results, sys.stdout)
"#;

#[test]
fn metrics_match_scikit_learn() {
    let cases = cases();
    for metric in Metric::ALL {
        let count = cases.iter().filter(|c| c.metric == metric).count();
        assert!(
            count >= MIN_CASES_PER_METRIC,
            "{metric} has only {count} parity cases"
        );
    }
    let references = sklearn(&cases);
    assert_eq!(
        references.len(),
        cases.len(),
        "sklearn answered a different number of cases"
    );

    let mut failures = Vec::new();
    let mut refused = Vec::new();
    // Per metric: the largest absolute and relative differences seen.
    let mut largest: Vec<(Metric, f64, f64)> = Metric::ALL.iter().map(|&m| (m, 0.0, 0.0)).collect();
    for (case, reference) in cases.iter().zip(&references) {
        let ours = case.metric.score(&case.answers, &case.predictions);
        let expects_error = case.name.starts_with("error: ");
        match (&ours, reference) {
            (Ok(ours), Ok(theirs)) if !expects_error => {
                let difference = (ours - theirs).abs();
                let relative = difference / theirs.abs().max(f64::MIN_POSITIVE);
                let entry = largest
                    .iter_mut()
                    .find(|(m, ..)| *m == case.metric)
                    .expect("every metric is listed");
                entry.1 = entry.1.max(difference);
                entry.2 = entry.2.max(if difference == 0.0 { 0.0 } else { relative });
                if difference > ABSOLUTE && relative > RELATIVE {
                    failures.push(format!(
                        "{} / {}: ours {ours:e}, sklearn {theirs:e}",
                        case.metric, case.name
                    ));
                }
            }
            (Err(ours), Err(theirs)) if expects_error => refused.push(format!(
                "{} / {}: ours \"{ours}\", sklearn \"{theirs}\"",
                case.metric, case.name
            )),
            _ => failures.push(format!(
                "{} / {}: ours {ours:?}, sklearn {reference:?}",
                case.metric, case.name
            )),
        }
    }

    println!(
        "{} cases; largest difference from sklearn per metric (absolute, relative):",
        cases.len()
    );
    for (metric, absolute, relative) in &largest {
        println!("  {:<28} {absolute:.3e}  {relative:.3e}", metric.name());
    }
    println!("refused by both:\n  {}", refused.join("\n  "));
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from sklearn:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Runs the script in the grading image, all cases at once.
fn sklearn(cases: &[Case]) -> Vec<Result<f64, String>> {
    let input = Value::Array(
        cases
            .iter()
            .map(|c| {
                json!({
                    "metric": c.metric.name(),
                    "answers": c.answers.iter().map(column_json).collect::<Vec<_>>(),
                    "predictions": c.predictions.iter().map(column_json).collect::<Vec<_>>(),
                })
            })
            .collect(),
    );
    let image = grading_image();
    let mut child = Command::new("docker")
        .args([
            "run",
            "--rm",
            "-i",
            "--pull",
            "never",
            "--network",
            "none",
            &image,
            "python3",
            "-c",
            SKLEARN_SCRIPT,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `docker run {image}`: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Written from a thread so that a child answering early can never block on a full pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.to_string().as_bytes()));
    let output = child
        .wait_with_output()
        .expect("docker run's output is readable");
    // The exit status first: when docker fails, its stderr explains the broken pipe.
    assert!(
        output.status.success(),
        "`docker run {image} python3` failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    writer
        .join()
        .expect("the writer thread does not panic")
        .expect("the cases reach docker run's stdin");
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "sklearn's output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    results
        .into_iter()
        .map(|r| match r {
            Value::Number(n) => Ok(n.as_f64().expect("a JSON number is an f64")),
            other => Err(other["error"]
                .as_str()
                .unwrap_or("unrecognised result")
                .to_string()),
        })
        .collect()
}

fn column_json(column: &Column) -> Value {
    match column {
        Column::Numbers(values) => json!(values),
        Column::Labels(values) => json!(values),
    }
}

/// RANDORI_GRADING_IMAGE, or the newest image labelled as the randori grading image.
fn grading_image() -> String {
    if let Some(image) = std::env::var("RANDORI_GRADING_IMAGE")
        .ok()
        .filter(|i| !i.is_empty())
    {
        return image;
    }
    let fix = "run `cargo run -- image build --grading` (or set RANDORI_GRADING_IMAGE)";
    let output = Command::new("docker")
        .args([
            "images",
            "--filter",
            "label=org.opencontainers.image.title=randori-grading",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run `docker images` ({e}): the sklearn parity test needs Docker and the grading image; {fix}"));
    assert!(
        output.status.success(),
        "`docker images` failed: {}; the sklearn parity test needs Docker and the grading image",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::trim)
        .find(|image| !image.is_empty() && !image.contains("<none>"))
        .unwrap_or_else(|| {
            panic!("no randori-grading image found for the sklearn parity test: {fix}")
        })
        .to_string()
}
