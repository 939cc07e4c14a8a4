-- Resume: the runs go back to the supervisor; the sweep's service catches up with the running
-- sweeps' so that its pause earns it no burst.
WITH sweep AS (
    UPDATE sweeps
    SET state = 'running', blocked = NULL,
        service = greatest(service, coalesce(
            (SELECT min(o.service) FROM sweeps o WHERE o.state = 'running'), 0))
    WHERE id = $1 AND state = 'paused'
    RETURNING id
)
UPDATE runs SET state = 'running'
WHERE sweep_id IN (SELECT id FROM sweep) AND state = 'paused'
