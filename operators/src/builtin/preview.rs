//! What the generator knows about a task (the data preview the coordinator computes from the
//! public files) and the task's shape derived from it: what the program reads, what it
//! predicts, and how it scores itself.

use crate::Error;

/// What the coordinator can compute from a task's public files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataPreview {
    pub task_id: String,
    /// MLE-bench grader name, e.g. `auc-roc`.
    pub grader: String,
    /// The sample submission's first column.
    pub id_column: String,
    /// The sample submission's other columns.
    pub target_columns: Vec<String>,
    pub train_columns: Vec<String>,
    pub test_columns: Vec<String>,
    /// Names under /home/data; directories end with `/` (e.g. `images/`).
    pub files: Vec<String>,
    pub lower_is_better: bool,
}

/// The grader names the generator can score itself by.
pub const KNOWN_GRADERS: [&str; 13] = [
    "auc-roc",
    "log-loss",
    "multi-class-log-loss",
    "mean-column-wise-roc-auc",
    "accuracy",
    "multi-class-classification-accuracy",
    "macro-f1",
    "quadratic-weighted-kappa",
    "root-mean-squared-error",
    "root_mean_squared_error",
    "mean-absolute-error",
    "mae",
    "mean-column-wise-rmsle",
];

/// The metric the program prints, the same as the grader's (so also its direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    AucRoc,
    LogLoss,
    MultiClassLogLoss,
    MeanColumnwiseAucRoc,
    Accuracy,
    MacroF1,
    QuadraticWeightedKappa,
    Rmse,
    Mae,
    MeanColumnwiseRmsle,
}

impl Metric {
    fn from_grader(name: &str) -> Option<Self> {
        Some(match name {
            "auc-roc" => Self::AucRoc,
            "log-loss" => Self::LogLoss,
            "multi-class-log-loss" => Self::MultiClassLogLoss,
            "mean-column-wise-roc-auc" => Self::MeanColumnwiseAucRoc,
            "accuracy" | "multi-class-classification-accuracy" => Self::Accuracy,
            "macro-f1" => Self::MacroF1,
            "quadratic-weighted-kappa" => Self::QuadraticWeightedKappa,
            "root-mean-squared-error" | "root_mean_squared_error" => Self::Rmse,
            "mean-absolute-error" | "mae" => Self::Mae,
            "mean-column-wise-rmsle" => Self::MeanColumnwiseRmsle,
            _ => return None,
        })
    }

    pub(crate) fn lower_is_better(self) -> bool {
        matches!(
            self,
            Self::LogLoss
                | Self::MultiClassLogLoss
                | Self::Rmse
                | Self::Mae
                | Self::MeanColumnwiseRmsle
        )
    }

    fn takes_probabilities(self) -> bool {
        matches!(
            self,
            Self::AucRoc | Self::LogLoss | Self::MultiClassLogLoss | Self::MeanColumnwiseAucRoc
        )
    }

    fn is_regression(self) -> bool {
        matches!(self, Self::Rmse | Self::Mae | Self::MeanColumnwiseRmsle)
    }
}

/// What a program reads as its features.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    Tabular,
    Text,
    Image,
}

/// What a program predicts: the submission's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Output {
    /// One probability column for a binary label.
    Binary,
    /// One probability column per class; the label is one column of train.csv.
    MultiClass,
    /// One column of class labels.
    Labels,
    /// One independent probability per target column (multi-label).
    MultiLabel,
    /// Numbers per target column; `positive` targets are scored on the log scale (RMSLE).
    Regression { positive: bool },
}

impl Output {
    pub(crate) fn is_regression(self) -> bool {
        matches!(self, Self::Regression { .. })
    }
}

/// The task as the generator sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Shape {
    pub input: Input,
    pub output: Output,
    pub metric: Metric,
    pub grader: String,
    pub id: String,
    pub targets: Vec<String>,
}

const IMAGE_EXTENSIONS: [&str; 5] = [".png", ".jpg", ".jpeg", ".bmp", ".tif"];

/// Column names that say "free text" in the data sets people publish.
const TEXT_HINTS: [&str; 12] = [
    "text", "comment", "sentence", "review", "message", "body", "title", "question", "excerpt",
    "tweet", "essay", "content",
];

