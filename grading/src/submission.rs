//! Submission validation and alignment: a submission must have exactly the sample
//! submission's columns, one row per expected id, and a value in every target cell. What is
//! wrong is said in the error.

use std::collections::HashMap;

use crate::metrics::Column;
use crate::table::Table;

/// The id column and the target columns, taken from the sample submission (first column and
/// the rest) unless the task config names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub id: String,
    pub targets: Vec<String>,
}

impl Columns {
    pub fn from_sample(sample: &Table) -> Result<Self, Invalid> {
        let (id, targets) = sample.header.split_first().ok_or(Invalid::Columns(
            "the sample submission has no columns".into(),
        ))?;
        if targets.is_empty() {
            return Err(Invalid::Columns(
                "the sample submission has an id column but no target column".into(),
            ));
        }
        Ok(Self {
            id: id.clone(),
            targets: targets.to_vec(),
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Invalid {
    #[error("{0}")]
    Table(#[from] crate::table::TableError),
    #[error("columns: {0}")]
    Columns(String),
    #[error("expected {want} rows, found {got}")]
    RowCount { want: usize, got: usize },
    #[error("id {0:?} appears more than once")]
    DuplicateId(String),
    #[error("{count} expected ids are missing (e.g. {example:?})")]
    MissingIds { count: usize, example: String },
    #[error("id {0:?} is not one of the test ids")]
    UnknownId(String),
    #[error("column {column:?} has an empty or NaN value for id {id:?}")]
    MissingValue { column: String, id: String },
    #[error("column {column:?} must hold probabilities in [0, 1], found {value}")]
    Probability { column: String, value: String },
    #[error("{0}")]
    Metric(#[from] crate::metrics::MetricError),
    #[error("grader: {0}")]
    External(String),
}

/// A submission that passed validation, indexed by id.
#[derive(Debug)]
pub struct Submission {
    table: Table,
    by_id: HashMap<String, usize>,
    target_indices: Vec<usize>,
}

impl Submission {
    /// Validates `table` against the expected columns and ids.
    pub fn check(columns: &Columns, table: Table, expected_ids: &[&str]) -> Result<Self, Invalid> {
        let mut want: Vec<&str> = std::iter::once(columns.id.as_str())
            .chain(columns.targets.iter().map(String::as_str))
            .collect();
        let mut got: Vec<&str> = table.header.iter().map(String::as_str).collect();
        want.sort_unstable();
        got.sort_unstable();
        if want != got {
            let missing: Vec<&&str> = want.iter().filter(|c| !got.contains(c)).collect();
            let extra: Vec<&&str> = got.iter().filter(|c| !want.contains(c)).collect();
            return Err(Invalid::Columns(format!(
                "missing {missing:?}, unexpected {extra:?}"
            )));
        }
        if table.rows.len() != expected_ids.len() {
            return Err(Invalid::RowCount {
                want: expected_ids.len(),
                got: table.rows.len(),
            });
        }
        let id_index = table.column_index(&columns.id).expect("checked above");
        let target_indices: Vec<usize> = columns
            .targets
            .iter()
            .map(|t| table.column_index(t).expect("checked above"))
            .collect();
        let mut by_id = HashMap::with_capacity(table.rows.len());
        for (i, row) in table.rows.iter().enumerate() {
            let id = row[id_index].trim();
            if by_id.insert(id.to_owned(), i).is_some() {
                return Err(Invalid::DuplicateId(id.to_owned()));
            }
            for (&ci, name) in target_indices.iter().zip(&columns.targets) {
                let v = row[ci].trim();
                if v.is_empty() || v.eq_ignore_ascii_case("nan") {
                    return Err(Invalid::MissingValue {
                        column: name.clone(),
                        id: id.to_owned(),
                    });
                }
            }
        }
        let missing: Vec<&&str> = expected_ids
            .iter()
            .filter(|id| !by_id.contains_key(**id))
            .collect();
        if let Some(example) = missing.first() {
            return Err(Invalid::MissingIds {
                count: missing.len(),
                example: (**example).to_owned(),
            });
        }
        Ok(Self {
            table,
            by_id,
            target_indices,
        })
    }

    /// The submission's target columns for the rows of `answers`, in the answers' order, beside
    /// the answers' own target columns.
    pub fn aligned_with(
        &self,
        columns: &Columns,
        answers: &Table,
    ) -> Result<(Vec<Column>, Vec<Column>), Invalid> {
        let answer_id = answers.column_index(&columns.id).ok_or_else(|| {
            Invalid::Columns(format!("the answers lack the id column {:?}", columns.id))
        })?;
        let answer_targets = columns
            .targets
            .iter()
            .map(|t| {
                answers
                    .column_index(t)
                    .ok_or_else(|| Invalid::Columns(format!("the answers lack column {t:?}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let rows = answers
            .rows
            .iter()
            .map(|r| {
                let id = r[answer_id].trim();
                self.by_id
                    .get(id)
                    .map(|&i| &self.table.rows[i])
                    .ok_or_else(|| Invalid::UnknownId(id.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let truth = answer_targets
            .iter()
            .map(|&c| column(answers.rows.iter().map(|r| r[c].as_str())))
            .collect();
        let predicted = self
            .target_indices
            .iter()
            .map(|&c| column(rows.iter().map(|r| r[c].as_str())))
            .collect();
        Ok((truth, predicted))
    }
}

impl Submission {
    /// The submission's rows for the ids of `answers`, in the answers' order, as CSV with the
    /// id and target columns: what an external grading program reads.
    pub fn rows_as_csv(&self, columns: &Columns, answers: &Table) -> Result<Vec<u8>, Invalid> {
        let answer_id = answers.column_index(&columns.id).ok_or_else(|| {
            Invalid::Columns(format!("the answers lack the id column {:?}", columns.id))
        })?;
        let id_index = self
            .table
            .column_index(&columns.id)
            .expect("checked on construction");
        let mut out = csv::Writer::from_writer(Vec::new());
        let csv_err = |e: csv::Error| Invalid::External(e.to_string());
        out.write_record(std::iter::once(&columns.id).chain(&columns.targets))
            .map_err(csv_err)?;
        for r in &answers.rows {
            let id = r[answer_id].trim();
            let row = self
                .by_id
                .get(id)
                .map(|&i| &self.table.rows[i])
                .ok_or_else(|| Invalid::UnknownId(id.to_owned()))?;
            let fields =
                std::iter::once(&row[id_index]).chain(self.target_indices.iter().map(|&c| &row[c]));
            out.write_record(fields).map_err(csv_err)?;
        }
        out.into_inner()
            .map_err(|e| Invalid::External(e.to_string()))
    }
}

/// Numbers when every value parses as a number, labels otherwise.
fn column<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Column {
    let numbers: Option<Vec<f64>> = values.clone().map(|v| v.trim().parse().ok()).collect();
    match numbers {
        Some(n) => Column::Numbers(n),
        None => Column::Labels(values.map(|v| v.trim().to_owned()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Columns {
        Columns {
            id: "id".into(),
            targets: vec!["a".into(), "b".into()],
        }
    }

    fn check(csv: &str, ids: &[&str]) -> Result<Submission, Invalid> {
        Submission::check(&cols(), Table::parse(csv.as_bytes()).unwrap(), ids)
    }

    #[test]
    fn says_what_is_wrong() {
        let ids = ["1", "2"];
        let cases: &[(&str, &str)] = &[
            (
                "id,a\n1,0\n2,0\n",
                "columns: missing [\"b\"], unexpected []",
            ),
            (
                "id,a,b,c\n1,0,0,0\n2,0,0,0\n",
                "columns: missing [], unexpected [\"c\"]",
            ),
            ("id,a,b\n1,0,0\n", "expected 2 rows, found 1"),
            ("id,a,b\n1,0,0\n1,0,0\n", "id \"1\" appears more than once"),
            (
                "id,a,b\n1,0,0\n3,0,0\n",
                "1 expected ids are missing (e.g. \"2\")",
            ),
            (
                "id,a,b\n1,0,\n2,0,0\n",
                "column \"b\" has an empty or NaN value for id \"1\"",
            ),
            (
                "id,a,b\n1,NaN,0\n2,0,0\n",
                "column \"a\" has an empty or NaN value for id \"1\"",
            ),
        ];
        for (csv, want) in cases {
            let err = check(csv, &ids).expect_err(csv);
            assert_eq!(err.to_string(), *want, "{csv}");
        }
    }

    #[test]
    fn aligns_rows_by_id_in_any_column_order() {
        let sub = check("b,id,a\n0.2,2,x\n0.1,1,y\n", &["1", "2"]).unwrap();
        let answers = Table::parse(b"id,a,b\n2,x,1\n1,z,0\n").unwrap();
        let (truth, pred) = sub.aligned_with(&cols(), &answers).unwrap();
        assert_eq!(truth[0], Column::Labels(vec!["x".into(), "z".into()]));
        assert_eq!(truth[1], Column::Numbers(vec![1.0, 0.0]));
        assert_eq!(pred[0], Column::Labels(vec!["x".into(), "y".into()]));
        assert_eq!(pred[1], Column::Numbers(vec![0.2, 0.1]));
    }
}
