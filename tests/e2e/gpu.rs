//! GPU placement: a job asking for 2 GPUs goes only to a worker with 2 free, and the assigned
//! ids reach the program (local sandbox) and the container Docker creates.

use std::time::Duration;

use randori_proto::v1 as pb;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_gpu_job_goes_only_to_a_worker_with_two_free() {
    let cluster = cluster("gpu", "10s").await;
    let addr = cluster.addr;
    let (one, two) = (unique("gpu-one"), unique("gpu-two"));
    let python = std::env::var("RANDORI_PYTHON").unwrap_or_else(|_| "python3".into());
    let env = [("RANDORI_PYTHON", python.as_str())];
    let _w1 = worker(
        addr,
        WorkerOpts {
            name: &one,
            slots: 2,
            gpus: "0",
            sandbox: "local",
            extra_env: &env,
            ..Default::default()
        },
    );
    let mut client = control(addr).await;
    let code = "import os\nprint('gpus=' + os.environ['CUDA_VISIBLE_DEVICES'])\n";
    let job = submit(
        &mut client,
        Eval {
            code,
            gpus: 2,
            ..Default::default()
        },
    )
    .await;
    // With only the one-GPU worker up, the job waits.
    let r = wait_end(&mut client, &job, Duration::from_secs(3)).await;
    assert_eq!(r.state(), pb::JobState::Queued);
    let _w2 = worker(
        addr,
        WorkerOpts {
            name: &two,
            slots: 2,
            gpus: "3,5,7",
            sandbox: "local",
            extra_env: &env,
            ..Default::default()
        },
    );
    let r = wait_end(&mut client, &job, Duration::from_secs(60)).await;
    assert_eq!(r.state(), pb::JobState::Succeeded, "{r:?}");
    assert_eq!(r.worker_name, two);
    let o = r.outcome.unwrap();
    assert!(
        text(&o.stdout_tail).contains("gpus=3,5"),
        "{}",
        text(&o.stdout_tail)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assigned_gpus_reach_the_created_container() {
    use bollard::query_parameters::{CreateContainerOptions, RemoveContainerOptions};
    use randori_worker::sandbox::{Limits, RunSpec, Shape, container_spec};

    let run = RunSpec {
        job_id: unique("gpu-container"),
        epoch: 1,
        node_id: "n".into(),
        task_id: "toy-regression".into(),
        image: runtime_image().into(),
        data_dir: toy_task().join("prepared/public"),
        code: String::new(),
        cpu_millis: 1000,
        memory_bytes: 256 << 20,
        disk_bytes: 1 << 30,
        timeout: Duration::from_secs(10),
        gpu_ids: vec![1, 2],
        live: None,
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = container_spec(
        &Shape::of(&run),
        run.job_id.clone(),
        "gpu-test",
        "10001:10001",
        dir.path(),
        &Limits::default(),
    );
    let docker = bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    // The engine accepts the device request at creation; starting needs the NVIDIA runtime,
    // which this machine does not have.
    let created = docker
        .create_container(
            Some(CreateContainerOptions {
                name: Some(spec.name.clone()),
                ..Default::default()
            }),
            spec.body,
        )
        .await
        .expect("creating the container");
    let inspected = docker
        .inspect_container(
            &created.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await;
    docker
        .remove_container(
            &created.id,
            Some(RemoveContainerOptions {
                force: true,
                ..Default::default()
            }),
        )
        .await
        .unwrap();
    let inspected = inspected.unwrap();
    let host = inspected.host_config.unwrap();
    let req = &host.device_requests.unwrap()[0];
    assert_eq!(req.driver.as_deref(), Some("nvidia"));
    assert_eq!(req.device_ids, Some(vec!["1".to_owned(), "2".to_owned()]));
    let env = inspected.config.unwrap().env.unwrap();
    assert!(
        env.contains(&"CUDA_VISIBLE_DEVICES=0,1".to_owned()),
        "{env:?}"
    );
    assert!(env.contains(&"RANDORI_GPU_IDS=1,2".to_owned()), "{env:?}");
    assert_eq!(host.network_mode.as_deref(), Some("none"));
    assert_eq!(host.readonly_rootfs, Some(true));
}
