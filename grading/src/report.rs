//! Grading one node's submission: MLE-bench's `CompetitionReport` on the test rows, and the
//! validation score the search may see. Pure: the caller loads the files.

use std::collections::HashSet;

use crate::medals::{Leaderboard, Medal, Thresholds};
use crate::metrics::{Column, Metric};
use crate::rows::split_submission;
use crate::submission::{Columns, Invalid, Submission};
use crate::table::Table;

/// Everything needed to grade submissions for one task, loaded once.
#[derive(Debug)]
pub struct TaskGrader {
    pub task_id: String,
    pub scorer: Scorer,
    pub columns: Columns,
    pub test_answers: Table,
    /// Hidden validation answers: then the public test file mixes validation and test rows.
    pub validation_answers: Option<Table>,
    pub leaderboard: Leaderboard,
}

/// How a task's submissions are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scorer {
    Metric(Metric),
    /// By the task's own grading program, which the caller runs (in a container of its own,
    /// where the private answers are mounted): see `TaskGrader::grade_with`.
    External,
    /// By an MLE-bench competition's own grade function, which the caller runs on the file as
    /// the agent wrote it and which decides validity itself (an exception makes it invalid),
    /// as `mlebench grade` does.
    Competition,
}

impl Scorer {
    /// The grading path, as a node's grade and `task list` name it: `native` (a Rust metric),
    /// `grade.py` (the task's own program) or `mlebench` (the competition's own grade function).
    pub fn path(self) -> &'static str {
        match self {
            Scorer::Metric(_) => "native",
            Scorer::External => "grade.py",
            Scorer::Competition => "mlebench",
        }
    }
}

