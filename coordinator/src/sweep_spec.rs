//! A sweep as the coordinator takes it: tasks × policies × operator sets × seeds with the budgets, resources,
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
    /// The operator sets compared (`aira`, `aide`): one run per set. Empty: the `[operator]`
    /// table's `set`, else `aira`. Left out of the fingerprint when empty, so sweeps from
    /// before the axis existed keep theirs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operator_sets: Vec<String>,
    pub seeds: Vec<u64>,
    /// Higher first; sweeps of equal priority share the workers fairly.
    pub priority: i32,
    pub budget: Budget,
    pub resources: NodeResources,
    /// The runtime image (a tag) its nodes run in; None: each worker's own. Left out of the
    /// fingerprint when None, so sweeps from before the choice existed keep theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
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
    /// What the program may write in all. Left out of the stored spec when it is the default,
    /// so sweeps submitted before the limit existed keep their identity.
    #[serde(
        default = "default_disk_bytes",
        skip_serializing_if = "is_default_disk_bytes"
    )]
    pub disk_bytes: u64,
}

fn default_disk_bytes() -> u64 {
    crate::model::DEFAULT_DISK_BYTES
}

fn is_default_disk_bytes(bytes: &u64) -> bool {
    *bytes == crate::model::DEFAULT_DISK_BYTES
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
            disk_bytes: crate::model::DEFAULT_DISK_BYTES,
        }
    }
}

/// One run a sweep expands into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKey<'a> {
    pub task_dir: &'a str,
    pub policy: &'a str,
    /// The operator set, when the sweep compares sets.
    pub operator_set: Option<&'a str>,
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
        for set in &self.operator_sets {
            if randori_operators::prompts::operator_set(set).is_none() {
                out.push(format!(
                    "operator_sets: unknown operator set {set:?} (expected one of {})",
                    operator_set_names()
                ));
            }
        }
        if !self.operator_sets.is_empty() && self.operator.get("set").is_some() {
            out.push(
                "operator.set: name the sets in operator_sets only, not in both places".to_owned(),
            );
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
            ("operator_sets", dupes(&self.operator_sets)),
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
            ("resources.disk", self.resources.disk_bytes == 0),
        ] {
            if zero {
                out.push(format!("{key}: must be positive"));
            }
        }
        out
    }

    /// Every run: tasks × policies × operator sets × seeds, in that nesting order.
    pub fn runs(&self) -> impl Iterator<Item = RunKey<'_>> {
        let sets: Vec<Option<&str>> = match self.operator_sets.as_slice() {
            [] => vec![None],
            sets => sets.iter().map(|s| Some(s.as_str())).collect(),
        };
        self.tasks.iter().flat_map(move |t| {
            let sets = sets.clone();
            self.policies.iter().flat_map(move |p| {
                sets.clone().into_iter().flat_map(move |operator_set| {
                    self.seeds.iter().map(move |&seed| RunKey {
                        task_dir: t,
                        policy: p,
                        operator_set,
                        seed,
                    })
                })
            })
        })
    }

    pub fn run_count(&self) -> usize {
        self.tasks.len() * self.policies.len() * self.operator_sets.len().max(1) * self.seeds.len()
    }

    /// The `[operator]` table of one run: the sweep's, with the run's operator set.
    pub fn operator_config(&self, run: &RunKey<'_>) -> serde_json::Value {
        let mut config = self.operator.clone();
        if let (Some(set), Some(table)) = (run.operator_set, config.as_object_mut()) {
            table.insert("set".to_owned(), set.into());
        }
        config
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

fn operator_set_names() -> String {
    randori_operators::prompts::OPERATOR_SETS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
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
            operator_sets: Vec::new(),
            seeds: vec![0, 1, 2],
            priority: 0,
            budget: Budget::default(),
            resources: NodeResources::default(),
            image: None,
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
                operator_set: None,
                seed: 0
            }
        );
        assert_eq!(
            runs[11],
            RunKey {
                task_dir: "/t/b",
                policy: "mcts",
                operator_set: None,
                seed: 2
            }
        );
    }

    #[test]
    fn operator_sets_are_an_axis_of_their_own_and_reach_each_run_s_operator_table() {
        let mut s = spec();
        let before = s.fingerprint();
        s.operator = serde_json::json!({"backend": "openai", "model": "o3"});
        let plain: Vec<_> = s.runs().map(|r| s.operator_config(&r)).collect();
        assert!(plain.iter().all(|c| c.get("set").is_none()));
        assert_ne!(s.fingerprint(), before);
        s.operator_sets = vec!["aira".into(), "aide".into()];
        let runs: Vec<_> = s.runs().collect();
        assert_eq!((runs.len(), s.run_count()), (24, 24));
        // Sets nest inside policies, seeds inside sets.
        let first: Vec<_> = runs[..6]
            .iter()
            .map(|r| (r.policy, r.operator_set, r.seed))
            .collect();
        assert_eq!(
            first,
            [
                ("greedy", Some("aira"), 0),
                ("greedy", Some("aira"), 1),
                ("greedy", Some("aira"), 2),
                ("greedy", Some("aide"), 0),
                ("greedy", Some("aide"), 1),
                ("greedy", Some("aide"), 2),
            ]
        );
        let config = s.operator_config(&runs[3]);
        assert_eq!(
            (config["set"].as_str(), config["model"].as_str()),
            (Some("aide"), Some("o3"))
        );
        assert!(s.problems().is_empty());
        s.operator_sets.push("aider".into());
        s.operator_sets.push("aide".into());
        s.operator["set"] = "aira".into();
        let p = s.problems();
        for want in [
            "operator_sets: unknown operator set \"aider\" (expected one of aira, aide)",
            "operator_sets: \"aide\" is listed twice",
            "operator.set: name the sets in operator_sets only, not in both places",
        ] {
            assert!(p.iter().any(|m| m == want), "{want}: {p:?}");
        }
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
