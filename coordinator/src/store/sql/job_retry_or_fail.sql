-- The holder could not run the job: requeue it, or fail it when its attempts are spent.
UPDATE jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
    error = $3, lease_expires_at = NULL, gpu_ids = '{}'
WHERE id = $1 AND epoch = $2 AND state = 'leased'
RETURNING state, node_id
