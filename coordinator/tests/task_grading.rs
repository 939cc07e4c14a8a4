//! Golden grading of every task shipped under tasks/mini (and the test fixture), and an
//! MLE-bench-layout directory outside the repository's tasks/.

use std::path::{Path, PathBuf};

use randori_coordinator::tasks::{Task, discover};
use randori_grading::medals::Medal;
use randori_grading::metrics::Metric;
use randori_grading::report::{Scorer, TaskGrader, takes_probabilities};
use randori_grading::table::Table;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn mini_tasks() -> Vec<Task> {
    let found = discover(&repo().join("tasks/mini"));
    assert!(
        found.len() >= 8,
        "the mini-bench has at least 8 tasks, found {}",
        found.len()
    );
    found
        .into_iter()
        .map(|t| t.expect("every mini task loads"))
        .collect()
}

fn to_csv(t: &Table) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&t.header).unwrap();
    for r in &t.rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

/// The answers themselves as a submission: validation rows then test rows, in the sample's
/// column order.
fn perfect_submission(g: &TaskGrader) -> Table {
    let mut header = vec![g.columns.id.clone()];
    header.extend(g.columns.targets.clone());
    let mut rows = Vec::new();
    for answers in g.validation_answers.iter().chain([&g.test_answers]) {
        let idx: Vec<usize> = header
            .iter()
            .map(|c| answers.column_index(c).unwrap())
            .collect();
        rows.extend(
            answers
                .rows
                .iter()
                .map(|r| idx.iter().map(|&i| r[i].clone()).collect::<Vec<_>>()),
        );
    }
    Table { header, rows }
}

#[test]
fn every_mini_task_grades_its_golden_submissions() {
    let tasks = mini_tasks();
    let mut bands = std::collections::BTreeSet::new();
    for task in &tasks {
        let g = task.grader().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            g.validation_answers.is_some(),
            "{}: hidden validation",
            task.id
        );
        bands.insert(match g.leaderboard.teams() {
            1..=99 => 0,
            100..=249 => 1,
            250..=999 => 2,
            _ => 3,
        });
        let perfect = perfect_submission(&g);

        // The answers as a submission: valid, gold, and a validation score.
        let gold = g.grade(Some(&to_csv(&perfect)), "");
        assert_eq!(gold.report.medal, Medal::Gold, "{}: {gold:?}", task.id);
        assert!(
            gold.report.valid_submission && gold.val_score.is_some(),
            "{}",
            task.id
        );

        // The sample submission: valid, no medal.
        let sample = std::fs::read(&task.sample_submission).unwrap();
        let s = g.grade(Some(&sample), "");
        assert!(s.report.valid_submission, "{}: {s:?}", task.id);
        assert_eq!(
            s.report.medal,
            Medal::None,
            "{}: the sample submission wins nothing",
            task.id
        );

        // Broken submissions: invalid, null score, every flag false, and a reason.
        let mut short = perfect.clone();
        short.rows.pop();
        let mut missing_column = perfect.clone();
        missing_column.header.pop();
        for r in &mut missing_column.rows {
            r.pop();
        }
        let mut broken = vec![
            ("wrong row count", short),
            ("a missing column", missing_column),
        ];
        if matches!(g.scorer, Scorer::Metric(m) if takes_probabilities(m)) {
            let mut out_of_range = perfect.clone();
            out_of_range.rows[0][1] = "1.5".into();
            broken.push(("a probability out of range", out_of_range));
        }
        for (what, table) in broken {
            let b = g.grade(Some(&to_csv(&table)), "randori:metric=0.5");
            assert_eq!(b.report.score, None, "{}: {what}", task.id);
            assert_eq!(b.val_score, None, "{}: {what}", task.id);
            assert!(
                !b.report.valid_submission && !b.report.above_median,
                "{}: {what}",
                task.id
            );
            assert_eq!(b.report.medal, Medal::None, "{}: {what}", task.id);
            assert!(b.report.submission_exists);
            assert!(b.invalid_reason.is_some(), "{}: {what}", task.id);
        }

        // No file at all.
        let none = g.grade(None, "");
        assert!(!none.report.submission_exists && !none.report.valid_submission);
    }
    assert_eq!(
        bands.len(),
        4,
        "the leaderboards exercise every team-count band"
    );
}

