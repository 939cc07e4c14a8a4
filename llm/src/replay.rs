use std::collections::HashMap;

use thiserror::Error;

use crate::{Backend, BoxFuture, ChatAnswer, ChatRequest, LlmError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    #[error(
        "the replayed journal has no answer for LLM call {key:?}; replay can only repeat the \
         calls of the run that was journaled (same tasks, policies, seeds and operator settings)"
    )]
    Missing { key: String },
}

/// The `replay` backend: answers only from an earlier run's journal and never calls a model,
/// so a run can be repeated offline and at no cost.
#[derive(Debug, Clone, Default)]
pub struct ReplayBackend {
    answers: HashMap<String, ChatAnswer>,
}

impl ReplayBackend {
    /// From journal entries; of two entries with one key the first is kept, as in a journal.
    pub fn new(entries: impl IntoIterator<Item = (String, ChatAnswer)>) -> Self {
        let mut answers = HashMap::new();
        for (key, answer) in entries {
            answers.entry(key).or_insert(answer);
        }
        Self { answers }
    }

    pub fn answer(&self, key: &str) -> Result<ChatAnswer, ReplayError> {
        self.answers
            .get(key)
            .cloned()
            .ok_or_else(|| ReplayError::Missing {
                key: key.to_owned(),
            })
    }
}

impl Backend for ReplayBackend {
    fn ask<'a>(
        &'a self,
        key: &'a str,
        _request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatAnswer, LlmError>> {
        let answer = self.answer(key).map_err(LlmError::from);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Journal, MemoryJournal, Message, Role, ask_journaled};

    fn answer(content: &str) -> ChatAnswer {
        ChatAnswer {
            content: content.to_owned(),
            model: "o3".to_owned(),
            tokens_in: 10,
            tokens_out: 20,
            latency_ms: 30,
            cost_usd: 0.000_18,
        }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            model: "o3".to_owned(),
            messages: vec![Message {
                role: Role::User,
                content: "draft".to_owned(),
            }],
            temperature: None,
            max_tokens: None,
            max_completion_tokens: None,
            reasoning_effort: None,
            seed: None,
            response_format: None,
            extra: Default::default(),
        }
    }

    #[tokio::test]
    async fn answers_from_entries_and_names_a_missing_key() {
        let replay = ReplayBackend::new([
            ("run1/node1/draft".to_owned(), answer("first")),
            ("run1/node2/improve".to_owned(), answer("second")),
            ("run1/node1/draft".to_owned(), answer("duplicate")),
        ]);
        let got = replay.ask("run1/node1/draft", &request()).await.unwrap();
        assert_eq!(got, answer("first"));
        let got = replay.ask("run1/node2/improve", &request()).await.unwrap();
        assert_eq!(got, answer("second"));

        let err = replay
            .ask("run1/node3/debug", &request())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LlmError::Replay(ReplayError::Missing { key }) if key == "run1/node3/debug"),
            "{err:?}"
        );
        assert!(err.to_string().contains("\"run1/node3/debug\""), "{err}");
    }

    #[tokio::test]
    async fn replays_a_journal_and_records_into_a_new_one() {
        let earlier = MemoryJournal::default();
        earlier
            .record("k", &request(), &answer("code"))
            .await
            .unwrap();
        let replay = ReplayBackend::new(earlier.entries());

        let journal = MemoryJournal::default();
        let got = ask_journaled(&journal, &replay, "k", &request())
            .await
            .unwrap();
        assert_eq!(got, answer("code"));
        assert_eq!(journal.lookup("k").await.unwrap(), Some(answer("code")));

        let err = ask_journaled(&journal, &replay, "other", &request())
            .await
            .unwrap_err();
        assert!(matches!(err, LlmError::Replay(_)), "{err:?}");
        assert_eq!(journal.lookup("other").await.unwrap(), None);
    }
}
