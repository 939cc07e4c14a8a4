-- The W3C `traceparent` of the span a job's span hangs under (its node's, for a run's node);
-- NULL for a job that starts its own trace (a lone evaluation). See ARCHITECTURE.md, Traces.
ALTER TABLE jobs ADD COLUMN trace_parent text;
