//! Renders a parameter set as a Python program that follows the sandbox contract: reads
//! /home/data, writes /home/submission/submission.csv with the sample's columns and row
//! order, runs on one CPU, and prints a cross-validated estimate of the grader's metric as
//! its last line. The program is assembled from sections (features, targets, model), each
//! emitting only the code its parameters need, so a generated program reads like a
//! hand-written one.

mod image;
mod model;
mod output;
mod tabular;
mod text;

use super::params::Params;
use super::preview::{Input, Shape};

/// Lines the deliberate bugs (`bugs.rs`) break; every program contains each exactly once.
pub(crate) mod anchors {
    pub(crate) const NUMPY_IMPORT: &str = "import numpy as np\n";
    pub(crate) const READ_TEST: &str = "test = pd.read_csv(";
    pub(crate) const IDS: &str = "ids = test[ID].to_numpy()";
    pub(crate) const WRITE_SUBMISSION: &str = "sub.to_csv(f\"{SUB}/submission.csv\"";
}

/// A part of the program and the imports it needs (`import x` or `from m import n` lines).
pub(crate) struct Section {
    pub imports: Vec<&'static str>,
    pub code: String,
}

pub(crate) fn program(shape: &Shape, p: &Params) -> String {
    let sections = [
        prelude(shape, p),
        match shape.input {
            Input::Tabular => tabular::section(p),
            Input::Text => text::section(p),
            Input::Image => image::section(p),
        },
        output::section(shape, p),
        model::section(shape, p),
        main(),
    ];
    let imports: Vec<&str> = sections
        .iter()
        .flat_map(|s| s.imports.iter().copied())
        .collect();
    let mut code = format!("{}\n{}", p.header(), import_block(&imports));
    for s in &sections {
        code.push('\n');
        code.push_str(&s.code);
    }
    // Sections start with blank lines of their own: keep at most two, as PEP 8 does.
    while code.contains("\n\n\n\n") {
        code = code.replace("\n\n\n\n", "\n\n\n");
    }
    match p.bug {
        Some(bug) => bug.inject(&code, &shape.id),
        None => code,
    }
}

const STDLIB: [&str; 5] = ["itertools", "os", "re", "time", "warnings"];

/// The standard library's imports, a blank line, then the rest; `from` imports of one module
/// merged.
fn import_block(lines: &[&str]) -> String {
    let mut plain: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("import "))
        .collect();
    plain.sort_unstable();
    plain.dedup();
    let mut from: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for l in lines.iter().filter_map(|l| l.strip_prefix("from ")) {
        if let Some((module, name)) = l.split_once(" import ") {
            from.entry(module).or_default().push(name);
        }
    }
    let (std, third): (Vec<&str>, Vec<&str>) = plain
        .iter()
        .partition(|l| STDLIB.contains(&l.trim_start_matches("import ")));
    let mut out = String::new();
    for l in std {
        out.push_str(&format!("{l}\n"));
    }
    out.push('\n');
    for l in third {
        out.push_str(&format!("{l}\n"));
    }
    for (module, mut names) in from {
        names.sort_unstable();
        names.dedup();
        out.push_str(&format!("from {module} import {}\n", names.join(", ")));
    }
    out
}

/// Replaces each `$NAME` of `template` by its value (Python code uses no `$`).
pub(crate) fn fill(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = template.to_owned();
    // Longest names first, so that `$SIZE` never eats the start of `$SIZES`.
    let mut vars: Vec<&(&str, String)> = vars.iter().collect();
    vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    for (k, v) in vars {
        out = out.replace(&format!("${k}"), v);
    }
    debug_assert!(!out.contains('$'), "unfilled placeholder in:\n{out}");
    out
}

/// A Python string literal (JSON's escapes are valid Python).
pub(crate) fn py_str(s: &str) -> String {
    serde_json::json!(s).to_string()
}

pub(crate) fn py_num(x: f64) -> String {
    format!("{x:?}")
}

pub(crate) fn py_opt(x: Option<u32>) -> String {
    x.map_or("None".to_owned(), |x| x.to_string())
}

