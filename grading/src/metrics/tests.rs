//! Hand-computed cases, one line each; `tests/sklearn_parity.rs` checks generated inputs
//! against scikit-learn itself.

use super::Metric::*;
use super::{Column, Metric};

fn n(values: &[f64]) -> Column {
    Column::Numbers(values.to_vec())
}

fn l(values: &[&str]) -> Column {
    Column::Labels(values.iter().map(|v| v.to_string()).collect())
}

/// Scores and compares with `expected`: a value (to 1e-12, relative above 1) or an error message.
#[track_caller]
fn check(metric: Metric, answers: &[Column], predictions: &[Column], expected: Result<f64, &str>) {
    let got = metric.score(answers, predictions);
    match (&got, expected) {
        (Ok(got), Ok(want)) if (got - want).abs() <= 1e-12 * want.abs().max(1.0) => {}
        (Err(got), Err(want)) if got.to_string() == want => {}
        _ => panic!("{metric}: got {got:?}, expected {expected:?}"),
    }
}

/// -ln(f64::EPSILON): the loss of a confident wrong answer after clipping (scikit-learn >= 1.5).
const CLIPPED_LOSS: f64 = 36.04365338911715;

#[test]
fn accuracy() {
    check(
        Accuracy,
        &[l(&["a", "b", "c", "a"])],
        &[l(&["a", "b", "a", "a"])],
        Ok(0.75),
    );
    check(
        Accuracy,
        &[n(&[1.0, 2.0, 3.0])],
        &[n(&[1.0, 2.0, 4.0])],
        Ok(2.0 / 3.0),
    );
    check(Accuracy, &[l(&["x"])], &[l(&["x"])], Ok(1.0));
    check(Accuracy, &[l(&["x"])], &[l(&["X"])], Ok(0.0));
    // Labels against numbers: the number's canonical text.
    let numbers = [n(&[3.0, 0.5, -0.0, 1e20, -2.0])];
    check(
        Accuracy,
        &numbers,
        &[l(&["3", "0.5", "0", "100000000000000000000", "-2"])],
        Ok(1.0),
    );
    check(
        Accuracy,
        &[l(&["3.0", "0.50", "-0", "1e20", "-2"])],
        &numbers,
        Ok(0.2),
    );
    check(Accuracy, &[n(&[0.0])], &[n(&[-0.0])], Ok(1.0));
    check(
        Accuracy,
        &[n(&[1.0, f64::NAN])],
        &[n(&[1.0, 1.0])],
        Err("answers column 0 row 1 is NaN; only finite numbers can be scored"),
    );
}

#[test]
fn auc_roc() {
    // The example of sklearn's roc_auc_score documentation.
    check(
        AucRoc,
        &[n(&[0.0, 0.0, 1.0, 1.0])],
        &[n(&[0.1, 0.4, 0.35, 0.8])],
        Ok(0.75),
    );
    check(AucRoc, &[n(&[0.0, 1.0])], &[n(&[0.2, 0.9])], Ok(1.0));
    check(AucRoc, &[n(&[0.0, 1.0])], &[n(&[0.9, 0.2])], Ok(0.0));
    // Ties count half a pair each.
    check(AucRoc, &[n(&[0.0, 1.0])], &[n(&[0.5, 0.5])], Ok(0.5));
    check(
        AucRoc,
        &[n(&[0.0, 0.0, 1.0, 1.0])],
        &[n(&[0.2, 0.5, 0.5, 0.9])],
        Ok(0.875),
    );
    check(
        AucRoc,
        &[n(&[1.0, 0.0, 1.0, 0.0])],
        &[n(&[3.0, 3.0, 3.0, 3.0])],
        Ok(0.5),
    );
    check(
        AucRoc,
        &[n(&[0.0, 1.0, 0.0])],
        &[n(&[-0.0, 0.0, 1.0])],
        Ok(0.25),
    );
    // Boolean and numeric labels, scores as text.
    check(
        AucRoc,
        &[l(&["False", "true", " 1 ", "0.0"])],
        &[l(&["1", "2", "3", "-4e2"])],
        Ok(1.0),
    );
    check(
        AucRoc,
        &[n(&[1.0, 1.0])],
        &[n(&[0.2, 0.9])],
        Err("auc-roc is undefined: answers column 0 hold only class 1; ROC AUC needs both classes"),
    );
    check(
        AucRoc,
        &[n(&[0.0, 2.0])],
        &[n(&[0.2, 0.9])],
        Err("answers column 0 row 1: 2 is not a binary label (0/1 or True/False)"),
    );
    check(
        AucRoc,
        &[l(&["0", "yes"])],
        &[n(&[0.2, 0.9])],
        Err("answers column 0 row 1: \"yes\" is not a binary label (0/1 or True/False)"),
    );
    check(
        AucRoc,
        &[n(&[0.0, 1.0])],
        &[n(&[0.2, f64::INFINITY])],
        Err("predictions column 0 row 1 is inf; only finite numbers can be scored"),
    );
}

