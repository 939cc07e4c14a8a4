//! A CSV file as strings: a header and rows. Parsing only; reading files is the caller's job.

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("not valid CSV: {0}")]
    Csv(String),
    #[error("the file is empty (no header row)")]
    NoHeader,
    #[error("row {row} has {got} fields, the header has {want}")]
    Ragged { row: usize, got: usize, want: usize },
    #[error("column {0:?} appears twice in the header")]
    DuplicateColumn(String),
}

impl Table {
    pub fn parse(bytes: &[u8]) -> Result<Self, TableError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| TableError::Csv(e.to_string()))?
            .iter()
            .map(|h| h.trim().to_owned())
            .collect();
        if header.is_empty() || header.iter().all(String::is_empty) {
            return Err(TableError::NoHeader);
        }
        for (i, h) in header.iter().enumerate() {
            if header[..i].contains(h) {
                return Err(TableError::DuplicateColumn(h.clone()));
            }
        }
        let mut rows = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(|e| TableError::Csv(e.to_string()))?;
            if record.len() != header.len() {
                return Err(TableError::Ragged {
                    row: i + 2,
                    got: record.len(),
                    want: header.len(),
                });
            }
            rows.push(record.iter().map(str::to_owned).collect());
        }
        Ok(Self { header, rows })
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let t = Table::parse(b"id,y\n1,0.5\n2,\"a,b\"\n").unwrap();
        assert_eq!(t.header, ["id", "y"]);
        assert_eq!(t.rows[1], ["2", "a,b"]);
        assert_eq!(Table::parse(b""), Err(TableError::NoHeader));
        assert_eq!(
            Table::parse(b"id,y\n1\n"),
            Err(TableError::Ragged {
                row: 2,
                got: 1,
                want: 2
            })
        );
        assert_eq!(
            Table::parse(b"id,id\n1,2\n"),
            Err(TableError::DuplicateColumn("id".into()))
        );
    }
}
