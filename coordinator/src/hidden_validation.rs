//! Hidden validation for MLE-bench competitions (`[mlebench] hidden_validation = F` in a sweep
//! file): a fixed share F of `train.csv`'s rows is carved out once, deterministically by id.
//! The carved rows leave `train.csv`, join `test.csv` (their features, under their own ids)
//! and the sample submission (the sample's first row of values), and their answers, in the
//! answers file's own columns, become the validation answers. A node's submission is then
//! split by id: the test rows are graded against the competition's answers and the carved rows
//! against the validation answers, both by the competition's own grade function, so the search
//! sees a score computed exactly like the test score and never the test score itself.
//!
//! Offered where the competition is laid out as `train.csv` and `test.csv` in `prepared/public`
//! with the sample submission's first column (the id) in both, and `train.csv` holds every
//! column of the answers; anything else is refused with the reason.
//!
//! The carved copy lives beside the prepared data, in
//! `<data_dir>/<id>/randori-hidden-validation-<F>/{public,private}`, so workers see it where
//! they see the data; it is made in a scratch directory and renamed into place, and remade
//! when the prepared files change (a stamp of their sizes and times).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use randori_grading::rows::{RawRecord, records, terminated};
use sha2::{Digest, Sha256};

/// The carved data of one competition at one fraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carved {
    /// What programs see instead of `prepared/public`.
    pub public_dir: PathBuf,
    /// The carved rows' answers, in the answers file's columns.
    pub validation_answers: PathBuf,
    /// The id column (the sample submission's first).
    pub id_column: String,
}

/// Whether the row with id `id` is carved out at `fraction`: decided by a hash of the id alone,
/// so neither the row order nor the machine changes the split.
pub fn is_carved(id: &str, fraction: f64) -> bool {
    let digest = Sha256::digest(id.as_bytes());
    let x = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (x as f64) < fraction * (u64::MAX as f64)
}

/// Where the carved copy of `prepared` (`<data_dir>/<id>/prepared`) at `fraction` lives.
pub fn carved_dir(prepared: &Path, fraction: f64) -> PathBuf {
    prepared.with_file_name(format!("randori-hidden-validation-{fraction}"))
}