#[test]
fn mean_columnwise_auc_roc() {
    let answers = [n(&[0.0, 0.0, 1.0, 1.0]), n(&[0.0, 1.0, 0.0, 1.0])];
    let predictions = [n(&[0.1, 0.4, 0.35, 0.8]), n(&[0.1, 0.9, 0.1, 0.8])];
    check(
        MeanColumnwiseAucRoc,
        &answers,
        &predictions,
        Ok((0.75 + 1.0) / 2.0),
    );
    check(
        MeanColumnwiseAucRoc,
        &answers[..1],
        &predictions[..1],
        Ok(0.75),
    );
    check(
        MeanColumnwiseAucRoc,
        &[n(&[0.0, 1.0]), n(&[0.0, 0.0])],
        &[n(&[0.1, 0.2]), n(&[0.1, 0.2])],
        Err(
            "mean-column-wise-roc-auc is undefined: answers column 1 hold only class 0; ROC AUC needs both classes",
        ),
    );
}

#[test]
fn log_loss() {
    let expected = -(0.8f64.ln() + 0.7f64.ln()) / 2.0;
    check(LogLoss, &[n(&[1.0, 0.0])], &[n(&[0.8, 0.3])], Ok(expected));
    // Probabilities 0 and 1 are clipped to eps and 1 - eps (f64::EPSILON), as in sklearn >= 1.5:
    // a confident miss costs -ln(eps) either way, a confident hit -ln(1 - eps).
    check(
        LogLoss,
        &[n(&[1.0, 0.0])],
        &[n(&[1.0, 0.0])],
        Ok(2.2204460492503136e-16),
    );
    check(LogLoss, &[n(&[1.0])], &[n(&[0.0])], Ok(CLIPPED_LOSS));
    check(LogLoss, &[n(&[0.0])], &[n(&[1.0])], Ok(CLIPPED_LOSS));
    // A single class is fine: the loss is defined without the other one.
    check(
        LogLoss,
        &[l(&["True"])],
        &[n(&[0.5])],
        Ok(std::f64::consts::LN_2),
    );
    check(
        LogLoss,
        &[n(&[1.0, 0.0])],
        &[n(&[0.5, 1.5])],
        Err("predictions column 0 row 1: 1.5 is not a probability in [0, 1]"),
    );
    check(
        LogLoss,
        &[n(&[1.0, 0.0])],
        &[n(&[0.5, -0.1])],
        Err("predictions column 0 row 1: -0.1 is not a probability in [0, 1]"),
    );
    check(
        LogLoss,
        &[n(&[1.0, 0.0])],
        &[n(&[f64::NAN, 0.5])],
        Err("predictions column 0 row 0 is NaN; only finite numbers can be scored"),
    );
}

