//! The metrics of MLE-bench lite, each equal to its scikit-learn counterpart on the same inputs
//! (`tests/sklearn_parity.rs` checks every one against scikit-learn 1.2.1).
//!
//! Inputs are target columns whose rows are already aligned by id: `answers[j][i]` and
//! `predictions[j][i]` belong to the same row. Row and column numbers in errors are 0-based
//! positions in these slices.

mod classification;
mod input;
mod probability;
mod regression;
#[cfg(test)]
mod tests;

use std::fmt;

use input::Arity;

/// A target column of a submission or of the answers, rows aligned by id already.
///
/// Metrics that need numbers also accept `Labels` whose every value parses as a number, so a
/// column read as text still scores; the first value that does not parse is reported.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    Numbers(Vec<f64>),
    Labels(Vec<String>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Numbers(values) => values.len(),
            Column::Labels(values) => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A metric named by an MLE-bench grader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Share of rows whose prediction equals the answer (sklearn `accuracy_score`). Labels
    /// compare as text and numbers by value; a label compared with a number is compared with the
    /// number's shortest round-trip decimal text without exponent or trailing `.0`
    /// (`3.0` → `"3"`, `0.5` → `"0.5"`, `-0.0` → `"0"`), so `"3"` matches `3.0` but `"3.0"` does not.
    Accuracy,
    /// Area under the ROC curve (sklearn `roc_auc_score`): answers 0/1, predictions scores.
    AucRoc,
    /// Binary cross-entropy, predictions the probability of class 1 (sklearn `log_loss`).
    LogLoss,
    /// Cross-entropy over one column per class (sklearn `log_loss` on the class probabilities).
    MultiClassLogLoss,
    /// Root mean squared error (sklearn `mean_squared_error(squared=False)`).
    Rmse,
    /// Mean over columns of the root mean squared log error (sklearn `mean_squared_log_error`).
    MeanColumnwiseRmsle,
    /// Mean over columns of the ROC AUC (sklearn `roc_auc_score(average="macro")`).
    MeanColumnwiseAucRoc,
    /// Cohen's kappa with quadratic weights on integer labels (sklearn `cohen_kappa_score`).
    QuadraticWeightedKappa,
    /// Mean absolute error (sklearn `mean_absolute_error`).
    Mae,
    /// Unweighted mean of per-label F1 (sklearn `f1_score(average="macro", zero_division=0)`).
    MacroF1,
}

impl Metric {
    pub const ALL: [Metric; 10] = [
        Metric::Accuracy,
        Metric::AucRoc,
        Metric::LogLoss,
        Metric::MultiClassLogLoss,
        Metric::Rmse,
        Metric::MeanColumnwiseRmsle,
        Metric::MeanColumnwiseAucRoc,
        Metric::QuadraticWeightedKappa,
        Metric::Mae,
        Metric::MacroF1,
    ];

    /// MLE-bench grader names: "accuracy", "multi-class-classification-accuracy" (both Accuracy),
    /// "auc-roc", "log-loss", "multi-class-log-loss", "root-mean-squared-error" and
    /// "root_mean_squared_error" (Rmse), "mean-column-wise-rmsle", "mean-column-wise-roc-auc" and
    /// "column-wise ROC AUC" (MeanColumnwiseAucRoc), "quadratic-weighted-kappa", plus
    /// "mean-absolute-error"/"mae" and "macro-f1"/"f1-macro". None for anything else.
    pub fn from_grader_name(name: &str) -> Option<Metric> {
        Some(match name {
            "accuracy" | "multi-class-classification-accuracy" => Metric::Accuracy,
            "auc-roc" => Metric::AucRoc,
            "log-loss" => Metric::LogLoss,
            "multi-class-log-loss" => Metric::MultiClassLogLoss,
            "root-mean-squared-error" | "root_mean_squared_error" => Metric::Rmse,
            "mean-column-wise-rmsle" => Metric::MeanColumnwiseRmsle,
            "mean-column-wise-roc-auc" | "column-wise ROC AUC" => Metric::MeanColumnwiseAucRoc,
            "quadratic-weighted-kappa" => Metric::QuadraticWeightedKappa,
            "mean-absolute-error" | "mae" => Metric::Mae,
            "macro-f1" | "f1-macro" => Metric::MacroF1,
            _ => return None,
        })
    }

