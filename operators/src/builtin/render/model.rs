//! The estimator: `make_model(target)` for the family, as a classifier or a regressor, always on
//! one core.

use super::{Section, py_num, py_opt};
use crate::builtin::params::{Family, Params};
use crate::builtin::preview::{Output, Shape};

pub(super) fn section(shape: &Shape, p: &Params) -> Section {
    let m = &p.model;
    let regress = shape.output.is_regression();
    let probabilities = !regress && shape.output != Output::Labels;
    let pick = |clf: &'static str, reg: &'static str| if regress { reg } else { clf };
    let trees = format!(
        "n_estimators={}, max_depth={}, min_samples_leaf={}, n_jobs=1, random_state=SEED",
        m.trees,
        py_opt(m.depth),
        m.min_leaf
    );
    let (import, call) = match m.family {
        Family::Linear => (
            pick(
                "from sklearn.linear_model import LogisticRegression",
                "from sklearn.linear_model import Ridge",
            ),
            if regress {
                format!("Ridge(alpha={})", py_num(m.ridge_alpha()))
            } else {
                format!("LogisticRegression(C={}, max_iter=2000)", py_num(m.c))
            },
        ),
        Family::Lda => (
            "from sklearn.discriminant_analysis import LinearDiscriminantAnalysis",
            "LinearDiscriminantAnalysis(solver=\"lsqr\", shrinkage=\"auto\")".to_owned(),
        ),
        Family::Knn => (
            pick(
                "from sklearn.neighbors import KNeighborsClassifier",
                "from sklearn.neighbors import KNeighborsRegressor",
            ),
            format!(
                "{}(n_neighbors={}, weights=\"distance\")",
                pick("KNeighborsClassifier", "KNeighborsRegressor"),
                m.neighbors
            ),
        ),
        Family::Svm => (
            pick("from sklearn.svm import SVC", "from sklearn.svm import SVR"),
            if regress {
                format!("SVR(C={})", py_num(m.c))
            } else {
                format!(
                    "SVC(C={}, probability={}, random_state=SEED)",
                    py_num(m.c),
                    if probabilities { "True" } else { "False" }
                )
            },
        ),
        Family::RandomForest => (
            pick(
                "from sklearn.ensemble import RandomForestClassifier",
                "from sklearn.ensemble import RandomForestRegressor",
            ),
            format!(
                "{}({trees})",
                pick("RandomForestClassifier", "RandomForestRegressor")
            ),
        ),
        Family::ExtraTrees => (
            pick(
                "from sklearn.ensemble import ExtraTreesClassifier",
                "from sklearn.ensemble import ExtraTreesRegressor",
            ),
            format!(
                "{}({trees})",
                pick("ExtraTreesClassifier", "ExtraTreesRegressor")
            ),
        ),
        Family::HistGb => (
            pick(
                "from sklearn.ensemble import HistGradientBoostingClassifier",
                "from sklearn.ensemble import HistGradientBoostingRegressor",
            ),
            format!(
                "{}(max_iter={}, learning_rate={}, max_depth={}, min_samples_leaf={}, early_stopping={}, validation_fraction=0.1, n_iter_no_change=10, random_state=SEED)",
                pick(
                    "HistGradientBoostingClassifier",
                    "HistGradientBoostingRegressor"
                ),
                m.trees,
                py_num(m.learning_rate),
                py_opt(m.depth),
                m.min_leaf,
                pick("stop_early(target)", "True"),
            ),
        ),
        Family::NaiveBayes => (
            "from sklearn.naive_bayes import MultinomialNB",
            format!("MultinomialNB(alpha={})", py_num(m.nb_alpha())),
        ),
    };
    let helper = if m.family == Family::HistGb && !regress {
        STOP_EARLY
    } else {
        ""
    };
    Section {
        imports: vec![import],
        code: format!("{helper}\n\ndef make_model(target):\n    return {call}\n"),
    }
}

/// Boosting stops early on 10% held-out rows, which scikit-learn stratifies by class: only
/// possible when every class has rows enough to appear there.
const STOP_EARLY: &str = r#"

def stop_early(target):
    """Whether 10% held-out rows, stratified, hold every class twice."""
    return np.unique(target, return_counts=True)[1].min() >= 20
"#;