impl Shape {
    pub(crate) fn of(p: &DataPreview) -> Result<Self, Error> {
        let metric =
            Metric::from_grader(&p.grader).ok_or_else(|| Error::UnknownGrader(p.grader.clone()))?;
        if p.target_columns.is_empty() {
            return Err(Error::NoTargets);
        }
        let in_train = p.target_columns.iter().all(|t| p.train_columns.contains(t));
        let several = p.target_columns.len() > 1;
        let output = if metric.is_regression() {
            Output::Regression {
                positive: metric == Metric::MeanColumnwiseRmsle,
            }
        } else if metric.takes_probabilities() {
            match (several, in_train) {
                (false, _) => Output::Binary,
                (true, true) => Output::MultiLabel,
                (true, false) => Output::MultiClass,
            }
        } else if several {
            return Err(Error::SeveralLabelColumns {
                grader: p.grader.clone(),
                columns: p.target_columns.len(),
            });
        } else {
            Output::Labels
        };
        Ok(Self {
            input: input_of(p),
            output,
            metric,
            grader: p.grader.clone(),
            id: p.id_column.clone(),
            targets: p.target_columns.clone(),
        })
    }
}

/// Images when the data holds a directory (or image files) and test.csv names nothing but the
/// image (its id or one path column); text when the few feature columns are named like text;
/// tabular otherwise. The program itself picks the text column and finds the image files at
/// run time.
fn input_of(p: &DataPreview) -> Input {
    let features: Vec<&String> = p
        .test_columns
        .iter()
        .filter(|c| **c != p.id_column)
        .collect();
    let images = p.files.iter().any(|f| {
        let f = f.to_ascii_lowercase();
        f.ends_with('/') || IMAGE_EXTENSIONS.iter().any(|e| f.ends_with(e))
    });
    if images && features.len() <= 1 {
        return Input::Image;
    }
    let texty = |c: &str| {
        let c = c.to_ascii_lowercase();
        TEXT_HINTS.iter().any(|h| c.contains(h))
    };
    if !features.is_empty() && features.len() <= 3 && features.iter().any(|c| texty(c)) {
        return Input::Text;
    }
    Input::Tabular
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A preview like the mini-bench's: `id`, features, targets.
    pub(crate) fn preview(
        grader: &str,
        targets: &[&str],
        train_extra: &[&str],
        features: &[&str],
    ) -> DataPreview {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let mut test = vec!["id".to_string()];
        test.extend(s(features));
        let mut train = test.clone();
        train.extend(s(train_extra));
        DataPreview {
            task_id: "t".into(),
            grader: grader.into(),
            id_column: "id".into(),
            target_columns: s(targets),
            train_columns: train,
            test_columns: test,
            files: vec![
                "train.csv".into(),
                "test.csv".into(),
                "sample_submission.csv".into(),
            ],
            lower_is_better: false,
        }
    }

    #[test]
    fn shapes_of_the_mini_bench_kinds() {
        let check = |p: DataPreview, input: Input, output: Output| {
            let s = Shape::of(&p).unwrap();
            assert_eq!((s.input, s.output), (input, output), "{p:?}");
        };
        check(
            preview("auc-roc", &["target"], &["target"], &["f_00", "f_01"]),
            Input::Tabular,
            Output::Binary,
        );
        check(
            preview(
                "multi-class-classification-accuracy",
                &["Cover_Type"],
                &["Cover_Type"],
                &["Elevation"],
            ),
            Input::Tabular,
            Output::Labels,
        );
        check(
            preview(
                "multi-class-log-loss",
                &["A", "B", "C"],
                &["species"],
                &["margin1"],
            ),
            Input::Tabular,
            Output::MultiClass,
        );
        check(
            preview(
                "multi-class-log-loss",
                &["ORM", "TLD"],
                &["author"],
                &["text"],
            ),
            Input::Text,
            Output::MultiClass,
        );
        check(
            preview(
                "mean-column-wise-roc-auc",
                &["a", "b"],
                &["a", "b"],
                &["comment_text"],
            ),
            Input::Text,
            Output::MultiLabel,
        );
        check(
            preview(
                "mean-column-wise-rmsle",
                &["e", "g"],
                &["e", "g"],
                &["x1", "x2"],
            ),
            Input::Tabular,
            Output::Regression { positive: true },
        );
        let mut image = preview("auc-roc", &["has_loop"], &["has_loop"], &[]);
        image.files.push("images/".into());
        check(image, Input::Image, Output::Binary);
    }

    #[test]
    fn every_known_grader_has_a_metric() {
        for g in KNOWN_GRADERS {
            assert!(Metric::from_grader(g).is_some(), "{g}");
        }
    }

    #[test]
    fn image_files_without_a_directory_make_an_image_task() {
        let mut p = preview("auc-roc", &["y"], &["y"], &[]);
        p.files.push("a1.PNG".into());
        assert_eq!(Shape::of(&p).unwrap().input, Input::Image);
    }

    #[test]
    fn unknown_graders_and_missing_targets_are_errors() {
        assert!(matches!(
            Shape::of(&preview("bleu", &["t"], &["t"], &["x"])),
            Err(Error::UnknownGrader(_))
        ));
        assert!(matches!(
            Shape::of(&preview("auc-roc", &[], &[], &["x"])),
            Err(Error::NoTargets)
        ));
    }
}
