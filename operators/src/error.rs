//! The crate's one error type.

/// Why an operator could not produce a program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the builtin generator does not know grader {0:?} (it knows: {known})", known = crate::builtin::KNOWN_GRADERS.join(", "))]
    UnknownGrader(String),
    #[error(
        "the data preview names no target columns (the sample submission's columns after the id)"
    )]
    NoTargets,
    #[error("grader {grader:?} predicts one label column, but the sample submission has {columns}")]
    SeveralLabelColumns { grader: String, columns: usize },
    #[error("the parent program does not start with a `# randori-builtin: {{...}}` line")]
    MissingHeader,
    #[error("the parent program's parameter line does not parse: {0}")]
    BadHeader(#[from] serde_json::Error),
    #[error("the parent's parameters do not fit this task: {0}")]
    Mismatch(String),
}
