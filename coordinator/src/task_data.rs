//! A task's public data, served by content to workers that do not see its directory (no
//! shared storage): a manifest of every file with its size and sha256, named by a hash over
//! them all, then the files themselves. Only directories some job names as its `data_dir`
//! (a task's `prepared/public`, never its private answers) are served, and only the files the
//! manifest lists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// One file of a task's public data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFile {
    /// Relative to the data directory, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub hash: String,
    pub files: Vec<TaskFile>,
}

/// The hash naming a task's data: sha256 over its files' (path, size, sha256), sorted by path.
pub fn tree_hash(files: &[TaskFile]) -> String {
    let mut sorted: Vec<&TaskFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut h = Sha256::new();
    for f in sorted {
        h.update(f.path.as_bytes());
        h.update([0]);
        h.update(f.size.to_le_bytes());
        h.update(f.sha256.as_bytes());
        h.update([b'\n']);
    }
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a directory's files look like without reading them: a changed one differs here.
type Signature = Vec<(String, u64, SystemTime)>;

/// A directory's manifest and the signature it was computed for.
type Cached = (Signature, Arc<Manifest>);

/// Manifests by directory, recomputed when a file's size or modification time changes.
#[derive(Default, Clone)]
pub struct TaskData {
    cache: Arc<Mutex<HashMap<PathBuf, Cached>>>,
}

impl TaskData {
    /// The manifest of `dir` as it is now (hashing its files only when they changed).
    pub async fn manifest(&self, dir: &Path) -> Result<Arc<Manifest>> {
        let (cache, dir) = (self.cache.clone(), dir.to_owned());
        tokio::task::spawn_blocking(move || {
            let signature = signature(&dir)?;
            if let Some((seen, manifest)) = cache.lock().unwrap().get(&dir)
                && *seen == signature
            {
                return Ok(manifest.clone());
            }
            let started = std::time::Instant::now();
            let files = signature
                .iter()
                .map(|(path, size, _)| {
                    Ok(TaskFile {
                        path: path.clone(),
                        size: *size,
                        sha256: file_sha256(&dir.join(path))?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let manifest = Arc::new(Manifest {
                hash: tree_hash(&files),
                files,
            });
            tracing::info!(dir = %dir.display(), hash = %manifest.hash, files = manifest.files.len(),
                ms = started.elapsed().as_millis() as u64, "hashed a task's public data");
            cache
                .lock()
                .unwrap()
                .insert(dir, (signature, manifest.clone()));
            Ok(manifest)
        })
        .await
        .map_err(|e| Error::Io {
            context: "hashing a task's data".into(),
            source: std::io::Error::other(e),
        })?
    }
}

/// The regular files under `dir` (recursively, links not followed), sorted by path.
fn signature(dir: &Path) -> Result<Signature> {
    let io = |source| Error::Io {
        context: format!("listing {}", dir.display()),
        source,
    };
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel)).map_err(io)? {
            let entry = entry.map_err(io)?;
            let meta = entry.path().symlink_metadata().map_err(io)?;
            let rel = rel.join(entry.file_name());
            if meta.is_dir() {
                stack.push(rel);
            } else if meta.is_file() {
                let path = rel
                    .to_str()
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "{}: a file name is not UTF-8",
                            rel.display()
                        ))
                    })?
                    .to_owned();
                out.push((path, meta.len(), meta.modified().map_err(io)?));
            } else {
                tracing::warn!(path = %entry.path().display(), "not a regular file: not served with the task's data");
            }
        }
    }
    out.sort();
    Ok(out)
}

fn file_sha256(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        context: format!("reading {}", path.display()),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).map_err(io)?;
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_changed_file_is_a_new_hash_and_links_are_not_served() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("images")).unwrap();
        std::fs::write(dir.path().join("train.csv"), "id,y\n1,2\n").unwrap();
        std::fs::write(dir.path().join("images/a.png"), [0u8, 1, 2]).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("leak")).unwrap();
        let data = TaskData::default();
        let first = data.manifest(dir.path()).await.unwrap();
        let paths: Vec<_> = first.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["images/a.png", "train.csv"]);
        assert_eq!(first.files[1].size, 9);
        assert_eq!(
            first.files[0].sha256,
            "ae4b3280e56e2faf83f414a6e3dabe9d5fbe18976544c05fed121accb85b53fc"
        );
        assert_eq!(first.hash, tree_hash(&first.files));
        assert!(Arc::ptr_eq(
            &first,
            &data.manifest(dir.path()).await.unwrap()
        ));

        std::fs::write(dir.path().join("train.csv"), "id,y\n1,3\n").unwrap();
        let filetime = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("train.csv"))
            .unwrap()
            .set_modified(filetime)
            .unwrap();
        let second = data.manifest(dir.path()).await.unwrap();
        assert_ne!(second.hash, first.hash);
    }

    #[test]
    fn the_tree_hash_does_not_depend_on_listing_order() {
        let f = |p: &str| TaskFile {
            path: p.into(),
            size: 1,
            sha256: "00".into(),
        };
        assert_eq!(tree_hash(&[f("a"), f("b")]), tree_hash(&[f("b"), f("a")]));
        assert_ne!(tree_hash(&[f("a")]), tree_hash(&[f("b")]));
    }
}
