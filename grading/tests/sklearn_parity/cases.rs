//! The parity cases: inputs generated with a seeded splitmix64, per metric a few sizes and the
//! edge cases (ties, probabilities exactly 0 and 1, perfect predictions, single rows, many
//! classes, inputs both sides must refuse).

use randori_grading::metrics::{Column, Metric};

pub struct Case {
    /// A name starting with "error: " marks a case that both must refuse; every other case both
    /// must score, so that a case failing on both sides by mistake cannot pass unnoticed.
    pub name: String,
    pub metric: Metric,
    pub answers: Vec<Column>,
    pub predictions: Vec<Column>,
}

/// splitmix64: a seeded generator small enough to live in the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn units(&mut self, n: usize) -> Vec<f64> {
        (0..n).map(|_| self.unit()).collect()
    }

    /// 0/1 answers with `share` ones, the first two rows fixed to 0 and 1 so both classes occur.
    fn binary(&mut self, n: usize, share: f64) -> Vec<f64> {
        (0..n)
            .map(|i| match i {
                0 => 0.0,
                1 => 1.0,
                _ => f64::from(u8::from(self.unit() < share)),
            })
            .collect()
    }

    /// Class indices below `k`, as numbers.
    fn classes(&mut self, n: usize, k: usize) -> Vec<f64> {
        (0..n).map(|_| self.below(k) as f64).collect()
    }

    /// A copy of `answers` with each value replaced, with probability `noise`, by `replace`.
    fn noisy(
        &mut self,
        answers: &[f64],
        noise: f64,
        mut replace: impl FnMut(&mut Rng, f64) -> f64,
    ) -> Vec<f64> {
        answers
            .iter()
            .map(|&a| {
                if self.unit() < noise {
                    replace(self, a)
                } else {
                    a
                }
            })
            .collect()
    }
}

fn num(values: Vec<f64>) -> Column {
    Column::Numbers(values)
}

fn text(values: &[f64], format: impl Fn(f64) -> String) -> Column {
    Column::Labels(values.iter().map(|&v| format(v)).collect())
}

fn one_hot(classes: &[f64], k: usize) -> Vec<Column> {
    (0..k)
        .map(|c| {
            num(classes
                .iter()
                .map(|&y| f64::from(u8::from(y as usize == c)))
                .collect())
        })
        .collect()
}

/// Per-class probability columns from row-wise weights.
fn columns(rows: &[Vec<f64>]) -> Vec<Column> {
    (0..rows[0].len())
        .map(|c| num(rows.iter().map(|row| row[c]).collect()))
        .collect()
}

fn normalised(mut row: Vec<f64>) -> Vec<f64> {
    let sum: f64 = row.iter().sum();
    row.iter_mut().for_each(|v| *v /= sum);
    row
}

