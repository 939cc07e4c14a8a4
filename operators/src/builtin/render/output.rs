//! What the program predicts and how it scores itself: the training target `y`, whether
//! folds are stratified, `fit_predict` (predictions in the submission's columns) and
//! `score` (the grader's metric, in the grader's direction).

use super::{Section, fill, py_str};
use crate::builtin::params::Params;
use crate::builtin::preview::{Metric, Output, Shape};

pub(super) fn section(shape: &Shape, p: &Params) -> Section {
    let (target, fit) = match shape.output {
        Output::Binary => (BINARY_TARGET, BINARY_FIT.to_owned()),
        Output::MultiClass => (MULTICLASS_TARGET, MULTICLASS_FIT.to_owned()),
        Output::Labels => (LABELS_TARGET, LABELS_FIT.to_owned()),
        Output::MultiLabel => (MULTILABEL_TARGET, MULTILABEL_FIT.to_owned()),
        Output::Regression { positive } => {
            let (forward, inverse, doc) = if positive {
                (
                    "np.log1p(np.clip(ya[:, j], 0, None))",
                    "np.expm1(np.clip(p, 0, None))",
                    "fitted on log1p (the metric's scale), predictions clipped non-negative",
                )
            } else if p.log_target == Some(true) {
                (
                    "np.sign(ya[:, j]) * np.log1p(np.abs(ya[:, j]))",
                    "np.sign(p) * np.expm1(np.abs(p))",
                    "fitted on a signed log1p",
                )
            } else {
                ("ya[:, j]", "p", "fitted as it is")
            };
            let fit = fill(
                REGRESSION_FIT,
                &[
                    ("FORWARD", forward.into()),
                    ("INVERSE", inverse.into()),
                    ("DOC", doc.into()),
                ],
            );
            (REGRESSION_TARGET, fit)
        }
    };
    let (imports, score) = score(shape);
    let code = format!(
        "\nMETRIC = {}\n{target}\n{fit}\n\ndef score(truth, pred):\n{score}",
        py_str(&shape.grader)
    );
    Section { imports, code }
}

/// The body of `score(truth, pred)`: the metric of `truth` (as `y`) and `pred` (as
/// `fit_predict`'s).
fn score(shape: &Shape) -> (Vec<&'static str>, String) {
    let (imports, expr) = score_expression(shape);
    let body = match expr {
        Some(e) => format!("    return {e}\n"),
        None => MULTICLASS_LOG_LOSS.to_owned(),
    };
    (imports, body)
}

/// The metric as one expression, or None for the multi-class log loss (a few lines).
fn score_expression(shape: &Shape) -> (Vec<&'static str>, Option<&'static str>) {
    let auc = "from sklearn.metrics import roc_auc_score";
    let (imports, expr) = match (shape.metric, shape.output) {
        (Metric::AucRoc | Metric::MeanColumnwiseAucRoc, Output::Binary) => {
            (vec![auc], "roc_auc_score(truth, pred[:, 0])")
        }
        (Metric::AucRoc | Metric::MeanColumnwiseAucRoc, Output::MultiLabel) => (
            vec![auc],
            "np.mean([roc_auc_score(truth[:, j], pred[:, j]) for j in range(len(TARGETS))])",
        ),
        (Metric::AucRoc | Metric::MeanColumnwiseAucRoc, _) => (
            vec![auc],
            "np.mean([roc_auc_score(truth == c, pred[:, j]) for j, c in enumerate(TARGETS)])",
        ),
        (Metric::LogLoss | Metric::MultiClassLogLoss, Output::Binary) => (
            vec!["from sklearn.metrics import log_loss"],
            "log_loss(truth, np.clip(pred[:, 0], 1e-15, 1 - 1e-15), labels=[0, 1])",
        ),
        (Metric::LogLoss | Metric::MultiClassLogLoss, Output::MultiLabel) => (
            vec!["from sklearn.metrics import log_loss"],
            "np.mean([log_loss(truth[:, j], np.clip(pred[:, j], 1e-15, 1 - 1e-15), labels=[0, 1]) for j in range(len(TARGETS))])",
        ),
        (Metric::LogLoss | Metric::MultiClassLogLoss, _) => return (vec![], None),
        (Metric::Accuracy, _) => (vec![], "np.mean(pred[:, 0] == truth)"),
        (Metric::MacroF1, _) => (
            vec!["from sklearn.metrics import f1_score"],
            "f1_score(truth, pred[:, 0].astype(truth.dtype), average=\"macro\")",
        ),
        (Metric::QuadraticWeightedKappa, _) => (
            vec!["from sklearn.metrics import cohen_kappa_score"],
            "cohen_kappa_score(truth, pred[:, 0].astype(truth.dtype), weights=\"quadratic\")",
        ),
        (Metric::Rmse, _) => (vec![], "np.sqrt(np.mean((pred - truth) ** 2))"),
        (Metric::Mae, _) => (vec![], "np.mean(np.abs(pred - truth))"),
        (Metric::MeanColumnwiseRmsle, _) => (
            vec![],
            "np.mean(np.sqrt(np.mean((np.log1p(pred) - np.log1p(truth)) ** 2, axis=0)))",
        ),
    };
    (imports, Some(expr))
}