#[test]
fn multi_class_log_loss() {
    let answers = [n(&[1.0, 0.0]), n(&[0.0, 1.0]), n(&[0.0, 0.0])];
    let expected = -(0.7f64.ln() + 0.2f64.ln()) / 2.0;
    check(
        MultiClassLogLoss,
        &answers,
        &[n(&[0.7, 0.2]), n(&[0.2, 0.2]), n(&[0.1, 0.6])],
        Ok(expected),
    );
    // Rows are not renormalised (sklearn >= 1.5): a row costs its true class's clipped
    // probability alone, so [0.5, 0.5, 0.5] costs ln 2 and [0, 0, 0] costs -ln(eps).
    check(
        MultiClassLogLoss,
        &answers,
        &[n(&[0.5, 0.0]), n(&[0.5, 0.0]), n(&[0.5, 0.0])],
        Ok((std::f64::consts::LN_2 + CLIPPED_LOSS) / 2.0),
    );
    // A confident wrong row costs -ln(eps).
    check(
        MultiClassLogLoss,
        &answers[..2],
        &[n(&[0.0, 1.0]), n(&[1.0, 0.0])],
        Ok(CLIPPED_LOSS),
    );
    check(
        MultiClassLogLoss,
        &[n(&[1.0, 1.0]), n(&[0.0, 1.0])],
        &[n(&[0.5, 0.5]), n(&[0.5, 0.5])],
        Err("answers row 1 has 2 ones across the class columns; one-hot answers need exactly one"),
    );
    check(
        MultiClassLogLoss,
        &[n(&[1.0, 0.0]), n(&[0.0, 0.0])],
        &[n(&[0.5, 0.5]), n(&[0.5, 0.5])],
        Err("answers row 1 has 0 ones across the class columns; one-hot answers need exactly one"),
    );
    check(
        MultiClassLogLoss,
        &[n(&[1.0])],
        &[n(&[1.0])],
        Err(
            "multi-class-log-loss needs at least 2 columns (one per class), but the answers have 1",
        ),
    );
    check(
        MultiClassLogLoss,
        &answers,
        &answers[..2],
        Err(
            "multi-class-log-loss needs 3 columns, as many as the answers, but the predictions have 2",
        ),
    );
}

#[test]
fn rmse_and_mae() {
    check(
        Rmse,
        &[n(&[1.0, 2.0, 3.0])],
        &[n(&[1.0, 2.0, 5.0])],
        Ok((4.0f64 / 3.0).sqrt()),
    );
    check(Rmse, &[n(&[-1.5])], &[n(&[1.5])], Ok(3.0));
    check(
        Rmse,
        &[l(&["1", " 2 ", "3e0"])],
        &[n(&[1.0, 2.0, 3.0])],
        Ok(0.0),
    );
    check(Mae, &[n(&[1.0, 2.0, 3.0])], &[n(&[2.0, 2.0, 1.0])], Ok(1.0));
    check(Mae, &[n(&[-1e6])], &[n(&[1e6])], Ok(2e6));
    check(
        Rmse,
        &[n(&[1.0])],
        &[l(&["x"])],
        Err("predictions column 0 row 0: \"x\" is not a number"),
    );
    check(
        Mae,
        &[n(&[1.0])],
        &[l(&["nan"])],
        Err("predictions column 0 row 0 is NaN; only finite numbers can be scored"),
    );
    check(
        Rmse,
        &[n(&[1.0])],
        &[n(&[1.0]), n(&[2.0])],
        Err("root-mean-squared-error needs exactly 1 column, but the predictions have 2"),
    );
}

#[test]
fn mean_columnwise_rmsle() {
    let e1 = std::f64::consts::E - 1.0;
    check(
        MeanColumnwiseRmsle,
        &[n(&[0.0, e1])],
        &[n(&[e1, e1])],
        Ok(0.5f64.sqrt()),
    );
    check(
        MeanColumnwiseRmsle,
        &[n(&[0.0, e1]), n(&[5.0, 7.0])],
        &[n(&[e1, e1]), n(&[5.0, 7.0])],
        Ok(0.5f64.sqrt() / 2.0),
    );
    check(
        MeanColumnwiseRmsle,
        &[n(&[1.0]), n(&[-0.5])],
        &[n(&[1.0]), n(&[1.0])],
        Err(
            "answers column 1 row 0: -0.5 is not a non-negative number (RMSLE takes the logarithm of 1 + value)",
        ),
    );
    check(
        MeanColumnwiseRmsle,
        &[n(&[1.0, 2.0])],
        &[n(&[1.0, -2.0])],
        Err(
            "predictions column 0 row 1: -2 is not a non-negative number (RMSLE takes the logarithm of 1 + value)",
        ),
    );
    check(
        MeanColumnwiseRmsle,
        &[],
        &[],
        Err("mean-column-wise-rmsle needs at least 1 column, but the answers have 0"),
    );
}