/// A competition laid out as MLE-bench prepares it, outside tasks/: its config names the
/// answers relative to the data directory (`<id>/prepared/...`), points its description into
/// the mlebench package, and carries keys randori does not use.
#[test]
fn an_mle_bench_layout_directory_loads_validates_and_grades() {
    let data = tempfile::tempdir().unwrap();
    let id = "spaceship-toy";
    let dir = data.path().join(id);
    let src = repo().join("tests/fixtures/tasks/toy-regression");
    copy_dir(&src.join("prepared"), &dir.join("prepared"));
    std::fs::copy(src.join("leaderboard.csv"), dir.join("leaderboard.csv")).unwrap();
    std::fs::copy(src.join("description.md"), dir.join("description.md")).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        format!(
            "id: {id}\nname: Spaceship Toy\ncompetition_type: simple\nawards_medals: false\nprizes: null\n\
             description: mlebench/competitions/{id}/description.md\n\n\
             dataset:\n  answers: {id}/prepared/private/test.csv\n  sample_submission: {id}/prepared/public/sample_submission.csv\n\n\
             grader:\n  name: root_mean_squared_error\n  grade_fn: mlebench.competitions.{id}.grade:grade\n\n\
             preparer: mlebench.competitions.{id}.prepare:prepare\n"
        ),
    )
    .unwrap();

    let task = Task::load(&dir).unwrap();
    assert_eq!(task.id, id);
    assert_eq!(task.metric, Some(Metric::Rmse));
    assert_eq!(task.grade_program, None);
    assert!(task.validation_answers.is_none());
    let g = task.grader().unwrap();
    let answers = std::fs::read(&task.answers).unwrap();
    let graded = g.grade(Some(&answers), "randori:metric=0.3");
    assert_eq!(graded.report.score, Some(0.0));
    assert_eq!(graded.report.medal, Medal::Gold);
    assert!(graded.report.is_lower_better);
    assert_eq!(
        graded.val_score,
        Some(0.3),
        "no hidden validation: the printed metric"
    );
    assert_eq!(discover(data.path()).len(), 1);
}

/// What is broken, how to break a copy of the fixture, and what the error must say.
type BrokenCase = (&'static str, fn(&Path), &'static str);

#[test]
fn broken_tasks_say_what_is_wrong() {
    let src = repo().join("tests/fixtures/tasks/toy-regression");
    let cases: &[BrokenCase] = &[
        (
            "no config",
            |d| std::fs::remove_file(d.join("config.yaml")).unwrap(),
            "config.yaml: No such file",
        ),
        (
            "bad yaml",
            |d| std::fs::write(d.join("config.yaml"), "id: [").unwrap(),
            "config.yaml:",
        ),
        (
            "no grader",
            |d| {
                std::fs::write(
                    d.join("config.yaml"),
                    "id: x\ndataset:\n  answers: a\n  sample_submission: b\n",
                )
                .unwrap()
            },
            "missing field `grader`",
        ),
        (
            "no answers",
            |d| std::fs::remove_file(d.join("prepared/private/test.csv")).unwrap(),
            "dataset.answers: toy-regression/prepared/private/test.csv does not exist",
        ),
        (
            "no public data",
            |d| std::fs::remove_dir_all(d.join("prepared/public")).unwrap(),
            "prepared/public/ is missing",
        ),
        (
            "no leaderboard",
            |d| std::fs::remove_file(d.join("leaderboard.csv")).unwrap(),
            "leaderboard.csv is missing",
        ),
        (
            "no description",
            |d| std::fs::remove_file(d.join("description.md")).unwrap(),
            "description.md:",
        ),
    ];
    for (what, breakit, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("toy-regression");
        copy_dir(&src, &dir);
        breakit(&dir);
        let err = Task::load(&dir).expect_err(what).to_string();
        assert!(err.contains(want), "{what}: {err}");
    }
    let graded_cases: &[BrokenCase] = &[
        (
            "unknown grader",
            |d| edit(d, "root-mean-squared-error", "bleu-4"),
            "grader \"bleu-4\" has no Rust metric",
        ),
        (
            "leaderboard without scores",
            |d| std::fs::write(d.join("leaderboard.csv"), "teamId,points\n1,2\n").unwrap(),
            "leaderboard.csv has no `score` column",
        ),
        (
            "empty leaderboard",
            |d| std::fs::write(d.join("leaderboard.csv"), "teamId,score\n").unwrap(),
            "the leaderboard has no teams",
        ),
        (
            "answers without targets",
            |d| std::fs::write(d.join("prepared/private/test.csv"), "id\n1\n").unwrap(),
            "the answers lack column \"y\"",
        ),
    ];
    for (what, breakit, want) in graded_cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("toy-regression");
        copy_dir(&src, &dir);
        breakit(&dir);
        let err = Task::load(&dir)
            .and_then(|t| t.grader().map(|_| ()))
            .expect_err(what)
            .to_string();
        assert!(err.contains(want), "{what}: {err}");
    }
}

fn edit(dir: &Path, from: &str, to: &str) {
    let p = dir.join("config.yaml");
    let s = std::fs::read_to_string(&p).unwrap().replace(from, to);
    std::fs::write(p, s).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