const MULTICLASS_LOG_LOSS: &str = r#"    """As the grader: clipped, rows renormalised, the true class's mean negative log."""
    p = np.clip(pred, 1e-15, 1 - 1e-15)
    p = p / p.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(truth)), [TARGETS.index(t) for t in truth]]))
"#;

const BINARY_TARGET: &str = r#"LABEL = TARGETS[0] if TARGETS[0] in train.columns else EXTRA[0]
POSITIVE = np.sort(train[LABEL].unique())[-1]
y = (train[LABEL] == POSITIVE).astype(int).to_numpy()
STRATIFY = True
"#;

const BINARY_FIT: &str = r#"

def fit_predict(xa, ya, xb):
    """The positive class's probability, as one column."""
    prep = make_prep()
    a, b = prep.fit_transform(xa), prep.transform(xb)
    return make_model(ya).fit(a, ya).predict_proba(b)[:, [1]]
"#;

const MULTICLASS_TARGET: &str = r#"if all(t in train.columns for t in TARGETS):  # one-hot class columns
    y = np.array(TARGETS)[train[TARGETS].to_numpy().argmax(axis=1)]
else:  # the label column whose values are the class names
    LABEL = max(EXTRA, key=lambda c: train[c].astype(str).isin(TARGETS).mean())
    y = train[LABEL].astype(str).to_numpy()
STRATIFY = True
"#;

const MULTICLASS_FIT: &str = r#"

def fit_predict(xa, ya, xb):
    """One probability per class in the submission's column order, floored at 1e-4 (a
    confident mistake then costs at most -log(1e-4)), rows summing to 1."""
    prep = make_prep()
    a, b = prep.fit_transform(xa), prep.transform(xb)
    model = make_model(ya).fit(a, ya)
    proba = model.predict_proba(b)
    out = np.zeros((proba.shape[0], len(TARGETS)))
    for j, c in enumerate(model.classes_):
        if c in TARGETS:
            out[:, TARGETS.index(c)] = proba[:, j]
    out = np.clip(out, 1e-4, None)
    return out / out.sum(axis=1, keepdims=True)
"#;

const LABELS_TARGET: &str = r#"LABEL = TARGETS[0] if TARGETS[0] in train.columns else EXTRA[0]
y = train[LABEL].to_numpy()
STRATIFY = True
"#;

const LABELS_FIT: &str = r#"

def fit_predict(xa, ya, xb):
    """The predicted label, as one column."""
    prep = make_prep()
    a, b = prep.fit_transform(xa), prep.transform(xb)
    return make_model(ya).fit(a, ya).predict(b)[:, None]
"#;

const MULTILABEL_TARGET: &str = r#"y = train[TARGETS].to_numpy(dtype=float)  # 0/1 per label
STRATIFY = False
"#;

const MULTILABEL_FIT: &str = r#"

def fit_predict(xa, ya, xb):
    """One independent probability per label column."""
    prep = make_prep()
    a, b = prep.fit_transform(xa), prep.transform(xb)
    out = np.zeros((b.shape[0], len(TARGETS)))
    for j in range(len(TARGETS)):
        if len(np.unique(ya[:, j])) < 2:
            out[:, j] = ya[0, j]  # constant in these rows
        else:
            out[:, j] = make_model(ya[:, j]).fit(a, ya[:, j]).predict_proba(b)[:, 1]
    return out
"#;

const REGRESSION_TARGET: &str = r#"y = train[TARGETS].to_numpy(dtype=float)
STRATIFY = False
"#;

const REGRESSION_FIT: &str = r#"

def fit_predict(xa, ya, xb):
    """One model per target column, $DOC."""
    prep = make_prep()
    a, b = prep.fit_transform(xa), prep.transform(xb)
    out = np.zeros((b.shape[0], len(TARGETS)))
    for j in range(len(TARGETS)):
        p = make_model(ya[:, j]).fit(a, $FORWARD).predict(b)
        out[:, j] = $INVERSE
    return out
"#;
