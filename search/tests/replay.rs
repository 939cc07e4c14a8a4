//! Whole simulated runs through the public API: the policy asks for an action, the node is
//! appended as pending, and a deterministic fake scorer evaluates pending nodes, up to
//! `PARALLELISM` of them in flight and finishing out of creation order. The driver keeps no
//! state but the stored nodes, like the coordinator: so a run killed anywhere and resumed
//! from its stored nodes must grow the very same tree.

use randori_search::{
    Decision, Node, NodeId, NodeState, PolicyConfig, PolicySettings, Rng, Tree, next_decision,
};

const BUDGET: usize = 60;
const PARALLELISM: usize = 3;

fn policy(name: &str) -> PolicyConfig {
    PolicySettings::default().policy(name).expect(name)
}

/// The fake evaluation of a node: a pure function of its id, operator and parents, buggy about
/// a third of the time, and scored better than its first parent more often than not.
fn evaluate(nodes: &[Node], id: NodeId) -> (NodeState, Option<f64>) {
    let node = &nodes[id.index()];
    let mut rng = Rng::for_step(0x5EED, u64::from(id.0));
    if rng.next_f64() < 0.35 {
        return (NodeState::Buggy, None);
    }
    let base = node
        .parents
        .iter()
        .filter_map(|p| nodes[p.index()].val_score)
        .fold(0.5, f64::max);
    (NodeState::Ok, Some(base + rng.next_f64() * 0.2 - 0.08))
}

/// One driver step on the stored nodes: create a node if the policy acts and a slot is free,
/// otherwise evaluate a pending node. Returns false once the run is over.
fn step(policy: &PolicyConfig, nodes: &mut Vec<Node>, seed: u64, lower_is_better: bool) -> bool {
    let tree = Tree::new(nodes.clone(), lower_is_better).expect("policies keep trees valid");
    let pending: Vec<NodeId> = nodes
        .iter()
        .filter(|n| n.state == NodeState::Pending)
        .map(|n| n.id)
        .collect();
    if nodes.len() < BUDGET && pending.len() < PARALLELISM {
        match next_decision(policy, &tree, seed) {
            Decision::Act(action) => {
                nodes.push(Node {
                    id: NodeId(nodes.len() as u32),
                    parents: action.parents,
                    operator: action.operator,
                    state: NodeState::Pending,
                    val_score: None,
                });
                return true;
            }
            Decision::Wait => assert!(!pending.is_empty(), "Wait with nothing in flight"),
        }
    }
    let Some(&first) = pending.first() else {
        return false;
    };
    // Finish out of creation order, still as a function of the stored nodes only.
    let id = pending.get(nodes.len() % 2).copied().unwrap_or(first);
    let (state, val_score) = evaluate(nodes, id);
    nodes[id.index()].state = state;
    nodes[id.index()].val_score = val_score;
    true
}

/// Runs from `nodes` until the run is over, or for at most `max_steps` driver steps.
fn grow(name: &str, mut nodes: Vec<Node>, seed: u64, lower: bool, max_steps: usize) -> Vec<Node> {
    let policy = policy(name);
    for _ in 0..max_steps {
        if !step(&policy, &mut nodes, seed, lower) {
            break;
        }
    }
    nodes
}

fn full_run(name: &str, seed: u64, lower: bool) -> Vec<Node> {
    grow(name, Vec::new(), seed, lower, usize::MAX)
}

const POLICIES: [&str; 3] = ["greedy", "mcts", "evolutionary"];

#[test]
fn runs_spend_the_budget_and_end_with_everything_evaluated() {
    for name in POLICIES {
        for lower in [false, true] {
            let nodes = full_run(name, 7, lower);
            assert_eq!(nodes.len(), BUDGET, "{name}");
            assert!(
                nodes.iter().all(|n| n.state != NodeState::Pending),
                "{name}"
            );
            let tree = Tree::new(nodes, lower).unwrap();
            assert!(randori_search::select_final(&tree).is_some(), "{name}");
        }
    }
}

#[test]
fn the_same_seed_grows_the_same_tree() {
    for name in POLICIES {
        for seed in [0, 1, 99] {
            assert_eq!(
                full_run(name, seed, false),
                full_run(name, seed, false),
                "{name}"
            );
        }
    }
}

#[test]
fn the_seed_matters_where_the_policy_draws() {
    for name in ["greedy", "evolutionary"] {
        assert_ne!(full_run(name, 1, false), full_run(name, 2, false), "{name}");
    }
}

#[test]
fn a_killed_and_resumed_run_grows_the_same_tree() {
    for name in POLICIES {
        let uninterrupted = full_run(name, 3, false);
        for kill_after in [1, 5, 17, 40, 73, 101] {
            // What the store held when the process died, read back in id order.
            let stored = grow(name, Vec::new(), 3, false, kill_after);
            let mut reloaded = stored.clone();
            reloaded.reverse();
            reloaded.sort_by_key(|n| n.id);
            let resumed = grow(name, reloaded, 3, false, usize::MAX);
            assert_eq!(
                resumed, uninterrupted,
                "{name} killed after {kill_after} steps"
            );
        }
    }
}

#[test]
fn every_policy_uses_each_operator_it_should() {
    use randori_search::Operator::{Crossover, Debug, Draft, Improve};
    let uses = |name: &str| {
        let nodes = full_run(name, 5, false);
        [Draft, Improve, Debug, Crossover].map(|op| nodes.iter().any(|n| n.operator == op))
    };
    assert_eq!(uses("greedy"), [true, true, true, false]);
    assert_eq!(uses("mcts"), [true, true, true, false]);
    assert_eq!(uses("evolutionary"), [true, true, true, true]);
}
