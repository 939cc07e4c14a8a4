//! Evolutionary search as in AIRA-dojo (after FunSearch and REvolve), with generations and
//! islands derived from the tree on every call.
//!
//! Derivation, in node id (creation) order:
//! - Individuals: every Draft, Improve and Crossover node starts the next individual; a Debug
//!   node belongs to its parent's individual (AIRA-dojo debugs a buggy child within its slot).
//!   With G = `individuals_per_generation` x `num_islands`, individual k is slot k mod G of
//!   generation k div G.
//! - Islands: a Draft joins island (slot mod `num_islands`), round-robin; an Improve or
//!   Crossover joins its first parent's island; a Debug its parent's. Slot s of a later
//!   generation breeds from island s mod `num_islands`, so every island gets
//!   `individuals_per_generation` individuals per generation.
//! - Members: replaying the completed generations, each ok node joins its island, in slot
//!   order, if the island has fewer than `max_island_size` members and, after generation 0,
//!   its score is at or above the members' mean (at or below when lower is better; an empty
//!   island admits anyone). Generation 0 seeds the islands without the mean test, as
//!   AIRA-dojo does.
//!
//! Each decision takes the first rule that applies:
//! 1. Debug the earliest buggy leaf whose debug depth is below `max_debug_depth`.
//! 2. The current generation has all its G individuals and a node is pending: Wait. (With no
//!    pending node and nothing left to debug, it is complete and the next one starts.)
//! 3. The next slot is in generation 0: Draft.
//! 4. Breed from the slot's island: draw `next_f64() < crossover_prob`, then a parent by
//!    softmax (temperature 1.0) over the members' scores min-max normalised over every ok
//!    node of the completed generations (AIRA-dojo's global fitness range, which it only
//!    updates between generations). Crossover draws a second, distinct parent the same way
//!    from the others; Improve uses the first. An island without members falls back to
//!    Draft; one with a single member turns a Crossover into an Improve.

use std::num::NonZeroU32;

use serde::Deserialize;

use crate::config::check_probability;
use crate::tree::ScoreRange;
use crate::{Decision, NodeId, Operator, Policy, Rng, SearchError, Tree};

/// Softmax temperature for parent selection (AIRA-dojo decays it over a fixed number of
/// generations; a run here has no fixed number, so it stays at 1).
const TEMPERATURE: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionaryConfig {
    pub individuals_per_generation: NonZeroU32,
    pub crossover_prob: f64,
    pub num_islands: NonZeroU32,
    pub max_island_size: NonZeroU32,
    pub max_debug_depth: u32,
}

impl Default for EvolutionaryConfig {
    fn default() -> Self {
        let nonzero = |n| NonZeroU32::new(n).expect("default counts are positive");
        EvolutionaryConfig {
            individuals_per_generation: nonzero(5),
            crossover_prob: 0.5,
            num_islands: nonzero(1),
            max_island_size: nonzero(500),
            max_debug_depth: 10,
        }
    }
}

impl EvolutionaryConfig {
    pub fn validate(&self) -> Result<(), SearchError> {
        check_probability("evolutionary", "crossover_prob", self.crossover_prob)
    }

    fn islands(&self) -> u64 {
        u64::from(self.num_islands.get())
    }

    fn generation_size(&self) -> u64 {
        u64::from(self.individuals_per_generation.get()) * self.islands()
    }
}

impl Policy for EvolutionaryConfig {
    fn decide(&self, tree: &Tree, rng: &mut Rng) -> Decision {
        if let Some(leaf) = tree.debuggable(self.max_debug_depth).next() {
            return Decision::act(Operator::Debug, vec![leaf]);
        }
        let lineage = Lineage::new(tree, self);
        let Some((generation, slot)) = lineage.next_slot(tree) else {
            return Decision::Wait;
        };
        if generation == 0 {
            return Decision::act(Operator::Draft, vec![]);
        }
        let population = Population::before(tree, &lineage, generation, self);
        let island = (slot % self.islands()) as usize;
        population.breed(tree, island, self.crossover_prob, rng)
    }
}

