//! The one error type of this crate: a tree that breaks the search graph's rules, or a policy
//! name or setting a sweep file got wrong.

use crate::tree::{NodeId, NodeState, Operator};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SearchError {
    #[error("node at position {index} has id {id}: ids must be positions in creation order")]
    NodeIdMismatch { index: usize, id: NodeId },
    #[error("node {node} ({operator:?}) has {found} parents, expected {expected}")]
    WrongArity {
        node: NodeId,
        operator: Operator,
        expected: usize,
        found: usize,
    },
    #[error("node {node} names parent {parent}, which is not an earlier node")]
    ParentNotEarlier { node: NodeId, parent: NodeId },
    #[error("node {node} names parent {parent} twice")]
    RepeatedParent { node: NodeId, parent: NodeId },
    #[error(
        "node {node} ({operator:?}) has parent {parent} in state {found:?}, expected {}",
        one_of(.expected)
    )]
    ParentState {
        node: NodeId,
        operator: Operator,
        parent: NodeId,
        found: NodeState,
        /// The states the operator accepts.
        expected: &'static [NodeState],
    },
    #[error("node {node} is ok but has no finite validation score")]
    MissingScore { node: NodeId },
    #[error("node {node} is {state:?} but has a validation score; only ok nodes have one")]
    UnexpectedScore { node: NodeId, state: NodeState },
    #[error("node {node} has exec_seconds {seconds}, expected a finite number, 0 or more")]
    InvalidExecSeconds { node: NodeId, seconds: f64 },
    #[error("unknown search policy `{name}`: expected one of greedy, mcts, evolutionary")]
    UnknownPolicy { name: String },
    #[error("policy.{policy}.{key} {reason}")]
    InvalidSetting {
        policy: &'static str,
        key: &'static str,
        reason: &'static str,
    },
}

/// `Ok`, `Ok or Buggy`: the accepted states as the error message lists them.
fn one_of(states: &[NodeState]) -> String {
    let names: Vec<String> = states.iter().map(|s| format!("{s:?}")).collect();
    names.join(" or ")
}
