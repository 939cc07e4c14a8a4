//! A CSV file as records with their bytes as written, and a submission split by id for hidden
//! validation: each part keeps the header line and its rows byte for byte, so the grade
//! function that reads a part reads what the program wrote.

use std::collections::HashSet;

/// One CSV record: its fields and its bytes as written (terminator included).
pub struct RawRecord<'a> {
    pub fields: csv::StringRecord,
    pub raw: &'a [u8],
}

/// Every record of `bytes`, the header first; flexible about field counts. A record's bytes
/// run from its first byte to the next record's, so they hold its line break (whichever kind)
/// and any blank lines after it.
pub fn records(bytes: &[u8]) -> Result<Vec<RawRecord<'_>>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut fields = Vec::new();
    let mut starts = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let before = reader.position().byte() as usize;
        if !reader.read_record(&mut record).map_err(|e| e.to_string())? {
            break;
        }
        // The reader stops inside a CRLF and skips blank lines before a record.
        let skipped = bytes[before.min(bytes.len())..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        starts.push(before + skipped);
        fields.push(record.clone());
    }
    let ends = starts.iter().skip(1).copied().chain([bytes.len()]);
    Ok(fields
        .into_iter()
        .zip(starts.iter().zip(ends))
        .map(|(fields, (&start, end))| RawRecord {
            fields,
            raw: &bytes[start..end],
        })
        .collect())
}

/// Ends `bytes` with a line break, so that rows can follow.
pub fn terminated(mut bytes: Vec<u8>) -> Vec<u8> {
    if !bytes.is_empty() && !bytes.ends_with(b"\n") {
        bytes.push(b'\n');
    }
    bytes
}

/// A submission split for hidden validation, each part with the header line first and its rows
/// byte for byte as written.
#[derive(Debug, PartialEq, Eq)]
pub struct SplitSubmission {
    pub test: Vec<u8>,
    pub validation: Vec<u8>,
}

/// Rows whose `id_column` value is one of `validation_ids` go to the validation part, all
/// others to the test part. None when the file is not CSV this can read or has no such column:
/// then it cannot be split, and the whole file is the test part's to judge.
pub fn split_submission(
    bytes: &[u8],
    id_column: &str,
    validation_ids: &HashSet<String>,
) -> Option<SplitSubmission> {
    let rows = records(bytes).ok()?;
    let header = rows.first()?;
    let id = header.fields.iter().position(|c| c == id_column)?;
    let mut split = SplitSubmission {
        test: terminated(header.raw.to_vec()),
        validation: terminated(header.raw.to_vec()),
    };
    for row in &rows[1..] {
        let part = if row
            .fields
            .get(id)
            .is_some_and(|v| validation_ids.contains(v))
        {
            &mut split.validation
        } else {
            &mut split.test
        };
        part.extend_from_slice(row.raw);
    }
    Some(split)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn a_submission_splits_by_id_keeping_its_rows_as_written() {
        let val: HashSet<String> = ["b".to_owned()].into();
        let s = split_submission(b"id,p\r\na,0.10\r\nb,\"0.2\"\r\nc,3", "id", &val).unwrap();
        assert_eq!(text(&s.test), "id,p\r\na,0.10\r\nc,3");
        assert_eq!(text(&s.validation), "id,p\r\nb,\"0.2\"\r\n");
        assert_eq!(split_submission(b"x,p\na,1\n", "id", &val), None);
        assert_eq!(split_submission(b"", "id", &val), None);
    }
}
