//! The sweep file's `[policy.*]` tables and the choice of a policy by name.
//!
//! Every table and key is optional (a missing one takes the AIRA-dojo / AIDE default) and an
//! unknown one is an error naming it. Counts that must be positive are `NonZeroU32`, so a 0 is
//! refused while parsing; the ranges serde cannot express are checked by `validate`.

use serde::Deserialize;

use crate::{
    Decision, EvolutionaryConfig, GreedyConfig, MctsConfig, Policy, Rng, SearchError, Tree,
};

/// The `[policy]` table: one sub-table per policy, each optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    pub greedy: GreedyConfig,
    pub mcts: MctsConfig,
    pub evolutionary: EvolutionaryConfig,
    /// AIRA-dojo's oracle ablation: the search reads each node's *test* score where it would
    /// read its validation score, breaking on purpose the rule that no test score steers a
    /// search. Off by default; runs with it on are flagged wherever they are shown.
    pub use_test_score: bool,
}

impl PolicySettings {
    /// The policy a sweep names in `policies = [...]`, with its settings validated.
    pub fn policy(&self, name: &str) -> Result<PolicyConfig, SearchError> {
        let policy = match name {
            "greedy" => PolicyConfig::Greedy(self.greedy.clone()),
            "mcts" => PolicyConfig::Mcts(self.mcts.clone()),
            "evolutionary" => PolicyConfig::Evolutionary(self.evolutionary.clone()),
            _ => {
                return Err(SearchError::UnknownPolicy {
                    name: name.to_owned(),
                });
            }
        };
        policy.validate()?;
        Ok(policy)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PolicyConfig {
    Greedy(GreedyConfig),
    Mcts(MctsConfig),
    Evolutionary(EvolutionaryConfig),
}

impl PolicyConfig {
    /// The name a sweep file uses for this policy.
    pub fn name(&self) -> &'static str {
        match self {
            PolicyConfig::Greedy(_) => "greedy",
            PolicyConfig::Mcts(_) => "mcts",
            PolicyConfig::Evolutionary(_) => "evolutionary",
        }
    }

    pub fn validate(&self) -> Result<(), SearchError> {
        match self {
            PolicyConfig::Greedy(c) => c.validate(),
            PolicyConfig::Mcts(c) => c.validate(),
            PolicyConfig::Evolutionary(c) => c.validate(),
        }
    }
}

impl Policy for PolicyConfig {
    fn decide(&self, tree: &Tree, rng: &mut Rng) -> Decision {
        match self {
            PolicyConfig::Greedy(c) => c.decide(tree, rng),
            PolicyConfig::Mcts(c) => c.decide(tree, rng),
            PolicyConfig::Evolutionary(c) => c.decide(tree, rng),
        }
    }
}

/// A probability setting must lie in [0, 1].
pub(crate) fn check_probability(
    policy: &'static str,
    key: &'static str,
    value: f64,
) -> Result<(), SearchError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(SearchError::InvalidSetting {
            policy,
            key,
            reason: "must be between 0 and 1",
        })
    }
}

/// A time limit in seconds, when set, must be 0 or more (0: only the unconditional first
/// debug attempt); infinity works as no limit.
pub(crate) fn check_seconds(
    policy: &'static str,
    key: &'static str,
    value: Option<f64>,
) -> Result<(), SearchError> {
    if value.is_none_or(|seconds| seconds >= 0.0) {
        Ok(())
    } else {
        Err(SearchError::InvalidSetting {
            policy,
            key,
            reason: "must be a number of seconds, 0 or more",
        })
    }
}

