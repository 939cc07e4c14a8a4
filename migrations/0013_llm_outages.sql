-- While a run's LLM endpoint is down (its circuit breaker open), what the run waits for:
-- "LLM endpoint <url>: <last failure>". NULL otherwise.
ALTER TABLE runs ADD COLUMN waiting_for text;
-- A sweep paused because an LLM call showed a settings error (a refused key, an unknown
-- model, an unsupported parameter): the line that names the key to fix. Resuming clears it.
ALTER TABLE sweeps ADD COLUMN blocked text;
-- What each journaled call was (see randori_llm::call_fingerprint), so that a replay feeds an
-- answer only to the call it was given for; and whether the answer was itself replayed (then
-- it cost nothing).
ALTER TABLE llm_calls ADD COLUMN fingerprint text,
                      ADD COLUMN replayed boolean NOT NULL DEFAULT false;
