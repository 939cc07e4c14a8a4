//! A job directory's disk limit: what its program may write in all (code, submission, work,
//! scratch and `/tmp`, which all live in the job directory). Two mechanisms:
//!
//! - **loop filesystem** (a real quota): the job directory is an ext4 filesystem of its own in
//!   a sparse file a little larger than the limit, mounted over a loop device. Writes past it
//!   fail with `ENOSPC` whatever the watch does. Needs root, `mkfs.ext4` and a Docker daemon
//!   that sees the worker's mounts.
//! - **watchdog**: the directory stays a plain one and its allocated blocks are summed.
//!
//! Either way `watch` stops the program once its usage reaches the limit, and the run is
//! reported as having exceeded it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::{Error, Result, io};

/// How job directories are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskQuota {
    LoopFs,
    Watchdog,
}

/// What the operator asked for (`--disk-quota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiskQuotaChoice {
    /// A loop filesystem where this host allows one, else the watchdog.
    #[default]
    Auto,
    LoopFs,
    Watchdog,
}

impl DiskQuotaChoice {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auto" => Some(Self::Auto),
            "loop" => Some(Self::LoopFs),
            "watchdog" => Some(Self::Watchdog),
            _ => None,
        }
    }
}

impl DiskQuota {
    pub fn name(self) -> &'static str {
        match self {
            Self::LoopFs => "loop filesystem",
            Self::Watchdog => "watchdog",
        }
    }

    /// How often `watch` looks: a filesystem's counters are cheap to read, a walk is not.
    fn interval(self) -> Duration {
        match self {
            Self::LoopFs => Duration::from_millis(200),
            Self::Watchdog => Duration::from_secs(1),
        }
    }
}

/// The size of a job's loop filesystem: the limit plus room for ext4's own metadata, so that
/// the program can use the whole limit before `ENOSPC`.
pub fn loop_fs_bytes(limit: u64) -> u64 {
    limit + limit / 64 + (8 << 20)
}

/// The disk side of one job directory.
#[derive(Debug)]
pub struct JobDisk {
    meter: Meter,
    /// The loop filesystem's backing file, while mounted.
    image: Option<PathBuf>,
}

/// How a job directory's usage is read against its limit: plain values, so the watch can take
/// a copy into a blocking task.
#[derive(Debug, Clone, Copy)]
struct Meter {
    quota: DiskQuota,
    limit: u64,
    /// What an empty filesystem already uses (its metadata), not the program's.
    baseline: u64,
}

impl Meter {
    /// What the program has written under `root`, in allocated bytes.
    fn used(self, root: &Path) -> u64 {
        match self.quota {
            DiskQuota::LoopFs => fs_used(root).unwrap_or(0).saturating_sub(self.baseline),
            DiskQuota::Watchdog => allocated(root),
        }
    }

    fn exceeded(self, root: &Path) -> bool {
        self.used(root) >= self.limit
    }
}

impl JobDisk {
    /// Makes `root` (which must not exist) a directory limited to `limit` bytes.
    pub fn create(root: &Path, quota: DiskQuota, limit: u64) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(io(format!("creating {}", root.display())))?;
        let mut disk = Self {
            meter: Meter {
                quota,
                limit,
                baseline: 0,
            },
            image: None,
        };
        if quota == DiskQuota::LoopFs {
            let image = root.with_extension("img");
            make_loop_fs(&image, loop_fs_bytes(limit))?;
            disk.image = Some(image.clone());
            if let Err(e) = mount_loop(&image, root) {
                disk.image = None;
                let _ = std::fs::remove_file(&image);
                return Err(e);
            }
            disk.meter.baseline = fs_used(root)?;
        }
        Ok(disk)
    }

    pub fn limit(&self) -> u64 {
        self.meter.limit
    }

    /// What the program has written under `root`, in allocated bytes.
    pub fn used(&self, root: &Path) -> u64 {
        self.meter.used(root)
    }

    pub fn exceeded(&self, root: &Path) -> bool {
        self.meter.exceeded(root)
    }

    /// Resolves once the usage under `root` reaches the limit.
    pub async fn watch(&self, root: &Path) {
        loop {
            tokio::time::sleep(self.meter.quota.interval()).await;
            let (meter, root) = (self.meter, root.to_owned());
            let exceeded = tokio::task::spawn_blocking(move || meter.exceeded(&root))
                .await
                .unwrap_or(false);
            if exceeded {
                return;
            }
        }
    }

    /// Unmounts the loop filesystem (lazily if busy) and deletes its backing file; the caller
    /// removes the directory after.
    pub fn release(&mut self, root: &Path) {
        if let Some(image) = self.image.take() {
            unmount(root);
            if let Err(e) = std::fs::remove_file(&image) {
                tracing::warn!(file = %image.display(), error = %e, "removing a job's filesystem");
            }
        }
    }
}