/// A softmax temperature must be a finite number above 0.
pub(crate) fn check_temperature(
    policy: &'static str,
    key: &'static str,
    value: f64,
) -> Result<(), SearchError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(SearchError::InvalidSetting {
            policy,
            key,
            reason: "must be a finite number above 0",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DeadBranches;

    fn parse(json: &str) -> Result<PolicySettings, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_design_values() {
        let settings = parse("{}").unwrap();
        assert_eq!(settings, PolicySettings::default());
        let g = &settings.greedy;
        assert_eq!(
            (g.num_drafts, g.debug_prob, g.max_debug_depth),
            (5, 1.0, 20)
        );
        let m = &settings.mcts;
        assert_eq!(
            (
                m.uct_c,
                m.num_children.get(),
                m.max_debug_depth,
                m.max_debug_time,
                m.dead_branches,
            ),
            (0.25, 5, 20, None, DeadBranches::Descend)
        );
        let e = &settings.evolutionary;
        assert_eq!(
            (
                e.individuals_per_generation.get(),
                e.crossover_prob,
                e.num_islands.get(),
                e.max_island_size.get(),
                e.max_debug_depth,
                e.max_debug_time,
            ),
            (5, 0.5, 1, 500, 10, Some(21600.0))
        );
        assert_eq!(
            (
                e.num_generations.get(),
                e.num_generations_till_crossover,
                e.initial_temp,
                e.final_temp,
                e.migration_prob,
                e.num_generations_till_migration,
            ),
            (100, 2, 1.0, 1.0, 0.0, 999)
        );
    }

    #[test]
    fn new_keys_parse() {
        let settings = parse(
            r#"{"mcts": {"max_debug_time": 3600, "dead_branches": "skip"},
                "evolutionary": {"max_debug_time": null, "num_generations": 7,
                                 "initial_temp": 2.0, "final_temp": 0.5}}"#,
        )
        .unwrap();
        assert_eq!(settings.mcts.max_debug_time, Some(3600.0));
        assert_eq!(settings.mcts.dead_branches, DeadBranches::Skip);
        assert_eq!(settings.evolutionary.max_debug_time, None);
        assert_eq!(settings.evolutionary.num_generations.get(), 7);
        assert_eq!(
            parse(r#"{"mcts": {"dead_branches": "descend"}}"#)
                .unwrap()
                .mcts
                .dead_branches,
            DeadBranches::Descend
        );
        let err = parse(r#"{"mcts": {"dead_branches": "Skip"}}"#).unwrap_err();
        assert!(err.contains("unknown variant `Skip`"), "{err}");
    }

    #[test]
    fn a_partial_table_keeps_the_other_defaults() {
        let settings = parse(r#"{"mcts": {"uct_c": 1.5}}"#).unwrap();
        assert_eq!(settings.mcts.uct_c, 1.5);
        assert_eq!(settings.mcts.num_children.get(), 5);
        assert_eq!(settings.greedy, GreedyConfig::default());
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_key() {
        for (json, key) in [
            (r#"{"greedy": {"num_draft": 3}}"#, "num_draft"),
            (r#"{"mcts": {"c": 1}}"#, "`c`"),
            (r#"{"evolutionary": {"islands": 2}}"#, "islands"),
            (r#"{"beam": {}}"#, "beam"),
        ] {
            let err = parse(json).unwrap_err();
            assert!(
                err.contains("unknown field") && err.contains(key),
                "{json}: {err}"
            );
        }
    }

    #[test]
    fn zero_counts_are_refused_while_parsing() {
        for json in [
            r#"{"mcts": {"num_children": 0}}"#,
            r#"{"evolutionary": {"individuals_per_generation": 0}}"#,
            r#"{"evolutionary": {"num_islands": 0}}"#,
            r#"{"evolutionary": {"max_island_size": 0}}"#,
            r#"{"evolutionary": {"num_generations": 0}}"#,
        ] {
            let err = parse(json).unwrap_err();
            assert!(err.contains("nonzero"), "{json}: {err}");
        }
    }

    #[test]
    fn policies_are_chosen_by_name_and_validated() {
        let settings = PolicySettings::default();
        for name in ["greedy", "mcts", "evolutionary"] {
            assert_eq!(settings.policy(name).unwrap().name(), name);
        }
        assert_eq!(
            settings.policy("beam").unwrap_err().to_string(),
            "unknown search policy `beam`: expected one of greedy, mcts, evolutionary"
        );
        let cases = [
            (
                r#"{"greedy": {"debug_prob": 1.5}}"#,
                "greedy",
                "policy.greedy.debug_prob must be between 0 and 1",
            ),
            (
                r#"{"evolutionary": {"crossover_prob": -0.1}}"#,
                "evolutionary",
                "policy.evolutionary.crossover_prob must be between 0 and 1",
            ),
            (
                r#"{"mcts": {"uct_c": -1}}"#,
                "mcts",
                "policy.mcts.uct_c must be a finite number, 0 or more",
            ),
            (
                r#"{"mcts": {"max_debug_time": -1}}"#,
                "mcts",
                "policy.mcts.max_debug_time must be a number of seconds, 0 or more",
            ),
            (
                r#"{"evolutionary": {"max_debug_time": -0.5}}"#,
                "evolutionary",
                "policy.evolutionary.max_debug_time must be a number of seconds, 0 or more",
            ),
            (
                r#"{"evolutionary": {"migration_prob": 2}}"#,
                "evolutionary",
                "policy.evolutionary.migration_prob must be between 0 and 1",
            ),
            (
                r#"{"evolutionary": {"initial_temp": 0}}"#,
                "evolutionary",
                "policy.evolutionary.initial_temp must be a finite number above 0",
            ),
            (
                r#"{"evolutionary": {"final_temp": -1}}"#,
                "evolutionary",
                "policy.evolutionary.final_temp must be a finite number above 0",
            ),
        ];
        for (json, name, expect) in cases {
            let err = parse(json).unwrap().policy(name).unwrap_err();
            assert_eq!(err.to_string(), expect);
        }
        // A zero time limit allows the first attempt only; it is valid.
        let zero = parse(r#"{"mcts": {"max_debug_time": 0}}"#).unwrap();
        assert!(zero.policy("mcts").is_ok());
    }

    #[test]
    fn settings_serde_cannot_express_are_validated() {
        // NaN and infinities come from sweep files in TOML, not from JSON.
        let mut settings = PolicySettings::default();
        settings.mcts.max_debug_time = Some(f64::NAN);
        settings.evolutionary.final_temp = f64::INFINITY;
        assert!(settings.policy("mcts").is_err());
        assert!(settings.policy("evolutionary").is_err());
        settings.mcts.max_debug_time = Some(f64::INFINITY);
        assert!(settings.policy("mcts").is_ok());
    }
}
