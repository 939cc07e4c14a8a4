//! Task data without shared storage: a job's public data fetched from the coordinator by
//! content (`GetTaskData`, then `FetchTaskFile` per file), verified file by file against the
//! manifest's sha256, and kept under the worker's cache directory by the manifest's hash, so a
//! changed task is a new entry. Concurrent jobs on one task share one fetch; the cache is
//! capped and evicts the least recently used entries no running job holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use randori_proto::v1 as pb;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_stream::StreamExt;

use crate::error::{Error, Result, io};

/// The file in a complete entry that holds its size; its modification time is the entry's
/// last use.
const COMPLETE: &str = ".randori-complete";

pub struct TaskCache {
    root: PathBuf,
    cap_bytes: u64,
    /// One lock per hash being fetched: a second job on the task waits for the first fetch.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Entries running jobs hold, by hash, with how many hold each: never evicted.
    in_use: Arc<Mutex<HashMap<String, usize>>>,
}

/// A cached task's data directory, held for one run.
pub struct CachedTask {
    pub dir: PathBuf,
    hash: String,
    in_use: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for CachedTask {
    fn drop(&mut self) {
        let mut in_use = self.in_use.lock().unwrap();
        if let Some(n) = in_use.get_mut(&self.hash) {
            *n -= 1;
            if *n == 0 {
                in_use.remove(&self.hash);
            }
        }
    }
}

/// What one fetch did, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// The entry was there already.
    Cached,
    /// Downloaded now: bytes and seconds.
    Downloaded { bytes: u64, millis: u64 },
}

type Client = crate::agent::CoordinatorClient;

impl TaskCache {
    pub fn new(root: PathBuf, cap_bytes: u64) -> Result<Self> {
        std::fs::create_dir_all(&root).map_err(io(format!("creating {}", root.display())))?;
        // Half-fetched entries of an earlier process are worthless.
        if let Ok(entries) = std::fs::read_dir(&root) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().contains(".partial-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(Self {
            root,
            cap_bytes,
            fetching: Mutex::new(HashMap::new()),
            in_use: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The job's data directory `data_dir` (as the coordinator names it) in the cache,
    /// fetched first when absent or changed.
    pub async fn get(&self, client: &Client, data_dir: &str) -> Result<(CachedTask, Fetched)> {
        let manifest = client
            .clone()
            .get_task_data(pb::TaskDataRequest {
                data_dir: data_dir.to_owned(),
            })
            .await?
            .into_inner();
        check_hash(&manifest.hash)?;
        let dir = self.root.join(&manifest.hash);
        let lock = self
            .fetching
            .lock()
            .unwrap()
            .entry(manifest.hash.clone())
            .or_default()
            .clone();
        let fetched = {
            let _one_fetch = lock.lock().await;
            if dir.join(COMPLETE).is_file() {
                Fetched::Cached
            } else {
                self.fetch(client, data_dir, &manifest, &dir).await?
            }
        };
        *self
            .in_use
            .lock()
            .unwrap()
            .entry(manifest.hash.clone())
            .or_default() += 1;
        let held = CachedTask {
            dir: dir.clone(),
            hash: manifest.hash.clone(),
            in_use: self.in_use.clone(),
        };
        // Used now: the eviction keeps the most recently used.
        let _ = std::fs::File::options()
            .append(true)
            .open(dir.join(COMPLETE))
            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
        self.evict();
        Ok((held, fetched))
    }

    async fn fetch(
        &self,
        client: &Client,
        data_dir: &str,
        manifest: &pb::TaskDataManifest,
        dir: &Path,
    ) -> Result<Fetched> {
        let started = std::time::Instant::now();
        let partial = self.root.join(format!(
            "{}.partial-{}",
            manifest.hash,
            uuid::Uuid::new_v4().simple()
        ));
        let result = async {
            let mut bytes = 0;
            for file in &manifest.files {
                let target = partial.join(safe_relative(&file.path)?);
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent)
                        .await
                        .map_err(io(format!("creating {}", parent.display())))?;
                }
                bytes += self
                    .fetch_file(client, data_dir, manifest, file, &target)
                    .await?;
            }
            std::fs::write(partial.join(COMPLETE), bytes.to_string())
                .map_err(io("marking a cached task complete"))?;
            if dir.exists() {
                let _ = std::fs::remove_dir_all(dir);
            }
            std::fs::rename(&partial, dir)
                .map_err(io(format!("moving a fetched task to {}", dir.display())))?;
            Ok(bytes)
        }
        .await;
        match result {
            Ok(bytes) => Ok(Fetched::Downloaded {
                bytes,
                millis: started.elapsed().as_millis() as u64,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&partial);
                Err(e)
            }
        }
    }

