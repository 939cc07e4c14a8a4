-- Cancel: the sweep, its unfinished runs and its unfinished jobs end. A leased job's holder
-- learns at its next heartbeat (the lease is gone) and stops the container; its report is
-- refused by the fence.
WITH sweep AS (
    UPDATE sweeps SET state = 'cancelled', finished_at = now()
    WHERE id = $1 AND state IN ('running', 'paused')
    RETURNING id
),
ended_runs AS (
    UPDATE runs SET state = 'cancelled', finished_at = now(), driver = NULL,
                    driver_expires_at = NULL, error = 'sweep cancelled'
    WHERE sweep_id IN (SELECT id FROM sweep) AND state IN ('running', 'paused')
)
UPDATE jobs SET state = 'cancelled', finished_at = now(), lease_expires_at = NULL,
                gpu_ids = '{}', error = 'sweep cancelled'
WHERE sweep_id IN (SELECT id FROM sweep) AND state IN ('queued', 'leased')
