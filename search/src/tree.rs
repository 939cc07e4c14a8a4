//! The search graph of one run as the policies see it, rebuilt by the caller from the stored
//! nodes before each decision.
//!
//! `Tree::new` checks the rules every policy relies on, so the policies never meet a malformed
//! graph:
//! 1. Ids are positions in creation order and parents precede their child.
//! 2. The parent count matches the operator (`Operator::arity`), with no parent named twice.
//! 3. Nobody builds on a pending node: Debug fixes a buggy node, Crossover starts from ok ones,
//!    and Improve from an ok node or a buggy one (MCTS improves the dead end its descent ends
//!    on, as AIRA-dojo does).
//! 4. Exactly the ok nodes carry a (finite) validation score.
//! 5. Every node's `exec_seconds` is finite and not negative.

use std::fmt;

use crate::SearchError;

/// A node's position in the tree, which is also its rank in creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Draft,
    Improve,
    Debug,
    Crossover,
}

impl Operator {
    /// How many parents a node made by this operator has.
    pub fn arity(self) -> usize {
        match self {
            Operator::Draft => 0,
            Operator::Improve | Operator::Debug => 1,
            Operator::Crossover => 2,
        }
    }

    /// The states a parent may be in: Debug repairs a failure, Crossover builds on successes,
    /// Improve on a success or on a dead end (module doc, rule 3).
    fn parent_states(self) -> &'static [NodeState] {
        match self {
            Operator::Debug => &[NodeState::Buggy],
            Operator::Improve => &[NodeState::Ok, NodeState::Buggy],
            Operator::Draft | Operator::Crossover => &[NodeState::Ok],
        }
    }
}

/// Pending: created, not yet evaluated (several may be in flight). Ok and Buggy are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeState {
    Pending,
    Ok,
    Buggy,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: NodeId,
    /// None for Draft, one for Improve and Debug, two distinct ones for Crossover.
    pub parents: Vec<NodeId>,
    pub operator: Operator,
    pub state: NodeState,
    /// The validation score; present exactly when the node is ok.
    pub val_score: Option<f64>,
    /// The wall time of the node's program in seconds; 0 while pending or when unknown.
    pub exec_seconds: f64,
}

/// Min-max normalisation of validation scores onto [0, 1] with 1 the best.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoreRange {
    min: f64,
    max: f64,
    lower_is_better: bool,
}

impl ScoreRange {
    /// The range of `scores`; `None` when there are none.
    pub(crate) fn of(scores: impl IntoIterator<Item = f64>, lower_is_better: bool) -> Option<Self> {
        let mut range = None;
        for score in scores {
            ScoreRange::include(&mut range, score, lower_is_better);
        }
        range
    }

    /// Widens `range` to cover `score`, starting it when there is none yet.
    pub(crate) fn include(range: &mut Option<ScoreRange>, score: f64, lower_is_better: bool) {
        let (min, max) = range.map_or((score, score), |r| (r.min.min(score), r.max.max(score)));
        *range = Some(ScoreRange {
            min,
            max,
            lower_is_better,
        });
    }

    /// Where `score` lies in the range, 1 at the best end. When every score is equal they are
    /// all the best, so all get 1.
    pub(crate) fn normalise(&self, score: f64) -> f64 {
        if self.max == self.min {
            return 1.0;
        }
        let from_min = (score - self.min) / (self.max - self.min);
        if self.lower_is_better {
            1.0 - from_min
        } else {
            from_min
        }
    }
}

#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
    lower_is_better: bool,
    children: Vec<Vec<NodeId>>,
    debug_depth: Vec<u32>,
    aira_debug_depth: Vec<u32>,
    debug_chain_seconds: Vec<f64>,
    range: Option<ScoreRange>,
}

