//! The search graph of one run as the policies see it, rebuilt by the caller from the stored
//! nodes before each decision.
//!
//! `Tree::new` checks the rules every policy relies on, so the policies never meet a malformed
//! graph: ids are positions in creation order, parents precede their child, the parent count
//! matches the operator, Debug fixes a buggy node while Improve and Crossover start from ok
//! ones, and exactly the ok nodes carry a (finite) validation score.

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

    /// The state every parent must be in: Debug repairs a failure, the others build on success.
    fn parent_state(self) -> NodeState {
        match self {
            Operator::Debug => NodeState::Buggy,
            Operator::Draft | Operator::Improve | Operator::Crossover => NodeState::Ok,
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
        scores.into_iter().fold(None, |range, score| {
            let (min, max) = range.map_or((score, score), |r: ScoreRange| {
                (r.min.min(score), r.max.max(score))
            });
            Some(ScoreRange {
                min,
                max,
                lower_is_better,
            })
        })
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
    range: Option<ScoreRange>,
}

impl Tree {
    /// Checks the graph's rules (see the module doc) and indexes children and debug depths.
    pub fn new(nodes: Vec<Node>, lower_is_better: bool) -> Result<Tree, SearchError> {
        for (index, node) in nodes.iter().enumerate() {
            check_node(&nodes, index, node)?;
        }
        let mut children = vec![Vec::new(); nodes.len()];
        let mut debug_depth = vec![0; nodes.len()];
        for node in &nodes {
            for parent in &node.parents {
                children[parent.index()].push(node.id);
            }
            if node.operator == Operator::Debug {
                debug_depth[node.id.index()] = debug_depth[node.parents[0].index()] + 1;
            }
        }
        let range = ScoreRange::of(nodes.iter().filter_map(|n| n.val_score), lower_is_better);
        Ok(Tree {
            nodes,
            lower_is_better,
            children,
            debug_depth,
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

    /// The length of the chain of Debug operators ending at `id` (0 unless `id` is a Debug).
    pub fn debug_depth(&self, id: NodeId) -> u32 {
        self.debug_depth[id.index()]
    }

    /// How many nodes the operator made, pending ones included.
    pub fn count(&self, operator: Operator) -> usize {
        self.nodes.iter().filter(|n| n.operator == operator).count()
    }

    pub fn has_pending(&self) -> bool {
        self.nodes.iter().any(|n| n.state == NodeState::Pending)
    }

    /// Buggy leaves (no children at all, pending ones included, so a node is never debugged
    /// twice at once) whose debug chain is shorter than `max_debug_depth`, in creation order.
    pub fn debuggable(&self, max_debug_depth: u32) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes
            .iter()
            .filter(move |n| {
                n.state == NodeState::Buggy
                    && self.children(n.id).is_empty()
                    && self.debug_depth(n.id) < max_debug_depth
            })
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
    fn is_better(&self, a: f64, b: f64) -> bool {
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
        let expected = node.operator.parent_state();
        let found = nodes[parent.index()].state;
        if found != expected {
            return Err(SearchError::ParentState {
                node: id,
                operator: node.operator,
                parent,
                found,
                expected,
            });
        }
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
            "D:b I0:p",
            "node 1 (Improve) has parent 0 in state Buggy, expected Ok",
        );
        check_error(
            "D:p D:1 X1,0:p",
            "node 2 (Crossover) has parent 0 in state Pending, expected Ok",
        );
        check_error("D:NaN", "node 0 is ok but has no finite validation score");
        check_error("D:inf", "node 0 is ok but has no finite validation score");
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
    fn debuggable_leaves() {
        // 1 has a pending child; 2 is at depth 2; 3 is a buggy leaf at depth 0; 4 is ok.
        let t = tree("D:b B0:b B1:b D:b D:1 B0:p");
        let got = |max| t.debuggable(max).map(|id| id.0).collect::<Vec<_>>();
        assert_eq!(got(3), [2, 3]);
        assert_eq!(got(2), [3]);
        assert_eq!(got(0), [] as [u32; 0]);
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
