use std::collections::HashMap;
use std::time::Duration;

use crate::LlmError;
use crate::pricing::{Price, list_price};

/// Per attempt: long enough for a reasoning model's long answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest wait between two attempts, and between two probes of an endpoint that is down.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(30);

/// One OpenAI-compatible endpoint. Build with [`OpenAiConfig::new`] and change fields as needed.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenAiConfig {
    /// Up to and including the API version, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    /// The name of the environment variable that holds the API key (read once, when the client
    /// is built); `None` for endpoints without keys, such as a local vLLM or Ollama.
    pub api_key_env: Option<String>,
    /// Per attempt, from sending the request to the last byte of the answer.
    pub timeout: Duration,
    /// Attempts after the first one, if capped; by default (`None`) a transient failure is
    /// tried again until it passes, and pausing or cancelling the run is what stops it.
    pub max_retries: Option<u32>,
    /// Requests in flight at once to this endpoint, shared by all clones of the client.
    pub max_concurrency: usize,
    /// The wait before the first retry; it doubles with each retry up to `backoff_cap`.
    pub backoff_base: Duration,
    /// The longest wait between attempts, a `Retry-After` from the server included.
    pub backoff_cap: Duration,
    /// Prices per model name that replace the built-in list prices (e.g. a negotiated rate, a
    /// dated snapshot, or a self-hosted model's cost).
    pub prices: HashMap<String, Price>,
}

impl OpenAiConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key_env: None,
            timeout: DEFAULT_TIMEOUT,
            max_retries: None,
            max_concurrency: 8,
            backoff_base: Duration::from_millis(500),
            backoff_cap: DEFAULT_BACKOFF_CAP,
            prices: HashMap::new(),
        }
    }

    /// The cost of a call to `model`: the override if there is one, else the list price, else
    /// 0 (see [`crate::pricing`]).
    pub fn cost_usd(&self, model: &str, tokens_in: u64, tokens_out: u64) -> f64 {
        self.price(model)
            .map_or(0.0, |price| price.cost_usd(tokens_in, tokens_out))
    }

    /// The price `model` is counted at: the override, else the list price; None: unknown.
    pub fn price(&self, model: &str) -> Option<Price> {
        self.prices
            .get(model)
            .copied()
            .or_else(|| list_price(model))
    }

    pub(crate) fn validate(&self) -> Result<(), LlmError> {
        let problem =
            if !(self.base_url.starts_with("http://") || self.base_url.starts_with("https://")) {
                format!(
                    "base_url {:?} must start with http:// or https://",
                    self.base_url
                )
            } else if self.max_concurrency == 0 {
                "max_concurrency must be at least 1".to_owned()
            } else if self.timeout.is_zero() {
                "timeout must be longer than zero".to_owned()
            } else {
                return Ok(());
            };
        Err(LlmError::Config(problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_bad_field() {
        let check = |change: fn(&mut OpenAiConfig), expect: Option<&str>| {
            let mut config = OpenAiConfig::new("http://127.0.0.1:8000/v1");
            change(&mut config);
            let got = config.validate().err().map(|e| e.to_string());
            match (got, expect) {
                (None, None) => {}
                (Some(got), Some(expect)) => assert!(got.contains(expect), "{got}"),
                (got, expect) => panic!("got {got:?}, expected {expect:?}"),
            }
        };
        check(|_| {}, None);
        check(
            |c| c.base_url = "127.0.0.1:8000/v1".into(),
            Some("base_url"),
        );
        check(|c| c.max_concurrency = 0, Some("max_concurrency"));
        check(|c| c.timeout = Duration::ZERO, Some("timeout"));
    }

    #[test]
    fn price_overrides_replace_list_prices() {
        let mut config = OpenAiConfig::new("http://127.0.0.1:8000/v1");
        assert_eq!(config.cost_usd("gpt-4o", 1_000_000, 0), 2.5);
        assert_eq!(config.cost_usd("my-local-model", 1_000_000, 0), 0.0);
        let price = Price {
            input_per_mtok: 1.0,
            output_per_mtok: 3.0,
        };
        config.prices.insert("gpt-4o".into(), price);
        config.prices.insert("my-local-model".into(), price);
        assert_eq!(config.cost_usd("gpt-4o", 1_000_000, 1_000_000), 4.0);
        assert_eq!(config.cost_usd("my-local-model", 500_000, 0), 0.5);
    }
}
