//! The Python packages the worker's programs can import, read once at start-up by running a
//! short listing program where node programs run (`Sandbox::probe`: the same image, locked
//! down): the image's manifest (`/etc/randori/packages.txt`, which randori's images carry), or
//! for an image without one, what `importlib.metadata` finds. The worker reports them for
//! each of its images when it registers, and prompts quote them, so what a model is told is
//! what the image has, whoever built the image.

use crate::sandbox::Sandbox;

/// Prints `name version` for every installed distribution, one per line, sorted by name:
/// the manifest's, else the first copy on `sys.path` of each (the one `import` finds).
const LISTING: &str = r#"import importlib.metadata as m, os
manifest = "/etc/randori/packages.txt"
if os.path.exists(manifest):
    lines = [l.strip().split("==", 1) for l in open(manifest) if "==" in l]
    print("\n".join(f"{n} {v}" for n, v in lines))
else:
    found = {}
    for d in m.distributions():
        name = d.metadata["Name"]
        if name:
            found.setdefault(name.lower(), f"{name} {d.version}")
    print("\n".join(found[k] for k in sorted(found)))
"#;

/// The packages installed in `image` (None: the sandbox's own) as `name version`; empty
/// (with a warning) when the listing fails, since a worker without a list still runs programs.
pub async fn installed(sandbox: &Sandbox, image: Option<&str>) -> Vec<String> {
    let shown = image.unwrap_or(sandbox.default_image());
    match sandbox.probe(image, LISTING).await {
        Ok(stdout) => {
            let packages = parse(&stdout);
            if packages.is_empty() {
                tracing::warn!(image = shown, "the image's package listing printed nothing");
            } else {
                tracing::info!(
                    image = shown,
                    count = packages.len(),
                    "listed the image's Python packages"
                );
            }
            packages
        }
        Err(e) => {
            tracing::warn!(image = shown, error = %e, "listing the image's packages failed");
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
        let packages = installed(&sandbox, None).await;
        // Whatever the host has, each entry is `name version`, sorted by name, and nothing is
        // left in the jobs directory.
        assert!(
            packages.iter().all(|p| p.split(' ').count() == 2),
            "{packages:?}"
        );
        let mut sorted = packages.clone();
        sorted.sort_by_key(|p| p.to_lowercase());
        assert_eq!(packages, sorted);
        assert_eq!(
            std::fs::read_dir(dir.path().join("jobs")).unwrap().count(),
            0
        );
        assert_eq!(
            parse("numpy 1.26.4\n\n pandas 2.2.3 \n"),
            ["numpy 1.26.4", "pandas 2.2.3"]
        );
    }
}
