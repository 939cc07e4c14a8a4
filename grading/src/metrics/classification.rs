//! Metrics over predicted class labels: accuracy, macro F1 and quadratic weighted kappa.

use std::collections::BTreeMap;

use super::input::{integers, label_texts};
use super::{Column, Metric, MetricError, Side};

pub(super) fn accuracy(answers: &Column, predictions: &Column) -> Result<f64, MetricError> {
    let answers = label_texts(Side::Answers, 0, answers)?;
    let predictions = label_texts(Side::Predictions, 0, predictions)?;
    let correct = answers
        .iter()
        .zip(&predictions)
        .filter(|(a, p)| a == p)
        .count();
    Ok(correct as f64 / answers.len() as f64)
}

/// The mean F1 over every label seen in either column (sklearn's default `labels`), a label
/// never predicted or never present scoring 0 (`zero_division=0`).
pub(super) fn macro_f1(answers: &Column, predictions: &Column) -> Result<f64, MetricError> {
    #[derive(Default)]
    struct Counts {
        true_positives: u64,
        false_positives: u64,
        false_negatives: u64,
    }

    let answers = label_texts(Side::Answers, 0, answers)?;
    let predictions = label_texts(Side::Predictions, 0, predictions)?;
    let mut per_label: BTreeMap<&str, Counts> = BTreeMap::new();
    for (answer, prediction) in answers.iter().zip(&predictions) {
        if answer == prediction {
            per_label.entry(answer).or_default().true_positives += 1;
        } else {
            per_label.entry(answer).or_default().false_negatives += 1;
            per_label.entry(prediction).or_default().false_positives += 1;
        }
    }

    let ratio = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    let sum: f64 = per_label
        .values()
        .map(|c| {
            let precision = ratio(c.true_positives, c.true_positives + c.false_positives);
            let recall = ratio(c.true_positives, c.true_positives + c.false_negatives);
            // sklearn's formula (not 2tp / (2tp + fp + fn)), so that the last bits agree too.
            if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            }
        })
        .sum();
    Ok(sum / per_label.len() as f64)
}

/// Cohen's kappa with quadratic weights, as sklearn's `cohen_kappa_score(weights="quadratic")`.
///
/// Like sklearn, the weight of a disagreement is the squared distance between the two labels'
/// positions in the sorted union of the labels present, not between the label values: with
/// labels {1, 3, 7}, answering 1 for 7 costs (0 - 2)² = 4.
///
/// sklearn builds the k × k confusion matrix; here the weighted sums are expanded into moments
/// (Σ (i - j)² a_i p_j = n Σ i² a_i - 2 Σ i a_i Σ j p_j + n Σ j² p_j), computed exactly in
/// integers, so a submission with many distinct labels costs O(n), not O(k²) memory.
pub(super) fn quadratic_weighted_kappa(
    answers: &Column,
    predictions: &Column,
) -> Result<f64, MetricError> {
    let answers = integers(Side::Answers, 0, answers)?;
    let predictions = integers(Side::Predictions, 0, predictions)?;
    let mut labels: Vec<i64> = answers.iter().chain(&predictions).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let position = |label: i64| labels.partition_point(|&l| l < label) as i128;

    let n = answers.len() as i128;
    let (mut observed, mut sum_a, mut sum_a2, mut sum_p, mut sum_p2) = (0i128, 0, 0, 0, 0);
    for (&answer, &prediction) in answers.iter().zip(&predictions) {
        let (i, j) = (position(answer), position(prediction));
        observed += (i - j) * (i - j);
        sum_a += i;
        sum_a2 += i * i;
        sum_p += j;
        sum_p2 += j * j;
    }
    // n times the weighted disagreement expected by chance from the two label histograms.
    let expected_times_n = n * sum_a2 - 2 * sum_a * sum_p + n * sum_p2;
    if expected_times_n == 0 {
        // Only when a single label occurs at all; sklearn returns NaN (0 / 0) here.
        return Err(MetricError::Undefined {
            metric: Metric::QuadraticWeightedKappa,
            reason: format!(
                "the answers and predictions hold a single label ({})",
                labels[0]
            ),
        });
    }
    Ok(1.0 - (observed * n) as f64 / expected_times_n as f64)
}
