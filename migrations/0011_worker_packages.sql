-- The Python packages a worker's programs can import (`name version`), as it reported them at
-- registration; LLM operators' prompts quote the ones every active worker has.
ALTER TABLE workers ADD COLUMN packages text[] NOT NULL DEFAULT '{}';