impl Tree {
    /// Checks the graph's rules (see the module doc) and indexes children, debug depths and
    /// debug chain times.
    pub fn new(nodes: Vec<Node>, lower_is_better: bool) -> Result<Tree, SearchError> {
        for (index, node) in nodes.iter().enumerate() {
            check_node(&nodes, index, node)?;
        }
        let len = nodes.len();
        let mut children = vec![Vec::new(); len];
        let mut debug_depth = vec![0; len];
        // A draft's parent is AIRA-dojo's virtual root: buggy, at depth 0.
        let mut aira_debug_depth = vec![1; len];
        let mut debug_chain_seconds = vec![0.0; len];
        for node in &nodes {
            let i = node.id.index();
            for parent in &node.parents {
                children[parent.index()].push(node.id);
            }
            debug_chain_seconds[i] = node.exec_seconds;
            if let Some(first) = node.parents.first() {
                let p = first.index();
                aira_debug_depth[i] = if nodes[p].state == NodeState::Buggy {
                    aira_debug_depth[p] + 1
                } else {
                    0
                };
                if node.operator == Operator::Debug {
                    debug_depth[i] = debug_depth[p] + 1;
                    debug_chain_seconds[i] += debug_chain_seconds[p];
                }
            }
        }
        let range = ScoreRange::of(nodes.iter().filter_map(|n| n.val_score), lower_is_better);
        Ok(Tree {
            nodes,
            lower_is_better,
            children,
            debug_depth,
            aira_debug_depth,
            debug_chain_seconds,
            range,
        })
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with this id; ids come from this tree, so an unknown one is a caller bug.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn lower_is_better(&self) -> bool {
        self.lower_is_better
    }

    /// Every node naming `id` as a parent (pending ones included), in creation order.
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        &self.children[id.index()]
    }

    /// The length of the chain of Debug operators ending at `id` (0 unless `id` is a Debug):
    /// the debug attempts made so far on the failure the chain started from.
    pub fn debug_depth(&self, id: NodeId) -> u32 {
        self.debug_depth[id.index()]
    }

    /// AIRA-dojo's debug depth, which hangs every draft off a buggy virtual root at depth 0:
    /// the first parent's depth + 1 when that parent is buggy (the root for a draft), else 0.
    /// A draft is at 1 and a Debug of it at 2, a Debug of a buggy Improve at 1, an Improve of
    /// an ok node at 0, an Improve of a buggy node one deeper than its parent.
    pub fn aira_debug_depth(&self, id: NodeId) -> u32 {
        self.aira_debug_depth[id.index()]
    }

    /// The summed `exec_seconds` of the debug chain ending at `id`: from its head (the
    /// non-Debug node reached by following Debug parents) through `id`.
    pub fn debug_chain_seconds(&self, id: NodeId) -> f64 {
        self.debug_chain_seconds[id.index()]
    }

    /// How many nodes the operator made, pending ones included.
    pub fn count(&self, operator: Operator) -> usize {
        self.nodes.iter().filter(|n| n.operator == operator).count()
    }

    pub fn has_pending(&self) -> bool {
        self.nodes.iter().any(|n| n.state == NodeState::Pending)
    }

    /// Buggy leaves (no children at all, pending ones included, so a node is never debugged
    /// twice at once) in creation order: the candidates for Debug, which each policy filters
    /// by its own depth and time limits.
    pub fn buggy_leaves(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes
            .iter()
            .filter(|n| n.state == NodeState::Buggy && self.children(n.id).is_empty())
            .map(|n| n.id)
    }

    /// The ok node with the best validation score; the earliest among equals.
    pub fn best(&self) -> Option<NodeId> {
        let mut best: Option<(NodeId, f64)> = None;
        for node in &self.nodes {
            if let Some(score) = node.val_score
                && best.is_none_or(|(_, top)| self.is_better(score, top))
            {
                best = Some((node.id, score));
            }
        }
        best.map(|(id, _)| id)
    }

    /// The node's score min-max normalised over all ok nodes, 1 = best; `None` unless ok.
    pub fn normalised(&self, id: NodeId) -> Option<f64> {
        let score = self.node(id).val_score?;
        self.range.map(|range| range.normalise(score))
    }

    /// Whether score `a` is strictly better than `b` in this task's direction.
    pub(crate) fn is_better(&self, a: f64, b: f64) -> bool {
        if self.lower_is_better { a < b } else { a > b }
    }
}

