//! Evolutionary search as in AIRA-dojo (after FunSearch and REvolve), with generations, islands
//! and their populations replayed from the tree on every call.
//!
//! Lineage, in node id (creation) order:
//! 1. Individuals: every Draft, Improve and Crossover node starts the next individual; a Debug
//!    node belongs to its parent's (AIRA-dojo debugs a buggy child within its slot). Individual
//!    k belongs to generation k div `individuals_per_generation`, a total over all islands.
//! 2. An individual's settled node is its first ok node: the child itself or the fixed end of
//!    its debug chain. An individual whose chain ends buggy has none.
//! 3. Islands: a Draft's is drawn uniformly (`below`) from `Rng::keyed(DRAFT_ISLAND, node id)`,
//!    AIRA-dojo's random choice made re-derivable at every later step. An Improve or Crossover
//!    belongs to the island its first parent was a member of when the child's generation
//!    started, as it was sampled from there (in a tree this policy did not grow the parent may
//!    be no member: then the parent's own island). A Debug belongs to its parent's island.
//!
//! Population, replayed one completed generation at a time:
//! 4. Generation 0's settled nodes seed their islands, with no mean test and no size cap.
//! 5. Each later generation's settled nodes, in individual order: one is admitted if its
//!    island is empty or its score is at or above the members' mean (at or below when lower is
//!    better); then, admitted or not, while the island has more than `max_island_size`
//!    members, its worst member (the first among equals) is removed.
//! 6. After a later generation's nodes, from generation `num_generations_till_migration` on:
//!    if `Rng::keyed(MIGRATION, generation).next_f64() < migration_prob`, the islands are
//!    reset (7), drawing on from that stream. A single island is its own stronger half, so
//!    nothing changes there.
//! 7. Reset: the islands are ranked by their best member's score (an empty island last), ties
//!    broken by one `next_u64` per island in island order, the lower value first. The weaker
//!    `num_islands div 2` islands are reset, the better-ranked first: each keeps only its best
//!    member (the first among equals); a founder is drawn uniformly (`below`) among the kept
//!    islands that now have more than one member (none: the next island); among the founder's
//!    members whose score differs from its best score (none: the next island), one is drawn by
//!    softmax (temperature 1) over their normalised scores and moved to the reset island.
//!
//! Normalised scores are min-max normalised over the settled nodes of the completed
//! generations: [0, 1], 1 = best (AIRA-dojo's global fitness range, which only moves between
//! generations). softmax(x, T)_i = exp((x_i - max x) / T) / sum_j exp((x_j - max x) / T).
//!
//! Each decision takes the first rule that applies:
//! 1. Debug the earliest buggy leaf with fewer than `max_debug_depth` debug attempts so far
//!    (`Tree::debug_depth`) and, unless it is the chain's head (the first attempt is
//!    unconditional), `Tree::debug_chain_seconds` below `max_debug_time` when that is set:
//!    AIRA-dojo's debug cycle, whose time count starts with the head's own run.
//! 2. The current generation has all its individuals and a node is pending: Wait. (With no
//!    pending node and nothing left to debug, it is complete and the next one starts.)
//! 3. The next generation is `num_generations` or later: Finish (Wait while a node is pending).
//! 4. The next generation is 0: Draft.
//! 5. Breed, in generation g >= 1 at temperature T = initial_temp - (initial_temp -
//!    final_temp) * g / num_generations. The draws, in this order:
//!    - one `next_f64`, always: Crossover if g >= `num_generations_till_crossover` and it is
//!      below `crossover_prob`, else Improve;
//!    - the island, by softmax at T over the normalised mean scores of the islands with enough
//!      members (two for Crossover, one for Improve). No island with two: Improve instead. No
//!      island with any: Draft, with no further draw (its island comes from rule 3 of the
//!      lineage);
//!    - the parent, by softmax at T over the island's members' normalised scores, then for
//!      Crossover a second, distinct one the same way among the others.
//!
//! Where aira-dojo decides otherwise:
//! 1. Its reset sorts the best islands first and resets those, contradicting its own docstring
//!    and FunSearch. Here the weaker half is reset and seeded from the stronger one, as
//!    intended.
//! 2. It pairs a generation's k-th settled node with the k-th individual's island, which
//!    misplaces every node after an individual that stayed buggy. Here each settled node joins
//!    its own individual's island.
//! 3. It samples an island among all of them and resamples one too small for the operator, up
//!    to twice the island count, then fails; with no island of two it fails on Crossover. Here
//!    the island is drawn among the eligible ones (the same distribution, without the failure)
//!    and a Crossover without an eligible island becomes an Improve.
//! 4. It runs one node at a time. Here several may be in flight: a generation's nodes are
//!    created side by side, and the next generation waits until they are all evaluated.

use std::cmp::Ordering;
use std::num::NonZeroU32;

use serde::Deserialize;

use crate::config::{check_probability, check_seconds, check_temperature};
use crate::tree::ScoreRange;
use crate::{Decision, NodeId, Operator, Policy, Rng, SearchError, Tree};

