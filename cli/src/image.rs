//! The images, each tagged by a hash of its recipe, so a changed recipe builds a new image and
//! an unchanged one is reused. The runtime image is built with `docker build` where a registry is
//! reachable, otherwise offline from Debian packages (deploy/runtime/build-offline.sh). The
//! grading image is the runtime image plus the wheels MLE-bench's graders need
//! (deploy/grading/), fetched with the host's pip.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

const DOCKERFILE: &str = include_str!("../../deploy/runtime/Dockerfile");
const OFFLINE_BUILDER: &str = include_str!("../../deploy/runtime/build-offline.sh");
const GRADING_DOCKERFILE: &str = include_str!("../../deploy/grading/Dockerfile");
const GRADING_REQUIREMENTS: &str = include_str!("../../deploy/grading/requirements.txt");

/// `randori-runtime:<recipe hash>`.
pub fn default_tag() -> String {
    format!(
        "randori-runtime:{}",
        recipe_hash(&[DOCKERFILE, OFFLINE_BUILDER])
    )
}

/// `randori-grading:<hash of its recipe and of the runtime image's>`.
pub fn grading_tag() -> String {
    format!(
        "randori-grading:{}",
        recipe_hash(&[
            DOCKERFILE,
            OFFLINE_BUILDER,
            GRADING_DOCKERFILE,
            GRADING_REQUIREMENTS
        ])
    )
}

fn recipe_hash(parts: &[&str]) -> String {
    use sha2::Digest;
    let digest = parts
        .iter()
        .fold(sha2::Sha256::new(), |d, p| d.chain_update(p))
        .finalize();
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds the grading image `tag` over the runtime image unless it exists (or `force`).
pub fn ensure_grading(tag: &str, force: bool) -> Result<()> {
    if !force && exists(tag)? {
        return Ok(());
    }
    let runtime = default_tag();
    ensure(&runtime, false)?;
    eprintln!("building the grading image {tag} (once; it is cached)");
    let context = tempfile::Builder::new()
        .prefix("randori-grading-")
        .tempdir()
        .context("creating the grading image's build context")?;
    std::fs::write(context.path().join("Dockerfile"), GRADING_DOCKERFILE)?;
    std::fs::write(
        context.path().join("requirements.txt"),
        GRADING_REQUIREMENTS,
    )?;
    // Wheels for the runtime image's CPython (Debian bookworm: 3.11, x86_64), whatever the
    // host's Python is.
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet"])
        .args(["--target", "site-packages", "--only-binary=:all:"])
        .args(["--python-version", "3.11", "--implementation", "cp"])
        .args(["--abi", "cp311", "--platform", "manylinux2014_x86_64"])
        .args(["-r", "requirements.txt"])
        .current_dir(context.path())
        .stdin(Stdio::null())
        .status()
        .context("running the host's `python3 -m pip` (needed to fetch the grading wheels)")?;
    if !status.success() {
        bail!(
            "fetching the grading image's wheels (deploy/grading/requirements.txt) with pip failed; it needs PyPI or a mirror pip is configured for"
        );
    }
    let out = Command::new("docker")
        .args(["build", "--quiet", "--pull=false", "--build-arg"])
        .arg(format!("RUNTIME={runtime}"))
        .args(["-t", tag, "."])
        .current_dir(context.path())
        .stdin(Stdio::null())
        .output()
        .context("running `docker build`")?;
    if !out.status.success() {
        bail!(
            "building the grading image {tag} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
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