#[test]
fn quadratic_weighted_kappa() {
    check(
        QuadraticWeightedKappa,
        &[n(&[0.0, 1.0, 2.0])],
        &[n(&[0.0, 1.0, 2.0])],
        Ok(1.0),
    );
    // observed Σ(i-j)² = 2; expected n·Σ = 3·5 - 2·3·3 + 3·5 = 12; κ = 1 - 2·3/12.
    check(
        QuadraticWeightedKappa,
        &[n(&[0.0, 1.0, 2.0])],
        &[n(&[0.0, 2.0, 1.0])],
        Ok(0.5),
    );
    // Weights follow the labels' positions among those present, not their values (as sklearn).
    check(
        QuadraticWeightedKappa,
        &[n(&[1.0, 3.0, 7.0])],
        &[n(&[1.0, 7.0, 3.0])],
        Ok(0.5),
    );
    check(
        QuadraticWeightedKappa,
        &[l(&["1", "3", "7"])],
        &[l(&["1.0", " 7", "3"])],
        Ok(0.5),
    );
    // Everything predicted as one label: κ = 0.
    check(
        QuadraticWeightedKappa,
        &[n(&[0.0, 1.0])],
        &[n(&[1.0, 1.0])],
        Ok(0.0),
    );
    check(
        QuadraticWeightedKappa,
        &[n(&[2.0, 2.0])],
        &[n(&[2.0, 2.0])],
        Err(
            "quadratic-weighted-kappa is undefined: the answers and predictions hold a single label (2)",
        ),
    );
    check(
        QuadraticWeightedKappa,
        &[n(&[2.0, 2.0])],
        &[n(&[2.5, 2.0])],
        Err("predictions column 0 row 0: 2.5 is not an integer label"),
    );
    check(
        QuadraticWeightedKappa,
        &[l(&["low"])],
        &[n(&[2.0])],
        Err("answers column 0 row 0: \"low\" is not a number"),
    );
}

#[test]
fn macro_f1() {
    // a: P = R = 1/2; b: 1; c: 0.
    check(
        MacroF1,
        &[l(&["a", "b", "c", "a"])],
        &[l(&["a", "b", "a", "c"])],
        Ok(0.5),
    );
    // z is only predicted: F1 0, and it counts in the mean; a: P = 1, R = 1/2.
    check(MacroF1, &[l(&["a", "a"])], &[l(&["a", "z"])], Ok(1.0 / 3.0));
    check(MacroF1, &[n(&[1.0, 2.0])], &[l(&["1", "2"])], Ok(1.0));
    check(MacroF1, &[l(&["a", "b"])], &[l(&["b", "a"])], Ok(0.0));
    check(MacroF1, &[l(&["only"])], &[l(&["only"])], Ok(1.0));
}

#[test]
fn shapes() {
    check(
        Accuracy,
        &[],
        &[l(&["a"])],
        Err("accuracy needs exactly 1 column, but the answers have 0"),
    );
    check(
        Accuracy,
        &[l(&[])],
        &[l(&[])],
        Err("nothing to score: the answers have no rows"),
    );
    check(
        Mae,
        &[n(&[1.0, 2.0, 3.0])],
        &[n(&[1.0, 2.0])],
        Err("predictions column 0 has 2 rows, but answers column 0 has 3"),
    );
    check(
        MeanColumnwiseRmsle,
        &[n(&[1.0, 2.0]), n(&[1.0])],
        &[n(&[1.0, 2.0]), n(&[1.0])],
        Err("answers column 1 has 1 rows, but answers column 0 has 2"),
    );
}

#[test]
fn names() {
    for metric in Metric::ALL {
        assert_eq!(Metric::from_grader_name(metric.name()), Some(metric));
    }
    let aliases = [
        ("multi-class-classification-accuracy", Accuracy),
        ("root_mean_squared_error", Rmse),
        ("column-wise ROC AUC", MeanColumnwiseAucRoc),
        ("mae", Mae),
        ("f1-macro", MacroF1),
    ];
    for (name, metric) in aliases {
        assert_eq!(Metric::from_grader_name(name), Some(metric), "{name}");
    }
    for unknown in ["", "Accuracy", "rmse", "auc", "f1"] {
        assert_eq!(Metric::from_grader_name(unknown), None, "{unknown}");
    }
    let lower: Vec<Metric> = Metric::ALL
        .into_iter()
        .filter(|m| m.lower_is_better())
        .collect();
    assert_eq!(
        lower,
        [LogLoss, MultiClassLogLoss, Rmse, MeanColumnwiseRmsle, Mae]
    );
}
