//! What a failed LLM call means for its run, decided without I/O.
//!
//! Transient failures never reach here unless `max_retries` capped them: the client waits them
//! out. What does reach here is either a *settings* error (a refused key, an unknown model, an
//! unsupported parameter, a missing key variable), which pauses the sweep with one line naming
//! the sweep-file key to fix and costs no node, or an error of the run itself, labelled by
//! kind (LLM endpoint, replay, database).

use randori_llm::{ChatRequest, LlmError};

use crate::error::Error;

/// Which call failed: its journal key, the operator (`draft`, …, `analyze`) and its request.
pub struct FailedCall<'a> {
    pub key: &'a str,
    pub operator: &'a str,
    pub request: &'a ChatRequest,
    /// The `api_key_env` the endpoint was asked with, if any.
    pub api_key_env: Option<&'a str>,
}

/// The coordinator error for a failed call.
pub fn classify(e: LlmError, call: &FailedCall<'_>) -> Error {
    match e {
        LlmError::Refused {
            url,
            status,
            message,
        } => Error::LlmSettings(format!(
            "{}'s call to {url} (model {:?}) was refused with HTTP {status}: {message}. {}",
            call.operator,
            call.request.model,
            fix_for(status, &message, call)
        )),
        LlmError::MissingApiKey { .. } | LlmError::Config(_) => {
            Error::LlmSettings(format!("{e}. Fix the [operator] settings, then resume"))
        }
        LlmError::GaveUp { .. } => Error::Llm(format!("call {}: {e}", call.key)),
        LlmError::Replay(_) => Error::Replay(format!("call {}: {e}", call.key)),
        LlmError::Journal(e) => Error::Journal(e.to_string()),
    }
}

/// The sweep-file key a refusal points at, as a sentence.
fn fix_for(status: u16, message: &str, call: &FailedCall<'_>) -> String {
    let resume = "then `randori sweep resume` (or run the file again)";
    let model = || {
        format!(
            "Fix `model` (or `[operator.{}] model`): the endpoint does not serve {:?}, {resume}",
            call.operator, call.request.model
        )
    };
    let lower = message.to_ascii_lowercase();
    match status {
        401 | 403 => match call.api_key_env {
            Some(var) => format!(
                "Fix `api_key_env`: the key in ${var} is not accepted{}; set a valid one, {resume}",
                match status {
                    403 => " for this model",
                    _ => "",
                }
            ),
            None => format!(
                "Set `api_key_env` to the variable that holds this endpoint's key, {resume}"
            ),
        },
        402 => format!(
            "The account behind the key has no credit (HTTP 402): top it up or change `api_key_env`, {resume}"
        ),
        404 if lower.contains("model") => model(),
        404 => format!(
            "Fix `base_url`: it should end at the API version (like http://host:8000/v1), {resume}"
        ),
        _ => match parameter_named(&lower, call.request) {
            Some(key) => format!(
                "Fix or remove `{key}` in [operator] (or [operator.{}]), {resume}",
                call.operator
            ),
            None if lower.contains("model") => model(),
            None => format!(
                "Check the [operator] settings of {} against what the endpoint accepts, {resume}",
                call.operator
            ),
        },
    }
}

/// The sweep-file key behind a request field the message names (`extra.top_p` for an
/// extra field).
fn parameter_named(message: &str, request: &ChatRequest) -> Option<String> {
    let own = [
        ("max_completion_tokens", "max_output_tokens"),
        ("max_tokens", "max_output_tokens"),
        ("temperature", "temperature"),
        ("reasoning_effort", "reasoning_effort"),
        ("response_format", "structured_output"),
        ("json_schema", "structured_output"),
    ];
    request
        .extra
        .keys()
        .find(|k| message.contains(&k.to_ascii_lowercase()))
        .map(|k| format!("extra.{k}"))
        .or_else(|| {
            own.iter()
                .find(|(field, _)| message.contains(field))
                .map(|(_, key)| (*key).to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ChatRequest {
        let mut extra = serde_json::Map::new();
        extra.insert("top_k".into(), 40.into());
        ChatRequest {
            model: "gpt-4o".into(),
            messages: Vec::new(),
            temperature: Some(0.5),
            max_tokens: Some(100),
            max_completion_tokens: None,
            reasoning_effort: None,
            seed: Some(1),
            response_format: None,
            extra,
            fingerprint: None,
        }
    }

    fn refused(status: u16, message: &str, key_env: Option<&str>) -> String {
        let request = request();
        let call = FailedCall {
            key: "run/3",
            operator: "draft",
            request: &request,
            api_key_env: key_env,
        };
        let e = LlmError::Refused {
            url: "http://h/v1/chat/completions".into(),
            status,
            message: message.into(),
        };
        match classify(e, &call) {
            Error::LlmSettings(line) => line,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_refusal_names_the_key_to_fix() {
        let line = refused(401, "Invalid API key", Some("OPENAI_API_KEY"));
        assert!(
            line.contains("HTTP 401: Invalid API key")
                && line.contains("Fix `api_key_env`: the key in $OPENAI_API_KEY"),
            "{line}"
        );
        assert!(refused(401, "no key", None).contains("Set `api_key_env`"));
        let line = refused(404, "The model `gpt-9` does not exist", None);
        assert!(
            line.contains("Fix `model` (or `[operator.draft] model`)"),
            "{line}"
        );
        assert!(refused(404, "Not Found", None).contains("Fix `base_url`"));
        let line = refused(400, "Unsupported parameter: 'temperature'", None);
        assert!(line.contains("Fix or remove `temperature`"), "{line}");
        let line = refused(400, "Unrecognized request argument supplied: top_k", None);
        assert!(line.contains("`extra.top_k`"), "{line}");
        let line = refused(400, "'max_tokens' is not supported with this model", None);
        assert!(line.contains("`max_output_tokens`"), "{line}");
        let line = refused(400, "invalid model ID", None);
        assert!(line.contains("Fix `model`"), "{line}");
        assert!(refused(422, "something else", None).contains("Check the [operator] settings"));
        assert!(refused(402, "insufficient credit", None).contains("no credit"));
    }

    #[test]
    fn other_failures_are_labelled_by_kind() {
        let request = request();
        let call = FailedCall {
            key: "run/3",
            operator: "draft",
            request: &request,
            api_key_env: None,
        };
        let gave_up = LlmError::GaveUp {
            url: "http://h/v1/chat/completions".into(),
            attempts: 4,
            last: randori_llm::Transient::Timeout {
                after: std::time::Duration::from_secs(1),
            },
        };
        let text = classify(gave_up, &call).to_string();
        assert!(text.starts_with("LLM endpoint: call run/3:"), "{text}");
        let missing = LlmError::MissingApiKey {
            var: "KEY".into(),
            base_url: "http://h/v1".into(),
        };
        assert!(matches!(classify(missing, &call), Error::LlmSettings(_)));
    }
}
