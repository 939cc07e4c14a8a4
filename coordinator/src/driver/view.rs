//! What a run's policy sees at each step: a pure function of the stored nodes, so that a
//! resumed run makes exactly the decisions an uninterrupted one makes, however the
//! evaluations of its parallel nodes interleave in time.
//!
//! Step `k` (the id of the node about to be created) sees the results of every node up to its
//! *horizon* and shows later ones as pending, whether or not they have finished. The horizon
//! starts at `k - parallelism` (so `parallelism` nodes are in flight: the new one and the
//! `parallelism - 1` before it) and never hides a parent of an existing node. When the policy
//! answers Wait, the horizon moves one step further. The driver waits until every node up to
//! the horizon has been evaluated before asking.

use randori_search::{Node, NodeId, NodeState, Operator, Tree};

/// A stored node of a run, as the view needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredNode {
    pub step: u32,
    pub operator: Operator,
    pub parents: Vec<u32>,
    pub state: NodeState,
    pub val_score: Option<f64>,
    /// How long its program ran (0 before it did): Evolutionary and MCTS bound a debug chain
    /// by its summed execution time.
    pub exec_seconds: f64,
}

/// The smallest horizon for deciding step `nodes.len()`, before any Wait.
pub fn initial_horizon(nodes: &[StoredNode], parallelism: u32) -> Option<u32> {
    let k = nodes.len() as i64;
    let by_parallelism = k - i64::from(parallelism);
    let by_parents = nodes
        .iter()
        .flat_map(|n| n.parents.iter().map(|&p| i64::from(p)))
        .max()
        .unwrap_or(-1);
    let h = by_parallelism.max(by_parents);
    (h >= 0).then_some(h as u32)
}

/// Whether every node up to `horizon` has been evaluated (the driver waits until it has).
pub fn evaluated_through(nodes: &[StoredNode], horizon: Option<u32>) -> bool {
    horizon.is_none_or(|h| {
        nodes
            .iter()
            .take(h as usize + 1)
            .all(|n| n.state != NodeState::Pending)
    })
}

/// The tree the policy decides on: nodes after `horizon` shown as pending.
pub fn tree_at(
    nodes: &[StoredNode],
    horizon: Option<u32>,
    lower_is_better: bool,
) -> Result<Tree, randori_search::SearchError> {
    let visible = |step: u32| horizon.is_some_and(|h| step <= h);
    let view = nodes
        .iter()
        .map(|n| {
            let shown = visible(n.step);
            Node {
                id: NodeId(n.step),
                parents: n.parents.iter().map(|&p| NodeId(p)).collect(),
                operator: n.operator,
                state: if shown { n.state } else { NodeState::Pending },
                val_score: if shown { n.val_score } else { None },
                exec_seconds: if shown { n.exec_seconds } else { 0.0 },
            }
        })
        .collect();
    Tree::new(view, lower_is_better)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(step: u32, op: Operator, parents: &[u32], state: NodeState) -> StoredNode {
        StoredNode {
            step,
            operator: op,
            parents: parents.to_vec(),
            state,
            val_score: (state == NodeState::Ok).then_some(0.5 + f64::from(step) / 100.0),
            exec_seconds: 0.0,
        }
    }

    #[test]
    fn the_horizon_keeps_parallelism_nodes_in_flight_and_never_hides_a_parent() {
        use NodeState::*;
        use Operator::*;
        let d = |s, st| node(s, Draft, &[], st);
        let cases: Vec<(Vec<StoredNode>, u32, Option<u32>)> = vec![
            (vec![], 3, None),
            (vec![d(0, Ok), d(1, Pending)], 3, None),
            (vec![d(0, Ok), d(1, Ok), d(2, Ok)], 3, Some(0)),
            (vec![d(0, Ok), d(1, Ok), d(2, Ok)], 1, Some(2)),
            // Node 3 improves node 2, so node 2 stays visible at step 4 with parallelism 3.
            (
                vec![
                    d(0, Ok),
                    d(1, Ok),
                    d(2, Ok),
                    node(3, Improve, &[2], Pending),
                ],
                3,
                Some(2),
            ),
        ];
        for (nodes, p, want) in cases {
            assert_eq!(initial_horizon(&nodes, p), want, "{nodes:?} p={p}");
        }
    }

    #[test]
    fn later_results_are_hidden_until_the_horizon_reaches_them() {
        let nodes = vec![
            node(0, Operator::Draft, &[], NodeState::Ok),
            node(1, Operator::Draft, &[], NodeState::Buggy),
            node(2, Operator::Draft, &[], NodeState::Ok),
        ];
        let t = tree_at(&nodes, Some(0), false).unwrap();
        assert_eq!(t.node(NodeId(0)).state, NodeState::Ok);
        assert_eq!(t.node(NodeId(1)).state, NodeState::Pending);
        assert_eq!(t.node(NodeId(2)).val_score, None);
        assert!(evaluated_through(&nodes, Some(2)));
        let mut running = nodes.clone();
        running[1].state = NodeState::Pending;
        assert!(evaluated_through(&running, Some(0)));
        assert!(!evaluated_through(&running, Some(1)));
    }
}
