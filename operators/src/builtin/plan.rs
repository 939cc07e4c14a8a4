//! Plans: one paragraph saying what a program does and why, in words.

use super::params::{Analyzer, Family, ImageNorm, Input, Params, Scale, Transform, depth, name};
use super::preview::{Output, Shape};

/// What the program does, as a sentence or three.
pub(crate) fn describe(shape: &Shape, p: &Params) -> String {
    let features = match &p.input {
        Input::Tabular {
            impute,
            scale,
            transform,
            engineer,
        } => {
            let mut s = "every test column encoded by what it holds (numbers as they are, dates as years, short strings as codes)".to_owned();
            if *engineer {
                s.push_str(", plus engineered features (date parts, distances between coordinate pairs, characters of fixed-width codes, one-hot groups as codes)");
            }
            s.push_str(match transform {
                Transform::None => "",
                Transform::Log => ", signed-log transformed",
                Transform::Sqrt => ", signed-square-root transformed",
                Transform::Poly => ", with pairwise products of the 8 most varied columns",
            });
            s.push_str(&format!(", {} imputation", name(impute)));
            if p.model.family.scale_sensitive() {
                s.push_str(&format!(" and {}", scaling(*scale)));
            }
            s
        }
        Input::Text {
            analyzer,
            word_ngrams,
            char_ngrams,
            max_features,
            min_df,
            sublinear_tf,
        } => {
            let grams = match analyzer {
                Analyzer::Word => format!("word 1-{word_ngrams}-grams"),
                Analyzer::CharWb => format!("character 2-{char_ngrams}-grams"),
                Analyzer::Both => {
                    format!("word 1-{word_ngrams}-grams and character 2-{char_ngrams}-grams")
                }
            };
            format!(
                "tf-idf of {grams} of the longest text column (at most {max_features} terms each, min_df {min_df}{})",
                if *sublinear_tf { ", sublinear tf" } else { "" }
            )
        }
        Input::Image { size, norm, scale } => {
            let norm = match norm {
                ImageNorm::Raw => "as they are",
                ImageNorm::Contrast => "with the background removed and the object made bright",
                ImageNorm::Crop => {
                    "with the background removed, the object made bright and cropped to its bounding box"
                }
            };
            let mut s =
                format!("every image in grey levels {norm}, resized to {size}x{size} pixels");
            if p.model.family.scale_sensitive() {
                s.push_str(&format!(", {}", scaling(*scale)));
            }
            s
        }
    };
    let m = &p.model;
    let model = match m.family {
        Family::RandomForest | Family::ExtraTrees => format!(
            "{} of {} trees (depth {}, at least {} rows per leaf)",
            m.family.label(),
            m.trees,
            depth(m.depth),
            m.min_leaf
        ),
        Family::HistGb => format!(
            "{} with up to {} rounds (learning rate {}, depth {}, at least {} rows per leaf; stopping early when 10% held-out rows stop improving)",
            m.family.label(),
            m.trees,
            m.learning_rate,
            depth(m.depth),
            m.min_leaf
        ),
        Family::Linear if shape.output.is_regression() => {
            format!("ridge regression (alpha {})", m.ridge_alpha())
        }
        Family::Linear => format!("logistic regression (C {})", m.c),
        Family::NaiveBayes => format!("{} (alpha {})", m.family.label(), m.nb_alpha()),
        Family::Svm => format!("{} (C {})", m.family.label(), m.c),
        Family::Knn => format!(
            "{} (k {}, distance-weighted)",
            m.family.label(),
            m.neighbors
        ),
        Family::Lda => m.family.label().to_owned(),
    };
    let target = match shape.output {
        Output::Binary => "the positive class's probability",
        Output::MultiClass => "one probability per class (floored at 1e-4, rows summing to 1)",
        Output::Labels => "the label",
        Output::MultiLabel => "an independent probability per label column",
        Output::Regression { positive: true } => {
            "each target on the log1p scale, clipped non-negative"
        }
        Output::Regression { positive: false } if p.log_target == Some(true) => {
            "each target on a signed log scale"
        }
        Output::Regression { positive: false } => "each target",
    };
    let rows = if p.subsample < 1.0 {
        format!("a {:.0}% sample of the training rows", p.subsample * 100.0)
    } else {
        "all training rows".to_owned()
    };
    format!(
        "Features: {features}. Model: {model}, predicting {target}. Estimate: {}-fold cross-validated {} ({} is better) on {rows}, printed last.",
        p.folds,
        shape.grader,
        if shape.metric.lower_is_better() {
            "lower"
        } else {
            "higher"
        },
    )
}

fn scaling(s: Scale) -> &'static str {
    match s {
        Scale::Standard => "standard scaling",
        Scale::Robust => "robust (median/IQR) scaling",
        Scale::Quantile => "a quantile map to a normal distribution",
    }
}
