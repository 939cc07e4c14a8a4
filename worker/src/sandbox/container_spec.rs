//! The container a node program runs in, as a pure function of its shape, and the run's own
//! environment file: every hardening setting of the container contract (ARCHITECTURE.md, "The sandbox contract") is decided
//! here, where a test can read it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::models::{
    ContainerCreateBody, DeviceRequest, HostConfig, HostConfigLogConfig, ResourcesUlimits,
};

use super::{Limits, RunSpec};

/// The unprivileged user programs run as (the runtime image's `sandbox` user).
pub const SANDBOX_UID: u32 = 10001;

/// Seconds past the job's timeout after which the in-container `timeout` kills the program
/// even if the worker that should have done it is gone.
const BACKSTOP_GRACE_SECS: u64 = 10;

/// Label keys on every container; the worker finds its leftovers by them.
pub const LABEL_MANAGED: &str = "randori.managed";
pub const LABEL_WORKER: &str = "randori.worker";

pub struct ContainerSpec {
    pub name: String,
    pub body: ContainerCreateBody,
}

/// What a container is fixed to at creation: its image, its task data, its limits (the disk
/// limit is its job directory's) and its GPUs. Runs of
/// the same shape can take a container created ahead (the warm pool); what differs between
/// them (the node, the timeout, the program) is written into its code directory at start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    pub image: String,
    pub data_dir: PathBuf,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub disk_bytes: u64,
    pub gpu_ids: Vec<u32>,
}

impl Shape {
    pub fn of(spec: &RunSpec) -> Self {
        Self {
            image: spec.image.clone(),
            data_dir: spec.data_dir.clone(),
            cpu_millis: spec.cpu_millis,
            memory_bytes: spec.memory_bytes,
            disk_bytes: spec.disk_bytes,
            gpu_ids: spec.gpu_ids.clone(),
        }
    }
}

/// The file in the code directory the container's launcher reads its run's environment from.
pub const RUN_ENV_FILE: &str = "run.env";

/// Exports the run's environment (`set -a`), then runs the program under a backstop `timeout`
/// that kills it even if the worker that should have is gone. The program sees the contract's
/// variables only: not the backstop, nor the `PWD` the shell exports.
const LAUNCHER: &str = "set -a; . /home/code/run.env; set +a; \
    backstop=$RANDORI_BACKSTOP_SECS; unset RANDORI_BACKSTOP_SECS PWD; \
    exec timeout -s KILL \"$backstop\" python3 /home/code/solution.py";

/// The run's own environment, as the launcher's `run.env` (single-quoted shell assignments).
pub fn run_env(spec: &RunSpec) -> String {
    let quoted = |v: &str| format!("'{}'", v.replace('\'', r"'\''"));
    [
        ("COMPETITION_ID", spec.task_id.clone()),
        ("RANDORI_NODE_ID", spec.node_id.clone()),
        (
            "RANDORI_BACKSTOP_SECS",
            (spec.timeout.as_secs() + BACKSTOP_GRACE_SECS).to_string(),
        ),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}\n", quoted(v)))
    .collect()
}

