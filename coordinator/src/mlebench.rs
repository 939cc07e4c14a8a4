//! A user's MLE-bench install, used as it is: the package checkout (competition definitions in
//! `mlebench/competitions/<id>/`, splits in `experiments/splits/*.txt`) and the data directory
//! that `mlebench prepare` fills (`<data_dir>/<id>/prepared/{public,private}`).
//!
//! A competition of an install is named by a *location* string, stored wherever a task
//! directory is: `mlebench:<id>?repo=<checkout>&data=<data_dir>` (both absolute), so that the
//! coordinator, which loads and grades tasks, needs no setting of its own.

use std::path::{Path, PathBuf};

/// The split names MLE-bench's paper and README use, and the file each one is.
const SPLIT_ALIASES: [(&str, &str); 4] = [
    ("lite", "low"),
    ("medium", "medium"),
    ("high", "high"),
    ("all", "split75"),
];

const LOCATION_PREFIX: &str = "mlebench:";
/// The location's last parameter, when hidden validation is on.
const HIDDEN_VALIDATION: &str = "&hidden_validation=";

#[derive(Debug, thiserror::Error)]
pub enum MleBenchError {
    #[error(
        "{0}: not an MLE-bench checkout (no mlebench/competitions/ inside); set [mlebench] repo in the sweep file or MLEBENCH_REPO"
    )]
    NotACheckout(PathBuf),
    #[error(
        "no MLE-bench checkout given: set [mlebench] repo in the sweep file or MLEBENCH_REPO to the directory `git clone https://github.com/openai/mle-bench` made"
    )]
    NoCheckout,
    #[error("{path}: {what}")]
    Io { path: PathBuf, what: String },
    #[error("no competition or split {name:?} in {repo}: splits are {splits}")]
    Unknown {
        name: String,
        repo: PathBuf,
        splits: String,
    },
    #[error("{split}: competition {id:?} is not in {repo}/mlebench/competitions")]
    SplitNamesUnknown {
        split: PathBuf,
        id: String,
        repo: PathBuf,
    },
    #[error(
        "{0:?} cannot be part of an MLE-bench location (it holds `?repo=`, `&data=` or `&hidden_validation=`)"
    )]
    BadPath(PathBuf),
}

/// Where an install is: both directories absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub repo: PathBuf,
    pub data_dir: PathBuf,
}

/// MLE-bench's own default data directory: `appdirs.user_cache_dir() / "mle-bench" / "data"`,
/// which on Linux is `$XDG_CACHE_HOME` or `~/.cache`.
pub fn default_data_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
    cache.join("mle-bench").join("data")
}

impl Install {
    /// The checkout must hold `mlebench/competitions/`; the data directory need not exist yet
    /// (a competition that is not prepared says so when it is used).
    pub fn new(repo: &Path, data_dir: &Path) -> Result<Self, MleBenchError> {
        let repo = repo
            .canonicalize()
            .map_err(|_| MleBenchError::NotACheckout(repo.to_owned()))?;
        if !repo.join("mlebench").join("competitions").is_dir() {
            return Err(MleBenchError::NotACheckout(repo));
        }
        let data_dir = data_dir.canonicalize().unwrap_or_else(|_| {
            std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned())
        });
        for p in [&repo, &data_dir] {
            let s = p.to_string_lossy();
            if s.contains("?repo=") || s.contains("&data=") || s.contains(HIDDEN_VALIDATION) {
                return Err(MleBenchError::BadPath(p.clone()));
            }
        }
        Ok(Self { repo, data_dir })
    }

    /// The install named by the arguments, else by `MLEBENCH_REPO` and `MLEBENCH_DATA_DIR`, the
    /// data directory defaulting to MLE-bench's own.
    pub fn from_settings(
        repo: Option<&Path>,
        data_dir: Option<&Path>,
    ) -> Result<Self, MleBenchError> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let repo = repo
            .map(Path::to_owned)
            .or_else(|| env("MLEBENCH_REPO"))
            .ok_or(MleBenchError::NoCheckout)?;
        let data_dir = data_dir
            .map(Path::to_owned)
            .or_else(|| env("MLEBENCH_DATA_DIR"))
            .unwrap_or_else(default_data_dir);
        Self::new(&repo, &data_dir)
    }

    pub fn competition_dir(&self, id: &str) -> PathBuf {
        self.repo.join("mlebench").join("competitions").join(id)
    }

    /// `<data_dir>/<id>/prepared`, what `mlebench prepare -c <id>` writes.
    pub fn prepared_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join(id).join("prepared")
    }

    /// Every competition the checkout defines (a directory with `config.yaml`), sorted.
    pub fn competition_ids(&self) -> Result<Vec<String>, MleBenchError> {
        let dir = self.repo.join("mlebench").join("competitions");
        let entries = std::fs::read_dir(&dir).map_err(|e| MleBenchError::Io {
            path: dir.clone(),
            what: e.to_string(),
        })?;
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join("config.yaml").is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The split names this checkout has (`experiments/splits/*.txt`), with the aliases.
    pub fn split_names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.splits_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.to_owned();
                name.strip_suffix(".txt").map(str::to_owned)
            })
            .collect();
        names.sort();
        let aliases = SPLIT_ALIASES
            .iter()
            .filter(|(_, file)| names.iter().any(|n| n == file))
            .map(|(alias, file)| format!("{alias} (= {file})"));
        aliases.chain(names.iter().cloned()).collect()
    }

    fn splits_dir(&self) -> PathBuf {
        self.repo.join("experiments").join("splits")
    }

    /// A competition id, or a split (an alias or the name of `experiments/splits/<name>.txt`),
    /// as the competition ids it stands for, in the split's order.
    pub fn resolve(&self, name: &str) -> Result<Vec<String>, MleBenchError> {
        if self.competition_dir(name).join("config.yaml").is_file() {
            return Ok(vec![name.to_owned()]);
        }
        let file = SPLIT_ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |(_, file)| file);
        let path = self.splits_dir().join(format!("{file}.txt"));
        let valid_name = !file.is_empty() && !file.contains(['/', '\\']) && file != "..";
        if !valid_name || !path.is_file() {
            return Err(MleBenchError::Unknown {
                name: name.to_owned(),
                repo: self.repo.clone(),
                splits: self.split_names().join(", "),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| MleBenchError::Io {
            path: path.clone(),
            what: e.to_string(),
        })?;
        let ids: Vec<String> = parse_split(&text);
        for id in &ids {
            if !self.competition_dir(id).join("config.yaml").is_file() {
                return Err(MleBenchError::SplitNamesUnknown {
                    split: path,
                    id: id.clone(),
                    repo: self.repo.clone(),
                });
            }
        }
        Ok(ids)
    }

    /// The location string of competition `id` of this install.
    pub fn location(&self, id: &str) -> String {
        format!(
            "{LOCATION_PREFIX}{id}?repo={}&data={}",
            self.repo.display(),
            self.data_dir.display()
        )
    }

    /// The location of competition `id` with hidden validation carved out of `train.csv` at
    /// `fraction` (`crate::hidden_validation`), or without when None.
    pub fn location_with(&self, id: &str, hidden_validation: Option<f64>) -> String {
        match hidden_validation {
            Some(f) => format!("{}{HIDDEN_VALIDATION}{f}", self.location(id)),
            None => self.location(id),
        }
    }
}

