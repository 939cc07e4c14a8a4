-- Requeue every job whose lease ran out, or whose holder restarted ($1, a worker id, or NULL),
-- or fail it when its attempts are spent. Runs on every coordinator replica; the statement is
-- its own lock.
UPDATE jobs
SET state = CASE WHEN attempt >= max_attempts THEN 'failed' ELSE 'queued' END,
    finished_at = CASE WHEN attempt >= max_attempts THEN now() END,
    error = format('%s (attempt %s of %s)',
                   CASE WHEN worker_id = $1 THEN 'worker restarted' ELSE 'lease expired' END,
                   attempt, max_attempts),
    lease_expires_at = NULL, gpu_ids = '{}'
WHERE state = 'leased' AND (lease_expires_at < now() OR worker_id = $1)
RETURNING id, state, node_id
