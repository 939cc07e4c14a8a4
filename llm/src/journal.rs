use std::collections::HashMap;
use std::sync::Mutex;

use thiserror::Error;

use crate::{Backend, BoxFuture, ChatAnswer, ChatRequest, LlmError};

/// The store behind the journal failed (the coordinator's Postgres, say).
#[derive(Debug, Error)]
#[error("LLM journal: {0}")]
pub struct JournalError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Every LLM answer, recorded under a key that names the call within its run.
///
/// A key must be the same when a resumed run makes the same call again (for instance run id,
/// node, operator and attempt) and differ between calls meant to get separate answers, such as
/// two drafts from one prompt. Implementations keep the first answer recorded under a key and
/// ignore later ones (`INSERT ... ON CONFLICT DO NOTHING`), so a key never has two answers.
pub trait Journal: Send + Sync {
    fn lookup<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ChatAnswer>, JournalError>>;

    fn record<'a>(
        &'a self,
        key: &'a str,
        request: &'a ChatRequest,
        answer: &'a ChatAnswer,
    ) -> BoxFuture<'a, Result<(), JournalError>>;
}

/// The journaled answer for `key` if there is one, without asking again; otherwise asks
/// `backend` and records the answer before returning it. This is what makes resuming a run
/// free of repeated LLM cost. A failed call is not recorded, so it is asked again on resume.
#[tracing::instrument(name = "llm.ask", skip_all, fields(key = key, journaled))]
pub async fn ask_journaled(
    journal: &dyn Journal,
    backend: &dyn Backend,
    key: &str,
    request: &ChatRequest,
) -> Result<ChatAnswer, LlmError> {
    let span = tracing::Span::current();
    if let Some(answer) = journal.lookup(key).await? {
        span.record("journaled", true);
        return Ok(answer);
    }
    span.record("journaled", false);
    let answer = backend.ask(key, request).await?;
    journal.record(key, request, &answer).await?;
    Ok(answer)
}

/// A journal in memory, for tests and one-off runs without a database.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    answers: Mutex<HashMap<String, ChatAnswer>>,
}

impl MemoryJournal {
    /// Every recorded `(key, answer)`, as [`crate::ReplayBackend::new`] takes them.
    pub fn entries(&self) -> Vec<(String, ChatAnswer)> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .iter()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect()
    }
}

impl Journal for MemoryJournal {
    fn lookup<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<ChatAnswer>, JournalError>> {
        let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        let answer = answers.get(key).cloned();
        Box::pin(async move { Ok(answer) })
    }

    fn record<'a>(
        &'a self,
        key: &'a str,
        _request: &'a ChatRequest,
        answer: &'a ChatAnswer,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
        answers
            .entry(key.to_owned())
            .or_insert_with(|| answer.clone());
        Box::pin(async { Ok(()) })
    }
}
