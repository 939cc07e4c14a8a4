//! The files under `deploy/` hold together: the randori image builds from its recipe and
//! runs; the compose file passes `docker-compose config`; the Kubernetes manifests pass the
//! API's schemas (kubernetes-validate, strict, three API versions), have the objects they
//! promise (coordinator Deployment and Service, GPU worker DaemonSet, ConfigMap and Secret),
//! reference only the Secret keys and ConfigMap that exist, and pass only flags the binary
//! knows; the SLURM script is valid bash that passes only known worker flags.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use crate::harness::*;

/// The `--flags` a subcommand's help lists.
fn known_flags(subcommand: &str) -> BTreeSet<String> {
    let out = Command::new(BIN)
        .args([subcommand, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{subcommand} --help");
    flags_in(&text(&out.stdout))
}

/// Every `--flag` word in a text (without `=value`).
fn flags_in(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.split('=')
                .next()
                .unwrap()
                .trim_end_matches(['\\', ']', ')'])
                .to_owned()
        })
        .filter(|w| w[2..].chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

fn assert_known(used: &BTreeSet<String>, subcommand: &str, file: &str) {
    let known = known_flags(subcommand);
    let unknown: Vec<_> = used.difference(&known).collect();
    assert!(
        unknown.is_empty(),
        "{file} passes `randori {subcommand}` unknown flags {unknown:?}"
    );
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn kubernetes_manifests_have_their_objects_and_known_flags() {
    let text = read("deploy/kubernetes/randori.yaml")
        + "\n---\n"
        + &read("deploy/kubernetes/secret.example.yaml");
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("valid YAML"))
        .collect();
    let kinds: BTreeSet<String> = docs
        .iter()
        .map(|d| {
            d["kind"]
                .as_str()
                .expect("every object has a kind")
                .to_owned()
        })
        .collect();
    for kind in [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "DaemonSet",
    ] {
        assert!(kinds.contains(kind), "no {kind} in {kinds:?}");
    }
    let of_kind = |kind: &str| docs.iter().find(|d| d["kind"] == kind).unwrap();
    let (config, secret_doc) = (of_kind("ConfigMap"), of_kind("Secret"));
    for doc in &docs {
        assert!(doc["apiVersion"].as_str().is_some());
        assert!(doc["metadata"]["name"].as_str().is_some());
        let Some(containers) = doc["spec"]["template"]["spec"]["containers"].as_sequence() else {
            continue;
        };
        for c in containers {
            let args: Vec<&str> = c["args"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let used = flags_in(&args[1..].join(" "));
            assert_known(&used, args[0], "deploy/kubernetes/randori.yaml");
            if doc["kind"] == "DaemonSet" {
                assert_eq!(args[0], "worker");
                // The pod holds every GPU it hands out, so Kubernetes places nothing else there.
                let ids = config["data"]["WORKER_GPUS"]
                    .as_str()
                    .unwrap()
                    .split(',')
                    .count();
                assert_eq!(
                    c["resources"]["limits"]["nvidia.com/gpu"].as_u64(),
                    Some(ids as u64)
                );
            }
            if doc["kind"] == "Deployment" {
                assert_eq!(args[0], "coordinator");
                assert!(
                    doc["spec"]["replicas"].as_u64().unwrap() >= 2,
                    "fail-over needs two"
                );
                assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
                assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/livez");
            }
            // Every Secret and ConfigMap a container reads exists, with the keys it reads.
            for env in c["env"].as_sequence().into_iter().flatten() {
                let secret = &env["valueFrom"]["secretKeyRef"];
                if let Some(key) = secret["key"].as_str() {
                    assert_eq!(secret["name"], secret_doc["metadata"]["name"]);
                    assert!(
                        secret_doc["stringData"][key].is_string(),
                        "secret key {key} not in secret.example.yaml"
                    );
                }
            }
            for from in c["envFrom"].as_sequence().into_iter().flatten() {
                assert_eq!(from["configMapRef"]["name"], config["metadata"]["name"]);
            }
        }
    }
}

#[test]
fn the_slurm_script_is_valid_bash_with_known_worker_flags() {
    let path = repo_root().join("deploy/slurm/randori-workers.sbatch");
    let out = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(out.status.success(), "bash -n: {}", text(&out.stderr));
    let script = read("deploy/slurm/randori-workers.sbatch");
    let body = script.split("worker \\").nth(1).expect("a worker command");
    assert_known(&flags_in(body), "worker", "the SLURM script");
}

#[test]
fn the_compose_file_is_valid_and_passes_known_flags() {
    let file = repo_root().join("deploy/compose/docker-compose.yml");
    let out = Command::new("docker-compose")
        .arg("-f")
        .arg(&file)
        .args(["config", "-q"])
        .env("RANDORI_CLIENT_TOKEN", "c")
        .env("RANDORI_WORKER_TOKEN", "w")
        .env("RUNTIME_IMAGE", runtime_image())
        .env("RANDORI_TASKS_DIR", repo_root().join("tasks"))
        .stdin(Stdio::null())
        .output()
        .expect("running docker-compose (Debian package docker-compose)");
    assert!(
        out.status.success(),
        "docker-compose config: {}",
        text(&out.stderr)
    );
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&read("deploy/compose/docker-compose.yml")).unwrap();
    for service in ["postgres", "coordinator", "worker"] {
        assert!(
            compose["services"][service].is_mapping(),
            "no {service} service"
        );
    }
    let coordinator: Vec<&str> = compose["services"]["coordinator"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_known(
        &flags_in(&coordinator[1..].join(" ")),
        "coordinator",
        "compose",
    );
    let worker = compose["services"]["worker"]["command"][0]
        .as_str()
        .unwrap();
    let worker = worker.split(" worker ").nth(1).expect("a worker command");
    assert_known(&flags_in(worker), "worker", "compose");
}

#[test]
fn the_randori_image_builds_from_its_recipe_and_runs() {
    let tag = format!("randori-test:{}", std::process::id());
    build_randori_image(&tag);
    let ran = Command::new("docker")
        .args(["run", "--rm", "--network", "none", &tag, "worker", "--help"])
        .output()
        .unwrap();
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    assert!(
        ran.status.success(),
        "randori in the image: {}",
        text(&ran.stderr)
    );
    assert!(text(&ran.stdout).contains("--coordinator"));
}

/// kubernetes-validate from PyPI, which ships the Kubernetes API's JSON schemas: pinned, and
/// installed once per version with the host's pip under /var/tmp.
const KUBERNETES_VALIDATE: &str = "1.37.0";
/// The API versions the manifests must pass, oldest to newest.
const KUBERNETES_VERSIONS: [&str; 3] = ["1.30.0", "1.33.0", "1.37.0"];

fn kubernetes_validate() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(format!(
        "/var/tmp/randori-kubernetes-validate-{KUBERNETES_VALIDATE}"
    ));
    if !dir.join("kubernetes_validate").is_dir() {
        let staging = tempfile::tempdir_in("/var/tmp").unwrap();
        let out = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", "--no-input"])
            .args(["--disable-pip-version-check", "--target"])
            .arg(staging.path())
            .arg(format!("kubernetes-validate=={KUBERNETES_VALIDATE}"))
            .output()
            .expect("running python3 -m pip (Debian package python3-pip)");
        assert!(
            out.status.success(),
            "installing kubernetes-validate: {}",
            text(&out.stderr)
        );
        // Another test process may have won the race; either copy is whole.
        let _ = std::fs::rename(staging.keep(), &dir);
    }
    dir
}

/// Validates manifest files strictly (unknown fields rejected) against one API version.
fn validate_manifests(files: &[&std::path::Path], version: &str) -> std::process::Output {
    Command::new("python3")
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "-k",
            version,
        ])
        .args(files)
        .env("PYTHONPATH", kubernetes_validate())
        .output()
        .unwrap()
}

#[test]
fn kubernetes_manifests_pass_the_api_schemas() {
    let manifests = repo_root().join("deploy/kubernetes/randori.yaml");
    let secret = repo_root().join("deploy/kubernetes/secret.example.yaml");
    for version in KUBERNETES_VERSIONS {
        let out = validate_manifests(&[&manifests, &secret], version);
        assert!(
            out.status.success(),
            "Kubernetes {version}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    // The validator rejects what the API server would: a mistyped field, a wrong type.
    let good = read("deploy/kubernetes/randori.yaml");
    let dir = tempfile::tempdir().unwrap();
    for (what, from, to) in [
        ("a mistyped field", "readinessProbe:", "readinesProbe:"),
        (
            "a string for a number",
            "terminationGracePeriodSeconds: 120",
            "terminationGracePeriodSeconds: two-minutes",
        ),
    ] {
        assert!(good.contains(from), "{from}");
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, good.replacen(from, to, 1)).unwrap();
        let out = validate_manifests(&[&bad], KUBERNETES_VERSIONS[2]);
        assert!(!out.status.success(), "{what} passed the validator");
    }
}
