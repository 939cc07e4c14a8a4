//! Greedy search as in AIDE (the AIRA-dojo baseline), one rule per decision:
//!
//! 1. Fewer than `num_drafts` Draft nodes (pending ones count): Draft.
//! 2. With probability `debug_prob` (one `next_f64` draw): if some buggy leaf (no children,
//!    pending ones included) has an AIRA-dojo debug depth (`Tree::aira_debug_depth`, a draft
//!    at 1) of at most `max_debug_depth`, Debug one of them, chosen uniformly (`below`). As in
//!    AIRA-dojo the bound is inclusive, so a buggy draft gets `max_debug_depth` debug
//!    attempts and a buggy Improve child one more. There is no time limit on debugging.
//! 3. No ok node: Draft.
//! 4. Otherwise Improve the best ok node (the earliest among equals).
//!
//! Where aira-dojo decides otherwise:
//! 1. It runs one node at a time, so it never sees a pending node. Here several may be in
//!    flight and Greedy never waits: pending drafts count towards `num_drafts`, a buggy node
//!    whose Debug child is pending is no leaf, and meanwhile it keeps drafting or improving
//!    the best.

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
            let leaves: Vec<_> = tree
                .buggy_leaves()
                .filter(|&leaf| tree.aira_debug_depth(leaf) <= self.max_debug_depth)
                .collect();
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
            // A buggy draft gets max_debug_depth attempts: node 2 (depth 3) is its second.
            (greedy(1, 1.0, 3), "D:b B0:b B1:b", "Debug(2)"),
            (greedy(1, 1.0, 2), "D:b B0:b", "Debug(1)"),
            (greedy(1, 1.0, 2), "D:b B0:b B1:b", "Draft"),
            (greedy(1, 1.0, 2), "D:0.3 D:b B1:b B2:b", "Improve(0)"),
            // A buggy Improve child gets max_debug_depth + 1: node 3 (depth 2) is its third.
            (greedy(1, 1.0, 2), "D:0.3 I0:b B1:b B2:b", "Debug(3)"),
            (greedy(1, 1.0, 2), "D:0.3 I0:b B1:b B2:b B3:b", "Improve(0)"),
            (greedy(1, 1.0, 0), "D:0.3 I0:b", "Debug(1)"),
            (greedy(1, 1.0, 0), "D:0.3 D:b", "Improve(0)"),
            // No time limit: a chain that ran for days is still debugged.
            (greedy(1, 1.0, 20), "D:b@90000 B0:b@90000", "Debug(1)"),
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

    /// Module doc, "where aira-dojo decides otherwise", 1.
    #[test]
    fn nodes_in_flight_count_and_never_make_greedy_wait() {
        let cases = [
            (greedy(2, 1.0, 20), "D:p D:p", "Draft"),
            (greedy(2, 1.0, 20), "D:p D:0.5 I1:p", "Improve(1)"),
            (greedy(2, 1.0, 20), "D:b D:0.5 B0:p", "Improve(1)"),
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