/// `Rng::keyed` domain of a draft's island, keyed by the draft's node id.
const DRAFT_ISLAND: u64 = 1;
/// `Rng::keyed` domain of the migration draw and reset at the end of a generation, keyed by
/// the generation.
const MIGRATION: u64 = 2;
/// The softmax temperature of the reset's migrant draw (AIRA-dojo's).
const MIGRATION_TEMPERATURE: f64 = 1.0;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvolutionaryConfig {
    /// Individuals per generation, over all islands together.
    pub individuals_per_generation: NonZeroU32,
    pub crossover_prob: f64,
    pub num_islands: NonZeroU32,
    pub max_island_size: NonZeroU32,
    pub max_debug_depth: u32,
    /// Seconds; `None` leaves a debug chain's run time unbounded.
    pub max_debug_time: Option<f64>,
    pub num_generations: NonZeroU32,
    pub num_generations_till_crossover: u32,
    pub initial_temp: f64,
    pub final_temp: f64,
    pub migration_prob: f64,
    pub num_generations_till_migration: u32,
}

impl Default for EvolutionaryConfig {
    /// AIRA-dojo's released mlebench configuration (`solver/mlebench/evo.yaml`).
    fn default() -> Self {
        let nonzero = |n| NonZeroU32::new(n).expect("default counts are positive");
        EvolutionaryConfig {
            individuals_per_generation: nonzero(5),
            crossover_prob: 0.5,
            num_islands: nonzero(1),
            max_island_size: nonzero(500),
            max_debug_depth: 10,
            max_debug_time: Some(21600.0),
            num_generations: nonzero(100),
            num_generations_till_crossover: 2,
            initial_temp: 1.0,
            final_temp: 1.0,
            migration_prob: 0.0,
            num_generations_till_migration: 999,
        }
    }
}

impl EvolutionaryConfig {
    pub fn validate(&self) -> Result<(), SearchError> {
        const POLICY: &str = "evolutionary";
        check_probability(POLICY, "crossover_prob", self.crossover_prob)?;
        check_probability(POLICY, "migration_prob", self.migration_prob)?;
        check_temperature(POLICY, "initial_temp", self.initial_temp)?;
        check_temperature(POLICY, "final_temp", self.final_temp)?;
        check_seconds(POLICY, "max_debug_time", self.max_debug_time)
    }

    /// Decision rule 1's test for a buggy leaf.
    fn may_debug(&self, tree: &Tree, id: NodeId) -> bool {
        tree.debug_depth(id) < self.max_debug_depth
            && (tree.node(id).operator != Operator::Debug
                || self
                    .max_debug_time
                    .is_none_or(|limit| tree.debug_chain_seconds(id) < limit))
    }

    /// The sampling temperature of `generation`, decaying linearly from `initial_temp` at 0
    /// towards `final_temp` at `num_generations`.
    fn temperature(&self, generation: u64) -> f64 {
        let progress = generation as f64 / f64::from(self.num_generations.get());
        self.initial_temp - (self.initial_temp - self.final_temp) * progress
    }
}

impl Policy for EvolutionaryConfig {
    fn decide(&self, tree: &Tree, rng: &mut Rng) -> Decision {
        if let Some(leaf) = tree.buggy_leaves().find(|&id| self.may_debug(tree, id)) {
            return Decision::act(Operator::Debug, vec![leaf]);
        }
        let individuals = Individuals::new(tree, self.individuals_per_generation);
        let Some(generation) = individuals.next_generation(tree) else {
            return Decision::Wait;
        };
        if generation >= u64::from(self.num_generations.get()) {
            return if tree.has_pending() {
                Decision::Wait
            } else {
                Decision::Finish
            };
        }
        if generation == 0 {
            return Decision::act(Operator::Draft, vec![]);
        }
        Population::replay(tree, &individuals, generation, self, rng)
            .breed(tree, self, generation, rng)
    }
}

/// The individual of every node (lineage rule 1).
struct Individuals {
    per_generation: u64,
    of_node: Vec<u64>,
    count: u64,
}

impl Individuals {
    fn new(tree: &Tree, per_generation: NonZeroU32) -> Self {
        let mut of_node: Vec<u64> = Vec::with_capacity(tree.len());
        let mut count = 0;
        for node in tree.nodes() {
            let individual = match node.operator {
                Operator::Debug => of_node[node.parents[0].index()],
                Operator::Draft | Operator::Improve | Operator::Crossover => {
                    count += 1;
                    count - 1
                }
            };
            of_node.push(individual);
        }
        Individuals {
            per_generation: u64::from(per_generation.get()),
            of_node,
            count,
        }
    }

    fn generation(&self, id: NodeId) -> u64 {
        self.of_node[id.index()] / self.per_generation
    }

    /// The generation of the next individual, or `None` while the current generation is full
    /// but still has a node in flight.
    fn next_generation(&self, tree: &Tree) -> Option<u64> {
        let Some(last) = self.count.checked_sub(1) else {
            return Some(0);
        };
        let current = last / self.per_generation;
        if self.count < (current + 1) * self.per_generation {
            Some(current)
        } else if tree.has_pending() {
            None
        } else {
            Some(current + 1)
        }
    }