/// What a competition's leaderboard file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardFile {
    Present,
    /// A Git LFS pointer: the clone was made without `git lfs pull`.
    LfsPointer,
    Missing,
}

impl Install {
    /// Whether `mlebench prepare -c <id>` has run: both halves of the prepared data exist.
    pub fn is_prepared(&self, id: &str) -> bool {
        let prepared = self.prepared_dir(id);
        prepared.join("public").is_dir() && prepared.join("private").is_dir()
    }

    pub fn board_file(&self, id: &str) -> BoardFile {
        match std::fs::read(self.competition_dir(id).join("leaderboard.csv")) {
            Ok(bytes) if is_lfs_pointer(&bytes) => BoardFile::LfsPointer,
            Ok(_) => BoardFile::Present,
            Err(_) => BoardFile::Missing,
        }
    }
}

/// One id per line; blank lines and `#` comments are skipped.
pub fn parse_split(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A competition of an install, read back from its location string.
#[derive(Debug, Clone, PartialEq)]
pub struct Competition {
    pub id: String,
    pub install: Install,
    /// The share of `train.csv` carved out for hidden validation, when on.
    pub hidden_validation: Option<f64>,
}

impl Competition {
    /// None when `location` is not an MLE-bench location (a task directory, then).
    pub fn parse(location: &str) -> Option<Self> {
        let rest = location.strip_prefix(LOCATION_PREFIX)?;
        let (id, rest) = rest.split_once("?repo=")?;
        let (repo, rest) = rest.split_once("&data=")?;
        let (data, hidden_validation) = match rest.split_once(HIDDEN_VALIDATION) {
            Some((data, f)) => (data, Some(f.parse().ok()?)),
            None => (rest, None),
        };
        Some(Self {
            id: id.to_owned(),
            install: Install {
                repo: repo.into(),
                data_dir: data.into(),
            },
            hidden_validation,
        })
    }

    pub fn dir(&self) -> PathBuf {
        self.install.competition_dir(&self.id)
    }
}

/// Whether `bytes` are a Git LFS pointer (what a clone without `git lfs pull` holds) rather than
/// the file's content.
pub fn is_lfs_pointer(bytes: &[u8]) -> bool {
    bytes.starts_with(b"version https://git-lfs.github.com/spec/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_reads_back_as_the_competition_it_names() {
        let install = Install {
            repo: "/src/mle-bench".into(),
            data_dir: "/data/mle bench".into(),
        };
        let location = install.location("spaceship-titanic");
        assert_eq!(
            location,
            "mlebench:spaceship-titanic?repo=/src/mle-bench&data=/data/mle bench"
        );
        let c = Competition::parse(&location).unwrap();
        assert_eq!(c.id, "spaceship-titanic");
        assert_eq!(c.install, install);
        assert_eq!(
            c.dir(),
            Path::new("/src/mle-bench/mlebench/competitions/spaceship-titanic")
        );
        assert_eq!(c.hidden_validation, None);
        assert_eq!(Competition::parse("/tasks/mini/taxi-fare"), None);
        let carved = Competition::parse(&install.location_with("leaf", Some(0.15))).unwrap();
        assert_eq!(
            (
                carved.id.as_str(),
                &carved.install,
                carved.hidden_validation
            ),
            ("leaf", &install, Some(0.15))
        );
    }

    #[test]
    fn splits_skip_blank_lines_and_comments() {
        assert_eq!(
            parse_split("a\n\n  b  \n# c\nd # why\n"),
            vec!["a", "b", "d"]
        );
    }

    #[test]
    fn an_lfs_pointer_is_told_from_a_board() {
        assert!(is_lfs_pointer(
            b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 12\n"
        ));
        assert!(!is_lfs_pointer(b"teamId,score\n1,0.5\n"));
    }
}
