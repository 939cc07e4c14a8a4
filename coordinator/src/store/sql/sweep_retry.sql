-- Retry: the sweep's failed runs ($2: those of them named; empty: all) go back to running
-- from their stored nodes, and the sweep with them if it had completed. Only a running or
-- completed sweep is retried (a paused one is resumed first). Returns the reopened runs.
WITH reopened AS (
    UPDATE runs
    SET state = 'running', error = NULL, finished_at = NULL, selected_node = NULL,
        selected_medal = NULL, selected_grade = NULL, oracle_node = NULL,
        oracle_grade = NULL
    WHERE sweep_id = $1
      AND state = 'failed'
      AND (cardinality($2::uuid[]) = 0 OR id = ANY ($2))
      AND EXISTS (SELECT 1 FROM sweeps WHERE id = $1 AND state IN ('running', 'completed'))
    RETURNING id
),
sweep AS (
    UPDATE sweeps
    SET state = 'running', finished_at = NULL,
        service = greatest(service, coalesce(
            (SELECT min(o.service) FROM sweeps o WHERE o.state = 'running' AND o.id <> $1), 0))
    WHERE id = $1 AND state = 'completed' AND EXISTS (SELECT 1 FROM reopened)
)
SELECT id FROM reopened
