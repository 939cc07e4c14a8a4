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
//! - uct(v) = Q(v) + uct_c * sqrt(ln N(parent) / N(v)), and -1e8 when N(v) = 0 (AIRA-dojo's
//!   value): a branch without an ok node is entered only when no visited sibling is
//!   selectable (below).
//!
//! A buggy leaf *may be debugged* when `max_debug_depth >= 1` and either it is a chain head
//! (not made by Debug: the first attempt is unconditional) or it is a Debug node whose
//! `Tree::aira_debug_depth` is below `max_debug_depth` and, when `max_debug_time` is set,
//! whose `Tree::debug_chain_seconds` are below it. This is AIRA-dojo's debug cycle, which
//! stops after a still-buggy attempt at that depth or once the chain's run time (its head's
//! included) reaches the limit: a buggy Improve child gets `max_debug_depth` attempts, a buggy
//! draft (depth 1) one fewer but at least one. A *dead end* is a buggy node that may not be
//! debugged any more and has no Debug child.
//!
//! A node *may be expanded* (Improved) while it has fewer than `num_children` children (pending
//! ones count, so parallel expansions never overfill it) and it is ok, or, with
//! `dead_branches = "descend"`, a dead end: AIRA-dojo improves the buggy leaf its descent ends
//! on. The root may be expanded (Drafted) while it has fewer than `num_children` drafts. A node
//! is *selectable* when it may be expanded or has a selectable child: pending nodes are not,
//! nor is a node whose children are all pending or whose debug chain is still running.
//!
//! Each decision takes the first rule that applies:
//! 1. Debug the earliest buggy leaf that may be debugged: AIRA-dojo runs a buggy child's debug
//!    chain to its end before anything else.
//! 2. Draft while the root may be expanded. In `descend` mode that makes exactly
//!    `num_children` drafts, never more.
//! 3. Improve the earliest node that may be expanded and has at least one child: AIRA-dojo
//!    expands a selected leaf into `num_children` children in one step, so a started expansion
//!    is finished before a new selection (with several nodes in flight, its children are
//!    created side by side).
//! 4. Select: from the root, repeatedly move to the selectable child with the highest uct (the
//!    earliest among equals) and stop at the first node that may be expanded: Improve it.
//!    AIRA-dojo's descent to a leaf is rules 2 and 3 with this one: a node's missing children
//!    are created (and evaluated) before any of them is descended into.
//! 5. Nothing selectable: Wait while a node is pending (its evaluation may open a path), else
//!    Draft, a new branch under the root. In `descend` mode every leaf that is not pending is
//!    ok or a dead end (rule 1 takes the others), both selectable, so this Draft only happens
//!    in `skip` mode, when every branch is full or dead.
//!
//! `dead_branches = "skip"` (not in AIRA-dojo) never enters a subtree without an ok node:
//! dead ends may not be expanded, every selectable node then holds an ok node (N >= 1), and
//! once every branch is dead a new draft is made (rule 5).
//!
//! Where aira-dojo decides otherwise:
//! 1. It runs one node at a time. Here several may be in flight: a started expansion is
//!    finished first (rule 3), pending children fill a node, and a subtree whose open leaves
//!    are all pending is not selected (Wait when nothing else is).
//!
//! MCTS draws no random numbers; the RNG is unused.

use std::num::NonZeroU32;

use serde::Deserialize;

use crate::config::check_seconds;
use crate::{Decision, NodeId, NodeState, Operator, Policy, Rng, SearchError, Tree};

/// AIRA-dojo's uct for a child without visits: below any real uct, yet comparable, so the
/// earliest dead branch wins when only dead branches are left.
const UNVISITED_UCT: f64 = -1e8;

/// What the descent does with subtrees that hold no ok node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeadBranches {
    /// AIRA-dojo: enter them when nothing visited is selectable and improve the dead end the
    /// descent ends on.
    #[default]
    Descend,
    /// Never enter them; draft a new branch once every branch is dead.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MctsConfig {
    pub uct_c: f64,
    pub num_children: NonZeroU32,
    pub max_debug_depth: u32,
    /// Seconds; `None` leaves a debug chain's run time unbounded.
    pub max_debug_time: Option<f64>,
    pub dead_branches: DeadBranches,
}

impl Default for MctsConfig {
    fn default() -> Self {
        MctsConfig {
            uct_c: 0.25,
            num_children: NonZeroU32::new(5).expect("5 is not zero"),
            max_debug_depth: 20,
            // AIRA-dojo's mlebench config sets 1e9 seconds, i.e. no limit.
            max_debug_time: None,
            dead_branches: DeadBranches::Descend,
        }
    }
}

