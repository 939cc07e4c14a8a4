-- One node per step: a driver that restarts after inserting this step finds the row and moves
-- on. Nothing is inserted unless the run is still running (a paused or cancelled run's late
-- driver adds nothing). The share lock on the run holds until the node's job is inserted and
-- committed: a pause or cancel either waits for both (and then sees the job) or goes first
-- (and this finds the run no longer running).
INSERT INTO nodes (id, task_id, code, task_dir, run_id, step, operator, parent_ids, plan)
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9
WHERE EXISTS (SELECT 1 FROM runs WHERE id = $5 AND state = 'running' FOR SHARE)
ON CONFLICT (run_id, step) WHERE run_id IS NOT NULL DO NOTHING
RETURNING id