pub fn cases() -> Vec<Case> {
    let mut rng = Rng(0x5EED_2025);
    let mut cases = Vec::new();
    let mut add = |metric: Metric, name: &str, answers: Vec<Column>, predictions: Vec<Column>| {
        cases.push(Case {
            name: name.to_string(),
            metric,
            answers,
            predictions,
        })
    };
    let label = |v: f64| format!("class-{v}");

    // Accuracy.
    add(
        Metric::Accuracy,
        "single row, wrong",
        vec![Column::Labels(vec!["a".into()])],
        vec![Column::Labels(vec!["b".into()])],
    );
    let y = rng.classes(50, 3);
    add(
        Metric::Accuracy,
        "perfect, 3 text classes, 50 rows",
        vec![text(&y, label)],
        vec![text(&y, label)],
    );
    let y = rng.classes(1000, 10);
    let p = rng.noisy(&y, 0.7, |r, _| r.below(10) as f64);
    add(
        Metric::Accuracy,
        "10 numeric classes, 1000 rows",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.binary(7, 0.5);
    let p = y.iter().map(|v| 1.0 - v).collect();
    add(
        Metric::Accuracy,
        "all wrong, binary, 7 rows",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.classes(2000, 200);
    let p = rng.noisy(&y, 0.5, |r, _| r.below(250) as f64);
    add(
        Metric::Accuracy,
        "200 text classes, 2000 rows",
        vec![text(&y, label)],
        vec![text(&p, label)],
    );

    // ROC AUC.
    let y = rng.binary(2, 0.5);
    add(
        Metric::AucRoc,
        "two rows",
        vec![num(y)],
        vec![num(rng.units(2))],
    );
    let y = rng.binary(200, 0.4);
    let p = (0..200).map(|_| rng.below(5) as f64 / 4.0).collect();
    add(
        Metric::AucRoc,
        "200 rows, 5 tied score levels",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.binary(1000, 0.1);
    let p = y.iter().map(|v| v * 0.3 + rng.unit()).collect();
    add(
        Metric::AucRoc,
        "1000 rows, 10% positives",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.binary(40, 0.5);
    add(
        Metric::AucRoc,
        "perfect separation",
        vec![num(y.clone())],
        vec![num(y.iter().map(|v| v * 10.0 - 5.0).collect())],
    );
    add(
        Metric::AucRoc,
        "all scores equal",
        vec![num(rng.binary(30, 0.5))],
        vec![num(vec![0.5; 30])],
    );
    let mut y = vec![0.0; 100];
    y[57] = 1.0;
    add(
        Metric::AucRoc,
        "one positive among 100",
        vec![num(y)],
        vec![num(rng.units(100))],
    );
    let y = rng.binary(30, 0.5);
    let p = (0..30).map(|_| rng.below(7) as f64 - 3.0).collect();
    add(
        Metric::AucRoc,
        "True/False labels, integer scores with ties",
        vec![text(&y, |v| {
            if v == 1.0 { "True" } else { "False" }.to_string()
        })],
        vec![num(p)],
    );
    add(
        Metric::AucRoc,
        "error: a single class",
        vec![num(vec![1.0; 10])],
        vec![num(rng.units(10))],
    );

    // Binary log-loss.
    add(
        Metric::LogLoss,
        "single row",
        vec![num(vec![1.0])],
        vec![num(vec![0.3])],
    );
    let y = rng.binary(100, 0.5);
    let p = y
        .iter()
        .map(|v| (0.6 * v + 0.7 * rng.unit()).min(1.0))
        .collect();
    add(Metric::LogLoss, "100 rows", vec![num(y)], vec![num(p)]);
    let y = rng.binary(60, 0.5);
    let p = (0..60).map(|_| rng.below(2) as f64).collect();
    add(
        Metric::LogLoss,
        "probabilities exactly 0 and 1, right and wrong",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.binary(20, 0.5);
    add(
        Metric::LogLoss,
        "perfect 0/1 predictions",
        vec![num(y.clone())],
        vec![num(y)],
    );
    let y = rng.binary(2000, 0.3);
    let p = y
        .iter()
        .map(|&v| {
            let tiny = 10f64.powf(-3.0 - 14.0 * rng.unit());
            if (v == 1.0) == (rng.unit() < 0.9) {
                1.0 - tiny
            } else {
                tiny
            }
        })
        .collect();
    add(
        Metric::LogLoss,
        "2000 rows, probabilities within 1e-17 of 0 and 1",
        vec![num(y)],
        vec![num(p)],
    );
    add(
        Metric::LogLoss,
        "answers of one class",
        vec![num(vec![0.0; 5])],
        vec![num(rng.units(5))],
    );
    let y = rng.binary(50, 0.5);
    let p = (0..50).map(|_| rng.below(11) as f64 / 10.0).collect();
    add(
        Metric::LogLoss,
        "probabilities on a 0.1 grid",
        vec![num(y)],
        vec![num(p)],
    );

    // Multi-class log-loss.
    add(
        Metric::MultiClassLogLoss,
        "2 classes, single row",
        one_hot(&[1.0], 2),
        vec![num(vec![0.2]), num(vec![0.8])],
    );
    let y = rng.classes(50, 3);
    let rows: Vec<Vec<f64>> = (0..50).map(|_| normalised(rng.units(3))).collect();
    add(
        Metric::MultiClassLogLoss,
        "3 classes, 50 rows summing to 1",
        one_hot(&y, 3),
        columns(&rows),
    );
    let y = rng.classes(200, 5);
    let rows: Vec<Vec<f64>> = (0..200).map(|_| rng.units(5)).collect();
    add(
        Metric::MultiClassLogLoss,
        "5 classes, 200 unnormalised rows",
        one_hot(&y, 5),
        columns(&rows),
    );
    let y = rng.classes(500, 30);
    let rows: Vec<Vec<f64>> = y
        .iter()
        .map(|&c| {
            normalised(
                (0..30)
                    .map(|j| rng.unit() + if j == c as usize { 3.0 } else { 0.0 })
                    .collect(),
            )
        })
        .collect();
    add(
        Metric::MultiClassLogLoss,
        "30 classes, 500 rows",
        one_hot(&y, 30),
        columns(&rows),
    );
    let y = rng.classes(40, 4);
    let rows: Vec<Vec<f64>> = (0..40)
        .map(|i| match i % 3 {
            0 => vec![0.0; 4],
            1 => (0..4)
                .map(|j| f64::from(u8::from(j == rng.below(4))))
                .collect(),
            _ => (0..4).map(|_| rng.below(2) as f64).collect(),
        })
        .collect();
    add(
        Metric::MultiClassLogLoss,
        "4 classes, exact 0/1 and all-zero rows",
        one_hot(&y, 4),
        columns(&rows),
    );
    let y = rng.classes(25, 6);
    add(
        Metric::MultiClassLogLoss,
        "perfect one-hot predictions",
        one_hot(&y, 6),
        one_hot(&y, 6),
    );

    // RMSE and MAE share their inputs.
    let regression: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("single row", vec![3.5], vec![-1.25]),
        (
            "perfect",
            vec![1.0, 2.0, 3.0, 4.0],
            vec![1.0, 2.0, 3.0, 4.0],
        ),
        ("100 rows in [0, 1)", rng.units(100), rng.units(100)),
        (
            "1000 rows around 1e6",
            (0..1000).map(|_| 1e6 * rng.unit()).collect(),
            (0..1000).map(|_| 1e6 * rng.unit()).collect(),
        ),
        (
            "negative integers with ties",
            (0..10).map(|_| rng.below(5) as f64 - 2.0).collect(),
            (0..10).map(|_| rng.below(5) as f64 - 2.0).collect(),
        ),
    ];
    for (name, y, p) in regression {
        add(
            Metric::Rmse,
            name,
            vec![num(y.clone())],
            vec![num(p.clone())],
        );
        add(Metric::Mae, name, vec![num(y)], vec![num(p)]);
    }
    let y = rng.units(20);
    let p = rng.units(20);
    add(
        Metric::Rmse,
        "predictions as text",
        vec![num(y.clone())],
        vec![text(&p, |v| v.to_string())],
    );
    add(
        Metric::Mae,
        "predictions as text",
        vec![num(y)],
        vec![text(&p, |v| v.to_string())],
    );

    // Mean column-wise RMSLE.
    add(
        Metric::MeanColumnwiseRmsle,
        "1 column, single row",
        vec![num(vec![2.0])],
        vec![num(vec![5.0])],
    );
    let cols = |rng: &mut Rng, k: usize, n: usize, scale: f64| -> Vec<Column> {
        (0..k)
            .map(|_| num((0..n).map(|_| scale * rng.unit()).collect()))
            .collect()
    };
    add(
        Metric::MeanColumnwiseRmsle,
        "3 columns, 100 rows",
        cols(&mut rng, 3, 100, 50.0),
        cols(&mut rng, 3, 100, 50.0),
    );
    let y: Vec<f64> = (0..30).map(|_| rng.below(4) as f64).collect();
    let p: Vec<f64> = (0..30).map(|_| rng.below(4) as f64).collect();
    add(
        Metric::MeanColumnwiseRmsle,
        "small counts with zeros",
        vec![num(y)],
        vec![num(p)],
    );
    let y = cols(&mut rng, 2, 15, 10.0);
    add(
        Metric::MeanColumnwiseRmsle,
        "perfect, 2 columns",
        y.clone(),
        y,
    );
    add(
        Metric::MeanColumnwiseRmsle,
        "6 columns, values up to 1e9",
        cols(&mut rng, 6, 200, 1e9),
        cols(&mut rng, 6, 200, 1e9),
    );
    add(
        Metric::MeanColumnwiseRmsle,
        "error: a negative prediction",
        vec![num(vec![1.0, 2.0])],
        vec![num(vec![1.0, -0.5])],
    );
    add(
        Metric::MeanColumnwiseRmsle,
        "error: a negative answer",
        vec![num(vec![1.0, 2.0]), num(vec![-3.0, 2.0])],
        vec![num(vec![1.0, 2.0]), num(vec![1.0, 2.0])],
    );

    // Mean column-wise ROC AUC.
    add(
        Metric::MeanColumnwiseAucRoc,
        "1 column, 10 rows",
        vec![num(rng.binary(10, 0.5))],
        vec![num(rng.units(10))],
    );
    let mut answers = Vec::new();
    let mut predictions = Vec::new();
    for _ in 0..6 {
        answers.push(num(rng.binary(200, 0.3)));
        predictions.push(num((0..200).map(|_| rng.below(10) as f64 / 10.0).collect()));
    }
    add(
        Metric::MeanColumnwiseAucRoc,
        "6 columns, 200 rows, tied scores",
        answers,
        predictions,
    );
    let y = rng.binary(50, 0.5);
    let noisy = y.iter().map(|v| v + rng.unit()).collect();
    let inverted = y.iter().map(|v| 1.0 - v).collect();
    add(
        Metric::MeanColumnwiseAucRoc,
        "perfect, noisy and inverted columns",
        vec![num(y.clone()), num(y.clone()), num(y.clone())],
        vec![num(y), num(noisy), num(inverted)],
    );
    let answers = (0..10).map(|_| num(rng.binary(1000, 0.02))).collect();
    let predictions = (0..10).map(|_| num(rng.units(1000))).collect();
    add(
        Metric::MeanColumnwiseAucRoc,
        "10 columns, 1000 rows, rare positives",
        answers,
        predictions,
    );
    add(
        Metric::MeanColumnwiseAucRoc,
        "2 columns, 2 rows",
        vec![num(vec![0.0, 1.0]), num(vec![1.0, 0.0])],
        vec![num(vec![0.3, 0.3]), num(vec![0.9, 0.1])],
    );
    add(
        Metric::MeanColumnwiseAucRoc,
        "error: a column of one class",
        vec![num(rng.binary(8, 0.5)), num(vec![0.0; 8])],
        vec![num(rng.units(8)), num(rng.units(8))],
    );

    // Quadratic weighted kappa.
    let y = rng.classes(100, 5);
    let p = rng.noisy(&y, 0.4, |r, a| {
        (a + r.below(3) as f64 - 1.0).clamp(0.0, 4.0)
    });
    add(
        Metric::QuadraticWeightedKappa,
        "grades 0-4, 100 rows, off by one",
        vec![num(y.clone())],
        vec![num(p)],
    );
    add(
        Metric::QuadraticWeightedKappa,
        "perfect",
        vec![num(y.clone())],
        vec![num(y)],
    );
    let levels = [1.0, 3.0, 7.0, 20.0];
    let y: Vec<f64> = (0..60).map(|_| levels[rng.below(4)]).collect();
    let p = rng.noisy(&y, 0.5, |r, _| levels[r.below(4)]);
    add(
        Metric::QuadraticWeightedKappa,
        "labels 1, 3, 7, 20 (weights by position)",
        vec![num(y)],
        vec![num(p)],
    );
    add(
        Metric::QuadraticWeightedKappa,
        "single row, two labels",
        vec![num(vec![2.0])],
        vec![num(vec![4.0])],
    );
    add(
        Metric::QuadraticWeightedKappa,
        "error: one label only (sklearn returns NaN)",
        vec![num(vec![3.0; 6])],
        vec![num(vec![3.0; 6])],
    );
    let y: Vec<f64> = (0..1000).map(|_| rng.below(50) as f64 - 25.0).collect();
    let p = rng.noisy(&y, 0.6, |r, a| a + r.below(11) as f64 - 5.0);
    add(
        Metric::QuadraticWeightedKappa,
        "50 labels from -25, 1000 rows, labels only predicted",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.classes(40, 6);
    let p = rng.noisy(&y, 0.5, |r, _| r.below(6) as f64);
    add(
        Metric::QuadraticWeightedKappa,
        "labels as text \"3\" and \"3.0\"",
        vec![text(&y, |v| v.to_string())],
        vec![text(&p, |v| format!("{v:.1}"))],
    );
    add(
        Metric::QuadraticWeightedKappa,
        "everything predicted as one label",
        vec![num(rng.classes(30, 4))],
        vec![num(vec![2.0; 30])],
    );

    // Macro F1.
    let y = rng.binary(100, 0.3);
    let p = rng.noisy(&y, 0.3, |_, a| 1.0 - a);
    add(
        Metric::MacroF1,
        "binary 0/1, 100 rows",
        vec![num(y)],
        vec![num(p)],
    );
    let y = rng.classes(300, 5);
    let p = rng.noisy(&y, 0.5, |r, _| r.below(5) as f64);
    add(
        Metric::MacroF1,
        "5 text classes, 300 rows",
        vec![text(&y, label)],
        vec![text(&p, label)],
    );
    let y = rng.classes(80, 4);
    let p = rng.noisy(&y, 0.3, |r, _| 4.0 + r.below(3) as f64);
    add(
        Metric::MacroF1,
        "labels only predicted",
        vec![text(&y, label)],
        vec![text(&p, label)],
    );
    let y = rng.classes(30, 3);
    add(
        Metric::MacroF1,
        "perfect",
        vec![num(y.clone())],
        vec![num(y)],
    );
    add(
        Metric::MacroF1,
        "single row",
        vec![Column::Labels(vec!["x".into()])],
        vec![Column::Labels(vec!["x".into()])],
    );
    let y = rng.classes(20, 3);
    let p = y.iter().map(|v| (v + 1.0) % 3.0).collect();
    add(Metric::MacroF1, "all wrong", vec![num(y)], vec![num(p)]);
    let y = rng.classes(1000, 100);
    let p = rng.noisy(&y, 0.6, |r, _| r.below(100) as f64);
    add(
        Metric::MacroF1,
        "100 classes, 1000 rows",
        vec![num(y)],
        vec![num(p)],
    );

    cases
}
