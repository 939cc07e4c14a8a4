//! The data preview the builtin operators work from, read from a task's public files.

use std::path::Path;

use randori_operators::builtin::DataPreview;

use super::operators::TaskContext;
use crate::grading::LoadedTask;

/// Column names of a CSV file's header (empty when the file is absent).
fn header(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(first)
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(|c| c.trim().to_owned()).collect())
        .unwrap_or_default()
}

/// Blocking: what a run's operators know of its task.
pub fn task_context(loaded: &LoadedTask) -> TaskContext {
    let preview = data_preview(loaded);
    TaskContext {
        preview_text: preview_text(&loaded.task.public_dir, &preview.files),
        description: loaded.task.description.clone(),
        preview,
    }
}

/// The files, and the first lines of the CSV files, as an LLM is shown them.
fn preview_text(public: &Path, files: &[String]) -> String {
    let mut text = format!("Files in /home/data: {}\n", files.join(", "));
    for name in files.iter().filter(|f| f.ends_with(".csv")) {
        let head: Vec<String> = std::fs::read_to_string(public.join(name))
            .unwrap_or_default()
            .lines()
            .take(5)
            .map(|l| l.chars().take(300).collect())
            .collect();
        text.push_str(&format!("\n{name} (first lines):\n{}\n", head.join("\n")));
    }
    text
}

/// Blocking: reads a few headers and lists the public directory.
fn data_preview(loaded: &LoadedTask) -> DataPreview {
    let task = &loaded.task;
    let public = &task.public_dir;
    let mut files: Vec<String> = std::fs::read_dir(public)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect();
    files.sort();
    DataPreview {
        task_id: task.id.clone(),
        grader: task.grader_name.clone(),
        id_column: loaded.grader.columns.id.clone(),
        target_columns: loaded.grader.columns.targets.clone(),
        train_columns: header(&public.join("train.csv")),
        test_columns: header(&public.join("test.csv")),
        files,
        lower_is_better: loaded.grader.leaderboard.lower_is_better(),
    }
}
