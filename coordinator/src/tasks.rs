//! Tasks in MLE-bench's layout: `config.yaml` (MLE-bench's keys), `description.md`,
//! `leaderboard.csv`, `prepared/public/` (what the agent sees) and `prepared/private/` (the
//! answers). Loading checks every piece and says what is missing or malformed. A competition of
//! a user's MLE-bench install (`crate::mlebench`) loads from its two directories instead.

use std::path::{Path, PathBuf};

use randori_grading::medals::Leaderboard;
use randori_grading::metrics::Metric;
use randori_grading::report::{Scorer, TaskGrader};
use randori_grading::submission::Columns;
use randori_grading::table::Table;
use serde::Deserialize;

use crate::hidden_validation;
use crate::mlebench::{self, Competition};

/// `config.yaml` as MLE-bench writes it. Keys it has that randori does not use
/// (`competition_type`, `awards_medals`, `prizes`, `preparer`, `grader.grade_fn`) are accepted
/// and ignored, so that MLE-bench's own configs load unchanged.
#[derive(Debug, Deserialize)]
struct Config {
    id: String,
    name: Option<String>,
    dataset: DatasetConfig,
    grader: GraderConfig,
}

#[derive(Debug, Deserialize)]
struct DatasetConfig {
    answers: PathBuf,
    sample_submission: PathBuf,
    /// randori's extension: hidden validation answers.
    validation_answers: Option<PathBuf>,
    /// randori's extension: name the id and target columns instead of taking them from the
    /// sample submission.
    id_column: Option<String>,
    target_columns: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct GraderConfig {
    name: String,
    /// MLE-bench's `module:function` of the competition's grade function.
    grade_fn: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("{dir}: {what}")]
    Invalid { dir: PathBuf, what: String },
}

/// A competition's own grade function, in the user's MLE-bench checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetitionGrader {
    /// The checkout, the directory that holds the `mlebench` package.
    pub repo: PathBuf,
    /// `module:function`, as `grader.grade_fn` of the config names it.
    pub grade_fn: String,
}

/// A task that loaded: every file it names exists.
#[derive(Debug, Clone)]
pub struct Task {
    pub id: String,
    pub name: String,
    /// Where the task is, as it is stored and sent: its directory, or an MLE-bench location.
    pub dir: PathBuf,
    pub description: String,
    pub grader_name: String,
    /// None when no Rust metric implements the grader: then `grade.py` does.
    pub metric: Option<Metric>,
    /// The task's own grading program (`grade.py`, MLE-bench's `grade(submission, answers)`),
    /// required when no Rust metric implements the grader.
    pub grade_program: Option<PathBuf>,
    pub public_dir: PathBuf,
    pub answers: PathBuf,
    pub sample_submission: PathBuf,
    pub validation_answers: Option<PathBuf>,
    pub leaderboard: PathBuf,
    /// Set for MLE-bench competitions: they are graded by their own grade function, which
    /// decides validity too, so that every grade is the one `mlebench grade` gives.
    pub competition_grader: Option<CompetitionGrader>,
    columns: Option<Columns>,
}