/// The carved copy of the competition's data, made if absent or stale. `sample` and `answers`
/// are the files the competition's config names.
pub fn ensure(
    prepared: &Path,
    sample: &Path,
    answers: &Path,
    fraction: f64,
) -> Result<Carved, String> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(format!(
            "hidden_validation must be a fraction of train.csv between 0 and 1, not {fraction}"
        ));
    }
    let public = prepared.join("public");
    let sources = [
        public.join("train.csv"),
        public.join("test.csv"),
        sample.to_owned(),
        answers.to_owned(),
    ];
    for (path, what) in sources.iter().zip([
        "train.csv",
        "test.csv",
        "the sample submission",
        "the answers",
    ]) {
        if !path.is_file() {
            return Err(format!(
                "hidden validation needs {what} ({}): this competition is not laid out as \
                 train.csv and test.csv",
                path.display()
            ));
        }
    }
    let stamp = stamp(&sources, fraction)?;
    let dir = carved_dir(prepared, fraction);
    let carved = Carved {
        public_dir: dir.join("public"),
        validation_answers: dir.join("private").join("validation.csv"),
        id_column: String::new(),
    };
    if std::fs::read_to_string(dir.join("stamp.json")).is_ok_and(|s| s == stamp) {
        let sample_file = carved.public_dir.join(file_name(sample));
        return Ok(Carved {
            id_column: first_column(&std::fs::read(&sample_file).map_err(|e| e.to_string())?)?,
            ..carved
        });
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let files = Files {
        train: read(&sources[0])?,
        test: read(&sources[1])?,
        sample: read(&sources[2])?,
        answers: read(&sources[3])?,
    };
    let out = carve(&files, fraction)?;
    let parent = dir.parent().expect("the carved directory has a parent");
    let scratch = tempfile::Builder::new()
        .prefix(".randori-carving-")
        .tempdir_in(parent)
        .map_err(|e| {
            format!(
                "cannot write the hidden validation split under {}: {e}",
                parent.display()
            )
        })?;
    let write = |rel: &Path, bytes: &[u8]| {
        let path = scratch.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))
            .and_then(|()| std::fs::write(&path, bytes))
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    link_tree(
        &public,
        &scratch.path().join("public"),
        &["train.csv", "test.csv", &file_name(sample)],
    )?;
    write(Path::new("public/train.csv"), &out.train)?;
    write(Path::new("public/test.csv"), &out.test)?;
    write(&Path::new("public").join(file_name(sample)), &out.sample)?;
    write(Path::new("private/validation.csv"), &out.validation)?;
    write(Path::new("stamp.json"), stamp.as_bytes())?;
    // Readable by the unprivileged users that programs and graders run as.
    let _ = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(scratch.path())
        .status();
    let _ = std::fs::remove_dir_all(&dir);
    let scratch = scratch.keep();
    if let Err(e) = std::fs::rename(&scratch, &dir) {
        // Another process carved the same data at the same moment: its copy is the same.
        let _ = std::fs::remove_dir_all(&scratch);
        if !dir.join("stamp.json").is_file() {
            return Err(format!("{}: {e}", dir.display()));
        }
    }
    Ok(Carved {
        id_column: out.id_column,
        ..carved
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What the carving depends on: the source files' sizes and modification times, and F.
fn stamp(sources: &[PathBuf], fraction: f64) -> Result<String, String> {
    let mut parts = vec![format!("fraction {fraction}")];
    for p in sources {
        let m = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        parts.push(format!("{} {} {modified}", p.display(), m.len()));
    }
    Ok(serde_json::to_string(&parts).expect("strings serialize"))
}

/// Hard links (or copies, across file systems) of every file under `from` into `to`, but the
/// top-level files named in `except`.
fn link_tree(from: &Path, to: &Path, except: &[&str]) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if except.iter().any(|e| name == **e) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            link_tree(&src, &dst, &[])?;
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// The source files' bytes.
pub struct Files {
    pub train: Vec<u8>,
    pub test: Vec<u8>,
    pub sample: Vec<u8>,
    pub answers: Vec<u8>,
}

/// The carved files' bytes.
#[derive(Debug, PartialEq, Eq)]
pub struct CarvedFiles {
    pub id_column: String,
    pub train: Vec<u8>,
    pub test: Vec<u8>,
    pub sample: Vec<u8>,
    pub validation: Vec<u8>,
}

fn first_column(csv_bytes: &[u8]) -> Result<String, String> {
    records(csv_bytes)?
        .first()
        .and_then(|r| r.fields.get(0).map(str::to_owned))
        .ok_or_else(|| "the sample submission is empty".to_owned())
}

fn csv_line(fields: &[&str]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields).expect("writing to memory");
    w.into_inner().expect("writing to memory")
}

/// The carving itself (pure): which rows go, and the four files that result. Kept rows and
/// existing rows stay byte for byte as they were.
pub fn carve(files: &Files, fraction: f64) -> Result<CarvedFiles, String> {
    let train = records(&files.train).map_err(|e| format!("train.csv: {e}"))?;
    let test = records(&files.test).map_err(|e| format!("test.csv: {e}"))?;
    let sample = records(&files.sample).map_err(|e| format!("the sample submission: {e}"))?;
    let answers = records(&files.answers).map_err(|e| format!("the answers: {e}"))?;
    let header = |r: &[RawRecord<'_>], what: &str| -> Result<Vec<String>, String> {
        r.first()
            .map(|h| h.fields.iter().map(str::to_owned).collect())
            .ok_or_else(|| format!("{what} is empty"))
    };
    let (train_h, test_h, sample_h, answers_h) = (
        header(&train, "train.csv")?,
        header(&test, "test.csv")?,
        header(&sample, "the sample submission")?,
        header(&answers, "the answers")?,
    );
    let id = sample_h[0].clone();
    let column = |h: &[String], name: &str, what: &str| -> Result<usize, String> {
        h.iter().position(|c| c == name).ok_or_else(|| {
            format!("{what} has no column {name:?} (the sample submission's id column)")
        })
    };
    let train_id = column(&train_h, &id, "train.csv")?;
    let test_id = column(&test_h, &id, "test.csv")?;
    // Where each output column's value comes from in a train row.
    let from_train = |h: &[String], what: &str| -> Result<Vec<usize>, String> {
        h.iter()
            .map(|c| {
                train_h.iter().position(|t| t == c).ok_or_else(|| {
                    format!(
                        "column {c:?} of {what} is not in train.csv, so carved rows cannot be \
                         written in its format"
                    )
                })
            })
            .collect()
    };
    let to_test = from_train(&test_h, "test.csv")?;
    let to_answers = from_train(&answers_h, "the answers")?;
    let test_ids: HashSet<&str> = test[1..]
        .iter()
        .filter_map(|r| r.fields.get(test_id))
        .collect();
    let sample_defaults: Vec<String> = sample
        .get(1)
        .map(|r| r.fields.iter().map(str::to_owned).collect())
        .ok_or("the sample submission has no rows")?;
    let mut out = CarvedFiles {
        id_column: id.clone(),
        train: train[0].raw.to_vec(),
        test: terminated(files.test.clone()),
        sample: terminated(files.sample.clone()),
        validation: csv_line(&answers_h.iter().map(String::as_str).collect::<Vec<_>>()),
    };
    let mut carved = 0;
    for row in &train[1..] {
        let row_id = row.fields.get(train_id).unwrap_or("");
        if !is_carved(row_id, fraction) {
            out.train.extend_from_slice(row.raw);
            out.train = terminated(out.train);
            continue;
        }
        if test_ids.contains(row_id) {
            return Err(format!("train.csv and test.csv share the id {row_id:?}"));
        }
        carved += 1;
        let pick = |idx: &[usize]| -> Vec<&str> {
            idx.iter()
                .map(|&i| row.fields.get(i).unwrap_or(""))
                .collect()
        };
        out.test.extend(csv_line(&pick(&to_test)));
        out.validation.extend(csv_line(&pick(&to_answers)));
        let mut sample_row: Vec<&str> = sample_defaults.iter().map(String::as_str).collect();
        sample_row[0] = row_id;
        out.sample.extend(csv_line(&sample_row));
    }
    let kept = train.len() - 1 - carved;
    if carved == 0 || kept == 0 {
        return Err(format!(
            "hidden_validation = {fraction} carves {carved} of train.csv's {} rows: choose a \
             fraction that leaves rows on both sides",
            train.len() - 1
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(n: usize) -> Files {
        let mut train = String::from("id,x,label\n");
        let mut test = String::from("id,x\n");
        let mut answers = String::from("id,label\n");
        for i in 0..n {
            train += &format!("t{i},{i}.5,{}\n", i % 3);
        }
        for i in 0..5 {
            test += &format!("q{i},{i}\n");
            answers += &format!("q{i},{}\n", i % 3);
        }
        Files {
            train: train.into_bytes(),
            test: test.into_bytes(),
            sample: b"id,label\nq0,0\nq1,0\n".to_vec(),
            answers: answers.into_bytes(),
        }
    }

    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    #[test]
    fn the_choice_depends_on_the_id_alone_and_takes_about_the_fraction() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("row-{i}")).collect();
        let carved = ids.iter().filter(|id| is_carved(id, 0.1)).count();
        assert!((900..1100).contains(&carved), "{carved} of 10000");
        assert_eq!(is_carved("row-7", 0.1), is_carved("row-7", 0.1));
        assert!(!is_carved("row-7", 0.0) && is_carved("row-7", 1.0));
    }

    #[test]
    fn carved_rows_move_from_train_to_test_sample_and_validation_answers() {
        let f = files(200);
        let out = carve(&f, 0.2).unwrap();
        let carved: Vec<String> = (0..200)
            .map(|i| format!("t{i}"))
            .filter(|id| is_carved(id, 0.2))
            .collect();
        assert!(!carved.is_empty());
        assert_eq!(out.id_column, "id");
        // Train keeps the other rows, as written.
        let train = text(&out.train);
        assert_eq!(train.lines().count(), 1 + 200 - carved.len());
        assert!(train.starts_with("id,x,label\nt"));
        for id in &carved {
            assert!(!train.contains(&format!("\n{id},")), "{id} still in train");
        }
        // Test: the original bytes, then each carved row's features.
        let test = text(&out.test);
        assert!(test.starts_with(text(&f.test)));
        let first = &carved[0];
        let n: usize = first[1..].parse().unwrap();
        assert!(test.contains(&format!("\n{first},{n}.5\n")));
        // Sample: a row per carved id with the sample's first values.
        assert!(text(&out.sample).contains(&format!("\n{first},0\n")));
        // Validation answers in the answers' columns.
        let validation = text(&out.validation);
        assert!(validation.starts_with("id,label\n"));
        assert_eq!(validation.lines().count(), 1 + carved.len());
        assert!(validation.contains(&format!("{first},{}\n", n % 3)));
    }

    #[test]
    fn layouts_that_cannot_be_carved_are_refused_with_the_reason() {
        let mut f = files(50);
        f.sample = b"Insult,Date\n0,x\n".to_vec();
        assert!(carve(&f, 0.2).unwrap_err().contains("no column \"Insult\""));
        let mut f = files(50);
        f.answers = b"id,label,Usage\nq0,0,Public\n".to_vec();
        assert!(
            carve(&f, 0.2)
                .unwrap_err()
                .contains("\"Usage\" of the answers is not in train.csv")
        );
        let e = carve(&files(3), 0.01).unwrap_err();
        assert!(e.contains("carves 0 of train.csv's 3 rows"), "{e}");
    }
}
