//! Monte Carlo tree search as in AIRA-dojo, with every statistic recomputed from the tree.
//!
//! The searched tree is the graph of first parents (MCTS never makes Crossover nodes) under a
//! virtual root whose children are the drafts. Statistics, over min-max normalised scores
//! (`Tree::normalised`: [0, 1], 1 = best over all ok nodes):
//! - N(v), the visits: the number of ok nodes in v's subtree, v included. Pending and buggy
//!   nodes are no visits: as in AIRA-dojo only a score is backpropagated, so a failure that a
//!   debug chain later fixes counts once, through the fixed node, on every node above it
//!   (the buggy ones of the chain included). N(root) is the number of ok nodes.
//! - Q(v) = (sum of the normalised scores of the ok nodes in v's subtree) / N(v).
//! - uct(v) = Q(v) + uct_c * sqrt(ln N(parent) / N(v)).
//!
//! Room: the root has room while it has fewer than `num_children` drafts; an ok node while it
//! has fewer than `num_children` children (pending ones count, so parallel expansions never
//! overfill a node); a buggy or pending node never (only Debug extends a buggy node).
//! A node is *actionable* when it has room or an actionable child.
//!
//! Each decision takes the first rule that applies:
//! 1. Debug the earliest buggy leaf whose debug depth is below `max_debug_depth`: AIRA-dojo
//!    runs a buggy child's debug chain to its end before anything else.
//! 2. Draft while the root has room.
//! 3. Improve the earliest ok node that has room and at least one child: AIRA-dojo expands a
//!    selected leaf into `num_children` children in one step, so a started expansion is
//!    finished before a new selection (with several nodes in flight, its children are created
//!    side by side).
//! 4. Select: from the root, repeatedly move to the actionable child with the highest uct (the
//!    earliest among equals) and stop at the first node with room: Improve it. Every actionable
//!    node holds an ok node in its subtree, so candidates always have N >= 1; AIRA-dojo's
//!    "unvisited first" is rules 2 and 3: a node's missing children are created (and
//!    evaluated) before any of them is descended into.
//! 5. Nothing actionable: Wait while a node is pending (its evaluation may open a path), else
//!    Draft (every branch is full or dead: start a new one under the root).
//!
//! MCTS draws no random numbers; the RNG is unused.

use std::num::NonZeroU32;

use serde::Deserialize;

use crate::{Decision, NodeId, NodeState, Operator, Policy, Rng, SearchError, Tree};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MctsConfig {
    pub uct_c: f64,
    pub num_children: NonZeroU32,
    pub max_debug_depth: u32,
}

impl Default for MctsConfig {
    fn default() -> Self {
        MctsConfig {
            uct_c: 0.25,
            num_children: NonZeroU32::new(5).expect("5 is not zero"),
            max_debug_depth: 20,
        }
    }
}

impl MctsConfig {
    pub fn validate(&self) -> Result<(), SearchError> {
        if self.uct_c.is_finite() && self.uct_c >= 0.0 {
            Ok(())
        } else {
            Err(SearchError::InvalidSetting {
                policy: "mcts",
                key: "uct_c",
                reason: "must be a finite number, 0 or more",
            })
        }
    }
}

impl Policy for MctsConfig {
    fn decide(&self, tree: &Tree, _rng: &mut Rng) -> Decision {
        if let Some(leaf) = tree.debuggable(self.max_debug_depth).next() {
            return Decision::act(Operator::Debug, vec![leaf]);
        }
        let stats = Stats::new(tree, self.num_children.get() as usize);
        if stats.root_has_room() {
            return Decision::act(Operator::Draft, vec![]);
        }
        match stats.open_expansion().or_else(|| stats.select(self.uct_c)) {
            Some(node) => Decision::act(Operator::Improve, vec![node]),
            None if tree.has_pending() => Decision::Wait,
            None => Decision::act(Operator::Draft, vec![]),
        }
    }
}

/// The UCT score of a child with mean value `q` and `visits`, under a parent with
/// `parent_visits`; an unvisited child scores +infinity, the textbook convention.
fn uct(q: f64, parent_visits: u32, visits: u32, uct_c: f64) -> f64 {
    if visits == 0 {
        return f64::INFINITY;
    }
    q + uct_c * (f64::from(parent_visits).ln() / f64::from(visits)).sqrt()
}

