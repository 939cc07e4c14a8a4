//! The files under `deploy/` hold together: the randori image builds from its recipe and
//! runs; the compose file passes `docker-compose config`; the Kubernetes manifests parse, have
//! the objects they promise (coordinator Deployment and Service, GPU worker DaemonSet,
//! ConfigMap and Secret) and pass only flags the binary knows; the SLURM script is valid bash
//! that passes only known worker flags.

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
                assert_eq!(c["resources"]["limits"]["nvidia.com/gpu"].as_u64(), Some(1));
            }
            if doc["kind"] == "Deployment" {
                assert_eq!(args[0], "coordinator");
                assert!(
                    doc["spec"]["replicas"].as_u64().unwrap() >= 2,
                    "fail-over needs two"
                );
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