impl Task {
    /// Loads the task at `dir`: a task directory, or an MLE-bench location
    /// (`mlebench:<id>?repo=…&data=…`).
    pub fn load(dir: &Path) -> Result<Self, TaskError> {
        if let Some(c) = dir.to_str().and_then(Competition::parse) {
            return Self::load_competition(&c, dir);
        }
        let dir = dir.canonicalize().map_err(|e| TaskError::Invalid {
            dir: dir.to_owned(),
            what: format!("cannot open the task directory: {e}"),
        })?;
        let bad = |what: String| TaskError::Invalid {
            dir: dir.clone(),
            what,
        };
        let config_path = dir.join("config.yaml");
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| bad(format!("config.yaml: {e}")))?;
        let config: Config =
            serde_yaml::from_str(&text).map_err(|e| bad(format!("config.yaml: {e}")))?;
        let description = std::fs::read_to_string(dir.join("description.md"))
            .map_err(|e| bad(format!("description.md: {e}")))?;
        let public_dir = dir.join("prepared").join("public");
        if !public_dir.is_dir() {
            return Err(bad("prepared/public/ is missing".into()));
        }
        let find = |key: &str, p: &Path| {
            resolve(&dir, &config.id, p)
                .ok_or_else(|| bad(format!("{key}: {} does not exist", p.display())))
        };
        let answers = find("dataset.answers", &config.dataset.answers)?;
        let sample_submission = find(
            "dataset.sample_submission",
            &config.dataset.sample_submission,
        )?;
        let validation_answers = config
            .dataset
            .validation_answers
            .as_deref()
            .map(|p| find("dataset.validation_answers", p))
            .transpose()?;
        let leaderboard = dir.join("leaderboard.csv");
        if !leaderboard.is_file() {
            return Err(bad("leaderboard.csv is missing".into()));
        }
        let columns = match (&config.dataset.id_column, &config.dataset.target_columns) {
            (Some(id), Some(targets)) if !targets.is_empty() => Some(Columns {
                id: id.clone(),
                targets: targets.clone(),
            }),
            (None, None) => None,
            _ => {
                return Err(bad(
                    "dataset.id_column and dataset.target_columns go together".into(),
                ));
            }
        };
        let metric = Metric::from_grader_name(&config.grader.name);
        let grade_program = Some(dir.join("grade.py")).filter(|p| p.is_file());
        if metric.is_none() && grade_program.is_none() {
            return Err(bad(format!(
                "grader {:?} has no Rust metric (known: {}) and the task has no grade.py",
                config.grader.name,
                Metric::ALL.map(Metric::name).join(", ")
            )));
        }
        Ok(Self {
            name: config.name.unwrap_or_else(|| config.id.clone()),
            id: config.id,
            description,
            metric,
            grade_program,
            grader_name: config.grader.name,
            public_dir,
            answers,
            sample_submission,
            validation_answers,
            leaderboard,
            competition_grader: None,
            columns,
            dir,
        })
    }

    /// A competition of an MLE-bench install: definition from the checkout, data from the
    /// data directory, each missing piece reported with the command that makes it.
    fn load_competition(c: &Competition, location: &Path) -> Result<Self, TaskError> {
        let dir = c.dir();
        let bad = |what: String| TaskError::Invalid {
            dir: dir.clone(),
            what,
        };
        if !dir.join("config.yaml").is_file() {
            return Err(bad(format!(
                "no competition {:?} in this MLE-bench checkout (`randori task list --mlebench` lists them)",
                c.id
            )));
        }
        let text = std::fs::read_to_string(dir.join("config.yaml"))
            .map_err(|e| bad(format!("config.yaml: {e}")))?;
        let config: Config =
            serde_yaml::from_str(&text).map_err(|e| bad(format!("config.yaml: {e}")))?;
        let description = std::fs::read_to_string(dir.join("description.md"))
            .map_err(|e| bad(format!("description.md: {e}")))?;
        let leaderboard = dir.join("leaderboard.csv");
        let board =
            std::fs::read(&leaderboard).map_err(|e| bad(format!("leaderboard.csv: {e}")))?;
        if mlebench::is_lfs_pointer(&board) {
            return Err(bad(format!(
                "leaderboard.csv is a Git LFS pointer, not the leaderboard: run `git lfs pull` in {}",
                c.install.repo.display()
            )));
        }
        let grade_fn = config.grader.grade_fn.clone().ok_or_else(|| {
            bad("config.yaml: grader.grade_fn is missing (MLE-bench's `module:function`)".into())
        })?;
        let not_prepared = |what: &str| {
            bad(format!(
                "{what}: the data is not prepared; run `mlebench prepare -c {} --data-dir {}`",
                c.id,
                c.install.data_dir.display()
            ))
        };
        let public_dir = c.install.prepared_dir(&c.id).join("public");
        if !public_dir.is_dir() {
            return Err(not_prepared(&public_dir.display().to_string()));
        }
        let data_file = |p: &Path| {
            let path = c.install.data_dir.join(p);
            if path.is_file() {
                Ok(path)
            } else {
                Err(not_prepared(&path.display().to_string()))
            }
        };
        let answers = data_file(&config.dataset.answers)?;
        let sample_submission = data_file(&config.dataset.sample_submission)?;
        let (public_dir, sample_submission, validation_answers) = match c.hidden_validation {
            None => (public_dir, sample_submission, None),
            Some(fraction) => {
                let prepared = c.install.prepared_dir(&c.id);
                let carved =
                    hidden_validation::ensure(&prepared, &sample_submission, &answers, fraction)
                        .map_err(|e| bad(format!("hidden validation: {e}")))?;
                let sample = carved
                    .public_dir
                    .join(sample_submission.file_name().unwrap_or_default());
                (carved.public_dir, sample, Some(carved.validation_answers))
            }
        };
        Ok(Self {
            name: config.name.unwrap_or_else(|| config.id.clone()),
            id: config.id,
            dir: location.to_owned(),
            description,
            grader_name: config.grader.name,
            metric: None,
            grade_program: Some(dir.join("grade.py")).filter(|p| p.is_file()),
            public_dir,
            answers,
            sample_submission,
            validation_answers,
            leaderboard,
            competition_grader: Some(CompetitionGrader {
                repo: c.install.repo.clone(),
                grade_fn,
            }),
            columns: None,
        })
    }

    /// How this task's submissions are scored (what [`Self::grader`] builds), without reading
    /// any file.
    pub fn scorer(&self) -> Scorer {
        if self.competition_grader.is_some() {
            Scorer::Competition
        } else {
            self.metric.map_or(Scorer::External, Scorer::Metric)
        }
    }

    /// Reads the answers, the sample submission and the leaderboard, and checks that they
    /// agree: everything grading needs, loaded once.
    pub fn grader(&self) -> Result<TaskGrader, TaskError> {
        let bad = |what: String| TaskError::Invalid {
            dir: self.dir.clone(),
            what,
        };
        let table = |p: &Path| -> Result<Table, TaskError> {
            let bytes = std::fs::read(p).map_err(|e| bad(format!("{}: {e}", p.display())))?;
            Table::parse(&bytes).map_err(|e| bad(format!("{}: {e}", p.display())))
        };
        if self.competition_grader.is_some() {
            // The competition's own grade function reads the files as pandas does and decides
            // validity itself: the sample's columns only tell the builtin operators what to
            // write (and, with hidden validation, which column holds the ids that split a
            // submission), and only the validation answers' ids are read here.
            let columns = std::fs::read(&self.sample_submission)
                .ok()
                .and_then(|b| Table::parse(&b).ok())
                .and_then(|t| Columns::from_sample(&t).ok())
                .unwrap_or(Columns {
                    id: String::new(),
                    targets: Vec::new(),
                });
            return Ok(TaskGrader {
                task_id: self.id.clone(),
                scorer: Scorer::Competition,
                columns,
                test_answers: Table {
                    header: Vec::new(),
                    rows: Vec::new(),
                },
                validation_answers: self.validation_answers.as_deref().map(table).transpose()?,
                leaderboard: self.leaderboard()?,
            });
        }
        let sample = table(&self.sample_submission)?;
        let columns = match &self.columns {
            Some(c) => c.clone(),
            None => Columns::from_sample(&sample).map_err(|e| bad(e.to_string()))?,
        };
        let test_answers = table(&self.answers)?;
        let validation_answers = self.validation_answers.as_deref().map(table).transpose()?;
        for (name, answers) in [
            ("answers", Some(&test_answers)),
            ("validation answers", validation_answers.as_ref()),
        ] {
            let Some(answers) = answers else { continue };
            for c in std::iter::once(&columns.id).chain(&columns.targets) {
                if answers.column_index(c).is_none() {
                    return Err(bad(format!("the {name} lack column {c:?}")));
                }
            }
            if answers.rows.is_empty() {
                return Err(bad(format!("the {name} have no rows")));
            }
        }
        let leaderboard = self.leaderboard()?;
        let scorer = self.scorer();
        let grader = TaskGrader {
            task_id: self.id.clone(),
            scorer,
            columns,
            test_answers,
            validation_answers,
            leaderboard,
        };
        if scorer == Scorer::External {
            // Scoring the sample would need a container; it is scored with the first node.
            return Ok(grader);
        }
        // The sample submission must itself be gradable: it fixes the format agents follow.
        let sample_bytes = std::fs::read(&self.sample_submission)
            .map_err(|e| bad(format!("{}: {e}", self.sample_submission.display())))?;
        let g = grader.grade(Some(&sample_bytes), "");
        if let Some(reason) = g.invalid_reason {
            return Err(bad(format!(
                "the sample submission does not grade: {reason}"
            )));
        }
        Ok(grader)
    }
    /// `leaderboard.csv`'s scores, in board order (blank scores are NaN, as pandas reads them).
    fn leaderboard(&self) -> Result<Leaderboard, TaskError> {
        let bad = |what: String| TaskError::Invalid {
            dir: self.dir.clone(),
            what,
        };
        let bytes = std::fs::read(&self.leaderboard)
            .map_err(|e| bad(format!("{}: {e}", self.leaderboard.display())))?;
        let board = Table::parse(&bytes)
            .map_err(|e| bad(format!("{}: {e}", self.leaderboard.display())))?;
        let score_col = board
            .column_index("score")
            .ok_or_else(|| bad("leaderboard.csv has no `score` column".into()))?;
        let scores = board
            .rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let s = r[score_col].trim();
                if s.is_empty() {
                    Ok(f64::NAN)
                } else {
                    s.parse().map_err(|_| {
                        bad(format!(
                            "leaderboard.csv row {}: score {s:?} is not a number",
                            i + 2
                        ))
                    })
                }
            })
            .collect::<Result<Vec<f64>, _>>()?;
        Leaderboard::new(scores).map_err(|e| bad(format!("leaderboard.csv: {e}")))
    }
}

/// Resolves a dataset path of the config. MLE-bench writes them relative to its data
/// directory (`<id>/prepared/...`), so they are tried against the task's parent first, then
/// the task directory itself.
fn resolve(dir: &Path, id: &str, p: &Path) -> Option<PathBuf> {
    let mut candidates = vec![dir.join(p)];
    if let Ok(rest) = p.strip_prefix(id) {
        candidates.insert(0, dir.join(rest));
    }
    if let Some(parent) = dir.parent() {
        candidates.push(parent.join(p));
    }
    candidates.into_iter().find(|c| c.is_file())
}

/// Every task under `root` (a task directory itself, or directories holding them, two levels
/// deep), loaded or with the reason it did not load.
pub fn discover(root: &Path) -> Vec<Result<Task, TaskError>> {
    if root.join("config.yaml").is_file() {
        return vec![Task::load(root)];
    }
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        if d.join("config.yaml").is_file() {
            found.push(Task::load(&d));
        } else {
            found.extend(discover_children(&d).into_iter().map(|c| Task::load(&c)));
        }
    }
    found
}

fn discover_children(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("config.yaml").is_file())
        .collect();
    v.sort();
    v
}
