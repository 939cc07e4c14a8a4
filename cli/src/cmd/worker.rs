use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use randori_worker::resources::Resources;
use randori_worker::sandbox::Limits;
use randori_worker::sandbox::disk::DiskQuotaChoice;
use randori_worker::{TaskDataSource, Worker, WorkerConfig};
use tokio_util::sync::CancellationToken;

use crate::args::WorkerArgs;
use crate::stack::host_resources;

pub async fn run(a: WorkerArgs) -> Result<ExitCode> {
    let host = host_resources();
    let name = match a.name {
        Some(n) => n,
        None => nix::unistd::gethostname()
            .context("reading the hostname (pass --name)")?
            .to_string_lossy()
            .into_owned(),
    };
    let task_cache_dir = a
        .task_cache
        .unwrap_or_else(|| PathBuf::from("/var/tmp/randori-tasks").join(&name));
    let config = WorkerConfig {
        coordinator: a.coordinator,
        jobs_dir: a
            .jobs_dir
            .unwrap_or_else(|| PathBuf::from("/var/tmp/randori-worker").join(&name)),
        name,
        total: Resources {
            slots: a.slots.unwrap_or(host.slots),
            cpu_millis: a.cpus.unwrap_or(host.cpu_millis),
            memory_bytes: a.memory.unwrap_or(host.memory_bytes),
            gpu_ids: a.gpus,
            disk_bytes: a.disk.unwrap_or(0),
        },
        disk_reserve_bytes: a.disk_reserve,
        disk_quota: DiskQuotaChoice::parse(&a.disk_quota)
            .context("--disk-quota: auto, loop or watchdog")?,
        task_data: TaskDataSource::parse(&a.task_data).context("--task-data: auto or fetch")?,
        task_cache_dir,
        task_cache_bytes: a.task_cache_size,
        sandbox: a.sandbox,
        image: crate::image::resolve(a.image.as_deref().unwrap_or("cpu")),
        limits: Limits::default(),
        drain_timeout: a.drain_timeout,
        reap_after: a.reap_after,
        warm_containers: a.warm_containers,
        token: a.token,
        tls: randori_proto::tls::TlsFiles::from_env().map_err(anyhow::Error::msg)?,
    };
    let worker = Worker::build(config).await?;
    let (shutdown, abort) = (CancellationToken::new(), CancellationToken::new());
    let (s, ab) = (shutdown.clone(), abort.clone());
    tokio::spawn(async move {
        super::terminated().await;
        tracing::info!("draining: finishing running jobs (signal again to hand them back now)");
        s.cancel();
        super::terminated().await;
        ab.cancel();
    });
    worker.run(shutdown, abort).await?;
    Ok(ExitCode::SUCCESS)
}
