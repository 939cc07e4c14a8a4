//! The images, each tagged by a hash of its recipe, so a changed recipe builds a new image and
//! an unchanged one is reused. The runtime image comes in flavours: `cpu` is built with `docker
//! build` where a registry is reachable, otherwise offline from Debian packages
//! (deploy/runtime/build-offline.sh); `dl` is the cpu image plus a pinned deep-learning stack
//! (deploy/runtime/dl/). The grading image is the cpu image plus the wheels MLE-bench's graders
//! need (deploy/grading/). Wheels are fetched with the host's pip. Every runtime image carries
//! its package manifest at `MANIFEST_PATH`.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

const DOCKERFILE: &str = include_str!("../../deploy/runtime/Dockerfile");
const OFFLINE_BUILDER: &str = include_str!("../../deploy/runtime/build-offline.sh");
const MANIFEST_PY: &str = include_str!("../../deploy/runtime/manifest.py");
const DL_DOCKERFILE: &str = include_str!("../../deploy/runtime/dl/Dockerfile");
const DL_REQUIREMENTS: &str = include_str!("../../deploy/runtime/dl/requirements.txt");
const GRADING_DOCKERFILE: &str = include_str!("../../deploy/grading/Dockerfile");
const GRADING_REQUIREMENTS: &str = include_str!("../../deploy/grading/requirements.txt");

/// Where every runtime image lists its Python packages, one `name==version` per line.
pub const MANIFEST_PATH: &str = "/etc/randori/packages.txt";

/// The label naming a runtime image's flavour.
const FLAVOR_LABEL: &str = "randori.flavor";

/// A runtime image's flavour: what node programs can import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Flavor {
    /// Debian's numpy, pandas, scikit-learn, scipy and Pillow (the mini-bench's needs).
    Cpu,
    /// The cpu image plus torch, torchvision, timm, transformers, lightgbm, xgboost, catboost,
    /// OpenCV, librosa and scikit-learn 1.5, pinned (deploy/runtime/dl/requirements.txt).
    Dl,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Dl => "dl",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        [Self::Cpu, Self::Dl].into_iter().find(|f| f.name() == name)
    }

    /// `randori-runtime:<hash>` (cpu) or `randori-runtime-dl:<hash>`, the hash covering the
    /// recipes the image is built from.
    pub fn tag(self) -> String {
        match self {
            Self::Cpu => format!("randori-runtime:{}", recipe_hash(CPU_RECIPE)),
            Self::Dl => format!(
                "randori-runtime-dl:{}",
                recipe_hash(&[CPU_RECIPE, &[DL_DOCKERFILE, DL_REQUIREMENTS]].concat())
            ),
        }
    }
}

const CPU_RECIPE: &[&str] = &[DOCKERFILE, OFFLINE_BUILDER, MANIFEST_PY];

/// The cpu runtime image's tag, every command's default.
pub fn default_tag() -> String {
    Flavor::Cpu.tag()
}

/// The runtime image an `--image` names: a flavour (`cpu`, `dl`) stands for its current tag,
/// anything else is a tag.
pub fn resolve(image: &str) -> String {
    Flavor::parse(image).map_or_else(|| image.to_owned(), Flavor::tag)
}

/// Checks that the runtime image `tag` (as a sweep names it, resolved) is on this host,
/// building it first when it is a flavour's current tag.
pub fn ensure_tag(tag: &str) -> Result<()> {
    if let Some(flavor) = [Flavor::Cpu, Flavor::Dl]
        .into_iter()
        .find(|f| f.tag() == tag)
    {
        return ensure_flavor(flavor, tag, false);
    }
    if !exists(tag)? {
        bail!("no image {tag} on this host: build it, or name a flavour (cpu, dl)");
    }
    Ok(())
}

/// The runtime image `--image` names (default: the cpu flavour), built first when absent.
pub fn ensure_named(image: Option<&str>) -> Result<String> {
    let name = image.unwrap_or("cpu");
    match Flavor::parse(name) {
        Some(flavor) => {
            let tag = flavor.tag();
            ensure_flavor(flavor, &tag, false)?;
            Ok(tag)
        }
        None => {
            ensure(name, false)?;
            Ok(name.to_owned())
        }
    }
}

