//! The host directory of one run: `code/solution.py` (and `code/run.env` for a container),
//! `submission/`, `work/`, `tmp/`, under its disk limit (`disk.rs`). Removed on drop.

use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::container_spec::RUN_ENV_FILE;
use super::disk::{DiskQuota, JobDisk};
use crate::error::{Result, io};

pub struct JobDir {
    root: PathBuf,
    disk: JobDisk,
}

impl JobDir {
    /// The directory with its (empty) subdirectories, limited to `disk_bytes` by `quota`: a
    /// program is written later, so that a warm container can be created over it ahead of
    /// its run.
    pub fn create(parent: &Path, name: &str, quota: DiskQuota, disk_bytes: u64) -> Result<Self> {
        let root = parent.join(name);
        if root.exists() {
            super::disk::unmount(&root);
            std::fs::remove_dir_all(&root).map_err(io(format!("clearing {}", root.display())))?;
        }
        let disk = JobDisk::create(&root, quota, disk_bytes);
        let dir = Self {
            disk: match disk {
                Ok(d) => d,
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&root);
                    return Err(e);
                }
            },
            root,
        };
        let subdirs = [
            ("code", 0o755),
            ("submission", 0o777),
            ("work", 0o777),
            ("tmp", 0o1777),
        ];
        for (sub, mode) in subdirs {
            let p = dir.root.join(sub);
            std::fs::create_dir_all(&p).map_err(io(format!("creating {}", p.display())))?;
            // The program runs as another, unprivileged user: it may write only these two.
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
                .map_err(io(format!("chmod {}", p.display())))?;
        }
        Ok(dir)
    }

    /// Writes the program (`code/solution.py`) and, for a container's launcher, its run's
    /// environment (`code/run.env`); the program may read both, not change them.
    pub fn write_program(&self, code: &str, run_env: Option<&str>) -> Result<()> {
        let files = [("solution.py", Some(code)), (RUN_ENV_FILE, run_env)];
        for (name, content) in files {
            let Some(content) = content else { continue };
            let path = self.code().join(name);
            std::fs::write(&path, content).map_err(io(format!("writing {}", path.display())))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
                .map_err(io(format!("chmod {}", path.display())))?;
        }
        Ok(())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn code(&self) -> PathBuf {
        self.root.join("code")
    }

    pub fn submission(&self) -> PathBuf {
        self.root.join("submission")
    }

    pub fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// The program's `/tmp` (a container's; the local sandbox sets `TMPDIR` to it).
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn disk_limit(&self) -> u64 {
        self.disk.limit()
    }

    /// Whether the program has written as much as its disk limit.
    pub fn disk_exceeded(&self) -> bool {
        self.disk.exceeded(&self.root)
    }

    /// Resolves once the program has written as much as its disk limit.
    pub async fn disk_full(&self) {
        self.disk.watch(&self.root).await
    }

    /// Reads `submission/submission.csv` if it is a regular file within `cap` bytes. Symlinks
    /// are refused: the program controls this directory, and the worker must not follow a
    /// link it planted to a file of the host.
    pub fn read_submission(&self, cap: u64) -> Result<(Option<Vec<u8>>, bool)> {
        let path = self.submission().join("submission.csv");
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            return Ok((None, false));
        };
        if !meta.file_type().is_file() {
            return Ok((None, false));
        }
        if meta.len() > cap {
            return Ok((None, true));
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io(format!("opening {}", path.display())))?;
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.by_ref()
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(io(format!("reading {}", path.display())))?;
        if bytes.len() as u64 > cap {
            return Ok((None, true));
        }
        Ok((Some(bytes), false))
    }
}

impl Drop for JobDir {
    fn drop(&mut self) {
        self.disk.release(&self.root);
        if let Err(e) = std::fs::remove_dir_all(&self.root) {
            tracing::warn!(dir = %self.root.display(), error = %e, "removing a job directory");
        }
    }
}
