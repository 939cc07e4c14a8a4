//! Metrics over predicted scores and probabilities: ROC AUC and log-loss.

use super::input::{binary, mean, numbers, probabilities};
use super::{Column, Metric, MetricError, Side};

/// Probabilities are clipped to [EPS, 1 - EPS] before the logarithm, as scikit-learn ≥ 1.5's
/// `log_loss` does (the float64 machine epsilon; MLE-bench pins that version and passes no `eps`).
const EPS: f64 = f64::EPSILON;

/// The mean ROC AUC over the columns; the binary metric is the one-column case.
pub(super) fn mean_columnwise_auc(
    metric: Metric,
    answers: &[Column],
    predictions: &[Column],
) -> Result<f64, MetricError> {
    let mut sum = 0.0;
    for (column, (answers, predictions)) in answers.iter().zip(predictions).enumerate() {
        let labels = binary(Side::Answers, column, answers)?;
        let scores = numbers(Side::Predictions, column, predictions)?;
        sum += roc_auc(&labels, &scores).ok_or_else(|| MetricError::Undefined {
            metric,
            reason: format!(
                "answers column {column} hold only class {}; ROC AUC needs both classes",
                u8::from(labels[0])
            ),
        })?;
    }
    Ok(sum / answers.len() as f64)
}

/// The area under the ROC curve, or None when `labels` hold a single class.
///
/// Computed as the Mann–Whitney U statistic with tied scores sharing their average rank: the
/// same area as sklearn's trapezoids over the ROC curve (a group of tied scores is one
/// diagonal step, worth half a pair per tied positive–negative pair), but with exact
/// half-integer rank sums and a single rounding at the end.
fn roc_auc(labels: &[bool], scores: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by(|&i, &j| scores[i].total_cmp(&scores[j]));

    let mut ranked = 0usize;
    let mut positive_rank_sum = 0.0;
    for tied in order.chunk_by(|&i, &j| scores[i] == scores[j]) {
        // 1-based ranks ranked+1 ..= ranked+len, all given their mean.
        let average_rank = ranked as f64 + (tied.len() as f64 + 1.0) / 2.0;
        let tied_positives = tied.iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += average_rank * tied_positives as f64;
        ranked += tied.len();
    }
    let (p, n) = (positives as f64, negatives as f64);
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Binary log-loss, the prediction being the probability of class 1.
pub(super) fn log_loss(answers: &Column, predictions: &Column) -> Result<f64, MetricError> {
    let labels = binary(Side::Answers, 0, answers)?;
    let probabilities = probabilities(Side::Predictions, 0, predictions)?;
    Ok(mean(labels.iter().zip(probabilities.iter()).map(
        |(&label, &p)| {
            // sklearn expands p into the row [1 - p, p], then clips each cell; no renormalising.
            let chosen = if label { p } else { 1.0 - p };
            -chosen.clamp(EPS, 1.0 - EPS).ln()
        },
    )))
}

/// Multi-class log-loss over one column per class: one-hot answers, per-class probabilities
/// clipped to [EPS, 1 - EPS] and not renormalised (scikit-learn ≥ 1.5 only warns when a row does
/// not sum to 1), so the loss of a row is that of its true class's clipped probability.
pub(super) fn multi_class_log_loss(
    answers: &[Column],
    predictions: &[Column],
) -> Result<f64, MetricError> {
    let one_hot = answers
        .iter()
        .enumerate()
        .map(|(column, values)| binary(Side::Answers, column, values))
        .collect::<Result<Vec<_>, _>>()?;
    let probabilities = predictions
        .iter()
        .enumerate()
        .map(|(column, values)| probabilities(Side::Predictions, column, values))
        .collect::<Result<Vec<_>, _>>()?;

    let rows = answers[0].len();
    let true_classes = (0..rows)
        .map(|row| {
            let mut hot = (0..one_hot.len()).filter(|&class| one_hot[class][row]);
            match (hot.next(), hot.count()) {
                (Some(class), 0) => Ok(class),
                (first, rest) => Err(MetricError::NotOneHot {
                    row,
                    ones: usize::from(first.is_some()) + rest,
                }),
            }
        })
        .collect::<Result<Vec<usize>, _>>()?;

    Ok(mean(true_classes.iter().enumerate().map(
        |(row, &class)| -probabilities[class][row].clamp(EPS, 1.0 - EPS).ln(),
    )))
}