/// The individual and island of every node (module doc, "Derivation").
struct Lineage {
    generation_size: u64,
    individual: Vec<u64>,
    island: Vec<usize>,
    individuals: u64,
}

impl Lineage {
    fn new(tree: &Tree, config: &EvolutionaryConfig) -> Self {
        let generation_size = config.generation_size();
        let mut lineage = Lineage {
            generation_size,
            individual: Vec::with_capacity(tree.len()),
            island: Vec::with_capacity(tree.len()),
            individuals: 0,
        };
        for node in tree.nodes() {
            let (individual, island) = match (node.operator, node.parents.first()) {
                (Operator::Debug, Some(parent)) => (
                    lineage.individual[parent.index()],
                    lineage.island[parent.index()],
                ),
                (_, Some(parent)) => (lineage.individuals, lineage.island[parent.index()]),
                (_, None) => {
                    let slot = lineage.individuals % generation_size;
                    (lineage.individuals, (slot % config.islands()) as usize)
                }
            };
            if node.operator != Operator::Debug {
                lineage.individuals += 1;
            }
            lineage.individual.push(individual);
            lineage.island.push(island);
        }
        lineage
    }

    fn generation(&self, id: NodeId) -> u64 {
        self.individual[id.index()] / self.generation_size
    }

    fn island(&self, id: NodeId) -> usize {
        self.island[id.index()]
    }

    /// The (generation, slot) of the next individual, or `None` while the current generation
    /// is full but still has a node in flight.
    fn next_slot(&self, tree: &Tree) -> Option<(u64, u64)> {
        let (generation, used) = match self.individuals {
            0 => (0, 0),
            n => {
                let generation = (n - 1) / self.generation_size;
                (generation, n - generation * self.generation_size)
            }
        };
        if used < self.generation_size {
            Some((generation, used))
        } else if tree.has_pending() {
            None
        } else {
            Some((generation + 1, 0))
        }
    }
}

/// The islands' members as they stand when `generation` starts.
struct Population {
    islands: Vec<Vec<NodeId>>,
    range: Option<ScoreRange>,
}

impl Population {
    fn before(
        tree: &Tree,
        lineage: &Lineage,
        generation: u64,
        config: &EvolutionaryConfig,
    ) -> Self {
        // At most one ok node per individual: a debug chain stops at its first fix.
        let mut settled: Vec<(NodeId, f64)> = tree
            .nodes()
            .iter()
            .filter(|n| lineage.generation(n.id) < generation)
            .filter_map(|n| Some((n.id, n.val_score?)))
            .collect();
        settled.sort_by_key(|&(id, _)| lineage.individual[id.index()]);
        let range = ScoreRange::of(settled.iter().map(|&(_, s)| s), tree.lower_is_better());

        let mut islands = vec![Vec::new(); config.islands() as usize];
        let mut sums = vec![0.0; islands.len()];
        for (id, score) in settled {
            let island = lineage.island(id);
            let members: &mut Vec<NodeId> = &mut islands[island];
            let admitted = members.is_empty() || lineage.generation(id) == 0 || {
                let mean = sums[island] / members.len() as f64;
                if tree.lower_is_better() {
                    score <= mean
                } else {
                    score >= mean
                }
            };
            if admitted && members.len() < config.max_island_size.get() as usize {
                members.push(id);
                sums[island] += score;
            }
        }
        Population { islands, range }
    }

    /// Selection probabilities of the island's members, in member order.
    fn softmax(&self, tree: &Tree, island: usize) -> Vec<f64> {
        let exps: Vec<f64> = self.islands[island]
            .iter()
            .map(|&id| {
                let score = tree.node(id).val_score.expect("members are ok nodes");
                let range = self.range.expect("members lie in the range");
                (range.normalise(score) / TEMPERATURE).exp()
            })
            .collect();
        let total: f64 = exps.iter().sum();
        exps.iter().map(|e| e / total).collect()
    }

