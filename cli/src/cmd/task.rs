//! `randori task list | validate`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use randori_coordinator::mlebench::{BoardFile, Install};
use randori_coordinator::tasks::{self, Task};

use crate::args::TaskCommand;

pub fn run(c: TaskCommand) -> Result<ExitCode> {
    match c {
        TaskCommand::List {
            mlebench: true,
            repo,
            data_dir,
            ..
        } => list_mlebench(&Install::from_settings(
            repo.as_deref(),
            data_dir.as_deref(),
        )?),
        TaskCommand::List { dir, .. } => list(&dir),
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
                grading_path(&t),
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

/// The path that grades the task's nodes, and what it runs: `native: rmse`, `grade.py: name`,
/// `mlebench: module:function (name)`.
fn grading_path(t: &Task) -> String {
    let path = t.scorer().path();
    match &t.competition_grader {
        Some(g) => format!("{path}: {} ({})", g.grade_fn, t.grader_name),
        None => format!("{path}: {}", t.grader_name),
    }
}

/// Every competition of the install, with what it lacks: a competition that does not load says
/// why (with the command that fixes it) on stderr.
fn list_mlebench(install: &Install) -> Result<ExitCode> {
    println!(
        "MLE-bench checkout {}, data {}",
        install.repo.display(),
        install.data_dir.display()
    );
    println!(
        "{:<52} {:<8} {:<12} GRADER",
        "ID", "PREPARED", "LEADERBOARD"
    );
    let (mut ready, mut total) = (0, 0);
    for id in install.competition_ids()? {
        total += 1;
        let loaded = Task::load(std::path::Path::new(&install.location(&id)));
        let grader = match &loaded {
            Ok(t) => grading_path(t),
            Err(_) => "-".to_owned(),
        };
        let board = match install.board_file(&id) {
            BoardFile::Present => "present",
            BoardFile::LfsPointer => "lfs-pointer",
            BoardFile::Missing => "missing",
        };
        let prepared = if install.is_prepared(&id) {
            "yes"
        } else {
            "no"
        };
        println!("{id:<52} {prepared:<8} {board:<12} {grader}");
        match loaded {
            Ok(_) => ready += 1,
            Err(e) => eprintln!("{id}: {e}"),
        }
    }
    println!("{ready} of {total} competitions load and grade");
    Ok(ExitCode::SUCCESS)
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
