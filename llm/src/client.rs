use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::endpoint::{Endpoint, Health, Ticket};
use crate::{
    Backend, BoxFuture, ChatAnswer, ChatRequest, LlmError, Message, OpenAiConfig, Transient,
};

/// A client for one OpenAI-compatible chat-completions endpoint. Clones share the connection
/// pool, and clients of one [`Endpoint`] its concurrency limit and circuit breaker.
#[derive(Debug, Clone)]
pub struct OpenAiClient {
    http: reqwest::Client,
    url: String,
    auth: Option<HeaderValue>,
    config: Arc<OpenAiConfig>,
    endpoint: Arc<Endpoint>,
}

impl OpenAiClient {
    /// Checks the configuration and reads the API key from the environment; the client has an
    /// endpoint state of its own.
    pub fn new(config: OpenAiConfig) -> Result<Self, LlmError> {
        let endpoint = Arc::new(Endpoint::new(config.max_concurrency));
        Self::with_endpoint(config, endpoint)
    }

    /// As [`OpenAiClient::new`], sharing `endpoint` (see [`crate::Endpoints`]).
    pub fn with_endpoint(config: OpenAiConfig, endpoint: Arc<Endpoint>) -> Result<Self, LlmError> {
        config.validate()?;
        let auth = match &config.api_key_env {
            None => None,
            Some(var) => {
                let key = std::env::var(var).map_err(|_| LlmError::MissingApiKey {
                    var: var.clone(),
                    base_url: config.base_url.clone(),
                })?;
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    LlmError::Config(format!(
                        "the API key in {var} has characters not allowed in an HTTP header"
                    ))
                })?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            url: format!("{}/chat/completions", config.base_url.trim_end_matches('/')),
            auth,
            endpoint,
            config: Arc::new(config),
        })
    }

    /// Follows the health of this client's endpoint (down while its breaker is open).
    pub fn health(&self) -> watch::Receiver<Health> {
        self.endpoint.health()
    }

    /// Asks the model. 408, 429, 5xx, timeouts, connection failures and 2xx bodies that are no
    /// chat completion are tried again after a backoff, without end unless `max_retries` is
    /// set, and while the endpoint is down only as its probe (see [`Endpoint`]); any other 4xx
    /// fails at once ([`LlmError::Refused`]). A completion without usable text (a refusal, an
    /// empty answer) is an answer: its content is empty, and the caller judges it.
    #[tracing::instrument(
        name = "llm.chat",
        skip_all,
        fields(model = %request.model, url = %self.url, attempts, tokens_in, tokens_out, cost_usd)
    )]
    pub async fn chat(&self, request: &ChatRequest) -> Result<ChatAnswer, LlmError> {
        let body = WireRequest {
            model: &request.model,
            messages: &request.messages,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            max_completion_tokens: request.max_completion_tokens,
            reasoning_effort: request.reasoning_effort.as_deref(),
            seed: request.seed,
            response_format: request.response_format.as_ref(),
            extra: &request.extra,
        };
        let span = tracing::Span::current();
        let mut retry = 0;
        let (reply, latency) = loop {
            span.record("attempts", retry + 1);
            let ticket = self.endpoint.admit().await;
            match self.attempt(&body).await {
                Ok(done) => {
                    ticket.answered();
                    break done;
                }
                Err(Failure::Fatal(e)) => {
                    ticket.answered();
                    return Err(e);
                }
                Err(Failure::Transient(last, _))
                    if self.config.max_retries.is_some_and(|max| retry >= max) =>
                {
                    drop(ticket);
                    return Err(LlmError::GaveUp {
                        url: self.url.clone(),
                        attempts: retry + 1,
                        last,
                    });
                }
                Err(Failure::Transient(failure, retry_after)) => {
                    let wait = self.failed(ticket, &failure, retry_after);
                    tracing::warn!(%failure, ?wait, "LLM call failed, trying again");
                    tokio::time::sleep(wait).await;
                    retry += 1;
                }
            }
        };

        let (content, finish_reason) = reply.first_choice();
        if content.is_empty() {
            tracing::warn!(model = %request.model, ?finish_reason, "the answer has no text (a refusal?)");
        }
        if finish_reason.as_deref() == Some("length") {
            tracing::warn!(
                model = %request.model,
                "the answer was cut off at its token limit (finish_reason \"length\")"
            );
        }
        let usage = reply.usage.unwrap_or_default();
        let tokens_in = usage.prompt_tokens.unwrap_or(0);
        let tokens_out = usage.completion_tokens.unwrap_or(0);
        let cost_usd = self.config.cost_usd(&request.model, tokens_in, tokens_out);
        span.record("tokens_in", tokens_in);
        span.record("tokens_out", tokens_out);
        span.record("cost_usd", cost_usd);
        Ok(ChatAnswer {
            content,
            model: reply.model.unwrap_or_else(|| request.model.clone()),
            tokens_in,
            tokens_out,
            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
            cost_usd,
            replayed: false,
        })
    }

    fn failed(
        &self,
        ticket: Ticket<'_>,
        failure: &Transient,
        retry_after: Option<Duration>,
    ) -> Duration {
        let (base, cap) = (self.config.backoff_base, self.config.backoff_cap);
        ticket.failed(&failure.to_string(), retry_after, base, cap)
    }

    /// One POST, holding a concurrency slot; the latency excludes the wait for the slot.
    async fn attempt(&self, body: &WireRequest<'_>) -> Result<(WireResponse, Duration), Failure> {
        let _slot = self
            .endpoint
            .slots
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let started = Instant::now();
        let mut post = self.http.post(&self.url).json(body);
        if let Some(auth) = &self.auth {
            post = post.header(AUTHORIZATION, auth.clone());
        }
        let response = post.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let bytes = response.bytes().await.map_err(|e| self.transport(e))?;
        if status.is_success() {
            // A body that is no chat completion comes from a proxy or server in trouble (an
            // error page sent with 200): tried again like a 5xx.
            let reply: WireResponse = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::Transient(
                    Transient::Malformed {
                        reason: format!("{e}; the body starts {:?}", head(&bytes)),
                    },
                    None,
                )
            })?;
            if reply.choices.is_empty() {
                let reason = format!("it has no choices; the body starts {:?}", head(&bytes));
                return Err(Failure::Transient(Transient::Malformed { reason }, None));
            }
            return Ok((reply, started.elapsed()));
        }
        let message = error_message(&bytes);
        if status == StatusCode::REQUEST_TIMEOUT
            || status == StatusCode::TOO_MANY_REQUESTS
            || status.is_server_error()
        {
            let status = status.as_u16();
            return Err(Failure::Transient(
                Transient::Status { status, message },
                retry_after,
            ));
        }
        Err(Failure::Fatal(LlmError::Refused {
            url: self.url.clone(),
            status: status.as_u16(),
            message,
        }))
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        if e.is_builder() {
            return Failure::Fatal(LlmError::Config(format!(
                "cannot request {}: {e}",
                self.url
            )));
        }
        let failure = if e.is_timeout() {
            Transient::Timeout {
                after: self.config.timeout,
            }
        } else {
            // reqwest's own message is generic; the cause (refused, reset, DNS) is below it.
            let mut message = e.to_string();
            let mut source = e.source();
            while let Some(cause) = source {
                message = format!("{message}: {cause}");
                source = cause.source();
            }
            Transient::Connection { message }
        };
        Failure::Transient(failure, None)
    }
}