    fn breed(&self, tree: &Tree, island: usize, crossover_prob: f64, rng: &mut Rng) -> Decision {
        let members = &self.islands[island];
        if members.is_empty() {
            return Decision::act(Operator::Draft, vec![]);
        }
        let crossover = rng.next_f64() < crossover_prob;
        let mut weights = self.softmax(tree, island);
        let first = choose(rng, &weights);
        if !crossover || members.len() < 2 {
            return Decision::act(Operator::Improve, vec![members[first]]);
        }
        weights[first] = 0.0;
        let second = choose(rng, &weights);
        Decision::act(Operator::Crossover, vec![members[first], members[second]])
    }
}

/// Softmax weights are positive and finite, so there is always a choice.
fn choose(rng: &mut Rng, weights: &[f64]) -> usize {
    rng.choose_weighted(weights)
        .expect("softmax weights form a distribution")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{decide, tally, tree, tree_lower};

    fn evo(
        per_generation: u32,
        crossover_prob: f64,
        islands: u32,
        max_size: u32,
        max_debug_depth: u32,
    ) -> EvolutionaryConfig {
        EvolutionaryConfig {
            individuals_per_generation: NonZeroU32::new(per_generation).unwrap(),
            crossover_prob,
            num_islands: NonZeroU32::new(islands).unwrap(),
            max_island_size: NonZeroU32::new(max_size).unwrap(),
            max_debug_depth,
        }
    }

    fn members(config: &EvolutionaryConfig, t: &Tree) -> Vec<Vec<u32>> {
        let lineage = Lineage::new(t, config);
        let generation = lineage.next_slot(t).expect("not waiting").0;
        let population = Population::before(t, &lineage, generation, config);
        population
            .islands
            .iter()
            .map(|island| island.iter().map(|id| id.0).collect())
            .collect()
    }

    #[test]
    fn next_action() {
        let cases = [
            (evo(2, 0.0, 1, 500, 10), "", "Draft"),
            (evo(2, 0.0, 1, 500, 10), "D:p", "Draft"),
            // Generation 0 is full: wait for it before breeding.
            (evo(2, 0.0, 1, 500, 10), "D:p D:p", "Wait"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:p", "Wait"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:b", "Debug(1)"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:b B1:p", "Wait"),
            // A chain at its depth limit ends the individual.
            (evo(2, 0.0, 1, 500, 1), "D:0.5 D:b B1:b", "Improve(0)"),
            // Debugging within a generation comes before its next slot.
            (evo(3, 0.0, 1, 500, 10), "D:b D:p", "Debug(0)"),
            // Nobody survived generation 0: draft again.
            (evo(2, 0.0, 1, 500, 0), "D:b D:b", "Draft"),
            // One member: crossover turns into improve.
            (evo(2, 1.0, 1, 500, 0), "D:0.5 D:b", "Improve(0)"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:0.7 I1:p I1:p", "Wait"),
            (
                evo(2, 0.0, 1, 500, 10),
                "D:0.5 D:0.7 I1:0.9 I0:b",
                "Debug(3)",
            ),
            // Islands: drafts alternate, slot s breeds from island s mod 2.
            (evo(1, 0.0, 2, 500, 10), "D:0.1 D:0.2", "Improve(0)"),
            (evo(1, 0.0, 2, 500, 10), "D:0.1 D:0.2 I0:p", "Improve(1)"),
            (evo(1, 0.0, 2, 500, 10), "D:b D:0.2 B0:0.3", "Improve(2)"),
        ];
        for (config, spec, expect) in cases {
            assert_eq!(decide(&config, &tree(spec), 0), expect, "{config:?} {spec}");
        }
    }

    #[test]
    fn a_generation_breeds_from_the_previous_generations_only() {
        // Generation 1 is under way; node 2 has finished but is not a member yet.
        let counts = tally(&evo(2, 0.0, 1, 500, 10), &tree("D:0.5 D:0.7 I1:0.9"), 200);
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            ["Improve(0)", "Improve(1)"]
        );
        // Generation 1 complete: 2 (0.9, mean 0.6) joins; 3 (0.4, mean 0.7) does not.
        let t = tree("D:0.5 D:0.7 I1:0.9 I0:0.4");
        assert_eq!(members(&evo(2, 0.0, 1, 500, 10), &t), [[0, 1, 2]]);
        let counts = tally(&evo(2, 0.0, 1, 500, 10), &t, 300);
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            ["Improve(0)", "Improve(1)", "Improve(2)"]
        );
    }

    #[test]
    fn island_admission() {
        let two = evo(2, 0.0, 1, 500, 10);
        // Mean 0.5: 0.5 is at the mean and joins; then the mean is 0.5 and 0.25 stays out.
        assert_eq!(
            members(&two, &tree("D:0.25 D:0.75 I0:0.5 I1:0.25")),
            [[0, 1, 2]]
        );
        assert_eq!(
            members(&two, &tree_lower("D:0.25 D:0.75 I0:0.5 I1:0.25")),
            [[0, 1, 2, 3]]
        );
        assert_eq!(
            members(&two, &tree_lower("D:0.25 D:0.75 I0:0.6 I1:0.1")),
            [[0, 1, 3]]
        );
        // Generation 0 seeds without the mean test.
        assert_eq!(members(&two, &tree("D:0.9 D:0.1")), [[0, 1]]);
        // Size cap, for the seeds and for later joins.
        assert_eq!(
            members(&evo(3, 0.0, 1, 2, 10), &tree("D:1 D:2 D:3")),
            [[0, 1]]
        );
        assert_eq!(
            members(&evo(2, 0.0, 1, 3, 10), &tree("D:0.25 D:0.75 I1:0.9 I1:1")),
            [[0, 1, 2]]
        );
        // Admission is per island: 2 beats island 0's mean, 3 misses island 1's.
        let islands = evo(1, 0.0, 2, 500, 10);
        assert_eq!(
            members(&islands, &tree("D:0.1 D:0.2 I0:0.9 I1:0.05")),
            [vec![0, 2], vec![1]]
        );
        // A fixed debug chain: its ok end is the individual, in its island.
        assert_eq!(
            members(&islands, &tree("D:b D:0.2 B0:0.3")),
            [vec![2], vec![1]]
        );
    }

    #[test]
    fn softmax_weights_are_exact() {
        let config = evo(3, 0.0, 1, 500, 10);
        let weights_of = |spec: &str| {
            let t = tree(spec);
            let lineage = Lineage::new(&t, &config);
            let generation = lineage.next_slot(&t).unwrap().0;
            Population::before(&t, &lineage, generation, &config).softmax(&t, 0)
        };
        let total = 1.0 + 0.5f64.exp() + 1.0f64.exp();
        let expect = [1.0 / total, 0.5f64.exp() / total, 1.0f64.exp() / total];
        let got = weights_of("D:0 D:5 D:10");
        for (g, e) in got.iter().zip(expect) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
        // Scores of the running generation do not move the range mid-generation.
        assert_eq!(weights_of("D:0 D:5 D:10 I2:40"), got);
    }

    #[test]
    fn parents_are_drawn_by_their_softmax_weights() {
        let counts = tally(&evo(3, 0.0, 1, 500, 10), &tree("D:0 D:5 D:10"), 30_000);
        let total = 1.0 + 0.5f64.exp() + 1.0f64.exp();
        for (parent, weight) in [(0, 1.0), (1, 0.5f64.exp()), (2, 1.0f64.exp())] {
            let share = counts[&format!("Improve({parent})")] as f64 / 30_000.0;
            assert!((share - weight / total).abs() < 0.01, "{counts:?}");
        }
    }

    #[test]
    fn crossover_share_is_crossover_prob_with_distinct_parents() {
        let counts = tally(&evo(3, 0.3, 1, 500, 10), &tree("D:0 D:5 D:10"), 10_000);
        let crossovers: usize = counts
            .iter()
            .filter(|(k, _)| k.starts_with("Crossover"))
            .map(|(_, n)| n)
            .sum();
        assert!((2800..3200).contains(&crossovers), "{counts:?}");
        for same in ["Crossover(0, 0)", "Crossover(1, 1)", "Crossover(2, 2)"] {
            assert!(!counts.contains_key(same), "{counts:?}");
        }
        let all = tally(&evo(2, 1.0, 1, 500, 10), &tree("D:0.5 D:0.7"), 100);
        assert_eq!(
            all.keys().collect::<Vec<_>>(),
            ["Crossover(0, 1)", "Crossover(1, 0)"]
        );
    }
}
