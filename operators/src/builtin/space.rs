//! The parameter space: for a task's shape, one dimension per tunable field (a JSON pointer
//! into `Params`, its choices, whether it matters for given parameters, and why one would
//! move it). `moves` drafts, steps, crosses and shrinks parameters along these dimensions.

use serde_json::{Value, json};

use super::params::{Analyzer, Family, Input, Params};
use super::preview::{Input as Kind, Output, Shape};
use crate::Error;

/// One tunable field.
pub(crate) struct Dim {
    pub pointer: &'static str,
    /// What the field is, for plans.
    pub label: &'static str,
    /// The choices; in order of size where `ordered` (a step moves to a neighbour).
    pub values: Vec<Value>,
    pub ordered: bool,
    /// The choice of the safe fallback parameters.
    pub default: usize,
    /// Where drafts sample from, when not all of `values` make good first tries (Improve
    /// still reaches the rest).
    pub drafted: Option<Vec<Value>>,
    /// A smaller value (lower index) runs faster: timeouts step these down.
    pub cost: bool,
    /// Whether the field matters for these parameters (Improve steps only those).
    pub used: fn(&Params) -> bool,
    /// Why one would move it (up, down), for plans.
    pub why: [&'static str; 2],
}

fn dim(pointer: &'static str, label: &'static str, values: Vec<Value>, default: usize) -> Dim {
    Dim {
        pointer,
        label,
        values,
        ordered: true,
        default,
        drafted: None,
        cost: false,
        used: |_| true,
        why: ["", ""],
    }
}

fn choice(
    pointer: &'static str,
    label: &'static str,
    values: Vec<Value>,
    why: &'static str,
) -> Dim {
    Dim {
        ordered: false,
        why: [why, why],
        ..dim(pointer, label, values, 0)
    }
}

macro_rules! vals {
    ($($v:expr),* $(,)?) => { vec![$(json!($v)),*] };
}

fn family(p: &Params) -> Family {
    p.model.family
}

/// The model families that fit a task shape; the first is the safe fallback's.
pub(crate) fn families(shape: &Shape) -> &'static [Family] {
    use Family::*;
    match (shape.input, shape.output.is_regression()) {
        (Kind::Text, false) => &[Linear, NaiveBayes],
        (Kind::Text, true) => &[Linear],
        (_, true) => &[HistGb, Linear, Knn, Svm, RandomForest, ExtraTrees],
        (_, false) => &[HistGb, Linear, Lda, Knn, Svm, RandomForest, ExtraTrees],
    }
}