impl Backend for OpenAiClient {
    fn ask<'a>(
        &'a self,
        _key: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatAnswer, LlmError>> {
        Box::pin(self.chat(request))
    }
}

enum Failure {
    /// Worth another attempt, after the server's `Retry-After` if it sent one.
    Transient(Transient, Option<Duration>),
    Fatal(LlmError),
}

/// `Retry-After` in seconds (fractions accepted, as some proxies send them); the HTTP-date
/// form is ignored and the exponential backoff applies instead.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: f64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// The error message of a refused request: OpenAI's `{"error": {"message"}}`, Ollama's
/// `{"error": "..."}`, vLLM's `{"message"}`, FastAPI's `{"detail"}`, or the start of the body.
fn error_message(body: &[u8]) -> String {
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let found = json.as_ref().and_then(|json| {
        [
            json.pointer("/error/message"),
            json.get("error"),
            json.get("message"),
            json.get("detail"),
        ]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str().map(str::to_owned))
    });
    match found {
        Some(message) => message,
        None if body.is_empty() => "(empty body)".to_owned(),
        None => head(body),
    }
}

/// The first 200 characters of a body, for error messages.
fn head(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(200).collect()
}

#[derive(Serialize)]
struct WireRequest<'a> {
    model: &'a str,
    messages: &'a [Message],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'a serde_json::Value>,
    #[serde(flatten)]
    extra: &'a serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct WireResponse {
    model: Option<String>,
    choices: Vec<WireChoice>,
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct WireChoice {
    message: WireMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    content: Option<String>,
}

#[derive(Deserialize, Default)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}

impl WireResponse {
    /// `choices[0].message.content` and its finish reason; the content is empty when the
    /// model sent none (a refusal, a tool call). `attempt` made sure there is a choice.
    fn first_choice(&self) -> (String, Option<String>) {
        self.choices.first().map_or_else(Default::default, |c| {
            (
                c.message.content.clone().unwrap_or_default(),
                c.finish_reason.clone(),
            )
        })
    }
}
