//! `randori task list | validate`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use randori_coordinator::tasks::{self, Task};

use crate::args::TaskCommand;

pub fn run(c: TaskCommand) -> Result<ExitCode> {
    match c {
        TaskCommand::List { dir } => list(&dir),
        TaskCommand::Validate { dir } => validate(&dir),
    }
}

fn list(root: &Path) -> Result<ExitCode> {
    let found = tasks::discover(root);
    if found.is_empty() {
        anyhow::bail!(
            "no tasks under {} (a task directory holds config.yaml)",
            root.display()
        );
    }
    let mut broken = 0;
    println!("{:<28} {:<36} {:<7} PATH", "ID", "GRADER", "HIDDEN");
    for t in found {
        match t {
            Ok(t) => println!(
                "{:<28} {:<36} {:<7} {}",
                t.id,
                t.grader_name,
                if t.validation_answers.is_some() {
                    "yes"
                } else {
                    "no"
                },
                t.dir.display()
            ),
            Err(e) => {
                broken += 1;
                eprintln!("error: {e}");
            }
        }
    }
    Ok(if broken == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Loads the task and everything grading needs; the sample submission must grade.
fn validate(dir: &Path) -> Result<ExitCode> {
    let task = Task::load(dir)?;
    let grader = task.grader()?;
    println!(
        "ok: {} ({}), grader {}, {} test rows{}, leaderboard of {} teams",
        task.id,
        task.name,
        task.grader_name,
        grader.test_answers.rows.len(),
        grader
            .validation_answers
            .as_ref()
            .map(|v| format!(" + {} hidden validation rows", v.rows.len()))
            .unwrap_or_default(),
        grader.leaderboard.teams()
    );
    Ok(ExitCode::SUCCESS)
}
