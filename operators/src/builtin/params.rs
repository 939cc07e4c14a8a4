//! A program's parameter set and its header line. Every generated program starts with
//! `# randori-builtin: {json}`, so Improve, Crossover and Debug recover the parent's
//! parameters from its code alone.

use serde::{Deserialize, Serialize};

use super::bugs::Bug;
use crate::Error;

pub(crate) const HEADER: &str = "# randori-builtin: ";

/// Everything a builtin program is generated from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub input: Input,
    pub model: Model,
    /// Regression on RMSE/MAE only: fit on a signed log1p of the target (skewed targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_target: Option<bool>,
    /// Cross-validation folds for the printed metric.
    pub folds: u32,
    /// Fraction of the training rows used (for CV and the final fit).
    pub subsample: f64,
    /// `random_state` everywhere in the program.
    pub seed: u32,
    /// A deliberately injected bug (see `GeneratorConfig::broken_rate`), so Debug can fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug: Option<Bug>,
}

/// How the features are built; one variant per input kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Input {
    Tabular {
        impute: Impute,
        /// Used by scale-sensitive models (linear, LDA, SVM, kNN).
        scale: Scale,
        transform: Transform,
        /// Derived features: date parts, distances between coordinate pairs, characters of
        /// fixed-width codes, one-hot groups as one code.
        engineer: bool,
    },
    Text {
        analyzer: Analyzer,
        /// Word n-grams are 1..=word_ngrams.
        word_ngrams: u32,
        /// Character n-grams are 2..=char_ngrams (within word boundaries).
        char_ngrams: u32,
        max_features: u32,
        min_df: u32,
        sublinear_tf: bool,
    },
    Image {
        /// Images are resized to size × size grey pixels.
        size: u32,
        norm: ImageNorm,
        scale: Scale,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impute {
    Median,
    Mean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Standard,
    Robust,
    /// Rank-based: each feature mapped to a normal distribution.
    Quantile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    None,
    /// Signed log1p of every feature.
    Log,
    /// Signed square root (variance-stabilising for counts and proportions).
    Sqrt,
    /// Adds pairwise products of the most varied columns.
    Poly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analyzer {
    Word,
    CharWb,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageNorm {
    /// Grey levels as they are.
    Raw,
    /// Background (median) removed and polarity made bright-on-dark, scaled to [0, 1].
    Contrast,
    /// As `Contrast`, then cropped to the object's bounding box.
    Crop,
}

/// The estimator: its family and every family's knobs (kept when the family changes, so a
/// family switch and back is lossless and crossover can mix them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub family: Family,
    /// Trees (forests) or boosting rounds.
    pub trees: u32,
    /// None: unlimited.
    pub depth: Option<u32>,
    pub learning_rate: f64,
    pub min_leaf: u32,
    /// Inverse regularisation: C of logistic regression and SVMs; ridge alpha is 1/c and
    /// naive Bayes alpha 0.1/c (its useful smoothing is smaller).
    pub c: f64,
    pub neighbors: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Logistic regression, or ridge for regression.
    Linear,
    /// Shrinkage linear discriminant analysis (classification).
    Lda,
    Knn,
    /// RBF support vector machine.
    Svm,
    RandomForest,
    ExtraTrees,
    HistGb,
    /// Multinomial naive Bayes (text classification).
    NaiveBayes,
}

impl Model {
    /// Ridge's alpha: 1/c, to 4 decimals.
    pub(crate) fn ridge_alpha(&self) -> f64 {
        round4(1.0 / self.c)
    }

    /// Naive Bayes' alpha: 0.1/c (its useful smoothing is smaller), to 4 decimals.
    pub(crate) fn nb_alpha(&self) -> f64 {
        round4(0.1 / self.c)
    }
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

impl Family {
    pub(crate) fn is_forest(self) -> bool {
        matches!(self, Self::RandomForest | Self::ExtraTrees)
    }

    pub(crate) fn uses_trees(self) -> bool {
        self.is_forest() || self == Self::HistGb
    }

    /// Models whose fit depends on the features' scales.
    pub(crate) fn scale_sensitive(self) -> bool {
        matches!(self, Self::Linear | Self::Lda | Self::Knn | Self::Svm)
    }

    pub(crate) fn uses_c(self) -> bool {
        matches!(self, Self::Linear | Self::Svm | Self::NaiveBayes)
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Linear => "linear model",
            Self::Lda => "shrinkage LDA",
            Self::Knn => "k-nearest neighbours",
            Self::Svm => "RBF SVM",
            Self::RandomForest => "random forest",
            Self::ExtraTrees => "extra trees",
            Self::HistGb => "histogram gradient boosting",
            Self::NaiveBayes => "multinomial naive Bayes",
        }
    }
}

impl Params {
    /// The header line that starts every program.
    pub fn header(&self) -> String {
        let json = serde_json::to_string(self).expect("params serialize");
        format!("{HEADER}{json}")
    }

    /// The parameters recorded in a program's first line.
    pub fn from_code(code: &str) -> Result<Self, Error> {
        let first = code.lines().next().unwrap_or_default();
        let json = first.strip_prefix(HEADER).ok_or(Error::MissingHeader)?;
        Ok(serde_json::from_str(json)?)
    }

    /// One line for tables: model family, its main knobs, features.
    pub fn summary(&self) -> String {
        let m = &self.model;
        let knobs = match m.family {
            Family::RandomForest | Family::ExtraTrees => {
                format!(
                    "{} trees, depth {}, leaf {}",
                    m.trees,
                    depth(m.depth),
                    m.min_leaf
                )
            }
            Family::HistGb => format!(
                "{} rounds, lr {}, depth {}, leaf {}",
                m.trees,
                m.learning_rate,
                depth(m.depth),
                m.min_leaf
            ),
            Family::Linear | Family::Svm | Family::NaiveBayes => format!("C {}", m.c),
            Family::Knn => format!("k {}", m.neighbors),
            Family::Lda => "auto shrinkage".to_owned(),
        };
        let input = match &self.input {
            Input::Tabular {
                transform,
                engineer,
                ..
            } => format!(
                "{}{}",
                if *engineer { "engineered" } else { "raw" },
                match transform {
                    Transform::None => String::new(),
                    t => format!("+{}", name(t)),
                }
            ),
            Input::Text {
                analyzer,
                max_features,
                ..
            } => format!("{} tf-idf {max_features}", name(analyzer)),
            Input::Image { size, norm, .. } => format!("{size}px {}", name(norm)),
        };
        let sub = if self.subsample < 1.0 {
            format!(", {}% rows", (self.subsample * 100.0).round())
        } else {
            String::new()
        };
        format!(
            "{} ({knobs}); {input}; {} folds{sub}",
            name(&m.family),
            self.folds
        )
    }
}

pub(crate) fn depth(d: Option<u32>) -> String {
    d.map_or("unlimited".to_owned(), |d| d.to_string())
}

/// A value's serde name (`hist_gb`), for plans and summaries.
pub(crate) fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tabular() -> Params {
        Params {
            input: Input::Tabular {
                impute: Impute::Median,
                scale: Scale::Standard,
                transform: Transform::Log,
                engineer: true,
            },
            model: Model {
                family: Family::HistGb,
                trees: 100,
                depth: None,
                learning_rate: 0.05,
                min_leaf: 10,
                c: 1.0,
                neighbors: 10,
            },
            log_target: None,
            folds: 5,
            subsample: 1.0,
            seed: 42,
            bug: Some(Bug::MissingImport),
        }
    }

    #[test]
    fn header_round_trips() {
        let p = tabular();
        let code = format!("{}\nprint(1)\n", p.header());
        assert_eq!(Params::from_code(&code).unwrap(), p);
        assert!(!p.header().contains('\n'));
    }

    #[test]
    fn header_errors_say_what_is_wrong() {
        assert!(matches!(
            Params::from_code("import os\n"),
            Err(Error::MissingHeader)
        ));
        assert!(matches!(
            Params::from_code(&format!("{HEADER}{{\"input\": 1}}\n")),
            Err(Error::BadHeader(_))
        ));
    }

    #[test]
    fn summary_names_family_and_knobs() {
        assert_eq!(
            tabular().summary(),
            "hist_gb (100 rounds, lr 0.05, depth unlimited, leaf 10); engineered+log; 5 folds"
        );
    }
}
