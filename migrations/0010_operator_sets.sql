-- Which prompts a journaled LLM call was asked with: the operator set and its version
-- (`aira/v1`, `aide/v1`) or the analyze prompt's (`analyze/v1`). Null for calls journaled
-- before sets existed.
ALTER TABLE llm_calls ADD COLUMN prompts text;