/// `randori-grading:<hash of its recipe and of the cpu image's>`.
pub fn grading_tag() -> String {
    format!(
        "randori-grading:{}",
        recipe_hash(&[CPU_RECIPE, &[GRADING_DOCKERFILE, GRADING_REQUIREMENTS]].concat())
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

/// Builds the runtime image of `flavor` as `tag` unless it exists (or `force`).
pub fn ensure_flavor(flavor: Flavor, tag: &str, force: bool) -> Result<()> {
    match flavor {
        Flavor::Cpu => ensure(tag, force),
        Flavor::Dl => ensure_wheels_over_cpu(
            "the dl runtime image",
            tag,
            force,
            &[
                ("Dockerfile", DL_DOCKERFILE),
                ("requirements.txt", DL_REQUIREMENTS),
                ("manifest.py", MANIFEST_PY),
            ],
        ),
    }
}

/// Builds the grading image `tag` over the cpu image unless it exists (or `force`).
pub fn ensure_grading(tag: &str, force: bool) -> Result<()> {
    ensure_wheels_over_cpu(
        "the grading image",
        tag,
        force,
        &[
            ("Dockerfile", GRADING_DOCKERFILE),
            ("requirements.txt", GRADING_REQUIREMENTS),
        ],
    )
}

/// Builds `tag` from a recipe that copies pinned wheels (its `requirements.txt`, downloaded
/// here into `site-packages/`) over the cpu image, passed as the build argument `RUNTIME`.
fn ensure_wheels_over_cpu(
    what: &str,
    tag: &str,
    force: bool,
    recipe: &[(&str, &str)],
) -> Result<()> {
    if !force && exists(tag)? {
        return Ok(());
    }
    let runtime = default_tag();
    ensure(&runtime, false)?;
    eprintln!("building {what} {tag} (once; it is cached)");
    let context = build_context(recipe)?;
    // Wheels for the runtime image's CPython (Debian bookworm: 3.11, glibc 2.36, x86_64),
    // whatever the host's Python is.
    let status = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet"])
        .args(["--target", "site-packages", "--only-binary=:all:"])
        .args(["--python-version", "3.11", "--implementation", "cp"])
        .args(["--abi", "cp311"])
        .args(["--platform", "manylinux_2_28_x86_64"])
        .args(["--platform", "manylinux2014_x86_64"])
        .args(["--platform", "manylinux1_x86_64"])
        .args(["-r", "requirements.txt"])
        .current_dir(context.path())
        .stdin(Stdio::null())
        .status()
        .context("running the host's `python3 -m pip` (needed to fetch the wheels)")?;
    if !status.success() {
        bail!(
            "fetching the wheels of {what} with pip failed; it needs PyPI or a mirror pip is configured for"
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
            "building {what} {tag} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn build_context(files: &[(&str, &str)]) -> Result<tempfile::TempDir> {
    let context = tempfile::Builder::new()
        .prefix("randori-image-")
        .tempdir()
        .context("creating an image's build context")?;
    for (name, content) in files {
        write_file(&context.path().join(name), content)?;
    }
    Ok(context)
}

fn write_file(path: &Path, content: &str) -> Result<()> {
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(content.as_bytes()))
        .with_context(|| format!("writing {}", path.display()))
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

/// Builds the cpu runtime image `tag` unless it exists (or `force`).
pub fn ensure(tag: &str, force: bool) -> Result<()> {
    if !force && exists(tag)? {
        return Ok(());
    }
    eprintln!("building the runtime image {tag} (once; it is cached)");
    let context = build_context(&[
        ("Dockerfile", DOCKERFILE),
        ("build-offline.sh", OFFLINE_BUILDER),
        ("manifest.py", MANIFEST_PY),
    ])?;
    if docker_build(tag, context.path())? {
        return Ok(());
    }
    eprintln!(
        "docker build could not run here (no registry?); building offline from Debian packages"
    );
    let status = Command::new("bash")
        .arg(context.path().join("build-offline.sh"))
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

fn docker_build(tag: &str, context: &Path) -> Result<bool> {
    let out = Command::new("docker")
        .args(["build", "--quiet", "-t", tag, "."])
        .current_dir(context)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("running `docker build`")?;
    if !out.status.success() {
        tracing::info!(stderr = %String::from_utf8_lossy(&out.stderr), "docker build failed");
    }
    Ok(out.status.success())
}

/// A runtime image on this host, as `randori image list` shows it.
#[derive(Debug, serde::Serialize)]
pub struct Installed {
    pub tag: String,
    pub flavor: String,
    pub size_bytes: u64,
    pub created: String,
    /// Whether it is its flavour's image for the recipes of this build of randori.
    pub current: bool,
    /// `name==version` per line, from the image's `MANIFEST_PATH`; empty when it has none.
    pub manifest: Vec<String>,
}

/// Every runtime image on this host (any flavour, any recipe), newest first.
pub fn installed() -> Result<Vec<Installed>> {
    let out = Command::new("docker")
        .args(["image", "ls", "--no-trunc"])
        .args([
            "--filter",
            "label=org.opencontainers.image.title=randori-runtime",
        ])
        .args(["--format", "{{.Repository}}:{{.Tag}}"])
        .stdin(Stdio::null())
        .output()
        .context("running `docker image ls`")?;
    if !out.status.success() {
        bail!(
            "docker image ls failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tags = String::from_utf8_lossy(&out.stdout).into_owned();
    tags.lines()
        .filter(|t| !t.ends_with(":<none>"))
        .map(inspect)
        .collect()
}

fn inspect(tag: &str) -> Result<Installed> {
    let format =
        format!("{{{{.Size}}}}\t{{{{.Created}}}}\t{{{{index .Config.Labels \"{FLAVOR_LABEL}\"}}}}");
    let out = Command::new("docker")
        .args(["image", "inspect", "--format", &format, tag])
        .stdin(Stdio::null())
        .output()
        .context("running `docker image inspect`")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.trim().splitn(3, '\t');
    let size_bytes = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let created = fields.next().unwrap_or_default().to_owned();
    let flavor = match fields.next().unwrap_or_default() {
        "" | "<no value>" => "cpu".to_owned(),
        f => f.to_owned(),
    };
    let current = Flavor::parse(&flavor).is_some_and(|f| f.tag() == tag);
    Ok(Installed {
        tag: tag.to_owned(),
        flavor,
        size_bytes,
        created,
        current,
        manifest: manifest(tag)?,
    })
}

/// The image's package manifest, read in a throwaway container without network.
fn manifest(tag: &str) -> Result<Vec<String>> {
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--network",
            "none",
            "--entrypoint",
            "cat",
            tag,
        ])
        .arg(MANIFEST_PATH)
        .stdin(Stdio::null())
        .output()
        .context("running `docker run` to read an image's manifest")?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flavours_resolve_to_their_recipe_s_tag_and_anything_else_is_a_tag() {
        assert_eq!(resolve("cpu"), default_tag());
        assert!(resolve("dl").starts_with("randori-runtime-dl:"));
        assert_ne!(Flavor::Dl.tag(), Flavor::Cpu.tag());
        assert_eq!(resolve("my/image:1"), "my/image:1");
        assert_eq!(Flavor::parse("gpu"), None);
    }
}