/// Builds a container of `shape` named `name`, with `job_dir` the host directory holding its
/// code, submission and scratch directories.
pub fn container_spec(
    shape: &Shape,
    name: String,
    worker_name: &str,
    user: &str,
    job_dir: &Path,
    limits: &Limits,
) -> ContainerSpec {
    let gpu_list = |ids: &mut dyn Iterator<Item = String>| ids.collect::<Vec<_>>().join(",");
    // Inside the container the NVIDIA runtime shows only the assigned devices, numbered from
    // 0, so CUDA_VISIBLE_DEVICES names them by their in-container index.
    let cuda_visible = gpu_list(&mut (0..shape.gpu_ids.len()).map(|i| i.to_string()));
    let threads = shape.cpu_millis.div_ceil(1000).max(1);
    let env = vec![
        format!("CUDA_VISIBLE_DEVICES={cuda_visible}"),
        format!("OMP_NUM_THREADS={threads}"),
        format!(
            "RANDORI_GPU_IDS={}",
            gpu_list(&mut shape.gpu_ids.iter().map(u32::to_string))
        ),
        "HOME=/home/work".to_owned(),
        "PYTHONUNBUFFERED=1".to_owned(),
        "MPLCONFIGDIR=/tmp".to_owned(),
    ];
    let device_requests = (!shape.gpu_ids.is_empty()).then(|| {
        vec![DeviceRequest {
            driver: Some("nvidia".to_owned()),
            device_ids: Some(shape.gpu_ids.iter().map(u32::to_string).collect()),
            capabilities: Some(vec![vec!["gpu".to_owned()]]),
            ..Default::default()
        }]
    });
    let mount =
        |host: &Path, inside: &str, mode: &str| format!("{}:{inside}:{mode}", host.display());
    let memory = i64::try_from(shape.memory_bytes).unwrap_or(i64::MAX);
    let host_config = HostConfig {
        binds: Some(vec![
            mount(&shape.data_dir, "/home/data", "ro"),
            mount(&job_dir.join("code"), "/home/code", "ro"),
            mount(&job_dir.join("submission"), "/home/submission", "rw"),
            mount(&job_dir.join("work"), "/home/work", "rw"),
            // Not a tmpfs: /tmp is in the job directory, under its disk limit.
            mount(&job_dir.join("tmp"), "/tmp", "rw"),
        ]),
        network_mode: Some("none".to_owned()),
        readonly_rootfs: Some(true),
        cap_drop: Some(vec!["ALL".to_owned()]),
        security_opt: Some(vec!["no-new-privileges".to_owned()]),
        pids_limit: Some(limits.pids),
        memory: Some(memory),
        // Equal to `memory`: no swap on top of the limit.
        memory_swap: Some(memory),
        nano_cpus: Some(i64::from(shape.cpu_millis) * 1_000_000),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nofile".to_owned()),
            soft: Some(4096),
            hard: Some(4096),
        }]),
        device_requests,
        // Output is read through the attach stream and capped by the worker; the daemon keeps
        // no log file that a chatty program could grow without bound.
        log_config: Some(HostConfigLogConfig {
            typ: Some("none".to_owned()),
            config: None,
        }),
        ..Default::default()
    };
    let labels = HashMap::from([
        (LABEL_MANAGED.to_owned(), "true".to_owned()),
        (LABEL_WORKER.to_owned(), worker_name.to_owned()),
    ]);
    let body = ContainerCreateBody {
        image: Some(shape.image.clone()),
        cmd: Some(vec![
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            LAUNCHER.to_owned(),
        ]),
        entrypoint: Some(vec![]),
        user: Some(user.to_owned()),
        working_dir: Some("/home/work".to_owned()),
        env: Some(env),
        labels: Some(labels),
        network_disabled: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        host_config: Some(host_config),
        ..Default::default()
    };
    ContainerSpec { name, body }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;

    fn run(gpus: &[u32]) -> RunSpec {
        RunSpec {
            job_id: "j1".into(),
            epoch: 3,
            node_id: "n1".into(),
            task_id: "iris".into(),
            image: "img".into(),
            data_dir: PathBuf::from("/tasks/iris/prepared/public"),
            code: String::new(),
            cpu_millis: 1500,
            memory_bytes: 2 << 30,
            disk_bytes: 1 << 30,
            timeout: Duration::from_secs(60),
            gpu_ids: gpus.to_vec(),
            live: None,
        }
    }

    fn build(gpus: &[u32]) -> ContainerSpec {
        container_spec(
            &Shape::of(&run(gpus)),
            "c1".into(),
            "w1",
            "10001:10001",
            Path::new("/jobs/j1"),
            &Limits::default(),
        )
    }

    fn env(spec: &ContainerSpec, key: &str) -> Option<String> {
        spec.body
            .env
            .as_ref()?
            .iter()
            .find_map(|e| e.strip_prefix(&format!("{key}=")).map(str::to_owned))
    }

    #[test]
    fn hardening_follows_the_container_contract() {
        let spec = build(&[]);
        let hc = spec.body.host_config.as_ref().unwrap();
        assert_eq!(hc.network_mode.as_deref(), Some("none"));
        assert_eq!(hc.readonly_rootfs, Some(true));
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(hc.security_opt, Some(vec!["no-new-privileges".to_owned()]));
        assert_eq!(hc.memory, Some(2 << 30));
        assert_eq!(hc.memory_swap, hc.memory);
        assert_eq!(hc.nano_cpus, Some(1_500_000_000));
        assert_eq!(hc.pids_limit, Some(256));
        assert!(hc.device_requests.is_none());
        assert_eq!(spec.body.user.as_deref(), Some("10001:10001"));
        let binds = hc.binds.clone().unwrap();
        assert!(binds.contains(&"/tasks/iris/prepared/public:/home/data:ro".to_owned()));
        assert!(binds.contains(&"/jobs/j1/code:/home/code:ro".to_owned()));
        // Everything writable is in the job directory, under its disk limit.
        assert!(binds.contains(&"/jobs/j1/tmp:/tmp:rw".to_owned()));
        assert!(hc.tmpfs.is_none());
        let writable: Vec<_> = binds.iter().filter(|b| b.ends_with(":rw")).collect();
        assert!(
            writable.iter().all(|b| b.starts_with("/jobs/j1/")),
            "{writable:?}"
        );
        assert!(binds.iter().all(|b| !b.contains("private")));
        assert_eq!(env(&spec, "OMP_NUM_THREADS").as_deref(), Some("2"));
        assert_eq!(env(&spec, "CUDA_VISIBLE_DEVICES").as_deref(), Some(""));
        assert_eq!(spec.body.labels.as_ref().unwrap()[LABEL_WORKER], "w1");
        let launcher = &spec.body.cmd.as_ref().unwrap()[2];
        assert!(launcher.contains("exec timeout -s KILL \"$backstop\""));
    }

    #[test]
    fn the_run_environment_is_quoted_and_the_backstop_follows_the_timeout() {
        let mut r = run(&[]);
        r.task_id = "it's; rm -rf /".into();
        let file = run_env(&r);
        assert!(
            file.contains("COMPETITION_ID='it'\\''s; rm -rf /'\n"),
            "{file}"
        );
        assert!(file.contains("RANDORI_NODE_ID='n1'\n"));
        // The backstop kill comes after the worker's own timeout (60 s).
        assert!(file.contains("RANDORI_BACKSTOP_SECS='70'\n"));
        let out = std::process::Command::new("sh")
            .args([
                "-c",
                &format!("set -a; {file} set +a; printf %s \"$COMPETITION_ID\""),
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), r.task_id);
    }

    #[test]
    fn assigned_gpus_reach_the_device_request_and_cuda_visible_devices() {
        let spec = build(&[2, 3]);
        let hc = spec.body.host_config.as_ref().unwrap();
        let req = &hc.device_requests.as_ref().unwrap()[0];
        assert_eq!(req.driver.as_deref(), Some("nvidia"));
        assert_eq!(req.device_ids, Some(vec!["2".to_owned(), "3".to_owned()]));
        assert_eq!(req.capabilities, Some(vec![vec!["gpu".to_owned()]]));
        assert_eq!(env(&spec, "CUDA_VISIBLE_DEVICES").as_deref(), Some("0,1"));
        assert_eq!(env(&spec, "RANDORI_GPU_IDS").as_deref(), Some("2,3"));
    }
}
