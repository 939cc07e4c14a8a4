//! The reaper: requeues jobs whose leases expired (or fails them when their attempts are
//! spent) and marks silent workers lost. Safe on every replica at once: each pass is a
//! single guarded statement.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::store::JobStore;

pub async fn run(
    store: JobStore,
    metrics: Arc<Metrics>,
    lease_ttl: Duration,
    cancel: CancellationToken,
) {
    let interval = (lease_ttl / 4).max(Duration::from_millis(200));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match store.job_reap(None).await {
            Ok(report) => {
                metrics
                    .lease_expiries
                    .add((report.requeued.len() + report.failed.len()) as u64);
                metrics.jobs_failed.add(report.failed.len() as u64);
                for id in &report.requeued {
                    tracing::warn!(job_id = %id, "lease expired; job requeued");
                }
                for id in &report.failed {
                    tracing::warn!(job_id = %id, "lease expired on the last attempt; job failed");
                    crate::traces::job_ended(&store, *id).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reaping expired leases"),
        }
        match store.worker_mark_lost(lease_ttl).await {
            Ok(names) => {
                for name in names {
                    tracing::warn!(worker = %name, "worker missed its heartbeats; marked lost");
                }
            }
            Err(e) => tracing::warn!(error = %e, "marking silent workers lost"),
        }
    }
}
