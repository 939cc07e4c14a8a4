//! The seeded RNG behind every random choice a policy makes.
//!
//! A decision's RNG is derived from the run's seed and the step alone, never carried from one
//! decision to the next: a policy's choice is then a pure function of the stored tree, the seed
//! and the step, which is what makes an interrupted run resume into the same tree. A policy
//! that replays the tree and must re-derive a choice made at an earlier step (an island drawn
//! for a draft, a migration at the end of a generation) asks for a keyed stream instead, which
//! depends on the run seed, a domain and a key but not on the step. The generator is
//! xoshiro256** seeded through SplitMix64 (both public domain, by Blackman and Vigna); the
//! streams for a given seed and step, or seed, domain and key, are fixed by the tests below,
//! because stored runs depend on them.

/// xoshiro256**: small, fast, and statistically strong enough for sampling decisions.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
    /// Kept so that `keyed` streams can be derived from any stream of the run.
    run_seed: u64,
}

/// One SplitMix64 step: turns any seed, even 0, into well-mixed words.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The RNG for the decision at `step` of the run seeded with `run_seed`.
    pub fn for_step(run_seed: u64, step: u64) -> Rng {
        // Hash the seed before mixing in the step: a plain `seed ^ step` would give seed 1 at
        // step 2 the stream of seed 2 at step 1.
        let mut seed_state = run_seed;
        let mut state = splitmix64(&mut seed_state) ^ step;
        Rng {
            s: std::array::from_fn(|_| splitmix64(&mut state)),
            run_seed,
        }
    }

    /// A stream that depends only on the run seed, `domain` (a constant naming what the draws
    /// decide) and `key` (which instance of it), not on the step: a policy replaying the tree
    /// re-derives the same draws at every later step.
    pub fn keyed(&self, domain: u64, key: u64) -> Rng {
        // The seed's second SplitMix64 word, not the first that `for_step` mixes the step into,
        // and one more mixing step between domain and key: no step, and no other (domain, key)
        // pair, lands on the same state by a plain xor coincidence.
        let mut seed_state = self.run_seed;
        splitmix64(&mut seed_state);
        let mut domain_state = splitmix64(&mut seed_state) ^ domain;
        let mut state = splitmix64(&mut domain_state) ^ key;
        Rng {
            s: std::array::from_fn(|_| splitmix64(&mut state)),
            run_seed: self.run_seed,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1), with the 53 bits an f64 can hold.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n`, without modulo bias (Lemire's multiply-and-reject).
    ///
    /// Panics if `n` is 0: there is nothing to choose from.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0): empty range");
        let n = n as u64;
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if product as u64 >= threshold {
                return (product >> 64) as usize;
            }
        }
    }

    /// An index drawn with probability proportional to its weight; `None` when there is no
    /// valid distribution (no weights, a negative or non-finite weight, or all zero).
    pub fn choose_weighted(&mut self, weights: &[f64]) -> Option<usize> {
        if weights.iter().any(|w| !w.is_finite() || *w < 0.0) {
            return None;
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            return None;
        }
        let target = self.next_f64() * total;
        let mut cumulative = 0.0;
        for (index, weight) in weights.iter().enumerate() {
            cumulative += weight;
            if target < cumulative && *weight > 0.0 {
                return Some(index);
            }
        }
        // Rounding can leave `target` just past the last partial sum.
        weights.iter().rposition(|w| *w > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    #[test]
    fn stream_is_pinned() {
        // Stored runs replay through this stream: changing it changes every resumed run.
        let mut rng = Rng::for_step(0, 0);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(got, PINNED_0_0);
        let mut rng = Rng::for_step(42, 7);
        assert_eq!(rng.next_u64(), PINNED_42_7);
    }

    const PINNED_0_0: [u64; 3] = [
        18110106563157542208,
        8650457082529208451,
        3032169436225125478,
    ];
    const PINNED_42_7: u64 = 4706337660387043474;

    #[test]
    fn keyed_stream_is_pinned() {
        let mut rng = Rng::for_step(42, 7).keyed(1, 5);
        assert_eq!(rng.next_u64(), PINNED_KEYED_42_1_5);
    }

    const PINNED_KEYED_42_1_5: u64 = 17560558449259241369;

    #[test]
    fn keyed_streams_depend_on_seed_domain_and_key_but_not_the_step() {
        let draw = |seed, step, domain, key| {
            let mut rng = Rng::for_step(seed, step).keyed(domain, key);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(3, 9, 1, 4), draw(3, 100, 1, 4));
        assert_ne!(draw(3, 9, 1, 4), draw(4, 9, 1, 4));
        assert_ne!(draw(3, 9, 1, 4), draw(3, 9, 2, 4));
        assert_ne!(draw(3, 9, 1, 4), draw(3, 9, 1, 5));
        assert_ne!(draw(3, 9, 1, 2), draw(3, 9, 2, 1));
        // A keyed stream is none of the step streams.
        let mut step_stream = Rng::for_step(3, 4);
        let step_draws: Vec<u64> = (0..8).map(|_| step_stream.next_u64()).collect();
        assert_ne!(draw(3, 9, 0, 4), step_draws);
        // Drawing from the step stream first changes nothing.
        let mut used = Rng::for_step(3, 9);
        used.next_u64();
        let mut keyed = used.keyed(1, 4);
        assert_eq!(keyed.next_u64(), draw(3, 9, 1, 4)[0]);
    }

    #[test]
    fn same_seed_and_step_give_the_same_stream() {
        let draw = |seed, step| {
            let mut rng = Rng::for_step(seed, step);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(draw(3, 9), draw(3, 9));
        assert_ne!(draw(3, 9), draw(3, 10));
        assert_ne!(draw(3, 9), draw(4, 9));
        assert_ne!(draw(0, 1), draw(1, 0));
    }

    #[test]
    fn next_f64_is_in_unit_interval_with_mean_one_half() {
        let mut rng = Rng::for_step(1, 2);
        let draws: Vec<f64> = (0..100_000).map(|_| rng.next_f64()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn below_is_in_range_and_uniform() {
        let mut rng = Rng::for_step(5, 5);
        let mut counts = [0usize; 7];
        for _ in 0..70_000 {
            counts[rng.below(7)] += 1;
        }
        for count in counts {
            assert!((9_400..10_600).contains(&count), "{counts:?}");
        }
        assert_eq!(rng.below(1), 0);
    }

    #[test]
    fn choose_weighted_follows_the_weights() {
        let mut rng = Rng::for_step(8, 0);
        let weights = [1.0, 0.0, 3.0];
        let mut counts = [0usize; 3];
        for _ in 0..40_000 {
            counts[rng.choose_weighted(&weights).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0, "a zero weight is never drawn");
        let share = counts[2] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.01, "{counts:?}");
    }

    #[test]
    fn choose_weighted_refuses_invalid_distributions() {
        let mut rng = Rng::for_step(0, 0);
        for weights in [
            &[][..],
            &[0.0, 0.0],
            &[1.0, -0.5],
            &[f64::NAN],
            &[f64::INFINITY],
        ] {
            assert_eq!(rng.choose_weighted(weights), None, "{weights:?}");
        }
    }
}
