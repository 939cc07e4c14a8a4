//! The container a node program runs in, as a pure function of the run: every hardening
//! setting of DESIGN.md's container contract is decided here, where a test can read it.

use std::collections::HashMap;
use std::path::Path;

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
pub const LABEL_JOB: &str = "randori.job";

pub struct ContainerSpec {
    pub name: String,
    pub body: ContainerCreateBody,
}

/// Builds the container for `spec`, with `job_dir` the host directory holding its code,
/// submission and scratch directories.
pub fn container_spec(
    spec: &RunSpec,
    image: &str,
    worker_name: &str,
    user: &str,
    job_dir: &Path,
    limits: &Limits,
) -> ContainerSpec {
    let gpu_list = |ids: &mut dyn Iterator<Item = String>| ids.collect::<Vec<_>>().join(",");
    // Inside the container the NVIDIA runtime shows only the assigned devices, numbered from
    // 0, so CUDA_VISIBLE_DEVICES names them by their in-container index.
    let cuda_visible = gpu_list(&mut (0..spec.gpu_ids.len()).map(|i| i.to_string()));
    let threads = spec.cpu_millis.div_ceil(1000).max(1);
    let env = vec![
        format!("COMPETITION_ID={}", spec.task_id),
        format!("RANDORI_NODE_ID={}", spec.node_id),
        format!("CUDA_VISIBLE_DEVICES={cuda_visible}"),
        format!("OMP_NUM_THREADS={threads}"),
        format!(
            "RANDORI_GPU_IDS={}",
            gpu_list(&mut spec.gpu_ids.iter().map(u32::to_string))
        ),
        "HOME=/home/work".to_owned(),
        "PYTHONUNBUFFERED=1".to_owned(),
        "MPLCONFIGDIR=/tmp".to_owned(),
    ];
    let device_requests = (!spec.gpu_ids.is_empty()).then(|| {
        vec![DeviceRequest {
            driver: Some("nvidia".to_owned()),
            device_ids: Some(spec.gpu_ids.iter().map(u32::to_string).collect()),
            capabilities: Some(vec![vec!["gpu".to_owned()]]),
            ..Default::default()
        }]
    });
    let mount =
        |host: &Path, inside: &str, mode: &str| format!("{}:{inside}:{mode}", host.display());
    let memory = i64::try_from(spec.memory_bytes).unwrap_or(i64::MAX);
    let host_config = HostConfig {
        binds: Some(vec![
            mount(&spec.data_dir, "/home/data", "ro"),
            mount(&job_dir.join("code"), "/home/code", "ro"),
            mount(&job_dir.join("submission"), "/home/submission", "rw"),
            mount(&job_dir.join("work"), "/home/work", "rw"),
        ]),
        network_mode: Some("none".to_owned()),
        readonly_rootfs: Some(true),
        cap_drop: Some(vec!["ALL".to_owned()]),
        security_opt: Some(vec!["no-new-privileges".to_owned()]),
        pids_limit: Some(limits.pids),
        memory: Some(memory),
        // Equal to `memory`: no swap on top of the limit.
        memory_swap: Some(memory),
        nano_cpus: Some(i64::from(spec.cpu_millis) * 1_000_000),
        tmpfs: Some(HashMap::from([(
            "/tmp".to_owned(),
            "rw,nosuid,nodev,size=512m".to_owned(),
        )])),
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
    let timeout_secs = spec.timeout.as_secs() + BACKSTOP_GRACE_SECS;
    let labels = HashMap::from([
        (LABEL_MANAGED.to_owned(), "true".to_owned()),
        (LABEL_WORKER.to_owned(), worker_name.to_owned()),
        (LABEL_JOB.to_owned(), spec.job_id.clone()),
    ]);
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(vec![
            "timeout".to_owned(),
            "-s".to_owned(),
            "KILL".to_owned(),
            timeout_secs.to_string(),
            "python3".to_owned(),
            "/home/code/solution.py".to_owned(),
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
    ContainerSpec {
        name: format!("randori-{}-{}", spec.job_id, spec.epoch),
        body,
    }
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
            data_dir: PathBuf::from("/tasks/iris/prepared/public"),
            code: String::new(),
            cpu_millis: 1500,
            memory_bytes: 2 << 30,
            timeout: Duration::from_secs(60),
            gpu_ids: gpus.to_vec(),
            live: None,
        }
    }

    fn build(gpus: &[u32]) -> ContainerSpec {
        container_spec(
            &run(gpus),
            "img",
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
        assert!(binds.iter().all(|b| !b.contains("private")));
        assert_eq!(env(&spec, "OMP_NUM_THREADS").as_deref(), Some("2"));
        assert_eq!(env(&spec, "COMPETITION_ID").as_deref(), Some("iris"));
        assert_eq!(env(&spec, "CUDA_VISIBLE_DEVICES").as_deref(), Some(""));
        assert_eq!(spec.body.labels.as_ref().unwrap()[LABEL_WORKER], "w1");
        // The backstop kill comes after the worker's own timeout.
        assert_eq!(
            spec.body.cmd.as_ref().unwrap()[..4],
            ["timeout", "-s", "KILL", "70"]
        );
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
