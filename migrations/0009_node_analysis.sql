-- The analyze step: what an LLM (or the builtin analyzer) said of an evaluated node of a run.
-- A driver shows a node to its policy only once it is analyzed; the analysis may turn the node
-- buggy and gives the score the search sees when the task has no hidden validation.
ALTER TABLE nodes ADD COLUMN analysis jsonb;