fn check_node(nodes: &[Node], index: usize, node: &Node) -> Result<(), SearchError> {
    let id = node.id;
    if id.index() != index {
        return Err(SearchError::NodeIdMismatch { index, id });
    }
    let expected = node.operator.arity();
    if node.parents.len() != expected {
        return Err(SearchError::WrongArity {
            node: id,
            operator: node.operator,
            expected,
            found: node.parents.len(),
        });
    }
    for (position, &parent) in node.parents.iter().enumerate() {
        if parent >= id {
            return Err(SearchError::ParentNotEarlier { node: id, parent });
        }
        if node.parents[..position].contains(&parent) {
            return Err(SearchError::RepeatedParent { node: id, parent });
        }
        let expected = node.operator.parent_states();
        let found = nodes[parent.index()].state;
        if !expected.contains(&found) {
            return Err(SearchError::ParentState {
                node: id,
                operator: node.operator,
                parent,
                found,
                expected,
            });
        }
    }
    if !(node.exec_seconds.is_finite() && node.exec_seconds >= 0.0) {
        return Err(SearchError::InvalidExecSeconds {
            node: id,
            seconds: node.exec_seconds,
        });
    }
    match (node.state, node.val_score) {
        (NodeState::Ok, Some(score)) if score.is_finite() => Ok(()),
        (NodeState::Ok, _) => Err(SearchError::MissingScore { node: id }),
        (state, Some(_)) => Err(SearchError::UnexpectedScore { node: id, state }),
        (_, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{nodes, tree, tree_lower};

    fn check_error(spec: &str, expect: &str) {
        let err = Tree::new(nodes(spec), false).expect_err(spec);
        assert_eq!(err.to_string(), expect, "{spec}");
    }

    #[test]
    fn malformed_trees_are_refused() {
        check_error(
            "D:1 I5:p",
            "node 1 names parent 5, which is not an earlier node",
        );
        check_error(
            "D:1 I1:p",
            "node 1 names parent 1, which is not an earlier node",
        );
        check_error("D0:1", "node 0 (Draft) has 1 parents, expected 0");
        check_error("I:1", "node 0 (Improve) has 0 parents, expected 1");
        check_error("D:1 X0:p", "node 1 (Crossover) has 1 parents, expected 2");
        check_error("D:1 X0,0:p", "node 1 names parent 0 twice");
        check_error(
            "D:1 B0:p",
            "node 1 (Debug) has parent 0 in state Ok, expected Buggy",
        );
        check_error(
            "D:p I0:p",
            "node 1 (Improve) has parent 0 in state Pending, expected Ok or Buggy",
        );
        check_error(
            "D:1 D:b X0,1:p",
            "node 2 (Crossover) has parent 1 in state Buggy, expected Ok",
        );
        check_error(
            "D:p D:1 X1,0:p",
            "node 2 (Crossover) has parent 0 in state Pending, expected Ok",
        );
        check_error("D:NaN", "node 0 is ok but has no finite validation score");
        check_error("D:inf", "node 0 is ok but has no finite validation score");
        check_error(
            "D:b@-1",
            "node 0 has exec_seconds -1, expected a finite number, 0 or more",
        );
        check_error(
            "D:1@NaN",
            "node 0 has exec_seconds NaN, expected a finite number, 0 or more",
        );
        check_error(
            "D:1@inf",
            "node 0 has exec_seconds inf, expected a finite number, 0 or more",
        );
    }

    #[test]
    fn improve_may_start_from_an_ok_or_a_buggy_node() {
        // MCTS improves the dead end its descent ends on (mcts.rs).
        let t = tree("D:1 I0:p D:b I2:b I3:0.5");
        assert_eq!(t.children(NodeId(2)), [NodeId(3)]);
        assert_eq!(t.children(NodeId(3)), [NodeId(4)]);
    }

    #[test]
    fn ids_must_be_positions_and_scores_only_on_ok_nodes() {
        let mut swapped = nodes("D:1 D:2");
        swapped.swap(0, 1);
        assert_eq!(
            Tree::new(swapped, false).unwrap_err().to_string(),
            "node at position 0 has id 1: ids must be positions in creation order"
        );
        let mut scored_bug = nodes("D:b");
        scored_bug[0].val_score = Some(0.5);
        assert_eq!(
            Tree::new(scored_bug, false).unwrap_err(),
            SearchError::UnexpectedScore {
                node: NodeId(0),
                state: NodeState::Buggy
            }
        );
        let mut unscored_ok = nodes("D:p");
        unscored_ok[0].state = NodeState::Ok;
        assert_eq!(
            Tree::new(unscored_ok, false).unwrap_err(),
            SearchError::MissingScore { node: NodeId(0) }
        );
    }

    #[test]
    fn children_include_pending_and_crossover_children() {
        let t = tree("D:1 D:2 I0:p X1,0:p D:p");
        let ids = |v: &[u32]| v.iter().map(|&i| NodeId(i)).collect::<Vec<_>>();
        assert_eq!(t.children(NodeId(0)), ids(&[2, 3]).as_slice());
        assert_eq!(t.children(NodeId(1)), ids(&[3]).as_slice());
        assert!(t.children(NodeId(4)).is_empty());
    }

    #[test]
    fn debug_depth_counts_the_debug_chain() {
        let t = tree("D:b B0:b B1:b B2:1 I3:b B4:p");
        let depths: Vec<u32> = (0..6).map(|i| t.debug_depth(NodeId(i))).collect();
        assert_eq!(depths, [0, 1, 2, 3, 0, 1]);
    }

    #[test]
    fn aira_debug_depth_hangs_drafts_off_a_buggy_root() {
        let cases = [
            // A draft is at 1, each Debug below it one deeper; an ok node resets to 0.
            ("D:b B0:b B1:1 I2:b B3:b", vec![1, 2, 3, 0, 1]),
            // An Improve of an ok node is at 0; of a buggy dead end, one below its parent.
            ("D:1 I0:b I1:b B2:p", vec![1, 0, 1, 2]),
            ("D:b I0:b B1:b", vec![1, 2, 3]),
            ("D:1 D:2 X0,1:b B2:b", vec![1, 1, 0, 1]),
        ];
        for (spec, expect) in cases {
            let t = tree(spec);
            let got: Vec<u32> = (0..t.len())
                .map(|i| t.aira_debug_depth(NodeId(i as u32)))
                .collect();
            assert_eq!(got, expect, "{spec}");
        }
    }

    #[test]
    fn debug_chain_seconds_sum_from_the_chain_head() {
        let cases = [
            // The draft heads the chain: 30 + 20 + 5.
            ("D:b@30 B0:b@20 B1:b@5", vec![30.0, 50.0, 55.0]),
            // The Improve heads a new chain: its buggy parent's time is not counted.
            ("D:1@7 I0:b@10 I1:b@4 B2:b@2", vec![7.0, 10.0, 4.0, 6.0]),
            ("D:b@3 B0:p", vec![3.0, 3.0]),
        ];
        for (spec, expect) in cases {
            let t = tree(spec);
            let got: Vec<f64> = (0..t.len())
                .map(|i| t.debug_chain_seconds(NodeId(i as u32)))
                .collect();
            assert_eq!(got, expect, "{spec}");
        }
    }

    #[test]
    fn buggy_leaves_have_no_children_at_all() {
        // 0, 1 and 6 have children (5 and 7 pending); 2 and 3 are buggy leaves; 4 is ok.
        let t = tree("D:b B0:b B1:b D:b D:1 B0:p D:b I6:p");
        let got: Vec<u32> = t.buggy_leaves().map(|id| id.0).collect();
        assert_eq!(got, [2, 3]);
    }

    #[test]
    fn best_honours_direction_and_prefers_the_earliest() {
        assert_eq!(tree("D:0.3 D:0.9 D:b D:0.9 D:p").best(), Some(NodeId(1)));
        assert_eq!(tree_lower("D:0.3 D:0.9 D:0.3").best(), Some(NodeId(0)));
        assert_eq!(tree("D:b D:p").best(), None);
        assert_eq!(tree("").best(), None);
    }

    #[test]
    fn normalised_scores() {
        let t = tree("D:2 D:4 D:3 D:b");
        let got: Vec<Option<f64>> = (0..4).map(|i| t.normalised(NodeId(i))).collect();
        assert_eq!(got, [Some(0.0), Some(1.0), Some(0.5), None]);
        let t = tree_lower("D:2 D:4 D:3");
        let got: Vec<Option<f64>> = (0..3).map(|i| t.normalised(NodeId(i))).collect();
        assert_eq!(got, [Some(1.0), Some(0.0), Some(0.5)]);
        assert_eq!(tree("D:7 D:7").normalised(NodeId(1)), Some(1.0));
    }
}
