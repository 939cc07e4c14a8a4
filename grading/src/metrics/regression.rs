//! Metrics over predicted numbers: RMSE, MAE and the column-wise RMSLE.

use super::input::{mean, numbers, numbers_where};
use super::{Column, MetricError, Side};

pub(super) fn rmse(answers: &Column, predictions: &Column) -> Result<f64, MetricError> {
    let answers = numbers(Side::Answers, 0, answers)?;
    let predictions = numbers(Side::Predictions, 0, predictions)?;
    Ok(mean(
        answers
            .iter()
            .zip(predictions.iter())
            .map(|(a, p)| (a - p).powi(2)),
    )
    .sqrt())
}

pub(super) fn mae(answers: &Column, predictions: &Column) -> Result<f64, MetricError> {
    let answers = numbers(Side::Answers, 0, answers)?;
    let predictions = numbers(Side::Predictions, 0, predictions)?;
    Ok(mean(
        answers
            .iter()
            .zip(predictions.iter())
            .map(|(a, p)| (p - a).abs()),
    ))
}

/// The mean over columns of sqrt(mean((log1p(p) - log1p(a))²)). Negative values are refused on
/// both sides, as sklearn's `mean_squared_log_error` refuses them (log1p is defined down to -1,
/// but a negative count or price is a broken submission).
pub(super) fn mean_columnwise_rmsle(
    answers: &[Column],
    predictions: &[Column],
) -> Result<f64, MetricError> {
    const EXPECTED: &str = "a non-negative number (RMSLE takes the logarithm of 1 + value)";
    let mut sum = 0.0;
    for (column, (answers, predictions)) in answers.iter().zip(predictions).enumerate() {
        let non_negative = |v: f64| v >= 0.0;
        let answers = numbers_where(Side::Answers, column, answers, non_negative, EXPECTED)?;
        let predictions = numbers_where(
            Side::Predictions,
            column,
            predictions,
            non_negative,
            EXPECTED,
        )?;
        let squared_log_errors = answers
            .iter()
            .zip(predictions.iter())
            .map(|(a, p)| (a.ln_1p() - p.ln_1p()).powi(2));
        sum += mean(squared_log_errors).sqrt();
    }
    Ok(sum / answers.len() as f64)
}
