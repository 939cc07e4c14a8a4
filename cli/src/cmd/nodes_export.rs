//! `randori sweep export ID --nodes FILE.csv|FILE.parquet`: every node of a sweep, one row
//! each, for notebooks (`pandas.read_csv`, `pandas.read_parquet`, `polars.read_*`).
//!
//! One list of columns ([`COLUMNS`]) and one mapping of a node to its cells ([`cells`]) serve
//! both formats: CSV writes each cell as text (missing values empty, times RFC 3339), Parquet
//! as a typed column (missing values null, times as UTC timestamps in microseconds).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use randori_proto::v1 as pb;

use crate::client::{self, Client};

/// What a column holds; Parquet's type follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Always present.
    Text,
    /// Empty means absent (null in Parquet).
    OptText,
    Int,
    OptFloat,
    OptBool,
    /// RFC 3339, empty when absent.
    Time,
}

/// The columns, in order.
const COLUMNS: [(&str, Kind); 28] = [
    ("sweep_id", Kind::Text),
    ("run_id", Kind::Text),
    ("task", Kind::Text),
    ("policy", Kind::Text),
    ("operators", Kind::Text),
    ("seed", Kind::Int),
    ("step", Kind::Int),
    ("node_id", Kind::Text),
    ("operator", Kind::OptText),
    ("parent_ids", Kind::Text),
    ("status", Kind::Text),
    ("buggy_reason", Kind::OptText),
    ("val_score", Kind::OptFloat),
    ("test_score", Kind::OptFloat),
    ("medal", Kind::OptText),
    ("above_median", Kind::OptBool),
    ("lower_is_better", Kind::OptBool),
    ("queued_at", Kind::Time),
    ("leased_at", Kind::Time),
    ("finished_at", Kind::Time),
    ("ran_seconds", Kind::OptFloat),
    ("attempts", Kind::Int),
    ("worker", Kind::OptText),
    ("llm_calls", Kind::Int),
    ("tokens_in", Kind::Int),
    ("tokens_out", Kind::Int),
    ("cost_usd", Kind::OptFloat),
    ("llm_seconds", Kind::OptFloat),
];

/// One value of a row, of its column's [`Kind`].
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Int(i64),
    Float(Option<f64>),
    Bool(Option<bool>),
}

impl Cell {
    fn csv(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Float(v) => v.map_or_else(String::new, |v| v.to_string()),
            Cell::Bool(b) => b.map_or_else(String::new, |b| b.to_string()),
        }
    }
}

fn int(v: impl TryInto<i64>) -> Cell {
    Cell::Int(v.try_into().unwrap_or(i64::MAX))
}

/// A node's row, in [`COLUMNS`]' order; parents separated by spaces.
fn cells(sweep_id: &str, n: pb::ExportedNode) -> Vec<Cell> {
    vec![
        Cell::Text(sweep_id.to_owned()),
        Cell::Text(n.run_id),
        Cell::Text(n.task_id),
        Cell::Text(n.policy),
        Cell::Text(n.operators),
        int(n.seed),
        int(n.step),
        Cell::Text(n.node_id),
        Cell::Text(n.operator),
        Cell::Text(n.parent_ids.join(" ")),
        Cell::Text(n.status),
        Cell::Text(n.buggy_reason),
        Cell::Float(n.val_score),
        Cell::Float(n.test_score),
        Cell::Text(n.medal),
        Cell::Bool(Some(n.above_median)),
        Cell::Bool(n.lower_is_better),
        Cell::Text(n.queued_at),
        Cell::Text(n.leased_at),
        Cell::Text(n.finished_at),
        Cell::Float(n.ran_seconds),
        int(n.attempts),
        Cell::Text(n.worker),
        int(n.llm_calls),
        int(n.tokens_in),
        int(n.tokens_out),
        Cell::Float(Some(n.cost_usd)),
        Cell::Float(Some(n.llm_seconds)),
    ]
}

/// Rows per Parquet row group: a sweep of a million nodes is written in bounded memory.
const ROW_GROUP_ROWS: usize = 65_536;