/// Scores a submission's rows (as CSV, header included) against one set of answers; the
/// caller's hook for `Scorer::External` and `Scorer::Competition`. For `Scorer::Competition`
/// it gets the submission's bytes unchanged (with hidden validation, the rows of one side,
/// each as written), and the test answers table is empty: the caller reads the answers file.
pub type ExternalScore<'a> = &'a dyn Fn(&[u8], Answers<'_>) -> Result<f64, String>;

/// The answers a score is computed against.
#[derive(Debug, Clone, Copy)]
pub enum Answers<'a> {
    Test(&'a Table),
    Validation(&'a Table),
}

impl<'a> Answers<'a> {
    pub fn table(self) -> &'a Table {
        match self {
            Answers::Test(t) | Answers::Validation(t) => t,
        }
    }
}

/// MLE-bench's `CompetitionReport` fields for the test rows.
#[derive(Debug, Clone, PartialEq)]
pub struct CompetitionReport {
    pub competition_id: String,
    /// Rounded to 5 decimals, as MLE-bench does; None when the submission is invalid.
    pub score: Option<f64>,
    pub thresholds: Thresholds,
    pub medal: Medal,
    pub above_median: bool,
    pub submission_exists: bool,
    pub valid_submission: bool,
    pub is_lower_better: bool,
}

impl CompetitionReport {
    pub fn any_medal(&self) -> bool {
        self.medal != Medal::None
    }
}

/// Where a node's validation score came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationSource {
    /// Scored by the system on hidden validation rows.
    Hidden,
    /// The `randori:metric=<float>` line the program printed last.
    Printed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Grade {
    pub report: CompetitionReport,
    /// What the search sees. Never derived from the test rows.
    pub val_score: Option<f64>,
    pub val_source: ValidationSource,
    /// Why the submission is invalid, when it is.
    pub invalid_reason: Option<String>,
    /// Why the hidden validation rows scored nothing while the test rows were valid (a
    /// competition's grade function judges the two sides apart).
    pub validation_invalid_reason: Option<String>,
    /// Which path scored it: [`Scorer::path`].
    pub graded_by: &'static str,
}

impl TaskGrader {
    /// Every id the submission must cover: validation rows (if hidden) then test rows.
    fn expected_ids(&self) -> Result<Vec<&str>, Invalid> {
        let mut ids = Vec::new();
        for answers in self.validation_answers.iter().chain([&self.test_answers]) {
            let c = answers.column_index(&self.columns.id).ok_or_else(|| {
                Invalid::Columns(format!(
                    "the answers lack the id column {:?}",
                    self.columns.id
                ))
            })?;
            ids.extend(answers.rows.iter().map(|r| r[c].trim()));
        }
        Ok(ids)
    }

    /// Grades a submission (None: the program wrote none) with a Rust metric. `stdout_tail` is
    /// the end of the program's output, where the printed metric line is looked for.
    pub fn grade(&self, submission: Option<&[u8]>, stdout_tail: &str) -> Grade {
        self.grade_with(submission, stdout_tail, &|_, _| {
            Err("this task's grader runs outside the process; use grade_with".to_owned())
        })
    }

    /// As `grade`, with `external` scoring the rows when the task's scorer is external. The
    /// submission is validated here for every scorer but `Competition`, whose grade function
    /// judges the file itself.
    pub fn grade_with(
        &self,
        submission: Option<&[u8]>,
        stdout_tail: &str,
        external: ExternalScore<'_>,
    ) -> Grade {
        let scored = submission.map(|bytes| self.score(bytes, external));
        let (test_score, hidden_val, invalid_reason) = match scored {
            None => (None, None, Some("no submission.csv was written".to_owned())),
            Some(Ok((test, val))) => (Some(round5(test)), val, None),
            Some(Err(e)) => (None, None, Some(e.to_string())),
        };
        let (hidden_val, validation_invalid_reason) = match hidden_val {
            Some(Err(e)) => (None, Some(e.to_string())),
            Some(Ok(v)) => (Some(v), None),
            None => (None, None),
        };
        let (val_score, val_source) = match (&self.validation_answers, &invalid_reason) {
            (Some(_), None) => (hidden_val, ValidationSource::Hidden),
            (Some(_), Some(_)) => (None, ValidationSource::Hidden),
            (None, _) => (printed_metric(stdout_tail), ValidationSource::Printed),
        };
        let rank = self.leaderboard.rank(test_score);
        Grade {
            report: CompetitionReport {
                competition_id: self.task_id.clone(),
                score: test_score,
                thresholds: rank.thresholds,
                medal: rank.medal,
                above_median: rank.above_median,
                submission_exists: submission.is_some(),
                valid_submission: test_score.is_some(),
                is_lower_better: rank.lower_is_better,
            },
            // A NaN from a grade function is a valid submission to MLE-bench, but no score a
            // search can compare.
            val_score: val_score.map(round5).filter(|v| v.is_finite()),
            val_source,
            invalid_reason,
            validation_invalid_reason,
            graded_by: self.scorer.path(),
        }
    }

    /// The test score and, with hidden validation, the validation score (or why it has none).
    #[allow(clippy::type_complexity)]
    fn score(
        &self,
        bytes: &[u8],
        external: ExternalScore<'_>,
    ) -> Result<(f64, Option<Result<f64, Invalid>>), Invalid> {
        if self.scorer == Scorer::Competition {
            return self.score_competition(bytes, external);
        }
        let table = Table::parse(bytes)?;
        let submission = Submission::check(&self.columns, table, &self.expected_ids()?)?;
        let score_on = |which: Answers<'_>| -> Result<f64, Invalid> {
            let answers = which.table();
            match self.scorer {
                Scorer::Metric(metric) => {
                    let (truth, predicted) = submission.aligned_with(&self.columns, answers)?;
                    if takes_probabilities(metric) {
                        check_probabilities(&self.columns, &predicted)?;
                    }
                    Ok(metric.score(&truth, &predicted)?)
                }
                Scorer::External | Scorer::Competition => {
                    let rows = submission.rows_as_csv(&self.columns, answers)?;
                    let score = external(&rows, which).map_err(Invalid::External)?;
                    if score.is_finite() {
                        Ok(score)
                    } else {
                        Err(Invalid::External(format!("the grader returned {score}")))
                    }
                }
            }
        };
        let test = score_on(Answers::Test(&self.test_answers))?;
        let val = self
            .validation_answers
            .as_ref()
            .map(|v| score_on(Answers::Validation(v)))
            .transpose()?;
        Ok((test, val.map(Ok)))
    }

    /// A competition's grade function judges the file; with hidden validation, the rows of
    /// the validation ids and the others apart, so that the test side's grade is the one
    /// `mlebench grade` gives for the test rows alone, whatever the validation side holds.
    #[allow(clippy::type_complexity)]
    fn score_competition(
        &self,
        bytes: &[u8],
        external: ExternalScore<'_>,
    ) -> Result<(f64, Option<Result<f64, Invalid>>), Invalid> {
        let Some(validation) = &self.validation_answers else {
            let test = external(bytes, Answers::Test(&self.test_answers));
            return Ok((test.map_err(Invalid::External)?, None));
        };
        let ids = validation_ids(validation, &self.columns.id);
        let Some(parts) = split_submission(bytes, &self.columns.id, &ids) else {
            let test = external(bytes, Answers::Test(&self.test_answers));
            let why = format!(
                "no {:?} column to find the validation rows by",
                self.columns.id
            );
            return Ok((
                test.map_err(Invalid::External)?,
                Some(Err(Invalid::External(why))),
            ));
        };
        let test =
            external(&parts.test, Answers::Test(&self.test_answers)).map_err(Invalid::External)?;
        let val =
            external(&parts.validation, Answers::Validation(validation)).map_err(Invalid::External);
        Ok((test, Some(val)))
    }

    /// The test side of a submission as its competition's grade function sees it: with hidden
    /// validation, the file without the validation rows; otherwise the file itself.
    pub fn test_side(&self, bytes: &[u8]) -> Vec<u8> {
        match &self.validation_answers {
            Some(v) if self.scorer == Scorer::Competition => {
                let ids = validation_ids(v, &self.columns.id);
                split_submission(bytes, &self.columns.id, &ids)
                    .map_or_else(|| bytes.to_vec(), |p| p.test)
            }
            _ => bytes.to_vec(),
        }
    }
}

