-- Pause: the runs leave their drivers (the supervisor holds only running runs) and the
-- sweep's queued jobs stop being leased (job_lease.sql skips paused sweeps). $2: why, when
-- randori paused it for a settings error (NULL for a user's pause).
WITH sweep AS (
    UPDATE sweeps SET state = 'paused', blocked = $2
    WHERE id = $1 AND state = 'running'
    RETURNING id
)
UPDATE runs SET state = 'paused', driver = NULL, driver_expires_at = NULL, waiting_for = NULL
WHERE sweep_id IN (SELECT id FROM sweep) AND state = 'running'