    /// Every individual's settled node (lineage rule 2), by individual.
    fn settled(&self, tree: &Tree) -> Vec<Option<NodeId>> {
        let mut settled = vec![None; self.count as usize];
        for node in tree.nodes() {
            let slot = &mut settled[self.of_node[node.id.index()] as usize];
            if node.val_score.is_some() && slot.is_none() {
                *slot = Some(node.id);
            }
        }
        settled
    }
}

/// The islands' members as they stand when a generation starts.
struct Population {
    islands: Vec<Vec<NodeId>>,
    /// The island of every node of the replayed generations (0 for the others).
    island_of: Vec<usize>,
    range: Option<ScoreRange>,
}

impl Population {
    /// The population at the start of `generation` (module doc, "Lineage" and "Population").
    fn replay(
        tree: &Tree,
        individuals: &Individuals,
        generation: u64,
        config: &EvolutionaryConfig,
        rng: &Rng,
    ) -> Self {
        let mut population = Population {
            islands: vec![Vec::new(); config.num_islands.get() as usize],
            island_of: vec![0; tree.len()],
            range: None,
        };
        let mut nodes_by_generation = vec![Vec::new(); generation as usize];
        for node in tree.nodes() {
            if let Some(nodes) =
                nodes_by_generation.get_mut(individuals.generation(node.id) as usize)
            {
                nodes.push(node.id);
            }
        }
        let settled = individuals.settled(tree);
        let per_generation = individuals.per_generation as usize;
        for (g, nodes) in (0u64..).zip(&nodes_by_generation) {
            for &id in nodes {
                population.island_of[id.index()] = population.island_for(tree, id, rng);
            }
            let first = g as usize * per_generation;
            let arrivals: Vec<NodeId> = settled[first..first + per_generation]
                .iter()
                .flatten()
                .copied()
                .collect();
            for &id in &arrivals {
                ScoreRange::include(
                    &mut population.range,
                    score(tree, id),
                    tree.lower_is_better(),
                );
            }
            for id in arrivals {
                let island = population.island_of[id.index()];
                if g == 0 {
                    population.islands[island].push(id);
                } else {
                    population.admit(tree, id, island, config.max_island_size.get() as usize);
                }
            }
            if g > 0 && g >= u64::from(config.num_generations_till_migration) {
                let mut stream = rng.keyed(MIGRATION, g);
                if stream.next_f64() < config.migration_prob {
                    population.reset(tree, &mut stream);
                }
            }
        }
        population
    }

    /// Lineage rule 3, for a node of the generation being replayed.
    fn island_for(&self, tree: &Tree, id: NodeId, rng: &Rng) -> usize {
        let node = tree.node(id);
        let Some(&parent) = node.parents.first() else {
            return rng
                .keyed(DRAFT_ISLAND, u64::from(id.0))
                .below(self.islands.len());
        };
        let parents_own = self.island_of[parent.index()];
        match node.operator {
            Operator::Debug => parents_own,
            _ => self
                .islands
                .iter()
                .position(|members| members.contains(&parent))
                .unwrap_or(parents_own),
        }
    }

    /// Population rule 5 for one settled node.
    fn admit(&mut self, tree: &Tree, id: NodeId, island: usize, max_island_size: usize) {
        let members = &mut self.islands[island];
        let admitted = members.is_empty() || {
            let mean = members.iter().map(|&m| score(tree, m)).sum::<f64>() / members.len() as f64;
            let own = score(tree, id);
            if tree.lower_is_better() {
                own <= mean
            } else {
                own >= mean
            }
        };
        if admitted {
            members.push(id);
        }
        while members.len() > max_island_size {
            let worst = first_extreme(tree, members, |a, b| tree.is_better(b, a))
                .expect("an island over its size has members");
            members.remove(worst);
        }
    }

    /// Population rule 7.
    fn reset(&mut self, tree: &Tree, stream: &mut Rng) {
        let count = self.islands.len();
        let tiebreak: Vec<u64> = (0..count).map(|_| stream.next_u64()).collect();
        let best: Vec<Option<f64>> = self
            .islands
            .iter()
            .map(|members| best_score(tree, members))
            .collect();
        let mut ranked: Vec<usize> = (0..count).collect();
        ranked.sort_by(|&a, &b| {
            stronger_first(tree, best[a], best[b]).then(tiebreak[a].cmp(&tiebreak[b]))
        });
        let (kept, reset) = ranked.split_at(count - count / 2);
        for &island in reset {
            if let Some(top) =
                first_extreme(tree, &self.islands[island], |a, b| tree.is_better(a, b))
            {
                self.islands[island] = vec![self.islands[island][top]];
            }
            let founders: Vec<usize> = kept
                .iter()
                .copied()
                .filter(|&k| self.islands[k].len() > 1)
                .collect();
            if founders.is_empty() {
                continue;
            }
            let founder = founders[stream.below(founders.len())];
            let founder_best = best_score(tree, &self.islands[founder]);
            let candidates: Vec<NodeId> = self.islands[founder]
                .iter()
                .copied()
                .filter(|&m| Some(score(tree, m)) != founder_best)
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let weights = softmax(&self.normalised(tree, &candidates), MIGRATION_TEMPERATURE);
            let migrant = candidates[choose(stream, &weights)];
            self.islands[founder].retain(|&m| m != migrant);
            self.islands[island].push(migrant);
        }
    }

