//! The Python packages the worker's programs can import, read once at start-up by running a
//! short listing program through the worker's own sandbox (the same image, limits and
//! hardening as a node). The worker reports them when it registers, and prompts quote them,
//! so what a model is told is what the image has, whoever built the image.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::sandbox::{RunSpec, Sandbox};

/// Prints `name version` for every installed distribution, one per line, sorted by name.
const LISTING: &str = r#"import importlib.metadata as m
found = {}
for d in m.distributions():
    name = d.metadata["Name"]
    if name:
        found[name.lower()] = f"{name} {d.version}"
print("\n".join(found[k] for k in sorted(found)))
"#;

/// The installed packages as `name version`; empty (with a warning) when the listing fails,
/// since a worker without a list still runs programs.
pub async fn installed(sandbox: &Sandbox, jobs_dir: &Path) -> Vec<String> {
    let data_dir = jobs_dir.join("package-listing-data");
    if let Err(e) = std::fs::create_dir_all(&data_dir) {
        tracing::warn!(error = %e, "cannot list the image's packages: no data directory");
        return Vec::new();
    }
    let spec = RunSpec {
        job_id: "package-listing".to_owned(),
        epoch: 0,
        node_id: "package-listing".to_owned(),
        task_id: "package-listing".to_owned(),
        data_dir,
        code: LISTING.to_owned(),
        cpu_millis: 1000,
        memory_bytes: 512 << 20,
        timeout: Duration::from_secs(60),
        gpu_ids: Vec::new(),
        live: None,
    };
    match sandbox.run(&spec, &CancellationToken::new()).await {
        Ok(o) if o.exit_code == Some(0) => {
            let packages = parse(&String::from_utf8_lossy(&o.stdout_head));
            tracing::info!(count = packages.len(), "listed the image's Python packages");
            packages
        }
        Ok(o) => {
            tracing::warn!(exit_code = ?o.exit_code, stderr = %String::from_utf8_lossy(&o.stderr_tail),
                "listing the image's packages failed");
            Vec::new()
        }
        Err(e) => {
            tracing::warn!(error = %e, "listing the image's packages failed");
            Vec::new()
        }
    }
}

fn parse(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_local_sandbox_lists_the_host_python_s_packages() {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::Local(
            crate::sandbox::LocalSandbox::new(dir.path().join("jobs"), Default::default()).unwrap(),
        );
        let packages = installed(&sandbox, &dir.path().join("jobs")).await;
        // Whatever the host has, pip's own metadata is listed as `name version`.
        assert!(
            packages.iter().all(|p| p.split(' ').count() == 2),
            "{packages:?}"
        );
        let mut sorted = packages.clone();
        sorted.sort_by_key(|p| p.to_lowercase());
        assert_eq!(packages, sorted);
        assert_eq!(
            parse("numpy 1.26.4\n\n pandas 2.2.3 \n"),
            ["numpy 1.26.4", "pandas 2.2.3"]
        );
    }
}
