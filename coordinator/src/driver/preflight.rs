//! `randori sweep check`'s online half: one tiny call per endpoint and model, with each
//! operator's real request settings (so an unsupported parameter shows), and the price each
//! model will be counted at. Nothing is journaled or stored.

use std::time::{Duration, Instant};

use randori_llm::{Message, OpenAiClient, Role, analysis_response_format};

use super::llm_failure::{FailedCall, classify};
use super::operators::OperatorConfig;
use crate::error::{Error, Result};

/// What one probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// The operators (and analyze) that ask this model with these settings: "draft, improve".
    pub operators: String,
    pub model: String,
    pub base_url: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// It answered; `price` says how its cost will be counted.
    Answered { latency: Duration, price: String },
    /// The call failed: why, and (for settings errors) the key to fix.
    Failed(String),
}

/// Checks a sweep's `[operator]` table offline (settings, durations, prices); an error names
/// the key.
pub fn operator_settings(operator: &serde_json::Value) -> Result<OperatorConfig> {
    let config: OperatorConfig = serde_json::from_value(operator.clone())
        .map_err(|e| Error::InvalidArgument(format!("operator settings: {e}")))?;
    config.check()?;
    Ok(config)
}

/// One call per distinct model setting of an `openai` backend; none for the others.
pub async fn probe(operator: &serde_json::Value) -> Result<Vec<Probe>> {
    let config = operator_settings(operator)?;
    if config.backend != "openai" {
        return Ok(Vec::new());
    }
    let mut endpoint = config.openai_config()?;
    // A preflight says what is wrong now, rather than waiting for an outage to pass.
    endpoint.max_retries = Some(1);
    let base_url = endpoint.base_url.clone();
    let prices = endpoint.clone();
    let client = OpenAiClient::new(endpoint).map_err(|e| Error::LlmSettings(e.to_string()))?;
    let mut probes: Vec<Probe> = Vec::new();
    for (operators, settings) in config.models() {
        let mut settings = settings;
        // A few tokens are enough to show that the key, model and parameters are accepted.
        settings.max_output_tokens = Some(settings.max_output_tokens.unwrap_or(64).min(64));
        let mut request = settings.request(
            vec![Message {
                role: Role::User,
                content: "Reply with the word OK.".to_owned(),
            }],
            None,
        );
        if operators.contains("analyze") && config.structured_output.unwrap_or(true) {
            request.response_format = Some(analysis_response_format());
        }
        let started = Instant::now();
        let verdict = match client.chat(&request).await {
            Ok(_) => Verdict::Answered {
                latency: started.elapsed(),
                price: match prices.price(&request.model) {
                    Some(p) => format!(
                        "${} / ${} per million tokens in / out",
                        p.input_per_mtok, p.output_per_mtok
                    ),
                    None => format!(
                        "no price known: its cost counts as $0.00 (set [operator.prices.\"{}\"] \
                         input and output, dollars per million tokens)",
                        request.model
                    ),
                },
            },
            Err(e) => Verdict::Failed(
                classify(
                    e,
                    &FailedCall {
                        key: "preflight",
                        operator: &operators,
                        request: &request,
                        api_key_env: config.api_key_env.as_deref(),
                    },
                )
                .to_string(),
            ),
        };
        probes.push(Probe {
            operators,
            model: request.model,
            base_url: base_url.clone(),
            verdict,
        });
    }
    Ok(probes)
}
