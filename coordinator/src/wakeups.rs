//! Turns Postgres notifications into in-process wake-ups: idle workers' long polls wait for
//! `randori_job_queued`, clients waiting on a job for `randori_job_ended`, run drivers for
//! `randori_run_node` (a node of their run was evaluated) and the run supervisor for
//! `randori_runs_changed` (runs submitted, paused, resumed, cancelled). Notifications can be
//! lost while the listener reconnects, so every waiter also polls.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Clone)]
pub struct Wakeups {
    pub job_queued: Arc<Notify>,
    pub job_ended: broadcast::Sender<Uuid>,
    /// Run ids; a driver ignores other runs' messages.
    pub run_node: broadcast::Sender<Uuid>,
    pub runs_changed: Arc<Notify>,
}

impl Wakeups {
    pub fn new() -> Self {
        Self {
            job_queued: Arc::new(Notify::new()),
            job_ended: broadcast::channel(1024).0,
            run_node: broadcast::channel(4096).0,
            runs_changed: Arc::new(Notify::new()),
        }
    }

    /// Listens until cancelled, reconnecting after errors.
    pub async fn run(self, pool: PgPool, cancel: CancellationToken) {
        while !cancel.is_cancelled() {
            if let Err(e) = self.listen(&pool, &cancel).await {
                tracing::warn!(error = %e, "job notification listener failed; retrying");
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    }

    async fn listen(&self, pool: &PgPool, cancel: &CancellationToken) -> sqlx::Result<()> {
        let mut listener = PgListener::connect_with(pool).await?;
        listener
            .listen_all([
                "randori_job_queued",
                "randori_job_ended",
                "randori_run_node",
                "randori_runs_changed",
            ])
            .await?;
        // Anything that happened while we were not listening.
        self.job_queued.notify_waiters();
        self.runs_changed.notify_one();
        loop {
            let notification = tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                n = listener.recv() => n?,
            };
            // No receivers is fine: nobody is waiting on that job or run.
            match notification.channel() {
                "randori_job_queued" => self.job_queued.notify_waiters(),
                "randori_runs_changed" => self.runs_changed.notify_one(),
                "randori_run_node" => {
                    if let Ok(id) = notification.payload().parse() {
                        let _ = self.run_node.send(id);
                    }
                }
                _ => {
                    if let Ok(id) = notification.payload().parse() {
                        let _ = self.job_ended.send(id);
                    }
                }
            }
        }
    }
}
