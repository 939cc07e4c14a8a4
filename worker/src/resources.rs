//! Resource accounting of one worker: what it owns, what its running jobs hold. Pure.

use std::collections::HashMap;

/// A host's resources, or a free share of them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resources {
    pub slots: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub gpu_ids: Vec<u32>,
    /// Room on the jobs filesystem for disk limits.
    pub disk_bytes: u64,
}

/// What one job holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub cpu_millis: u32,
    pub memory_bytes: u64,
    pub gpu_ids: Vec<u32>,
    pub disk_bytes: u64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LedgerError {
    #[error("job {0} already holds resources")]
    AlreadyHeld(String),
    #[error("job does not fit: needs {needs:?}, free {free:?}")]
    DoesNotFit { needs: Claim, free: Resources },
}

/// The worker's ledger: totals minus the claims of running jobs.
#[derive(Debug, Clone)]
pub struct Ledger {
    total: Resources,
    claims: HashMap<String, Claim>,
}

impl Ledger {
    pub fn new(total: Resources) -> Self {
        Self {
            total,
            claims: HashMap::new(),
        }
    }

    pub fn total(&self) -> &Resources {
        &self.total
    }

    pub fn running(&self) -> usize {
        self.claims.len()
    }

    pub fn free(&self) -> Resources {
        let used_cpu: u32 = self.claims.values().map(|c| c.cpu_millis).sum();
        let used_mem: u64 = self.claims.values().map(|c| c.memory_bytes).sum();
        let used_disk: u64 = self.claims.values().map(|c| c.disk_bytes).sum();
        Resources {
            slots: self.total.slots.saturating_sub(self.claims.len() as u32),
            cpu_millis: self.total.cpu_millis.saturating_sub(used_cpu),
            memory_bytes: self.total.memory_bytes.saturating_sub(used_mem),
            gpu_ids: self
                .total
                .gpu_ids
                .iter()
                .copied()
                .filter(|g| !self.claims.values().any(|c| c.gpu_ids.contains(g)))
                .collect(),
            disk_bytes: self.total.disk_bytes.saturating_sub(used_disk),
        }
    }

    /// Books a job's claim; refuses one that does not fit (GPU ids must be free ones).
    pub fn reserve(&mut self, job: &str, claim: Claim) -> Result<(), LedgerError> {
        if self.claims.contains_key(job) {
            return Err(LedgerError::AlreadyHeld(job.to_owned()));
        }
        let free = self.free();
        let fits = free.slots >= 1
            && claim.cpu_millis <= free.cpu_millis
            && claim.memory_bytes <= free.memory_bytes
            && claim.disk_bytes <= free.disk_bytes
            && claim.gpu_ids.iter().all(|g| free.gpu_ids.contains(g));
        if !fits {
            return Err(LedgerError::DoesNotFit { needs: claim, free });
        }
        self.claims.insert(job.to_owned(), claim);
        Ok(())
    }

    pub fn release(&mut self, job: &str) {
        self.claims.remove(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        Ledger::new(Resources {
            slots: 3,
            cpu_millis: 4000,
            memory_bytes: 8 << 30,
            gpu_ids: vec![0, 1, 2],
            disk_bytes: 100 << 30,
        })
    }

    fn claim(cpu: u32, mem_gib: u64, gpus: &[u32]) -> Claim {
        Claim {
            cpu_millis: cpu,
            memory_bytes: mem_gib << 30,
            gpu_ids: gpus.to_vec(),
            disk_bytes: 10 << 30,
        }
    }

    #[test]
    fn claims_shrink_the_free_share_and_release_restores_it() {
        let mut l = ledger();
        l.reserve("a", claim(1000, 2, &[1])).unwrap();
        l.reserve("b", claim(2000, 4, &[0, 2])).unwrap();
        assert_eq!(
            l.free(),
            Resources {
                slots: 1,
                cpu_millis: 1000,
                memory_bytes: 2 << 30,
                gpu_ids: vec![],
                disk_bytes: 80 << 30,
            }
        );
        l.release("b");
        assert_eq!(l.free().gpu_ids, vec![0, 2]);
        assert_eq!(l.free().slots, 2);
    }

    #[test]
    fn refuses_what_does_not_fit() {
        let cases = [
            (claim(5000, 1, &[]), "cpu"),
            (claim(1000, 9, &[]), "memory"),
            (claim(1000, 1, &[7]), "unknown gpu"),
            (
                Claim {
                    disk_bytes: 101 << 30,
                    ..claim(1000, 1, &[])
                },
                "disk",
            ),
        ];
        for (c, why) in cases {
            assert!(
                matches!(
                    ledger().reserve("x", c),
                    Err(LedgerError::DoesNotFit { .. })
                ),
                "{why}"
            );
        }
        let mut l = ledger();
        l.reserve("a", claim(100, 1, &[0])).unwrap();
        assert!(l.reserve("b", claim(100, 1, &[0])).is_err(), "gpu taken");
        assert_eq!(
            l.reserve("a", claim(100, 1, &[])),
            Err(LedgerError::AlreadyHeld("a".into()))
        );
        l.reserve("b", claim(100, 1, &[])).unwrap();
        l.reserve("c", claim(100, 1, &[])).unwrap();
        assert!(l.reserve("d", claim(1, 0, &[])).is_err(), "slots");
    }
}