impl MctsConfig {
    pub fn validate(&self) -> Result<(), SearchError> {
        if !(self.uct_c.is_finite() && self.uct_c >= 0.0) {
            return Err(SearchError::InvalidSetting {
                policy: "mcts",
                key: "uct_c",
                reason: "must be a finite number, 0 or more",
            });
        }
        check_seconds("mcts", "max_debug_time", self.max_debug_time)
    }

    /// Whether the buggy node `id` may be debugged (module doc), leaving aside whether it is
    /// a leaf.
    fn may_debug(&self, tree: &Tree, id: NodeId) -> bool {
        if self.max_debug_depth == 0 {
            return false;
        }
        if tree.node(id).operator != Operator::Debug {
            return true;
        }
        tree.aira_debug_depth(id) < self.max_debug_depth
            && self
                .max_debug_time
                .is_none_or(|limit| tree.debug_chain_seconds(id) < limit)
    }
}

impl Policy for MctsConfig {
    fn decide(&self, tree: &Tree, _rng: &mut Rng) -> Decision {
        if let Some(leaf) = tree.buggy_leaves().find(|&id| self.may_debug(tree, id)) {
            return Decision::act(Operator::Debug, vec![leaf]);
        }
        let stats = Stats::new(tree, self);
        if stats.root_may_be_expanded() {
            return Decision::act(Operator::Draft, vec![]);
        }
        match stats.open_expansion().or_else(|| stats.select()) {
            Some(node) => Decision::act(Operator::Improve, vec![node]),
            None if tree.has_pending() => Decision::Wait,
            None => Decision::act(Operator::Draft, vec![]),
        }
    }
}

/// The UCT score of a child with mean value `q` and `visits`, under a parent with
/// `parent_visits`; `UNVISITED_UCT` for a child without visits.
fn uct(q: f64, parent_visits: u32, visits: u32, uct_c: f64) -> f64 {
    if visits == 0 {
        return UNVISITED_UCT;
    }
    q + uct_c * (f64::from(parent_visits).ln() / f64::from(visits)).sqrt()
}

/// Visits, values and selectability of every node, from one pass over the tree.
struct Stats<'t> {
    tree: &'t Tree,
    config: &'t MctsConfig,
    drafts: Vec<NodeId>,
    /// Children by first parent.
    kids: Vec<Vec<NodeId>>,
    visits: Vec<u32>,
    value: Vec<f64>,
    selectable: Vec<bool>,
}

