//! How one operator asks its model: which model, with which sampling and length settings, and
//! in which dialect. Reasoning models (OpenAI's o-series and gpt-5, DeepSeek-R1, ...) refuse a
//! `temperature` and take `max_completion_tokens` instead of `max_tokens`; other chat models
//! take both as usual. Which kind a model is follows its name unless the settings say.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ChatRequest, Message};

/// One operator's model settings (the sweep file's `[operator]` defaults or an
/// `[operator.<name>]` table); an unset field falls back to the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSettings {
    pub model: Option<String>,
    /// Ignored for reasoning models, which refuse it.
    pub temperature: Option<f64>,
    /// The answer's length limit: sent as `max_completion_tokens` to reasoning models, as
    /// `max_tokens` to others.
    pub max_output_tokens: Option<u32>,
    /// Passed through as `reasoning_effort` (`low`, `medium`, `high`).
    pub reasoning_effort: Option<String>,
    /// Whether the model is a reasoning model; unset: decided by its name
    /// ([`is_reasoning_model`]).
    pub reasoning: Option<bool>,
    /// More request fields, sent as they are (for example `top_p` or a proxy's own keys).
    pub extra: Option<Map<String, Value>>,
}

/// Request fields `extra` may not set: randori sets them itself.
const OWN_FIELDS: [&str; 9] = [
    "model",
    "messages",
    "temperature",
    "max_tokens",
    "max_completion_tokens",
    "reasoning_effort",
    "seed",
    "stream",
    "response_format",
];

/// Whether `model` names a reasoning model, by family: OpenAI's o1, o3, o4 and gpt-5 (its
/// chat variants excepted) and DeepSeek's R1 (`deepseek-reasoner`), behind any provider
/// prefix such as LiteLLM's `openai/` or `azure/`.
pub fn is_reasoning_model(model: &str) -> bool {
    let name = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let o_series = ["o1", "o3", "o4"].iter().any(|family| {
        name == *family
            || name
                .strip_prefix(family)
                .is_some_and(|rest| rest.starts_with('-'))
    });
    let gpt5 = name.starts_with("gpt-5") && !name.contains("chat");
    o_series || gpt5 || name.contains("deepseek-r1") || name == "deepseek-reasoner"
}

impl ModelSettings {
    /// `self` with every unset field taken from `defaults`; `extra` is merged, `self`'s keys
    /// winning.
    pub fn over(&self, defaults: &ModelSettings) -> ModelSettings {
        let extra = match (&defaults.extra, &self.extra) {
            (Some(d), Some(o)) => {
                let mut merged = d.clone();
                merged.extend(o.clone());
                Some(merged)
            }
            (d, o) => o.clone().or_else(|| d.clone()),
        };
        ModelSettings {
            model: self.model.clone().or_else(|| defaults.model.clone()),
            temperature: self.temperature.or(defaults.temperature),
            max_output_tokens: self.max_output_tokens.or(defaults.max_output_tokens),
            reasoning_effort: self
                .reasoning_effort
                .clone()
                .or_else(|| defaults.reasoning_effort.clone()),
            reasoning: self.reasoning.or(defaults.reasoning),
            extra,
        }
    }