pub(crate) fn space(shape: &Shape) -> Vec<Dim> {
    let fams: Vec<Value> = families(shape).iter().map(|f| json!(f)).collect();
    let mut dims = vec![
        choice(
            "/model/family",
            "model family",
            fams,
            "a different kind of model may suit the data better",
        ),
        Dim {
            cost: true,
            used: |p| family(p).uses_trees(),
            why: [
                "more trees lower the variance (more boosting rounds fit finer)",
                "fewer trees run faster (fewer boosting rounds overfit less)",
            ],
            drafted: Some(vals![100, 200, 300]),
            ..dim(
                "/model/trees",
                "number of trees / boosting rounds",
                vals![50, 100, 200, 300],
                1,
            )
        },
        Dim {
            cost: true,
            used: |p| family(p).uses_trees(),
            why: [
                "deeper trees capture more interactions",
                "shallower trees overfit less",
            ],
            ..dim(
                "/model/depth",
                "maximum tree depth",
                vec![json!(3), json!(6), json!(10), json!(16), Value::Null],
                4,
            )
        },
        Dim {
            used: |p| family(p) == Family::HistGb,
            why: [
                "a larger learning rate fits faster with few rounds",
                "a smaller learning rate generalises better",
            ],
            drafted: Some(vals![0.05, 0.1]),
            ..dim(
                "/model/learning_rate",
                "learning rate",
                vals![0.05, 0.1, 0.2],
                1,
            )
        },
        Dim {
            used: |p| family(p).uses_trees(),
            why: [
                "larger leaves smooth the predictions",
                "smaller leaves fit finer structure",
            ],
            ..dim(
                "/model/min_leaf",
                "minimum rows per leaf",
                vals![1, 3, 10, 30],
                1,
            )
        },
        Dim {
            used: |p| family(p).uses_c(),
            why: [
                "weaker regularisation fits more signal",
                "stronger regularisation overfits less",
            ],
            drafted: Some(vals![0.3, 1.0, 3.0, 10.0]),
            ..dim(
                "/model/c",
                "inverse regularisation C",
                vals![0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0],
                4,
            )
        },
        Dim {
            used: |p| family(p) == Family::Knn,
            why: [
                "more neighbours smooth the predictions",
                "fewer neighbours follow local structure",
            ],
            drafted: Some(vals![5, 10, 20]),
            ..dim(
                "/model/neighbors",
                "number of neighbours",
                vals![3, 5, 10, 20, 50],
                2,
            )
        },
        Dim {
            cost: true,
            why: [
                "more folds give a steadier estimate",
                "fewer folds run faster",
            ],
            ..dim("/folds", "cross-validation folds", vals![3, 4, 5], 0)
        },
        Dim {
            cost: true,
            drafted: Some(vals![1.0]),
            why: ["more rows usually help", "fewer rows run faster"],
            ..dim(
                "/subsample",
                "fraction of training rows",
                vals![0.25, 0.5, 0.75, 1.0],
                3,
            )
        },
    ];
    if shape.output == (Output::Regression { positive: false }) {
        dims.push(choice(
            "/log_target",
            "log-scale target",
            vals![false, true],
            "a skewed target is often easier to fit on a log scale",
        ));
    }
    dims.extend(match shape.input {
        Kind::Tabular => tabular(),
        Kind::Text => text(),
        Kind::Image => image(),
    });
    dims
}

fn scale_dim() -> Dim {
    Dim {
        used: |p| family(p).scale_sensitive(),
        ..choice(
            "/input/scale",
            "feature scaling",
            vals!["standard", "robust", "quantile"],
            "this model depends on the features' scales",
        )
    }
}

fn tabular() -> Vec<Dim> {
    vec![
        choice(
            "/input/impute",
            "imputation",
            vals!["median", "mean"],
            "the value that fills missing entries shifts what the model sees",
        ),
        scale_dim(),
        choice(
            "/input/transform",
            "feature transform",
            vals!["none", "log", "sqrt", "poly"],
            "a transform can straighten skewed features or add interactions",
        ),
        Dim {
            default: 1,
            ..choice(
                "/input/engineer",
                "engineered features",
                vals![false, true],
                "derived features (dates, distances, codes) can carry signal the raw columns hide",
            )
        },
    ]
}

fn text() -> Vec<Dim> {
    fn analyzer(p: &Params) -> Option<Analyzer> {
        match p.input {
            Input::Text { analyzer, .. } => Some(analyzer),
            _ => None,
        }
    }
    vec![
        choice(
            "/input/analyzer",
            "tf-idf analyzer",
            vals!["word", "char_wb", "both"],
            "words catch vocabulary, characters catch spelling variants and style",
        ),
        Dim {
            cost: true,
            used: |p| analyzer(p) != Some(Analyzer::CharWb),
            why: [
                "longer word n-grams catch phrases and negations",
                "shorter word n-grams are less sparse",
            ],
            ..dim(
                "/input/word_ngrams",
                "longest word n-gram",
                vals![1, 2, 3],
                1,
            )
        },
        Dim {
            cost: true,
            used: |p| analyzer(p) != Some(Analyzer::Word),
            why: [
                "longer character n-grams catch word pieces",
                "shorter character n-grams are less sparse",
            ],
            ..dim(
                "/input/char_ngrams",
                "longest character n-gram",
                vals![3, 4, 5],
                1,
            )
        },
        Dim {
            cost: true,
            why: [
                "a larger vocabulary keeps rarer terms",
                "a smaller vocabulary is faster and less noisy",
            ],
            drafted: Some(vals![20000, 50000, 200000]),
            ..dim(
                "/input/max_features",
                "vocabulary size",
                vals![5000, 20000, 50000, 200000],
                1,
            )
        },
        Dim {
            why: [
                "dropping rare terms removes noise",
                "keeping rare terms keeps rare cues",
            ],
            drafted: Some(vals![1, 2]),
            ..dim(
                "/input/min_df",
                "minimum document frequency",
                vals![1, 2, 3],
                1,
            )
        },
        Dim {
            default: 1,
            ..choice(
                "/input/sublinear_tf",
                "sublinear tf",
                vals![false, true],
                "damping repeated terms changes what dominates",
            )
        },
    ]
}

