//! Whole simulated runs through the public API: the policy asks for an action, the node is
//! appended as pending, and a deterministic fake scorer evaluates pending nodes, up to
//! `PARALLELISM` of them in flight and finishing out of creation order. A run ends when the
//! driver's budget of nodes is spent or the policy says `Finish`. The driver keeps no state but
//! the stored nodes, like the coordinator: so a run killed anywhere and resumed from its stored
//! nodes must grow the very same tree.

use std::num::NonZeroU32;

use randori_search::{
    DeadBranches, Decision, EvolutionaryConfig, MctsConfig, Node, NodeId, NodeState, PolicyConfig,
    PolicySettings, Rng, Tree, next_decision,
};

const BUDGET: usize = 60;
const PARALLELISM: usize = 3;

/// The policies under test: each default, plus the variants the defaults leave unexercised.
fn policy(name: &str) -> PolicyConfig {
    let mut settings = PolicySettings::default();
    let name = match name {
        // Short debug chains and single children, so that dead ends are common and often the
        // only way down.
        "mcts-shallow" | "mcts-shallow-skip" => {
            settings.mcts = MctsConfig {
                num_children: NonZeroU32::new(1).unwrap(),
                max_debug_depth: 1,
                max_debug_time: Some(3000.0),
                dead_branches: if name == "mcts-shallow" {
                    DeadBranches::Descend
                } else {
                    DeadBranches::Skip
                },
                ..MctsConfig::default()
            };
            "mcts"
        }
        // Few enough generations to finish within the budget, with islands that migrate, a
        // decaying temperature and a debug time limit that bites.
        "evolutionary-islands" => {
            let nonzero = |n| NonZeroU32::new(n).unwrap();
            settings.evolutionary = EvolutionaryConfig {
                individuals_per_generation: nonzero(4),
                num_islands: nonzero(3),
                num_generations: nonzero(8),
                num_generations_till_crossover: 1,
                migration_prob: 0.5,
                num_generations_till_migration: 1,
                initial_temp: 2.0,
                final_temp: 0.5,
                max_debug_depth: 3,
                max_debug_time: Some(5000.0),
                ..EvolutionaryConfig::default()
            };
            "evolutionary"
        }
        other => other,
    };
    settings.policy(name).expect(name)
}

/// The fake evaluation of a node: a pure function of its id, operator and parents, buggy about
/// a third of the time, scored better than its first parent more often than not, and running
/// for up to an hour.
fn evaluate(nodes: &[Node], id: NodeId) -> (NodeState, Option<f64>, f64) {
    let node = &nodes[id.index()];
    let mut rng = Rng::for_step(0x5EED, u64::from(id.0));
    let (state, val_score) = if rng.next_f64() < 0.35 {
        (NodeState::Buggy, None)
    } else {
        let base = node
            .parents
            .iter()
            .filter_map(|p| nodes[p.index()].val_score)
            .fold(0.5, f64::max);
        (NodeState::Ok, Some(base + rng.next_f64() * 0.2 - 0.08))
    };
    (state, val_score, rng.next_f64() * 3600.0)
}

/// One driver step on the stored nodes: create a node if the policy acts and a slot is free,
/// otherwise evaluate a pending node. Returns false once the run is over: the budget spent and
/// everything evaluated, or the policy finished.
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
                    exec_seconds: 0.0,
                });
                return true;
            }
            Decision::Wait => assert!(!pending.is_empty(), "Wait with nothing in flight"),
            Decision::Finish => {
                assert!(pending.is_empty(), "Finish with nodes in flight");
                return false;
            }
        }
    }
    let Some(&first) = pending.first() else {
        return false;
    };
    // Finish out of creation order, still as a function of the stored nodes only.
    let id = pending.get(nodes.len() % 2).copied().unwrap_or(first);
    let (state, val_score, exec_seconds) = evaluate(nodes, id);
    let node = &mut nodes[id.index()];
    node.state = state;
    node.val_score = val_score;
    node.exec_seconds = exec_seconds;
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

const POLICIES: [&str; 6] = [
    "greedy",
    "mcts",
    "mcts-shallow",
    "mcts-shallow-skip",
    "evolutionary",
    "evolutionary-islands",
];

#[test]
fn runs_end_on_the_budget_or_finish_with_everything_evaluated() {
    for name in POLICIES {
        for lower in [false, true] {
            let nodes = full_run(name, 7, lower);
            assert!(
                nodes.iter().all(|n| n.state != NodeState::Pending),
                "{name}"
            );
            let tree = Tree::new(nodes, lower).unwrap();
            assert!(randori_search::select_final(&tree).is_some(), "{name}");
            // Only the short evolutionary run has a budget of its own, and spends it first.
            let finished = next_decision(&policy(name), &tree, 7) == Decision::Finish;
            assert_eq!(finished, name == "evolutionary-islands", "{name}");
            assert_eq!(tree.len() == BUDGET, !finished, "{name}");
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
    for name in ["greedy", "evolutionary", "evolutionary-islands"] {
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
    assert_eq!(uses("mcts-shallow"), [true, true, true, false]);
    assert_eq!(uses("mcts-shallow-skip"), [true, true, true, false]);
    assert_eq!(uses("evolutionary"), [true, true, true, true]);
    assert_eq!(uses("evolutionary-islands"), [true, true, true, true]);
}

#[test]
fn mcts_descends_into_dead_ends_or_drafts_around_them() {
    use randori_search::Operator::{Draft, Improve};
    for seed in [3, 5, 7] {
        let count = |name: &str| {
            let nodes = full_run(name, seed, false);
            let dead_end_improves = nodes
                .iter()
                .filter(|n| n.operator == Improve)
                .filter(|n| nodes[n.parents[0].index()].state == NodeState::Buggy)
                .count();
            let drafts = nodes.iter().filter(|n| n.operator == Draft).count();
            (dead_end_improves, drafts)
        };
        // AIRA-dojo's descent: exactly num_children drafts, and dead ends get improved.
        let (dead_end_improves, drafts) = count("mcts-shallow");
        assert!(dead_end_improves > 0, "seed {seed}");
        assert_eq!(drafts, 1, "seed {seed}");
        // Skip never builds on a buggy node; it drafts anew once every branch is dead.
        let (dead_end_improves, drafts) = count("mcts-shallow-skip");
        assert_eq!(dead_end_improves, 0, "seed {seed}");
        assert!(drafts > 1, "seed {seed}");
    }
}
