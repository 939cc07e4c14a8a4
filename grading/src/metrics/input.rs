//! Checking the shape of the inputs and reading columns as the values a metric needs, with the
//! row and column of the first bad value in the error.

use std::borrow::Cow;

use super::{Column, Metric, MetricError, Side};

/// How many target columns a metric takes.
#[derive(Debug, Clone, Copy)]
pub(super) enum Arity {
    One,
    AtLeast(usize),
}

/// Column counts first (each side, then against each other), then rows: every column on both
/// sides must have as many rows as answers column 0, and that must be at least one.
pub(super) fn check_shape(
    metric: Metric,
    answers: &[Column],
    predictions: &[Column],
) -> Result<(), MetricError> {
    for (side, columns) in [(Side::Answers, answers), (Side::Predictions, predictions)] {
        let fits = match metric.arity() {
            Arity::One => columns.len() == 1,
            Arity::AtLeast(min) => columns.len() >= min,
        };
        if !fits {
            let expected = match metric.arity() {
                Arity::One => "exactly 1 column".to_string(),
                Arity::AtLeast(1) => "at least 1 column".to_string(),
                Arity::AtLeast(min) => format!("at least {min} columns (one per class)"),
            };
            return Err(MetricError::ColumnCount {
                metric,
                side,
                expected,
                got: columns.len(),
            });
        }
    }
    if predictions.len() != answers.len() {
        return Err(MetricError::ColumnCount {
            metric,
            side: Side::Predictions,
            expected: format!("{} columns, as many as the answers", answers.len()),
            got: predictions.len(),
        });
    }

    let rows = answers[0].len();
    if rows == 0 {
        return Err(MetricError::NoRows);
    }
    for (side, columns) in [(Side::Answers, answers), (Side::Predictions, predictions)] {
        if let Some((column, c)) = columns.iter().enumerate().find(|(_, c)| c.len() != rows) {
            return Err(MetricError::RowCount {
                side,
                column,
                expected: rows,
                got: c.len(),
            });
        }
    }
    Ok(())
}

/// Finite numbers; labels are parsed (surrounding spaces allowed). NaN and infinities are
/// refused, as sklearn's input validation refuses them.
pub(super) fn numbers(
    side: Side,
    column: usize,
    values: &Column,
) -> Result<Cow<'_, [f64]>, MetricError> {
    let parsed = match values {
        Column::Numbers(numbers) => Cow::Borrowed(numbers.as_slice()),
        Column::Labels(labels) => Cow::Owned(
            labels
                .iter()
                .enumerate()
                .map(|(row, label)| {
                    label
                        .trim()
                        .parse::<f64>()
                        .map_err(|_| MetricError::NotNumeric {
                            side,
                            column,
                            row,
                            value: label.clone(),
                        })
                })
                .collect::<Result<Vec<f64>, _>>()?,
        ),
    };
    if let Some((row, value)) = parsed.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(MetricError::NotFinite {
            side,
            column,
            row,
            value: value.to_string(),
        });
    }
    Ok(parsed)
}

/// Numbers that must all satisfy `valid`; the first that does not is reported as not `expected`.
pub(super) fn numbers_where<'a>(
    side: Side,
    column: usize,
    values: &'a Column,
    valid: impl Fn(f64) -> bool,
    expected: &'static str,
) -> Result<Cow<'a, [f64]>, MetricError> {
    let parsed = numbers(side, column, values)?;
    if let Some((row, value)) = parsed.iter().enumerate().find(|(_, v)| !valid(**v)) {
        return Err(MetricError::InvalidValue {
            side,
            column,
            row,
            value: value.to_string(),
            expected,
        });
    }
    Ok(parsed)
}

pub(super) fn probabilities(
    side: Side,
    column: usize,
    values: &Column,
) -> Result<Cow<'_, [f64]>, MetricError> {
    numbers_where(
        side,
        column,
        values,
        |p| (0.0..=1.0).contains(&p),
        "a probability in [0, 1]",
    )
}

/// Binary answers: the numbers 0 and 1, or labels "0"/"1" (any numeric spelling) and
/// "True"/"False" (any case), as pandas may have read a boolean column.
pub(super) fn binary(side: Side, column: usize, values: &Column) -> Result<Vec<bool>, MetricError> {
    const EXPECTED: &str = "a binary label (0/1 or True/False)";
    let from_number = |row: usize, value: f64| {
        if value == 0.0 || value == 1.0 {
            Ok(value == 1.0)
        } else {
            Err(MetricError::InvalidValue {
                side,
                column,
                row,
                value: value.to_string(),
                expected: EXPECTED,
            })
        }
    };
    match values {
        Column::Numbers(numbers) => numbers
            .iter()
            .enumerate()
            .map(|(row, &v)| from_number(row, v))
            .collect(),
        Column::Labels(labels) => labels
            .iter()
            .enumerate()
            .map(|(row, label)| {
                let text = label.trim();
                if text.eq_ignore_ascii_case("true") {
                    Ok(true)
                } else if text.eq_ignore_ascii_case("false") {
                    Ok(false)
                } else {
                    match text.parse::<f64>() {
                        Ok(v) => from_number(row, v),
                        Err(_) => Err(MetricError::InvalidValue {
                            side,
                            column,
                            row,
                            value: format!("{label:?}"),
                            expected: EXPECTED,
                        }),
                    }
                }
            })
            .collect(),
    }
}

/// Integer class labels: integral numbers, or labels that parse as such ("3", "3.0").
pub(super) fn integers(
    side: Side,
    column: usize,
    values: &Column,
) -> Result<Vec<i64>, MetricError> {
    // Up to 2^53 every integer is exact in an f64, so the cast below loses nothing.
    const LIMIT: f64 = 9_007_199_254_740_992.0;
    let parsed = numbers_where(
        side,
        column,
        values,
        |v| v.fract() == 0.0 && v.abs() <= LIMIT,
        "an integer label",
    )?;
    Ok(parsed.iter().map(|&v| v as i64).collect())
}

/// Class labels as text, so that labels and numbers compare in one way: a label is its own
/// text, a number its canonical text (see `Metric::Accuracy`).
pub(super) fn label_texts(
    side: Side,
    column: usize,
    values: &Column,
) -> Result<Vec<Cow<'_, str>>, MetricError> {
    match values {
        Column::Labels(labels) => Ok(labels.iter().map(|l| Cow::Borrowed(l.as_str())).collect()),
        Column::Numbers(_) => Ok(numbers(side, column, values)?
            .iter()
            .map(|&v| Cow::Owned(canonical_text(v)))
            .collect()),
    }
}

/// The shortest decimal text that reads back as `value`, without exponent or trailing ".0"
/// (Rust's `Display` for f64), with -0 written as "0" since -0 == 0.
fn canonical_text(value: f64) -> String {
    if value == 0.0 {
        "0".to_string()
    } else {
        value.to_string()
    }
}

/// The arithmetic mean, as sklearn's `np.average` of per-row terms.
pub(super) fn mean(values: impl ExactSizeIterator<Item = f64>) -> f64 {
    let n = values.len() as f64;
    values.sum::<f64>() / n
}