    /// What is wrong with these settings, if anything.
    pub fn problem(&self) -> Option<String> {
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Some(format!("temperature {t} is outside 0..=2"));
        }
        if self.max_output_tokens == Some(0) {
            return Some("max_output_tokens must be at least 1".to_owned());
        }
        if let Some(effort) = &self.reasoning_effort
            && !["minimal", "low", "medium", "high"].contains(&effort.as_str())
        {
            return Some(format!(
                "reasoning_effort {effort:?} is not one of minimal, low, medium, high"
            ));
        }
        let own = self
            .extra
            .iter()
            .flat_map(|e| e.keys())
            .find(|k| OWN_FIELDS.contains(&k.as_str()))?;
        Some(format!(
            "extra may not set {own:?}: randori sets it (use the setting of that name)"
        ))
    }

    /// Whether requests go out in the reasoning models' dialect.
    pub fn is_reasoning(&self) -> bool {
        self.reasoning
            .unwrap_or_else(|| self.model.as_deref().is_some_and(is_reasoning_model))
    }

    /// The request for `messages` under these settings.
    pub fn request(&self, messages: Vec<Message>, seed: Option<u64>) -> ChatRequest {
        let reasoning = self.is_reasoning();
        ChatRequest {
            model: self.model.clone().unwrap_or_default(),
            messages,
            temperature: if reasoning { None } else { self.temperature },
            max_tokens: if reasoning {
                None
            } else {
                self.max_output_tokens
            },
            max_completion_tokens: if reasoning {
                self.max_output_tokens
            } else {
                None
            },
            reasoning_effort: self.reasoning_effort.clone(),
            seed,
            response_format: None,
            extra: self.extra.clone().unwrap_or_default(),
            fingerprint: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_models_are_known_by_family_behind_any_prefix() {
        for name in [
            "o1",
            "o3",
            "o3-mini",
            "o4-mini-2025-04-16",
            "openai/o3",
            "azure/o1-preview",
            "gpt-5",
            "gpt-5-mini",
            "deepseek-reasoner",
            "deepseek/deepseek-r1",
        ] {
            assert!(is_reasoning_model(name), "{name}");
        }
        for name in [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-5-chat-latest",
            "o3x",
            "llama-3-70b",
        ] {
            assert!(!is_reasoning_model(name), "{name}");
        }
    }

    #[test]
    fn an_operators_table_overrides_the_defaults_field_by_field() {
        let extra = |k: &str, v: i64| Some(Map::from_iter([(k.to_owned(), Value::from(v))]));
        let defaults = ModelSettings {
            model: Some("o3".into()),
            temperature: Some(1.0),
            max_output_tokens: Some(4096),
            extra: extra("top_k", 5),
            ..Default::default()
        };
        let analyze = ModelSettings {
            model: Some("gpt-4o".into()),
            temperature: Some(0.5),
            extra: extra("top_p", 1),
            ..Default::default()
        };
        let s = analyze.over(&defaults);
        assert_eq!(s.model.as_deref(), Some("gpt-4o"));
        assert_eq!(
            (s.temperature, s.max_output_tokens),
            (Some(0.5), Some(4096))
        );
        assert_eq!(s.extra.unwrap().len(), 2);
        assert_eq!(ModelSettings::default().over(&defaults), defaults);
    }

    #[test]
    fn reasoning_requests_carry_no_temperature_and_no_max_tokens() {
        let settings = ModelSettings {
            model: Some("o3-mini".into()),
            temperature: Some(0.7),
            max_output_tokens: Some(8000),
            reasoning_effort: Some("high".into()),
            ..Default::default()
        };
        let r = settings.request(Vec::new(), Some(1));
        assert_eq!((r.temperature, r.max_tokens), (None, None));
        assert_eq!(r.max_completion_tokens, Some(8000));
        assert_eq!(r.reasoning_effort.as_deref(), Some("high"));
        let chat = ModelSettings {
            model: Some("gpt-4o".into()),
            ..settings.clone()
        }
        .request(Vec::new(), None);
        assert_eq!((chat.temperature, chat.max_tokens), (Some(0.7), Some(8000)));
        assert_eq!(chat.max_completion_tokens, None);
        // The setting wins over the name.
        let forced = ModelSettings {
            reasoning: Some(false),
            ..settings
        };
        assert_eq!(forced.request(Vec::new(), None).temperature, Some(0.7));
    }

    #[test]
    fn problems_name_the_setting() {
        let bad = |s: ModelSettings, want: &str| {
            let p = s.problem().unwrap_or_default();
            assert!(p.contains(want), "{p:?} lacks {want:?}");
        };
        bad(
            ModelSettings {
                temperature: Some(3.0),
                ..Default::default()
            },
            "temperature 3",
        );
        bad(
            ModelSettings {
                reasoning_effort: Some("max".into()),
                ..Default::default()
            },
            "reasoning_effort",
        );
        bad(
            ModelSettings {
                extra: Some(Map::from_iter([("max_tokens".into(), Value::from(5))])),
                ..Default::default()
            },
            "extra may not set \"max_tokens\"",
        );
        assert_eq!(ModelSettings::default().problem(), None);
    }
}