pub(crate) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn prelude(shape: &Shape, p: &Params) -> Section {
    let code = fill(
        r#"warnings.filterwarnings("ignore")
DATA = os.environ.get("RANDORI_DATA_DIR", "/home/data")
SUB = os.environ.get("RANDORI_SUBMISSION_DIR", "/home/submission")
ID = $ID
TARGETS = $TARGETS
SEED = $SEED
FOLDS = $FOLDS
SUBSAMPLE = $SUBSAMPLE
started = time.time()

train = pd.read_csv(f"{DATA}/train.csv", dtype={ID: str})
test = pd.read_csv(f"{DATA}/test.csv", dtype={ID: str})
sample = pd.read_csv(f"{DATA}/sample_submission.csv", dtype={ID: str})
ids = test[ID].to_numpy()
if SUBSAMPLE < 1:
    train = train.sample(frac=SUBSAMPLE, random_state=SEED).reset_index(drop=True)
FEATURES = [c for c in test.columns if c != ID]
EXTRA = [c for c in train.columns if c not in test.columns]  # targets, or the label
print(f"train {train.shape}, test {test.shape}, {len(FEATURES)} feature columns")
"#,
        &[
            ("ID", py_str(&shape.id)),
            ("TARGETS", serde_json::json!(shape.targets).to_string()),
            ("SEED", p.seed.to_string()),
            ("FOLDS", p.folds.to_string()),
            ("SUBSAMPLE", py_num(p.subsample)),
        ],
    );
    Section {
        imports: vec![
            "import os",
            "import time",
            "import warnings",
            "import numpy as np",
            "import pandas as pd",
        ],
        code,
    }
}

/// Cross-validation, the final fit, the submission and the metric line.
fn main() -> Section {
    let code = r#"

def fold_score(truth, pred):
    try:
        return f"{score(truth, pred):.5f}"
    except ValueError as e:  # e.g. a label absent from a small fold
        return f"n/a ({e})"


splitter = (StratifiedKFold if STRATIFY else KFold)(FOLDS, shuffle=True, random_state=SEED)
parts = []
for fold, (tr, va) in enumerate(splitter.split(X, y if STRATIFY else None)):
    pred = fit_predict(X[tr], y[tr], X[va])
    parts.append((va, pred))
    print(f"fold {fold}: {METRIC} {fold_score(y[va], pred)} ({time.time() - started:.1f}s)")
rows = np.concatenate([va for va, _ in parts])
cv = score(y[rows], np.concatenate([pred for _, pred in parts]))
print(f"cv {METRIC}: {cv:.6f}")

sub = pd.DataFrame(fit_predict(X, y, XT), columns=TARGETS)
sub.insert(0, ID, ids)
if len(sample) == len(sub) and set(sample[ID]) == set(sub[ID]):
    sub = sub.set_index(ID).loc[sample[ID]].reset_index()  # the sample's row order
os.makedirs(SUB, exist_ok=True)
sub.to_csv(f"{SUB}/submission.csv", index=False)
print(f"wrote {len(sub)} rows in {time.time() - started:.1f}s")
print(f"randori:metric={cv:.6f}")
"#;
    Section {
        imports: vec![
            "from sklearn.model_selection import KFold",
            "from sklearn.model_selection import StratifiedKFold",
        ],
        code: code.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_are_grouped_and_merged() {
        let block = import_block(&[
            "import pandas as pd",
            "import os",
            "from sklearn.svm import SVC",
            "import numpy as np",
            "from sklearn.svm import SVR",
            "import os",
        ]);
        assert_eq!(
            block,
            "import os\n\nimport numpy as np\nimport pandas as pd\nfrom sklearn.svm import SVC, SVR\n"
        );
    }

    #[test]
    fn fill_replaces_longest_names_first() {
        assert_eq!(
            fill(
                "$SIZE $SIZES",
                &[("SIZE", "1".into()), ("SIZES", "2".into())]
            ),
            "1 2"
        );
        assert_eq!(py_str("a\"b"), "\"a\\\"b\"");
        assert_eq!(
            (py_num(1.0), py_opt(None), py_bool(true)),
            ("1.0".into(), "None".into(), "True")
        );
    }
}