    fn normalised(&self, tree: &Tree, members: &[NodeId]) -> Vec<f64> {
        let range = self.range.expect("members lie in the range");
        members
            .iter()
            .map(|&m| range.normalise(score(tree, m)))
            .collect()
    }

    /// Decision rule 5.
    fn breed(
        &self,
        tree: &Tree,
        config: &EvolutionaryConfig,
        generation: u64,
        rng: &mut Rng,
    ) -> Decision {
        let temperature = config.temperature(generation);
        // The operator draw is made even before crossover is allowed, so that the draws after
        // it keep their place in the stream.
        let operator_draw = rng.next_f64();
        let wants_crossover = generation >= u64::from(config.num_generations_till_crossover)
            && operator_draw < config.crossover_prob;
        let with_at_least = |needed: usize| -> Vec<usize> {
            (0..self.islands.len())
                .filter(|&i| self.islands[i].len() >= needed)
                .collect()
        };
        let pairs = if wants_crossover {
            with_at_least(2)
        } else {
            Vec::new()
        };
        let crossover = !pairs.is_empty();
        let eligible = if crossover { pairs } else { with_at_least(1) };
        if eligible.is_empty() {
            return Decision::act(Operator::Draft, vec![]);
        }

        let range = self.range.expect("members lie in the range");
        let means: Vec<f64> = eligible
            .iter()
            .map(|&i| {
                let members = &self.islands[i];
                let sum: f64 = members.iter().map(|&m| score(tree, m)).sum();
                range.normalise(sum / members.len() as f64)
            })
            .collect();
        let island = eligible[choose(rng, &softmax(&means, temperature))];

        let members = &self.islands[island];
        let scores = self.normalised(tree, members);
        let first = choose(rng, &softmax(&scores, temperature));
        if !crossover {
            return Decision::act(Operator::Improve, vec![members[first]]);
        }
        // A softmax of its own over the others, rather than zeroing the first's weight: at a
        // low temperature the others' weights could all round to 0 next to it.
        let others: Vec<usize> = (0..members.len()).filter(|&i| i != first).collect();
        let other_scores: Vec<f64> = others.iter().map(|&i| scores[i]).collect();
        let second = others[choose(rng, &softmax(&other_scores, temperature))];
        Decision::act(Operator::Crossover, vec![members[first], members[second]])
    }
}

/// The score of a settled node (always an ok node).
fn score(tree: &Tree, id: NodeId) -> f64 {
    tree.node(id).val_score.expect("settled nodes are ok")
}

/// The best member's score; `None` for an empty island.
fn best_score(tree: &Tree, members: &[NodeId]) -> Option<f64> {
    first_extreme(tree, members, |a, b| tree.is_better(a, b)).map(|i| score(tree, members[i]))
}

/// The position of the first member whose score no other member's `beats`.
fn first_extreme(
    tree: &Tree,
    members: &[NodeId],
    beats: impl Fn(f64, f64) -> bool,
) -> Option<usize> {
    let mut found: Option<(usize, f64)> = None;
    for (position, &m) in members.iter().enumerate() {
        let s = score(tree, m);
        if found.is_none_or(|(_, top)| beats(s, top)) {
            found = Some((position, s));
        }
    }
    found.map(|(position, _)| position)
}

/// Orders islands by their best score, the stronger first and an empty island last.
fn stronger_first(tree: &Tree, a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) if tree.is_better(a, b) => Ordering::Less,
        (Some(a), Some(b)) if tree.is_better(b, a) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// softmax(x, T) of the module doc; the largest value gets exp(0) = 1, so the weights never all
