-- What a finished job's span and its node's span say. $1: the job.
SELECT j.id, j.state, j.attempt, j.created_at, j.leased_at, j.finished_at, j.trace_parent,
       j.error, (j.outcome->>'exit_code')::integer AS exit_code,
       coalesce((j.outcome->>'timed_out')::boolean, false) AS timed_out,
       coalesce((j.outcome->>'oom_killed')::boolean, false) AS oom_killed,
       w.name AS worker, n.id AS node_id, n.created_at AS node_created_at, n.task_id, n.status,
       n.val_score, n.test_score, n.medal, n.run_id, n.step, n.operator,
       r.sweep_id, r.policy, r.seed
FROM jobs j
JOIN nodes n ON n.id = j.node_id
LEFT JOIN workers w ON w.id = j.worker_id
LEFT JOIN runs r ON r.id = n.run_id
WHERE j.id = $1
