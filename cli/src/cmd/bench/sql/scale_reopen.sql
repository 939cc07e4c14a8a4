-- Reopen $2 greedy runs of sweep $1 as if their coordinator died while driving them: running,
-- held by a driver whose lease ran out, one step short of their budget, and still drafting
-- (the filled nodes are not builtin programs an Improve could start from). $3: the task
-- directory they get (NULL keeps the made-up one, whose drivers then fail the run at once).
WITH reopened AS (
    UPDATE runs
    SET state = 'running', finished_at = NULL, driver = 'dead-coordinator',
        driver_expires_at = now() - interval '1 minute', max_nodes = max_nodes + 1,
        max_wall_ms = 86400000, task_dir = coalesce($3, task_dir),
        policy_config = '{"greedy": {"num_drafts": 1000000}}'
    WHERE id IN (SELECT id FROM runs WHERE sweep_id = $1 AND policy = 'greedy'
                 ORDER BY id LIMIT $2)
    RETURNING id
),
sweep AS (
    UPDATE sweeps SET state = 'running', finished_at = NULL WHERE id = $1
)
SELECT id FROM reopened