    /// The canonical grader name; `from_grader_name` maps it back.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Accuracy => "accuracy",
            Metric::AucRoc => "auc-roc",
            Metric::LogLoss => "log-loss",
            Metric::MultiClassLogLoss => "multi-class-log-loss",
            Metric::Rmse => "root-mean-squared-error",
            Metric::MeanColumnwiseRmsle => "mean-column-wise-rmsle",
            Metric::MeanColumnwiseAucRoc => "mean-column-wise-roc-auc",
            Metric::QuadraticWeightedKappa => "quadratic-weighted-kappa",
            Metric::Mae => "mean-absolute-error",
            Metric::MacroF1 => "macro-f1",
        }
    }

    pub fn lower_is_better(self) -> bool {
        match self {
            Metric::LogLoss
            | Metric::MultiClassLogLoss
            | Metric::Rmse
            | Metric::MeanColumnwiseRmsle
            | Metric::Mae => true,
            Metric::Accuracy
            | Metric::AucRoc
            | Metric::MeanColumnwiseAucRoc
            | Metric::QuadraticWeightedKappa
            | Metric::MacroF1 => false,
        }
    }

    /// How many target columns the metric takes.
    fn arity(self) -> Arity {
        match self {
            Metric::MeanColumnwiseRmsle | Metric::MeanColumnwiseAucRoc => Arity::AtLeast(1),
            // sklearn refuses fewer than two classes, and one class would always score 0.
            Metric::MultiClassLogLoss => Arity::AtLeast(2),
            _ => Arity::One,
        }
    }

    /// answers and predictions: the target columns in the same order, same row count.
    pub fn score(self, answers: &[Column], predictions: &[Column]) -> Result<f64, MetricError> {
        input::check_shape(self, answers, predictions)?;
        let (a, p) = (&answers[0], &predictions[0]);
        match self {
            Metric::Accuracy => classification::accuracy(a, p),
            Metric::MacroF1 => classification::macro_f1(a, p),
            Metric::QuadraticWeightedKappa => classification::quadratic_weighted_kappa(a, p),
            // One column is the binary case: its mean is its own AUC.
            Metric::AucRoc | Metric::MeanColumnwiseAucRoc => {
                probability::mean_columnwise_auc(self, answers, predictions)
            }
            Metric::LogLoss => probability::log_loss(a, p),
            Metric::MultiClassLogLoss => probability::multi_class_log_loss(answers, predictions),
            Metric::Rmse => regression::rmse(a, p),
            Metric::Mae => regression::mae(a, p),
            Metric::MeanColumnwiseRmsle => regression::mean_columnwise_rmsle(answers, predictions),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which input a value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Answers,
    Predictions,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Answers => "answers",
            Side::Predictions => "predictions",
        })
    }
}

/// Why a submission could not be scored. Values are kept as text so that a NaN still compares
/// equal to itself in tests.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum MetricError {
    #[error("{metric} needs {expected}, but the {side} have {got}")]
    ColumnCount {
        metric: Metric,
        side: Side,
        expected: String,
        got: usize,
    },
    #[error("nothing to score: the answers have no rows")]
    NoRows,
    #[error("{side} column {column} has {got} rows, but answers column 0 has {expected}")]
    RowCount {
        side: Side,
        column: usize,
        expected: usize,
        got: usize,
    },
    #[error("{side} column {column} row {row}: {value:?} is not a number")]
    NotNumeric {
        side: Side,
        column: usize,
        row: usize,
        value: String,
    },
    #[error("{side} column {column} row {row} is {value}; only finite numbers can be scored")]
    NotFinite {
        side: Side,
        column: usize,
        row: usize,
        value: String,
    },
    #[error("{side} column {column} row {row}: {value} is not {expected}")]
    InvalidValue {
        side: Side,
        column: usize,
        row: usize,
        value: String,
        expected: &'static str,
    },
    #[error(
        "answers row {row} has {ones} ones across the class columns; one-hot answers need exactly one"
    )]
    NotOneHot { row: usize, ones: usize },
    #[error("{metric} is undefined: {reason}")]
    Undefined { metric: Metric, reason: String },
}
