-- A run's wall budget counts its own working time, as AIRA-dojo counts it: the time at least
-- one of its evaluations ran, plus the time its LLM calls took. Time queued for a worker, or
-- paused, is not work. The driver recomputes it (`run_working_time.sql`) at each of its steps
-- and keeps the latest value here, for `sweep status`.
ALTER TABLE runs ADD COLUMN working_ms bigint NOT NULL DEFAULT 0 CHECK (working_ms >= 0);

-- The run's LLM time, summed at each step.
CREATE INDEX llm_calls_run ON llm_calls (run_id);
