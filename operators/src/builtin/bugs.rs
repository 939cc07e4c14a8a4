//! Deliberately broken variants: recorded in the header, injected into the rendered code at
//! fixed anchors, recognised from the failure they cause. They let the Debug path run offline.

use serde::{Deserialize, Serialize};

use super::operators::Failure;
use super::render::anchors;

/// A bug the generator injects on purpose, each with a distinct symptom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bug {
    /// `import numpy as np` left out: `NameError: name 'np' is not defined`.
    MissingImport,
    /// The id column misspelled: `KeyError: '<id><last char>'`.
    MisspelledColumn,
    /// `pd.read_cvs`: `AttributeError: module 'pandas' has no attribute 'read_cvs'`.
    AttributeTypo,
    /// The submission written as `submision.csv`: exit 0, but no submission.
    WrongSubmissionPath,
}

impl Bug {
    pub(crate) const ALL: [Bug; 4] = [
        Bug::MissingImport,
        Bug::MisspelledColumn,
        Bug::AttributeTypo,
        Bug::WrongSubmissionPath,
    ];

    pub(crate) fn inject(self, code: &str, id: &str) -> String {
        let (anchor, broken) = match self {
            Bug::MissingImport => (anchors::NUMPY_IMPORT.to_owned(), String::new()),
            Bug::MisspelledColumn => (
                anchors::IDS.to_owned(),
                anchors::IDS.replace(
                    "test[ID]",
                    &format!("test[{}]", serde_json::json!(misspelled(id))),
                ),
            ),
            Bug::AttributeTypo => (
                anchors::READ_TEST.to_owned(),
                anchors::READ_TEST.replace("read_csv", "read_cvs"),
            ),
            Bug::WrongSubmissionPath => (
                anchors::WRITE_SUBMISSION.to_owned(),
                anchors::WRITE_SUBMISSION.replace("submission.csv", "submision.csv"),
            ),
        };
        debug_assert!(code.contains(&anchor), "anchor {anchor:?} missing");
        code.replacen(&anchor, &broken, 1)
    }

    /// Whether `failure` is the symptom this bug causes.
    pub(crate) fn recognises(self, failure: &Failure, id: &str) -> bool {
        let err = &failure.stderr_tail;
        match self {
            Bug::MissingImport => err.contains("NameError: name 'np' is not defined"),
            Bug::MisspelledColumn => {
                err.contains("KeyError") && err.contains(&format!("'{}'", misspelled(id)))
            }
            Bug::AttributeTypo => err.contains("AttributeError") && err.contains("read_cvs"),
            Bug::WrongSubmissionPath => {
                failure.exit_code == Some(0) && failure.invalid_reason.is_some()
            }
        }
    }

    /// What went wrong and the fix, for the Debug plan.
    pub(crate) fn diagnosis(self, id: &str) -> String {
        match self {
            Bug::MissingImport => "the program uses numpy without importing it (NameError: name 'np' is not defined); add `import numpy as np`".into(),
            Bug::MisspelledColumn => format!(
                "the program reads the id column as {:?}, which test.csv does not have (KeyError); use {id:?}",
                misspelled(id)
            ),
            Bug::AttributeTypo => "the program calls pd.read_cvs, which pandas does not have (AttributeError); call pd.read_csv".into(),
            Bug::WrongSubmissionPath => {
                "the program ran but wrote submision.csv, so no submission was found; write submission.csv".into()
            }
        }
    }
}

/// The id column's name with its last character doubled (`id` → `idd`).
fn misspelled(id: &str) -> String {
    let mut s = id.to_owned();
    if let Some(c) = id.chars().last() {
        s.push(c);
    }
    s
}
