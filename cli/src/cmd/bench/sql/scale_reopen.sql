-- Reopen $2 runs of sweep $1 as if their coordinator died while driving them: running, held
-- by a driver whose lease ran out, one step short of their budget. $3: the task directory
-- they get (NULL keeps the made-up one, whose drivers then fail the run at once).
WITH reopened AS (
    UPDATE runs
    SET state = 'running', finished_at = NULL, driver = 'dead-coordinator',
        driver_expires_at = now() - interval '1 minute', max_nodes = max_nodes + 1,
        max_wall_ms = 86400000, task_dir = coalesce($3, task_dir)
    WHERE id IN (SELECT id FROM runs WHERE sweep_id = $1 ORDER BY id LIMIT $2)
    RETURNING id
),
sweep AS (
    UPDATE sweeps SET state = 'running', finished_at = NULL WHERE id = $1
)
SELECT id FROM reopened
