//! A compact notation for hand-built trees, so each test case is one line.
//!
//! One whitespace-separated token per node, in id order: an operator letter (`D`raft,
//! `I`mprove, de`B`ug, `X` crossover), its parents separated by commas, a colon, and the state:
//! `p` pending, `b` buggy, or the validation score of an ok node; then optionally `@` and the
//! node's `exec_seconds` (0 without). `"D:0.5 D:b@30 B1:p X0,2:0.9"` is an ok draft, a buggy
//! draft that ran 30 s, a pending debug of node 1 and an ok crossover of 0 and 2.

use crate::{Decision, Node, NodeId, NodeState, Operator, Policy, Rng, Tree};

pub(crate) fn nodes(spec: &str) -> Vec<Node> {
    spec.split_whitespace()
        .enumerate()
        .map(|(index, token)| {
            let (head, tail) = token
                .split_once(':')
                .expect("token is OP[PARENTS]:STATE[@SECONDS]");
            let (state, exec_seconds) = match tail.split_once('@') {
                Some((state, seconds)) => (state, seconds.parse().expect("seconds")),
                None => (tail, 0.0),
            };
            let operator = match &head[..1] {
                "D" => Operator::Draft,
                "I" => Operator::Improve,
                "B" => Operator::Debug,
                "X" => Operator::Crossover,
                other => panic!("unknown operator letter {other}"),
            };
            let parents = head[1..]
                .split(',')
                .filter(|p| !p.is_empty())
                .map(|p| NodeId(p.parse().expect("parent id")))
                .collect();
            let (state, val_score) = match state {
                "p" => (NodeState::Pending, None),
                "b" => (NodeState::Buggy, None),
                score => (NodeState::Ok, Some(score.parse().expect("score"))),
            };
            Node {
                id: NodeId(index as u32),
                parents,
                operator,
                state,
                val_score,
                exec_seconds,
            }
        })
        .collect()
}

/// A tree where higher scores are better.
pub(crate) fn tree(spec: &str) -> Tree {
    Tree::new(nodes(spec), false).expect(spec)
}

/// A tree where lower scores are better.
pub(crate) fn tree_lower(spec: &str) -> Tree {
    Tree::new(nodes(spec), true).expect(spec)
}

/// The decision as text (`Draft`, `Improve(3)`, `Crossover(0, 2)`, `Wait`), for one-line
/// expectations.
pub(crate) fn decide(policy: &dyn Policy, tree: &Tree, step: u64) -> String {
    policy.decide(tree, &mut Rng::for_step(0, step)).to_string()
}

/// How often each decision text comes up over the first `steps` steps of run seed 0, the seed
/// `decide` uses too, so both see the same keyed draws (`Rng::keyed`).
pub(crate) fn tally(
    policy: &dyn Policy,
    tree: &Tree,
    steps: u64,
) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for step in 0..steps {
        let decision: Decision = policy.decide(tree, &mut Rng::for_step(0, step));
        *counts.entry(decision.to_string()).or_insert(0) += 1;
    }
    counts
}
