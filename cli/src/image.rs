//! The runtime image: tagged by a hash of its recipe, so a changed recipe builds a new image
//! and an unchanged one is reused. Built with `docker build` where a registry is reachable,
//! otherwise offline from Debian packages (deploy/runtime/build-offline.sh).

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

const DOCKERFILE: &str = include_str!("../../deploy/runtime/Dockerfile");
const OFFLINE_BUILDER: &str = include_str!("../../deploy/runtime/build-offline.sh");

/// `randori-runtime:<recipe hash>`.
pub fn default_tag() -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(DOCKERFILE)
        .chain_update(OFFLINE_BUILDER)
        .finalize();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("randori-runtime:{hex}")
}

pub fn exists(tag: &str) -> Result<bool> {
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", tag])
        .output()
        .context("running `docker` (is Docker installed?)")?;
    if out.status.success() {
        return Ok(true);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("Cannot connect to the Docker daemon")
        || stderr.contains("permission denied")
    {
        bail!(
            "cannot reach the Docker daemon ({}); start Docker, or use --sandbox local for debugging",
            stderr.trim()
        );
    }
    Ok(false)
}

/// Builds `tag` unless it exists (or `force`).
pub fn ensure(tag: &str, force: bool) -> Result<()> {
    if !force && exists(tag)? {
        return Ok(());
    }
    eprintln!("building the runtime image {tag} (once; it is cached)");
    if docker_build(tag)? {
        return Ok(());
    }
    eprintln!(
        "docker build could not run here (no registry?); building offline from Debian packages"
    );
    let mut script = tempfile_with(OFFLINE_BUILDER)?;
    script.flush()?;
    let status = Command::new("bash")
        .arg(script.path())
        .arg(tag)
        .stdin(Stdio::null())
        .status()
        .context("running the offline image builder")?;
    if !status.success() {
        bail!(
            "building the runtime image {tag} failed (see the output above); the offline builder needs root and Debian's package mirror"
        );
    }
    Ok(())
}

fn docker_build(tag: &str) -> Result<bool> {
    let mut child = Command::new("docker")
        .args(["build", "--quiet", "-t", tag, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running `docker build`")?;
    child
        .stdin
        .take()
        .context("docker build's stdin")?
        .write_all(DOCKERFILE.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        tracing::info!(stderr = %String::from_utf8_lossy(&out.stderr), "docker build failed");
    }
    Ok(out.status.success())
}

fn tempfile_with(content: &str) -> Result<tempfile::NamedTempFile> {
    let mut f = tempfile::NamedTempFile::new().context("creating a temporary file")?;
    f.write_all(content.as_bytes())?;
    Ok(f)
}