/// Visits, values and actionability of every node, from one pass over the tree.
struct Stats<'t> {
    tree: &'t Tree,
    num_children: usize,
    drafts: Vec<NodeId>,
    /// Children by first parent.
    kids: Vec<Vec<NodeId>>,
    visits: Vec<u32>,
    value: Vec<f64>,
    actionable: Vec<bool>,
}

impl<'t> Stats<'t> {
    fn new(tree: &'t Tree, num_children: usize) -> Self {
        let len = tree.len();
        let mut stats = Stats {
            tree,
            num_children,
            drafts: Vec::new(),
            kids: vec![Vec::new(); len],
            visits: vec![0; len],
            value: vec![0.0; len],
            actionable: vec![false; len],
        };
        for node in tree.nodes() {
            match node.parents.first() {
                Some(parent) => stats.kids[parent.index()].push(node.id),
                None => stats.drafts.push(node.id),
            }
        }
        // Children have larger ids than their parents: walking ids downwards finishes every
        // subtree before its root.
        for node in tree.nodes().iter().rev() {
            let i = node.id.index();
            if let Some(score) = tree.normalised(node.id) {
                stats.visits[i] += 1;
                stats.value[i] += score;
            }
            stats.actionable[i] = stats.has_room(node.id)
                || stats.kids[i].iter().any(|k| stats.actionable[k.index()]);
            if let Some(parent) = node.parents.first() {
                stats.visits[parent.index()] += stats.visits[i];
                stats.value[parent.index()] += stats.value[i];
            }
        }
        stats
    }

    fn visits(&self, id: NodeId) -> u32 {
        self.visits[id.index()]
    }

    fn q(&self, id: NodeId) -> f64 {
        self.value[id.index()] / f64::from(self.visits(id))
    }

    fn root_visits(&self) -> u32 {
        self.drafts.iter().map(|&d| self.visits(d)).sum()
    }

    fn root_has_room(&self) -> bool {
        self.drafts.len() < self.num_children
    }

    fn has_room(&self, id: NodeId) -> bool {
        self.tree.node(id).state == NodeState::Ok && self.kids[id.index()].len() < self.num_children
    }

    fn open_expansion(&self) -> Option<NodeId> {
        self.tree
            .nodes()
            .iter()
            .map(|n| n.id)
            .find(|&id| self.has_room(id) && !self.kids[id.index()].is_empty())
    }