fn image() -> Vec<Dim> {
    vec![
        Dim {
            cost: true,
            why: [
                "more pixels keep finer detail",
                "fewer pixels are faster and less noisy",
            ],
            drafted: Some(vals![12, 16, 24]),
            ..dim(
                "/input/size",
                "image side in pixels",
                vals![8, 12, 16, 24],
                2,
            )
        },
        Dim {
            default: 1,
            ..choice(
                "/input/norm",
                "image normalisation",
                vals!["raw", "contrast", "crop"],
                "normalising background, polarity and position removes nuisance variation",
            )
        },
        scale_dim(),
    ]
}

/// Checks that parameters (e.g. read from a parent's header) belong to this task's space.
pub(crate) fn check(shape: &Shape, p: &Params) -> Result<(), Error> {
    let kind = match p.input {
        Input::Tabular { .. } => Kind::Tabular,
        Input::Text { .. } => Kind::Text,
        Input::Image { .. } => Kind::Image,
    };
    if kind != shape.input {
        return Err(Error::Mismatch(format!(
            "{kind:?} features for a {:?} task",
            shape.input
        )));
    }
    if !families(shape).contains(&p.model.family) {
        return Err(Error::Mismatch(format!(
            "model family {:?} does not fit this task",
            p.model.family
        )));
    }
    if p.log_target.is_some() != (shape.output == (Output::Regression { positive: false })) {
        return Err(Error::Mismatch(
            "log_target is only for RMSE/MAE regression".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::builtin::moves::safe;
    use crate::builtin::preview::tests::preview;

    pub(crate) fn shapes() -> Vec<Shape> {
        let mut image = preview("auc-roc", &["y"], &["y"], &[]);
        image.files.push("images/".into());
        [
            preview("auc-roc", &["target"], &["target"], &["a", "b"]),
            preview("root-mean-squared-error", &["fare"], &["fare"], &["a"]),
            preview("multi-class-log-loss", &["A", "B"], &["author"], &["text"]),
            image,
        ]
        .iter()
        .map(|p| Shape::of(p).unwrap())
        .collect()
    }

    #[test]
    fn every_default_and_draft_choice_is_a_value_of_its_dimension() {
        for shape in shapes() {
            for d in space(&shape) {
                assert!(d.default < d.values.len(), "{}", d.pointer);
                for x in d.drafted.iter().flatten() {
                    assert!(d.values.contains(x), "{}", d.pointer);
                }
                assert!(
                    !d.ordered || d.why.iter().all(|w| !w.is_empty()),
                    "{}",
                    d.pointer
                );
            }
        }
    }

    #[test]
    fn mismatched_parameters_are_refused() {
        let s = shapes();
        let text = safe(&s[2], 0, 0);
        assert!(matches!(check(&s[0], &text), Err(Error::Mismatch(_))));
        let mut lda = safe(&s[0], 0, 0);
        lda.model.family = Family::Lda;
        assert!(check(&s[0], &lda).is_ok());
        assert!(
            check(&s[1], &{
                let mut r = safe(&s[1], 0, 0);
                r.model.family = Family::Lda;
                r
            })
            .is_err()
        );
    }
}
