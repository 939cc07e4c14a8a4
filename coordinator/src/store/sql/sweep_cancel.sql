-- Cancel, first statement: the sweep and its unfinished runs end. Waits for any driver that
-- holds a run's share lock (run_node_insert.sql) to commit its node and job.
WITH sweep AS (
    UPDATE sweeps SET state = 'cancelled', finished_at = now()
    WHERE id = $1 AND state IN ('running', 'paused')
    RETURNING id
)
UPDATE runs SET state = 'cancelled', finished_at = now(), driver = NULL,
                driver_expires_at = NULL, error = 'sweep cancelled'
WHERE sweep_id IN (SELECT id FROM sweep) AND state IN ('running', 'paused')
