use std::fmt;
use std::time::Duration;

use thiserror::Error;

use crate::{JournalError, ReplayError};

/// Why asking a model failed. Every message names the endpoint and what to look at.
#[derive(Debug, Error)]
pub enum LlmError {
    #[error(
        "environment variable {var} is not set; it should hold the API key for {base_url} \
         (set it, or remove api_key_env for an endpoint without keys)"
    )]
    MissingApiKey { var: String, base_url: String },
    #[error("invalid LLM endpoint configuration: {0}")]
    Config(String),
    /// A 4xx other than 408 and 429: asking again would get the same answer.
    #[error("LLM endpoint {url} refused the request with HTTP {status}: {message}")]
    Refused {
        url: String,
        status: u16,
        message: String,
    },
    /// Only with `max_retries` set; by default a transient failure is tried again until it
    /// passes.
    #[error(
        "LLM endpoint {url} still failing after {attempts} attempts (max_retries); the last \
         one: {last}"
    )]
    GaveUp {
        url: String,
        attempts: u32,
        last: Transient,
    },
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error(transparent)]
    Journal(#[from] JournalError),
}

/// A failed attempt that is worth repeating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transient {
    /// 408, 429 or 5xx, with the message from the body.
    Status {
        status: u16,
        message: String,
    },
    Timeout {
        after: Duration,
    },
    Connection {
        message: String,
    },
    /// A 2xx whose body is not a chat completion.
    Malformed {
        reason: String,
    },
}

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status { status, message } => write!(f, "HTTP {status}: {message}"),
            Self::Timeout { after } => write!(f, "no answer within {after:?} (the timeout)"),
            Self::Connection { message } => write!(f, "connection failed: {message}"),
            Self::Malformed { reason } => {
                write!(f, "the answer is not a chat completion: {reason}")
            }
        }
    }
}