    /// Rule 4 of the module doc: the UCT descent from the root.
    fn select(&self, uct_c: f64) -> Option<NodeId> {
        let mut candidates = &self.drafts;
        let mut parent_visits = self.root_visits();
        loop {
            let mut best: Option<(NodeId, f64)> = None;
            for &id in candidates.iter().filter(|id| self.actionable[id.index()]) {
                let score = uct(self.q(id), parent_visits, self.visits(id), uct_c);
                if best.is_none_or(|(_, top)| score > top) {
                    best = Some((id, score));
                }
            }
            let (chosen, _) = best?;
            if self.has_room(chosen) {
                return Some(chosen);
            }
            candidates = &self.kids[chosen.index()];
            parent_visits = self.visits(chosen);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{decide, tree, tree_lower};

    fn mcts(uct_c: f64, num_children: u32, max_debug_depth: u32) -> MctsConfig {
        MctsConfig {
            uct_c,
            num_children: NonZeroU32::new(num_children).unwrap(),
            max_debug_depth,
        }
    }

    #[test]
    fn next_action() {
        let cases = [
            (mcts(0.25, 5, 20), "", "Draft"),
            (mcts(0.25, 2, 20), "D:p", "Draft"),
            (mcts(0.25, 2, 20), "D:p D:p", "Wait"),
            (mcts(0.25, 2, 20), "D:0.4 D:p", "Improve(0)"),
            // A buggy draft's debug chain comes before the root's next draft.
            (mcts(0.25, 3, 20), "D:0.5 D:b", "Debug(1)"),
            (mcts(0.25, 2, 20), "D:0.5 D:b B1:b", "Debug(2)"),
            (mcts(0.25, 2, 0), "D:0.5 D:b", "Improve(0)"),
            // A chain at its depth limit is dead: the other branch is expanded.
            (mcts(0.25, 2, 2), "D:0.5 D:b B1:b B2:b", "Improve(0)"),
            // A started expansion is finished first, even under the weaker draft.
            (mcts(0.25, 2, 20), "D:0.1 D:0.9 I0:p", "Improve(0)"),
            (mcts(0.25, 3, 20), "D:0.1 D:0.9 D:0.5 I2:0.3", "Improve(2)"),
            // Pending children fill a node: it is not expanded further.
            (mcts(0.25, 2, 20), "D:0.1 D:0.9 I0:p I0:p", "Improve(1)"),
            (mcts(0.25, 2, 20), "D:0.1 D:p I0:p I0:p", "Wait"),
            // A fixed debug chain is descended through: its ok end is a leaf with room.
            (mcts(0.25, 2, 20), "D:b B0:0.5 D:0.2", "Improve(1)"),
            // Equal uct: the earliest wins.
            (mcts(0.25, 2, 20), "D:0.5 D:0.5", "Improve(0)"),
            // Everything dead and nothing in flight: a new branch under the root.
            (mcts(0.25, 2, 0), "D:b D:b", "Draft"),
            (mcts(0.25, 1, 0), "D:0.3 I0:b", "Draft"),
            (mcts(0.25, 1, 0), "D:0.3 I0:p", "Wait"),
        ];
        for (config, spec, expect) in cases {
            assert_eq!(decide(&config, &tree(spec), 0), expect, "{config:?} {spec}");
        }
    }

    /// Drafts 0 (score 0) and 1 (0.3); node 0 expanded into 2 (1.0) and 3 (0.25).
    const HAND: &str = "D:0 D:0.3 I0:1 I0:0.25";

    #[test]
    fn uct_matches_hand_computed_values() {
        let t = tree(HAND);
        let stats = Stats::new(&t, 2);
        let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-6, "{a} != {b}");
        assert_eq!(stats.root_visits(), 4);
        assert_eq!((stats.visits(NodeId(0)), stats.visits(NodeId(1))), (3, 1));
        close(stats.q(NodeId(0)), 1.25 / 3.0);
        close(stats.q(NodeId(1)), 0.3);
        // 5/12 + 0.25 * sqrt(ln 4 / 3) and 0.3 + 0.25 * sqrt(ln 4 / 1).
        close(uct(stats.q(NodeId(0)), 4, 3, 0.25), 0.586_611_2);
        close(uct(stats.q(NodeId(1)), 4, 1, 0.25), 0.594_352_5);
        // With less exploration node 0 wins, then its child 2: 1 + 0.1 * sqrt(ln 3).
        close(uct(stats.q(NodeId(0)), 4, 3, 0.1), 0.484_644_5);
        close(uct(stats.q(NodeId(1)), 4, 1, 0.1), 0.417_741_0);
        close(uct(stats.q(NodeId(2)), 3, 1, 0.1), 1.104_814_7);
        close(uct(stats.q(NodeId(3)), 3, 1, 0.1), 0.354_814_7);
        assert_eq!(uct(0.0, 4, 0, 0.25), f64::INFINITY);

        assert_eq!(decide(&mcts(0.25, 2, 20), &t, 0), "Improve(1)");
        assert_eq!(decide(&mcts(0.1, 2, 20), &t, 0), "Improve(2)");
        // Lower is better: node 0's subtree averages (1 + 0 + 0.75) / 3 against node 1's 0.7.
        let t = tree_lower(HAND);
        let stats = Stats::new(&t, 2);
        close(stats.q(NodeId(0)), 1.75 / 3.0);
        close(stats.q(NodeId(1)), 0.7);
        assert_eq!(decide(&mcts(0.1, 2, 20), &t, 0), "Improve(1)");
    }

    #[test]
    fn visits_count_ok_nodes_only_and_reach_through_debug_chains() {
        // 1 buggy draft fixed by 3; 2 pending; 4 buggy leaf; 5 an ok child of the fix.
        let t = tree("D:0.2 D:b I0:p B1:0.6 I0:b I3:1.0");
        let stats = Stats::new(&t, 5);
        let visits: Vec<u32> = (0..6).map(|i| stats.visits(NodeId(i))).collect();
        assert_eq!(visits, [1, 2, 0, 2, 0, 1]);
        assert_eq!(stats.root_visits(), 3);
        // Normalised over [0.2, 1.0]: node 3 is 0.5, node 5 is 1.
        assert!((stats.q(NodeId(1)) - 0.75).abs() < 1e-12);
    }
}