impl<'t> Stats<'t> {
    fn new(tree: &'t Tree, config: &'t MctsConfig) -> Self {
        let len = tree.len();
        let mut stats = Stats {
            tree,
            config,
            drafts: Vec::new(),
            kids: vec![Vec::new(); len],
            visits: vec![0; len],
            value: vec![0.0; len],
            selectable: vec![false; len],
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
            stats.selectable[i] = stats.may_be_expanded(node.id)
                || stats.kids[i].iter().any(|k| stats.selectable[k.index()]);
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

    /// Q(v); NaN (0 / 0) without visits, which `uct` never reads.
    fn q(&self, id: NodeId) -> f64 {
        self.value[id.index()] / f64::from(self.visits(id))
    }

    fn root_visits(&self) -> u32 {
        self.drafts.iter().map(|&d| self.visits(d)).sum()
    }

    fn num_children(&self) -> usize {
        self.config.num_children.get() as usize
    }

    fn root_may_be_expanded(&self) -> bool {
        self.drafts.len() < self.num_children()
    }

    fn may_be_expanded(&self, id: NodeId) -> bool {
        let expandable = match self.tree.node(id).state {
            NodeState::Ok => true,
            NodeState::Buggy => {
                self.config.dead_branches == DeadBranches::Descend && self.is_dead_end(id)
            }
            NodeState::Pending => false,
        };
        expandable && self.kids[id.index()].len() < self.num_children()
    }

    fn is_dead_end(&self, id: NodeId) -> bool {
        !self.config.may_debug(self.tree, id)
            && self
                .tree
                .children(id)
                .iter()
                .all(|&child| self.tree.node(child).operator != Operator::Debug)
    }

    /// Rule 3 of the module doc: the earliest started expansion that is not finished.
    fn open_expansion(&self) -> Option<NodeId> {
        self.tree
            .nodes()
            .iter()
            .map(|n| n.id)
            .find(|&id| self.may_be_expanded(id) && !self.kids[id.index()].is_empty())
    }

    /// Rule 4 of the module doc: the UCT descent from the root.
    fn select(&self) -> Option<NodeId> {
        let mut candidates = &self.drafts;
        let mut parent_visits = self.root_visits();
        loop {
            let mut best: Option<(NodeId, f64)> = None;
            for &id in candidates.iter().filter(|id| self.selectable[id.index()]) {
                let score = uct(
                    self.q(id),
                    parent_visits,
                    self.visits(id),
                    self.config.uct_c,
                );
                if best.is_none_or(|(_, top)| score > top) {
                    best = Some((id, score));
                }
            }
            let (chosen, _) = best?;
            if self.may_be_expanded(chosen) {
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

    /// AIRA-dojo's behaviour (`descend`), without a debug time limit.
    fn mcts(uct_c: f64, num_children: u32, max_debug_depth: u32) -> MctsConfig {
        MctsConfig {
            uct_c,
            num_children: NonZeroU32::new(num_children).unwrap(),
            max_debug_depth,
            max_debug_time: None,
            dead_branches: DeadBranches::Descend,
        }
    }

    fn skip(config: MctsConfig) -> MctsConfig {
        MctsConfig {
            dead_branches: DeadBranches::Skip,
            ..config
        }
    }

    fn timed(config: MctsConfig, seconds: f64) -> MctsConfig {
        MctsConfig {
            max_debug_time: Some(seconds),
            ..config
        }
    }

    fn check(cases: &[(MctsConfig, &str, &str)]) {
        for (config, spec, expect) in cases {
            assert_eq!(decide(config, &tree(spec), 0), *expect, "{config:?} {spec}");
        }
    }

    /// Cases where `descend` and `skip` agree.
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
            // The draft's chain is over after max_debug_depth - 1 = 1 attempt; a visited
            // branch beats the dead one.
            (mcts(0.25, 2, 2), "D:0.5 D:b B1:b", "Improve(0)"),
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
            (mcts(0.25, 1, 0), "D:0.3 I0:p", "Wait"),
        ];
        check(&cases);
        check(&cases.map(|(config, spec, expect)| (skip(config), spec, expect)));
    }

    #[test]
    fn debug_attempts_follow_aira_dojos_debug_cycle() {
        check(&[
            // A buggy Improve child gets max_debug_depth = 2 attempts: nodes 2 and 3.
            (mcts(0.25, 1, 2), "D:0.5 I0:b", "Debug(1)"),
            (mcts(0.25, 1, 2), "D:0.5 I0:b B1:b", "Debug(2)"),
            (mcts(0.25, 1, 2), "D:0.5 I0:b B1:b B2:b", "Improve(3)"),
            // A buggy draft gets one fewer, but at least one.
            (mcts(0.25, 1, 2), "D:b B0:b", "Improve(1)"),
            (mcts(0.25, 1, 1), "D:b", "Debug(0)"),
            (mcts(0.25, 1, 1), "D:b B0:b", "Improve(1)"),
            (mcts(0.25, 1, 0), "D:b", "Improve(0)"),
            // The dead end's buggy Improve child starts a new chain: its first attempt is
            // unconditional even at depth 3; its second would be at depth 4.
            (mcts(0.25, 1, 2), "D:b B0:b I1:b", "Debug(2)"),
            (mcts(0.25, 1, 2), "D:b B0:b I1:b B2:b", "Improve(3)"),
            // The earliest buggy leaf that may be debugged.
            (mcts(0.25, 3, 2), "D:b B0:b D:b D:b", "Debug(2)"),
        ]);
    }

    #[test]
    fn debug_time_counts_the_whole_chain_from_its_head() {
        let limited = timed(mcts(0.25, 1, 20), 60.0);
        check(&[
            // The first attempt is unconditional, however long the head ran.
            (limited.clone(), "D:0.5 I0:b@100", "Debug(1)"),
            (limited.clone(), "D:0.5 I0:b@40 B1:b@19", "Debug(2)"),
            (limited.clone(), "D:0.5 I0:b@40 B1:b@20", "Improve(2)"),
            (limited.clone(), "D:0.5@1000 I0:b@1 B1:b@1", "Debug(2)"),
            (mcts(0.25, 1, 20), "D:0.5 I0:b@40 B1:b@20", "Debug(2)"),
            // The depth limit still applies.
            (
                timed(mcts(0.25, 1, 1), 60.0),
                "D:0.5 I0:b B1:b",
                "Improve(2)",
            ),
        ]);
    }

    #[test]
    fn descend_improves_dead_ends_and_skip_drafts_around_them() {
        let cases = [
            // Everything dead and nothing in flight: AIRA-dojo improves the earliest dead
            // end; skip starts a new branch under the root.
            (mcts(0.25, 2, 0), "D:b D:b", "Improve(0)", "Draft"),
            (mcts(0.25, 1, 0), "D:0.3 I0:b", "Improve(1)", "Draft"),
            (
                mcts(0.25, 1, 2),
                "D:0.5 I0:b B1:b B2:b",
                "Improve(3)",
                "Draft",
            ),
            // A dead branch is entered only when no visited sibling is selectable.
            (
                mcts(0.25, 2, 0),
                "D:0.5 D:b I0:p I0:p",
                "Improve(1)",
                "Wait",
            ),
            (
                mcts(0.25, 2, 0),
                "D:0.5 D:b I0:0.4 I0:p",
                "Improve(2)",
                "Improve(2)",
            ),
            // A started dead-end expansion is finished first.
            (mcts(0.25, 2, 0), "D:b D:b I0:p", "Improve(0)", "Wait"),
            (
                mcts(0.25, 2, 0),
                "D:0.9 D:b I1:b",
                "Improve(1)",
                "Improve(0)",
            ),
            // The expanded dead end is visited through its ok child.
            (mcts(0.25, 1, 0), "D:b I0:0.5", "Improve(1)", "Improve(1)"),
            (
                mcts(0.25, 2, 0),
                "D:b D:0.1 I0:0.9 I0:b",
                "Improve(2)",
                "Improve(2)",
            ),
        ];
        for (config, spec, descend, skipped) in cases {
            let t = tree(spec);
            assert_eq!(decide(&config, &t, 0), descend, "descend {spec}");
            assert_eq!(decide(&skip(config), &t, 0), skipped, "skip {spec}");
        }
    }

    /// Module doc, "where aira-dojo decides otherwise", 1.
    #[test]
    fn nodes_in_flight_fill_their_parent_and_make_mcts_wait() {
        check(&[
            (mcts(0.25, 2, 20), "D:0.1 D:0.9 I1:p", "Improve(1)"),
            (mcts(0.25, 2, 20), "D:0.9 D:0.1 I0:p I0:p", "Improve(1)"),
            (mcts(0.25, 2, 20), "D:0.9 D:p I0:p I0:p", "Wait"),
            (mcts(0.25, 2, 20), "D:0.9 D:b I0:p I0:p B1:p", "Wait"),
        ]);
    }

    /// Drafts 0 (score 0) and 1 (0.3); node 0 expanded into 2 (1.0) and 3 (0.25).
    const HAND: &str = "D:0 D:0.3 I0:1 I0:0.25";

    #[test]
    fn uct_matches_hand_computed_values() {
        let t = tree(HAND);
        let config = mcts(0.25, 2, 20);
        let stats = Stats::new(&t, &config);
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
        assert_eq!(uct(f64::NAN, 4, 0, 0.25), -1e8);

        assert_eq!(decide(&mcts(0.25, 2, 20), &t, 0), "Improve(1)");
        assert_eq!(decide(&mcts(0.1, 2, 20), &t, 0), "Improve(2)");
        // Lower is better: node 0's subtree averages (1 + 0 + 0.75) / 3 against node 1's 0.7.
        let t = tree_lower(HAND);
        let stats = Stats::new(&t, &config);
        close(stats.q(NodeId(0)), 1.75 / 3.0);
        close(stats.q(NodeId(1)), 0.7);
        assert_eq!(decide(&mcts(0.1, 2, 20), &t, 0), "Improve(1)");
    }

    #[test]
    fn visits_count_ok_nodes_only_and_reach_through_debug_chains() {
        // 1 buggy draft fixed by 3; 2 pending; 4 buggy leaf; 5 an ok child of the fix.
        let t = tree("D:0.2 D:b I0:p B1:0.6 I0:b I3:1.0");
        let config = mcts(0.25, 5, 20);
        let stats = Stats::new(&t, &config);
        let visits: Vec<u32> = (0..6).map(|i| stats.visits(NodeId(i))).collect();
        assert_eq!(visits, [1, 2, 0, 2, 0, 1]);
        assert_eq!(stats.root_visits(), 3);
        // Normalised over [0.2, 1.0]: node 3 is 0.5, node 5 is 1.
        assert!((stats.q(NodeId(1)) - 0.75).abs() < 1e-12);
    }
}
