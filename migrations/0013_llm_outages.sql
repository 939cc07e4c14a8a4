-- While a run's LLM endpoint is down (its circuit breaker open), what the run waits for:
-- "LLM endpoint <url>: <last failure>". NULL otherwise.
ALTER TABLE runs ADD COLUMN waiting_for text;
-- A sweep paused because an LLM call showed a settings error (a refused key, an unknown
-- model, an unsupported parameter): the line that names the key to fix. Resuming clears it.
ALTER TABLE sweeps ADD COLUMN blocked text;
