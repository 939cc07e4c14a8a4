-- Pause: the runs leave their drivers (the supervisor holds only running runs) and the
-- sweep's queued jobs stop being leased (job_lease.sql skips paused sweeps).
WITH sweep AS (
    UPDATE sweeps SET state = 'paused' WHERE id = $1 AND state = 'running' RETURNING id
)
UPDATE runs SET state = 'paused', driver = NULL, driver_expires_at = NULL
WHERE sweep_id IN (SELECT id FROM sweep) AND state = 'running'
