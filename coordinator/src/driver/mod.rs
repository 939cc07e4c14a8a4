//! Run drivers: one per active run, each under a lease on the run that this coordinator renews.
//! The supervisor claims runs no live driver holds (new ones, and those of a coordinator that
//! died), starts a driver for each, and stops a driver whose run it no longer holds.

mod llm_failure;
mod operators;
pub mod preflight;
mod preview;
mod run;
mod view;

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::grading::Graders;
use crate::store::JobStore;
use crate::wakeups::Wakeups;

/// Checks a run's policy name and settings and its operator settings, as the driver will read
/// them.
pub fn check_run_settings(
    policy: &str,
    policy_config: &serde_json::Value,
    operator_config: &serde_json::Value,
) -> crate::Result<()> {
    run::parse_settings(policy, policy_config, operator_config).map(|_| ())
}

pub struct Supervisor {
    pub store: JobStore,
    pub graders: Graders,
    pub wakeups: Wakeups,
    /// This coordinator's name on the runs it drives; unique per process.
    pub name: String,
    pub run_lease_ttl: Duration,
    /// LLM endpoints, shared by all the runs this coordinator drives.
    pub endpoints: randori_llm::Endpoints,
}

impl Supervisor {
    pub async fn run(self, cancel: CancellationToken) {
        let mut driving: HashMap<Uuid, (JoinHandle<()>, CancellationToken)> = HashMap::new();
        loop {
            match self.store.run_claim(&self.name, self.run_lease_ttl).await {
                Ok(held) => {
                    driving.retain(|id, (task, stop)| {
                        let keep = held.contains(id) && !task.is_finished();
                        if !keep {
                            stop.cancel();
                        }
                        keep
                    });
                    for id in held {
                        driving.entry(id).or_insert_with(|| {
                            let stop = cancel.child_token();
                            let driver = run::RunDriver {
                                store: self.store.clone(),
                                graders: self.graders.clone(),
                                wakeups: self.wakeups.clone(),
                                endpoints: self.endpoints.clone(),
                                run_id: id,
                            };
                            (tokio::spawn(driver.drive(stop.clone())), stop)
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming runs"),
            }
            // Renew in time; claim at once when runs are submitted, paused or resumed.
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(self.run_lease_ttl / 3) => {}
                _ = self.wakeups.runs_changed.notified() => {}
            }
        }
        for (_, (task, stop)) in driving {
            stop.cancel();
            let _ = task.await;
        }
    }
}
