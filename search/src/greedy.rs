//! Greedy search as in AIDE (the AIRA-dojo baseline), one rule per decision:
//!
//! 1. Fewer than `num_drafts` Draft nodes (pending ones count): Draft.
//! 2. With probability `debug_prob` (one `next_f64` draw): if some buggy leaf (no children,
//!    pending ones included) has a debug depth below `max_debug_depth`, Debug one of them,
//!    chosen uniformly (`below`).
//! 3. No ok node: Draft.
//! 4. Otherwise Improve the best ok node (the earliest among equals).
//!
//! Greedy never waits: with several nodes in flight it keeps drafting or improving the best.

use serde::Deserialize;

use crate::config::check_probability;
use crate::{Decision, Operator, Policy, Rng, SearchError, Tree};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GreedyConfig {
    pub num_drafts: u32,
    pub debug_prob: f64,
    pub max_debug_depth: u32,
}

impl Default for GreedyConfig {
    fn default() -> Self {
        GreedyConfig {
            num_drafts: 5,
            debug_prob: 1.0,
            max_debug_depth: 20,
        }
    }
}

impl GreedyConfig {
    pub fn validate(&self) -> Result<(), SearchError> {
        check_probability("greedy", "debug_prob", self.debug_prob)
    }
}

impl Policy for GreedyConfig {
    fn decide(&self, tree: &Tree, rng: &mut Rng) -> Decision {
        if tree.count(Operator::Draft) < self.num_drafts as usize {
            return Decision::act(Operator::Draft, vec![]);
        }
        if rng.next_f64() < self.debug_prob {
            let leaves: Vec<_> = tree.debuggable(self.max_debug_depth).collect();
            if !leaves.is_empty() {
                let leaf = leaves[rng.below(leaves.len())];
                return Decision::act(Operator::Debug, vec![leaf]);
            }
        }
        match tree.best() {
            Some(best) => Decision::act(Operator::Improve, vec![best]),
            None => Decision::act(Operator::Draft, vec![]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{decide, tally, tree, tree_lower};

    fn greedy(num_drafts: u32, debug_prob: f64, max_debug_depth: u32) -> GreedyConfig {
        GreedyConfig {
            num_drafts,
            debug_prob,
            max_debug_depth,
        }
    }

    #[test]
    fn next_action() {
        let default = GreedyConfig::default();
        let cases = [
            (default.clone(), "", "Draft"),
            // Pending drafts count towards num_drafts.
            (default.clone(), "D:p D:p D:0.4 D:p", "Draft"),
            (default.clone(), "D:p D:p D:0.4 D:p D:p", "Improve(2)"),
            (default.clone(), "D:0.1 D:0.9 D:0.5 D:0.2 D:b", "Debug(4)"),
            // The buggy draft has a pending debug child: not a leaf.
            (
                default.clone(),
                "D:0.1 D:0.9 D:0.5 D:0.2 D:b B4:p",
                "Improve(1)",
            ),
            // Debug chain of depth 2 ending in a buggy leaf: within 3, at the limit of 2.
            (greedy(1, 1.0, 3), "D:b B0:b B1:b", "Debug(2)"),
            (greedy(1, 1.0, 2), "D:b B0:b B1:b", "Draft"),
            (greedy(1, 1.0, 2), "D:0.3 D:b B1:b B2:b", "Improve(0)"),
            // A fixed chain: its buggy nodes have children, so only improving is left.
            (greedy(1, 1.0, 20), "D:b B0:0.6 I1:0.7", "Improve(2)"),
            (greedy(2, 0.0, 20), "D:0.3 D:b", "Improve(0)"),
            (greedy(2, 0.0, 20), "D:b D:b", "Draft"),
            (greedy(2, 1.0, 20), "D:b D:p", "Debug(0)"),
            // No ok node and nothing to debug (pending ones in flight): Draft again.
            (greedy(2, 1.0, 20), "D:p D:p", "Draft"),
            (greedy(0, 1.0, 20), "", "Draft"),
        ];
        for (config, spec, expect) in cases {
            assert_eq!(decide(&config, &tree(spec), 0), expect, "{config:?} {spec}");
        }
    }

    #[test]
    fn improve_honours_lower_is_better() {
        let policy = greedy(2, 1.0, 20);
        assert_eq!(decide(&policy, &tree("D:0.2 D:0.7"), 0), "Improve(1)");
        assert_eq!(decide(&policy, &tree_lower("D:0.2 D:0.7"), 0), "Improve(0)");
    }

    #[test]
    fn buggy_leaves_are_chosen_uniformly() {
        let counts = tally(&greedy(3, 1.0, 20), &tree("D:b D:0.5 D:b B2:b"), 3000);
        assert_eq!(counts.keys().collect::<Vec<_>>(), ["Debug(0)", "Debug(3)"]);
        assert!((1350..1650).contains(&counts["Debug(0)"]), "{counts:?}");
    }

    #[test]
    fn debug_prob_is_the_share_of_debugging() {
        let counts = tally(&greedy(2, 0.3, 20), &tree("D:b D:0.5"), 10_000);
        assert_eq!(counts.len(), 2, "{counts:?}");
        assert!((2800..3200).contains(&counts["Debug(0)"]), "{counts:?}");
    }
}