/// Writes every node of sweep `sweep_id` to `file`, CSV or Parquet by its extension; returns
/// a summary line. The file is written beside its name and renamed when complete, so a
/// broken stream leaves no partial file.
pub async fn nodes(c: &mut Client, sweep_id: &str, file: &Path) -> Result<String> {
    let format = match file.extension().and_then(|e| e.to_str()) {
        Some("csv") => Format::Csv,
        Some("parquet") => Format::Parquet,
        _ => bail!(
            "--nodes {}: the file must end in .csv or .parquet",
            file.display()
        ),
    };
    let mut stream = c
        .export_nodes(pb::SweepRequest {
            sweep_id: sweep_id.to_owned(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("sweep {sweep_id}"))?
        .into_inner();
    let partial = file.with_extension("partial");
    let mut sink = Sink::create(format, &partial)?;
    let mut rows = 0u64;
    while let Some(batch) = stream.message().await.map_err(client::status_error)? {
        for n in batch.nodes {
            sink.push(cells(sweep_id, n))?;
            rows += 1;
        }
    }
    sink.finish()
        .with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, file).with_context(|| format!("writing {}", file.display()))?;
    Ok(format!("{rows} nodes written to {}\n", file.display()))
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Csv,
    Parquet,
}

enum Sink {
    Csv(csv::Writer<File>),
    Parquet {
        writer: SerializedFileWriter<File>,
        rows: Vec<Vec<Cell>>,
    },
}

impl Sink {
    fn create(format: Format, path: &Path) -> Result<Sink> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(match format {
            Format::Csv => {
                let mut out = csv::Writer::from_writer(file);
                out.write_record(COLUMNS.map(|(name, _)| name))?;
                Sink::Csv(out)
            }
            Format::Parquet => {
                let schema = parquet::schema::parser::parse_message_type(&parquet_schema())
                    .context("the nodes' Parquet schema")?;
                let properties = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                Sink::Parquet {
                    writer: SerializedFileWriter::new(
                        file,
                        Arc::new(schema),
                        Arc::new(properties),
                    )?,
                    rows: Vec::with_capacity(ROW_GROUP_ROWS),
                }
            }
        })
    }

    fn push(&mut self, row: Vec<Cell>) -> Result<()> {
        match self {
            Sink::Csv(out) => out.write_record(row.iter().map(Cell::csv))?,
            Sink::Parquet { writer, rows } => {
                rows.push(row);
                if rows.len() == ROW_GROUP_ROWS {
                    write_row_group(writer, rows)?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Csv(mut out) => out.flush()?,
            Sink::Parquet {
                mut writer,
                mut rows,
            } => {
                if !rows.is_empty() {
                    write_row_group(&mut writer, &mut rows)?;
                }
                writer.close()?;
            }
        }
        Ok(())
    }
}

/// The Parquet message type of [`COLUMNS`].
fn parquet_schema() -> String {
    let mut out = String::from("message nodes {\n");
    for (name, kind) in COLUMNS {
        let field = match kind {
            Kind::Text => "REQUIRED BYTE_ARRAY",
            Kind::OptText => "OPTIONAL BYTE_ARRAY",
            Kind::Int => "REQUIRED INT64",
            Kind::OptFloat => "OPTIONAL DOUBLE",
            Kind::OptBool => "OPTIONAL BOOLEAN",
            Kind::Time => "OPTIONAL INT64",
        };
        let annotation = match kind {
            Kind::Text | Kind::OptText => " (STRING)",
            Kind::Time => " (TIMESTAMP(MICROS,true))",
            _ => "",
        };
        out += &format!("  {field} {name}{annotation};\n");
    }
    out + "}\n"
}

/// Writes `rows` as one row group, column by column, and empties it.
fn write_row_group(
    writer: &mut SerializedFileWriter<File>,
    rows: &mut Vec<Vec<Cell>>,
) -> Result<()> {
    let mut group = writer.next_row_group()?;
    let mut index = 0;
    while let Some(mut column) = group.next_column()? {
        let (name, kind) = COLUMNS[index];
        write_column(&mut column, kind, rows.iter().map(|r| &r[index]))
            .with_context(|| format!("column {name}"))?;
        column.close()?;
        index += 1;
    }
    group.close()?;
    rows.clear();
    Ok(())
}

/// One column chunk: its values, and for an optional column its definition levels (1 where
/// a value is present, 0 for null).
fn write_column<'a>(
    column: &mut SerializedColumnWriter<'_>,
    kind: Kind,
    cells: impl Iterator<Item = &'a Cell>,
) -> Result<()> {
    let cells: Vec<&Cell> = cells.collect();
    let mismatch = |cell: &Cell| anyhow::anyhow!("a {cell:?} in a {kind:?} column");
    let optional = matches!(
        kind,
        Kind::OptText | Kind::OptFloat | Kind::OptBool | Kind::Time
    );
    match kind {
        Kind::Text | Kind::OptText => {
            let (values, levels) = column_values(&cells, |cell| match cell {
                Cell::Text(s) if s.is_empty() && optional => Ok(None),
                Cell::Text(s) => Ok(Some(ByteArray::from(s.as_str()))),
                other => Err(mismatch(other)),
            })?;
            let levels = optional.then_some(levels.as_slice());
            column
                .typed::<ByteArrayType>()
                .write_batch(&values, levels, None)?;
        }
        Kind::Int => {
            let (values, _) = column_values(&cells, |cell| match cell {
                Cell::Int(i) => Ok(Some(*i)),
                other => Err(mismatch(other)),
            })?;
            column
                .typed::<Int64Type>()
                .write_batch(&values, None, None)?;
        }
        Kind::OptFloat => {
            let (values, levels) = column_values(&cells, |cell| match cell {
                Cell::Float(v) => Ok(*v),
                other => Err(mismatch(other)),
            })?;
            column
                .typed::<DoubleType>()
                .write_batch(&values, Some(&levels), None)?;
        }
        Kind::OptBool => {
            let (values, levels) = column_values(&cells, |cell| match cell {
                Cell::Bool(b) => Ok(*b),
                other => Err(mismatch(other)),
            })?;
            column
                .typed::<BoolType>()
                .write_batch(&values, Some(&levels), None)?;
        }
        Kind::Time => {
            let (values, levels) = column_values(&cells, |cell| match cell {
                Cell::Text(t) if t.is_empty() => Ok(None),
                Cell::Text(t) => chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| Some(t.timestamp_micros()))
                    .with_context(|| format!("time {t:?}")),
                other => Err(mismatch(other)),
            })?;
            column
                .typed::<Int64Type>()
                .write_batch(&values, Some(&levels), None)?;
        }
    }
    Ok(())
}