/// The ids of the validation answers (empty without the id column).
fn validation_ids(answers: &Table, id_column: &str) -> HashSet<String> {
    answers
        .column_index(id_column)
        .map_or_else(HashSet::new, |c| {
            answers.rows.iter().map(|r| r[c].clone()).collect()
        })
}

/// Metrics whose submissions are probabilities (Kaggle asks for them in AUC competitions too).
pub fn takes_probabilities(metric: Metric) -> bool {
    matches!(
        metric,
        Metric::AucRoc | Metric::MeanColumnwiseAucRoc | Metric::LogLoss | Metric::MultiClassLogLoss
    )
}

fn check_probabilities(columns: &Columns, predicted: &[Column]) -> Result<(), Invalid> {
    for (name, col) in columns.targets.iter().zip(predicted) {
        let bad = match col {
            Column::Numbers(v) => v
                .iter()
                .find(|p| !(0.0..=1.0).contains(*p))
                .map(f64::to_string),
            Column::Labels(v) => v.first().cloned(),
        };
        if let Some(value) = bad {
            return Err(Invalid::Probability {
                column: name.clone(),
                value,
            });
        }
    }
    Ok(())
}

/// The value of a last output line `randori:metric=<float>`, if the program printed one.
pub fn printed_metric(stdout_tail: &str) -> Option<f64> {
    let last = stdout_tail.lines().rev().find(|l| !l.trim().is_empty())?;
    let v: f64 = last
        .trim()
        .strip_prefix("randori:metric=")?
        .trim()
        .parse()
        .ok()?;
    v.is_finite().then_some(v)
}

