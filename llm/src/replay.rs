use std::collections::HashMap;

use thiserror::Error;

use crate::{Backend, BoxFuture, ChatAnswer, ChatRequest, LlmError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReplayError {
    #[error(
        "the replayed journal has no answer for LLM call {key:?}; replay can only repeat the \
         calls of the run that was journaled (same tasks, policies, seeds and operator \
         settings); backend \"replay_then_live\" asks the endpoint past the journal's end"
    )]
    Missing { key: String },
    #[error(
        "the replayed journal's answer for LLM call {key:?} was given to another call (another \
         operator, model or parent): the replayed run has taken another path than the journaled \
         one, so its answers no longer fit; backend \"replay_then_live\" asks the endpoint \
         from there on"
    )]
    Mismatch { key: String },
}

/// One journaled answer and the fingerprint of the call it answered (None in journals from
/// before fingerprints were kept: then it is fed unchecked).
#[derive(Debug, Clone)]
pub struct ReplayEntry {
    pub key: String,
    pub answer: ChatAnswer,
    pub fingerprint: Option<String>,
}

/// The `replay` backend: answers from an earlier run's journal, each only to the call it was
/// given for, at no cost; past the journal (or once the run's path leaves it) either an
/// error or, with a live backend (`replay_then_live`), the live endpoint's answer.
pub struct ReplayBackend {
    answers: HashMap<String, ReplayEntry>,
    live: Option<Box<dyn Backend>>,
}

impl ReplayBackend {
    /// From journal entries; of two entries with one key the first is kept, as in a journal.
    pub fn new(entries: impl IntoIterator<Item = ReplayEntry>) -> Self {
        let mut answers = HashMap::new();
        for entry in entries {
            answers.entry(entry.key.clone()).or_insert(entry);
        }
        Self {
            answers,
            live: None,
        }
    }

    /// Asks `live` where the journal has no fitting answer.
    pub fn then_live(mut self, live: Box<dyn Backend>) -> Self {
        self.live = Some(live);
        self
    }

    /// The journaled answer to `request` under `key`, as a replayed answer: no cost, no time.
    pub fn answer(&self, key: &str, request: &ChatRequest) -> Result<ChatAnswer, ReplayError> {
        let entry = self.answers.get(key).ok_or_else(|| ReplayError::Missing {
            key: key.to_owned(),
        })?;
        if let (Some(journaled), Some(asked)) = (&entry.fingerprint, &request.fingerprint)
            && journaled != asked
        {
            return Err(ReplayError::Mismatch {
                key: key.to_owned(),
            });
        }
        Ok(ChatAnswer {
            cost_usd: 0.0,
            latency_ms: 0,
            replayed: true,
            ..entry.answer.clone()
        })
    }
}

impl Backend for ReplayBackend {
    fn ask<'a>(
        &'a self,
        key: &'a str,
        request: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatAnswer, LlmError>> {
        Box::pin(async move {
            match (self.answer(key, request), &self.live) {
                (Ok(answer), _) => Ok(answer),
                (Err(e), Some(live)) => {
                    tracing::info!(%key, reason = %e, "past the replayed journal: asking the endpoint");
                    live.ask(key, request).await
                }
                (Err(e), None) => Err(e.into()),
            }
        })
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
            replayed: false,
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
            fingerprint: None,
        }
    }

    fn entry(key: &str, content: &str, fingerprint: Option<&str>) -> ReplayEntry {
        ReplayEntry {
            key: key.to_owned(),
            answer: answer(content),
            fingerprint: fingerprint.map(str::to_owned),
        }
    }

    fn replayed(content: &str) -> ChatAnswer {
        ChatAnswer {
            cost_usd: 0.0,
            latency_ms: 0,
            replayed: true,
            ..answer(content)
        }
    }

    #[tokio::test]
    async fn answers_from_entries_and_names_a_missing_key() {
        let replay = ReplayBackend::new([
            entry("run1/node1/draft", "first", None),
            entry("run1/node2/improve", "second", None),
            entry("run1/node1/draft", "duplicate", None),
        ]);
        let got = replay.ask("run1/node1/draft", &request()).await.unwrap();
        assert_eq!(got, replayed("first"));
        let got = replay.ask("run1/node2/improve", &request()).await.unwrap();
        assert_eq!(got, replayed("second"));

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
        let entries = earlier
            .entries()
            .into_iter()
            .map(|(key, answer)| ReplayEntry {
                key,
                answer,
                fingerprint: None,
            });
        let replay = ReplayBackend::new(entries);

        let journal = MemoryJournal::default();
        let got = ask_journaled(&journal, &replay, "k", &request())
            .await
            .unwrap();
        assert_eq!(got, replayed("code"));
        assert_eq!(journal.lookup("k").await.unwrap(), Some(replayed("code")));

        let err = ask_journaled(&journal, &replay, "other", &request())
            .await
            .unwrap_err();
        assert!(matches!(err, LlmError::Replay(_)), "{err:?}");
        assert_eq!(journal.lookup("other").await.unwrap(), None);
    }

    #[tokio::test]
    async fn an_answer_is_fed_only_to_its_own_call_and_then_live_asks_past_the_journal() {
        let mut asked = request();
        asked.fingerprint = Some("improve of A".into());
        let journal = || {
            ReplayBackend::new([
                entry("r/1", "improved A", Some("improve of A")),
                entry("r/2", "improved B", Some("improve of B")),
            ])
        };
        assert_eq!(
            journal().ask("r/1", &asked).await.unwrap(),
            replayed("improved A")
        );
        let err = journal().ask("r/2", &asked).await.unwrap_err();
        assert!(
            matches!(&err, LlmError::Replay(ReplayError::Mismatch { key }) if key == "r/2"),
            "{err:?}"
        );
        let live = journal().then_live(Box::new(ReplayBackend::new([
            entry("r/2", "live B", None),
            entry("r/3", "live C", None),
        ])));
        assert_eq!(live.ask("r/1", &asked).await.unwrap().content, "improved A");
        assert_eq!(live.ask("r/2", &asked).await.unwrap().content, "live B");
        assert_eq!(live.ask("r/3", &asked).await.unwrap().content, "live C");
    }
}