/// The present values of `cells` as `value` reads them (`None`: null), and a definition
/// level per row.
fn column_values<T>(
    cells: &[&Cell],
    value: impl Fn(&Cell) -> Result<Option<T>>,
) -> Result<(Vec<T>, Vec<i16>)> {
    let mut present = Vec::with_capacity(cells.len());
    let mut levels = Vec::with_capacity(cells.len());
    for cell in cells {
        let v = value(cell)?;
        levels.push(i16::from(v.is_some()));
        present.extend(v);
    }
    Ok((present, levels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_cell_of_its_columns_kind() {
        let row = cells("s", pb::ExportedNode::default());
        assert_eq!(row.len(), COLUMNS.len());
        for ((name, kind), cell) in COLUMNS.iter().zip(&row) {
            let fits = matches!(
                (kind, cell),
                (Kind::Text | Kind::OptText | Kind::Time, Cell::Text(_))
                    | (Kind::Int, Cell::Int(_))
                    | (Kind::OptFloat, Cell::Float(_))
                    | (Kind::OptBool, Cell::Bool(_))
            );
            assert!(fits, "{name}: {cell:?} in a {kind:?} column");
        }
    }

    #[test]
    fn the_schema_parses() {
        let schema = parquet::schema::parser::parse_message_type(&parquet_schema()).unwrap();
        assert_eq!(schema.get_fields().len(), COLUMNS.len());
    }
}