    async fn fetch_file(
        &self,
        client: &Client,
        data_dir: &str,
        manifest: &pb::TaskDataManifest,
        file: &pb::TaskFile,
        target: &Path,
    ) -> Result<u64> {
        let mut stream = client
            .clone()
            .fetch_task_file(pb::TaskFileRequest {
                data_dir: data_dir.to_owned(),
                hash: manifest.hash.clone(),
                path: file.path.clone(),
            })
            .await?
            .into_inner();
        let mut out = tokio::fs::File::create(target)
            .await
            .map_err(io(format!("creating {}", target.display())))?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        while let Some(chunk) = stream.next().await {
            let data = chunk?.data;
            written += data.len() as u64;
            if written > file.size {
                break;
            }
            hasher.update(&data);
            out.write_all(&data)
                .await
                .map_err(io(format!("writing {}", target.display())))?;
        }
        out.flush()
            .await
            .map_err(io(format!("writing {}", target.display())))?;
        let sha: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if written != file.size || sha != file.sha256 {
            return Err(Error::TaskData(format!(
                "{} arrived corrupt ({written} bytes, sha256 {sha}; the manifest says {} bytes, {})",
                file.path, file.size, file.sha256
            )));
        }
        Ok(written)
    }

    /// Removes the least recently used complete entries no job holds until the cache is
    /// within its cap.
    fn evict(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let mut complete: Vec<(std::time::SystemTime, u64, String)> = entries
            .flatten()
            .filter_map(|e| {
                let marker = e.path().join(COMPLETE);
                let used = marker.metadata().ok()?.modified().ok()?;
                let size = std::fs::read_to_string(&marker).ok()?.trim().parse().ok()?;
                Some((used, size, e.file_name().to_string_lossy().into_owned()))
            })
            .collect();
        let mut total: u64 = complete.iter().map(|(_, size, _)| size).sum();
        complete.sort();
        let in_use = self.in_use.lock().unwrap().clone();
        for (_, size, hash) in complete {
            if total <= self.cap_bytes {
                break;
            }
            if in_use.contains_key(&hash) {
                continue;
            }
            tracing::info!(hash = %hash, bytes = size, "evicting a cached task");
            if std::fs::remove_dir_all(self.root.join(&hash)).is_ok() {
                total -= size;
            }
        }
    }
}

/// A manifest's hash names a directory: hex only.
fn check_hash(hash: &str) -> Result<()> {
    if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::TaskData(format!(
            "the coordinator sent a malformed task hash {hash:?}"
        )))
    }
}

/// A manifest path as a relative path of normal components only (no `..`, no root).
fn safe_relative(path: &str) -> Result<PathBuf> {
    let p = Path::new(path);
    let normal = !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
    if normal {
        Ok(p.to_path_buf())
    } else {
        Err(Error::TaskData(format!(
            "the manifest names an unsafe path {path:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_and_hashes_cannot_escape_the_cache() {
        assert!(safe_relative("images/a.png").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a"] {
            assert!(safe_relative(bad).is_err(), "{bad}");
        }
        assert!(check_hash(&"ab".repeat(32)).is_ok());
        assert!(check_hash("../../etc").is_err());
        assert!(check_hash(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn eviction_keeps_what_jobs_hold_and_the_most_recent() {
        let root = tempfile::tempdir().unwrap();
        let cache = TaskCache::new(root.path().to_owned(), 250).unwrap();
        let now = std::time::SystemTime::now();
        for (i, hash) in ["a", "b", "c"].iter().enumerate() {
            let dir = root.path().join(hash);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join(COMPLETE), "100").unwrap();
            let used = now - std::time::Duration::from_secs(100 - i as u64 * 10);
            std::fs::File::options()
                .append(true)
                .open(dir.join(COMPLETE))
                .unwrap()
                .set_modified(used)
                .unwrap();
        }
        cache.in_use.lock().unwrap().insert("a".into(), 1);
        cache.evict();
        // 300 bytes over a 250 cap: the oldest not in use ("b") goes.
        assert!(root.path().join("a").exists());
        assert!(!root.path().join("b").exists());
        assert!(root.path().join("c").exists());
    }
}
