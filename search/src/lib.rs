//! randori's search policies (Greedy/AIDE, MCTS, Evolutionary) as pure code: given the stored
//! tree of a run, its seed and the step, which operator to apply to which node next.
//!
//! Invariants:
//! - No I/O, no clock, no async runtime, no global RNG. A decision is a pure function of the
//!   tree, the policy's settings and `Rng::for_step(run_seed, step)`; policies keep no state
//!   between calls, so a resumed run makes the same decisions as an uninterrupted one
//!   (`tests/replay.rs` kills and resumes simulated runs to check it).
//! - `Decision::Wait` is only returned while some node is pending, so a driver that waits for
//!   an evaluation to finish never deadlocks.
//! - `Decision::Finish` is only returned when no node is pending and no buggy leaf is left to
//!   debug, so a run that stops on it leaves nothing half done.
//! - Every `Action` a policy returns, appended as a pending node, gives a tree `Tree::new`
//!   accepts.
//!
//! Read `tree.rs` first (the data model and its rules), then one policy file.

mod config;
mod error;
mod evolutionary;
mod greedy;
mod mcts;
mod rng;
#[cfg(test)]
mod testkit;
mod tree;

use std::fmt;

pub use config::{PolicyConfig, PolicySettings};
pub use error::SearchError;
pub use evolutionary::EvolutionaryConfig;
pub use greedy::GreedyConfig;
pub use mcts::{DeadBranches, MctsConfig};
pub use rng::Rng;
pub use tree::{Node, NodeId, NodeState, Operator, Tree};

/// Apply `operator` to `parents` (empty for Draft, two for Crossover).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub operator: Operator,
    pub parents: Vec<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Act(Action),
    /// Nothing sensible to do until a pending node is evaluated (an MCTS subtree still being
    /// evaluated, an incomplete evolutionary generation).
    Wait,
    /// The policy's own budget is spent (Evolutionary after `num_generations`): the run is
    /// over whatever budget the driver has left.
    Finish,
}

impl Decision {
    pub(crate) fn act(operator: Operator, parents: Vec<NodeId>) -> Decision {
        Decision::Act(Action { operator, parents })
    }
}

/// `Draft`, `Improve(3)`, `Crossover(0, 2)`, `Wait`, `Finish`: for logs, traces and tests.
impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self {
            Decision::Act(action) => action,
            Decision::Wait => return f.write_str("Wait"),
            Decision::Finish => return f.write_str("Finish"),
        };
        write!(f, "{:?}", action.operator)?;
        if let Some((first, rest)) = action.parents.split_first() {
            write!(f, "({first}")?;
            for parent in rest {
                write!(f, ", {parent}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

pub trait Policy {
    fn decide(&self, tree: &Tree, rng: &mut Rng) -> Decision;
}

/// The decision for the next node, with the step fixed to the id that node will get
/// (`tree.len()`): the one convention drivers and resumes share.
pub fn next_decision(policy: &dyn Policy, tree: &Tree, run_seed: u64) -> Decision {
    let mut rng = Rng::for_step(run_seed, tree.len() as u64);
    policy.decide(tree, &mut rng)
}

/// The node a run submits: the best validation score among ok nodes (an ok node has a valid
/// submission by definition), the earliest among equals.
pub fn select_final(tree: &Tree) -> Option<NodeId> {
    tree.best()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{tree, tree_lower};

    #[test]
    fn decisions_print_compactly() {
        let cases = [
            (Decision::act(Operator::Draft, vec![]), "Draft"),
            (
                Decision::act(Operator::Improve, vec![NodeId(3)]),
                "Improve(3)",
            ),
            (Decision::act(Operator::Debug, vec![NodeId(1)]), "Debug(1)"),
            (
                Decision::act(Operator::Crossover, vec![NodeId(0), NodeId(2)]),
                "Crossover(0, 2)",
            ),
            (Decision::Wait, "Wait"),
            (Decision::Finish, "Finish"),
        ];
        for (decision, expect) in cases {
            assert_eq!(decision.to_string(), expect);
        }
    }

    #[test]
    fn final_selection_is_the_best_ok_node() {
        assert_eq!(
            select_final(&tree("D:0.5 D:b I0:0.8 I0:0.8 D:p")),
            Some(NodeId(2))
        );
        assert_eq!(
            select_final(&tree_lower("D:0.5 D:b I0:0.2 I0:0.8")),
            Some(NodeId(2))
        );
        assert_eq!(select_final(&tree("D:b D:p")), None);
    }

    #[test]
    fn next_decision_uses_the_next_id_as_step() {
        let policy = GreedyConfig {
            num_drafts: 0,
            ..GreedyConfig::default()
        };
        // Two buggy leaves: which one is debugged depends on the RNG, i.e. on the step.
        let t = tree("D:b D:b");
        for seed in 0..20 {
            let mut rng = Rng::for_step(seed, 2);
            assert_eq!(
                next_decision(&policy, &t, seed),
                policy.decide(&t, &mut rng)
            );
        }
    }
}