/// vanish.
fn softmax(values: &[f64], temperature: f64) -> Vec<f64> {
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = values
        .iter()
        .map(|v| ((v - top) / temperature).exp())
        .collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
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

    /// Crossover from generation 1 on, so short trees can show it.
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
            num_generations_till_crossover: 0,
            ..EvolutionaryConfig::default()
        }
    }

    /// Two islands that migrate with certainty after every generation from 1 on; buggy nodes
    /// are never debugged.
    fn migrating(per_generation: u32) -> EvolutionaryConfig {
        EvolutionaryConfig {
            migration_prob: 1.0,
            num_generations_till_migration: 1,
            ..evo(per_generation, 0.0, 2, 500, 0)
        }
    }

    /// The population when the next generation starts, replayed with run seed 0 as `decide`.
    fn population(config: &EvolutionaryConfig, t: &Tree) -> Population {
        let individuals = Individuals::new(t, config.individuals_per_generation);
        let generation = individuals.next_generation(t).expect("not waiting");
        Population::replay(t, &individuals, generation, config, &Rng::for_step(0, 0))
    }

    fn members(config: &EvolutionaryConfig, t: &Tree) -> Vec<Vec<u32>> {
        ids(&population(config, t).islands)
    }

    fn ids(islands: &[Vec<NodeId>]) -> Vec<Vec<u32>> {
        islands
            .iter()
            .map(|island| island.iter().map(|id| id.0).collect())
            .collect()
    }

    fn check(cases: &[(EvolutionaryConfig, &str, &str)]) {
        for (config, spec, expect) in cases {
            assert_eq!(decide(config, &tree(spec), 0), *expect, "{config:?} {spec}");
        }
    }

    #[test]
    fn next_action() {
        check(&[
            (evo(2, 0.0, 1, 500, 10), "", "Draft"),
            (evo(2, 0.0, 1, 500, 10), "D:p", "Draft"),
            // Generation 0 is full: wait for it before breeding.
            (evo(2, 0.0, 1, 500, 10), "D:p D:p", "Wait"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:p", "Wait"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:b", "Debug(1)"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:b B1:p", "Wait"),
            // A chain at its depth limit ends the individual.
            (evo(2, 0.0, 1, 500, 1), "D:0.5 D:b B1:b", "Improve(0)"),
            // Debugging within a generation comes before its next individual.
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
            // individuals_per_generation counts all islands together: two drafts end
            // generation 0 of two islands.
            (evo(2, 0.0, 2, 500, 0), "D:0.5 D:b", "Improve(0)"),
        ]);
    }

    #[test]
    fn debug_attempts_and_time_follow_aira_dojos_debug_cycle() {
        let limited = |seconds| EvolutionaryConfig {
            max_debug_time: Some(seconds),
            ..evo(2, 0.0, 1, 500, 10)
        };
        let unlimited = EvolutionaryConfig {
            max_debug_time: None,
            ..evo(2, 0.0, 1, 500, 10)
        };
        check(&[
            // max_debug_depth attempts, a draft's included: node 2 is the second of two.
            (evo(2, 0.0, 1, 500, 2), "D:0.5 D:b B1:b", "Debug(2)"),
            (evo(2, 0.0, 1, 500, 2), "D:0.5 D:b B1:b B2:b", "Improve(0)"),
            // The first attempt is unconditional, however long the head ran.
            (limited(150.0), "D:0.5 D:b@1000", "Debug(1)"),
            // The time counts the head and every attempt.
            (limited(150.0), "D:0.5 D:b@100 B1:b@49", "Debug(2)"),
            (limited(150.0), "D:0.5 D:b@100 B1:b@50", "Improve(0)"),
            (unlimited, "D:0.5 D:b@100 B1:b@50", "Debug(2)"),
            // The default limit is AIRA-dojo's six hours.
            (
                evo(2, 0.0, 1, 500, 10),
                "D:0.5 D:b@20000 B1:b@1599",
                "Debug(2)",
            ),
            (
                evo(2, 0.0, 1, 500, 10),
                "D:0.5 D:b@20000 B1:b@1600",
                "Improve(0)",
            ),
        ]);
    }

    #[test]
    fn the_run_finishes_after_num_generations() {
        let short = |max_debug_depth| EvolutionaryConfig {
            num_generations: NonZeroU32::new(2).unwrap(),
            ..evo(2, 0.0, 1, 500, max_debug_depth)
        };
        check(&[
            (short(10), "D:0.5 D:0.7 I1:0.8 I0:0.6", "Finish"),
            // Not while a node is pending or a buggy leaf is left to debug.
            (short(10), "D:0.5 D:0.7 I1:0.8 I0:p", "Wait"),
            (short(10), "D:0.5 D:0.7 I1:0.8 I0:b", "Debug(3)"),
            (short(10), "D:0.5 D:0.7 I1:0.8 I0:b B3:0.9", "Finish"),
            (short(0), "D:0.5 D:0.7 I1:0.8 I0:b", "Finish"),
            (short(0), "D:0.5 D:b I0:0.8", "Improve(0)"),
        ]);
    }

    #[test]
    fn temperature_decays_linearly_over_the_generations() {
        let config = EvolutionaryConfig {
            initial_temp: 2.0,
            final_temp: 0.5,
            num_generations: NonZeroU32::new(4).unwrap(),
            ..EvolutionaryConfig::default()
        };
        let got: Vec<f64> = (0..=4).map(|g| config.temperature(g)).collect();
        assert_eq!(got, [2.0, 1.625, 1.25, 0.875, 0.5]);
    }

    #[test]
    fn parents_are_drawn_by_their_softmax_weights_at_the_generations_temperature() {
        let t = tree("D:0 D:5 D:10");
        // Generation 1 of 2, decaying from 1.5 to 0.5: T = 1.
        for (initial, final_temp, temperature) in
            [(1.0, 1.0, 1.0), (1.5, 0.5, 1.0), (0.5, 0.5, 0.5)]
        {
            let config = EvolutionaryConfig {
                initial_temp: initial,
                final_temp,
                num_generations: NonZeroU32::new(2).unwrap(),
                ..evo(3, 0.0, 1, 500, 10)
            };
            let counts = tally(&config, &t, 30_000);
            let weights = [0.0f64, 0.5, 1.0].map(|x| (x / temperature).exp());
            let total: f64 = weights.iter().sum();
            for (parent, weight) in weights.iter().enumerate() {
                let share = counts[&format!("Improve({parent})")] as f64 / 30_000.0;
                assert!(
                    (share - weight / total).abs() < 0.01,
                    "{config:?} {counts:?}"
                );
            }
        }
        // A cold generation always improves the best.
        let cold = EvolutionaryConfig {
            initial_temp: 0.001,
            final_temp: 0.001,
            ..evo(3, 0.0, 1, 500, 10)
        };
        assert_eq!(
            tally(&cold, &t, 200).keys().collect::<Vec<_>>(),
            ["Improve(2)"]
        );
    }

    #[test]
    fn softmax_is_shifted_by_the_maximum_and_scaled_by_the_temperature() {
        let total = 1.0 + 0.5f64.exp() + 1.0f64.exp();
        let expect = [1.0 / total, 0.5f64.exp() / total, 1.0f64.exp() / total];
        let got = softmax(&[0.0, 0.5, 1.0], 1.0);
        for (g, e) in got.iter().zip(expect) {
            assert!((g - e).abs() < 1e-12, "{got:?}");
        }
        assert_eq!(
            softmax(&[0.0, 0.5, 1.0], 0.5),
            softmax(&[0.0, 1.0, 2.0], 1.0)
        );
        // Far below the maximum at a low temperature: 0, but the maximum keeps 1.
        assert_eq!(softmax(&[0.0, 1.0], 1e-3), [0.0, 1.0]);
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
        // Cold: the best first, and the second best from the others rather than a failure.
        let cold = EvolutionaryConfig {
            initial_temp: 0.001,
            final_temp: 0.001,
            ..evo(3, 1.0, 1, 500, 10)
        };
        assert_eq!(
            tally(&cold, &tree("D:0 D:5 D:10"), 100)
                .keys()
                .collect::<Vec<_>>(),
            ["Crossover(2, 1)"]
        );
    }

    #[test]
    fn crossover_starts_at_num_generations_till_crossover_and_the_draw_is_always_made() {
        let late = EvolutionaryConfig {
            num_generations_till_crossover: 2,
            ..evo(2, 1.0, 1, 500, 10)
        };
        let first = tree("D:0.5 D:0.7");
        let second = tree("D:0.5 D:0.7 I1:0.8 I0:0.6");
        assert!(
            tally(&late, &first, 100)
                .keys()
                .all(|k| k.starts_with("Improve"))
        );
        assert!(
            tally(&late, &second, 100)
                .keys()
                .all(|k| k.starts_with("Crossover"))
        );
        // Too early for crossover, the operator draw is still made: the parents drawn after
        // it are those of a policy that never crosses over.
        let never = evo(2, 0.0, 1, 500, 10);
        for step in 0..50 {
            assert_eq!(decide(&late, &first, step), decide(&never, &first, step));
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
        // The range covers the completed generations only: 40 does not squeeze 0, 5, 10.
        let range = population(&evo(3, 0.0, 1, 500, 10), &tree("D:0 D:5 D:10 I2:40"))
            .range
            .unwrap();
        assert_eq!(range.normalise(5.0), 0.5);
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
        // Generation 0 seeds without the mean test and without the size cap.
        assert_eq!(members(&two, &tree("D:0.9 D:0.1")), [[0, 1]]);
        assert_eq!(
            members(&evo(3, 0.0, 1, 2, 10), &tree("D:1 D:2 D:3")),
            [[0, 1, 2]]
        );
        // Later, the worst member goes once the island is over its size, whether the
        // newcomer was admitted (3 pushes 0 out) or not (2 is refused; 0 goes anyway).
        assert_eq!(
            members(&evo(2, 0.0, 1, 3, 10), &tree("D:0.25 D:0.75 I1:0.9 I1:1")),
            [[1, 2, 3]]
        );
        assert_eq!(
            members(&evo(2, 0.0, 1, 1, 10), &tree("D:1 D:2 I1:0.5 I1:0.1")),
            [[1]]
        );
        // The first of equally bad members goes.
        assert_eq!(
            members(&evo(2, 0.0, 1, 2, 10), &tree("D:1 D:1 I1:2 I1:0")),
            [[1, 2]]
        );
        // Admission is per island (run seed 0 puts drafts 0 and 1 on islands 0 and 1): 2
        // beats island 0's mean, 3 misses island 1's.
        let islands = evo(2, 0.0, 2, 500, 10);
        assert_eq!(
            members(&islands, &tree("D:0.1 D:0.2 I0:0.9 I1:0.05")),
            [vec![0, 2], vec![1]]
        );
        // A fixed debug chain: its ok end is the individual, in its head's island (a draft
        // with id 2 would go to island 0).
        assert_eq!(
            members(&islands, &tree("D:b D:0.2 B0:0.3")),
            [vec![2], vec![1]]
        );
        assert_eq!(
            members(&islands, &tree("D:0.2 D:b B1:0.3")),
            [vec![0], vec![2]]
        );
    }

    #[test]
    fn draft_islands_are_uniform_and_fixed_per_run() {
        let config = evo(2, 0.0, 3, 500, 10);
        let t = tree("D:1 D:2 D:3 I0:4");
        let individuals = Individuals::new(&t, config.individuals_per_generation);
        let mut counts = [0usize; 3];
        for seed in 0..3000 {
            let island_of = |step| {
                let rng = Rng::for_step(seed, step);
                Population::replay(&t, &individuals, 2, &config, &rng).island_of[2]
            };
            assert_eq!(island_of(4), island_of(9), "seed {seed}");
            counts[island_of(4)] += 1;
        }
        for count in counts {
            assert!((900..1100).contains(&count), "{counts:?}");
        }
        // A later generation drafts when every island is empty; its drafts get islands alike.
        let empty = evo(2, 0.0, 2, 500, 0);
        assert_eq!(
            members(&empty, &tree("D:b D:b D:0.5 D:0.6")),
            [vec![2], vec![3]]
        );
    }

    #[test]
    fn a_child_joins_the_island_its_parent_was_sampled_from() {
        // Drafts 0 and 2 on island 0, 1 and 3 on island 1; generation 1 fails. Its migration
        // moves 2 to island 1 (see `the_weaker_half_of_the_islands_is_reset`).
        let spec = "D:0.9 D:0.1 D:0.8 D:0.2 I0:b I0:b I1:b I1:b";
        let config = migrating(4);
        assert_eq!(members(&config, &tree(spec)), [vec![0], vec![3, 2]]);
        // Node 8 improves 2 in generation 2: island 1, where 2 was when it was sampled. It
        // beats that island's mean (0.5), and the next reset keeps it as island 1's best.
        let t = tree(&format!("{spec} I2:0.85 I0:b I0:b I0:b"));
        let replayed = population(&config, &t);
        assert_eq!(replayed.island_of[8], 1);
        assert_eq!(ids(&replayed.islands), [vec![0], vec![8]]);
        // A parent that is no member (here: never admitted) lends its own island.
        let islands = evo(2, 0.0, 2, 500, 10);
        let t = tree("D:0.5 D:0.7 I0:0.1 I1:0.9 I2:0.95 I3:0.2");
        let replayed = population(&islands, &t);
        assert_eq!(replayed.island_of[4], 0);
        assert_eq!(ids(&replayed.islands), [vec![0, 4], vec![1, 3]]);
    }

    /// Module doc, "where aira-dojo decides otherwise", 1.
    #[test]
    fn the_weaker_half_of_the_islands_is_reset() {
        // Island 0 holds 0.9 and 0.8, island 1 0.1 and 0.2. Island 1 is reset to its best
        // (3) and receives 2, the founder's only member other than its best. AIRA-dojo would
        // reset island 0 to node 0 and move 1 there: [[0, 1], [3]].
        let spec = "D:0.9 D:0.1 D:0.8 D:0.2 I0:b I0:b I1:b I1:b";
        assert_eq!(members(&migrating(4), &tree(spec)), [vec![0], vec![3, 2]]);
        // Lower is better: island 1 is the stronger; island 0 keeps 2 (0.8) and receives 3.
        assert_eq!(
            members(&migrating(4), &tree_lower(spec)),
            [vec![2, 3], vec![1]]
        );
        // Not before num_generations_till_migration, nor when the draw fails.
        let later = EvolutionaryConfig {
            num_generations_till_migration: 2,
            ..migrating(4)
        };
        let never = EvolutionaryConfig {
            migration_prob: 0.0,
            ..migrating(4)
        };
        for config in [later, never] {
            assert_eq!(members(&config, &tree(spec)), [vec![0, 2], vec![1, 3]]);
        }
        // Not after generation 0, even when allowed from there.
        let from_zero = EvolutionaryConfig {
            num_generations_till_migration: 0,
            ..migrating(4)
        };
        assert_eq!(
            members(&from_zero, &tree("D:0.9 D:0.1 D:0.8 D:0.2")),
            [vec![0, 2], vec![1, 3]]
        );
    }

    /// Node ids by island, as a test case writes them.
    type Members<'a> = &'a [&'a [u32]];

    /// A population over `t`'s ok nodes, for driving `reset` directly.
    fn islands_of(t: &Tree, islands: Members) -> Population {
        Population {
            islands: islands
                .iter()
                .map(|members| members.iter().map(|&i| NodeId(i)).collect())
                .collect(),
            island_of: vec![0; t.len()],
            range: ScoreRange::of(t.nodes().iter().filter_map(|n| n.val_score), false),
        }
    }

    fn reset(t: &Tree, islands: Members, key: u64) -> Vec<Vec<u32>> {
        let mut population = islands_of(t, islands);
        population.reset(t, &mut Rng::for_step(0, 0).keyed(MIGRATION, key));
        ids(&population.islands)
    }

    #[test]
    fn reset_rules() {
        let t = tree("D:0.9 D:0.8 D:0.7 D:0.6 D:0.5 D:0.4 D:0.3 D:0.3 D:0.9");
        let cases: [(Members, Vec<Vec<u32>>); 6] = [
            // Three islands: only the weakest (1) is reset; the founder is 0 or 2, by the
            // draw (0 here).
            (
                &[&[0, 2], &[5, 6], &[1, 3]],
                vec![vec![0], vec![5, 2], vec![1, 3]],
            ),
            // Four: islands 1 and 3 are reset, the better-ranked (3) first, so it takes the
            // only founder's only candidate and 1 gets nothing.
            (
                &[&[0, 4], &[6, 7], &[1], &[5]],
                vec![vec![0], vec![6], vec![1], vec![5, 4]],
            ),
            // An empty island ranks last and is reset; it receives 6 or 5 (not the best, 4).
            (&[&[], &[6, 4, 5]], vec![vec![6], vec![4, 5]]),
            // No founder with more than one member: the reset island only keeps its best.
            (&[&[0], &[6, 5]], vec![vec![0], vec![5]]),
            // A founder whose members all score its best gives nothing.
            (&[&[0, 8], &[6, 5]], vec![vec![0, 8], vec![5]]),
            // The reset island keeps the first of its equally best members.
            (&[&[0, 1], &[6, 7]], vec![vec![0], vec![6, 1]]),
        ];
        for (islands, expect) in cases {
            assert_eq!(reset(&t, islands, 1), expect, "{islands:?}");
        }
    }

    #[test]
    fn reset_breaks_ties_between_islands_randomly() {
        // Both islands' best is 0.9: the reset one keeps its 0.9 and gets the other's 0.5.
        let t = tree("D:0.9 D:0.5 D:0.9 D:0.4");
        let mut outcomes = std::collections::BTreeSet::new();
        for key in 0..40 {
            outcomes.insert(reset(&t, &[&[0, 1], &[2, 3]], key));
        }
        let expect = [vec![vec![0], vec![2, 1]], vec![vec![0, 3], vec![2]]];
        assert_eq!(outcomes.into_iter().collect::<Vec<_>>(), expect);
    }

    #[test]
    fn migrants_are_drawn_by_softmax_over_normalised_scores() {
        // Founder 0 (best 1) offers 0 and 0.5, normalised over [0, 1]: weights 1 and e^0.5.
        let t = tree("D:1 D:0 D:0.5 D:0.9 D:0.95");
        let mut moved_half = 0;
        for key in 0..20_000 {
            let got = reset(&t, &[&[0, 1, 2], &[3]], key);
            if got[1] == [3, 2] {
                moved_half += 1;
            } else {
                assert_eq!(got, [vec![0, 2], vec![3, 1]]);
            }
        }
        let share = f64::from(moved_half) / 20_000.0;
        let expect = 0.5f64.exp() / (1.0 + 0.5f64.exp());
        assert!((share - expect).abs() < 0.01, "{share} vs {expect}");
    }

    /// Module doc, "where aira-dojo decides otherwise", 2.
    #[test]
    fn each_settled_node_joins_its_own_individuals_island() {
        // Individual 2 (island 1) stays buggy; 3 improves 0 on island 0 and joins island 0.
        // AIRA-dojo pairs 3 with individual 2's island instead.
        let config = evo(2, 0.0, 2, 500, 0);
        assert_eq!(
            members(&config, &tree("D:0.5 D:0.7 I1:b I0:0.9")),
            [vec![0, 3], vec![1]]
        );
    }

    /// Module doc, "where aira-dojo decides otherwise", 3.
    #[test]
    fn islands_are_drawn_among_those_with_enough_members() {
        // Run seed 0 puts drafts 0 and 2 on island 0, 1 on island 1; 3 stays buggy.
        let t = tree("D:0.5 D:0.7 D:0.6 D:b");
        let config = evo(4, 1.0, 2, 500, 0);
        assert_eq!(members(&config, &t), [vec![0, 2], vec![1]]);
        let counts = tally(&config, &t, 300);
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            ["Crossover(0, 2)", "Crossover(2, 0)"]
        );
        // No island of two: Crossover becomes Improve, on either island.
        let single = evo(2, 1.0, 2, 500, 0);
        let counts = tally(&single, &tree("D:0.5 D:0.7"), 300);
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            ["Improve(0)", "Improve(1)"]
        );
        // Islands are drawn by softmax over their normalised means, 0 and 1 here, at the
        // generation's temperature.
        let t = tree("D:0 D:10");
        for temperature in [1.0, 0.5] {
            let config = EvolutionaryConfig {
                initial_temp: temperature,
                final_temp: temperature,
                ..evo(2, 0.0, 2, 500, 0)
            };
            let counts = tally(&config, &t, 20_000);
            let share = counts["Improve(1)"] as f64 / 20_000.0;
            let weight = (1.0 / temperature).exp();
            assert!((share - weight / (1.0 + weight)).abs() < 0.01, "{counts:?}");
        }
    }

    /// Module doc, "where aira-dojo decides otherwise", 4.
    #[test]
    fn a_generation_waits_for_its_nodes_in_flight() {
        check(&[
            (evo(3, 0.0, 1, 500, 10), "D:0.5 D:p", "Draft"),
            (evo(2, 0.0, 1, 500, 10), "D:0.5 D:0.6 I1:0.7 I0:p", "Wait"),
            (evo(2, 0.0, 1, 500, 0), "D:0.5 D:b I0:p", "Improve(0)"),
        ]);
    }
}
