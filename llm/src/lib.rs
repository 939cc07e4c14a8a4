//! randori's LLM client side: what the `openai` and `replay` operator backends need to ask a
//! chat model, price the answer, pull the program out of it, and never pay for it twice.
//!
//! - [`OpenAiClient`]: any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, LiteLLM,
//!   OpenAI), with backoff, a per-endpoint concurrency limit and circuit breaker
//!   ([`Endpoints`]), and a request timeout.
//! - [`pricing`]: list prices per million tokens, overridable per endpoint.
//! - [`extract()`]: the plan and the Python program in an answer.
//! - [`ModelSettings`]: an operator's model, sampling and length settings, and the request
//!   dialect they call for (reasoning models take no temperature and no `max_tokens`).
//! - [`Journal`] and [`ask_journaled`]: a recorded answer is returned instead of asking again,
//!   which is what makes a resumed run free of repeated LLM cost.
//! - [`ReplayBackend`]: answers only from an earlier run's journal.
//!
//! Invariants:
//! - No prompt building and no search logic: operators build [`ChatRequest`]s, this crate
//!   only carries them.
//! - No database: the coordinator implements [`Journal`] over Postgres; [`MemoryJournal`] is
//!   the in-memory one for tests.
//! - The HTTP wire format is private to `client.rs`; callers see only the types below.

mod analysis;
mod client;
mod config;
mod endpoint;
mod error;
mod extract;
mod journal;
pub mod pricing;
mod replay;
mod settings;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub use analysis::{AnalysisAnswer, analysis_response_format, parse_analysis};
pub use client::OpenAiClient;
pub use config::{DEFAULT_BACKOFF_CAP, DEFAULT_TIMEOUT, OpenAiConfig};
pub use endpoint::{DOWN_AFTER, Endpoint, Endpoints, Health};
pub use error::{LlmError, Transient};
pub use extract::{ExtractError, Extracted, extract};
pub use journal::{Journal, JournalError, MemoryJournal, ask_journaled};
pub use pricing::{Price, cost_usd};
pub use replay::{ReplayBackend, ReplayEntry, ReplayError};
pub use settings::{ModelSettings, is_reasoning_model};

/// A boxed future, so that [`Journal`] and [`Backend`] stay usable as `dyn` objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Who speaks a [`Message`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// One chat-completions call. `None` fields are left out of the request, so the endpoint's
/// defaults apply (OpenAI's o-series refuse any `temperature` and want `max_completion_tokens`
/// instead of `max_tokens`: [`ModelSettings::request`] chooses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    pub seed: Option<u64>,
    /// Structured output (`{"type": "json_schema", ...}`), for the analyze step.
    #[serde(default)]
    pub response_format: Option<serde_json::Value>,
    /// More fields, sent as they are.
    #[serde(default)]
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// What the call is, apart from details that vary between otherwise equal runs (the time
    /// left, the memory's scores): see [`call_fingerprint`]. Journaled beside the answer; a
    /// replay feeds an answer only to the call it was given for. Never sent.
    #[serde(skip)]
    pub fingerprint: Option<String>,
}

/// A fingerprint of a call from the parts that identify it (its operator, the parents'
/// code, ...): the sha256 of each part's length and bytes, in hex.
pub fn call_fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in parts {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A model's answer with what it cost; this is what the journal records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatAnswer {
    pub content: String,
    /// The model the endpoint says answered (often a dated snapshot of the requested one).
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// Time of the successful attempt only: no queueing for a slot, no failed attempts.
    pub latency_ms: u64,
    pub cost_usd: f64,
    /// Read back from an earlier run's journal by a replay: it cost nothing and took no time.
    #[serde(default)]
    pub replayed: bool,
}

/// Something that answers chat requests: [`OpenAiClient`] or [`ReplayBackend`].
///
/// `key` identifies the call within a run (see [`Journal`]); a live endpoint ignores it.
pub trait Backend: Send + Sync {
    fn ask<'a>(
        &'a self,
        key: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatAnswer, LlmError>>;
}