/// Python's `round(x, 5)`: correctly rounded through the decimal representation.
pub fn round5(x: f64) -> f64 {
    format!("{x:.5}").parse().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grader(hidden: bool) -> TaskGrader {
        let t = |s: &str| Table::parse(s.as_bytes()).unwrap();
        TaskGrader {
            task_id: "toy".into(),
            scorer: Scorer::Metric(Metric::Rmse),
            columns: Columns {
                id: "id".into(),
                targets: vec!["y".into()],
            },
            test_answers: t("id,y\n1,1.0\n2,2.0\n"),
            validation_answers: hidden.then(|| t("id,y\n3,3.0\n4,4.0\n")),
            leaderboard: Leaderboard::new((1..=20).map(|i| i as f64 / 10.0).collect()).unwrap(),
        }
    }

    #[test]
    fn hidden_validation_scores_the_validation_rows_apart_from_the_test_rows() {
        let sub = b"id,y\n4,4.0\n1,1.0\n3,5.0\n2,2.0\n";
        let g = grader(true).grade(Some(sub), "randori:metric=0.0\n");
        assert_eq!(g.report.score, Some(0.0));
        assert_eq!(g.report.medal, Medal::Gold);
        assert_eq!(g.val_source, ValidationSource::Hidden);
        assert_eq!(g.graded_by, "native");
        // sqrt((2^2 + 0) / 2), and not the printed 0.0
        assert_eq!(g.val_score, Some(round5(2f64.sqrt())));
        assert!(g.report.valid_submission && g.report.submission_exists);
    }

    #[test]
    fn without_hidden_validation_the_printed_metric_is_the_validation_score() {
        let g = grader(false).grade(
            Some(b"id,y\n1,1.5\n2,2.0\n"),
            "cv 1\nrandori:metric=0.25\n\n",
        );
        assert_eq!(g.val_source, ValidationSource::Printed);
        assert_eq!(g.val_score, Some(0.25));
        assert_eq!(g.report.score, Some(round5((0.25f64 / 2.0).sqrt())));
        let silent =
            grader(false).grade(Some(b"id,y\n1,1.5\n2,2.0\n"), "randori:metric=0.25\ndone\n");
        assert_eq!(silent.val_score, None, "only the last line counts");
    }

    #[test]
    fn an_invalid_or_missing_submission_scores_nothing_and_wins_nothing() {
        let cases: &[(Option<&[u8]>, bool, &str)] = &[
            (None, false, "no submission.csv was written"),
            (Some(b"id,y\n1,1.0\n"), true, "expected 4 rows, found 1"),
            (
                Some(b"id,z\n1,1\n2,1\n3,1\n4,1\n"),
                true,
                "columns: missing [\"y\"], unexpected [\"z\"]",
            ),
        ];
        for (sub, exists, reason) in cases {
            let g = grader(true).grade(*sub, "randori:metric=0.1");
            assert_eq!(g.report.score, None);
            assert_eq!(g.val_score, None);
            assert_eq!(g.report.medal, Medal::None);
            assert!(!g.report.above_median && !g.report.valid_submission);
            assert_eq!(g.report.submission_exists, *exists);
            assert_eq!(g.invalid_reason.as_deref(), Some(*reason));
        }
    }

    #[test]
    fn an_external_grader_scores_the_rows_of_each_answers_table() {
        let mut g = grader(true);
        g.scorer = Scorer::External;
        let seen = std::cell::RefCell::new(Vec::new());
        let external = |rows: &[u8], answers: Answers<'_>| {
            seen.borrow_mut()
                .push(String::from_utf8(rows.to_vec()).unwrap());
            Ok(answers.table().rows.len() as f64 / 10.0)
        };
        let graded = g.grade_with(Some(b"id,y\n4,4\n1,1\n3,3\n2,2\n"), "", &external);
        assert_eq!(*seen.borrow(), ["id,y\n1,1\n2,2\n", "id,y\n3,3\n4,4\n"]);
        assert_eq!(
            (graded.report.score, graded.val_score),
            (Some(0.2), Some(0.2))
        );
        let failing = g.grade_with(Some(b"id,y\n4,4\n1,1\n3,3\n2,2\n"), "", &|_, _| {
            Err("boom".into())
        });
        assert_eq!(failing.invalid_reason.as_deref(), Some("grader: boom"));
        assert_eq!(failing.graded_by, "grade.py");
        assert_eq!(failing.report.score, None);
    }

    #[test]
    fn a_competition_with_hidden_validation_grades_each_side_apart_on_its_own_rows() {
        let mut g = grader(true);
        g.scorer = Scorer::Competition;
        let seen = std::cell::RefCell::new(Vec::new());
        let external = |rows: &[u8], answers: Answers<'_>| {
            let rows = String::from_utf8(rows.to_vec()).unwrap();
            seen.borrow_mut().push(rows.clone());
            match answers {
                Answers::Test(_) => Ok(0.25),
                Answers::Validation(_) if rows.contains("bad") => Err("no".to_owned()),
                Answers::Validation(_) => Ok(0.5),
            }
        };
        let file = b"id,y\n4,4.0\n1,1.0\n3, 5\n2,2.0\n";
        let graded = g.grade_with(Some(file), "", &external);
        assert_eq!(
            *seen.borrow(),
            ["id,y\n1,1.0\n2,2.0\n", "id,y\n4,4.0\n3, 5\n"]
        );
        assert_eq!(
            (graded.report.score, graded.val_score),
            (Some(0.25), Some(0.5))
        );
        assert_eq!(graded.val_source, ValidationSource::Hidden);
        assert_eq!(g.test_side(file), b"id,y\n1,1.0\n2,2.0\n");
        // An invalid validation side leaves the test side's grade as it is.
        let graded = g.grade_with(Some(b"id,y\n1,1\n2,2\n3,bad\n4,4\n"), "", &external);
        assert_eq!((graded.report.score, graded.val_score), (Some(0.25), None));
        assert!(graded.report.valid_submission && graded.invalid_reason.is_none());
        assert_eq!(
            graded.validation_invalid_reason.as_deref(),
            Some("grader: no")
        );
        // Without the id column nothing can be split: the whole file is the test side's.
        let graded = g.grade_with(Some(b"key,y\n1,1\n"), "", &external);
        assert_eq!(graded.report.score, Some(0.25));
        assert!(
            graded
                .validation_invalid_reason
                .unwrap()
                .contains("no \"id\" column")
        );
    }

    #[test]
    fn a_nan_from_a_competitions_grader_is_valid_and_wins_nothing_as_in_mle_bench() {
        let mut g = grader(false);
        g.scorer = Scorer::Competition;
        let graded = g.grade_with(Some(b"id,y\n"), "randori:metric=0.5", &|_, _| Ok(f64::NAN));
        assert!(graded.report.valid_submission && graded.invalid_reason.is_none());
        assert!(graded.report.score.unwrap().is_nan());
        assert_eq!(
            (graded.report.medal, graded.report.above_median),
            (Medal::None, false)
        );
    }

    #[test]
    fn rounds_like_python() {
        let cases = [
            (0.123456789, 0.12346),
            (1.0, 1.0),
            (2.675e-5, 3e-5),
            (0.000004, 0.0),
        ];
        for (x, want) in cases {
            assert_eq!(round5(x), want, "{x}");
        }
        assert_eq!(printed_metric("randori:metric=nan"), None);
        assert_eq!(printed_metric("randori:metric= 0.5 "), Some(0.5));
    }
}
