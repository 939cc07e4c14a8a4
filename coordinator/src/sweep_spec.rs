//! A sweep as the coordinator takes it: tasks × policies × seeds with the budgets, resources,
//! operator and policy settings every run of it shares. The CLI reads the human sweep file
//! (TOML, with units) into this; the coordinator checks it and expands it into runs.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The policies a sweep may name.
pub const POLICIES: [&str; 3] = ["greedy", "mcts", "evolutionary"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub name: String,
    /// Task directories as the coordinator sees them (absolute paths).
    pub tasks: Vec<String>,
    pub policies: Vec<String>,
    pub seeds: Vec<u64>,
    /// Higher first; sweeps of equal priority share the workers fairly.
    pub priority: i32,
    pub budget: Budget,
    pub resources: NodeResources,
    /// The sweep file's `[operator]` table (`{}`: the builtin generator).
    pub operator: serde_json::Value,
    /// The sweep file's `[policy]` table, keyed by policy name (`{}`: the defaults).
    pub policy: serde_json::Value,
}

/// Per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Budget {
    pub max_nodes: u32,
    pub max_wall_ms: u64,
    pub node_timeout_ms: u64,
    /// Nodes of one run evaluated at once.
    pub parallelism: u32,
}

/// Per node evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeResources {
    pub gpus: u32,
    pub cpu_millis: u32,
    pub memory_bytes: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            max_nodes: 20,
            max_wall_ms: 60 * 60 * 1000,
            node_timeout_ms: 5 * 60 * 1000,
            parallelism: 1,
        }
    }
}

impl Default for NodeResources {
    fn default() -> Self {
        Self {
            gpus: 0,
            cpu_millis: 1000,
            memory_bytes: 2 << 30,
        }
    }
}

/// One run a sweep expands into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKey<'a> {
    pub task_dir: &'a str,
    pub policy: &'a str,
    pub seed: u64,
}

impl SweepSpec {
    /// The problems that make the spec unusable, each naming its key; empty when it is fine.
    /// (Task directories and policy settings are checked where they are loaded.)
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.name.trim().is_empty() {
            out.push("name: must not be empty".to_owned());
        }
        for (key, empty) in [
            ("tasks", self.tasks.is_empty()),
            ("policies", self.policies.is_empty()),
            ("seeds", self.seeds.is_empty()),
        ] {
            if empty {
                out.push(format!("{key}: needs at least one entry"));
            }
        }
        for p in &self.policies {
            if !POLICIES.contains(&p.as_str()) {
                out.push(format!(
                    "policies: unknown policy {p:?} (expected one of {})",
                    POLICIES.join(", ")
                ));
            }
        }
        for (key, list) in [
            ("tasks", dupes(&self.tasks)),
            ("policies", dupes(&self.policies)),
        ] {
            for d in list {
                out.push(format!("{key}: {d:?} is listed twice"));
            }
        }
        let mut seeds = self.seeds.clone();
        seeds.sort_unstable();
        if seeds.windows(2).any(|w| w[0] == w[1]) {
            out.push("seeds: a seed is listed twice".to_owned());
        }
        let b = &self.budget;
        for (key, zero) in [
            ("budget.max_nodes", b.max_nodes == 0),
            ("budget.max_wall", b.max_wall_ms == 0),
            ("budget.node_timeout", b.node_timeout_ms == 0),
            ("budget.parallelism", b.parallelism == 0),
            ("resources.cpus", self.resources.cpu_millis == 0),
            ("resources.memory", self.resources.memory_bytes == 0),
        ] {
            if zero {
                out.push(format!("{key}: must be positive"));
            }
        }
        out
    }

    /// Every run: tasks × policies × seeds, in that nesting order.
    pub fn runs(&self) -> impl Iterator<Item = RunKey<'_>> {
        self.tasks.iter().flat_map(move |t| {
            self.policies.iter().flat_map(move |p| {
                self.seeds.iter().map(move |&seed| RunKey {
                    task_dir: t,
                    policy: p,
                    seed,
                })
            })
        })
    }

    pub fn run_count(&self) -> usize {
        self.tasks.len() * self.policies.len() * self.seeds.len()
    }

    /// Identifies the sweep: submitting the same spec again finds the sweep it made (which is
    /// how running a sweep file again resumes it). JSON objects keep their keys sorted, so
    /// the text is canonical.
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).expect("a sweep spec serializes");
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn dupes(items: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .filter(|i| !seen.insert(i.as_str()))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SweepSpec {
        SweepSpec {
            name: "s".into(),
            tasks: vec!["/t/a".into(), "/t/b".into()],
            policies: vec!["greedy".into(), "mcts".into()],
            seeds: vec![0, 1, 2],
            priority: 0,
            budget: Budget::default(),
            resources: NodeResources::default(),
            operator: serde_json::json!({}),
            policy: serde_json::json!({"greedy": {"num_drafts": 2}}),
        }
    }

    #[test]
    fn expands_tasks_times_policies_times_seeds() {
        let s = spec();
        let runs: Vec<_> = s.runs().collect();
        assert_eq!(runs.len(), 12);
        assert_eq!(s.run_count(), 12);
        assert_eq!(
            runs[0],
            RunKey {
                task_dir: "/t/a",
                policy: "greedy",
                seed: 0
            }
        );
        assert_eq!(
            runs[11],
            RunKey {
                task_dir: "/t/b",
                policy: "mcts",
                seed: 2
            }
        );
    }

    #[test]
    fn fingerprint_follows_content_not_key_order() {
        let mut a = spec();
        a.policy =
            serde_json::from_str(r#"{"greedy": {"num_drafts": 2, "debug_prob": 0.5}}"#).unwrap();
        let mut b = a.clone();
        b.policy =
            serde_json::from_str(r#"{"greedy": {"debug_prob": 0.5, "num_drafts": 2}}"#).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        b.seeds.push(3);
        assert_ne!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn problems_name_their_keys() {
        assert!(spec().problems().is_empty());
        let mut s = spec();
        s.policies.push("beam".into());
        s.seeds.push(0);
        s.budget.parallelism = 0;
        s.tasks.push("/t/a".into());
        let p = s.problems();
        assert!(
            p.iter()
                .any(|m| m.starts_with("policies: unknown policy \"beam\"")),
            "{p:?}"
        );
        assert!(p.iter().any(|m| m.starts_with("seeds:")), "{p:?}");
        assert!(
            p.iter().any(|m| m.starts_with("budget.parallelism")),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m == "tasks: \"/t/a\" is listed twice"),
            "{p:?}"
        );
    }
}
