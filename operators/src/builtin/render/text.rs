//! Text features: the longest string column of test.csv (found at run time), as tf-idf word
//! and/or character n-grams fitted inside each fold.

use super::{Section, fill, py_bool};
use crate::builtin::params::{Analyzer, Input, Params};

pub(super) fn section(p: &Params) -> Section {
    let Input::Text {
        analyzer,
        word_ngrams,
        char_ngrams,
        max_features,
        min_df,
        sublinear_tf,
    } = p.input
    else {
        unreachable!("text section for {:?}", p.input)
    };
    let common = format!(
        "max_features={max_features}, min_df={min_df}, sublinear_tf={}",
        py_bool(sublinear_tf)
    );
    // Words keep punctuation and one-letter words: both carry style.
    let word = |indent: &str| {
        format!(
            "TfidfVectorizer(token_pattern=r\"(?u)\\b\\w+\\b|[^\\w\\s]\", ngram_range=(1, {word_ngrams}),\n{indent}{common})"
        )
    };
    let chars = |indent: &str| {
        format!(
            "TfidfVectorizer(analyzer=\"char_wb\", ngram_range=(2, {char_ngrams}),\n{indent}{common})"
        )
    };
    let mut imports = vec!["from sklearn.feature_extraction.text import TfidfVectorizer"];
    let prep = match analyzer {
        Analyzer::Word => word("                           "),
        Analyzer::CharWb => chars("                           "),
        Analyzer::Both => {
            imports.push("from sklearn.pipeline import make_union");
            let indent = "                        ";
            format!(
                "make_union(\n        {},\n        {},\n    )",
                word(indent),
                chars(indent)
            )
        }
    };
    let code = fill(
        r#"
TEXT = max([c for c in FEATURES if test[c].dtype == object] or FEATURES,
           key=lambda c: test[c].astype(str).str.len().mean())
print(f"text column: {TEXT}")
X = train[TEXT].fillna("").astype(str).to_numpy()
XT = test[TEXT].fillna("").astype(str).to_numpy()


def make_prep():
    return $PREP
"#,
        &[("PREP", prep)],
    );
    Section { imports, code }
}
