//! The gauges `/metrics` reads at each scrape.

use sqlx::Row;

use super::JobStore;
use crate::error::Result;
use crate::metrics::{StoreSnapshot, WorkerFree};

impl JobStore {
    pub async fn metrics_snapshot(&self) -> Result<StoreSnapshot> {
        let counts = sqlx::query(include_str!("sql/metrics_counts.sql"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| (r.get("family"), r.get("state"), r.get("n")))
            .collect();
        let workers = sqlx::query(include_str!("sql/metrics_workers.sql"))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| WorkerFree {
                name: r.get("name"),
                state: r.get("state"),
                free_slots: r.get("free_slots"),
                free_cpu_millis: r.get("free_cpu_millis"),
                free_memory_bytes: r.get("free_memory_bytes"),
                gpus: r.get("gpus"),
                free_gpus: r.get("free_gpus"),
            })
            .collect();
        let llm = sqlx::query(include_str!("sql/metrics_llm.sql"))
            .fetch_one(self.pool())
            .await?;
        Ok(StoreSnapshot {
            counts,
            workers,
            llm_calls: llm.get("calls"),
            llm_tokens_in: llm.get("tokens_in"),
            llm_tokens_out: llm.get("tokens_out"),
            llm_cost_usd: llm.get("cost_usd"),
        })
    }
}
