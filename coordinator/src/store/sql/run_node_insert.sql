-- One node per step: a driver that restarts after inserting this step finds the row and moves on.
INSERT INTO nodes (id, task_id, code, task_dir, run_id, step, operator, parent_ids, plan)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (run_id, step) WHERE run_id IS NOT NULL DO NOTHING
RETURNING id