fn run(program: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(io(format!("running {program}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::Disk(format!(
            "{program} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

fn make_loop_fs(image: &Path, bytes: u64) -> Result<()> {
    std::fs::File::create(image)
        .and_then(|f| f.set_len(bytes))
        .map_err(io(format!("creating {}", image.display())))?;
    // No journal (a job's scratch is worthless after a crash) and one inode per 64 KiB: the
    // empty filesystem takes little of the sparse file.
    let made = run(
        "mkfs.ext4",
        &[
            "-q".as_ref(),
            "-F".as_ref(),
            "-m".as_ref(),
            "0".as_ref(),
            "-i".as_ref(),
            "65536".as_ref(),
            "-O".as_ref(),
            "^has_journal".as_ref(),
            "-E".as_ref(),
            "lazy_itable_init=1,nodiscard".as_ref(),
            image.as_os_str(),
        ],
    );
    if made.is_err() {
        let _ = std::fs::remove_file(image);
    }
    made
}

fn mount_loop(image: &Path, root: &Path) -> Result<()> {
    run(
        "mount",
        &[
            "-o".as_ref(),
            "loop,nosuid,nodev".as_ref(),
            image.as_os_str(),
            root.as_os_str(),
        ],
    )
}

/// Unmounts `root` if something is mounted there (lazily when busy).
pub fn unmount(root: &Path) {
    if is_mount_point(root) && run("umount", &[root.as_os_str()]).is_err() {
        let _ = run("umount", &["-l".as_ref(), root.as_os_str()]);
    }
}

/// Whether `path` is a mount point: its device differs from its parent's.
pub fn is_mount_point(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(me), Some(Ok(parent))) = (
        std::fs::symlink_metadata(path),
        path.parent().map(std::fs::metadata),
    ) else {
        return false;
    };
    me.dev() != parent.dev()
}

/// Bytes in use on the filesystem mounted at `root`.
fn fs_used(root: &Path) -> Result<u64> {
    let s = nix::sys::statvfs::statvfs(root)
        .map_err(|e| Error::Disk(format!("statvfs {}: {e}", root.display())))?;
    Ok((s.blocks() - s.blocks_free()) * s.fragment_size())
}

/// Bytes free to unprivileged writers on the filesystem holding `path`.
pub fn available(path: &Path) -> Result<u64> {
    let s = nix::sys::statvfs::statvfs(path)
        .map_err(|e| Error::Disk(format!("statvfs {}: {e}", path.display())))?;
    Ok(s.blocks_available() * s.fragment_size())
}

/// The blocks allocated under `root`, without following links or leaving its filesystem.
fn allocated(root: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(top) = std::fs::symlink_metadata(root) else {
        return 0;
    };
    let mut total = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.path().symlink_metadata() else {
                continue;
            };
            total += meta.blocks() * 512;
            if meta.is_dir() && meta.dev() == top.dev() {
                stack.push(e.path());
            }
        }
    }
    total
}

/// Chooses the mechanism for `jobs_dir`: with `Auto`, a loop filesystem when a trial one
/// mounts there (root, loop devices, mkfs.ext4), else the watchdog. Whether Docker sees such
/// mounts is the Docker sandbox's to check.
pub fn choose(choice: DiskQuotaChoice, jobs_dir: &Path) -> Result<DiskQuota> {
    let trial = || -> Result<()> {
        let root = jobs_dir.join(format!("disk-trial-{}", uuid::Uuid::new_v4().simple()));
        let made = JobDisk::create(&root, DiskQuota::LoopFs, 1 << 20).map(|mut d| d.release(&root));
        let _ = std::fs::remove_dir_all(&root);
        made
    };
    match choice {
        DiskQuotaChoice::Watchdog => Ok(DiskQuota::Watchdog),
        DiskQuotaChoice::LoopFs => trial().map(|()| DiskQuota::LoopFs).map_err(|e| {
            Error::Config(format!(
                "--disk-quota loop: a loop filesystem cannot be made in {}: {e}",
                jobs_dir.display()
            ))
        }),
        DiskQuotaChoice::Auto => Ok(match trial() {
            Ok(()) => DiskQuota::LoopFs,
            Err(e) => {
                tracing::info!(error = %e, "no loop filesystem for job directories; their disk limit is a watchdog");
                DiskQuota::Watchdog
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_filesystem_leaves_room_for_its_metadata() {
        assert!(loop_fs_bytes(64 << 20) > (64 << 20) + (8 << 20));
        assert!(loop_fs_bytes(10 << 30) < (10 << 30) + (200 << 20));
    }

    #[test]
    fn the_watchdog_counts_allocated_blocks_and_not_sparse_holes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("job");
        let disk = JobDisk::create(&root, DiskQuota::Watchdog, 4 << 20).unwrap();
        std::fs::create_dir(root.join("work")).unwrap();
        std::fs::write(root.join("work/a"), vec![1u8; 3 << 20]).unwrap();
        let sparse = std::fs::File::create(root.join("sparse")).unwrap();
        sparse.set_len(1 << 30).unwrap();
        let used = disk.used(&root);
        assert!((3 << 20..4 << 20).contains(&used), "{used}");
        assert!(!disk.exceeded(&root));
        std::fs::write(root.join("work/b"), vec![1u8; 2 << 20]).unwrap();
        assert!(disk.exceeded(&root));
    }
}
